import math

import numpy as np
import pytest

from bpverify.derive.activations import (
    ACTIVATIONS,
    INITIALISATIONS,
    OUTPUT_ACTIVATIONS,
    activation_row,
)
from bpverify.numeric.init import INIT_RULES, init_params

STD = {
    "xavier": lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)),
    "he": lambda fan_in, fan_out: math.sqrt(2 / fan_in),
}
"""The standard deviation of each rule, written out."""


def rel_err(actual: float, expected: float) -> float:
    return abs(actual - expected) / expected


# The sample standard deviation of N normal draws has relative standard error about
# 1 / sqrt(2 N); for a 400 x 400 layer (N = 160000) that is 0.18 %, so a 2 % tolerance is more
# than ten standard errors wide, while Xavier and He differ by 41 % on a square layer.
TOLERANCE = 0.02


def test_every_rule_a_row_may_name_has_a_std():
    assert set(INIT_RULES) == set(INITIALISATIONS) == set(STD)


def test_rows_keep_the_usual_rules():
    # He for the relu family, which zeroes (about) half of its inputs; Xavier for the others.
    assert {n for n in ACTIVATIONS if ACTIVATIONS[n].init == "he"} >= {"relu", "leaky_relu"}
    assert ACTIVATIONS["tanh"].init == ACTIVATIONS["sigmoid"].init == "xavier"


@pytest.mark.parametrize("activation", [*ACTIVATIONS, *OUTPUT_ACTIVATIONS])
def test_std_follows_the_rule_of_the_activation(activation):
    params = init_params((400, 400, 200), (activation, activation), np.random.default_rng(1))
    std = STD[activation_row(activation).init]
    for l, (fan_in, fan_out) in enumerate([(400, 400), (400, 200)], start=1):
        W = params[f"W{l}"]
        assert W.shape == (fan_out, fan_in)
        expected = std(fan_in, fan_out)
        assert rel_err(W.std(), expected) < TOLERANCE, (activation, l)
        # The mean of N draws has standard error std / sqrt(N): 0.0025 std here.
        assert abs(W.mean()) < 0.02 * expected


def test_each_layer_uses_its_own_activation():
    params = init_params((400, 400, 400), ("relu", "tanh"), np.random.default_rng(2))
    assert rel_err(params["W1"].std(), math.sqrt(2 / 400)) < TOLERANCE  # He
    assert rel_err(params["W2"].std(), math.sqrt(2 / 800)) < TOLERANCE  # Xavier


def test_biases_are_zero_and_shapes_follow_the_widths():
    params = init_params((3, 5, 2), ("tanh", "sigmoid"), np.random.default_rng(0))
    assert sorted(params) == ["W1", "W2", "b1", "b2"]
    assert params["W1"].shape == (5, 3) and params["W2"].shape == (2, 5)
    assert params["b1"].shape == (5,) and params["b2"].shape == (2,)
    assert not params["b1"].any() and not params["b2"].any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_respected(dtype):
    params = init_params((4, 3, 2), "relu", np.random.default_rng(0), dtype=dtype)
    assert all(p.dtype == dtype for p in params.values())


def test_float32_is_the_float64_draw_rounded():
    p64 = init_params((4, 3, 2), "tanh", np.random.default_rng(5))
    p32 = init_params((4, 3, 2), "tanh", np.random.default_rng(5), dtype=np.float32)
    for key in p64:
        np.testing.assert_array_equal(p32[key], p64[key].astype(np.float32))


def test_deterministic_for_a_fixed_seed():
    a = init_params((4, 6, 3), ("relu", "identity"), np.random.default_rng(42))
    b = init_params((4, 6, 3), ("relu", "identity"), np.random.default_rng(42))
    c = init_params((4, 6, 3), ("relu", "identity"), np.random.default_rng(43))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["W1"], c["W1"])


def test_one_name_serves_every_layer():
    a = init_params((4, 6, 3), "sigmoid", np.random.default_rng(0))
    b = init_params((4, 6, 3), ("sigmoid", "sigmoid"), np.random.default_rng(0))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize(
    ("widths", "activations", "dtype", "message"),
    [
        ((2, 3, 1), ("sigmoid", "swish"), np.float64, "unknown activation 'swish'"),
        ((2, 3, 1), ("sigmoid",), np.float64, "1 activations given for 2 layers"),
        ((2,), (), np.float64, "1 widths give no layer"),
        ((2, 0, 1), "relu", np.float64, "width n_1 must be a whole number >= 1"),
        ((2, 3, 1), "relu", np.int64, "dtype must be a floating type"),
    ],
)
def test_bad_arguments_raise_value_error(widths, activations, dtype, message):
    with pytest.raises(ValueError, match=message):
        init_params(widths, activations, np.random.default_rng(0), dtype=dtype)
