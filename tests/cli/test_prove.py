import json

import pytest
from click.testing import CliRunner

from bpverify.cli.main import main

SEED_W3 = "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"


def run(*args):
    return CliRunner().invoke(main, ["prove", "--layers", "3", *args])


def test_exit_codes_proved_refuted_undecided(monkeypatch):
    r = run("--wrt", "w^(3)_jk", "--claim", SEED_W3)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("PROVED")
    r = run("--wrt", "w^(3)_jk", "--claim", "a^(2)_k * 2*(a^(3)_j - y_j)")
    assert r.exit_code == 1
    assert "hint: looks like sigma' is missing" in r.stdout
    assert "counterexample: claim = " in r.stdout
    from bpverify.derive.prove import proof

    monkeypatch.setattr(proof, "vanishes", lambda expr: False)
    r = run("--wrt", "w^(3)_jk", "--claim", SEED_W3, "--points", "3")
    assert r.exit_code == 3 and r.stdout.startswith("UNDECIDED")


def test_json_output():
    r = run("--wrt", "b^(3)_j", "--claim", "sigma'(z^(3)_j) * (a^(3)_j - y_j)", "--json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["status"] == "REFUTED"
    assert "factor 2" in data["hint"]
    assert {"widths", "j"} <= set(data["counterexample"])
    assert float(data["claim_value"]) != float(data["truth_value"])


def test_claim_file_reports_each_line_and_the_worst_verdict(tmp_path):
    f = tmp_path / "homework.txt"
    f.write_text(
        "# the seed's last layer\n"
        f"w^(3)_jk: {SEED_W3}\n"
        "\n"
        "a^(2)_k: sum_j(w^(3)_jk * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j))\n"
        "b^(3)_j: sigma'(z^(3)_j) * (a^(3)_j - y_j)\n"
    )
    r = run("--claim-file", str(f))
    assert r.exit_code == 1, r.output
    lines = [line for line in r.stdout.splitlines() if line.startswith("line ")]
    assert [line.split()[2] for line in lines] == ["PROVED", "PROVED", "REFUTED"]
    assert lines[0].startswith("line 2:")
    r = run("--claim-file", str(f), "--json")
    data = json.loads(r.stdout)
    assert [c["status"] for c in data["claims"]] == ["PROVED", "PROVED", "REFUTED"]
    assert data["exit_code"] == 1


def test_claim_file_with_a_bad_line_exits_2_and_still_checks_the_rest(tmp_path):
    f = tmp_path / "claims.txt"
    f.write_text(f"{SEED_W3}\nimport os\n")
    r = run("--wrt", "w^(3)_jk", "--claim-file", str(f))
    assert r.exit_code == 2
    assert "line 1: PROVED" in r.stdout and "line 2: BAD INPUT" in r.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("--claim", SEED_W3),  # no --wrt
        ("--wrt", "w^(3)_jk"),  # no claim
        ("--wrt", "q^(3)_jk", "--claim", SEED_W3),
        ("--wrt", "w^(3)_jk", "--claim", "a^(2)_k +"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args):
    r = run(*args)
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith("bpverify prove: ")


def test_softmax_is_out_of_scope():
    r = CliRunner().invoke(
        main,
        [
            "prove",
            "--layers",
            "2",
            "--loss",
            "softmax-cross-entropy",
            "--wrt",
            "b^(2)_j",
            "--claim",
            "a^(2)_j - y_j",
        ],
    )
    assert r.exit_code == 2 and "softmax" in r.stderr


INJECTIONS = [
    "__import__('os').system('touch {marker}')",
    "a^(2)_k.__class__.__bases__[0].__subclasses__()",
    "(lambda: __import__('os').system('touch {marker}'))()",
    "sigma.__globals__['os'].system('touch {marker}')",
    "eval(\"__import__('os').system('touch {marker}')\")",
    "exec('import os')",
    "open('{marker}', 'w')",
    "a^(2)_k; import os",
    "Symbol('x')",
    "__builtins__",
    "1" * 5000,
    "(" * 200 + "1" + ")" * 200,
    "sigma(" * 60 + "z^(3)_j" + ")" * 60,
    "a^(2)_k + " * 300 + "1",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_payloads_are_rejected_and_nothing_runs(payload, tmp_path):
    marker = tmp_path / "marker"
    text = payload.replace("{marker}", str(marker))
    r = run("--wrt", "w^(3)_jk", "--claim", text)
    assert r.exit_code == 2, r.output
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith("bpverify prove: ")
    assert not marker.exists()


def test_injection_through_wrt_is_rejected(tmp_path):
    marker = tmp_path / "marker"
    r = run("--wrt", f"__import__('os').system('touch {marker}')", "--claim", SEED_W3)
    assert r.exit_code == 2 and not marker.exists()
