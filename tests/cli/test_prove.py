import json
import subprocess
import sys
from pathlib import Path

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

    # --timeout 0: in this process, where the patch is
    monkeypatch.setattr(proof, "vanishes", lambda expr, rational=False: False)
    r = run("--wrt", "w^(3)_jk", "--claim", SEED_W3, "--points", "3", "--timeout", "0")
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


def test_softmax_is_proved_through_z_and_its_sigma_is_refused():
    def softmax(*args):
        return CliRunner().invoke(
            main, ["prove", "--layers", "2", "--loss", "softmax-cross-entropy", *args]
        )

    assert softmax("--wrt", "b^(2)_j", "--claim", "a^(2)_j - y_j").exit_code == 0
    r = softmax("--wrt", "b^(2)_j", "--claim", "sigma'(z^(2)_j)")
    assert r.exit_code == 2 and "softmax is not applied unit by unit" in r.stderr


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


# -- budgets and size limits: every hostile input answered by the tool itself ---------------------

TOWER = "((((((((((9)^10)^10)^10)^10)^10)^10)^10)^10)^10)^10"
EXPANSION = "((a^(1)_k + a^(2)_k + y_j)^10 + 1)^10"
SIGMAS = "sigma'(" * 20 + "z^(3)_j" + ")" * 20


def one_line(r) -> str:
    """The one line of stderr, no traceback."""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


@pytest.mark.parametrize(
    "claim, limit",
    [(TOWER, "BPVERIFY_MAX_POWER"), (SIGMAS, "BPVERIFY_MAX_CLAIM_CALLS")],
)
def test_a_claim_past_a_size_limit_is_refused_before_any_work(claim, limit):
    r = run("--wrt", "w^(3)_jk", "--claim", claim, "--timeout", "2")
    assert r.exit_code == 2
    assert one_line(r).endswith(f"raise the limit with {limit}=N")


def test_the_expansion_bomb_is_refuted_at_random_points_without_expanding():
    r = run("--wrt", "w^(3)_jk", "--claim", EXPANSION, "--timeout", "2")
    assert r.exit_code == 1 and r.stdout.startswith("REFUTED")


SLOW = "((a^(1)_k + a^(2)_k + a^(3)_j + y_j + z^(3)_j + b^(3)_j)^4 + 1)^2"
"""8128 terms written out, within the terms limit: the zero test takes about 2 s of SymPy."""


def test_a_claim_past_its_time_budget_is_undecided_and_says_how_to_raise_it():
    r = run("--wrt", "w^(3)_jk", "--claim", SLOW, "--timeout", "0.5")
    assert r.exit_code == 3
    assert "the proof did not finish within the 0.5 s budget (--timeout 0.5)" in r.stdout


def test_in_a_claim_file_one_claim_past_its_budget_leaves_the_others_their_verdicts(tmp_path):
    f = tmp_path / "claims.txt"
    f.write_text(f"w^(3)_jk: {SEED_W3}\nw^(3)_jk: {SLOW}\nb^(3)_j: sigma'(z^(3)_j)\n")
    r = run("--claim-file", str(f), "--timeout", "1", "--json")
    verdicts = [c["status"] for c in json.loads(r.stdout)["claims"]]
    assert verdicts == ["PROVED", "UNDECIDED", "REFUTED"] and r.exit_code == 1


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_dev_zero_as_a_claim_file_is_refused_after_a_bounded_read():
    r = run("--wrt", "b^(3)_j", "--claim-file", "/dev/zero")
    assert r.exit_code == 2
    assert one_line(r) == (
        "bpverify prove: --claim-file /dev/zero has more than the 1000000 bytes accepted: "
        "split it (or raise the limit with BPVERIFY_MAX_CLAIM_FILE_BYTES=N)"
    )


@pytest.mark.parametrize(
    "content, message",
    [
        (b"b^(3)_j: 1\x00\x01\x02", "is not a text file (it holds NUL bytes)"),
        (b"\xff\xfe b^(3)_j: 1", "is not UTF-8 text"),
        (b"# only a comment\n\n", "holds no claims"),
    ],
)
def test_a_claim_file_that_is_not_claims_is_one_line_and_exit_2(tmp_path, content, message):
    f = tmp_path / "claims.txt"
    f.write_bytes(content)
    r = run("--claim-file", str(f))
    assert r.exit_code == 2 and message in one_line(r)


@pytest.mark.parametrize(
    "args, message",
    [
        (("--leaky-slope", "1e999999999"), "the decimal exponent 999999999 is more than the 30"),
        (("--leaky-slope", "1/0"), "--leaky-slope 1/0 divides by zero"),
        (("--timeout", "nan"), "'nan' is not a number of seconds >= 0"),
        (("--timeout", "-1"), "'-1' is not a number of seconds >= 0"),
    ],
)
def test_bad_numbers_are_one_line_and_exit_2(args, message):
    r = run("--activation", "leaky_relu", "--wrt", "b^(3)_j", "--claim", "1", *args)
    assert r.exit_code == 2 and message in one_line(r)


