"""No false alarm: correct backward passes of functions with kinks, cancellations and uncovered
calls pass check_function at every seed, with every method; their one-line bugs fail.

The default suite runs a few seeds of each; the sweep over 60 seeds and three methods is slow.
"""

import numpy as np
import pytest

from bpverify.numeric.check.function import check_function


def relu_mlp(x, W1, W2):
    return np.sum(np.maximum(np.maximum(x @ W1, 0) @ W2, 0) ** 2)


def relu_mlp_grad(x, W1, W2):
    h = np.maximum(x @ W1, 0)
    o = np.maximum(h @ W2, 0)
    do = 2 * o
    dh = (do @ W2.T) * (x @ W1 > 0)
    return {"x": dh @ W1.T, "W1": x.T @ dh, "W2": h.T @ do}


def huber(x, y):
    r = x - y
    return np.mean(np.where(np.abs(r) < 0.5, 0.5 * r**2, 0.5 * (np.abs(r) - 0.25)))


def huber_grad(x, y):
    r = x - y
    g = np.where(np.abs(r) < 0.5, r, 0.5 * np.sign(r)) / r.size
    return {"x": g, "y": -g}


def max_pool(x):
    return x.reshape(x.shape[0], -1, 2).max(axis=2)


def max_pool_grad(x, dout):
    pairs = x.reshape(x.shape[0], -1, 2)
    first = pairs[:, :, 0] >= pairs[:, :, 1]
    dx = np.stack([dout * first, dout * ~first], axis=2)
    return dx.reshape(x.shape)


def soft_clip(x):
    return np.sum(np.arctan(np.maximum(x, -1.0)) * np.abs(x))


def soft_clip_grad(x):
    m = np.maximum(x, -1.0)
    return (x > -1.0) / (1 + m**2) * np.abs(x) + np.arctan(m) * np.sign(x)


def batch_norm(x, gamma):
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    return gamma * (x - mu) / np.sqrt(var + 1e-5)


def batch_norm_grad(x, gamma, dout):
    n = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    inv = 1 / np.sqrt(var + 1e-5)
    xhat = (x - mu) * inv
    dxhat = dout * gamma
    dx = inv / n * (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
    return {"x": dx, "gamma": (dout * xhat).sum(axis=0)}


CASES = {
    "relu MLP": (relu_mlp, relu_mlp_grad, {"x": (5, 4), "W1": (4, 12), "W2": (12, 3)}),
    "huber": (huber, huber_grad, {"x": (6, 3), "y": (6, 3)}),
    "max pool": (max_pool, max_pool_grad, {"x": (3, 8)}),
    "uncovered arctan with kinks": (soft_clip, soft_clip_grad, {"x": (4, 5)}),
    "batch norm": (batch_norm, batch_norm_grad, {"x": (6, 4), "gamma": 4}),
}

METHODS = ("auto", "richardson", "central")


def _check(case, seed, method, bug=None):
    fn, grad, inputs = CASES[case]
    if bug is not None:
        grad = bug(grad)
    return check_function(fn, grad, inputs, seed=seed, method=method, points=2)


def _scaled(grad):
    def wrong(**kw):
        out = grad(**kw)
        if isinstance(out, dict):
            k = next(iter(out))
            return {**out, k: out[k] * 1.001}
        return out * 1.001

    return wrong


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("seed", range(3))
def test_correct_code_passes(case, seed):
    report = _check(case, seed, "auto")
    assert report.passed, report.table()


@pytest.mark.parametrize("case", list(CASES))
def test_a_gradient_off_by_a_thousandth_fails(case):
    report = _check(case, 0, "auto", _scaled)
    assert not report.passed, report.table()


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", list(CASES))
def test_no_false_alarm_over_many_seeds(case, method):
    failed = [s for s in range(60) if not _check(case, s, method).passed]
    assert not failed, _check(case, failed[0], method).table()
