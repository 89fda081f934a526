"""The normal form of matrix expressions, within the ``terms`` limit."""

from bpverify.derive.prove.matrix import decide
from bpverify.derive.spec import NetworkSpec

SPEC = NetworkSpec(layers=3)


def verdict(wrt: str, claim: str, spec: NetworkSpec = SPEC) -> dict:
    return decide(spec, wrt, claim, 20, 0, lambda message: None)


def test_a_claim_beyond_the_terms_limit_is_not_proved_symbolically(monkeypatch):
    monkeypatch.setenv("BPVERIFY_MAX_TERMS", "1")
    v = verdict("W^(1)", "δ^(1) a^(0)T + δ^(1) a^(0)T - δ^(1) a^(0)T")
    assert v["status"] == "UNDECIDED"
    assert v["largest_difference"] < 1e-20
