"""The layer-local rules against SymPy's elementwise derivatives of the same local forms."""

import pytest
import sympy as sp
from sympy.matrices.expressions import OneMatrix

from bpverify.derive import ACTIVATIONS, rules
from bpverify.derive.explicit import explicit


def _local(r=2, c=3, m=2):
    W, A = sp.MatrixSymbol("W", r, c), sp.MatrixSymbol("A", c, m)
    b, G = sp.MatrixSymbol("b", r, 1), sp.MatrixSymbol("G", r, m)
    return W, A, b, G


@pytest.mark.parametrize("quantity", ["W", "b", "a"])
def test_affine_rule_matches_elementwise_diff(quantity):
    W, A, b, G = _local()
    z = (W * A + b * OneMatrix(1, 2)).as_explicit()
    scalar = sum(G[i, s] * z[i, s] for i in range(2) for s in range(2))
    var = {"W": W, "b": b, "a": A}[quantity]
    rule = explicit(rules.affine(quantity, G, A, W, b))
    for i in range(var.shape[0]):
        for c in range(var.shape[1]):
            assert sp.expand(rule[i, c] - sp.diff(scalar, var[i, c])) == 0


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_rule_matches_elementwise_diff(name):
    act = ACTIVATIONS[name]
    Z, H = sp.MatrixSymbol("Z", 2, 2), sp.MatrixSymbol("H", 2, 2)
    scalar = sum(H[i, s] * act.function(Z[i, s]) for i in range(2) for s in range(2))
    rule = explicit(rules.activation(act, H, Z))
    for i in range(2):
        for s in range(2):
            assert sp.expand(rule[i, s] - sp.diff(scalar, Z[i, s])) == 0


def test_rules_are_derived_on_symbolic_sizes_once():
    assert rules.affine_rules() is rules.affine_rules()
    assert all(not r.shape[0].is_Integer for r in rules.affine_rules().values())


def test_lift_reads_a_scalar_rule_elementwise():
    A, Y = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("Y", 2, 2)
    expr = (rules.out_k - rules.y_k) / (rules.out_k * (1 - rules.out_k))
    lifted = explicit(rules.lift(expr, {rules.out_k: A, rules.y_k: Y}))
    for i in range(2):
        for s in range(2):
            want = expr.subs({rules.out_k: A[i, s], rules.y_k: Y[i, s]})
            assert sp.simplify(lifted[i, s] - want) == 0


def test_lift_reads_a_piecewise_of_one_quantity_elementwise():
    A, Y = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("Y", 2, 2)
    r = rules.out_k - rules.y_k
    expr = sp.Piecewise((r - sp.Rational(1, 2), r > 1), (r**2 / 2, True))
    lifted = rules.lift(expr, {rules.out_k: A, rules.y_k: Y})
    assert explicit(lifted.expr) == (A - Y).as_explicit()  # out - y, not out - y - 1/2
    entries = explicit(lifted)
    for i in range(2):
        for s in range(2):
            assert entries[i, s] == expr.subs({rules.out_k: A[i, s], rules.y_k: Y[i, s]})


def test_lift_refuses_a_piecewise_of_two_quantities():
    expr = sp.Piecewise((rules.out_k, rules.y_k > 0), (0, True))
    A, Y = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("Y", 2, 2)
    with pytest.raises(NotImplementedError, match="one quantity"):
        rules.lift(expr, {rules.out_k: A, rules.y_k: Y})


def test_the_penalty_rule_is_w_derived_from_half_the_squared_norm():
    W = sp.MatrixSymbol("W2", 3, 2)
    assert rules.penalty(sp.Rational(1, 5), W) == sp.Rational(1, 5) * W
    # against the elementwise derivative of (1/2) sum W_ij^2
    half = sum(W[i, c] ** 2 for i in range(3) for c in range(2)) / 2
    assert all(sp.diff(half, W[i, c]) == W[i, c] for i in range(3) for c in range(2))
