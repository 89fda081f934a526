"""The generated code against finite differences, for stability, dtypes and as a module."""

import importlib.util
import inspect
import subprocess
import sys

import numpy as np
import pytest

from bpverify.derive import ACTIVATIONS, NetworkSpec
from bpverify.numeric import Program, generate_source


def _params(widths, rng, scale=1.0):
    p = {}
    for l in range(1, len(widths)):
        p[f"W{l}"] = rng.normal(scale=scale, size=(widths[l], widths[l - 1]))
        p[f"b{l}"] = rng.normal(scale=scale, size=widths[l])
    return p


def _targets(spec, n, rng):
    k = spec.widths[-1]
    if spec.loss == "softmax-cross-entropy":
        return np.eye(k)[rng.integers(0, k, size=n)]
    if spec.loss == "cross-entropy":
        return rng.integers(0, 2, size=(n, k)).astype(float)
    return rng.normal(size=(n, k))


def _central_difference(program, params, X, Y, h=1e-6):
    out = {}
    for k, v in params.items():
        g = np.zeros_like(v)
        for idx in np.ndindex(v.shape):
            plus = {kk: vv.copy() for kk, vv in params.items()}
            minus = {kk: vv.copy() for kk, vv in params.items()}
            plus[k][idx] += h
            minus[k][idx] -= h
            g[idx] = (program.loss(plus, X, Y) - program.loss(minus, X, Y)) / (2 * h)
        out[k] = g
    return out


SPECS = [
    *(NetworkSpec(2, (3, 4, 2), name) for name in ACTIVATIONS),
    NetworkSpec(3, (2, 3, 3, 1), "tanh,relu,sigmoid", "cross-entropy"),
    NetworkSpec(2, (3, 4, 3), "softplus", "softmax-cross-entropy"),
    NetworkSpec(1, (4, 3), "sigmoid", "softmax-cross-entropy"),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.describe())
def test_gradients_match_central_differences(spec):
    rng = np.random.default_rng(1)
    program = Program(spec)
    params = _params(spec.widths, rng, scale=0.5)
    X, Y = rng.normal(size=(7, spec.widths[0])), _targets(spec, 7, rng)
    got = program.gradients(params, X, Y)
    want = _central_difference(program, params, X, Y)
    assert set(got) == set(params)
    for k in params:
        assert got[k].shape == params[k].shape
        # Central differences with h = 1e-6 carry ~1e-10 truncation and rounding error;
        # relu's kink is never within h of a pre-activation at these random points.
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-8)


def test_activation_gradients_are_per_sample_rows():
    spec = NetworkSpec(2, (3, 4, 2), "tanh")
    rng = np.random.default_rng(2)
    program, params = Program(spec), _params(spec.widths, rng)
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    g = program.gradients(params, X, Y, activations=True)
    assert g["a0"].shape == (5, 3) and g["a1"].shape == (5, 4)
    # dC/dX by finite differences on one input entry
    h = 1e-6
    Xp, Xm = X.copy(), X.copy()
    Xp[2, 1] += h
    Xm[2, 1] -= h
    fd = (program.loss(params, Xp, Y) - program.loss(params, Xm, Y)) / (2 * h)
    assert g["a0"][2, 1] == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize(
    ("activation", "loss"),
    [
        ("sigmoid", "squared"),
        ("sigmoid", "cross-entropy"),
        ("softplus", "squared"),
        ("tanh", "softmax-cross-entropy"),
        ("leaky_relu", "softmax-cross-entropy"),
    ],
)
def test_no_overflow_or_warning_at_z_of_a_thousand(activation, loss):
    # filterwarnings = error: any overflow, divide-by-zero or invalid warning fails here.
    spec = NetworkSpec(1, (1, 2), activation, loss)
    program = Program(spec)
    params = {"W1": np.array([[1000.0], [-1000.0]]), "b1": np.zeros(2)}
    X = np.array([[1.0], [-1.0]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0]]) if loss != "squared" else np.zeros((2, 2))
    assert np.isfinite(program.loss(params, X, Y))
    g = program.gradients(params, X, Y)
    assert all(np.all(np.isfinite(v)) for v in g.values())
    out = program.forward(params, X)
    assert np.all(np.isfinite(out))


