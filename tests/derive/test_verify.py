import pytest
import sympy as sp

from bpverify.derive import NetworkSpec, derive_network
from bpverify.derive.verify import instance_of, verify


@pytest.mark.parametrize(
    "spec",
    [
        NetworkSpec(2, (2, 3, 1), "sigmoid"),
        NetworkSpec(2, (3, 2, 2), "tanh"),
        NetworkSpec(3, (2, 2, 2, 1), "relu"),
        NetworkSpec(2, (2, 2, 2), "leaky_relu", leaky_slope=sp.Rational(1, 5)),
        NetworkSpec(2, (1, 3, 2), "softplus"),
        NetworkSpec(2, (2, 2, 1), "identity"),
        NetworkSpec(3, (2, 2, 2, 1), "relu,softplus,sigmoid"),
        NetworkSpec(2, (2, 2, 1), "tanh,sigmoid", "cross-entropy"),
        NetworkSpec(2, (2, 2, 3), "relu", "softmax-cross-entropy"),
        NetworkSpec(1, (3, 2), "sigmoid", "softmax-cross-entropy"),
    ],
    ids=lambda s: s.describe(),
)
def test_rules_agree_with_the_unrolled_network(spec):
    v = verify(derive_network(spec))
    assert v.ok, v.summary()
    # With abstract activations simplification decides every entry: no fallback to points.
    assert v.entries == v.symbolic and v.at_points == 0
    assert not v.reduced
    # every entry of every rule: delta (n_l x 2 samples), W, b and dC/da^(l-1) (n_{l-1} x 2)
    assert v.entries == sum(
        2 * n_out + n_out * n_in + n_out + 2 * n_in
        for n_in, n_out in zip(spec.widths, spec.widths[1:], strict=False)
    )


def test_symbolic_widths_are_checked_on_a_reduced_instance():
    v = verify(derive_network(NetworkSpec(3)))
    assert v.ok and v.reduced
    assert "widths 2,2,2,2" in v.summary()


def test_deep_networks_reduce_to_four_layers_keeping_first_and_last():
    spec = NetworkSpec(7, None, "relu,tanh,relu,relu,relu,softplus,sigmoid")
    inst, reduced = instance_of(spec)
    assert reduced
    assert inst.activations == ("relu", "tanh", "softplus", "sigmoid")


@pytest.mark.parametrize(
    ("key", "mutate"),
    [
        (("W", 2), lambda e: 2 * e),  # factor 2 too many
        (("b", 1), lambda e: -e),  # sign flip
        (("a", 1), lambda e: sp.MatMul(sp.Rational(1001, 1000), e)),  # scaled by 1.001
    ],
)
def test_a_wrong_rule_is_reported_with_its_entry(key, mutate):
    d = derive_network(NetworkSpec(2, (2, 2, 1)))
    d.matrix[key] = mutate(d.matrix[key])
    v = verify(d)
    assert not v.ok
    q, l = key
    assert all(f.startswith(f"dC/d{q}{l}[") for f in v.failures)
    assert "MISMATCHES" in v.summary()


def test_a_wrong_delta_breaks_the_layers_below():
    d = derive_network(NetworkSpec(2, (2, 2, 1)))
    delta2 = d.symbols.layers[2].delta
    d.deltas[delta2] = d.deltas[delta2].args[1]  # sigma' dropped
    d.matrix[("z", 2)] = d.deltas[delta2]
    d._expansions.clear()
    v = verify(d)
    assert not v.ok
    failed = {f.split("[")[0] for f in v.failures}
    assert {"dC/dz2", "dC/dW1"} <= failed


def test_without_symengine_the_same_verdict(monkeypatch):
    import bpverify.derive.verify as V

    monkeypatch.setattr(V, "symengine_available", lambda: False)
    v = verify(derive_network(NetworkSpec(2, (2, 2, 2), "tanh,sigmoid", "cross-entropy")))
    assert v.ok and v.symbolic == v.entries


@pytest.mark.parametrize("exact_case", [True, False])
def test_points_decide_where_simplification_cannot(monkeypatch, exact_case):
    # Force the fallback: every entry is then compared at random rational points with the
    # definitions written out, exactly for relu networks, to 50 digits for sigmoid ones.
    from bpverify.derive.unrolled import Flat

    monkeypatch.setattr(Flat, "is_zero", lambda self, e: False)
    spec = NetworkSpec(2, (2, 2, 1), "relu" if exact_case else "sigmoid")
    d = derive_network(spec)
    v = verify(d)
    assert v.ok and v.at_points == v.entries and v.exact is exact_case
    d.matrix[("W", 1)] = sp.MatMul(sp.Rational(1001, 1000), d.matrix[("W", 1)])
    v = verify(d)
    # Every failure names W1; with relu, an entry whose unit is off at both points is 0 on both
    # sides and cannot show the scaling, so at least one but not necessarily all four fail.
    assert v.failures
    assert {f.split("[")[0] for f in v.failures} == {"dC/dW1"}


@pytest.mark.parametrize(
    "spec",
    [
        NetworkSpec(2, (2, 3, 1), "tanh", cost="sum"),
        NetworkSpec(2, (2, 2, 1), "sigmoid", l2=sp.Rational(1, 10)),
        NetworkSpec(2, (2, 2, 2), "relu", "softmax-cross-entropy", cost="sum", l2=sp.Rational(3)),
        NetworkSpec(3, None, "tanh", cost="sum", l2=sp.Rational(1, 100)),
    ],
    ids=lambda s: s.describe(),
)
def test_rules_of_every_convention_agree_with_the_unrolled_cost(spec):
    v = verify(derive_network(spec))
    assert v.ok, v.summary()


@pytest.mark.parametrize(
    "derived, checked",
    [
        (NetworkSpec(2, (2, 2, 1), cost="mean"), NetworkSpec(2, (2, 2, 1), cost="sum")),
        (NetworkSpec(2, (2, 2, 1)), NetworkSpec(2, (2, 2, 1), l2=sp.Rational(1, 10))),
    ],
)
def test_rules_of_another_convention_are_mismatches(derived, checked):
    # the mean cost's rules checked against the summed (or penalised) oracle must fail
    d = derive_network(derived)
    d.spec = checked
    v = verify(d)
    assert not v.ok and "MISMATCHES" in v.summary()


def test_a_reduced_instance_keeps_the_conventions():
    spec = NetworkSpec(5, None, "tanh", cost="sum", l2=sp.Rational(1, 2))
    inst, reduced = instance_of(spec)
    assert reduced and (inst.cost, inst.l2) == ("sum", sp.Rational(1, 2))
