"""check_function: the user's gradient of any NumPy function against the traced reference and
finite differences."""

import textwrap

import numpy as np
import pytest

from bpverify.derive import InputError
from bpverify.numeric.check.function import (
    ENTRYWISE_LIMIT,
    SAMPLE_ON_FAILURE,
    assert_function_close,
    check_function,
)


def layer_norm(x, gamma, beta):
    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + 1e-5) + beta


def layer_norm_backward(x, gamma, beta, dout, bug=False):
    mu = x.mean(axis=1, keepdims=True)
    inv = 1 / np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
    xhat, dxhat, n = (x - mu) * inv, dout * gamma, x.shape[1]
    dx = n * dxhat - dxhat.sum(axis=1, keepdims=True)
    if not bug:  # the bug leaves out the variance's term
        dx = dx - xhat * (dxhat * xhat).sum(axis=1, keepdims=True)
    return {"x": inv / n * dx, "gamma": (dout * xhat).sum(axis=0), "beta": dout.sum(axis=0)}


SHAPES = {"x": (4, 6), "gamma": 6, "beta": 6}


def by(report, tensor, pair):
    (c,) = [c for c in report.comparisons if c.tensor == tensor and "-".join(c.pair) == pair]
    return c


def test_a_correct_backward_passes_three_ways():
    report = check_function(layer_norm, layer_norm_backward, SHAPES)
    assert report.passed, report.table()
    assert {"-".join(c.pair) for c in report.comparisons} == {"user-traced", "user-fd", "traced-fd"}
    assert report.method == "complex"  # the forward is complex-safe
    assert by(report, "x", "user-traced").compared == 24


def test_a_missing_term_fails_on_that_input_alone_and_names_the_worst_entry():
    report = check_function(layer_norm, lambda **kw: layer_norm_backward(**kw, bug=True), SHAPES)
    assert not report.passed
    assert {c.tensor for c in report.failures()} == {"x"}
    worst = by(report, "x", "user-traced")
    assert worst.verdict == "FAIL" and len(worst.worst) == 2
    assert by(report, "x", "traced-fd").passed  # the two references agree


def test_a_number_output_takes_the_gradient_and_labels_are_not_checked():
    def loss(logits, labels):
        z = logits - logits.max(axis=1, keepdims=True)
        return np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(labels)), labels])

    def grad(logits, labels, subtract=True):
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        if subtract:
            p[np.arange(len(labels)), labels] -= 1
        return p / len(labels)

    inputs = {"logits": (5, 3), "labels": "5:int3"}
    report = check_function(loss, grad, inputs)
    assert report.passed and {c.tensor for c in report.comparisons} == {"logits"}
    wrong = check_function(loss, lambda **kw: grad(**kw, subtract=False), inputs)
    assert not wrong.passed


def test_large_inputs_are_checked_along_random_directions_and_a_failure_samples_entries():
    shapes = {"x": (64, 40), "gamma": 40, "beta": 40}
    assert ENTRYWISE_LIMIT < 64 * 40
    report = check_function(layer_norm, layer_norm_backward, shapes, points=1)
    assert report.passed and report.mode.startswith("random directions")
    joint = [c for c in report.comparisons if c.tensor == "x,gamma,beta"]  # every input at once
    assert {"-".join(c.pair) for c in joint} == {"user-fd", "traced-fd"}
    bad = check_function(
        layer_norm, lambda **kw: layer_norm_backward(**kw, bug=True), shapes, points=1
    )
    sampled = [c for c in bad.comparisons if c.note.startswith("direction failed")]
    assert sampled and all(c.compared <= SAMPLE_ON_FAILURE for c in sampled)
    assert not by(bad, "x", "user-traced").passed


def test_every_entry_on_request_and_a_sample_in_between():
    shapes = {"x": (64, 40), "gamma": 40, "beta": 40}
    report = check_function(layer_norm, layer_norm_backward, shapes, points=1, mode="entries")
    assert by(report, "x", "user-fd").compared == 64 * 40
    report = check_function(layer_norm, layer_norm_backward, SHAPES, points=1, sample=5)
    assert by(report, "x", "user-fd").compared == 5


def test_relu_kinks_raise_no_false_alarm_with_richardson():
    def net(x, W):
        return np.sum(np.maximum(x @ W, 0) ** 2)

    def grad(x, W):
        d = 2 * np.maximum(x @ W, 0)
        return d @ W.T, x.T @ d

    inputs = {"x": (6, 5), "W": (5, 30)}
    for seed in range(8):
        report = check_function(net, grad, inputs, method="richardson", seed=seed)
        assert report.passed, report.table()


def test_an_uncovered_call_is_named_and_the_check_is_still_decided():
    def fn(x):
        return np.sum(np.arctan(x) ** 2)

    def grad(x, factor=2.0):
        return factor * np.arctan(x) / (1 + x**2)

    report = check_function(fn, grad, {"x": 7})
    assert report.passed
    assert any("does not cover np.arctan" in n for n in report.notes)
    assert {"-".join(c.pair) for c in report.comparisons} == {"user-fd"}
    assert not check_function(fn, lambda x: grad(x, 2.01), {"x": 7}).passed


