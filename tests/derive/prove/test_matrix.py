"""Matrix claims: read in the notations people write, proved at symbolic sizes, refuted with the
mistake named, and everything ``derive --form matrix`` prints accepted verbatim."""

import pytest
from click.testing import CliRunner

from bpverify.cli.main import main
from bpverify.derive.network import derive_network
from bpverify.derive.printing import latex, pretty
from bpverify.derive.prove import Verdict, prove
from bpverify.derive.prove.matrix import decide
from bpverify.derive.report import _name, lhs
from bpverify.derive.spec import NetworkSpec

SPEC = NetworkSpec(layers=3)


def verdict(wrt: str, claim: str, spec: NetworkSpec = SPEC) -> dict:
    return decide(spec, wrt, claim, 20, 0, lambda message: None)


def test_proof_by_the_definition_says_so():
    spec = NetworkSpec(layers=2, loss="cross-entropy")
    v = verdict("delta^(2)", "1/n (a^(2) - y)", spec)
    assert v["status"] == "PROVED"
    assert "definition of sigmoid" in v["message"]


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
