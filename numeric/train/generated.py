"""Seeded toy data sets (xor, moons, circles, spirals) and the bundled 8x8 digits.

Each generator takes the number of samples ``n``, a ``numpy.random.Generator`` (None: seed
``DEFAULT_SEED``) and the noise; ``GENERATED`` lists them by name with their default sizes and
noise levels.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import memory
from .dataset import DataError, Dataset

DEFAULT_SEED = 0


def _check_generated(name: str, n: int, noise: float) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise DataError(f"{name}: the sample count {n!r} is not a positive integer: give n >= 1")
    if not (math.isfinite(noise) and noise >= 0):
        raise DataError(f"{name}: the noise {noise!r} is not a number >= 0: give e.g. 0.1")
    # two inputs and a label per sample
    memory.require(memory.data_bytes(n, 3), f"{name} with {n} samples", "give fewer --samples")


def _binary(name: str, X: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Dataset:
    # Shuffled so that consecutive samples (mini-batches, a plain head of the data) mix classes.
    order = rng.permutation(len(X))
    return Dataset(X[order], labels[order, None], name, 2, ("x1", "x2"), ("y",))


def as_generator(rng) -> np.random.Generator:
    """``rng`` as a Generator: a Generator as it is, an integer as a seed, None as DEFAULT_SEED."""
    return np.random.default_rng(DEFAULT_SEED if rng is None else rng)


def xor(n: int = 4, rng: np.random.Generator | None = None, noise: float = 0.0) -> Dataset:
    """The XOR corners (0,0), (0,1), (1,0), (1,1) with labels 0, 1, 1, 0, repeated up to ``n``.

    Unlike the other sets the samples keep this cyclic order (the first four are the corners).
    ``noise`` is the standard deviation of Gaussian noise added to the inputs (default none);
    ``rng`` draws it (None: seed ``DEFAULT_SEED``). Example: ``xor().Y[:, 0] == [0, 1, 1, 0]``.
    """
    _check_generated("xor", n, noise)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    rows = np.arange(n) % 4
    X = corners[rows] + as_generator(rng).normal(scale=noise, size=(n, 2))
    return Dataset(X, np.array([0.0, 1.0, 1.0, 0.0])[rows, None], "xor", 2, ("x1", "x2"), ("y",))


def moons(n: int = 500, rng: np.random.Generator | None = None, noise: float = 0.1) -> Dataset:
    """Two interleaving half circles (the classic two-moons data), shuffled.

    Class 0 is the upper moon ``(cos t, sin t)``, class 1 the lower ``(1 - cos t, 0.5 - sin t)``
    for t in [0, pi]; ``ceil(n/2)`` and ``floor(n/2)`` samples. Inputs lie in about [-1, 2] x
    [-0.5, 1]; ``noise`` is the standard deviation of the Gaussian noise on both inputs.
    """
    _check_generated("moons", n, noise)
    rng = as_generator(rng)
    n0 = (n + 1) // 2
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n - n0)
    X = np.vstack(
        [
            np.column_stack([np.cos(t0), np.sin(t0)]),
            np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)]),
        ]
    )
    X = X + rng.normal(scale=noise, size=X.shape)
    return _binary("moons", X, np.repeat([0.0, 1.0], [n0, n - n0]), rng)


def circles(n: int = 500, rng: np.random.Generator | None = None, noise: float = 0.05) -> Dataset:
    """Two concentric circles, shuffled: class 0 of radius 1, class 1 of radius 0.5.

    ``ceil(n/2)`` and ``floor(n/2)`` samples evenly spaced in angle; ``noise`` is the standard
    deviation of the Gaussian noise on both inputs. Both classes are centred on the origin, so no
    line separates them.
    """
    _check_generated("circles", n, noise)
    rng = as_generator(rng)
    n0 = (n + 1) // 2

    def ring(m: int, radius: float) -> np.ndarray:
        angle = np.linspace(0, 2 * np.pi, m, endpoint=False)
        return radius * np.column_stack([np.cos(angle), np.sin(angle)])

    X = np.vstack([ring(n0, 1.0), ring(n - n0, 0.5)])
    X = X + rng.normal(scale=noise, size=X.shape)
    return _binary("circles", X, np.repeat([0.0, 1.0], [n0, n - n0]), rng)


# 1.25 turns with noise 0.05 is learnt to >= 0.99 by a 2-16-16-1 tanh or relu net in a few
# thousand full-batch steps; 1.5 turns or noise 0.1 left plain momentum descent well short.
SPIRAL_TURNS = 1.25


def spirals(n: int = 600, rng: np.random.Generator | None = None, noise: float = 0.05) -> Dataset:
    """Two interleaved spirals of 1.25 turns each, shuffled; inputs in about [-1, 1].

    Class 0 runs from radius 0.1 to 1 starting at angle 0, class 1 is the same arm turned by pi;
    ``ceil(n/2)`` and ``floor(n/2)`` samples. ``noise`` is the standard deviation of the Gaussian
    noise on both inputs (the arms are 0.36 apart radially, so keep it below about 0.08).
    """
    _check_generated("spirals", n, noise)
    rng = as_generator(rng)
    n0 = (n + 1) // 2

    def arm(m: int, phase: float) -> np.ndarray:
        t = np.linspace(0, 1, m)
        radius, angle = 0.1 + 0.9 * t, 2 * np.pi * SPIRAL_TURNS * t + phase
        return radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])

    X = np.vstack([arm(n0, 0.0), arm(n - n0, np.pi)])
    X = X + rng.normal(scale=noise, size=X.shape)
    return _binary("spirals", X, np.repeat([0.0, 1.0], [n0, n - n0]), rng)


GENERATED: dict[str, Callable[..., Dataset]] = {
    "xor": xor,
    "moons": moons,
    "circles": circles,
    "spirals": spirals,
}
DEFAULT_SIZES: dict[str, int] = {"xor": 4, "moons": 500, "circles": 500, "spirals": 600}
DEFAULT_NOISE: dict[str, float] = {"xor": 0.0, "moons": 0.1, "circles": 0.05, "spirals": 0.05}


def digits() -> Dataset:
    """The 8x8 handwritten digits of scikit-learn: 1797 samples, 64 pixels in [0, 1], 10 classes.

    Pixels are divided by 16 (their maximum); targets are one-hot over the digits 0-9. Needs the
    optional scikit-learn (``pip install 'bpverify[digits]'``), which ships the data, so nothing
    is downloaded.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError(
            "the digits data set needs scikit-learn: pip install 'bpverify[digits]'"
        ) from None
    bunch = load_digits()
    labels = np.asarray(bunch.target, dtype=np.int64)
    return Dataset(
        np.asarray(bunch.data, dtype=np.float64) / 16.0,
        np.eye(10)[labels],
        "digits",
        10,
        tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8)),
        tuple(str(d) for d in range(10)),
    )
