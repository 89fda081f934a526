"""The mistakes of matrix claims, named from a shape mismatch or from a variant of the truth."""

import pytest

from bpverify.derive.prove.matrix import decide
from bpverify.derive.spec import NetworkSpec

SPEC = NetworkSpec(layers=3)


def verdict(wrt: str, claim: str, spec: NetworkSpec = SPEC) -> dict:
    return decide(spec, wrt, claim, 20, 0, lambda message: None)


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
