"""The measured network, its data, and the implementations the generated code is compared with:
a hand-written NumPy backprop, PyTorch eager autograd and ``jax.jit(jax.grad(...))``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

DEPTH = 3

# Largest error allowed between two implementations: max |difference| over max |reference|,
# per gradient, the largest over the gradients.
TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}


def make_problem(width: int, batch: int, dtype) -> tuple[dict, np.ndarray, np.ndarray]:
    """Weights scaled by 1/sqrt(width) so that the sigmoids do not saturate."""
    rng = np.random.default_rng(width * 100_003 + batch)
    params = {}
    for l in range(1, DEPTH + 1):
        params[f"W{l}"] = (rng.standard_normal((width, width)) / np.sqrt(width)).astype(dtype)
        params[f"b{l}"] = (0.1 * rng.standard_normal(width)).astype(dtype)
    X = rng.standard_normal((batch, width)).astype(dtype)
    Y = rng.uniform(size=(batch, width)).astype(dtype)
    return params, X, Y


def numpy_gradients(params: dict, X: np.ndarray, Y: np.ndarray) -> dict:
    """Textbook backprop, one sample per row: Z = A W^T + b, A = sigmoid(Z); C = mean over
    samples of sum_j (a_j - y_j)^2, delta^(L) = 2/n (A - Y) A (1 - A)."""
    n = X.shape[0]
    acts = [X]
    with np.errstate(over="ignore"):
        for l in range(1, DEPTH + 1):
            Z = acts[-1] @ params[f"W{l}"].T + params[f"b{l}"]
            acts.append(1 / (1 + np.exp(-Z)))
    A = acts[-1]
    delta = (2 / n) * (A - Y) * A * (1 - A)
    grads = {}
    for l in range(DEPTH, 0, -1):
        grads[f"W{l}"] = delta.T @ acts[l - 1]
        grads[f"b{l}"] = delta.sum(axis=0)
        if l > 1:
            A = acts[l - 1]
            delta = (delta @ params[f"W{l}"]) * A * (1 - A)
    return grads


def torch_gradients(torch, params: dict, X: np.ndarray, Y: np.ndarray) -> Callable[[], dict]:
    """A closure running one eager forward and ``loss.backward()`` on tensors sharing the data
    (F.linear, torch.sigmoid, the same loss); it returns the .grad of every parameter."""
    F = torch.nn.functional
    tp = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in params.items()}
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)

    def step() -> dict:
        for p in tp.values():
            p.grad = None
        A = Xt
        for l in range(1, DEPTH + 1):
            A = torch.sigmoid(F.linear(A, tp[f"W{l}"], tp[f"b{l}"]))
        loss = ((A - Yt) ** 2).sum(dim=1).mean()
        loss.backward()
        return {k: p.grad for k, p in tp.items()}

    return step


def jax_gradients(jax, params: dict, X: np.ndarray, Y: np.ndarray) -> Callable[[], dict]:
    """A closure calling ``jax.jit(jax.grad(loss))`` on device copies of the data (the same
    network and loss, samples as rows) and waiting for the result; compiled before it returns,
    so the timed calls run the compiled code."""
    jnp = jax.numpy

    def loss(p, X, Y):
        A = X
        for l in range(1, DEPTH + 1):
            A = jax.nn.sigmoid(A @ p[f"W{l}"].T + p[f"b{l}"])
        return jnp.mean(jnp.sum((A - Y) ** 2, axis=1))

    grad = jax.jit(jax.grad(loss))
    jp = {k: jnp.asarray(v) for k, v in params.items()}
    Xj, Yj = jnp.asarray(X), jnp.asarray(Y)

    def step() -> dict:
        return jax.block_until_ready(grad(jp, Xj, Yj))

    step()
    return step


def max_error(got: dict, ref: dict) -> float:
    """The largest over the gradients of max |got - ref| / max |ref|."""
    worst = 0.0
    for k, r in ref.items():
        g = np.asarray(got[k], dtype=np.float64)
        r = np.asarray(r, dtype=np.float64)
        worst = max(worst, float(np.max(np.abs(g - r)) / max(np.max(np.abs(r)), 1e-300)))
    return worst
