"""What the user's code did, in the report's words: exceptions with their line, real arrays."""

import numpy as np
import pytest

from bpverify.numeric.check import outcome


def test_an_exception_is_described_with_the_line_that_raised_it():
    try:
        {}["missing"]
    except KeyError as e:
        said = outcome.describe(e)
    assert said.startswith("raised KeyError: 'missing' (test_outcome.py:")


def test_an_exit_is_described_as_the_call_and_a_long_message_is_cut():
    assert outcome.describe(SystemExit(3)).startswith("called sys.exit(3)")
    said = outcome.describe(ValueError("x" * 10_000))
    assert len(said) < outcome.MESSAGE_CHARS + 100


@pytest.mark.parametrize(
    "value, says",
    [
        ([1 + 2j], "complex"),
        (["1.5"], "not an array of numbers"),
        ([None, 1.0], "holds a NoneType"),
    ],
)
def test_only_real_numbers_are_read_as_an_array(value, says):
    array, wrong = outcome.real_array(value)
    assert array is None and says in wrong


def test_real_numbers_are_read_as_float64():
    array, wrong = outcome.real_array([[1, 2], [3, 4]])
    assert wrong == "" and array.dtype == np.float64 and array.shape == (2, 2)
