"""The sources of a function check at one point: forward, the user's gradient, differences."""

import numpy as np
import pytest

from bpverify.numeric.check import function_sources as fs
from bpverify.numeric.check.stencils import METHODS

rng = np.random.default_rng(3)
X = {"x": rng.standard_normal((3, 4))}


def smooth(x):
    return np.sum(np.tanh(x) ** 2)


def smooth_grad(x):
    return 2 * np.tanh(x) * (1 - np.tanh(x) ** 2)


@pytest.mark.parametrize("method", METHODS)
def test_differences_of_every_method_match_the_derivative(method):
    g = fs.Scalar(smooth, X, None)
    found = fs.differences(g, "x", None, method, abs(smooth(**X)))
    rtol = {"complex": 1e-13, "richardson": 1e-9, "central": 1e-6}[method]
    np.testing.assert_allclose(found.values, smooth_grad(**X), rtol=rtol, atol=rtol)
    assert (found.jump < 1e-4).all()


def test_only_the_asked_entries_are_taken():
    g = fs.Scalar(smooth, X, None)
    found = fs.differences(g, "x", np.array([1, 5]), "richardson", 1.0)
    assert np.isfinite(found.values).ravel().nonzero()[0].tolist() == [1, 5]


def test_a_kink_inside_the_stencil_shows_as_a_jump():
    x = {"x": np.array([1e-4, 0.7])}  # relu's kink 1e-4 from the first entry, within 2h

    def relu(x):
        return np.sum(np.maximum(x, 0) * 3)

    found = fs.differences(fs.Scalar(relu, x, None), "x", None, "richardson", 1.0)
    assert found.jump[0] > 0.3 and found.jump[1] < 1e-9


def test_a_directional_derivative_along_every_input():
    v = {"x": rng.standard_normal((3, 4))}
    d, _, _ = fs.directional(fs.Scalar(smooth, X, None), v, "richardson", 1.0)
    assert d == pytest.approx(np.sum(smooth_grad(**X) * v["x"]), rel=1e-9)


def test_an_array_output_is_weighted_by_dout():
    dout = rng.standard_normal((3, 4))
    g = fs.Scalar(lambda x: np.tanh(x), X, dout)
    found = fs.differences(g, "x", None, "complex", 1.0)
    np.testing.assert_allclose(found.values, dout * (1 - np.tanh(X["x"]) ** 2), rtol=1e-13)


@pytest.mark.parametrize(
    "fn, safe",
    [
        (smooth, True),
        (lambda x: np.sum(np.maximum(x, 0) ** 2), True),  # branches follow the real part
        (lambda x: np.sum(np.abs(x) ** 3), False),  # the modulus drops the imaginary part
        (lambda x: float(np.sum(x)) ** 2, False),  # refuses a complex input
    ],
)
def test_complex_safety_is_found_by_trying(fn, safe):
    assert fs.complex_safe(fs.Scalar(fn, X, None), ["x"], np.random.default_rng(0)) is safe


def filled(x, w):
    y = np.zeros_like(x[: len(x) - len(w) + 1])  # complex only when x is
    for i in range(len(y)):
        y[i] = x[i : i + len(w)] @ w
    return np.sum(y**2)


def test_each_input_is_probed_alone_as_the_differences_move_it():
    # moving x and w together keeps y complex; moving w alone casts y's imaginary part away
    inputs = {"x": rng.standard_normal(8), "w": rng.standard_normal(3)}
    g = fs.Scalar(filled, inputs, None)
    assert not fs.complex_safe(g, ["x", "w"], np.random.default_rng(0))
    assert fs.complex_safe(g, ["x"], np.random.default_rng(0))


@pytest.mark.parametrize(
    "returned",
    [
        lambda x, y: {"x": 2 * x, "y": 3 * y},
        lambda x, y: (2 * x, 3 * y),
        lambda x, y: [2 * x, 3 * y],
    ],
)
def test_a_gradient_by_name_or_in_input_order(returned):
    inputs = {"x": np.ones(2), "y": np.ones(3)}
    grads, problems = fs.user_gradient(returned, inputs, ["x", "y"], None, 0)
    assert not problems and grads["x"].tolist() == [2, 2] and grads["y"].tolist() == [3, 3, 3]


def test_one_array_for_the_one_checked_input_and_a_tuple_in_wrt_order():
    inputs = {"x": np.ones(2), "labels": np.array([0, 1])}
    grads, _ = fs.user_gradient(lambda x, labels: 2 * x, inputs, ["x"], None, 0)
    assert grads["x"].tolist() == [2, 2]
    inputs = {"x": np.ones(2), "y": np.ones(3), "z": np.ones(1)}
    grads, _ = fs.user_gradient(lambda x, y, z: (x, z), inputs, ["x", "z"], None, 0)
    assert grads["z"].tolist() == [1]


@pytest.mark.parametrize(
    "grad, says",
    [
        (lambda x, y: (x,), "returned 1 gradients"),
        (lambda x, y: {"x": np.ones(5), "y": y}, "wrong shape (5,)"),
        (lambda x, y: {"x": x * np.nan, "y": y}, "non-finite"),
        (lambda x, y: {"y": y}, "missing"),
        (lambda x, y: 1 / 0, "raised ZeroDivisionError"),
        (lambda x, y: {"x": x + 1j, "y": y}, "complex"),
        (lambda x, y: 3.0, "returned a float"),
    ],
)
def test_what_is_wrong_with_a_gradient_is_a_problem(grad, says):
    inputs = {"x": np.ones(2), "y": np.ones(3)}
    _, problems = fs.user_gradient(grad, inputs, ["x", "y"], None, 0)
    assert says in " ".join(p.message for p in problems)


def test_the_dout_of_an_array_output_is_passed_by_keyword():
    seen = {}

    def grad(x, dout):
        seen["dout"] = dout
        return dout

    dout = np.arange(2.0)
    fs.user_gradient(grad, {"x": np.ones(2)}, ["x"], dout, 0)
    assert seen["dout"].tolist() == [0.0, 1.0]


@pytest.mark.parametrize(
    "fn, says",
    [
        (lambda x: np.log(x - 10).sum(), "non-finite"),
        (lambda x: "a", "not an array of numbers"),
        (lambda x: x.foo, "raised AttributeError"),
    ],
)
def test_a_forward_that_fails_says_how(fn, says):
    out, problem = fs.forward(fn, {"x": np.ones(2)})
    assert out is None and says in problem


def test_a_forward_that_writes_into_its_inputs_still_gets_its_own_copies():
    def centre(x, y):
        x -= x.mean()  # in place, into the caller's array
        return np.sum(x**2 * y)

    inputs = {"x": rng.standard_normal(5), "y": rng.standard_normal(5)}
    before = {k: v.copy() for k, v in inputs.items()}
    found = fs.differences(fs.Scalar(centre, inputs, None), "y", None, "richardson", 1.0)
    xc = before["x"] - before["x"].mean()
    np.testing.assert_allclose(found.values, xc**2, rtol=1e-9, atol=1e-11)  # eps |g| / h
    assert all((inputs[k] == before[k]).all() for k in inputs)
