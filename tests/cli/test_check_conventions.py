"""bpverify check names the conventions a hand-written backprop may follow: a ½ on the loss, a
sum over the batch, a flipped sign (constant factors); gradient keys under other names; one-hot
targets for the classification losses."""

import json
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from bpverify.cli.main import main

# Backprop written by hand, as a course teaches it: tanh layers, C_0 = ½ Σ (a − y)², one sample
# per row; then the same code summing over the batch, with the sign flipped, and with its keys
# named after the gradients instead of the parameters.
HALF_CONVENTION = """\
import numpy as np


def half(params, X, Y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = X.shape[0]
    a1 = np.tanh(X @ W1.T + b1)
    a2 = np.tanh(a1 @ W2.T + b2)
    delta2 = (a2 - Y) * (1 - a2**2) / n  # the derivative of ½ (a - y)²: no 2
    delta1 = (delta2 @ W2) * (1 - a1**2)
    return {"W1": delta1.T @ X, "b1": delta1.sum(0), "W2": delta2.T @ a1, "b2": delta2.sum(0)}


def summed(params, X, Y):
    return {k: 2 * v * X.shape[0] for k, v in half(params, X, Y).items()}


def ascent(params, X, Y):
    return {k: -2 * v for k, v in half(params, X, Y).items()}


def named_d(params, X, Y):
    return {"d" + k: v for k, v in half(params, X, Y).items()}


def one_hot_only(params, X, Y):
    assert set(np.unique(Y)) <= {0.0, 1.0} and (Y.sum(axis=1) == 1).all(), "labels must be one-hot"
    z1 = X @ params["W1"].T + params["b1"]
    a1 = np.tanh(z1)
    z2 = a1 @ params["W2"].T + params["b2"]
    p = np.exp(z2 - z2.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    delta2 = (p - Y) / X.shape[0]
    delta1 = (delta2 @ params["W2"]) * (1 - a1**2)
    return {"W1": delta1.T @ X, "b1": delta1.sum(0), "W2": delta2.T @ a1, "b2": delta2.sum(0)}
"""

NET = ["--widths", "3,4,2", "--activation", "tanh", "--points", "2"]


def run(tmp_path, function, *args):
    path = tmp_path / "course.py"
    path.write_text(HALF_CONVENTION)
    return CliRunner().invoke(main, ["check", *NET, "--grad-fn", f"{path}:{function}", *args])


def _hint(output):
    (hint,) = [line for line in output.splitlines() if line.startswith("hint: ")]
    return hint


def test_the_half_convention_fails_saying_factor_2(tmp_path):
    r = run(tmp_path, "half", "--batch", "5")
    assert r.exit_code == 1, r.output
    pairs = (["symbolic-user"], ["user-fd"])
    rows = [line for line in r.stdout.splitlines() if line.split()[1:2] in pairs]
    assert len(rows) == 8 and all(line.endswith("FAIL (factor 2)") for line in rows)
    assert _hint(r.stdout) == (
        "hint: factor 2 on W1, b1, W2, b2: yours is ½ of the reference: the half-squared "
        "convention (C_0 = ½ × the squared loss)? use --loss half-squared"
    )


def test_the_half_convention_passes_with_the_half_squared_loss(tmp_path):
    r = run(tmp_path, "half", "--loss", "half-squared")
    assert r.exit_code == 0, r.output
    assert "half-squared loss" in r.stdout.splitlines()[0] and "hint" not in r.stdout


def test_a_sum_over_the_batch_says_factor_n_with_the_batch_size(tmp_path):
    r = run(tmp_path, "summed", "--batch", "5")
    assert r.exit_code == 1, r.output
    assert _hint(r.stdout).startswith(
        "hint: factor n (n = 5, the batch size) on W1, b1, W2, b2: yours is n × the reference: "
        "the sum over the batch (C = Σ C_i) instead of the mean (the reference, "
        "C = (1/n) Σ C_i)? use --cost sum"
    )


