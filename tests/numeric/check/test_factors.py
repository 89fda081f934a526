"""numeric.check.factors: the constant factors a failing tensor may be off by, and their hints."""

import doctest

import pytest

from bpverify.derive import LOSSES
from bpverify.numeric.check import factors
from bpverify.numeric.check.factors import readings


def _by_value(loss, n, cost="mean"):
    return {r.value: r for r in readings(loss, n, cost)}


def test_the_docstring_examples_run():
    failures, tried = doctest.testmod(factors)
    assert tried and not failures


def test_one_reading_per_value_and_never_1():
    for loss in LOSSES:
        values = [r.value for r in readings(loss, 5)]
        assert len(values) == len(set(values)) and 1.0 not in values


def test_the_half_convention_is_factor_2_and_names_the_half_squared_loss():
    half = _by_value("squared", 5)[0.5]
    assert (half.name, half.says) == ("factor 2", "yours is ½ of the reference")
    assert half.hint.endswith("use --loss half-squared")
    double = _by_value("half-squared", 5)[2.0]
    assert (double.name, double.says) == ("factor 2", "yours is 2 × the reference")
    assert double.hint.endswith("use --loss squared")


def test_a_loss_without_a_multiple_in_the_table_names_a_stray_factor():
    half = _by_value("softmax-cross-entropy", 5)[0.5]
    assert "--loss" not in half.hint and "a stray factor ½ in your code" in half.hint


def test_the_batch_size_factors_show_n():
    summed, twice = _by_value("squared", 5)[5.0], _by_value("squared", 5)[0.2]
    assert summed.name == twice.name == "factor n (n = 5, the batch size)"
    assert summed.says == "yours is n × the reference"
    assert summed.hint == (
        "the sum over the batch (C = Σ C_i) instead of the mean (the reference, "
        "C = (1/n) Σ C_i)? use --cost sum"
    )
    assert twice.says == "yours is 1/n of the reference"
    assert twice.hint == "divided by the batch size n twice (the reference is C = (1/n) Σ C_i)"


def test_against_the_summed_cost_an_average_is_told_to_use_the_mean():
    averaged, times_n = _by_value("squared", 5, "sum")[0.2], _by_value("squared", 5, "sum")[5.0]
    assert averaged.says == "yours is 1/n of the reference"
    assert averaged.hint == (
        "the mean over the batch (C = (1/n) Σ C_i) instead of the sum (the reference, "
        "C = Σ C_i)? use --cost mean"
    )
    assert times_n.hint.startswith("multiplied by the batch size n once too often")
    half_mean = _by_value("squared", 5, "sum")[0.1]  # the ½ convention, averaged
    assert half_mean.name == "factor 2n (n = 5, the batch size)"
    assert "use --loss half-squared; and the mean over the batch" in half_mean.hint


@pytest.mark.parametrize(
    ("value", "name", "says"),
    [
        (-0.5, "factor −2", "yours is −½ of the reference"),
        (-5.0, "factor −n (n = 5, the batch size)", "yours is −n × the reference"),
        (2.5, "factor n/2 (n = 5, the batch size)", "yours is n/2 × the reference"),
        (10.0, "factor 2n (n = 5, the batch size)", "yours is 2n × the reference"),
        (-0.2, "factor −n (n = 5, the batch size)", "yours is −1/n of the reference"),
    ],
)
def test_two_causes_multiply(value, name, says):
    r = _by_value("squared", 5)[value]
    assert (r.name, r.says) == (name, says)
    assert "; and " in r.hint


def test_the_half_convention_summed_over_the_batch_reads_both_ways_at_n_4():
    """At n = 4, n/2 is 2: both readings are given, and a way to tell them apart."""
    r = _by_value("squared", 4)[2.0]
    assert r.name == "factor 2" and "or, as factor n/2 (n = 4, the batch size)" in r.hint
    assert r.hint.endswith("(a check with another --batch tells them apart)")


def test_a_mean_taken_twice_is_not_combined_with_a_scaled_loss():
    assert 0.4 not in _by_value("squared", 5)  # 2/n
    assert 0.1 not in _by_value("squared", 5)  # 1/(2n)


def test_a_reading_as_text_and_json():
    r = _by_value("squared", 5)[-1.0]
    assert str(r) == f"factor −1: yours is the negative of the reference: {r.hint}"
    assert r.as_dict() == {"ratio": -1.0, "name": "factor −1", "says": r.says, "hint": r.hint}
