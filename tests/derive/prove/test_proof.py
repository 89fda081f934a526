import random
from math import comb

import sympy as sp

from bpverify.derive import ACTIVATIONS, NetworkSpec, derive_network
from bpverify.derive.printing import latex
from bpverify.derive.prove import proof
from bpverify.derive.prove.claims import generic_symbols, parse_claim, parse_wrt
from bpverify.derive.prove.counterexample import random_probe
from bpverify.derive.prove.proof import expanded_terms, proof_stages, too_large, vanishes
from bpverify.derive.prove.truth import proof_task
from bpverify.derive.unrolled import unrolled_gradients

SPEC = NetworkSpec(layers=3)
S = generic_symbols(SPEC)
D = derive_network(SPEC)
W3 = "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"


def stages(wrt, claim):
    """Every stage's outcome: "" or a note when it proves the claim, None when it does not."""
    return list(proof_stages(proof_task(D, parse_wrt(SPEC, wrt), parse_claim(SPEC, claim))))


def test_sums_that_differ_only_in_their_index_name_cancel():
    i, m = (sp.Dummy(c, integer=True, nonnegative=True) for c in "im")
    n3 = SPEC.widths[3]
    a = S.layers[3].a
    assert vanishes(sp.Sum(a[i, 0], (i, 0, n3 - 1)) - sp.Sum(a[m, 0], (m, 0, n3 - 1)))
    assert vanishes(2 * sp.Sum(a[i, 0], (i, 0, n3 - 1)) - sp.Sum(2 * a[m, 0], (m, 0, n3 - 1)))
    assert not vanishes(sp.Sum(a[i, 0], (i, 0, n3 - 1)) - sp.Sum(a[m, 0], (m, 0, n3 - 2)))


def test_concrete_widths_write_the_sums_out():
    spec = NetworkSpec(2, (2, 3, 2))
    e = parse_claim(spec, "sum_j(w^(2)_jk * a^(2)_j)")
    written = parse_claim(spec, "w^(2)_0k * a^(2)_0 + w^(2)_1k * a^(2)_1")
    assert vanishes(e - written)
    assert not vanishes(e - parse_claim(spec, "w^(2)_0k * a^(2)_0"))


def test_a_claim_as_written_is_proved_at_the_first_stage():
    assert stages("w^(3)_jk", W3)[0] == ""


def test_a_sigma_of_z_is_proved_once_a_is_substituted():
    claim = "a^(2)_k * sigma'(z^(3)_j) * 2*(sigma(z^(3)_j) - y_j)"
    assert stages("w^(3)_jk", claim)[:3] == [None, None, "with a^(l) = sigma(z^(l)) substituted"]


def test_sigma_prime_by_the_output_is_proved_for_that_activation_only():
    claim = "a^(2)_k * a^(3)_j*(1 - a^(3)_j) * 2*(a^(3)_j - y_j)"
    first, second, *_ = stages("w^(3)_jk", claim)
    assert first is None
    assert second == (
        "with sigma' written by the output (sigmoid: sigma' = a*(1 - a)): "
        "this proof holds for sigmoid only"
    )


def test_sigma_written_out_is_proved_for_that_activation_only():
    # sigma'(z) = e^-z sigma(z)^2: no rational function of a^(3) without the definition
    claim = "a^(2)_k * (1/sigma(z^(3)_j) - 1) * sigma(z^(3)_j)^2 * 2*(a^(3)_j - y_j)"
    *early, last = stages("w^(3)_jk", claim)
    assert early == [None, None, None]
    assert last == "with sigma written out by its definition: this proof holds for sigmoid only"


def test_a_wrong_claim_is_proved_at_no_stage():
    claim = "a^(2)_k * sigma'(z^(3)_j) * (a^(3)_j - y_j)"
    assert stages("w^(3)_jk", claim) == [None, None, None]


def test_the_cross_entropy_claim_after_a_sigmoid_is_proved_by_the_output():
    # dC_0/dz^(3)_i = a^(3)_i - y_i: sigma' = a (1 - a) cancels the loss's denominator
    spec = NetworkSpec(layers=3, loss="cross-entropy")
    claim = "a^(1)_k * sigma'(z^(2)_j) * sum_i(w^(3)_ij * (a^(3)_i - y_i))"
    task = proof_task(derive_network(spec), parse_wrt(spec, "w^(2)_jk"), parse_claim(spec, claim))
    assert list(proof_stages(task))[1].endswith("this proof holds for sigmoid only")


