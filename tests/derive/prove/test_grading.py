"""The Gradescope results of a claim file: points for PROVED only, feedback without the answer."""

import doctest

from bpverify.derive.prove import grading
from bpverify.derive.prove.grading import results

PROVED = {"line": 2, "status": "PROVED", "wrt": "w^(3)_jk", "claim": "c", "message": "m"}
REFUTED = {
    "line": 4,
    "status": "REFUTED",
    "wrt": "b^(3)_j",
    "claim": "2*(a^(3)_j - y_j)",
    "message": "the claim differs from dC_0/db^(3)_j = 2*(a^(3)_j - y_j)*sigma'(z^(3)_j)",
    "hint": "looks like sigma' is missing",
    "counterexample": {"j": 1, "y_1": "5/2"},
    "claim_value": "-4.2",
    "truth_value": "-1.0",
}
UNDECIDED = {
    "line": 5,
    "status": "UNDECIDED",
    "wrt": "w^(1)_jk",
    "claim": "c",
    "message": "past the budget of 2 s (--timeout)",
}
BAD = {"line": 7, "status": "BAD INPUT", "message": "the claim ends too early"}


def test_one_test_per_record_with_points_only_when_proved():
    out = results([PROVED, REFUTED, UNDECIDED, BAD], points=2.5)
    assert [t["score"] for t in out["tests"]] == [2.5, 0.0, 0.0, 0.0]
    assert [t["max_score"] for t in out["tests"]] == [2.5] * 4
    assert [t["status"] for t in out["tests"]] == ["passed", "failed", "failed", "failed"]
    assert [t["number"] for t in out["tests"]] == ["2", "4", "5", "7"]
    assert out["score"] == 2.5
    assert out["output"] == "1 of 4 derivations proved"


def test_a_test_is_named_by_its_line_and_quantity():
    names = [t["name"] for t in results([PROVED, BAD])["tests"]]
    assert names == ["line 2: dC_0/dw^(3)_jk", "line 7"]


def test_feedback_has_the_hint_and_counterexample_but_never_the_derived_formula():
    (test,) = results([REFUTED])["tests"]
    out = test["output"]
    assert "hint: looks like sigma' is missing" in out
    assert "your claim gives -4.2, the derivative -1.0, at j = 1, y_1 = 5/2" in out
    assert "sigma'(z^(3)_j)" not in out
    assert out.splitlines()[1] == "REFUTED: not equal to the derivative"


def test_undecided_and_bad_lines_say_why():
    undecided, bad = results([UNDECIDED, BAD])["tests"]
    assert "UNDECIDED: past the budget of 2 s (--timeout)" in undecided["output"]
    assert bad["output"] == "BAD INPUT: the claim ends too early"


def test_an_empty_file_scores_nothing():
    assert results([]) == {"score": 0, "output": "0 of 0 derivations proved", "tests": []}


def test_the_docstring_example_runs():
    assert doctest.testmod(grading).failed == 0
