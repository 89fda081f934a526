"""bpverify check --function: the CLI of check_function, its reports and exit codes."""

import json

import pytest
from click.testing import CliRunner

from bpverify.cli.main import main

LAYER = """\
import numpy as np


def forward(x, W, b):
    return np.tanh(x @ W + b)


def backward(x, W, b, dout):
    d = dout * (1 - np.tanh(x @ W + b) ** 2)
    return {"x": d @ W.T, "W": x.T @ d, "b": d.sum(axis=0)}


def transposed(x, W, b, dout):
    g = backward(x, W, b, dout)
    g["W"] = g["W"][::-1]  # rows in the wrong order: the same shape, wrong entries
    return g
"""


def run(tmp_path, grad="backward", *more):
    (tmp_path / "layer.py").write_text(LAYER)
    ref = str(tmp_path / "layer.py")
    argv = ["check", "--function", f"{ref}:forward", "--grad-fn", f"{ref}:{grad}"]
    argv += ["--input", "x=4x3", "--input", "W=3x5", "--input", "b=5", *more]
    return CliRunner().invoke(main, argv)


def test_a_correct_backward_passes_with_exit_0_and_json_and_junit(tmp_path):
    r = run(
        tmp_path, "backward", "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml")
    )
    assert r.exit_code == 0, r.output
    assert r.output.rstrip().endswith("PASS: 1 of 1 function(s) passed")
    doc = json.loads((tmp_path / "r.json").read_text())
    (report,) = doc["reports"]
    assert report["reference"].startswith("the traced reference")
    assert {c["tensor"] for c in report["comparisons"]} == {"x", "W", "b"}
    assert 'failures="0"' in (tmp_path / "r.xml").read_text()


def test_a_wrong_backward_fails_with_exit_1_naming_the_input(tmp_path):
    r = run(tmp_path, "transposed", "--json", str(tmp_path / "r.json"))
    assert r.exit_code == 1, r.output
    failed = json.loads((tmp_path / "r.json").read_text())["reports"][0]["comparisons"]
    assert {c["tensor"] for c in failed if c["verdict"] == "FAIL"} == {"W"}


@pytest.mark.parametrize(
    "more, mode",
    [
        ((), "every entry"),
        (("--projection",), "random directions"),
        (("--sample", "2"), "2 sampled entries per input"),
        (("--every-entry",), "every entry"),
    ],
)
def test_the_options_reach_the_check(tmp_path, more, mode):
    r = run(tmp_path, "backward", "--points", "1", *more)
    assert r.exit_code == 0, r.output
    assert mode in r.output.splitlines()[0]


def test_wrt_limits_the_inputs_and_method_is_honoured(tmp_path):
    r = run(tmp_path, "backward", "--wrt", "W", "--method", "central", "--points", "1")
    assert r.exit_code == 0, r.output
    assert "checked: W;" in r.output and "finite differences (central)" in r.output


def test_a_configuration_file_lists_functions_beside_networks(tmp_path, monkeypatch):
    (tmp_path / "layer.py").write_text(LAYER)
    (tmp_path / "bpverify.toml").write_text(
        "[[check]]\nwidths = [2, 1]\npoints = 1\n\n"
        '[[check]]\nname = "tanh layer"\nfunction = "layer.py:forward"\n'
        'grad-fn = "layer.py:transposed"\ninputs = ["x=4x3", "W=3x5", "b=5"]\npoints = 1\n'
    )
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["check"])
    assert r.exit_code == 1, r.output
    assert "tanh layer: function" in r.output
    assert r.output.rstrip().endswith("FAIL: 1 of 2 check(s) passed")
