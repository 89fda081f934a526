"""Matrix claims: read in the notations people write, proved at symbolic sizes, refuted with the
mistake named, and everything ``derive --form matrix`` prints accepted verbatim."""

import re

import pytest
from click.testing import CliRunner

from bpverify.cli.main import main
from bpverify.derive.limits import LimitError
from bpverify.derive.network import derive_network
from bpverify.derive.printing import latex, pretty
from bpverify.derive.prove import ClaimError, Verdict, prove
from bpverify.derive.prove.matrix import decide, flatten, left_wrt, matrix_wrt
from bpverify.derive.report import _name, lhs
from bpverify.derive.spec import NetworkSpec

SPEC = NetworkSpec(layers=3)


def verdict(wrt: str, claim: str, spec: NetworkSpec = SPEC) -> dict:
    return decide(spec, wrt, claim, 20, 0, lambda message: None)


@pytest.mark.parametrize(
    ("wrt", "claim"),
    [
        ("W^(3)", "delta^(3) a^(2)T"),
        ("W^(3)", r"\delta^{(3)} (a^{(2)})^T"),
        ("W^(3)", "δ^(3) · a^(2)ᵀ"),
        ("W^(3)", "δ^(3) @ a^(2).T".replace(".T", "^T")),
        ("W^(2)", r"\frac{\partial C}{\partial W^{(2)}} = \delta^{(2)} \left(a^{(1)}\right)^\top"),
        ("W^(2)", "dC/dW^(2) = delta^(2) * a^(1)^T"),
        ("a^(2)", "W^(3)^T delta^(3)"),
        ("a^(2)", r"(W^{(3)})^\top \delta^{(3)}"),
        ("delta^(2)", "δ^(l) = (W^(l+1)T δ^(l+1)) ⊙ σ'(z^(l))"),
        ("δ^(2)", r"\left(W^{(3)T} \delta^{(3)}\right) \odot \sigma'\left(z^{(2)}\right)"),
        ("delta^(1)", "σ′(z^(1)) ∘ (W^(2)ᵀ ⋅ δ^(2))"),
        ("b^(3)", "delta^(3) 1_n"),
        ("b^(3)", "δ^(3) 𝟏"),
        ("delta^(3)", "σ'(z^(3)) ⊙ (2/n (a^(3) − y))"),
        ("delta^(3)", "2/n (a^(L) - y) ⊙ sigma'(z^(L))"),
        ("delta^(3)", "(2/n) σ'(z^(3)) ⊙ a^(3) - 2/n σ'(z^(3)) ⊙ y"),
        ("W^(1)", "((W^(2)T ((W^(3)T δ^(3)) ⊙ σ'(z^(2)))) ⊙ σ'(z^(1))) a^(0)T"),
        ("a^(1)", "(δ^(2)T W^(2))T"),
    ],
)
def test_notations_are_proved(wrt, claim):
    assert verdict(wrt, claim)["status"] == "PROVED"


def test_proof_by_the_definition_says_so():
    spec = NetworkSpec(layers=2, loss="cross-entropy")
    v = verdict("delta^(2)", "1/n (a^(2) - y)", spec)
    assert v["status"] == "PROVED"
    assert "definition of sigmoid" in v["message"]


@pytest.mark.parametrize(
    ("wrt", "claim", "hint"),
    [
        (
            "W^(3)",
            "delta^(3) a^(2)",
            "a transpose is missing: a^(2) is n_2 x n, so delta^(3) a^(2) needs a^(2)T",
        ),
        ("a^(2)", "W^(3) delta^(3)", "a transpose is missing: W^(3) is n_3 x n_2"),
        ("a^(2)", "W^(2)T delta^(3)", "delta^(3) is carried by W^(3), not W^(2)"),
        ("W^(3)", "a^(2) delta^(3)T", "transpose it: dC/dW^(3) is n_3 x n_2"),
        ("W^(3)", "n delta^(3) a^(2)T", "n times the derivative: a 1/n is missing"),
        ("delta^(3)", "1/n (a^(3) - y) ⊙ σ'(z^(3))", "exactly 1/2 of the derivative"),
        ("delta^(3)", "2/n (y - a^(3)) ⊙ σ'(z^(3))", "the sign is flipped"),
    ],
)
def test_mistakes_are_refuted_and_named(wrt, claim, hint):
    v = verdict(wrt, claim)
    assert v["status"] == "REFUTED"
    assert hint in v["hint"]