def test_cross_entropy_after_sigmoid_keeps_the_gradient_of_saturated_outputs():
    # a = sigma(1000) = 1 in floating point, y = 0: dC/dz = (a - y)/n = 1, not 0/0.
    spec = NetworkSpec(1, (1, 1), "sigmoid", "cross-entropy")
    params = {"W1": np.array([[1000.0]]), "b1": np.zeros(1)}
    g = Program(spec).gradients(params, np.array([[1.0]]), np.array([[0.0]]))
    assert g["b1"][0] == pytest.approx(1.0)


def test_float32_stays_float32():
    spec = NetworkSpec(2, (3, 4, 2), "sigmoid")
    rng = np.random.default_rng(3)
    program = Program(spec, dtype=np.float32)
    params = _params(spec.widths, rng)
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    g = program.gradients(params, X, Y)
    assert all(v.dtype == np.float32 for v in g.values())
    assert program.forward(params, X).dtype == np.float32
    g64 = Program(spec).gradients(params, X, Y)
    for k in g:  # float32 rounding: a few units in the 7th digit
        np.testing.assert_allclose(g[k], g64[k], rtol=1e-4, atol=1e-6)


def test_code_is_vectorised_and_in_the_seeds_names():
    source = generate_source(NetworkSpec(3))
    body = source[source.index("def _gradients") :]
    assert "for " not in body.split("def forward")[0]
    for name in ("z1 = W1 @ a0 + b1", "a3 = sigma(z3)", "delta3 = ", "delta1 = "):
        assert name in source
    assert "\\delta^{(1)}" in source  # the rules it implements, in the header


def test_generated_module_imports_with_only_numpy_and_matches_bit_for_bit(tmp_path):
    spec = NetworkSpec(2, (3, 4, 2), "relu,sigmoid", "cross-entropy")
    path = tmp_path / "grads.py"
    path.write_text(generate_source(spec))
    code = (
        "import sys; sys.modules['sympy'] = None; sys.modules['bpverify'] = None\n"
        "import grads, numpy\n"
        "print(sorted(grads.gradients.__code__.co_varnames)[:3])\n"
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr

    loaded = importlib.util.spec_from_file_location("grads_under_test", path)
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    rng = np.random.default_rng(4)
    params = _params(spec.widths, rng)
    X, Y = rng.normal(size=(9, 3)), rng.integers(0, 2, size=(9, 2)).astype(float)
    program = Program(spec)
    a, b = module.gradients(params, X, Y), program.gradients(params, X, Y)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert module.loss(params, X, Y) == program.loss(params, X, Y)
    assert np.array_equal(module.forward(params, X), program.forward(params, X))


def test_generated_module_passes_ruff(tmp_path):
    ruff = pytest.importorskip("ruff")
    from ruff.__main__ import find_ruff_bin

    path = tmp_path / "grads.py"
    path.write_text(generate_source(NetworkSpec(3, None, "tanh", "softmax-cross-entropy")))
    p = subprocess.run(
        [find_ruff_bin(), "check", "--isolated", str(path)], capture_output=True, text=True
    )
    assert p.returncode == 0, p.stdout
    assert ruff


def test_functions_are_inspectable():
    program = Program(NetworkSpec(1, (2, 1)))
    assert "def _gradients" in inspect.getsource(program.function("_gradients"))


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus"])
def test_no_warning_in_float32_tails(name):
    # float32 overflows e^z from z = 89 on: the spellings must not warn there either.
    spec = NetworkSpec(1, (1, 2), name)
    program = Program(spec, dtype=np.float32)
    params = {"W1": np.array([[1000.0], [-1000.0]]), "b1": np.zeros(2)}
    X, Y = np.array([[1.0], [-1.0]]), np.zeros((2, 2))
    g = program.gradients(params, X, Y)
    assert all(np.all(np.isfinite(v)) and v.dtype == np.float32 for v in g.values())
