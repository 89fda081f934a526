import random

import sympy as sp

from bpverify.derive import ACTIVATIONS, NetworkSpec, derive_network
from bpverify.derive.prove.claims import parse_claim, parse_wrt
from bpverify.derive.prove.counterexample import (
    EVALUATION_DIGITS,
    TOLERANCE,
    difference,
    random_probe,
    search,
    too_large,
)
from bpverify.derive.prove.truth import proof_task

SPEC = NetworkSpec(layers=3)
D = derive_network(SPEC)
W3 = "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"


def task(claim, wrt="w^(3)_jk", spec=SPEC, d=D):
    return proof_task(d, parse_wrt(spec, wrt), parse_claim(spec, claim))


def test_a_probe_is_a_forward_pass_of_a_random_network():
    probe = random_probe(task(W3), random.Random(1))
    v, widths = probe.values, probe.widths
    assert len(set(widths)) == 1 and widths[0] in (2, 3)
    sigmoid = ACTIVATIONS["sigmoid"]
    for l in (1, 2, 3):
        for r in range(widths[l]):
            z = v[(f"b{l}", r, 0)] + sum(
                v[(f"W{l}", r, c)] * v[(f"a{l - 1}", c, 0)] for c in range(widths[l - 1])
            )
            # z is exact rational in layer 1 and 40 digits above; 1e-30 is far above that error
            assert abs(v[(f"z{l}", r, 0)] - z) < 1e-30
            a = sigmoid.expression(v[(f"z{l}", r, 0)], SPEC.leaky_slope).evalf(EVALUATION_DIGITS)
            assert abs(v[(f"a{l}", r, 0)] - a) < 1e-30
    # inputs, parameters and targets are small nonzero rationals
    assert all(isinstance(v[("y", r, 0)], sp.Rational) and v[("y", r, 0)] for r in range(widths[3]))


def test_the_free_indices_range_over_the_units_of_their_layers():
    spec = NetworkSpec(2, (4, 3, 2))
    d = derive_network(spec)
    rng = random.Random(0)
    for _ in range(20):
        probe = random_probe(task("a^(1)_k", "w^(2)_jk", spec, d), rng)
        assert probe.widths == (4, 3, 2)
        j, k = (probe.subs[s] for s in task("a^(1)_k", "w^(2)_jk", spec, d).free)
        assert 0 <= j < 2 and 0 <= k < 3


def test_the_true_claim_has_no_counterexample():
    evaluated = []
    assert search(task(W3), 10, 0, evaluated) is None
    assert len(evaluated) == 10


def test_a_wrong_claim_has_one_and_both_values_are_reported_at_it():
    t = task("a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j + y_j)")
    evaluated = []
    probe, c, tv, diff = search(t, 10, 0, evaluated)
    assert evaluated[-1] is probe and diff > TOLERANCE
    assert (c, tv) == (probe.evaluate(t.claimed), probe.evaluate(t.truth))
    shown = probe.describe(t.claimed, t.truth)
    assert {"widths", "j", "k"} <= set(shown)
    j = shown["j"]
    assert {f"a^(3)_{j}", f"z^(3)_{j}", f"y_{j}"} <= set(shown)


def test_the_search_is_reproducible_from_its_seed():
    t = task("a^(2)_k")
    first, second = search(t, 5, 7, []), search(t, 5, 7, [])
    assert first[0].describe(t.truth) == second[0].describe(t.truth)


def test_a_probe_without_the_unit_a_claim_names_is_skipped():
    # y_2 exists only where the random width is 3: a seed whose first probe has width 2
    t = task("a^(2)_k * y_2")
    seed = next(s for s in range(20) if random_probe(t, random.Random(s)).widths[0] == 2)
    evaluated = []
    assert search(t, 12, seed, evaluated) is not None
    assert [p.widths[0] for p in evaluated] == [3]


def test_difference_is_relative_and_infinite_for_non_numbers():
    assert difference(sp.Float(1e6), sp.Float(1e6 + 1)) < 2e-6
    assert abs(difference(sp.Float("0.5"), sp.Float("0.25")) - 0.25) < 1e-30
    assert difference(sp.nan, sp.Integer(1)) == sp.oo
    assert difference(sp.Symbol("x"), sp.Integer(1)) == sp.oo


def test_softmax_targets_sum_to_one_and_its_outputs_are_a_softmax():
    spec = NetworkSpec(layers=2, widths=(2, 3, 3), loss="softmax-cross-entropy")
    probe = random_probe(
        task("a^(2)_j - y_j", "z^(2)_j", spec, derive_network(spec)), random.Random(1)
    )
    v = probe.values
    assert sum(v[("y", i, 0)] for i in range(3)) == 1
    assert all(v[("y", i, 0)] > 0 for i in range(3))
    z = [v[("z2", i, 0)] for i in range(3)]
    expected = [sp.exp(zi) / sum(sp.exp(u) for u in z) for zi in z]
    assert all(abs(v[("a2", i, 0)] - expected[i]) < 1e-35 for i in range(3))


def test_a_network_too_large_to_evaluate_is_not_searched():
    assert too_large(NetworkSpec(layers=2, widths=(50, 50, 1))) is None
    note = too_large(NetworkSpec(layers=2, widths=(200, 200, 1)))
    assert note == (
        "no counterexample was searched for: the network's 40401 parameters is more than the "
        "10000 accepted: raise the limit with BPVERIFY_MAX_PROBE_PARAMETERS=N"
    )
    assert too_large(SPEC) is None  # symbolic widths: small random ones are drawn