CROSS_ENTROPY = NetworkSpec(layers=2, loss="cross-entropy")


@pytest.mark.parametrize(
    ("spec", "wrt", "claim", "hint"),
    [
        (SPEC, "delta^(2)", "W^(3)T δ^(3)", "sigma'(z^(2)) is missing"),
        (SPEC, "W^(2)", "(W^(3)T δ^(3)) a^(1)T", "sigma'(z^(2)) is missing"),
        (SPEC, "delta^(2)", "(W^(3)T δ^(3)) ⊙ σ(z^(2))", "sigma(z^(2)) is written where"),
        (SPEC, "delta^(2)", "(W^(3)T δ^(3)) ⊙ σ'(z^(3))", "sigma'(z^(3)) is the wrong layer's"),
        (SPEC, "W^(2)", "δ^(2) a^(2)T", "dC/dW^(2) takes a^(1)T, the input of layer 2"),
        (CROSS_ENTROPY, "delta^(2)", "1/n (a^(2) - y) ⊙ σ'(z^(2))", "applied once too often"),
        (CROSS_ENTROPY, "W^(2)", "(1/n (a^(2) - y) ⊙ σ'(z^(2))) a^(1)T", "once too often"),
    ],
)
def test_mistakes_of_the_chain_rule_are_named(spec, wrt, claim, hint):
    v = verdict(wrt, claim, spec)
    assert v["status"] == "REFUTED"
    assert hint in v["hint"]


def test_a_counterexample_shows_distinct_widths_and_the_entry():
    v = verdict("delta^(2)", "(W^(3)T δ^(3)) ⊙ σ'(z^(2)) ⊙ σ'(z^(2))")
    assert v["status"] == "REFUTED"
    widths = v["counterexample"]["widths"].split(",")
    assert len(set(widths)) == len(widths) == 4
    assert v["counterexample"]["n"] not in widths
    assert v["claim_value"] != v["truth_value"]


def test_concrete_widths_are_the_counterexample_network():
    v = verdict("W^(2)", "2 delta^(2) a^(1)T", NetworkSpec(layers=2, widths=(3, 4, 2)))
    assert v["status"] == "REFUTED"
    assert v["counterexample"]["widths"] == "3,4,2"


@pytest.mark.parametrize(
    ("wrt", "claim", "words"),
    [
        ("W^(3)", "delta^(3) a^(2)T +", "ends where a term should follow"),
        ("W^(3)", "delta^(3) a^(2)T $", "cannot read the matrix claim"),
        ("W^(2)", "dC/dW^(1) = delta^(2) a^(1)T", "the left-hand side names dC/dW^(1)"),
        ("W^(3)", "delta^(5) a^(2)T", "run from 1 to 3"),
        ("a^(3)", "delta^(3)", "differentiate by delta^(L)"),
        ("W^(3)", "delta^(3) a^(2)T / a^(1)", "divides by a matrix"),
        ("delta^(2)", "tanh'(z^(2)) ⊙ (W^(3)T δ^(3))", "is sigmoid, not tanh"),
    ],
)
def test_bad_claims_are_input_errors(wrt, claim, words):
    with pytest.raises(ClaimError, match=re.escape(words)):
        verdict(wrt, claim)


def test_claim_limits_hold():
    with pytest.raises(LimitError):
        verdict("W^(3)", "(" * 60 + "delta^(3)" + ")" * 60 + " a^(2)T")
    with pytest.raises(LimitError):
        verdict("W^(3)", "delta^(3) a^(2)T" + " + 0 delta^(3) a^(2)T" * 200)


def test_matrix_quantities_are_told_from_entries():
    assert all(matrix_wrt(SPEC, w) for w in ("W^(3)", r"\delta^{(2)}", "a2"))
    assert not any(matrix_wrt(SPEC, w) for w in ("w^(3)_jk", "b^(2)_j", "a2[k]"))
    # a layer of width 1 names its one entry without indices, in the index form
    assert not matrix_wrt(NetworkSpec(layers=3, widths=(1, 1, 1, 1)), "a^(L)")
    assert left_wrt("dC/dW^(2) = x") == "W^(2)"
    assert left_wrt("dC_0/dw^(3)_jk = x") is None
    assert left_wrt("delta^(3) a^(2)T") is None


