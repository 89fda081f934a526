"""A catalogue of backprop bugs, each injected into a correct hand-written gradient function and
caught by ``check_gradients`` naming exactly the tensors it breaks; and the problems of user code
(raising, a non-dict, a missing key, a wrong shape, NaN) reported instead of raised."""

import numpy as np
import pytest

from bpverify.derive import NetworkSpec
from bpverify.numeric.check.run import Point, check_gradients

# -- a correct hand-written backprop (the user's code), one method per step --------------------


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ACT = {
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(z.dtype)),
    "leaky_relu": (
        lambda z: np.where(z > 0, z, 0.01 * z),
        lambda z: np.where(z > 0, 1.0, 0.01).astype(z.dtype),
    ),
    "softplus": (lambda z: np.logaddexp(0.0, z), _sigmoid),
    "identity": (lambda z: z, np.ones_like),
}


class Backprop:
    """dC/dW, dC/db (and with ``activations`` dC/da0 ...) in the public convention, computed
    with one sample per row: Z_l = A_{l-1} W_l^T + b_l. Each bug below overrides one step."""

    def __init__(self, spec: NetworkSpec, activations: bool = False):
        self.spec, self.activations = spec, activations

    def f(self, l, z):
        name = self.spec.activations[l - 1]
        if name == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        return ACT[name][0](z)

    def prime(self, l, z):
        return ACT[self.spec.activations[l - 1]][1](z)

    def output_delta(self, L, Z, A, Y, n):
        """dC/dZ_L."""
        if self.spec.loss == "squared":
            return 2.0 * (A[L] - Y) / n * self.prime(L, Z[L])
        return (A[L] - Y) / n  # cross-entropy after a sigmoid; softmax cross-entropy

    def hidden_delta(self, l, dA, Z, A, Y, n):
        """dC/dZ_l from dC/dA_l."""
        return dA * self.prime(l, Z[l])

    def back(self, l, delta, params):
        """dC/dA_{l-1} from dC/dZ_l."""
        return delta @ params[f"W{l}"]

    def weight_grad(self, l, delta, A):
        return delta.T @ A[l - 1]

    def bias_grad(self, l, delta):
        return delta.sum(axis=0)

    def finish(self, grads):
        return grads

    def __call__(self, params, X, Y):
        L, n = self.spec.layers, X.shape[0]
        Z, A = {}, {0: X}
        for l in range(1, L + 1):
            Z[l] = A[l - 1] @ params[f"W{l}"].T + params[f"b{l}"]
            A[l] = self.f(l, Z[l])
        grads = {}
        delta = self.output_delta(L, Z, A, Y, n)
        for l in range(L, 0, -1):
            grads[f"W{l}"] = self.weight_grad(l, delta, A)
            grads[f"b{l}"] = self.bias_grad(l, delta)
            dA = self.back(l, delta, params)
            if self.activations:
                grads[f"dC_da{l - 1}"] = dA
            if l > 1:
                delta = self.hidden_delta(l - 1, dA, Z, A, Y, n)
        return self.finish(grads)


# -- the bugs -----------------------------------------------------------------------------------
# Widths 3,4,4,4: W2 and W3 are square and layers 1-3 equally wide, so that the bugs that swap
# W for W^T, a^(l) for a^(l-1), or one layer's bias gradient for another's still fit the shapes
# and are wrong in value only.
SPEC = NetworkSpec(3, (3, 4, 4, 4), "sigmoid", "squared")
ALL = {"W1", "b1", "W2", "b2", "W3", "b3"}


class SignFlip(Backprop):
    def weight_grad(self, l, delta, A):
        g = super().weight_grad(l, delta, A)
        return -g if l == 2 else g


class MissingSigmaPrime(Backprop):
    def hidden_delta(self, l, dA, Z, A, Y, n):
        return dA if l == 1 else super().hidden_delta(l, dA, Z, A, Y, n)


class SigmaPrimeAtA(Backprop):
    def hidden_delta(self, l, dA, Z, A, Y, n):
        return dA * self.prime(l, A[l]) if l == 2 else super().hidden_delta(l, dA, Z, A, Y, n)


