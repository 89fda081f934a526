"""derive.errors: InputError, the one exception for bad input, and derive's kinds of it."""

import doctest

import pytest

import bpverify.derive
from bpverify.derive import errors
from bpverify.derive.errors import InputError
from bpverify.derive.prove.grammar import ClaimError


def test_an_input_error_is_a_value_error():
    # Callers that catch ValueError for a bad argument keep catching it.
    assert issubclass(InputError, ValueError)
    assert bpverify.derive.InputError is InputError


@pytest.mark.parametrize("error", [bpverify.derive.SpecError, ClaimError])
def test_derives_errors_are_input_errors(error):
    assert issubclass(error, InputError)


def test_the_docstring_example_runs():
    # A bad spec raises one line, caught as an InputError.
    failures, tried = doctest.testmod(errors)
    assert tried and not failures
