import re

import pytest
import sympy as sp

from bpverify.derive import NetworkSpec, SpecError, parse_widths


def test_symbolic_widths_by_default():
    spec = NetworkSpec(layers=3)
    assert [str(w) for w in spec.widths] == ["n_0", "n_1", "n_2", "n_3"]
    assert spec.symbolic
    assert spec.activations == ("sigmoid",) * 3
    assert spec.loss == "squared"


def test_parameter_count():
    assert NetworkSpec(2, (2, 3, 1)).parameter_count == 3 * 3 + 1 * 4


def test_per_layer_activations():
    spec = NetworkSpec(3, (2, 2, 2, 1), "relu,tanh,identity")
    assert spec.activations == ("relu", "tanh", "identity")


def test_softmax_cross_entropy_owns_the_output_layer():
    spec = NetworkSpec(3, (2, 4, 4, 3), "tanh", "softmax-cross-entropy")
    assert spec.activations == ("tanh", "tanh", "softmax")
    assert (
        NetworkSpec(2, None, "relu,softmax", "softmax-cross-entropy").activations[-1] == "softmax"
    )


def test_leaky_slope_is_exact():
    assert NetworkSpec(1, leaky_slope=0.25).leaky_slope == sp.Rational(1, 4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layers": 0}, "layers must be a whole number >= 1"),
        ({"layers": 2, "widths": (2, 3)}, "2 widths given for 2 layers: give 3 widths"),
        ({"layers": 1, "widths": (2, 0)}, "width n_1 must be a whole number >= 1"),
        (
            {"layers": 1, "activations": "swish"},
            "unknown activation 'swish' for layer 1: choose one of",
        ),
        ({"layers": 2, "activations": "relu,tanh,relu"}, "3 activations given for 2 layers"),
        ({"layers": 1, "loss": "hinge"}, "unknown loss 'hinge': choose one of squared"),
        (
            {"layers": 2, "activations": "relu,tanh", "loss": "softmax-cross-entropy"},
            "puts softmax",
        ),
        (
            {"layers": 2, "activations": "softmax,sigmoid"},
            "exists only as the output of loss 'softmax-cross-entropy'",
        ),
        (
            {"layers": 2, "activations": "tanh", "loss": "cross-entropy"},
            "cross-entropy needs outputs in (0, 1), which tanh does not give: end with a "
            "sigmoid layer, e.g. --activation tanh,sigmoid",
        ),
        (
            {"layers": 1, "activations": "relu", "loss": "cross-entropy"},
            "e.g. --activation sigmoid",
        ),
        ({"layers": 1, "leaky_slope": -1}, "leaky_slope must be a finite number >= 0"),
    ],
)
def test_bad_specs_name_the_problem_and_the_fix(kwargs, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        NetworkSpec(**kwargs)


def test_unknown_activation_lists_the_valid_ones():
    with pytest.raises(SpecError) as e:
        NetworkSpec(1, activations="swish")
    for name in ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity"):
        assert name in str(e.value)


def test_parse_widths():
    assert parse_widths("2, 3,1") == (2, 3, 1)
    for bad in ("2,x,1", "2,,1", "2,-1", "0,1"):
        with pytest.raises(SpecError, match="whole number >= 1"):
            parse_widths(bad)


def test_a_loss_takes_the_outputs_its_row_accepts():
    assert NetworkSpec(3, None, "relu,tanh,sigmoid", "cross-entropy").activations[-1] == "sigmoid"
    assert NetworkSpec(2, None, "tanh", "squared").activations == ("tanh", "tanh")