def test_a_long_wrt_is_not_echoed_whole():
    r = run("--wrt", "x" * 100_000, "--claim", "1")
    assert r.exit_code == 2 and len(one_line(r)) < 300


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB on Linux")
def test_the_memory_bombs_stay_under_a_gigabyte():
    # as a subprocess, so that its peak memory (and its worker's) is measured alone
    code = (
        "import resource, subprocess, sys\n"
        "for claim in sys.argv[1:]:\n"
        "    subprocess.run([sys.executable, '-c', 'from bpverify.cli.main import main; main()',"
        " 'prove', '--layers', '3', '--wrt', 'w^(3)_jk', '--claim', claim, '--timeout', '2'],"
        " capture_output=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code, TOWER, EXPANSION, SIGMAS], capture_output=True, text=True
    )
    assert p.returncode == 0, p.stderr
    peak_kib = int(p.stdout)  # ru_maxrss is in KiB on Linux
    assert peak_kib < 2**20, f"peak RSS {peak_kib} KiB"


def test_format_json_is_the_json_flag():
    args = ("--wrt", "b^(3)_j", "--claim", "sigma'(z^(3)_j) * (a^(3)_j - y_j)")
    flag, option = run(*args, "--json"), run(*args, "--format", "json")
    assert option.exit_code == flag.exit_code == 1
    assert json.loads(option.stdout) == json.loads(flag.stdout)


def test_gradescope_results_of_a_homework_file(tmp_path):
    homework = tmp_path / "homework.txt"
    homework.write_text(
        f"w^(3)_jk: {SEED_W3}\nb^(3)_j: 2*(a^(3)_j - y_j)\nb^(3)_j: (((\n", encoding="utf-8"
    )
    out = tmp_path / "results.json"
    r = run("--claim-file", str(homework), "--gradescope", str(out))
    assert r.exit_code == 2, r.output  # the bad line decides the exit code; all are graded
    data = json.loads(out.read_text())
    assert data["score"] == 1.0
    assert [(t["number"], t["status"]) for t in data["tests"]] == [
        ("1", "passed"),
        ("2", "failed"),
        ("3", "failed"),
    ]
    assert "hint: looks like sigma' is missing" in data["tests"][1]["output"]


def test_gradescope_file_that_cannot_be_written_is_refused_before_any_proof(tmp_path):
    r = run("--wrt", "w^(3)_jk", "--claim", SEED_W3, "--gradescope", "/sys/results.json")
    assert r.exit_code == 2
    assert "--gradescope" in r.stderr and r.stdout == ""


# dC_0/da^(2)_k sums over layer 3's units; this bound names layer 2's
WRONG_BOUND = r"\sum_{j=0}^{n_{L-1}-1} w^{(3)}_{jk} \sigma'(z^{(3)}_j) 2(a^{(3)}_j - y_j)"


@pytest.mark.parametrize("widths", ["3,4,4,2", "3,4,2,5"])
def test_a_sum_over_another_layer_at_concrete_widths_is_refuted_not_a_crash(widths, tmp_path):
    r = CliRunner().invoke(
        main, ["prove", "--widths", widths, "--wrt", "a^(2)_k", "--claim", WRONG_BOUND]
    )
    assert r.exit_code == 1 and r.stdout.startswith("REFUTED"), r.output
    assert f"widths = {widths}" in r.stdout and "internal error" not in r.output
    # in a claim file, such a line is one refuted line among the others
    f = tmp_path / "claims.txt"
    f.write_text(f"a^(2)_k: {WRONG_BOUND}\nb^(3)_j: sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)\n")
    r = CliRunner().invoke(main, ["prove", "--widths", widths, "--claim-file", str(f)])
    lines = [line.split()[2] for line in r.stdout.splitlines() if line.startswith("line ")]
    assert r.exit_code == 1 and lines == ["REFUTED", "PROVED"], r.output


def test_the_half_convention_hint_names_the_loss_that_proves_the_claim():
    claim = "a^(2)_k * sigma'(z^(3)_j) * (a^(3)_j - y_j)"
    r = run("--wrt", "w^(3)_jk", "--claim", claim)
    assert r.exit_code == 1
    assert "hint: your expression is exactly ½ of the derivative" in r.stdout
    assert "give --loss half-squared" in r.stdout
    assert run("--loss", "half-squared", "--wrt", "w^(3)_jk", "--claim", claim).exit_code == 0
    # and back: the squared loss's claim under --loss half-squared names --loss squared
    r = run("--loss", "half-squared", "--wrt", "w^(3)_jk", "--claim", SEED_W3)
    assert r.exit_code == 1 and "exactly 2 times the derivative" in r.stdout
    assert "give --loss squared" in r.stdout


def test_the_cross_entropy_hint_leads_to_the_claim_without_sigma_prime():
    r = run(
        "--loss", "cross-entropy", "--wrt", "b^(3)_j", "--claim", "(a^(3)_j - y_j)*sigma'(z^(3)_j)"
    )
    assert (
        r.exit_code == 1 and "hint: looks like sigma'(z^(L)) is kept where it cancels" in r.stdout
    )
    r = run("--loss", "cross-entropy", "--wrt", "b^(3)_j", "--claim", "a^(3)_j - y_j")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("claim", ["log(a^(3)_j - y_j)", "log(0)", "log(-1) * a^(2)_k"])
def test_a_claim_undefined_or_complex_at_a_point_is_refuted_not_an_internal_error(claim):
    r = run("--wrt", "w^(3)_jk", "--claim", claim, "--points", "3")
    assert r.exit_code == 1, r.output
    assert "undefined" in r.stdout or "not a real number" in r.stdout
