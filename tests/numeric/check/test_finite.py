"""Finite differences: each method against the exact gradients, kinks, and the check's modes that
rest on them (sampled entries, random projections, avoiding kinks)."""

from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

from bpverify.derive import ACTIVATIONS, LOSSES, Loss, NetworkSpec
from bpverify.numeric.check.compare import TOLERANCES
from bpverify.numeric.check.exact import Exact
from bpverify.numeric.check.finite import (
    METHODS,
    STEPS,
    FiniteDifferences,
    analytic,
    default_method,
)
from bpverify.numeric.check.run import Point, check_gradients, random_point
from bpverify.numeric.codegen.program import Program

TANH = NetworkSpec(2, (3, 4, 2), "tanh")
RELU = NetworkSpec(2, (3, 4, 2), "relu")


def _point(spec, seed=0, batch=3):
    return random_point(spec, np.random.default_rng(seed), batch)


def _within(fd, truth, rtol, atol):
    scale = np.max(np.abs(truth))
    return np.abs(fd - truth) <= rtol * np.maximum(np.abs(fd), np.abs(truth)) + atol * scale


@pytest.mark.parametrize("method", METHODS)
def test_each_method_agrees_with_exact_within_its_tolerance(method):
    p = _point(TANH)
    fd = FiniteDifferences(TANH).differences(p.params, p.X, p.Y, method)
    truth = Exact(TANH).gradients(p.params, p.X, p.Y)
    rtol, atol = TOLERANCES[method]
    assert set(fd.values) == set(truth)
    for key, want in truth.items():
        assert fd.values[key].shape == want.shape
        assert _within(fd.values[key], want, rtol, atol).all(), key


@pytest.mark.parametrize("method", ["richardson", "central"])
def test_real_methods_agree_with_exact_on_relu_away_from_kinks(method):
    p = _point(RELU, seed=1)
    fd = FiniteDifferences(RELU).differences(p.params, p.X, p.Y, method)
    assert not any(k.any() for k in fd.kinks.values())
    truth = Exact(RELU).gradients(p.params, p.X, p.Y)
    rtol, atol = TOLERANCES[method]
    for key, want in truth.items():
        assert _within(fd.values[key], want, rtol, atol).all(), key


def test_a_wrong_gradient_is_outside_the_finite_difference_tolerance():
    # the tolerances are tight enough to tell 1 part in 10^4 apart, even for central differences
    p = _point(TANH)
    fd = FiniteDifferences(TANH).differences(p.params, p.X, p.Y, "central")
    truth = Exact(TANH).gradients(p.params, p.X, p.Y)
    assert not _within(fd.values["W2"], truth["W2"] * 1.0001, *TOLERANCES["central"]).all()


def test_softmax_cross_entropy_differences_agree_with_exact():
    spec = NetworkSpec(2, (3, 4, 3), "sigmoid", "softmax-cross-entropy")
    p = _point(spec, seed=2)
    fd = FiniteDifferences(spec).differences(p.params, p.X, p.Y, "complex")
    truth = Exact(spec).gradients(p.params, p.X, p.Y)
    for key, want in truth.items():
        assert _within(fd.values[key], want, *TOLERANCES["complex"]).all(), key


def test_step_is_relative_to_the_entry_with_a_floor_of_one():
    p = _point(TANH)
    p.params["W1"][0, 0] = 8.0
    p.params["W1"][0, 1] = 0.25
    fd = FiniteDifferences(TANH).differences(p.params, p.X, p.Y, "central")
    assert fd.steps["W1"][0, 0] == STEPS["central"] * 8.0
    assert fd.steps["W1"][0, 1] == STEPS["central"]


def test_entries_limit_the_differences_taken():
    p = _point(TANH)
    fd = FiniteDifferences(TANH).differences(
        p.params, p.X, p.Y, "complex", entries={"W1": np.array([0, 5])}
    )
    taken = ~np.isnan(fd.values["W1"].ravel())
    assert np.flatnonzero(taken).tolist() == [0, 5]
    assert not np.isnan(fd.values["b1"]).any()  # tensors not listed are taken in full


def test_names_limit_the_tensors():
    p = _point(TANH)
    fd = FiniteDifferences(TANH).differences(p.params, p.X, p.Y, "complex", names=("b2",))
    assert set(fd.values) == {"b2"}


