"""check_gradients under the cost conventions: the generated code of a network with ``--cost
sum`` or ``--l2`` passes (its three sources agree), and code written for one convention fails a
check made in another, on exactly the tensors the convention changes."""

import numpy as np
import pytest
import sympy as sp

from bpverify.derive import NetworkSpec
from bpverify.numeric.check.run import check_gradients
from bpverify.numeric.codegen.program import Program

NETWORKS = [
    ((3, 4, 2), "tanh", "squared"),
    ((2, 3, 3, 1), "relu,tanh,sigmoid", "cross-entropy"),
    ((3, 4, 3), "sigmoid", "softmax-cross-entropy"),
]


@pytest.mark.parametrize("l2", [0, sp.Rational(1, 10), 3])
@pytest.mark.parametrize("cost", ["mean", "sum"])
@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: f"{n[1]}-{n[2]}")
def test_generated_code_passes_in_every_convention(network, cost, l2):
    widths, activation, loss = network
    spec = NetworkSpec(len(widths) - 1, widths, activation, loss, cost=cost, l2=l2)
    report = check_gradients(spec, seed=1, points=1)
    assert report.passed, report.table()
    assert all(c.compared > 0 for c in report.comparisons)


def _code_for(spec: NetworkSpec):
    program = Program(spec)
    return lambda params, X, Y: program.gradients(params, X, Y, activations=True)


def _failed(report) -> set[str]:
    return {c.tensor for c in report.failures()}


def test_mean_cost_code_fails_a_sum_cost_check_on_every_tensor():
    mean = NetworkSpec(2, (3, 4, 2), "tanh")
    report = check_gradients(NetworkSpec(2, (3, 4, 2), "tanh", cost="sum"), _code_for(mean))
    assert not report.passed
    assert _failed(report) == {"W1", "b1", "W2", "b2", "dC_da0", "dC_da1"}


def test_code_without_decay_fails_an_l2_check_on_the_weights_only():
    plain = NetworkSpec(2, (3, 4, 2), "tanh")
    decayed = NetworkSpec(2, (3, 4, 2), "tanh", l2=sp.Rational(1, 10))
    report = check_gradients(decayed, _code_for(plain))
    assert _failed(report) == {"W1", "W2"}
    # and the decayed code fails the plain check the same way
    assert _failed(check_gradients(plain, _code_for(decayed))) == {"W1", "W2"}


def test_the_generated_loss_is_the_cost_of_the_convention():
    rng = np.random.default_rng(0)
    widths = (2, 3, 1)
    params = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=3)}
    params |= {"W2": rng.normal(size=(1, 3)), "b2": rng.normal(size=1)}
    X, Y = rng.normal(size=(5, 2)), rng.uniform(size=(5, 1))
    mean = Program(NetworkSpec(2, widths, "tanh")).loss(params, X, Y)
    total = Program(NetworkSpec(2, widths, "tanh", cost="sum")).loss(params, X, Y)
    assert total == pytest.approx(5 * mean, rel=1e-14)
    squares = sum(np.sum(params[k] ** 2) for k in ("W1", "W2"))
    decayed = Program(NetworkSpec(2, widths, "tanh", l2=sp.Rational(1, 2))).loss(params, X, Y)
    assert decayed == pytest.approx(mean + squares / 4 / 5, rel=1e-14)
