"""Grading a file of claims: one autograder test per claim, in the results format of Gradescope.

A teacher runs ``bpverify prove --claim-file homework.txt --gradescope results.json`` in the
autograder; each line of the homework is one test worth ``points`` (default 1): full marks
when PROVED, none otherwise, with the verdict's message, hint and counterexample as the test's
output, which the student reads. A line that is not a claim scores 0 and says why.

The file holds the fields Gradescope's autograder reads: ``score`` (the sum), ``output`` (a
one-line summary) and ``tests``, each with ``name``, ``number``, ``score``, ``max_score``,
``status`` ("passed" or "failed") and ``output``. No output shows the derived gradient: a
counterexample shows its value at one point, as a student checking by hand would find it.

Example:
    >>> record = {"line": 3, "status": "PROVED", "wrt": "w^(3)_jk", "claim": "...",
    ...           "message": "equal to the derived gradient"}
    >>> results([record])["tests"][0]["score"]
    1.0
"""

from __future__ import annotations

from collections.abc import Iterable

PASSED = "PROVED"
"""The one status that earns a test's points."""


def results(records: Iterable[dict], points: float = 1.0) -> dict:
    """The results file of the claim-file ``records`` (one per line: its ``line``, ``status``
    and, for a verdict, the fields of ``Verdict.to_dict``; for bad input its ``message``)."""
    tests = [_test(record, points) for record in records]
    score = sum(t["score"] for t in tests)
    proved = sum(t["status"] == "passed" for t in tests)
    return {
        "score": score,
        "output": f"{proved} of {len(tests)} derivations proved",
        "tests": tests,
    }


def _test(record: dict, points: float) -> dict:
    status = record["status"]
    wrt = record.get("wrt")
    name = f"line {record['line']}" + (f": dC_0/d{wrt}" if wrt else "")
    return {
        "name": name,
        "number": str(record["line"]),
        "score": points if status == PASSED else 0.0,
        "max_score": points,
        "status": "passed" if status == PASSED else "failed",
        "output": _output(record),
    }


SAID = {
    "PROVED": "equal to the derivative",
    "REFUTED": "not equal to the derivative",
}
"""What a test's output says of these verdicts: never the derived formula, which the verdict's
own message shows and a student's feedback must not."""


def _output(record: dict) -> str:
    """What the student reads: the verdict and its reason (the budget of an UNDECIDED claim,
    the problem of a line that is not a claim), the hint, the counterexample."""
    status = record["status"]
    lines = [f"{status}: {SAID.get(status, record.get('message', ''))}"]
    if record.get("claim"):
        lines.insert(0, f"your claim: {record['claim']}")
    if record.get("hint"):
        lines.append(f"hint: {record['hint']}")
    point = record.get("counterexample")
    if point:
        lines.append(
            f"counterexample: your claim gives {record.get('claim_value')}, the derivative "
            f"{record.get('truth_value')}, at "
            + ", ".join(f"{name} = {value}" for name, value in point.items())
        )
    return "\n".join(lines)