def test_default_method_is_the_complex_step_only_for_analytic_networks():
    assert analytic(TANH) and default_method(TANH) == "complex"
    assert not analytic(RELU) and default_method(RELU) == "richardson"
    mixed = NetworkSpec(2, (3, 4, 2), ("leaky_relu", "tanh"))
    assert default_method(mixed) == "richardson"


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_complex_step_is_refused_for_kinked_activations(activation):
    spec = NetworkSpec(2, (3, 4, 2), activation)
    p = _point(spec)
    with pytest.raises(ValueError, match="analytic"):
        FiniteDifferences(spec).differences(p.params, p.X, p.Y, "complex")
    with pytest.raises(ValueError, match="complex step needs analytic activations"):
        check_gradients(spec, method="complex")


def test_an_unknown_method_is_refused():
    p = _point(TANH)
    with pytest.raises(ValueError, match="unknown finite-difference method 'forward'"):
        FiniteDifferences(TANH).differences(p.params, p.X, p.Y, "forward")
    with pytest.raises(ValueError, match="unknown method 'forward'"):
        check_gradients(TANH, method="forward")


# -- kinks ---------------------------------------------------------------------------------------


def _kink_spec(activation="relu"):
    return NetworkSpec(2, (1, 1, 1), (activation, "identity"))


def _kink_point(z1: float) -> Point:
    """z^(1) = W1 x + b1 = 1 + (z1 - 1) for the single sample x = 1."""
    params = {
        "W1": np.array([[1.0]]),
        "b1": np.array([z1 - 1.0]),
        "W2": np.array([[0.5]]),
        "b2": np.array([0.75]),
    }
    return Point(params, np.array([[1.0]]), np.array([[0.25]]))


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_kink_flagged_when_a_pre_activation_lies_within_the_step_of_zero(activation):
    p = _kink_point(1e-6)  # the step is ~7e-4
    fd = FiniteDifferences(_kink_spec(activation)).differences(p.params, p.X, p.Y, "richardson")
    # perturbing W1, b1 or the input moves z^(1) across 0; W2, b2 and a1 act after the kink
    assert {k for k, v in fd.kinks.items() if v.any()} == {"W1", "b1", "dC_da0"}


def test_kink_flagged_exactly_at_zero():
    p = _kink_point(0.0)
    fd = FiniteDifferences(_kink_spec()).differences(p.params, p.X, p.Y, "central")
    assert fd.kinks["W1"].all() and fd.kinks["b1"].all()


def test_no_kink_flagged_beyond_the_stencil():
    h = STEPS["richardson"]
    p = _kink_point(3 * h)  # Richardson reaches 2h either side
    fd = FiniteDifferences(_kink_spec()).differences(p.params, p.X, p.Y, "richardson")
    assert not any(v.any() for v in fd.kinks.values())
    p = _kink_point(1.5 * h)
    fd = FiniteDifferences(_kink_spec()).differences(p.params, p.X, p.Y, "richardson")
    assert fd.kinks["b1"].all()


def test_kink_flagged_in_a_later_layer():
    spec = NetworkSpec(2, (1, 1, 1), ("identity", "relu"))
    params = {
        "W1": np.array([[1.0]]),
        "b1": np.array([0.5]),
        "W2": np.array([[1.0]]),
        "b2": np.array([-1.5 + 1e-6]),
    }
    p = Point(params, np.array([[1.0]]), np.array([[0.25]]))
    fd = FiniteDifferences(spec).differences(p.params, p.X, p.Y, "richardson")
    assert all(v.all() for v in fd.kinks.values())  # every perturbation reaches z^(2)


def test_check_reports_kinks_instead_of_failing():
    report = check_gradients(_kink_spec(), at=_kink_point(1e-6))
    assert report.passed, report.table()
    verdicts = {(c.tensor, c.pair): c.verdict for c in report.comparisons}
    assert verdicts[("W1", ("generated", "fd"))] == "kink"
    assert verdicts[("W1", ("symbolic", "fd"))] == "kink"
    assert verdicts[("W1", ("symbolic", "generated"))] == "pass"
    assert verdicts[("W2", ("generated", "fd"))] == "pass"


def test_avoid_kinks_redraws_the_inputs_with_a_note():
    report = check_gradients(_kink_spec(), at=_kink_point(1e-6), avoid_kinks=True)
    assert report.passed, report.table()
    assert all(c.verdict != "kink" and c.kinks == 0 for c in report.comparisons)
    assert any("redrawn" in n and "avoid kinks" in n for n in report.notes)


