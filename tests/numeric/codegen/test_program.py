"""program: the generated module compiled in memory, called in the public convention."""

import inspect

import numpy as np
import pytest

from bpverify.derive import NetworkSpec
from bpverify.numeric.codegen.program import Program
from bpverify.numeric.init import init_params

SPEC = NetworkSpec(2, (3, 4, 2), "tanh")


def data(rng, n=5):
    return rng.standard_normal((n, 3)), rng.standard_normal((n, 2))


@pytest.fixture(scope="module")
def program():
    return Program(SPEC)


def test_shapes_follow_the_public_convention(program):
    rng = np.random.default_rng(0)
    params = init_params(SPEC.widths, SPEC.activations, rng)
    X, Y = data(rng)
    assert program.forward(params, X).shape == (5, 2)
    grads = program.gradients(params, X, Y)
    assert {k: v.shape for k, v in grads.items()} == {k: v.shape for k, v in params.items()}
    assert np.ndim(program.loss(params, X, Y)) == 0


def test_forward_is_the_network(program):
    rng = np.random.default_rng(1)
    params = init_params(SPEC.widths, SPEC.activations, rng)
    X, _ = data(rng)
    hidden = np.tanh(X @ params["W1"].T + params["b1"])
    np.testing.assert_allclose(
        program.forward(params, X), np.tanh(hidden @ params["W2"].T + params["b2"]), rtol=1e-13
    )


def test_float32_stays_float32():
    rng = np.random.default_rng(2)
    params = init_params(SPEC.widths, SPEC.activations, rng)
    X, Y = data(rng)
    grads = Program(SPEC, np.float32).gradients(params, X, Y)
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}


def test_the_source_is_inspectable(program):
    assert inspect.getsource(program.function("gradients")) in program.source
