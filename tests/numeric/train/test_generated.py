"""numeric.train.generated: the toy sets (xor, moons, circles, spirals) and digits."""

import inspect
import sys

import numpy as np
import pytest

from bpverify.derive.limits import LimitError
from bpverify.numeric.train.dataset import Dataset
from bpverify.numeric.train.generated import (
    DEFAULT_NOISE,
    DEFAULT_SIZES,
    GENERATED,
    circles,
    digits,
    moons,
    spirals,
    xor,
)
from bpverify.numeric.train.metrics import accuracy


def rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_shapes_and_binary_encoding(name):
    ds = GENERATED[name](DEFAULT_SIZES[name], rng())
    n = DEFAULT_SIZES[name]
    assert isinstance(ds, Dataset)
    assert ds.X.shape == (n, 2) and ds.Y.shape == (n, 1)
    assert ds.X.dtype == ds.Y.dtype == np.float64
    assert (ds.n_in, ds.n_out, ds.classes, len(ds)) == (2, 1, 2, n)
    assert set(np.unique(ds.Y)) == {0.0, 1.0}
    assert ds.name == name and ds.feature_names == ("x1", "x2") and ds.target_names == ("y",)


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_default_noise_table_matches_the_signatures(name):
    assert inspect.signature(GENERATED[name]).parameters["noise"].default == DEFAULT_NOISE[name]
    assert inspect.signature(GENERATED[name]).parameters["n"].default == DEFAULT_SIZES[name]


@pytest.mark.parametrize("name", ["moons", "circles", "spirals"])
def test_generated_sets_are_deterministic_per_seed(name):
    a, b, c = (GENERATED[name](100, rng(seed)) for seed in (3, 3, 4))
    assert np.array_equal(a.X, b.X) and np.array_equal(a.Y, b.Y)
    assert not np.array_equal(a.X, c.X)


def test_xor_corners_labels_and_cyclic_repeat():
    ds = xor()
    assert ds.X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert ds.Y[:, 0].tolist() == [0, 1, 1, 0]
    ds = xor(10, rng())
    assert ds.X.shape == (10, 2)
    assert ds.Y[:, 0].tolist() == [0, 1, 1, 0] * 2 + [0, 1]
    noisy, again = xor(8, rng(1), noise=0.1), xor(8, rng(1), noise=0.1)
    assert np.array_equal(noisy.X, again.X)
    assert 0 < np.abs(noisy.X - xor(8).X).max() < 1
    assert noisy.Y[:, 0].tolist() == [0, 1, 1, 0] * 2


@pytest.mark.parametrize("name", ["moons", "circles", "spirals"])
@pytest.mark.parametrize("n", [100, 101])
def test_two_class_sets_are_balanced_and_shuffled(name, n):
    y = GENERATED[name](n, rng()).Y[:, 0]
    assert y.sum() == n // 2
    # Shuffled: the first half is not all one class.
    assert 0 < y[: n // 2].sum() < n // 2


def test_circles_classes_share_a_centre_and_differ_in_radius():
    ds = circles(400, rng(), noise=0.0)
    y = ds.Y[:, 0]
    outer, inner = ds.X[y == 0], ds.X[y == 1]
    # Equal class means: no line separates the classes.
    assert np.allclose(outer.mean(axis=0), 0, atol=1e-12)
    assert np.allclose(inner.mean(axis=0), 0, atol=1e-12)
    assert np.allclose(np.linalg.norm(outer, axis=1), 1)
    assert np.allclose(np.linalg.norm(inner, axis=1), 0.5)


def test_moons_are_the_two_half_circles():
    ds = moons(200, rng(), noise=0.0)
    y = ds.Y[:, 0]
    upper, lower = ds.X[y == 0], ds.X[y == 1]
    assert np.allclose(np.linalg.norm(upper, axis=1), 1)
    assert np.allclose(np.linalg.norm(lower - [1, 0.5], axis=1), 1)
    assert upper[:, 1].min() >= -1e-12 and lower[:, 1].max() <= 0.5 + 1e-12


def test_spirals_are_scaled_and_not_linearly_separable():
    ds = spirals(600, rng())
    assert np.abs(ds.X).max() < 1.3
    # Least-squares linear classifier with bias: far from the >= 0.97 a small net reaches.
    A = np.column_stack([ds.X, np.ones(len(ds))])
    w, *_ = np.linalg.lstsq(A, ds.Y[:, 0] - 0.5, rcond=None)
    assert accuracy(ds.Y, A @ w + 0.5) < 0.75
    # The arms are the same curve turned by pi: radii of the two classes match.
    clean = spirals(600, rng(), noise=0.0)
    r = np.linalg.norm(clean.X, axis=1)
    y = clean.Y[:, 0]
    assert np.allclose(np.sort(r[y == 0]), np.sort(r[y == 1]))


@pytest.mark.parametrize("bad", [{"n": 0}, {"n": 2.5}, {"noise": -0.1}, {"noise": float("nan")}])
def test_generated_reject_bad_options(bad, data_error):
    options = {"n": 10, "noise": 0.1} | bad
    data_error(["moons"], moons, options["n"], rng(), options["noise"])


def test_digits():
    pytest.importorskip("sklearn")
    ds = digits()
    assert ds.X.shape == (1797, 64) and ds.Y.shape == (1797, 10) and ds.classes == 10
    assert ds.X.min() == 0 and ds.X.max() == 1
    assert np.array_equal(ds.Y.sum(axis=1), np.ones(1797))
    assert ds.target_names == tuple("0123456789")


def test_digits_without_sklearn_names_the_extra(monkeypatch, data_error):
    # A None entry in sys.modules makes the import fail as if scikit-learn were not installed.
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    data_error(["scikit-learn", "pip install 'bpverify[digits]'"], digits)


@pytest.mark.parametrize("name", ["xor", "moons", "circles", "spirals"])
def test_a_set_too_large_for_the_memory_limit_is_refused_before_it_is_made(name, monkeypatch):
    monkeypatch.setenv("BPVERIFY_MAX_MEMORY", "1")  # MiB
    with pytest.raises(LimitError, match=rf"{name} with 100000 samples needs about 9 MiB"):
        GENERATED[name](100_000, rng())
    assert len(GENERATED[name](1000, rng())) == 1000