def test_no_note_when_no_kink_needs_avoiding():
    report = check_gradients(_kink_spec(), at=_kink_point(0.5), avoid_kinks=True)
    assert report.passed and not report.notes


# -- points where the loss or an activation saturates --------------------------------------------


def test_cross_entropy_at_a_confident_output_is_not_a_false_alarm():
    # sigmoid(22) = 1 - 2.8e-10: the loss's log(1 - a) evaluated from a loses ~7 digits to
    # cancellation, more than the finite differences' noise allowance
    at = Point({"W1": np.array([[22.0]]), "b1": np.zeros(1)}, np.array([[1.0]]), np.array([[0.1]]))
    report = check_gradients((1, 1), activation="sigmoid", loss="cross-entropy", at=at)
    assert report.passed, report.table()


@pytest.mark.parametrize(
    ("activation", "method"), [("sigmoid", "complex"), ("softplus", "richardson")]
)
def test_differences_stay_finite_at_a_saturated_unit(activation, method):
    # z = +-800: the definitions 1/(1 + e^-z) and log(1 + e^z) overflow on the way
    spec = NetworkSpec(1, (1, 1), activation)
    params = {"W1": np.array([[800.0]]), "b1": np.zeros(1)}
    X, Y = np.array([[1.0], [-1.0]]), np.array([[0.5], [0.25]])
    fd = FiniteDifferences(spec).differences(params, X, Y, method)
    truth = Exact(spec).gradients(params, X, Y)
    for key, want in truth.items():
        assert np.isfinite(fd.values[key]).all(), key
        assert _within(fd.values[key], want, *TOLERANCES[method]).all(), key


# -- modes of the check: sampled entries and random projections ----------------------------------


def test_sample_compares_k_entries_of_every_tensor():
    report = check_gradients((3, 4, 2), activation="tanh", sample=3)
    assert report.passed and report.mode == "3 sampled entries per tensor"
    sizes = {"W1": 12, "b1": 4, "W2": 8, "b2": 2, "dC_da0": 12, "dC_da1": 16}
    for c in report.comparisons:
        if "fd" in c.pair:
            assert c.compared == min(3, sizes[c.tensor]), (c.tensor, c.pair)
        else:  # the candidate against the symbolic values needs no differences: every entry
            assert c.compared == sizes[c.tensor], (c.tensor, c.pair)


def test_sample_still_catches_a_wrong_tensor():
    program = Program(TANH)

    def scaled(params, X, Y):
        g = program.gradients(params, X, Y)
        g["W1"] = g["W1"] * 1.001
        return g

    report = check_gradients(TANH, grad_fn=scaled, sample=2)
    assert {c.tensor for c in report.failures()} == {"W1"}


def test_projection_passes_correct_code_with_one_comparison_per_tensor():
    report = check_gradients((3, 4, 2), activation="tanh", projection=True)
    assert report.passed, report.table()
    assert report.mode == "random projections"
    fd_rows = [c for c in report.comparisons if "fd" in c.pair]
    assert len(fd_rows) == 2 * 6
    assert all(c.note == "projection" and c.compared == 1 for c in fd_rows)


def test_projection_falls_back_to_entries_for_a_wrong_tensor():
    program = Program(TANH)

    def wrong_w2(params, X, Y):
        g = program.gradients(params, X, Y)
        g["W2"] = -g["W2"]
        return g

    report = check_gradients(TANH, grad_fn=wrong_w2, projection=True)
    assert not report.passed
    assert {(c.tensor, c.pair) for c in report.failures()} == {
        ("W2", ("symbolic", "user")),
        ("W2", ("user", "fd")),
    }
    w2 = {c.pair: c for c in report.comparisons if c.tensor == "W2" and "fd" in c.pair}
    for c in w2.values():
        assert c.note == "projection failed: checked entry by entry"
        assert c.compared == 8  # every entry of W2 (2 x 4)
    assert w2[("symbolic", "fd")].verdict == "pass"
    others = [c for c in report.comparisons if c.tensor != "W2" and "fd" in c.pair]
    assert all(c.note == "projection" for c in others)


def test_a_kink_along_a_projection_is_not_called_a_failed_projection():
    report = check_gradients(_kink_spec(), at=_kink_point(1e-6), projection=True)
    assert report.passed, report.table()
    kinks = [c for c in report.comparisons if c.verdict == "kink"]
    assert {c.tensor for c in kinks} == {"W1", "b1", "dC_da0"}
    # nothing failed: the projection crossed the kink, and the entries did too
    assert not any("failed" in c.note for c in kinks), [c.note for c in kinks]


