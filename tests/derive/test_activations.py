import mpmath
import numpy as np
import pytest
import sympy as sp

from bpverify.derive import ACTIVATIONS
from bpverify.derive.activations import (
    INITIALISATIONS,
    OUTPUT_ACTIVATIONS,
    Activation,
    activation_row,
)

x = sp.Symbol("x", real=True)
POINTS = [sp.Rational(-7, 3), sp.Rational(-1, 5), sp.Rational(1, 7), sp.Rational(5, 2)]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_derivative_is_sympy_diff_of_the_definition(name):
    act = ACTIVATIONS[name]
    # What the derivation writes as f'(u), once specialised, is SymPy's diff of the definition.
    assert act.specialise(act.prime(x)) == sp.diff(act.expression(x), x)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_derivative_matches_a_numerical_derivative(name):
    # Independent of SymPy's diff: mpmath differentiates the definition numerically at 30
    # digits; 1e-20 leaves room for its step error (points avoid the kink of relu at 0).
    act = ACTIVATIONS[name]
    f = sp.lambdify(x, act.expression(x), "mpmath")
    with mpmath.workdps(30):
        for p in POINTS:
            want = mpmath.diff(f, mpmath.mpf(p.p) / p.q)
            got = sp.N(act.derivative(p), 30)
            assert abs(got - want) < 1e-20


def test_chain_rule_goes_through_the_prime_function():
    act = ACTIVATIONS["sigmoid"]
    w = sp.Symbol("w")
    assert sp.diff(act.function(w * x), w) == x * act.prime(w * x)


@pytest.mark.parametrize(("name", "below"), [("relu", 0), ("leaky_relu", sp.Rational(1, 100))])
def test_value_at_the_kink_is_the_left_slope(name, below):
    # Documented convention: at z = 0 exactly, relu' = 0 and leaky_relu' = slope.
    act = ACTIVATIONS[name]
    assert act.derivative(sp.Integer(0)) == below
    assert act.derivative(sp.Integer(1)) == 1


def test_leaky_slope_is_configurable():
    act = ACTIVATIONS["leaky_relu"]
    assert act.derivative(sp.Integer(-2), slope=sp.Rational(1, 5)) == sp.Rational(1, 5)
    assert act.expression(sp.Integer(-2), slope=sp.Rational(1, 5)) == sp.Rational(-2, 5)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_kinked_rows_are_the_piecewise_ones_and_not_analytic(name):
    act = ACTIVATIONS[name]
    assert act.kinked == bool(act.kinks()) == act.expression(x).has(sp.Piecewise)
    assert not (act.kinked and act.analytic)


def test_kinks_are_where_the_branches_meet():
    assert ACTIVATIONS["relu"].kinks() == (x,)
    assert ACTIVATIONS["tanh"].kinks() == ()


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_values_lie_in_the_stated_interval(name):
    # points closely around 0, where the minima of gelu and silu lie, and into both tails as
    # far as 60 digits tell an open end (tanh(50) = 1 - 4e-44) from the bound itself
    act = ACTIVATIONS[name]
    f = sp.lambdify(x, act.expression(x), "mpmath")
    with mpmath.workdps(60):
        for p in [*mpmath.linspace(-3, 3, 181), -50, -10, 10, 50]:
            assert act.values.contains(sp.Float(f(mpmath.mpf(p)), 60)) is sp.true, p


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_rational_rows_are_rational_at_rational_points(name):
    act = ACTIVATIONS[name]
    values = [e for p in POINTS for e in (act.expression(p), act.derivative(p))]
    assert act.rational == all(v.is_Rational for v in values)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_row_names_a_known_initialisation(name):
    assert ACTIVATIONS[name].init in INITIALISATIONS


def test_a_row_needs_a_known_initialisation():
    with pytest.raises(ValueError, match="init 'lecun'"):
        Activation("t", "t", "t", lambda x, a: x, analytic=True, init="lecun", values=sp.Reals)


def _run(body: str, z: np.ndarray) -> np.ndarray:
    """A spelling as the generated code defines it (decorators first), called on z."""
    lines = body.splitlines()
    decorators = [line for line in lines if line.startswith("@")]
    code = [f"    {line}" for line in lines if not line.startswith("@")]
    namespace = {"numpy": np}
    exec("\n".join([*decorators, "def f(z, out=None):", *code]), namespace)
    return namespace["f"](z)


def test_a_row_without_spellings_gets_sympys_printing():
    # e^z - 1 overflows at z = 800, in the branch that z > 0 does not select: no warning (the
    # tests turn warnings into errors), and the selected branch's value.
    row = Activation(
        "t",
        "t",
        "t",
        lambda x, a: sp.Piecewise((x, x > 0), (sp.exp(x) - 1, True)),
        analytic=False,
        init="he",
        values=sp.Interval.open(-1, sp.oo),
        kinked=True,
    )
    assert row.numpy.startswith("@numpy.errstate(over=") and "\nreturn " in row.numpy
    z = np.array([800.0, 0.5, -1.0])
    assert _run(row.numpy, z).tolist() == [800.0, 0.5, np.expm1(-1.0)]
    assert _run(row.numpy_prime, z).tolist() == [1.0, 1.0, np.exp(-1.0)]


def test_a_printed_constant_is_an_array_like_z():
    row = Activation("t", "t", "t", lambda x, a: 3 * x, analytic=True, init="he", values=sp.Reals)
    assert _run(row.numpy_prime, np.zeros((2, 3), np.float32)).tolist() == [[3.0] * 3] * 2


def test_the_leaky_slope_prints_as_the_placeholder():
    row = Activation("t", "t", "t", lambda x, a: a * x, analytic=True, init="he", values=sp.Reals)
    assert "{alpha}" in row.numpy


def test_softmax_row_writes_out_each_column():
    z = sp.symbols("z0:3", real=True)
    softmax = OUTPUT_ACTIVATIONS["softmax"]
    total = sum(sp.exp(v) for v in z)
    assert softmax.column(list(z)) == [sp.exp(v) / total for v in z]
    assert activation_row("softmax") is softmax and activation_row("tanh") is ACTIVATIONS["tanh"]
    with pytest.raises(KeyError, match="unknown activation 'swish'"):
        activation_row("swish")


def test_elu_spells_itself_through_sympy_and_gelu_is_the_tanh_form():
    assert ACTIVATIONS["elu"].numpy.startswith("@numpy.errstate(over=")
    assert "numpy.expm1(z)" in ACTIVATIONS["elu"].numpy  # e^z - 1 without cancellation at 0
    u = sp.sqrt(2 / sp.pi) * (x + sp.Rational(44715, 1000000) * x**3)
    assert ACTIVATIONS["gelu"].expression(x) == x / 2 * (1 + sp.tanh(u))
    assert ACTIVATIONS["silu"].expression(x) == x / (1 + sp.exp(-x))
