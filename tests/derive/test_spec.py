import re

import pytest
import sympy as sp

from bpverify.derive import InputError, NetworkSpec, SpecError, parse_widths
from bpverify.derive.limits import LimitError
from bpverify.derive.spec import parse_spec, read_l2, read_slope


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
        (
            {"layers": 2, "widths": (2, 3, 1), "loss": "softmax-cross-entropy"},
            "takes at least 2 outputs (softmax of one output is 1 whatever the weights",
        ),
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


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.01", sp.Rational(1, 100)), ("1/3", sp.Rational(1, 3)), ("2e-3", sp.Rational(1, 500))],
)
def test_the_leaky_slope_is_read_exactly(text, value):
    assert read_slope(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e999999999", "the decimal exponent 999999999 is more than the 30 accepted"),
        ("1" * 40, "40 significant digits is more than the 30 accepted"),
        ("1/0", "divides by zero"),
        ("nan", "is not a number"),
        ("inf", "is not a number"),
    ],
)
def test_a_leaky_slope_is_bounded_before_it_is_built(text, message):
    with pytest.raises(InputError, match=re.escape(message)):
        read_slope(text)


def test_depth_width_and_parameters_are_held_to_their_limits():
    with pytest.raises(LimitError, match="a network of 100000 layers is more than the 1000"):
        NetworkSpec(layers=100000)
    with pytest.raises(LimitError, match="width n_1 = 1000001 is more than the 1000000"):
        NetworkSpec(layers=1, widths=(1, 1000001))
    with pytest.raises(LimitError, match="1000002000001 weights and biases is more than"):
        NetworkSpec(layers=2, widths=(10**6, 10**6, 1))


def test_widths_are_checked_on_their_text_before_a_number_is_built():
    with pytest.raises(SpecError, match="a width of 4000 digits is more than the 1000000"):
        parse_widths("1" * 4000 + ",1")
    with pytest.raises(LimitError, match=r"--widths with 20001 entries \(20000 layers\)"):
        parse_widths(",".join(["1"] * 20001))
    with pytest.raises(SpecError, match="'²' in '²,1' is not a whole number"):
        parse_widths("²,1")


def test_the_cost_is_the_mean_without_penalty_by_default():
    spec = NetworkSpec(2, (2, 3, 1))
    assert (spec.cost, spec.l2) == ("mean", 0)
    assert spec.describe() == "L=2, widths 2,3,1, sigmoid, squared loss"


def test_cost_and_l2_are_named_by_describe_and_conventions():
    spec = parse_spec(widths="2,3,1", cost="sum", l2="0.1")
    assert spec.l2 == sp.Rational(1, 10)
    assert spec.describe() == "L=2, widths 2,3,1, sigmoid, squared loss, sum over samples, l2 1/10"
    assert spec.conventions == "C = sum_i C_i + lambda/2 sum_l ||W^(l)||_F^2 (lambda = 1/10)"
    mean = parse_spec(widths="2,3,1", l2="1/4")
    assert (
        mean.conventions == "C = (1/n) sum_i C_i + lambda/(2n) sum_l ||W^(l)||_F^2 (lambda = 1/4)"
    )


def test_batch_scale_and_penalty_coefficient():
    n = sp.Symbol("n")
    assert NetworkSpec(1).batch_scale(n) == 1 / n
    assert NetworkSpec(1, cost="sum").batch_scale(n) == 1
    assert NetworkSpec(1, l2=sp.Rational(1, 10)).penalty_coefficient(n) == 1 / (20 * n)
    assert NetworkSpec(1, cost="sum", l2=1).penalty_coefficient(n) == sp.Rational(1, 2)


@pytest.mark.parametrize(
    "text, message",
    [
        ("-0.1", "--l2 -0.1 is negative: give a decay >= 0"),
        ("nan", "--l2 'nan' is not a number: give e.g. --l2 0.01"),
        ("inf", "--l2 'inf' is not a number"),
        ("1/0", "--l2 1/0 divides by zero"),
        ("1e99999999", "--l2 1e99999999: the decimal exponent"),
    ],
)
def test_bad_l2_names_the_option_and_the_fix(text, message):
    with pytest.raises(SpecError) as e:
        parse_spec(widths="2,1", l2=text)
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_unknown_cost_and_negative_l2_are_refused():
    with pytest.raises(SpecError, match="unknown cost 'avg': choose one of mean, sum"):
        NetworkSpec(1, cost="avg")
    with pytest.raises(SpecError, match="l2 must be a finite number >= 0"):
        NetworkSpec(1, l2=-1)
    assert read_l2(0.25) == sp.Rational(1, 4)
