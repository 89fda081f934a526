"""The traced reference: exact derivatives of NumPy code run on object arrays of Traced."""

import mpmath
import numpy as np
import pytest

from bpverify.numeric.check import tracer
from bpverify.numeric.check.tracer import TraceBudget, Uncovered, trace

rng = np.random.default_rng(7)


def central(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        g.flat[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize("name", list(tracer.UNARY))
def test_every_unary_rule_is_the_correctly_rounded_derivative(name):
    x = np.array([0.3, 0.7, 1.9])
    found = trace(lambda x: np.sum(getattr(np, name)(x)), {"x": x}, ("x",)).gradients["x"]
    f = getattr(mpmath, name)
    with mpmath.workdps(60):
        exact = [float(mpmath.diff(f, mpmath.mpf(float(v)))) for v in x]
    assert found.tolist() == exact


FUNCTIONS = {
    "matmul and tanh": lambda x: np.sum(np.tanh(x @ x.T) ** 2),
    "einsum": lambda x: np.einsum("ij,ij->", x, np.exp(x)),
    "dot of rows": lambda x: np.dot(x[0], x[1]) * x[2, 1],
    "max over an axis": lambda x: np.sum(np.max(x, axis=1) ** 3),
    "where and maximum": lambda x: np.sum(np.where(x > 0.1, x**2, np.maximum(x, -0.5))),
    "minimum and clip": lambda x: np.sum(np.clip(x, -0.3, 0.4) * np.minimum(x, 0.2)),
    "abs and sqrt": lambda x: np.sum(np.sqrt(np.abs(x) + 1.0)),
    "mean, var and std": lambda x: np.sum(x.var(axis=0) + x.std(axis=1).mean()),
    "slicing, fancy indexing": lambda x: np.sum(x[::2, 1:] * x[[2, 0], :2][:, ::-1].T.sum()),
    "reshape, transpose, concatenate, stack": lambda x: np.sum(
        np.concatenate([x.reshape(-1), np.stack([x.T, x.T]).ravel()]) ** 2 / 3
    ),
    "log and powers": lambda x: np.sum(np.log(x**2 + 1) + 2.0**x + (x**2 + 1) ** x),
    "broadcast division": lambda x: np.sum(x / (1 + x[:1] ** 2) - 1 / (2 + x[:, :1] ** 2)),
    "log1p, expm1, sin, cos": lambda x: np.sum(
        np.log1p(x**2) * np.expm1(x) + np.sin(x) * np.cos(x)
    ),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_the_operations_layer_code_is_made_of(name):
    f = FUNCTIONS[name]
    x = rng.standard_normal((3, 4))
    found = trace(f, {"x": x}, ("x",)).gradients["x"]
    np.testing.assert_allclose(found, central(f, x), rtol=1e-6, atol=1e-7)


def test_an_array_output_gives_the_vector_jacobian_product():
    draw = np.random.default_rng(11)  # float64's closed form below is good to a few ulps
    x, W, dout = (
        draw.standard_normal((4, 3)),
        draw.standard_normal((3, 5)),
        draw.standard_normal((4, 5)),
    )
    found = trace(lambda x, W: np.tanh(x @ W), {"x": x, "W": W}, ("x", "W"), dout)
    delta = dout * (1 - np.tanh(x @ W) ** 2)
    np.testing.assert_allclose(found.gradients["x"], delta @ W.T, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(found.gradients["W"], x.T @ delta, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(found.value, np.tanh(x @ W), rtol=1e-14)


def test_whole_number_inputs_are_not_traced_and_index_as_labels():
    logits, labels = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])

    def loss(logits, labels):
        z = logits - logits.max(axis=1, keepdims=True)
        return np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(4), labels])

    found = trace(loss, {"logits": logits, "labels": labels}, ("logits",)).gradients["logits"]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    p[np.arange(4), labels] -= 1
    np.testing.assert_allclose(found, p / 4, rtol=1e-13)


def test_forty_digits_survive_a_cancellation_float64_cannot():
    # d/dx of (x + 1e8)^2 - 1e16 - 2e8 x at x = 1e-3 is 2x = 2e-3 exactly; in float64 the terms
    # of the function cancel to nothing, in 40 digits the derivative keeps all of its digits
    found = trace(
        lambda x: np.sum((x + 1e8) ** 2 - 1e16 - 2e8 * x), {"x": np.array([1e-3])}, ("x",)
    )
    assert found.gradients["x"][0] == float(mpmath.mpf(2) * mpmath.mpf(1e-3))


def test_a_tie_in_a_comparison_marks_the_entries_it_depends_on():
    x = np.array([1.0, 0.0, -1.0, 0.5])
    found = trace(lambda x: np.sum(np.maximum(x, 0) * x[3]), {"x": x}, ("x",))
    assert found.kinks["x"].tolist() == [False, True, False, False]
    found = trace(lambda x: np.sum(np.abs(x)), {"x": x}, ("x",))
    assert found.kinks["x"].tolist() == [False, True, False, False]
    found = trace(lambda x: np.sum(x**2), {"x": x}, ("x",))
    assert not found.kinks["x"].any()


def test_an_uncovered_call_is_named_with_its_line():
    with pytest.raises(Uncovered) as e:
        trace(lambda x: np.sum(np.arctan(x)), {"x": np.ones(2)}, ("x",))
    assert e.value.call == "np.arctan"
    assert e.value.where.startswith("test_tracer.py:")


def test_a_traced_value_put_into_a_float_array_is_uncovered():
    def fill(x):
        out = np.zeros(2)
        out[:] = x * 2
        return out.sum()

    with pytest.raises(Uncovered, match="float"):
        trace(fill, {"x": np.ones(2)}, ("x",))


def test_the_tape_stops_at_its_budget():
    with pytest.raises(TraceBudget, match="operations"):
        trace(lambda x: np.sum(x @ x.T @ x), {"x": np.ones((30, 30))}, ("x",), operations=5000)


def test_the_log_of_a_negative_number_is_no_reference():
    with pytest.raises(Uncovered, match="no real number"):
        trace(lambda x: np.sum(np.log(x)), {"x": np.array([-1.0])}, ("x",))
    with pytest.raises(Uncovered, match="division by zero"):
        trace(lambda x: np.sum(1 / x), {"x": np.array([0.0])}, ("x",))