def test_given_arrays_are_checked_at_one_point():
    x = np.linspace(-1, 1, 6).reshape(2, 3)
    report = check_function(
        layer_norm, layer_norm_backward, {"x": x, "gamma": np.ones(3), "beta": np.zeros(3)}
    )
    assert report.points == 1 and report.passed


def test_a_gradient_that_raises_is_a_problem_not_an_exception():
    def grad(**kw):
        raise ValueError("no")

    report = check_function(layer_norm, grad, SHAPES)
    assert not report.passed
    assert report.problems[0].message.startswith("the gradient function raised ValueError: no")
    assert len(report.problems) == 1  # once, not at every point


def test_assert_function_close_raises_with_the_table():
    with pytest.raises(AssertionError, match="user-traced"):
        assert_function_close(layer_norm, lambda **kw: layer_norm_backward(**kw, bug=True), SHAPES)


@pytest.mark.parametrize(
    "kwargs, says",
    [
        ({"wrt": "x,nope"}, "no such input"),
        ({"wrt": ["labels"], "inputs": {"x": 3, "labels": "3:int2"}}, "whole-number input"),
        ({"mode": "sideways"}, "unknown mode"),
        ({"inputs": {"x": np.array([1.0, np.nan])}}, "NaN"),
        ({"grad": "file.py:grad"}, "both as functions"),
    ],
)
def test_unusable_arguments_are_input_errors(kwargs, says):
    args = {"fn": layer_norm, "grad": layer_norm_backward, "inputs": SHAPES, **kwargs}
    with pytest.raises(InputError, match=says):
        check_function(args.pop("fn"), args.pop("grad"), args.pop("inputs"), **args)


LAYER = """
import numpy as np, os, sys, time

def forward(x):
    return np.sum(np.tanh(x) ** 2)

def backward(x):
    return 2 * np.tanh(x) * (1 - np.tanh(x) ** 2)

def hangs(x):
    while True:
        pass

def exits(x):
    sys.exit(0)

def ends(x):
    os._exit(0)

def forward_hangs(x):
    time.sleep(100)
"""


@pytest.mark.parametrize(
    "fn, grad, says",
    [
        ("forward", "backward", None),
        ("forward", "exits", "called sys.exit(0) (layer.py:15)"),
        ("forward", "ends", "called os._exit(0) (layer.py:18)"),
        ("forward_hangs", "backward", "ran past the time limit"),
    ],
)
def test_files_run_in_a_worker_and_nothing_they_do_decides_the_check(tmp_path, fn, grad, says):
    (tmp_path / "layer.py").write_text(textwrap.dedent(LAYER))
    ref = str(tmp_path / "layer.py")
    report = check_function(f"{ref}:{fn}", f"{ref}:{grad}", {"x": 5}, timeout=2, points=2)
    if says is None:
        assert report.passed, report.table()
    else:
        assert not report.passed
        assert says in report.problems[0].message


def test_float32_code_is_called_in_float32_and_held_to_its_tolerances():
    seen = set()

    def grad(x):
        seen.add(x.dtype)
        return (2 * np.tanh(x) * (1 - np.tanh(x) ** 2)).astype(np.float32)

    report = check_function(lambda x: np.sum(np.tanh(x) ** 2), grad, {"x": 6}, dtype="float32")
    assert report.passed and seen == {np.dtype(np.float32)}
    assert by(report, "x", "user-traced").rtol == 2e-3


SLOW = """
import time
import numpy as np

def forward(x):
    time.sleep(0.02)
    return np.sum(np.abs(x) ** 3)  # abs: not complex-safe, so four calls per entry

def backward(x):
    return 3 * x * np.abs(x)
"""


def test_many_calls_of_a_slow_forward_are_not_a_hang(tmp_path):
    # 20 entries x 4 calls x 0.02 s = 1.6 s of differences, past --timeout 1 for one stage: the
    # budget of the differences grows with their calls
    (tmp_path / "slow.py").write_text(SLOW)
    ref = str(tmp_path / "slow.py")
    report = check_function(f"{ref}:forward", f"{ref}:backward", {"x": 20}, timeout=1, points=1)
    assert report.passed, report.table()


def test_a_forward_whose_dtype_follows_one_input_raises_no_false_alarm():
    def forward(x, w):
        y = np.zeros_like(x[: len(x) - len(w) + 1])
        for i in range(len(y)):
            y[i] = x[i : i + len(w)] @ w
        return y

    def backward(x, w, dout):
        win = np.arange(len(dout))[:, None] + np.arange(len(w))
        dx = np.zeros_like(x)
        np.add.at(dx, win, dout[:, None] * w)
        return {"x": dx, "w": dout @ x[win]}

    report = check_function(forward, backward, {"x": 10, "w": 3}, points=2)
    assert report.passed, report.table()
    assert report.method == "richardson"
