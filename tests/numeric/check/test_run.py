"""numeric.check.run: check_gradients (settings, the network it is given, the tolerances a user
sets), the random points it checks at and assert_gradients_close. The catalogue of bugs it
catches is test_check_bugs.py, the sweep for false alarms test_check_false_alarms.py."""

import doctest

import numpy as np
import pytest

from bpverify.derive import LOSSES, NetworkSpec
from bpverify.derive.losses import PROBABILITY, REAL, SIMPLEX
from bpverify.numeric.check import run
from bpverify.numeric.check.options import ONE_HOT, CheckOptions, OptionError
from bpverify.numeric.check.run import (
    assert_gradients_close,
    check_gradients,
    random_point,
    random_targets,
)
from bpverify.numeric.codegen.program import Program

SPEC = NetworkSpec(2, (2, 3, 1), "tanh")


def test_keywords_and_an_options_object_give_the_same_check():
    by_keywords = check_gradients((2, 3, 1), activation="tanh", points=1, batch=2, seed=5)
    by_options = check_gradients(SPEC, options=CheckOptions(points=1, batch=2, seed=5))
    assert by_keywords.to_json() == by_options.to_json()


def test_keywords_replace_the_options_fields():
    report = check_gradients(SPEC, None, CheckOptions(points=2, dtype="float32"), points=1)
    assert (report.points, report.dtype) == (1, "float32")


def test_auto_picks_the_method_for_the_network():
    assert check_gradients(SPEC, points=1).method == "complex"
    relu = NetworkSpec(2, (2, 3, 1), "relu")
    assert check_gradients(relu, points=1, avoid_kinks=True).method == "richardson"


def test_an_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="pointz"):
        check_gradients(SPEC, pointz=1)


def test_network_settings_beside_a_spec_are_refused():
    with pytest.raises(OptionError, match="activation given beside a NetworkSpec"):
        check_gradients(SPEC, activation="sigmoid")


@pytest.mark.parametrize(
    ("network", "settings", "message"),
    [
        (NetworkSpec(2), {}, "a check needs numbers"),
        ((2, 3, 1), {"activation": "relu", "method": "complex"}, "complex step needs analytic"),
        ((4, 8, 3), {"unrolled": True}, "--unrolled writes the network out for at most 60"),
    ],
)
def test_options_that_cannot_work_with_the_network(network, settings, message):
    with pytest.raises(OptionError, match=message):
        check_gradients(network, **settings)


def test_the_docstring_examples_run():
    failures, tried = doctest.testmod(run)
    assert tried and not failures


def off_by(factor):
    """A grad_fn whose every gradient is the generated one times ``factor``."""
    program = Program(SPEC)

    def grad_fn(params, X, Y):
        return {k: v * factor for k, v in program.gradients(params, X, Y).items()}

    return grad_fn


def test_a_users_tolerances_replace_the_table_for_every_pair():
    # 0.1% off: far outside the default tolerances, inside an rtol of 1% or an atol of 1.
    wrong = off_by(1.001)
    assert not check_gradients(SPEC, wrong, points=1).passed
    loose = check_gradients(SPEC, wrong, points=1, rtol=1e-2)
    assert loose.passed
    assert {(c.rtol, c.atol) for c in loose.comparisons} == {(1e-2, 0.0)}
    assert check_gradients(SPEC, wrong, points=1, atol=1.0).passed


@pytest.mark.parametrize("loss", LOSSES)
def test_random_targets_are_of_the_kind_the_loss_takes(loss):
    spec = NetworkSpec(1, (2, 3), "sigmoid", loss=loss)
    Y = random_targets(spec, np.random.default_rng(0), 50)
    assert Y.shape == (50, 3)
    kind = LOSSES[loss].targets
    if kind == REAL:
        assert Y.min() < 0  # any real number, not only probabilities
    else:
        assert Y.min() >= 0 and Y.max() <= 1
    if kind == SIMPLEX:
        assert np.allclose(Y.sum(axis=1), 1)


def test_a_random_point_has_nonzero_biases_and_the_public_shapes():
    p = random_point(SPEC, np.random.default_rng(1), batch=5)
    assert p.X.shape == (5, 2) and p.Y.shape == (5, 1)
    assert p.params["W1"].shape == (3, 2) and p.params["W2"].shape == (1, 3)
    # A zero bias hides a bug that scales it.
    assert np.all(p.params["b1"] != 0) and np.all(p.params["b2"] != 0)
    again = random_point(SPEC, np.random.default_rng(1), batch=5)
    assert np.array_equal(again.X, p.X) and np.array_equal(again.params["b1"], p.params["b1"])


def test_assert_gradients_close_returns_the_report_or_raises_with_the_table():
    assert assert_gradients_close(SPEC, points=1).passed
    with pytest.raises(AssertionError) as info:
        assert_gradients_close(SPEC, off_by(1.001), points=1)
    message = str(info.value)
    assert message.startswith("gradient check failed\n")
    assert "W1" in message and "FAIL" in message


# -- constant factors ------------------------------------------------------------------------------


def _candidate_failures(report):
    failed = report.failures()
    assert failed and all("symbolic" in c.pair or "fd" in c.pair for c in failed)
    return failed


