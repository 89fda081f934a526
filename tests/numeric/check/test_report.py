"""The report of a check: verdict, table, JSON round trip and JUnit XML."""

import json
from xml.etree import ElementTree as ET

import numpy as np
import pytest

from bpverify.derive import NetworkSpec
from bpverify.numeric.check.report import Problem, Report, to_json, to_junit
from bpverify.numeric.check.run import Point, check_gradients
from bpverify.numeric.codegen.program import Program

SPEC = NetworkSpec(2, (3, 4, 2), "tanh")


@pytest.fixture(scope="module")
def passing():
    return check_gradients(SPEC, points=2)


@pytest.fixture(scope="module")
def failing():
    program = Program(SPEC)

    def wrong(params, X, Y):
        g = program.gradients(params, X, Y)
        g["b2"] = 2 * g["b2"]
        del g["W1"]
        return g

    return check_gradients(SPEC, grad_fn=wrong, points=2)


def _kinked():
    spec = NetworkSpec(2, (1, 1, 1), ("relu", "identity"))
    params = {
        "W1": np.ones((1, 1)),
        "b1": np.array([-1.0]),
        "W2": np.ones((1, 1)),
        "b2": np.ones(1),
    }
    return check_gradients(spec, at=Point(params, np.ones((1, 1)), np.zeros((1, 1))))


# -- verdict ---------------------------------------------------------------------------------------


def test_a_problem_fails_the_report_without_a_failing_comparison():
    r = Report("net", "user", "float64", "complex", 1, 4, "every entry")
    assert r.passed and r.verdict == "PASS"
    r.problems.append(Problem("W1", "missing key 'W1' in the returned dict"))
    assert not r.passed and r.verdict == "FAIL" and r.failures() == []


def test_every_tensor_and_pair_has_one_comparison(passing):
    keys = [(c.tensor, c.pair) for c in passing.comparisons]
    assert len(keys) == len(set(keys)) == 6 * 3


# -- table ---------------------------------------------------------------------------------------


def test_table_has_a_row_per_comparison_and_the_verdict(passing):
    lines = passing.table().splitlines()
    assert lines[0] == passing.header()
    assert "L=2, widths 3,4,2, tanh, squared loss" in lines[0]
    rows = [line for line in lines if line.split()[:1] in (["W1"], ["b1"], ["W2"], ["b2"])]
    assert len(rows) == 4 * 3
    assert lines[-1] == "PASS: 18 comparisons, 0 failed, 0 problem(s)"


def test_table_names_the_failures_and_problems(failing):
    text = failing.table()
    rows = [line.split() for line in text.splitlines()]
    assert ["b2", "symbolic-user"] in [r[:2] for r in rows if "FAIL" in r]
    assert "problem: W1: missing key 'W1' in the returned dict" in text
    last = text.splitlines()[-1]
    assert last.startswith("FAIL: ") and "1 problem(s)" in last
    assert "b2 symbolic-user" in last and "b2 user-fd" in last


def test_table_names_a_constant_factor_on_its_rows_and_once_as_a_hint(failing):
    lines = failing.table().splitlines()
    b2 = [line for line in lines if line.startswith("b2 ")]
    assert sum(line.endswith("FAIL (factor 2)") for line in b2) == 2  # symbolic-user, user-fd
    (hint,) = [line for line in lines if line.startswith("hint: ")]
    assert hint.startswith("hint: factor 2 on b2: yours is 2 × the reference: ")
    assert lines.index(hint) < len(lines) - 1  # before the verdict


def test_a_passing_report_has_no_hint(passing):
    assert "hint:" not in passing.table()


# -- JSON ------------------------------------------------------------------------------------------


def test_json_round_trip(passing, failing):
    doc = json.loads(to_json([passing, failing]))
    assert doc["passed"] is False
    first, second = doc["reports"]
    assert first["passed"] is True and second["passed"] is False
    assert first["network"] == passing.network and first["candidate"] == "generated"
    assert first["comparisons"] == [c.as_dict() for c in passing.comparisons]
    assert second["problems"] == [
        {"tensor": "W1", "message": failing.problems[0].message, "point": 0}
    ]
    by_key = {(c["tensor"], c["pair"]): c for c in second["comparisons"]}
    assert by_key[("b2", "symbolic-user")]["verdict"] == "FAIL"
    worst = next(
        c for c in failing.comparisons if (c.tensor, c.pair) == ("b2", ("symbolic", "user"))
    )
    assert by_key[("b2", "symbolic-user")]["max_abs_error"] == worst.max_abs
    assert by_key[("b2", "symbolic-user")]["worst_values"] == list(worst.values)
    factor = by_key[("b2", "symbolic-user")]["factor"]
    assert factor["ratio"] == 2.0 and factor["name"] == "factor 2"
    assert factor["says"] == "yours is 2 × the reference" and factor["hint"]
    assert by_key[("W2", "symbolic-user")]["factor"] is None


def test_json_of_one_report_is_its_dict(passing):
    assert json.loads(passing.to_json()) == passing.as_dict()


def test_json_writes_nan_as_null():
    report = _kinked()
    kink = next(c for c in report.comparisons if c.verdict == "kink")
    assert np.isnan(kink.values).all()
    doc = json.loads(to_json([report]))  # strict JSON: no NaN tokens
    row = next(c for c in doc["reports"][0]["comparisons"] if c["verdict"] == "kink")
    assert row["worst_values"] == [None, None]
    assert "NaN" not in to_json([report])


# -- JUnit XML -------------------------------------------------------------------------------------


def test_junit_has_one_testcase_per_tensor_and_pair(passing):
    root = ET.fromstring(to_junit([passing]))
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    names = {case.get("name") for case in cases}
    assert len(cases) == len(names) == 18
    assert "W1 symbolic-generated" in names and "dC_da1 generated-fd" in names
    assert suite.get("tests") == "18" and suite.get("failures") == "0"
    assert not list(root.iter("failure"))


def test_junit_marks_each_mismatch_and_problem_as_a_failure(failing):
    root = ET.fromstring(to_junit([failing]))
    (suite,) = root.findall("testsuite")
    failed = {
        case.get("name"): case.find("failure")
        for case in suite.findall("testcase")
        if case.find("failure") is not None
    }
    assert set(failed) == {"b2 symbolic-user", "b2 user-fd", "W1 problem"}
    assert "max abs error" in failed["b2 user-fd"].get("message")
    assert failed["W1 problem"].get("message").startswith("missing key 'W1' in the returned")
    assert "; factor 2: yours is 2 × the reference: " in failed["b2 user-fd"].get("message")
    assert suite.get("failures") == "3"
    assert int(suite.get("tests")) == len(failing.comparisons) + 1


def test_junit_has_one_suite_per_report(passing, failing):
    root = ET.fromstring(to_junit([passing, failing]))
    assert len(root.findall("testsuite")) == 2


def test_junit_skips_a_comparison_at_a_kink():
    root = ET.fromstring(to_junit([_kinked()]))
    skipped = [c.get("name") for c in root.iter("testcase") if c.find("skipped") is not None]
    assert "W1 generated-fd" in skipped and not list(root.iter("failure"))


# -- the report's name -----------------------------------------------------------------------------


def test_a_named_check_names_its_report():
    report = check_gradients((2, 2, 1), activation="tanh", points=1, name="tiny tanh")
    assert report.name == "tiny tanh"
    assert report.table().startswith("tiny tanh: ")
    assert json.loads(report.to_json())["name"] == "tiny tanh"
    assert ET.fromstring(to_junit([report])).find("testsuite").get("name") == "tiny tanh"