def test_the_half_convention_summed_at_the_default_batch_gives_both_readings(tmp_path):
    r = run(tmp_path, "half", "--batch", "4", "--loss", "half-squared")
    assert r.exit_code == 0
    summed = run(tmp_path, "summed", "--loss", "half-squared")  # 2n × the half-squared truth
    assert "factor 2n (n = 4, the batch size)" in _hint(summed.stdout)


def test_a_flipped_sign_says_factor_minus_1(tmp_path):
    r = run(tmp_path, "ascent")
    assert r.exit_code == 1, r.output
    assert _hint(r.stdout).startswith("hint: factor −1 on W1, b1, W2, b2: yours is the negative")


def test_the_factor_is_a_field_in_json_and_part_of_the_junit_failure(tmp_path):
    out, xml = tmp_path / "r.json", tmp_path / "r.xml"
    r = run(tmp_path, "half", "--batch", "5", "--json", str(out), "--junit", str(xml))
    assert r.exit_code == 1, r.output
    rows = json.loads(out.read_text())["reports"][0]["comparisons"]
    failed = [c for c in rows if c["verdict"] == "FAIL"]
    assert len(failed) == 8 and all(c["factor"]["name"] == "factor 2" for c in failed)
    assert all(c["factor"]["ratio"] == 0.5 for c in failed)
    assert all(c["factor"] is None for c in rows if c["verdict"] != "FAIL")
    messages = [f.get("message") for f in ET.parse(xml).getroot().iter("failure")]
    assert len(messages) == 8
    assert all("; factor 2: yours is ½ of the reference: " in m for m in messages)


def test_keys_named_after_the_gradients_list_both_sets_and_the_renames(tmp_path):
    r = run(tmp_path, "named_d")
    assert r.exit_code == 1, r.output
    (problem,) = [line for line in r.stdout.splitlines() if line.startswith("problem: ")]
    assert problem == (
        "problem: missing keys 'W1', 'b1', 'W2', 'b2' in the returned dict: it returned "
        "['dW1', 'db1', 'dW2', 'db2'], expected ['W1', 'b1', 'W2', 'b2'] (and optionally "
        "['dC_da0', 'dC_da1'], dC/da^(l) of the mean cost); rename 'dW1' -> 'W1', "
        "'db1' -> 'b1', 'dW2' -> 'W2', 'db2' -> 'b2'"
    )


def test_code_that_takes_one_hot_labels_passes_with_one_hot_targets(tmp_path):
    classify = ["--loss", "softmax-cross-entropy"]
    soft = run(tmp_path, "one_hot_only", *classify)
    assert soft.exit_code == 1 and "labels must be one-hot" in soft.stdout
    r = run(tmp_path, "one_hot_only", *classify, "--targets", "one-hot")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("loss", ["squared", "half-squared", "huber"])
def test_one_hot_targets_for_real_targets_are_bad_input(tmp_path, loss):
    r = run(tmp_path, "half", "--loss", loss, "--targets", "one-hot")
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [
        f"bpverify check: --targets one-hot: the {loss} loss takes real targets (any real "
        "numbers); use --targets soft"
    ]


def test_one_hot_targets_in_a_configuration_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "course.py").write_text(HALF_CONVENTION)
    (tmp_path / "bpverify.toml").write_text(
        'targets = "one-hot"\n\n[[check]]\nwidths = [3, 4, 2]\nactivation = "tanh"\n'
        'loss = "softmax-cross-entropy"\ngrad-fn = "course.py:one_hot_only"\n'
    )
    assert CliRunner().invoke(main, ["check", "--points", "1"]).exit_code == 0
    r = CliRunner().invoke(main, ["check", "--points", "1", "--targets", "soft"])
    assert r.exit_code == 1 and "labels must be one-hot" in r.stdout


def test_a_sum_over_the_batch_passes_with_the_summed_cost(tmp_path):
    nielsen = run(tmp_path, "half", "--loss", "half-squared", "--cost", "sum", "--batch", "5")
    assert nielsen.exit_code == 1  # averaged, where the reference now sums
    assert "use --cost mean" in _hint(nielsen.stdout)
    r = run(tmp_path, "summed", "--cost", "sum")  # C_0 = Σ (a − y)², summed over the batch
    assert r.exit_code == 0, r.output
