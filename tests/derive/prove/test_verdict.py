import importlib

import pytest
import sympy as sp

from bpverify.derive import NetworkSpec
from bpverify.derive.budget import PROVE_TIMEOUT
from bpverify.derive.prove import STATUSES, ClaimError, Verdict, proof, prove

SPEC = NetworkSpec(layers=3)
# The seed's results, in its notation, for a three-layer sigmoid network with squared loss.
W3 = "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"
B3 = "sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"
A2 = "sum_j(w^(3)_jk * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j))"
W2 = "a^(1)_k * sigma'(z^(2)_j) * sum_i(w^(3)_ij * sigma'(z^(3)_i) * 2*(a^(3)_i - y_i))"


@pytest.mark.parametrize(
    ("wrt", "claim"),
    [
        ("w^(3)_jk", W3),
        ("w^(L)_jk", r"a^{(L-1)}_k \sigma'(z^{(L)}_j) 2(a^{(L)}_j - y_j)"),
        ("b^(3)_j", B3),
        ("a^(2)_k", A2),
        ("w^(2)_jk", W2),
        ("b^(2)_j", "sigma'(z^(2)_j) * sum_i(w^(3)_ij * sigma'(z^(3)_i) * 2*(a^(3)_i - y_i))"),
        ("z^(2)_j", "sigma'(z^(2)_j) * sum_i(w^(3)_ij * sigma'(z^(3)_i) * 2*(a^(3)_i - y_i))"),
        ("w^(3)_pq", "a^(2)_q * sigma'(z^(3)_p) * 2*(a^(3)_p - y_p)"),
        ("w^(3)_10", "a^(2)_0 * sigma'(z^(3)_1) * 2*(a^(3)_1 - y_1)"),
        ("a^(3)_j", "2*(a^(3)_j - y_j)"),
    ],
)
def test_the_seeds_formulas_are_proved(wrt, claim):
    v = prove(SPEC, wrt, claim)
    assert v.status == "PROVED", v.message
    assert v.hint is None and v.counterexample is None


def test_the_truth_is_shown_in_the_claims_own_index_letters():
    v = prove(SPEC, "w^(3)_pq", "a^(2)_q")
    assert v.truth == "2*(a^(3)_p - y_p)*sigma'(z^(3)_p)*a^(2)_q"
    assert v.message == f"the claim differs from dC_0/dw^(3)_pq = {v.truth}"


def test_a_proof_through_the_definition_of_sigma_says_so():
    v = prove(SPEC, "w^(3)_jk", "a^(2)_k * a^(3)_j*(1 - a^(3)_j) * 2*(a^(3)_j - y_j)")
    assert v.status == "PROVED"
    assert v.message.endswith("(sigmoid: sigma' = a*(1 - a)): this proof holds for sigmoid only)")
    claim = "a^(2)_k * (1/sigma(z^(3)_j) - 1) * sigma(z^(3)_j)^2 * 2*(a^(3)_j - y_j)"
    v = prove(SPEC, "w^(3)_jk", claim)
    assert v.status == "PROVED"
    assert v.message.endswith(
        "(with sigma written out by its definition: this proof holds for sigmoid only)"
    )


def test_one_neuron_per_layer_needs_no_indices():
    v = prove(NetworkSpec(3, (1, 1, 1, 1)), "w^(L)", "a^(L-1) * sigma'(z^(L)) * 2*(a^(L) - y)")
    assert v.status == "PROVED"


