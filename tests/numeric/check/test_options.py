"""numeric.check.options: the settings of a check, their defaults and what they refuse."""

import pytest

from bpverify.derive import InputError
from bpverify.derive.losses import PROBABILITY, REAL, SIMPLEX, TARGETS
from bpverify.numeric.check import finite
from bpverify.numeric.check.options import (
    AUTO,
    DTYPES,
    METHOD_CHOICES,
    SOFT,
    TARGET_CHOICES,
    CheckOptions,
    OptionError,
)


def test_defaults():
    o = CheckOptions()
    assert (o.dtype, o.method, o.points, o.batch, o.seed) == ("float64", AUTO, 3, 4, 0)
    assert o.sample is None and not (o.projection or o.avoid_kinks or o.unrolled)
    assert o.targets == "soft"


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
        ({"rtol": -1e-3}, "rtol (--rtol) must be a finite number >= 0"),
        ({"rtol": float("nan")}, "rtol (--rtol) must be a finite number >= 0"),
        ({"atol": float("nan")}, "atol (--atol) must be a finite number >= 0"),
        ({"atol": -1}, "atol (--atol) must be a finite number >= 0"),
        ({"atol": float("inf")}, "atol (--atol) must be a finite number >= 0"),
        ({"rtol": "1e-6"}, "rtol (--rtol) must be a finite number >= 0"),
        ({"seed": -1}, "seed (--seed) must be a whole number >= 0, got -1"),
        ({"targets": "hard"}, "unknown targets 'hard' (--targets): choose soft or one-hot"),
    ],
)
def test_a_setting_that_cannot_work_is_an_option_error(settings, message):
    with pytest.raises(OptionError) as e:
        CheckOptions(**settings)
    assert str(e.value).startswith(message)
    assert isinstance(e.value, InputError)


def test_one_hot_targets_fit_the_classification_kinds_only():
    one_hot = CheckOptions(targets="one-hot")
    for kind in (PROBABILITY, SIMPLEX):
        one_hot.check_targets("a loss", kind)
        CheckOptions().check_targets("a loss", kind)
    CheckOptions().check_targets("a loss", REAL)
    with pytest.raises(OptionError, match="the a loss loss takes real targets"):
        one_hot.check_targets("a loss", REAL)
    assert set(TARGET_CHOICES[SOFT]) == set(TARGETS)  # soft draws every kind
