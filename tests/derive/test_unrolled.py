import pytest
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from bpverify.derive import ACTIVATIONS, NetworkSpec, SpecError
from bpverify.derive.notation import network_symbols
from bpverify.derive.unrolled import (
    UNROLLED_DERIVATIVES_LIMIT,
    UNROLLED_LIMIT_SYMPY,
    UNROLLED_PRINT_LIMIT,
    check_size,
    differentiate,
    forward,
    unrolled_derivatives,
    unrolled_gradients,
)

sigma = ACTIVATIONS["sigmoid"]


def test_width_one_is_the_seeds_first_half():
    # dC_0/dw^(L) = a^(L-1) sigma'(z^(L)) 2 (a^(L) - y), with z and a as the seed names them.
    spec = NetworkSpec(3, (1, 1, 1, 1))
    s = network_symbols(spec, batch=1)
    grads = {g.wrt: g.expr for g in unrolled_gradients(spec, backend="sympy")}
    l3 = s.layers[3]
    want = s.a(2)[0, 0] * sigma.prime(l3.z[0, 0]) * 2 * (l3.a[0, 0] - s.y[0, 0])
    assert sp.expand(grads[("W", 3)] - want) == 0
    # One layer down, the chain gains w^(3) sigma'(z^(2)): every factor named by the seed.
    l2 = s.layers[2]
    want2 = s.a(1)[0, 0] * sigma.prime(l2.z[0, 0]) * l3.W[0, 0] * sigma.prime(l3.z[0, 0])
    want2 *= 2 * (l3.a[0, 0] - s.y[0, 0])
    assert sp.expand(grads[("W", 2)] - want2) == 0


def test_every_parameter_entry_appears_once():
    spec = NetworkSpec(2, (2, 3, 1), "tanh")
    grads = unrolled_gradients(spec, backend="sympy")
    assert len(grads) == spec.parameter_count
    assert grads[0].layer == 2  # layer L first


def test_symengine_gives_the_same_results_as_sympy():
    pytest.importorskip("symengine")
    spec = NetworkSpec(2, (2, 2, 2), "softplus,sigmoid", "cross-entropy")
    a = unrolled_gradients(spec, backend="sympy")
    b = unrolled_gradients(spec, backend="symengine")
    for x, y in zip(a, b, strict=True):
        assert (x.wrt, x.entry) == (y.wrt, y.entry)
        assert sp.simplify(x.expr - y.expr) == 0


def test_concrete_definitions_differentiate_like_sympy_does():
    spec = NetworkSpec(1, (1, 1), "relu")
    s = network_symbols(spec, batch=1)
    cost, _ = forward(spec, s, generic=False)
    w = s.layers[1].W[0, 0]
    (d,) = differentiate(cost, [w])
    x, b, y = s.a0[0, 0], s.layers[1].b[0, 0], s.y[0, 0]
    at = {x: 2, b: sp.Rational(1, 2), y: 1}
    assert d.subs(at | {w: 1}) == 2 * 2 * (sp.Rational(5, 2) - 1)  # active: x * 2(z - y)
    assert d.subs(at | {w: -1}) == 0  # inactive: relu' = 0


def test_size_limits():
    with pytest.raises(SpecError, match="needs concrete widths"):
        check_size(NetworkSpec(2))
    big = NetworkSpec(2, (30, 10, 2))  # 332 parameters
    assert UNROLLED_PRINT_LIMIT < big.parameter_count <= UNROLLED_DERIVATIVES_LIMIT
    with pytest.raises(
        SpecError, match=r"use --form matrix.*install bpverify\[fast\] for up to 500"
    ):
        check_size(big, backend="sympy", printed=False)
    with pytest.raises(SpecError, match=r"more than the unrolled form handles \(200\)"):
        check_size(big, backend="symengine")
    assert check_size(big, backend="symengine", printed=False) == "symengine"
    huge = NetworkSpec(2, (40, 20, 2))
    with pytest.raises(SpecError, match=r"more than the unrolled form handles \(500\)"):
        check_size(huge, backend="symengine", printed=False)
    assert UNROLLED_LIMIT_SYMPY == 60


def test_derivatives_agree_with_the_printed_form():
    spec = NetworkSpec(2, (2, 2, 1), "softplus")
    printed = {(g.wrt, g.entry): g for g in unrolled_gradients(spec, backend="sympy")}
    raw = unrolled_derivatives(spec, backend="sympy")
    assert len(raw) == len(printed) == spec.parameter_count
    s = network_symbols(spec, batch=1)
    _, values = forward(spec, s)
    W1 = s.layers[1].W
    # The printed form names z and a; written out again, with matrix entries as the plain
    # symbols the backend differentiates by, it is the raw derivative.
    full = printed[(("W", 1), (1, 0))].expr.xreplace(values)
    full = full.xreplace({e: sp.Symbol(str(e)) for e in full.atoms(MatrixElement)})
    assert sp.simplify(full - raw[W1[1, 0]]) == 0


@pytest.mark.parametrize("cost, scale", [("mean", sp.Rational(1, 2)), ("sum", 1)])
def test_the_unrolled_cost_has_the_conventions_and_c0_has_none(cost, scale):
    spec = NetworkSpec(1, (1, 1), "identity", cost=cost, l2=sp.Rational(1, 3))
    s = network_symbols(spec, batch=2)
    W, b, a0, y = s.layers[1].W, s.layers[1].b, s.a0, s.y
    got, _ = forward(spec, s, generic=False)
    per_sample = [(W[0, 0] * a0[0, i] + b[0, 0] - y[0, i]) ** 2 for i in range(2)]
    want = scale * (sum(per_sample) + sp.Rational(1, 6) * W[0, 0] ** 2)
    assert sp.expand(got - want) == 0
    one = network_symbols(spec, batch=1)
    c0, _ = forward(spec, one, generic=False, per_sample=True)
    W1, b1 = one.layers[1].W, one.layers[1].b
    assert sp.expand(c0 - (W1[0, 0] * one.a0[0, 0] + b1[0, 0] - one.y[0, 0]) ** 2) == 0
