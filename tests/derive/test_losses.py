import pytest
import sympy as sp

from bpverify.derive import ACTIVATIONS, LOSSES, Loss
from bpverify.derive.losses import PROBABILITY, REAL, SIMPLEX
from bpverify.derive.rules import _in_range, loss_rule, out_k, y_k

a, y = sp.symbols("a y", real=True)


def test_squared_is_the_seeds_2_a_minus_y():
    assert sp.expand(loss_rule(LOSSES["squared"]) - 2 * (out_k - y_k)) == 0


def test_cross_entropy_rule_is_the_derivative_of_one_term():
    term = -(y * sp.log(a) + (1 - y) * sp.log(1 - a))
    want = sp.diff(term, a).subs({a: out_k, y: y_k})
    assert sp.simplify(loss_rule(LOSSES["cross-entropy"]) - want) == 0


def test_softmax_cross_entropy_rule_is_a_minus_y_for_targets_summing_to_one():
    # Independent check at width 3: differentiate the written-out loss by z_0, then use
    # y_2 = 1 - y_0 - y_1 and a_0 = softmax(z)_0.
    z = sp.symbols("z0:3", real=True)
    t = sp.symbols("t0:3", real=True)
    total = sum(sp.exp(v) for v in z)
    c0 = -sum(t[j] * sp.log(sp.exp(z[j]) / total) for j in range(3))
    d = sp.diff(c0, z[0]).subs(t[2], 1 - t[0] - t[1])
    want = loss_rule(LOSSES["softmax-cross-entropy"]).subs({out_k: sp.exp(z[0]) / total, y_k: t[0]})
    assert sp.simplify(d - want) == 0


def test_losses_sum_over_outputs():
    o, t = sp.IndexedBase("o"), sp.IndexedBase("t")
    j = sp.Symbol("j", integer=True)
    c0 = LOSSES["squared"].per_sample(o, t, j, 2).doit()
    assert sp.expand(c0 - ((o[0] - t[0]) ** 2 + (o[1] - t[1]) ** 2)) == 0


def _huber_with_abs(a, y, j, N):
    # huber as usually written, with |r|: SymPy differentiates |r| to sign(r)
    r = a[j] - y[j]
    h = sp.Piecewise((r**2 / 2, sp.Abs(r) <= 1), (sp.Abs(r) - sp.Rational(1, 2), True))
    return sp.Sum(h, (j, 0, N - 1))


HUBER_WITH_ABS = Loss("huber-abs", _huber_with_abs)


def _written_out_huber(r):
    return sp.Piecewise((r**2 / 2, sp.Abs(r) <= 1), (sp.Abs(r) - sp.Rational(1, 2), True))


# residuals a - y on both sides of |a - y| = 1, and on it
RESIDUALS = [sp.Rational(-5, 2), -1, sp.Rational(-1, 3), 0, sp.Rational(3, 4), 1, sp.Rational(7, 5)]


@pytest.mark.parametrize("huber", [HUBER_WITH_ABS, LOSSES["huber"]], ids=lambda h: h.name)
@pytest.mark.parametrize("r", RESIDUALS)
def test_a_piecewise_loss_keeps_every_branch(huber, r):
    # Independent of loss_rule: SymPy's derivative of the written-out term by a, at a = y + r.
    at = {a: r + sp.Rational(1, 7), y: sp.Rational(1, 7)}
    want = sp.diff(_written_out_huber(a - y), a).subs(at)
    got = loss_rule(huber).subs({out_k: at[a], y_k: at[y]})
    assert got == want == max(-1, min(1, r))


def test_the_huber_row_is_huber_and_c1():
    o, t, j = sp.IndexedBase("o"), sp.IndexedBase("t"), sp.Symbol("j", integer=True)
    c0 = LOSSES["huber"].per_sample(o, t, j, 1).doit()
    for r in RESIDUALS:
        assert c0.subs({o[0]: r, t[0]: 0}) == _written_out_huber(sp.sympify(r))
    assert set(LOSSES["huber"].kinks) == {out_k - y_k - 1, out_k - y_k + 1}


def test_half_squared_is_a_minus_y():
    assert sp.expand(loss_rule(LOSSES["half-squared"]) - (out_k - y_k)) == 0
    assert LOSSES["half-squared"].rational and LOSSES["huber"].rational


def test_the_k_in_range_piecewise_takes_its_branch_and_the_losss_stays_whole():
    N = sp.Symbol("N", integer=True, positive=True)
    k = sp.Symbol("k", integer=True)
    in_range = sp.Piecewise((2 * a, (k >= 0) & (k <= N - 1)), (0, True))
    assert _in_range(in_range, k, N) == 2 * a
    own = sp.Piecewise((a, a > 1), (-a, True))
    assert _in_range(own * in_range, k, N) == 2 * a * own


def test_rows_state_their_targets_and_outputs():
    assert LOSSES["squared"].targets == REAL and LOSSES["cross-entropy"].targets == PROBABILITY
    assert LOSSES["softmax-cross-entropy"].targets == SIMPLEX
    assert LOSSES["softmax-cross-entropy"].assumption and not LOSSES["squared"].assumption
    with pytest.raises(ValueError, match="targets 'labels'"):
        Loss("x", _huber_with_abs, targets="labels")


def test_cross_entropy_accepts_the_activations_with_values_in_0_1():
    ce = LOSSES["cross-entropy"]
    assert [n for n, row in ACTIVATIONS.items() if ce.accepts(row)] == ["sigmoid"]
    assert all(LOSSES["squared"].accepts(row) for row in ACTIVATIONS.values())
    assert not any(LOSSES["softmax-cross-entropy"].accepts(row) for row in ACTIVATIONS.values())


def test_what_the_rows_read_from_c0():
    squared, ce = LOSSES["squared"], LOSSES["cross-entropy"]
    assert squared.rational and squared.analytic and not squared.kinks
    assert not ce.rational and ce.analytic
    assert not HUBER_WITH_ABS.analytic and HUBER_WITH_ABS.rational
    assert set(HUBER_WITH_ABS.kinks) == {sp.Abs(out_k - y_k) - 1}
