"""Reading matrix claims: the notations people write, the pretty printer's two-dimensional
picture, --wrt and the left-hand side, and the claims that cannot be read."""

import re

import pytest

from bpverify.derive.limits import LimitError
from bpverify.derive.prove import ClaimError
from bpverify.derive.prove.matrix import decide
from bpverify.derive.prove.matrix_claims import flatten, left_wrt, matrix_wrt
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
