import mpmath
import pytest
import sympy as sp

from bpverify.derive import ACTIVATIONS

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
