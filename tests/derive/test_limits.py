import doctest

import pytest

from bpverify.derive import InputError, limits
from bpverify.derive.limits import LIMITS, LimitError, check, limit


def test_every_limit_is_in_the_module_table_with_its_default():
    table = limits.__doc__
    for row in LIMITS.values():
        assert any(
            line.split()[:2] == [row.name, str(row.default)] for line in table.splitlines()
        ), row.name


def test_a_limit_refuses_more_than_its_value_and_names_the_variable_that_raises_it():
    check("layers", 1000, "--layers 1000")
    with pytest.raises(LimitError) as e:
        check("layers", 1001, "--layers 1001")
    assert str(e.value) == (
        "--layers 1001 is more than the 1000 accepted: raise the limit with BPVERIFY_MAX_LAYERS=N"
    )
    assert isinstance(e.value, InputError)


def test_the_environment_variable_raises_or_lowers_a_limit(monkeypatch):
    monkeypatch.setenv("BPVERIFY_MAX_LAYERS", "5000")
    assert limit("layers") == 5000
    check("layers", 2000, "--layers 2000")
    monkeypatch.setenv("BPVERIFY_MAX_LAYERS", "2")
    with pytest.raises(LimitError, match="the 2 accepted"):
        check("layers", 3, "--layers 3")


@pytest.mark.parametrize("value", ["x", "-1", "0", "1" * 40, "1e9"])
def test_a_bad_environment_value_is_input_error_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("BPVERIFY_MAX_TERMS", value)
    with pytest.raises(LimitError, match=r"BPVERIFY_MAX_TERMS=.* is not a whole number >= 1"):
        limit("terms")


def test_the_docstring_example_runs():
    failures, tried = doctest.testmod(limits)
    assert failures == 0 and tried > 0
