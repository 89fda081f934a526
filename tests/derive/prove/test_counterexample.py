import random
import re

import pytest
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from bpverify.derive import ACTIVATIONS, NetworkSpec, derive_network
from bpverify.derive.prove.claims import parse_claim, parse_wrt
from bpverify.derive.prove.counterexample import (
    DISTINCT_LAYERS,
    EVALUATION_DIGITS,
    TOLERANCE,
    OutOfRange,
    difference,
    random_probe,
    random_widths,
    search,
    too_large,
)
from bpverify.derive.prove.truth import proof_task

SPEC = NetworkSpec(layers=3)
D = derive_network(SPEC)
W3 = "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"
SIGMOID = ACTIVATIONS["sigmoid"]


def task(claim, wrt="w^(3)_jk", spec=SPEC, d=D):
    return proof_task(d, parse_wrt(spec, wrt), parse_claim(spec, claim))


def test_a_probe_is_a_forward_pass_of_a_random_network():
    probe = random_probe(task(W3), random.Random(1))
    v, widths = probe.values, probe.widths
    assert sorted(widths) == [2, 3, 4, 5]  # symbolic widths: no two layers alike
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
    found = search(t, 10, 0, evaluated)
    probe, c, tv = found.probe, found.claim, found.truth
    assert evaluated[-1] is probe and found.difference > TOLERANCE and found.missing is None
    assert (c, tv) == (probe.evaluate(t.claimed), probe.evaluate(t.truth))
    shown = probe.describe(t.claimed, t.truth)
    assert {"widths", "j", "k"} <= set(shown)
    j = shown["j"]
    assert {f"a^(3)_{j}", f"z^(3)_{j}", f"y_{j}"} <= set(shown)


def test_the_search_is_reproducible_from_its_seed():
    t = task("a^(2)_k")
    first, second = search(t, 5, 7, []), search(t, 5, 7, [])
    assert first.probe.describe(t.truth) == second.probe.describe(t.truth)


def test_a_probe_without_the_unit_a_claim_names_is_skipped():
    # y_2 exists only where the output layer has 3 units or more: a seed whose first probe has 2
    t = task("a^(2)_k * y_2")
    seed = next(s for s in range(20) if random_probe(t, random.Random(s)).widths[3] == 2)
    evaluated = []
    assert search(t, 12, seed, evaluated) is not None
    assert len(evaluated) == 1 and evaluated[0].widths[3] > 2


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


# A sum whose bound names the wrong layer: dC_0/da^(2)_k sums over the n_3 units of layer 3.
WRONG_BOUND = r"\sum_{j=0}^{n_{L-1}-1} w^{(3)}_{jk} \sigma'(z^{(3)}_j) 2(a^{(3)}_j - y_j)"


def test_symbolic_widths_are_distinct_in_every_probe_and_vary_between_them():
    rng, t = random.Random(0), task(W3)
    seen = {random_probe(t, rng).widths for _ in range(20)}
    assert all(len(set(w)) == 4 for w in seen)  # no two layers share a width
    assert len(seen) > 5  # and the order changes: any two layers come in either order
    deep = NetworkSpec(layers=9)
    widths = random_widths(deep, 2, random.Random(0))
    assert len(widths) == 10 and set(widths) <= set(range(2, 2 + DISTINCT_LAYERS))
    # a digit index of --wrt fits every layer
    t = task("a^(2)_4", "w^(3)_54")
    assert all(min(random_probe(t, rng).widths) >= 6 for _ in range(5))


def test_a_sum_over_the_wrong_layer_is_refuted_where_that_layer_is_narrower():
    t = task(WRONG_BOUND, "a^(2)_k")
    found = search(t, 20, 0, [])
    widths = found.probe.widths
    assert found.missing is None and widths[2] < widths[3]  # the sum stopped short


def test_with_concrete_widths_a_sum_past_a_layers_units_refutes_the_claim():
    spec = NetworkSpec(3, (3, 4, 4, 2))
    found = search(task(WRONG_BOUND, "a^(2)_k", spec, derive_network(spec)), 20, 0, [])
    assert found.claim is None and found.difference == sp.oo
    # the first entry past layer 3's units 0 and 1 that the sum names
    assert re.fullmatch(r"y_2|[awz]\^\(3\)_2\d?", found.missing)
    # where the sum stops short instead, the values differ
    spec = NetworkSpec(3, (3, 4, 2, 5))
    found = search(task(WRONG_BOUND, "a^(2)_k", spec, derive_network(spec)), 20, 0, [])
    assert found.missing is None and found.difference > TOLERANCE


def test_an_index_without_a_value_is_out_of_range_not_a_crash():
    probe = random_probe(task(W3), random.Random(0))
    free = sp.Symbol("m", integer=True)
    with pytest.raises(OutOfRange):
        probe.evaluate(sp.MatrixSymbol("a2", 3, 1)[free, 0])


def test_the_tree_walk_gives_sympys_value():
    t = task("1", "a^(0)_k")  # three nested sums
    probe = random_probe(t, random.Random(3))
    entries = {e: sp.IndexedBase(e.parent.name)[e.i, e.j] for e in t.truth.atoms(MatrixElement)}
    written = t.truth.xreplace(entries).xreplace(probe.subs).doit()
    values = {
        x: probe.values[(str(x.base), *map(int, x.indices))] for x in written.atoms(sp.Indexed)
    }
    expected = SIGMOID.specialise(written.xreplace(values)).evalf(EVALUATION_DIGITS)
    # 40 digits each way, summed in different orders: far below 1e-30
    assert difference(probe.evaluate(t.truth), expected) < 1e-30
    used = probe.describe(t.truth)
    assert (
        len([name for name in used if name.startswith("w^(3)")])
        == probe.widths[3] * probe.widths[2]
    )


def test_a_value_that_is_not_a_finite_real_number_differs_from_every_real_one():
    from bpverify.derive.prove.counterexample import difference, show

    for undefined in (sp.I * sp.pi, sp.log(-1) + 1, sp.zoo, sp.nan):
        assert difference(undefined, sp.Float("0.5")) == sp.oo
    assert float(difference(sp.Float("0.5"), sp.Float("0.5"))) == 0.0
    assert show(sp.zoo) == "undefined"
    assert show(sp.I * 2).endswith("(not a real number)")
