"""The generated code against finite differences, for stability, dtypes and as a module."""

import ast
import importlib.util
import inspect
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from bpverify.derive import ACTIVATIONS, NetworkSpec
from bpverify.numeric import Program, generate_source

ROOT = Path(__file__).resolve().parents[3]


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
    NetworkSpec(3, (2, 3, 3, 2), "identity"),
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
    assert g["dC_da0"].shape == (5, 3) and g["dC_da1"].shape == (5, 4)
    # dC/dX by finite differences on one input entry
    h = 1e-6
    Xp, Xm = X.copy(), X.copy()
    Xp[2, 1] += h
    Xm[2, 1] -= h
    fd = (program.loss(params, Xp, Y) - program.loss(params, Xm, Y)) / (2 * h)
    assert g["dC_da0"][2, 1] == pytest.approx(fd, rel=1e-6)


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


def _function(source: str, name: str) -> list[str]:
    """The stripped lines of one generated function."""
    tree = ast.parse(source)
    (node,) = (f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == name)
    lines = source.splitlines()[node.lineno - 1 : node.end_lineno]
    return [line.strip() for line in lines]


def test_code_is_vectorised_and_in_the_seeds_names():
    source = generate_source(NetworkSpec(3))
    loops = (ast.For, ast.While, ast.ListComp, ast.GeneratorExp, ast.DictComp)
    assert not any(isinstance(node, loops) for node in ast.walk(ast.parse(source)))
    for name in (
        "z1 = W1.dot(a0)\n    z1 += b1\n",
        "z3 = a2.T.dot(W3.T).T\n",  # z^(L) laid out like Y: one sample per row
        "a3, sigma_prime_z3 = sigma_and_prime(z3, out=z3)",
        "dC_da3 = numpy.multiply(numpy.subtract(a3, y, out=a3), 2 / n, out=a3)",
        "delta3 = ",
        "dC_dW3 = delta3.dot(a2.T)",
        "dC_db3 = delta3.dot(ones)",
        "dC_da2 = W3.T.dot(delta3)",
        "delta1 = ",
    ):
        assert name in source
    assert "\\delta^{(1)}" in source  # the rules it implements, in the header


def test_the_forward_pass_is_written_once():
    source = generate_source(NetworkSpec(3, None, "tanh"))
    assert source.count("W1.dot(a0)") == 1
    callers = ("forward", "loss", "_gradients", "_gradients_and_inputs")
    for name in callers:
        assert any("_forward(" in line for line in _function(source, name)), name


@pytest.mark.parametrize(
    ("spec", "helpers"),
    [
        (NetworkSpec(3, None, "tanh"), {"tanh", "tanh_prime"}),
        (NetworkSpec(2), {"sigma_and_prime"}),  # f and f' always together
        # the output's sigma' cancels against the loss: sigma alone there
        (
            NetworkSpec(2, None, "sigmoid", "cross-entropy"),
            {"sigma", "sigma_and_prime", "log_safe"},
        ),
        (
            NetworkSpec(2, None, "tanh", "softmax-cross-entropy"),
            {"tanh", "tanh_prime", "softmax", "logsumexp"},
        ),
    ],
    ids=lambda x: x.describe() if isinstance(x, NetworkSpec) else "",
)
def test_only_the_helpers_the_functions_call_are_defined(spec, helpers):
    tree = ast.parse(generate_source(spec))
    defined = {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}
    assert {name for name in defined if not name.startswith("_")} - set(_PUBLIC) == helpers
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert helpers <= called


_PUBLIC = ("forward", "loss", "gradients")


