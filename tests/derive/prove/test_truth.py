import pytest
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from bpverify.derive import ACTIVATIONS, NetworkSpec, derive_network
from bpverify.derive.notation import j, k
from bpverify.derive.prove.claims import ClaimError, generic_symbols, parse_claim, parse_wrt
from bpverify.derive.prove.proof import vanishes
from bpverify.derive.prove.truth import proof_task, truth_of

SPEC = NetworkSpec(layers=3)
S = generic_symbols(SPEC)
D = derive_network(SPEC)
SIG = ACTIVATIONS["sigmoid"]


def output_error(i):
    """dC_0/da^(3)_i of the squared loss."""
    return 2 * (S.layers[3].a[i, 0] - S.y[i, 0])


def test_the_output_layer_is_the_seeds_formula():
    truth, free = truth_of(D, parse_wrt(SPEC, "w^(3)_jk"))
    assert free == (j, k)
    expected = S.a(2)[k, 0] * SIG.prime(S.layers[3].z[j, 0]) * output_error(j)
    assert sp.expand(truth - expected) == 0
    truth, free = truth_of(D, parse_wrt(SPEC, "a^(3)_j"))
    assert free == (j,) and sp.expand(truth - output_error(j)) == 0


def test_the_recursion_is_resolved_into_the_layer_above():
    truth, free = truth_of(D, parse_wrt(SPEC, "a^(2)_k"))
    assert free == (k,)
    i = sp.Dummy("i", integer=True, nonnegative=True)
    upper = S.layers[3]
    expected = sp.Sum(
        upper.W[i, k] * SIG.prime(upper.z[i, 0]) * output_error(i), (i, 0, SPEC.widths[3] - 1)
    )
    assert vanishes(truth - expected)


def test_the_task_puts_the_claim_in_the_truths_index_letters():
    target = parse_wrt(SPEC, "w^(3)_pq")
    task = proof_task(D, target, parse_claim(SPEC, "a^(2)_q * sigma'(z^(3)_p) * a^(1)_m"))
    assert task.free == (j, k)
    assert task.claimed.has(S.a(2)[k, 0]) and task.claimed.has(S.layers[3].z[j, 0])
    # m is not one of --wrt's letters: renamed apart, so it can never meet j or k
    (m,) = task.extra
    assert m.name == "m" and m in task.claimed.free_symbols


def test_index_digits_of_wrt_are_put_into_the_truth():
    task = proof_task(D, parse_wrt(SPEC, "w^(3)_10"), parse_claim(SPEC, "a^(2)_0"))
    assert not task.truth.has(j) and not task.truth.has(k)
    assert task.truth.has(S.layers[3].z[1, 0]) and task.truth.has(S.a(2)[0, 0])


def test_no_upstream_gradient_is_left_in_a_deep_truth():
    for wrt in ["a^(1)_k", "w^(1)_jk", "z^(1)_j"]:
        truth, _ = truth_of(D, parse_wrt(SPEC, wrt))
        names = {m.name for m in truth.atoms(sp.MatrixSymbol)}
        assert not any(name.startswith("dC_da") for name in names), wrt
        assert "W3" in names and "y" in names


def test_the_derived_gradient_a_claim_names_is_put_in_for_it():
    # dC_0/da^(3)_i in the claim is the loss's derivative at unit i
    t = proof_task(D, parse_wrt(SPEC, "b^(3)_j"), parse_claim(SPEC, "dC_0/da^(3)_j"))
    assert t.claimed == output_error(j)
    t = proof_task(D, parse_wrt(SPEC, "w^(2)_jk"), parse_claim(SPEC, "a^(1)_k * dC_0/da^(1)_k"))
    names = {m.parent.name for m in t.claimed.atoms(MatrixElement)}
    assert not any(name.startswith("dC_da") for name in names)
    upstream, _ = truth_of(D, parse_wrt(SPEC, "a^(1)_k"))
    assert vanishes(t.claimed - parse_claim(SPEC, "a^(1)_k") * upstream)


def test_a_softmax_network_has_no_gradient_by_each_output():
    spec = NetworkSpec(layers=2, loss="softmax-cross-entropy")
    d = derive_network(spec)
    with pytest.raises(ClaimError, match="differentiate by z"):
        truth_of(d, parse_wrt(spec, "a^(2)_j"))
    truth, _ = truth_of(d, parse_wrt(spec, "z^(2)_j"))
    assert truth == generic_symbols(spec).layers[2].a[j, 0] - generic_symbols(spec).y[j, 0]


def test_a_huber_truth_keeps_its_branches_inside_their_sums():
    spec = NetworkSpec(layers=3, loss="huber")
    truth, _ = truth_of(derive_network(spec), parse_wrt(spec, "a^(1)_k"))
    assert not truth.has(sp.Piecewise)
    # each indicator stands inside the sum whose index it names: no summation index is free
    assert not [s for s in truth.free_symbols if isinstance(s, sp.Dummy)]
