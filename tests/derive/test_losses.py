import sympy as sp

from bpverify.derive import LOSSES
from bpverify.derive.rules import loss_rule, out_k, y_k

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