# -- rows the table may add: a Piecewise loss, an activation without spellings ------------------


def _huber(a, y, j, N):
    r = a[j] - y[j]
    h = sp.Piecewise((r**2 / 2, sp.Abs(r) <= 1), (sp.Abs(r) - sp.Rational(1, 2), True))
    return sp.Sum(h, (j, 0, N - 1))


@pytest.fixture
def huber(monkeypatch):
    """A spec name for a huber loss (C^1: its second derivative jumps at |a - y| = 1)."""
    monkeypatch.setitem(LOSSES, "test-huber", Loss("test-huber", _huber))
    return "test-huber"


def _residual_point(r: float) -> Point:
    """a^(2) - y = r for the identity network x -> 0.5 (x + 0.25) + 0.75 at x = 1."""
    params = {"W1": np.array([[1.0]]), "b1": np.array([0.25]), "W2": np.array([[0.5]])}
    params["b2"] = np.array([0.75])
    return Point(params, np.array([[1.0]]), np.array([[1.375 - r]]))


def test_a_kink_of_the_loss_is_flagged_for_every_tensor_that_reaches_it(huber):
    spec = NetworkSpec(2, (1, 1, 1), "identity", huber)
    fd = FiniteDifferences(spec)
    near = _residual_point(1 + 1e-6)
    assert all(v.all() for v in fd.differences(near.params, near.X, near.Y).kinks.values())
    far = _residual_point(-1 - 10 * STEPS["richardson"])
    assert not any(v.any() for v in fd.differences(far.params, far.X, far.Y).kinks.values())


def test_a_check_across_the_kink_of_the_loss_passes(huber):
    # the finite differences there are off by ~h (about 1e-4 of the gradient): left out, not
    # failed; and away from it they agree
    spec = NetworkSpec(2, (1, 1, 1), "identity", huber)
    for r in (1 + 1e-6, -1 - 1e-6, 0.5, 2.0):
        assert check_gradients(spec, at=_residual_point(r)).passed, r


def test_a_piecewise_loss_is_not_analytic(huber):
    spec = NetworkSpec(2, (3, 4, 2), "tanh", huber)
    assert not analytic(spec) and default_method(spec) == "richardson"
    with pytest.raises(ValueError, match="not the test-huber loss"):
        check_gradients(spec, method="complex")


def test_an_activation_without_spellings_is_checked_like_the_others(monkeypatch):
    # SymPy prints its NumPy code: e^z - 1 overflows in the unselected branch at large z
    row = replace(
        ACTIVATIONS["relu"],  # kinked, not analytic, He initialisation
        name="test-elu",
        symbol="telu",
        definition=lambda x, a: sp.Piecewise((x, x > 0), (sp.exp(x) - 1, True)),
        values=sp.Interval.open(-1, sp.oo),
        rational=False,
        numpy=None,
        numpy_prime=None,
    )
    monkeypatch.setitem(ACTIVATIONS, row.name, row)
    spec = NetworkSpec(2, (3, 4, 2), row.name)
    assert check_gradients(spec, seed=1).passed
    p = _kink_point(1e-6)
    fd = FiniteDifferences(NetworkSpec(2, (1, 1, 1), (row.name, "identity")))
    assert fd.differences(p.params, p.X, p.Y).kinks["b1"].all()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("cost", ["mean", "sum"])
def test_differences_of_the_cost_carry_its_convention(method, cost):
    # the penalty's change is added to the loss's: every method agrees with the exact rules
    spec = NetworkSpec(2, (3, 4, 2), "tanh", cost=cost, l2=sp.Rational(3, 10))
    p = _point(spec)
    fd = FiniteDifferences(spec).differences(p.params, p.X, p.Y, method)
    truth = Exact(spec).gradients(p.params, p.X, p.Y)
    rtol, atol = TOLERANCES[method]
    for key, want in truth.items():
        assert _within(fd.values[key], want, rtol, atol).all(), key
    v = np.random.default_rng(0).standard_normal(p.params["W2"].shape)
    slope, _, _ = FiniteDifferences(spec).directional(p.params, p.X, p.Y, {"W2": v}, method)
    assert slope == pytest.approx(np.sum(v * truth["W2"]), rel=1e-6)