class WNotTransposed(Backprop):
    def back(self, l, delta, params):
        # delta @ W is W^T delta with samples as columns; W^T here is W where W^T belongs
        return delta @ params["W2"].T if l == 2 else super().back(l, delta, params)


class MissingMean(Backprop):
    def output_delta(self, L, Z, A, Y, n):
        return 2.0 * (A[L] - Y) * self.prime(L, Z[L])


class BiasOneSample(Backprop):
    def bias_grad(self, l, delta):
        return delta[0] if l == 2 else super().bias_grad(l, delta)


class BiasNotSummed(Backprop):
    def bias_grad(self, l, delta):
        return delta if l == 2 else super().bias_grad(l, delta)


class OwnActivation(Backprop):
    def weight_grad(self, l, delta, A):
        return delta.T @ A[l] if l == 2 else super().weight_grad(l, delta, A)


class FactorTwoDropped(Backprop):
    def output_delta(self, L, Z, A, Y, n):
        return (A[L] - Y) / n * self.prime(L, Z[L])


class OutputRuleInHiddenLayer(Backprop):
    def hidden_delta(self, l, dA, Z, A, Y, n):
        if l == 2:  # dC/da from the loss, as if layer 2 were the output
            return 2.0 * (A[l] - Y) / n * self.prime(l, Z[l])
        return super().hidden_delta(l, dA, Z, A, Y, n)


class OneElementWrong(Backprop):
    def finish(self, grads):
        grads["W3"][1, 2] += 1e-4
        return grads


class ScaledBy1001(Backprop):
    def finish(self, grads):
        grads["b1"] = grads["b1"] * 1.001
        return grads


class BiasesSwapped(Backprop):
    def finish(self, grads):
        grads["b2"], grads["b3"] = grads["b3"], grads["b2"]
        return grads


class WeightGradientTransposed(Backprop):
    def weight_grad(self, l, delta, A):
        return A[l - 1].T @ delta if l == 2 else super().weight_grad(l, delta, A)


class WrongLayersWeights(Backprop):
    def back(self, l, delta, params):
        return delta @ params["W3"] if l == 2 else super().back(l, delta, params)


class TanhPrimeForSigmoid(Backprop):
    def prime(self, l, z):
        return ACT["tanh"][1](z) if l == 1 else super().prime(l, z)


class SamplesMisaligned(Backprop):
    def weight_grad(self, l, delta, A):
        return delta.T @ A[0][::-1] if l == 1 else super().weight_grad(l, delta, A)


class InputGradientSignFlipped(Backprop):
    def finish(self, grads):
        grads["dC_da0"] = -grads["dC_da0"]
        return grads


BUGS = [
    ("sign flip", SignFlip(SPEC), {"W2"}),
    ("missing sigma'", MissingSigmaPrime(SPEC), {"W1", "b1"}),
    ("sigma' at a, not z", SigmaPrimeAtA(SPEC), {"W1", "b1", "W2", "b2"}),
    ("W where W^T belongs", WNotTransposed(SPEC), {"W1", "b1"}),
    ("missing 1/n", MissingMean(SPEC), ALL),
    ("bias gradient of one sample", BiasOneSample(SPEC), {"b2"}),
    ("bias gradient not summed (shape)", BiasNotSummed(SPEC), {"b2"}),
    ("a^(l) for a^(l-1)", OwnActivation(SPEC), {"W2"}),
    ("factor 2 dropped", FactorTwoDropped(SPEC), ALL),
    ("output rule in a hidden layer", OutputRuleInHiddenLayer(SPEC), {"W1", "b1", "W2", "b2"}),
    ("one element wrong", OneElementWrong(SPEC), {"W3"}),
    ("scaled by 1.001", ScaledBy1001(SPEC), {"b1"}),
    ("bias gradients swapped", BiasesSwapped(SPEC), {"b2", "b3"}),
    ("weight gradient transposed", WeightGradientTransposed(SPEC), {"W2"}),
    ("backward through the wrong layer", WrongLayersWeights(SPEC), {"W1", "b1"}),
    ("tanh' for sigmoid'", TanhPrimeForSigmoid(SPEC), {"W1", "b1"}),
    ("samples misaligned", SamplesMisaligned(SPEC), {"W1"}),
    ("dC/da0 sign flipped", InputGradientSignFlipped(SPEC, activations=True), {"dC_da0"}),
]