def test_flatten_reads_the_pretty_printers_picture():
    assert flatten(["     T", "δ₂⋅a₁ "]) == "δ₂⋅a₁^(T)"
    assert flatten(["1        ", "─⋅(a₁ -y)", "n        "]) == "((1)/(n))⋅(a₁ -y)"
    assert flatten(["       ⎛  T   ⎞", "σ'(z₁)∘⎝W₂ ⋅δ₂⎠"]) == "σ'(z₁)∘(W₂^(T)⋅δ₂)"


NETWORKS = [
    NetworkSpec(layers=1),
    NetworkSpec(layers=2, activations="tanh"),
    NetworkSpec(layers=3, activations="relu"),
    NetworkSpec(layers=2, loss="cross-entropy"),
    NetworkSpec(layers=2, activations=("relu", "softmax"), loss="softmax-cross-entropy"),
]


@pytest.mark.parametrize("spec", NETWORKS, ids=lambda s: s.describe())
def test_everything_derive_prints_is_proved_verbatim(spec):
    d = derive_network(spec)
    for g in d.gradients("matrix"):
        q, l = g.wrt
        wrt = f"delta^({l})" if q == "z" else f"{q}^({l})"
        text = pretty(g.expr)
        claims = [latex(g.expr), f"{lhs(d, g)} = {latex(g.expr)}"]
        claims += [text, f"layer {l}, matrix form: {_name(g)} =\n{text}"]
        for claim in claims:
            assert verdict(wrt, claim, spec)["status"] == "PROVED", (wrt, claim)


def test_prove_routes_a_matrix_wrt_here():
    v = prove(NetworkSpec(layers=2), "W^(2)", "delta^(2) a^(1)T")
    assert isinstance(v, Verdict) and v.status == "PROVED"
    assert prove(
        NetworkSpec(layers=2), "b^(2)_j", "sigma'(z^(2)_j) * 2*(a^(2)_j - y_j)"
    ).status == ("PROVED")


def test_the_command_proves_and_refutes_matrix_claims():
    run = CliRunner().invoke
    ok = run(main, ["prove", "--layers", "3", "--wrt", "W^(3)", "--claim", "delta^(3) a^(2)T"])
    assert ok.exit_code == 0 and "PROVED" in ok.output
    bad = run(main, ["prove", "--layers", "3", "--wrt", "W^(3)", "--claim", "delta^(3) a^(2)"])
    assert bad.exit_code == 1 and "a transpose is missing" in bad.output
    left = run(main, ["prove", "--layers", "2", "--claim", "dC/dW^(2) = delta^(2) a^(1)T"])
    assert left.exit_code == 0, left.output


def test_a_claim_beyond_the_terms_limit_is_not_proved_symbolically(monkeypatch):
    monkeypatch.setenv("BPVERIFY_MAX_TERMS", "1")
    v = verdict("W^(1)", "δ^(1) a^(0)T + δ^(1) a^(0)T - δ^(1) a^(0)T")
    assert v["status"] == "UNDECIDED"
    assert v["largest_difference"] < 1e-20


HALF = NetworkSpec(layers=3, loss="half-squared")


@pytest.mark.parametrize(
    ("wrt", "claim"),
    [
        ("delta^(3)", "δ^L = ∇_a C ⊙ σ'(z^L)"),
        ("delta^(3)", r"\delta^L = \nabla_a C \odot \sigma'(z^L)"),
        ("delta^(2)", "δ^l = ((w^{l+1})^T δ^{l+1}) ⊙ σ'(z^l)"),
        ("b^(2)", "δ^(2) 𝟏"),
        ("W^(2)", "δ^(2) (a^(1))^T"),
        ("delta^(1)", "σ'(z^(1)) ⊙ dC/da^(1)"),
        ("delta^(1)", r"\sigma'(z^{(1)}) \odot \frac{\partial C}{\partial a^{(1)}}"),
    ],
)
def test_nielsens_equations_in_matrix_form_are_proved(wrt, claim):
    assert verdict(wrt, claim, HALF)["status"] == "PROVED"


def test_the_output_gradient_needs_an_elementwise_output():
    spec = NetworkSpec(layers=2, activations=("relu", "softmax"), loss="softmax-cross-entropy")
    with pytest.raises(ClaimError, match="write delta"):
        verdict("delta^(2)", "∇_a C", spec)