def test_a_wrong_claim_is_refuted_with_a_counterexample_whose_values_really_differ():
    v = prove(SPEC, "w^(3)_jk", "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j + y_j)")
    assert v.status == "REFUTED"
    point = v.counterexample
    assert {"widths", "j", "k"} <= set(point)
    c, t = sp.Float(v.claim_value), sp.Float(v.truth_value)
    assert abs(c - t) > 1e-6 * max(1, abs(t))
    # Recompute both sides from the reported values: the sigmoid written out, a^(3) and
    # z^(3) as reported (they come from the forward pass), to the 15 digits reported.
    j, k = point["j"], point["k"]
    a2, a3 = sp.Float(point[f"a^(2)_{k}"]), sp.Float(point[f"a^(3)_{j}"])
    z3, y = sp.Float(point[f"z^(3)_{j}"]), sp.Rational(point[f"y_{j}"])
    s = 1 / (1 + sp.exp(-z3))
    assert abs(s - a3) < 1e-12
    assert abs(a2 * s * (1 - s) * 2 * (a3 + y) - c) < 1e-10
    assert abs(a2 * s * (1 - s) * 2 * (a3 - y) - t) < 1e-10


def test_a_refutation_carries_the_hint_of_the_mistake_it_matches():
    v = prove(SPEC, "w^(3)_jk", "a^(2)_k * 2*(a^(3)_j - y_j)")
    assert v.status == "REFUTED" and v.hint.startswith("looks like sigma' is missing")
    assert prove(SPEC, "b^(3)_j", "sigma'(z^(3)_j) * 3*(a^(3)_j - y_j) + 1").hint is None


def test_a_letter_wrt_does_not_name_is_reported_as_free():
    v = prove(SPEC, "w^(3)_jk", "a^(2)_m * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)")
    assert v.status == "REFUTED"
    assert v.message.endswith("; its index m is not one of --wrt's, so it stays free")


def test_undecided_when_simplify_gives_up_and_no_point_differs(monkeypatch):
    monkeypatch.setattr(proof, "vanishes", lambda expr, rational=False: False)
    v = prove(SPEC, "w^(3)_jk", W3, points=5)
    assert v.status == "UNDECIDED"
    assert v.points == 5 and v.largest_difference < 1e-20
    assert "largest relative difference" in v.message and v.notes == []


def test_undecided_notes_the_points_skipped(monkeypatch):
    monkeypatch.setattr(proof, "vanishes", lambda expr, rational=False: False)
    # sigma(z) / a is 1 at every point, but unit 2 exists only where the random width is 3
    v = prove(SPEC, "w^(3)_jk", W3 + " * sigma(z^(1)_2) / a^(1)_2", points=12)
    assert v.status == "UNDECIDED" and 0 < v.points < 12
    assert v.notes == [f"{12 - v.points} points skipped: the claim names units the network lacks"]


def test_the_point_search_is_reproducible():
    a = prove(SPEC, "w^(3)_jk", "a^(2)_k", seed=4)
    b = prove(SPEC, "w^(3)_jk", "a^(2)_k", seed=4)
    assert a.counterexample == b.counterexample


def test_concrete_widths_and_other_activations_and_losses():
    spec = NetworkSpec(2, (2, 3, 2), activations=("tanh", "sigmoid"), loss="cross-entropy")
    claim = "sigma'(z^(2)_j) * (a^(2)_j - y_j) / (a^(2)_j * (1 - a^(2)_j))"
    assert prove(spec, "b^(2)_j", claim).status == "PROVED"
    # sigmoid and cross-entropy: sigma'(z) / (a (1 - a)) is 1
    assert prove(spec, "b^(2)_j", "a^(2)_j - y_j").status == "PROVED"
    assert prove(spec, "b^(2)_j", "2*(a^(2)_j - y_j)").status == "REFUTED"
    # sigma' of layer 1 is tanh's, of layer 2 the sigmoid's
    below = "sigma'(z^(1)_j) * sum_i(w^(2)_ij * sigma'(z^(2)_i) * (a^(2)_i - y_i)"
    below += " / (a^(2)_i * (1 - a^(2)_i)))"
    assert prove(spec, "b^(1)_j", below).status == "PROVED"