@pytest.mark.parametrize(
    ("factor", "name", "says"),
    [
        (0.5, "factor 2", "yours is ½ of the reference"),
        (-1.0, "factor −1", "yours is the negative of the reference"),
        (5.0, "factor n (n = 5, the batch size)", "yours is n × the reference"),
        (0.2, "factor n (n = 5, the batch size)", "yours is 1/n of the reference"),
    ],
)
def test_a_tensor_off_by_one_constant_factor_names_it(factor, name, says):
    report = check_gradients(SPEC, off_by(factor), points=2, batch=5)
    failed = _candidate_failures(report)
    assert {c.tensor for c in failed} == {"W1", "b1", "W2", "b2"}
    assert {(c.factor.name, c.factor.says) for c in failed} == {(name, says)}


def test_the_half_convention_is_told_to_use_the_half_squared_loss():
    (reading,) = {c.factor for c in check_gradients(SPEC, off_by(0.5), points=1).failures()}
    assert reading.hint.endswith("use --loss half-squared")


def test_a_factor_off_on_some_entries_only_is_no_constant_factor():
    def one_entry(params, X, Y):
        g = off_by(1.0)(params, X, Y)
        g["W1"] = g["W1"] * np.array([[2.0, 1.0]])  # the first column doubled, not the second
        return g

    (c, *more) = check_gradients(SPEC, one_entry, points=1).failures()
    assert c.tensor == "W1" and c.factor is None and all(m.factor is None for m in more)


def test_a_factor_that_is_none_of_the_readings_is_not_named():
    assert all(c.factor is None for c in check_gradients(SPEC, off_by(1.001), points=1).failures())


def test_the_symbolic_and_finite_difference_pair_never_names_a_factor():
    report = check_gradients(SPEC, off_by(2.0), points=1)
    assert all(c.factor is None for c in report.comparisons if "user" not in c.pair)


# -- one-hot targets -------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", [n for n, row in LOSSES.items() if row.targets != REAL])
def test_one_hot_targets_hold_one_1_per_sample(loss):
    spec = NetworkSpec(1, (2, 3), "sigmoid", loss=loss)
    Y = random_targets(spec, np.random.default_rng(0), 50, ONE_HOT)
    assert Y.shape == (50, 3) and set(np.unique(Y)) == {0.0, 1.0}
    assert np.array_equal(Y.sum(axis=1), np.ones(50))
    assert len(set(np.argmax(Y, axis=1))) == 3  # every class drawn


@pytest.mark.parametrize("kind", [PROBABILITY, SIMPLEX])
def test_a_check_with_one_hot_targets_gives_the_code_one_hot_rows(kind):
    loss = next(n for n, row in LOSSES.items() if row.targets == kind)
    spec = NetworkSpec(2, (2, 3, 3), "sigmoid", loss=loss)
    program, seen = Program(spec), []

    def grads(params, X, Y):
        seen.append(Y)
        return program.gradients(params, X, Y)

    assert check_gradients(spec, grads, points=2, targets="one-hot").passed
    assert all(set(np.unique(Y)) == {0.0, 1.0} and (Y.sum(axis=1) == 1).all() for Y in seen)
    soft = []
    check_gradients(spec, lambda p, X, Y: soft.append(Y) or program.gradients(p, X, Y), points=1)
    assert not set(np.unique(soft[0])) <= {0.0, 1.0}  # the default stays soft


@pytest.mark.parametrize("loss", [n for n, row in LOSSES.items() if row.targets == REAL])
def test_one_hot_targets_for_a_loss_of_real_targets_are_refused(loss):
    with pytest.raises(OptionError) as e:
        check_gradients((2, 3, 2), loss=loss, targets="one-hot")
    assert str(e.value) == (
        f"--targets one-hot: the {loss} loss takes real targets (any real numbers); "
        "use --targets soft"
    )


def test_one_hot_targets_leave_the_rest_of_a_seeds_point_as_it_was():
    loss = next(n for n, row in LOSSES.items() if row.targets == SIMPLEX)
    spec = NetworkSpec(1, (2, 3), "sigmoid", loss=loss)
    soft = random_point(spec, np.random.default_rng(3), batch=4)
    hard = random_point(spec, np.random.default_rng(3), batch=4, targets=ONE_HOT)
    assert np.array_equal(soft.X, hard.X) and not np.array_equal(soft.Y, hard.Y)
    assert all(np.array_equal(soft.params[k], hard.params[k]) for k in soft.params)


def test_against_the_summed_cost_averaged_code_is_told_to_use_the_mean():
    summed = NetworkSpec(2, (2, 3, 1), "tanh", cost="sum")
    averaged = check_gradients(summed, off_by(1.0), points=1, batch=5)
    (reading,) = {c.factor for c in _candidate_failures(averaged)}
    assert reading.says == "yours is 1/n of the reference"
    assert reading.hint.endswith("use --cost mean")
    assert check_gradients(summed, off_by(5.0), points=1, batch=5).passed
    assert check_gradients(
        (2, 3, 1), off_by(5.0), points=1, batch=5, cost="sum", activation="tanh"
    ).passed
