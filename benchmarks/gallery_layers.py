"""The six layers of docs/layers.md for benchmarks/function_check_bench.py: each forward and its
correct backward in NumPy, as the gallery writes them, and the same forward in torch (the
function ``torch.autograd.gradcheck`` differentiates), with the sizes it is benchmarked at.

The NumPy code is the gallery's; tests/numeric/check/test_function_gallery.py holds the gallery
to its own blocks, and the benchmark holds the torch forward to the NumPy one before timing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

EPS = 1e-5
ALPHA, GAMMA = 0.25, 2.0


# -- layer norm and batch norm -------------------------------------------------------------------
def layer_norm(x, gamma, beta):
    xhat = (x - x.mean(axis=-1, keepdims=True)) / np.sqrt(x.var(axis=-1, keepdims=True) + EPS)
    return gamma * xhat + beta


def layer_norm_backward(x, gamma, beta, dout):
    inv = 1 / np.sqrt(x.var(axis=-1, keepdims=True) + EPS)
    xhat = (x - x.mean(axis=-1, keepdims=True)) * inv
    g = dout * gamma
    dx = inv * (g - g.mean(-1, keepdims=True) - xhat * (g * xhat).mean(-1, keepdims=True))
    return {"x": dx, "gamma": (dout * xhat).sum(axis=0), "beta": dout.sum(axis=0)}


def batch_norm(x, gamma, beta):
    xhat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + EPS)
    return gamma * xhat + beta


def batch_norm_backward(x, gamma, beta, dout):
    inv = 1 / np.sqrt(x.var(axis=0) + EPS)
    xhat = (x - x.mean(axis=0)) * inv
    g = dout * gamma
    dx = inv * (g - g.mean(axis=0) - xhat * (g * xhat).mean(axis=0))
    return {"x": dx, "gamma": (dout * xhat).sum(axis=0), "beta": dout.sum(axis=0)}


# -- softmax cross-entropy and attention ---------------------------------------------------------
def cross_entropy(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(labels)), labels].mean()


def cross_entropy_backward(logits, labels):
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dlogp = np.zeros_like(logits)
    dlogp[np.arange(len(labels)), labels] = -1 / len(labels)
    return dlogp - p * dlogp.sum(axis=1, keepdims=True)


def softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention(q, k, v):
    return softmax(q @ k.T / np.sqrt(q.shape[-1])) @ v


def attention_backward(q, k, v, dout):
    c = 1 / np.sqrt(q.shape[-1])
    p = softmax(q @ k.T * c)
    dp = dout @ v.T
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    return {"q": ds @ k * c, "k": ds.T @ q * c, "v": p.T @ dout}


# -- 1-D convolution and focal loss --------------------------------------------------------------
def windows(length, width):
    return np.arange(length - width + 1)[:, None] + np.arange(width)


def conv1d(x, w):
    return np.einsum("bcij,ocj->boi", x[:, :, windows(x.shape[-1], w.shape[-1])], w)


def conv1d_backward(x, w, dout):
    width = w.shape[-1]
    dw = np.einsum("boi,bcij->ocj", dout, x[:, :, windows(x.shape[-1], width)])
    padded = np.pad(dout, ((0, 0), (0, 0), (width - 1, width - 1)))
    full = padded[:, :, windows(padded.shape[-1], width)]
    return {"x": np.einsum("boij,ocj->bci", full, w[:, :, ::-1]), "w": dw}


def focal(z, y):
    p = 1 / (1 + np.exp(-z))
    pt = np.where(y == 1, p, 1 - p)
    at = np.where(y == 1, ALPHA, 1 - ALPHA)
    return np.mean(-at * (1 - pt) ** GAMMA * np.log(pt))


def focal_backward(z, y):
    p = 1 / (1 + np.exp(-z))
    pt = np.where(y == 1, p, 1 - p)
    at = np.where(y == 1, ALPHA, 1 - ALPHA)
    sign = np.where(y == 1, 1.0, -1.0)
    return sign * at * (1 - pt) ** GAMMA * (GAMMA * pt * np.log(pt) - (1 - pt)) / z.size


# -- the same forwards in torch ------------------------------------------------------------------
def torch_forwards(torch) -> dict[str, Callable]:
    """Layer name -> the forward in torch, taking the same named tensors."""
    F = torch.nn.functional

    def focal_torch(z, y):
        p = torch.sigmoid(z)
        pt = torch.where(y == 1, p, 1 - p)
        at = torch.where(y == 1, ALPHA, 1 - ALPHA)
        return torch.mean(-at * (1 - pt) ** GAMMA * torch.log(pt))

    return {
        "layer norm": lambda x, gamma, beta: F.layer_norm(x, x.shape[-1:], gamma, beta, EPS),
        "batch norm": lambda x, gamma, beta: F.batch_norm(
            x, None, None, gamma, beta, training=True, eps=EPS
        ),
        "softmax cross-entropy": lambda logits, labels: F.cross_entropy(logits, labels),
        "attention": lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
        "1-D convolution": lambda x, w: F.conv1d(x, w),
        "focal loss": focal_torch,
    }


SIZES = ("small", "medium", "large")
"""small: the gallery's sizes (every entry's difference by default); medium: just past the 2,048
checked entries from which the check takes random directions by default; large: about 8,000."""


@dataclass(frozen=True)
class Layer:
    """One gallery layer: its NumPy forward and backward and its inputs at each of ``SIZES``,
    written as ``bpverify check --input`` takes them (``NAME=SHAPE[:KIND]``)."""

    name: str
    forward: Callable
    backward: Callable
    sizes: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]

    def inputs(self, size: str) -> tuple[str, ...]:
        return self.sizes[SIZES.index(size)]


LAYERS = (
    Layer(
        "layer norm",
        layer_norm,
        layer_norm_backward,
        (
            ("x=4x6", "gamma=6", "beta=6"),
            ("x=32x64", "gamma=64", "beta=64"),
            ("x=64x128", "gamma=128", "beta=128"),
        ),
    ),
    Layer(
        "batch norm",
        batch_norm,
        batch_norm_backward,
        (
            ("x=8x3", "gamma=3", "beta=3"),
            ("x=64x32", "gamma=32", "beta=32"),
            ("x=128x64", "gamma=64", "beta=64"),
        ),
    ),
    Layer(
        "softmax cross-entropy",
        cross_entropy,
        cross_entropy_backward,
        (
            ("logits=6x4", "labels=6:int4"),
            ("logits=64x40", "labels=64:int40"),
            ("logits=128x64", "labels=128:int64"),
        ),
    ),
    Layer(
        "attention",
        attention,
        attention_backward,
        (
            ("q=4x8", "k=4x8", "v=4x8"),
            ("q=16x48", "k=16x48", "v=16x48"),
            ("q=16x160", "k=16x160", "v=16x160"),
        ),
    ),
    Layer(
        "1-D convolution",
        conv1d,
        conv1d_backward,
        (
            ("x=2x3x10", "w=4x3x3"),
            ("x=4x4x128", "w=4x4x3"),
            ("x=4x8x256", "w=8x8x3"),
        ),
    ),
    Layer(
        "focal loss",
        focal,
        focal_backward,
        (("z=16", "y=16:int2"), ("z=2560", "y=2560:int2"), ("z=8192", "y=8192:int2")),
    ),
)
"""The gallery's six layers."""