def test_softmax_networks_are_proved_through_z_and_refuse_a_sigma_of_the_output():
    spec = NetworkSpec(3, loss="softmax-cross-entropy")
    assert prove(spec, "b^(3)_j", "a^(3)_j - y_j").status == "PROVED"
    below = "a^(1)_k * sigma'(z^(2)_j) * sum_i(w^(3)_ij * (a^(3)_i - y_i))"
    assert prove(spec, "w^(2)_jk", below).status == "PROVED"
    # the random targets sum to 1, as the loss assumes: a - y is right only then
    v = prove(spec, "w^(2)_jk", below.replace("- y_i", "+ y_i"))
    assert v.status == "REFUTED"
    with pytest.raises(ClaimError, match="is not applied unit by unit"):
        prove(spec, "b^(3)_j", "sigma'(z^(3)_j)")
    with pytest.raises(ClaimError, match="differentiate by z"):
        prove(spec, "a^(3)_j", "a^(3)_j - y_j")


def test_every_loss_is_proved_through_its_derivative_by_name():
    for loss in ("squared", "cross-entropy", "half-squared", "huber"):
        spec = NetworkSpec(3, loss=loss)
        claim = "a^(1)_k * sigma'(z^(2)_j) * sum_i(w^(3)_ij * sigma'(z^(3)_i) * dC_0/da^(3)_i)"
        assert prove(spec, "w^(2)_jk", claim).status == "PROVED", loss
        assert prove(spec, "w^(2)_jk", "a^(1)_k * dC_0/da^(2)_j").status == "REFUTED", loss


def test_a_timeout_that_runs_out_is_undecided_and_says_how_to_raise_it():
    v = prove(SPEC, "w^(3)_jk", W3, timeout=0.001)
    assert v.status == "UNDECIDED"
    assert v.message == (
        "the proof did not finish within the 0.001 s budget (--timeout 0.001): give it more time"
    )
    assert prove(SPEC, "w^(3)_jk", W3, timeout=60).status == "PROVED"


def test_a_claim_too_large_to_expand_is_refuted_by_the_points_alone():
    v = prove(SPEC, "w^(3)_jk", "((a^(1)_k + a^(2)_k + y_j)^10 + 1)^10")
    assert v.status == "REFUTED"


def test_undecided_names_the_parts_left_out():
    spec = NetworkSpec(2, (200, 200, 1))  # 40,401 parameters: no random network
    v = prove(spec, "b^(2)_0", "sigma'(z^(2)_0) * 2*(a^(2)_0 - y_0) + a^(1)_0 - a^(1)_0*1")
    assert v.status == "PROVED"
    v = prove(spec, "b^(2)_0", "sigma'(z^(2)_0) * (a^(2)_0 - y_0)")
    assert v.status == "UNDECIDED" and v.message.endswith("and no random network was tried")
    assert v.notes[0].startswith("no counterexample was searched for: the network's 40401")


def test_bad_input_raises_claim_error():
    with pytest.raises(ClaimError, match="--wrt"):
        prove(SPEC, "x_j", "1")
    with pytest.raises(ClaimError, match="points must be at least 1"):
        prove(SPEC, "b^(3)_j", B3, points=0)
    with pytest.raises(ValueError):
        prove(SPEC, "b^(3)_j", "a^(2)_k.__class__")


def test_the_record_holds_every_field():
    v = prove(SPEC, "b^(3)_j", "sigma'(z^(3)_j) * (a^(3)_j - y_j)")
    record = v.to_dict()
    assert set(record) == set(Verdict.__dataclass_fields__)
    assert record["status"] in STATUSES and record["hint"] == v.hint


def test_claim_text_never_reaches_sympify(monkeypatch):
    sympify_module = importlib.import_module("sympy.core.sympify")

    real = sympify_module.sympify
    claim = "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j) / 2.5"

    def guarded(a, *args, **kwargs):
        # SymPy sympifies its own constant names internally; no piece of the claim may pass.
        assert not (isinstance(a, str) and len(a) > 1 and a in claim), f"sympify saw {a!r}"
        return real(a, *args, **kwargs)

    # Rational("2.5") and every SymPy constructor go through these two names.
    monkeypatch.setattr(sympify_module, "sympify", guarded)
    monkeypatch.setattr(sp, "sympify", guarded)
    assert prove(SPEC, "w^(3)_jk", claim).status == "REFUTED"