def test_memory_is_freed_in_groups_and_lent_to_the_results():
    L = 3
    source = generate_source(NetworkSpec(L, None, "tanh"))
    lines = _function(source, "_gradients")
    # delta^(l) takes the memory of dC/da^(l), which took that of the product W^(l+1)T delta^(l+1)
    assert "delta2 = numpy.multiply(tanh_prime(z2, out=z2), dC_da2, out=dC_da2)" in lines
    # what is no longer read is freed together, just before the next new matrix (dC/da^(l-1)
    # or dC/dW^(l)), which reuses the memory: two frees per layer below the output, one above
    frees = [i for i, line in enumerate(lines) if line.startswith("del ")]
    assert len(frees) == 2 * L - 1
    assert all(lines[i + 1].startswith(("dC_da", "dC_dW")) for i in frees)
    assert lines[frees[0]] == "del z3" and lines[frees[0] + 1] == "dC_da2 = W3.T.dot(delta3)"
    # delta^(l-1) before dC/dW^(l): f'(z^(l-1)) makes room for it
    assert lines.index("del z2") + 1 == lines.index("dC_dW3 = delta3.dot(a2.T)")
    # the results are returned, never deleted; the inputs are never written to
    freed = {name for i in frees for name in lines[i].removeprefix("del ").split(", ")}
    assert not any(name.startswith(("dC_dW", "dC_db")) for name in freed)
    for arg in ("W1", "b1", "W2", "b2", "a0", "y"):
        assert not any(f"out={arg})" in line for line in lines) and arg not in freed
    inputs = _function(source, "_gradients_and_inputs")
    assert not any("out=dC_da1" in line or "out=dC_da2" in line for line in inputs)
    assert "delta2 = numpy.multiply(tanh_prime(z2, out=z2), dC_da2, out=z2)" in inputs
    assert source.count("\n    del ") <= 3 * L - 1  # the two functions together


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.describe())
def test_inputs_are_left_untouched(spec):
    rng = np.random.default_rng(5)
    program = Program(spec)
    params = _params(spec.widths, rng)
    X, Y = rng.normal(size=(6, spec.widths[0])), _targets(spec, 6, rng)
    before = ({k: v.copy() for k, v in params.items()}, X.copy(), Y.copy())
    program.gradients(params, X, Y, activations=True)
    program.gradients(params, X, Y)
    program.loss(params, X, Y)
    program.forward(params, X)
    assert all(np.array_equal(params[k], before[0][k]) for k in params)
    assert np.array_equal(X, before[1]) and np.array_equal(Y, before[2])


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.describe())
def test_input_gradients_leave_the_parameter_gradients_as_they_are(spec):
    # the two entry points plan their memory differently (dC/da^(l) is a result in one of them)
    rng = np.random.default_rng(7)
    program = Program(spec)
    params = _params(spec.widths, rng)
    X, Y = rng.normal(size=(5, spec.widths[0])), _targets(spec, 5, rng)
    plain = program.gradients(params, X, Y)
    with_inputs = program.gradients(params, X, Y, activations=True)
    for k in plain:
        np.testing.assert_allclose(with_inputs[k], plain[k], rtol=1e-12, atol=1e-14)


def test_gradients_keep_few_large_arrays_alive():
    # Width 64 and 1024 samples: each z, a, delta or dC/da is one "unit" of 512 KiB, the
    # weights are small. The forward pass keeps 2L units for the backward pass (a and f'(z) of
    # each layer); in-place products, deletions and the order of the statements fit the rest
    # in the memory they free (the plain code of the rules kept 4L + 1 units).
    L, w, n = 3, 64, 1024
    program = Program(NetworkSpec(L, (w,) * (L + 1)))
    rng = np.random.default_rng(6)
    params = _params((w,) * (L + 1), rng, scale=0.1)
    X, Y = rng.normal(size=(n, w)), rng.uniform(size=(n, w))
    program.gradients(params, X, Y)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        program.gradients(params, X, Y)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak <= (2 * L + 0.25) * w * n * 8


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