def _named(report) -> set:
    """The tensors the report blames: failing comparisons and problems."""
    return {c.tensor for c in report.failures()} | {p.tensor for p in report.problems}


@pytest.mark.parametrize(
    ("bug", "expected"), [(b, e) for _, b, e in BUGS], ids=[n for n, *_ in BUGS]
)
def test_bug_is_caught_and_named(bug, expected):
    report = check_gradients(SPEC, grad_fn=bug)
    assert not report.passed
    assert _named(report) == expected
    # the ground truth agrees with the finite differences: only the user's code is blamed
    assert all("user" in c.pair for c in report.failures())


@pytest.mark.parametrize(
    ("bug", "expected"),
    [(b, e) for _, b, e in BUGS if not isinstance(b, BiasNotSummed)],
    ids=[n for n, b, _ in BUGS if not isinstance(b, BiasNotSummed)],
)
def test_value_bug_fails_against_both_symbolic_and_fd(bug, expected):
    report = check_gradients(SPEC, grad_fn=bug)
    failed = {(c.tensor, c.pair) for c in report.failures()}
    assert failed == {(t, p) for t in expected for p in [("symbolic", "user"), ("user", "fd")]}
    assert not report.problems


def test_bias_not_summed_is_a_wrong_shape_problem():
    report = check_gradients(SPEC, grad_fn=BiasNotSummed(SPEC))
    (problem,) = report.problems
    assert problem.tensor == "b2"
    assert "wrong shape (4, 4), expected (4,)" in problem.message
    assert not report.failures()  # nothing to compare for b2; everything else is right


def test_bugs_are_distinct():
    rng = np.random.default_rng(0)
    params = {
        k: rng.standard_normal(s)
        for l in range(1, 4)
        for k, s in [(f"W{l}", (SPEC.widths[l], SPEC.widths[l - 1])), (f"b{l}", (SPEC.widths[l],))]
    }
    X, Y = rng.standard_normal((4, 3)), rng.standard_normal((4, 4))
    outputs = []
    for _, bug, _ in BUGS:
        g = bug(params, X, Y)
        outputs.append(np.concatenate([np.ravel(g[k]) for k in sorted(g)]))
    for i in range(len(outputs)):
        for j in range(i):
            same = outputs[i].shape == outputs[j].shape and np.allclose(outputs[i], outputs[j])
            assert not same, (BUGS[i][0], BUGS[j][0])
    assert len(BUGS) >= 12


# -- correct code passes ------------------------------------------------------------------------

CORRECT = [
    NetworkSpec(3, (3, 4, 4, 4), "sigmoid"),
    NetworkSpec(2, (3, 4, 2), "tanh"),
    NetworkSpec(3, (3, 4, 4, 2), "relu"),
    NetworkSpec(2, (3, 5, 2), "leaky_relu"),
    NetworkSpec(2, (2, 4, 3), "softplus"),
    NetworkSpec(2, (3, 4, 2), "identity"),
    NetworkSpec(3, (3, 4, 4, 2), ("relu", "tanh", "sigmoid"), "cross-entropy"),
    NetworkSpec(2, (3, 4, 3), "tanh", "softmax-cross-entropy"),
    NetworkSpec(1, (4, 3), "softmax", "softmax-cross-entropy"),
]


@pytest.mark.parametrize("spec", CORRECT, ids=lambda s: s.describe())
def test_correct_function_passes(spec):
    report = check_gradients(spec, grad_fn=Backprop(spec, activations=True))
    assert report.passed, report.table()
    assert report.candidate == "user"
    tensors = {c.tensor for c in report.comparisons if c.pair == ("symbolic", "user")}
    assert tensors == {
        *(f"{k}{l}" for l in range(1, spec.layers + 1) for k in "Wb"),
        *(f"dC_da{l}" for l in range(spec.layers)),
    }


def test_correct_function_without_activation_gradients_passes():
    report = check_gradients(SPEC, grad_fn=Backprop(SPEC))
    assert report.passed, report.table()
    assert not any(c.tensor.startswith("dC_da") and "user" in c.pair for c in report.comparisons)