# dC_0/da^(2)_k sums over the units of layer 3; these bounds name layers 2 and 1
WRONG_BOUND = r"\sum_{j=0}^{n_{L-1}-1} w^{(3)}_{jk} \sigma'(z^{(3)}_j) 2(a^{(3)}_j - y_j)"
BOUND_1 = WRONG_BOUND.replace("n_{L-1}", "n_{1}")


def test_a_sum_over_the_wrong_layer_is_refuted_at_a_network_with_distinct_widths():
    v = prove(SPEC, "a^(2)_k", WRONG_BOUND)
    assert v.status == "REFUTED"
    widths = [int(w) for w in v.counterexample["widths"].split(",")]
    assert len(set(widths)) == 4 and widths[2] < widths[3]  # the sum stops short of layer 3's
    assert "layer 2 (to n_2 - 1)" in v.hint


@pytest.mark.parametrize("claim", [WRONG_BOUND, BOUND_1])
def test_with_concrete_widths_a_sum_past_the_units_of_a_layer_is_refuted_not_a_crash(claim):
    # layer 3 has 2 units; the sum runs over 4
    v = prove(NetworkSpec(3, (3, 4, 4, 2)), "a^(2)_k", claim)
    assert v.status == "REFUTED" and v.claim_value == "undefined"
    assert "a unit that this network (widths 3,4,4,2) does not have" in v.message
    assert v.counterexample["widths"] == "3,4,4,2" and float(v.truth_value) != 0


@pytest.mark.parametrize(("claim", "layer"), [(WRONG_BOUND, 2), (BOUND_1, 1)])
def test_with_concrete_widths_a_sum_stopping_short_is_refuted_with_its_layer(claim, layer):
    v = prove(NetworkSpec(3, (3, 4, 2, 5)), "a^(2)_k", claim)
    assert v.status == "REFUTED" and v.counterexample["widths"] == "3,4,2,5"
    assert f"units of layer {layer} (to n_{layer} - 1)" in v.hint


def test_a_wrong_claim_by_an_activation_is_refuted_with_its_factor():
    # no index letter beyond --wrt's k: the mistakes that free one are not tried
    v = prove(SPEC, "a^(2)_k", "sum_j(w^(3)_jk * sigma'(z^(3)_j) * 3*(a^(3)_j - y_j))")
    assert v.status == "REFUTED"
    assert v.hint == "your expression is exactly 3/2 times the derivative"


def test_the_quantity_comes_from_wrt_or_from_the_claims_left_hand_side():
    spec = NetworkSpec(layers=3)
    claim = "dC_0/db^(3)_j = sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"
    v = prove(spec, None, claim)
    assert (v.status, v.wrt, v.of) == ("PROVED", "b^(3)_j", "C_0")
    with pytest.raises(ClaimError, match="differ"):
        prove(spec, "b^(2)_j", claim)
    with pytest.raises(ClaimError, match="give the quantity"):
        prove(spec, None, "sigma'(z^(3)_j)")
    assert prove(spec, None, "dC/dW^(3) = delta^(3) a^(2)T").of == "C"


def test_a_wrong_claim_deep_in_an_eight_layer_network_is_decided_within_the_default_budget():
    # the zero test multiplied out every bracket of sigma' by the output, a(1 - a), at every
    # level of the seven nested sums: a minute or more, UNDECIDED at the command's budget
    claim = "a^(0)_k * sigma'(z^(1)_j) * sum_i(w^(2)_ij * 2*(a^(2)_i - y_i))"
    v = prove(NetworkSpec(layers=8), "w^(1)_jk", claim, timeout=PROVE_TIMEOUT)
    assert v.status == "REFUTED", v.message
