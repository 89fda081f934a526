"""``compare``: the agreement criterion, relative errors, the worst entry, kinks and masks."""

import numpy as np
import pytest

from bpverify.numeric.check.compare import TOLERANCES, compare, tolerance

PAIR = ("symbolic", "generated")


def _cmp(a, b, rtol=0.0, atol=0.0, scale=0.0, **kw):
    return compare("W1", PAIR, np.asarray(a, float), np.asarray(b, float), rtol, atol, scale, **kw)


def test_rtol_is_relative_to_the_larger_magnitude():
    # |2 - 1.5| = 0.5 = 0.25 * max(2, 1.5): on the boundary, which passes
    assert _cmp([2.0], [1.5], rtol=0.25).verdict == "pass"
    assert _cmp([2.0], [1.5], rtol=0.125).verdict == "FAIL"


def test_atol_is_relative_to_the_scale():
    assert _cmp([1e-3], [1e-3 + 5e-10], atol=1e-9, scale=1.0).verdict == "pass"
    assert _cmp([1e-3], [1e-3 + 5e-10], atol=1e-9, scale=0.1).verdict == "FAIL"


def test_noise_widens_the_criterion_entry_by_entry():
    a, b = np.array([1.0, 1.0]), np.array([1.5, 1.5])
    assert _cmp(a, b, noise=np.array([0.5, 0.5])).verdict == "pass"
    c = _cmp(a, b, noise=np.array([0.5, 0.25]))
    assert c.verdict == "FAIL" and c.worst == (1,)


def test_the_ratio_is_error_over_allowed():
    c = _cmp([1.0, 4.0], [1.25, 4.0], rtol=0.0625, atol=0.0, scale=4.0)
    # allowed 0.0625 * 1.25 = 0.078125, error 0.25
    assert c.ratio == pytest.approx(3.2)
    assert c.verdict == "FAIL"


def test_equal_values_pass_with_zero_tolerance():
    c = _cmp([0.3, -2.0], [0.3, -2.0])
    assert c.verdict == "pass" and c.ratio == 0.0 and c.max_abs == 0.0


def test_any_difference_fails_with_zero_tolerance():
    c = _cmp([0.3], [np.nextafter(0.3, 1.0)])
    assert c.verdict == "FAIL"


def test_relative_error_is_zero_where_both_are_zero():
    c = _cmp([0.0, 0.0, 2.0], [0.0, 0.0, 2.0])
    assert c.max_rel == 0.0 and not np.isnan(c.max_rel)
    assert c.verdict == "pass"


def test_relative_error_of_a_value_against_zero_is_one():
    c = _cmp([0.0, 1.0], [1e-3, 1.0], atol=1.0, scale=1.0)
    assert c.max_rel == 1.0 and c.max_abs == pytest.approx(1e-3)


def test_worst_is_the_entry_furthest_beyond_its_tolerance():
    a = np.array([[100.0, 1.0], [3.0, 4.0]])
    b = np.array([[100.5, 1.1], [3.0, 4.0]])
    c = _cmp(a, b, rtol=1e-3)
    # the largest absolute error is at [0, 0], but [0, 1] is further beyond its tolerance
    assert c.worst == (0, 1)
    assert c.values == (1.0, 1.1)
    assert c.max_abs == pytest.approx(0.5)
    assert c.max_rel == pytest.approx(0.1 / 1.1)


def test_worst_values_are_in_pair_order():
    c = _cmp([[1.0, 2.0, 3.0]], [[1.0, 2.0, -3.0]])
    assert c.worst == (0, 2) and c.values == (3.0, -3.0)


def test_kinks_are_left_out_and_counted():
    kinks = np.array([False, True, False])
    c = _cmp([1.0, 5.0, 2.0], [1.0, 0.0, 2.0], rtol=1e-9, kinks=kinks)
    assert c.verdict == "pass"
    assert c.kinks == 1 and c.compared == 2


def test_a_mismatch_beside_a_kink_still_fails():
    kinks = np.array([False, True, False])
    c = _cmp([1.0, 5.0, 2.0], [1.0, 0.0, 2.5], rtol=1e-9, kinks=kinks)
    assert c.verdict == "FAIL" and c.worst == (2,)


def test_all_entries_at_kinks_is_the_kink_verdict():
    c = _cmp([1.0, 5.0], [3.0, 0.0], kinks=np.array([True, True]))
    assert c.verdict == "kink"
    assert c.passed
    assert c.compared == 0 and c.kinks == 2 and c.worst == ()


def test_the_mask_limits_the_entries_compared():
    mask = np.array([[True, False], [False, True]])
    c = _cmp([[1.0, 9.0], [9.0, 2.0]], [[1.0, 0.0], [0.0, 2.0]], mask=mask)
    assert c.verdict == "pass" and c.compared == 2


def test_kinks_outside_the_mask_are_not_counted():
    mask = np.array([True, False, True])
    kinks = np.array([False, True, True])
    c = _cmp([1.0, 2.0, 3.0], [1.0, 0.0, 0.0], mask=mask, kinks=kinks)
    assert c.kinks == 1 and c.compared == 1 and c.verdict == "pass"


def test_a_nan_never_agrees_and_raises_no_warning():
    # pytest turns warnings into errors here: a NaN must be reported, not warned about
    c = _cmp([1.0], [np.nan], rtol=1.0, atol=1.0, scale=1.0)
    assert c.verdict == "FAIL"
    assert c.worst == (0,)
    assert c.values[0] == 1.0 and np.isnan(c.values[1])


def test_a_nan_beside_finite_entries_fails():
    c = _cmp([1.0, 2.0], [1.0, np.nan], rtol=1.0, atol=1.0, scale=1.0)
    assert c.verdict == "FAIL" and c.worst == (1,)


def test_a_pair_takes_the_larger_tolerance_of_its_rows():
    assert tolerance("symbolic", "float64") == TOLERANCES["float64"]
    assert tolerance("float32", "richardson") == (2e-3, 2e-4)
    assert tolerance("float64", "central") == TOLERANCES["central"]
    assert tolerance("symbolic", "symbolic") == (0.0, 0.0)


def test_a_custom_table_replaces_the_tolerances():
    table = {"a": (0.1, 0.0), "b": (0.0, 0.2)}
    assert tolerance("a", "b", table) == (0.1, 0.2)


def test_tolerances_cover_every_dtype_and_method():
    from bpverify.numeric.check.finite import METHODS
    from bpverify.numeric.check.options import DTYPES

    assert {"symbolic", *DTYPES, *METHODS} <= set(TOLERANCES)
    # finite differences are held more loosely than float64 code, float32 most loosely
    assert TOLERANCES["float64"] < TOLERANCES["complex"] < TOLERANCES["richardson"]
    assert TOLERANCES["richardson"] < TOLERANCES["central"] < TOLERANCES["float32"]


def test_as_dict_names_the_pair_and_the_worst_entry():
    d = _cmp([[1.0, 2.0]], [[1.0, 3.0]]).as_dict()
    assert d["pair"] == "symbolic-generated"
    assert d["worst_index"] == [0, 1] and d["worst_values"] == [2.0, 3.0]
    assert d["verdict"] == "FAIL" and d["compared"] == 2