@pytest.mark.parametrize(
    "spec",
    [
        NetworkSpec(3, None, "tanh"),
        NetworkSpec(3),
        NetworkSpec(3, None, "sigmoid", "cross-entropy"),
        NetworkSpec(3, None, "tanh", "softmax-cross-entropy"),
        NetworkSpec(3, (2, 3, 3, 1), "tanh,relu,sigmoid", "cross-entropy"),
        NetworkSpec(30, None, "tanh"),
        NetworkSpec(3, None, "tanh", "softmax-cross-entropy", cost="sum", l2=sp.Rational(1, 10)),
        NetworkSpec(3, (2, 3, 3, 1), "tanh,relu,sigmoid", "cross-entropy", cost="sum"),
        NetworkSpec(30, None, "tanh", l2=sp.Rational(1, 3)),
    ],
    ids=lambda s: s.describe(),
)
def test_generated_module_passes_ruff_with_the_project_settings(tmp_path, spec):
    # the project's own line length and rules (pyproject.toml), and its formatter's layout
    pytest.importorskip("ruff")
    from ruff.__main__ import find_ruff_bin

    config = str(ROOT / "pyproject.toml")
    path = tmp_path / "grads.py"
    path.write_text(generate_source(spec))
    for command in (["check", "--no-cache"], ["format", "--check", "--diff", "--no-cache"]):
        p = subprocess.run(
            [find_ruff_bin(), *command, "--config", config, str(path)],
            capture_output=True,
            text=True,
        )
        assert p.returncode == 0, p.stdout + p.stderr


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


def test_sigmoid_and_its_derivative_together_match_the_definition():
    # the pair shares one exponential; as test_spellings does for the separate helpers, both
    # halves against SymPy at 400 digits, across both tails and past overflow (z = +-1000)
    pair = Program(NetworkSpec(1, (1, 1))).function("sigma_and_prime")
    z = np.array([-1000, -745, -709, -700, -40, -5, -0.5, -1e-8, 0, 0.25, 3, 30, 700, 1000.0])
    a, d = pair(z.copy())
    x = sp.Symbol("x", real=True)
    act = ACTIVATIONS["sigmoid"]
    for exact, got in ((act.expression(x), a), (act.derivative(x), d)):
        for zi, value in zip(z, got, strict=True):
            want = float(sp.N(exact.subs(x, sp.Float(zi, 400)), 400))
            assert value == pytest.approx(want, rel=4e-15, abs=2.3e-308), (zi, value, want)
    out = np.empty_like(z)
    _, d_out = pair(z, out=out)
    assert d_out is out
    np.testing.assert_array_equal(d_out, d)


def test_sigmoid_and_its_derivative_together_in_float32(helper):
    program = Program(NetworkSpec(1, (1, 1)), dtype=np.float32)
    pair = program.function("sigma_and_prime")
    z = np.array([-1000, -89, -88, -40, -5, -0.5, 0, 3, 30, 88, 89, 1000], np.float32)
    a, d = pair(z)
    assert a.dtype == d.dtype == np.float32
    eps, tiny = np.finfo(np.float32).eps, np.finfo(np.float32).tiny
    np.testing.assert_allclose(a, helper("sigmoid", "sigma")(z), rtol=8 * eps, atol=0)
    np.testing.assert_allclose(d, helper("sigmoid", "sigma_prime")(z), rtol=16 * eps, atol=tiny)


def test_the_cost_and_its_docstrings_follow_the_conventions():
    source = generate_source(NetworkSpec(2, (2, 3, 1), cost="sum", l2=sp.Rational(1, 10)))
    assert "def _cost(a2, y, n, W1, W2):" in source
    assert "    C += (1 / 20) * numpy.sum(W1**2)\n" in source
    assert "dC_dW2 = delta2.dot(a1.T) + (1 / 10) * W2" in source
    assert (
        "C: the sum over the rows of X and Y of the per-sample loss, plus the L2 penalty." in source
    )
    assert "float(_cost(a[-1], Y.T, X.shape[0], *_parameters(params)[::2]))" in source
    plain = generate_source(NetworkSpec(2, (2, 3, 1)))
    assert "def _cost(a2, y, n):" in plain and "C += " not in plain
