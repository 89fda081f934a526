import re

import pytest

from bpverify.derive import NetworkSpec, derive_network
from bpverify.derive.prove.claims import parse_claim, parse_wrt
from bpverify.derive.prove.counterexample import search
from bpverify.derive.prove.hints import MISTAKES, find_hint, mistakes
from bpverify.derive.prove.truth import proof_task

SPEC = NetworkSpec(layers=3)
D = derive_network(SPEC)

CASES = [
    ("sigma' missing", "w^(3)_jk", "a^(2)_k * 2*(a^(3)_j - y_j)"),
    (
        "sigma' missing",
        "w^(2)_jk",
        "a^(1)_k * sum_i(w^(3)_ij * sigma'(z^(3)_i) * 2*(a^(3)_i - y_i))",
    ),
    ("w_kj for w_jk", "a^(2)_k", "sum_j(w^(3)_kj * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j))"),
    ("sum over j missing", "a^(2)_k", "w^(3)_jk * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"),
    ("sum over j missing", "a^(2)_k", "w^(3)_mk * sigma'(z^(3)_m) * 2*(a^(3)_m - y_m)"),
    ("factor 2 missing", "w^(3)_jk", "a^(2)_k * sigma'(z^(3)_j) * (a^(3)_j - y_j)"),
    ("a^(l) for a^(l-1)", "w^(3)_jk", "a^(3)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"),
]


def task(wrt, claim):
    return proof_task(D, parse_wrt(SPEC, wrt), parse_claim(SPEC, claim))


def hint(wrt, claim):
    """The hint for a refuted claim, from the probes of its counterexample search."""
    t, evaluated = task(wrt, claim), []
    assert search(t, 20, 0, evaluated) is not None
    return find_hint(t, evaluated[-5:])


@pytest.mark.parametrize(("name", "wrt", "claim"), CASES)
def test_each_common_mistake_is_named_by_its_row(name, wrt, claim):
    found = hint(wrt, claim)
    layer = parse_wrt(SPEC, wrt).layer
    assert found == MISTAKES[name].hint.format(l=layer, below=layer - 1)


def test_every_row_of_the_table_is_tested():
    assert {name for name, *_ in CASES} == set(MISTAKES)


def test_a_weight_hint_names_the_layers():
    assert re.search(r"a\^\(3\) is written where a\^\(2\) belongs", hint(*CASES[-1][1:]))


def test_an_unrelated_mistake_gets_no_hint():
    assert hint("b^(3)_j", "sigma'(z^(3)_j) * 3*(a^(3)_j - y_j) + 1") is None


def test_mistakes_that_change_nothing_are_left_out():
    # dC_0/da^(3)_j = 2(a^(3)_j - y_j) has no sigma', no weight and no sum
    hints = [h for h, _ in mistakes(task("a^(3)_j", "1"))]
    assert hints == [MISTAKES["factor 2 missing"].hint]
    cross_entropy = NetworkSpec(3, loss="cross-entropy")
    t = proof_task(
        derive_network(cross_entropy),
        parse_wrt(cross_entropy, "b^(3)_j"),
        parse_claim(cross_entropy, "1"),
    )
    assert MISTAKES["factor 2 missing"].hint not in [h for h, _ in mistakes(t)]