def test_huber_through_its_derivative_by_name_is_proved_as_written():
    spec = NetworkSpec(layers=3, loss="huber")
    claim = "sum_j(w^(1)_jk * sigma'(z^(1)_j) * dC_0/da^(1)_j)"
    task = proof_task(derive_network(spec), parse_wrt(spec, "a^(0)_k"), parse_claim(spec, claim))
    assert next(proof_stages(task)) == ""


def test_relu_written_out_inside_sums_keeps_each_branch_in_its_sum():
    # SymPy's Sum folds a Piecewise out of the sums inside it; as indicators each branch
    # stays with its unit, so the written-out truth has the truth's value at a random network
    spec = NetworkSpec(layers=3, activations="relu")
    claim = "sum_j(w^(2)_jk * sigma'(z^(2)_j) * 1)"
    task = proof_task(derive_network(spec), parse_wrt(spec, "a^(1)_k"), parse_claim(spec, claim))
    written = proof._specialise("relu", spec, task.truth)
    assert not written.has(sp.Piecewise)
    probe = random_probe(task, random.Random(0))
    assert probe.evaluate(written) == probe.evaluate(task.truth)


def test_the_size_of_an_expansion_is_estimated_before_it_is_made():
    a, b, y = (S.layers[1].a[j, 0] for j in range(3))
    assert expanded_terms((a + b + y) ** 10) == comb(12, 10)  # (t terms)^e: C(t + e - 1, e)
    assert expanded_terms(((a + b + y) ** 10 + 1) ** 10) == comb(76, 10)  # 67 terms, ^10
    sigma = ACTIVATIONS["sigmoid"].function
    assert expanded_terms(sigma(a + b + y) ** 2 * (a + b)) == 3  # the argument on its own


def test_a_claim_too_large_to_expand_is_not_tried_symbolically():
    claim = "((a^(1)_k + a^(2)_k + y_j)^10 + 1)^10"
    task = proof_task(D, parse_wrt(SPEC, "w^(3)_jk"), parse_claim(SPEC, claim))
    note = too_large(task)
    assert note.startswith("the symbolic proof was not tried: the claim written out, about 9.5e+11")
    assert note.endswith("raise the limit with BPVERIFY_MAX_TERMS=N")
    assert too_large(proof_task(D, parse_wrt(SPEC, "w^(3)_jk"), parse_claim(SPEC, W3))) is None


def test_a_softmax_over_a_hidden_layer_is_proved_once_its_sums_are_written_out():
    # derive --form unrolled's dC_0/dw^(1)_00 of a softmax over a sigmoid layer: the truth's
    # sum over the outputs holds a^(2)_i of a summation index, which the softmax's column of
    # exponentials is written for only once the sum is written out
    spec = NetworkSpec(2, (2, 2, 2), activations="sigmoid", loss="softmax-cross-entropy")
    (rule,) = [g for g in unrolled_gradients(spec) if g.wrt == ("W", 1) and g.entry == (0, 0)]
    claim = parse_claim(spec, latex(rule.expr))
    assert claim.has(sp.exp)
    found = list(proof_stages(proof_task(derive_network(spec), parse_wrt(spec, "w^(1)_00"), claim)))
    assert found[:2] == [None, None]
    assert found[2] == "with a^(l) = sigma(z^(l)) substituted and the targets summing to 1"


def test_only_the_brackets_around_sums_are_multiplied_out():
    i = sp.Dummy("i", integer=True, nonnegative=True)
    a, y = S.layers[3].a, S.y
    s = sp.Sum(a[i, 0], (i, 0, SPEC.widths[3] - 1))
    expr = (1 - a[0, 0]) * (2 + (y[0, 0] - 1) * s) + s**2
    found = proof._products(expr)
    assert sp.expand(sum(c * sp.Mul(*t) for c, t in found) - expr) == 0
    assert (2 * (1 - a[0, 0]), ()) in found
    assert ((1 - a[0, 0]) * (y[0, 0] - 1), (s,)) in found and (1, (s, s)) in found