def test_float32_user_function_passes_and_a_bug_is_still_caught():
    assert check_gradients(SPEC, grad_fn=Backprop(SPEC), dtype="float32").passed
    report = check_gradients(SPEC, grad_fn=SignFlip(SPEC), dtype="float32")
    assert _named(report) == {"W2"}


def test_float32_generated_code_passes():
    report = check_gradients((3, 4, 2), activation="tanh", dtype="float32")
    assert report.passed, report.table()
    assert report.dtype == "float32"
    rows = [c for c in report.comparisons if c.pair == ("symbolic", "generated")]
    assert rows and all((c.rtol, c.atol) == (2e-3, 2e-4) for c in rows)


# -- problems of the user's code ----------------------------------------------------------------


def _grads(params, X, Y):
    return Backprop(SPEC)(params, X, Y)


def _only_problem(report):
    assert not report.passed
    (problem,) = report.problems  # the same problem at every point is reported once
    return problem


def test_a_function_that_raises_is_a_problem():
    def raises(params, X, Y):
        raise ValueError("the user's bug")

    problem = _only_problem(check_gradients(SPEC, grad_fn=raises))
    assert problem.tensor is None
    assert "raised ValueError: the user's bug" in problem.message
    assert "test_check_bugs.py:" in problem.message  # where, in the user's file


def test_a_function_that_returns_a_non_dict_is_a_problem():
    problem = _only_problem(check_gradients(SPEC, grad_fn=lambda p, X, Y: list(_grads(p, X, Y))))
    assert problem.tensor is None
    assert "returned a list, not a dict" in problem.message


def test_a_missing_key_is_a_problem_naming_it():
    def missing(params, X, Y):
        g = _grads(params, X, Y)
        del g["W2"]
        return g

    report = check_gradients(SPEC, grad_fn=missing)
    problem = _only_problem(report)
    assert problem.tensor == "W2"
    assert "missing key 'W2'" in problem.message
    assert not report.failures()


def test_a_wrong_shape_is_a_problem_naming_the_tensor():
    def column(params, X, Y):
        g = _grads(params, X, Y)
        g["b1"] = g["b1"][:, None]
        return g

    problem = _only_problem(check_gradients(SPEC, grad_fn=column))
    assert problem.tensor == "b1"
    assert "wrong shape (4, 1), expected (4,)" in problem.message


def test_nan_is_a_problem_naming_the_tensor_and_entry():
    def nan(params, X, Y):
        g = _grads(params, X, Y)
        g["W3"][2, 1] = np.nan
        return g

    problem = _only_problem(check_gradients(SPEC, grad_fn=nan))
    assert problem.tensor == "W3"
    assert "NaN at [2, 1]" in problem.message


def test_a_wrong_activation_gradient_shape_is_named_as_in_the_comparisons():
    def transposed(params, X, Y):
        g = Backprop(SPEC, activations=True)(params, X, Y)
        g["dC_da0"] = g["dC_da0"].T
        return g

    problem = _only_problem(check_gradients(SPEC, grad_fn=transposed))
    assert "wrong shape (3, 4), expected (4, 3)" in problem.message
    # comparisons call this tensor dC_da0; a problem with it should too
    assert problem.tensor == "dC_da0"


# -- the generated code at extreme points --------------------------------------------------------


@pytest.mark.parametrize(
    ("activation", "z", "dtype"),
    [("sigmoid", 800.0, "float64"), ("tanh", 800.0, "float64"), ("tanh", 60.0, "float32")],
)
def test_a_saturated_unit_is_checked_not_crashed(activation, z, dtype):
    # z = +-800 (+-60 in float32) in the hidden layer: the activation saturates and its
    # derivative underflows to 0, which the generated code is written to do quietly.
    # (Richardson, as the complex step of the definitions overflows there: see test_finite.)
    params = {"W1": np.array([[z]]), "b1": np.zeros(1), "W2": np.ones((1, 1)), "b2": np.zeros(1)}
    at = Point(params, np.array([[1.0], [-1.0]]), np.array([[0.5], [0.25]]))
    report = check_gradients(
        (1, 1, 1), activation=activation, at=at, method="richardson", dtype=dtype
    )
    assert report.passed, report.table()
