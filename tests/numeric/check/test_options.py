"""numeric.check.options: the settings of a check, and check_gradients' two ways to take them."""

import pytest

from bpverify.derive import InputError, NetworkSpec
from bpverify.numeric.check import finite
from bpverify.numeric.check.options import (
    AUTO,
    DTYPES,
    METHOD_CHOICES,
    CheckOptions,
    OptionError,
)
from bpverify.numeric.check.run import check_gradients


def test_defaults():
    o = CheckOptions()
    assert (o.dtype, o.method, o.points, o.batch, o.seed) == ("float64", AUTO, 3, 4, 0)
    assert o.sample is None and not (o.projection or o.avoid_kinks or o.unrolled)


def test_the_choices_are_the_library_tables():
    assert DTYPES[0] == CheckOptions.dtype
    assert (AUTO, *finite.METHODS) == METHOD_CHOICES


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"dtype": "float16"}, "unknown dtype 'float16': choose float64 or float32"),
        ({"method": "forward"}, "unknown method 'forward': choose auto, "),
        ({"points": 0}, "points must be a whole number >= 1, got 0"),
        ({"batch": 2.5}, "batch must be a whole number >= 1, got 2.5"),
        ({"sample": 0}, "sample must be a whole number >= 1, got 0"),
        ({"points": True}, "points must be a whole number >= 1, got True"),
        ({"rtol": -1e-3}, "rtol must be a number >= 0"),
        ({"atol": float("nan")}, "atol must be a number >= 0"),
    ],
)
def test_a_setting_that_cannot_work_is_an_option_error(settings, message):
    with pytest.raises(OptionError) as e:
        CheckOptions(**settings)
    assert str(e.value).startswith(message)
    assert isinstance(e.value, InputError)


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
