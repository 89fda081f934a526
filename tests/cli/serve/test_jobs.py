import pytest

pytest.importorskip("latex2mathml")

from bpverify.cli.serve import jobs
from bpverify.derive import NetworkSpec, derive_network, report
from bpverify.derive.prove import ClaimError

SPEC = NetworkSpec(1)


def test_derivation_is_derive_json_with_mathml_latex_and_the_document():
    answer = jobs.derivation(SPEC, "index", False)
    expected = report.records(derive_network(SPEC), "index", None)
    assert {k: answer[k] for k in expected} == expected
    rows = [r for s in answer["sections"] for r in s["rows"]]
    assert rows and all(r["mathml"].startswith("<math") for r in rows)
    assert answer["latex"] == report.latex_block(derive_network(SPEC), "index")


def test_preview_shows_the_claim_as_read_with_its_left_hand_side():
    seen = jobs.preview(SPEC, None, "dC_0/db^(1)_j = sigma'(z^(1)_j) 2(a^(1)_j - y_j)")
    assert seen["wrt"] == "b^(1)_j"
    assert seen["latex"].startswith(r"\frac{\partial C_0}{\partial b^{(1)}_{j}} = ")
    with pytest.raises(ClaimError):
        jobs.preview(SPEC, "b^(1)_j", "sigma'(z^(1)_j")


def test_code_and_check_are_of_the_generated_module():
    assert "def gradients(" in jobs.code(NetworkSpec(1, (2, 1)))["source"]
    from bpverify.numeric.check.options import CheckOptions

    doc = jobs.check(NetworkSpec(1, (2, 1)), CheckOptions(points=1))
    assert doc["passed"] and doc["reports"][0]["candidate"] == "generated"
