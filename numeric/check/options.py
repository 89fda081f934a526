"""How a gradient check runs: every setting of ``check_gradients`` and ``bpverify check``.

``CheckOptions`` holds them with their defaults and refuses a value that cannot work on its own
(an unknown dtype or method, fewer than one point); ``run.check_gradients`` refuses the ones
that cannot work with the network (the complex step on relu). Both raise ``OptionError``.

Example:
    >>> CheckOptions(points=1, dtype="float32").batch
    4
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

from bpverify.derive import InputError
from bpverify.derive.losses import PROBABILITY, REAL, SIMPLEX, TARGETS

from .finite import METHODS

DTYPES = ("float64", "float32")
"""Precisions of the code under test; the symbolic values and finite differences are float64
or wider whatever the candidate's dtype."""

AUTO = "auto"
"""The method that picks itself: the complex step when every activation is analytic, else
Richardson (``finite.default_method``)."""

METHOD_CHOICES = (AUTO, *METHODS)
"""What ``CheckOptions.method`` accepts."""

SOFT, ONE_HOT = "soft", "one-hot"
TARGET_CHOICES: dict[str, tuple[str, ...]] = {
    SOFT: (REAL, PROBABILITY, SIMPLEX),
    ONE_HOT: (PROBABILITY, SIMPLEX),
}
"""How the check draws targets (``CheckOptions.targets``), with the kinds of target
(``losses.TARGETS``) each fits: "soft", random values of the loss's kind (real numbers,
probabilities in [0, 1], probability vectors); "one-hot", one 1 per sample and 0 elsewhere, as
the labels of a classifier."""


class OptionError(InputError):
    """A check option that cannot be used, alone or with the network; the message names the fix."""


@dataclass(frozen=True)
class CheckOptions:
    """The settings of one gradient check.

    Arguments:
        dtype: the candidate's precision, one of ``DTYPES``.
        method: the finite differences, one of ``METHOD_CHOICES`` ("auto" picks).
        points: random points to check at.
        batch: samples per point: more than one, so that a missing 1/n or a bias gradient that
            is not summed over the batch shows.
        seed: the seed of the random points, entries and directions.
        sample: finite differences of only this many entries per tensor (None: every entry).
        projection: compare directional derivatives along one random direction per tensor,
            entry by entry only for a tensor whose projection fails.
        avoid_kinks: redraw the inputs of a point while a relu pre-activation lies within a
            finite-difference step of 0.
        unrolled: also SymPy's derivative of the written-out network, a second ground truth
            (networks of at most ``exact.UNROLLED_REFERENCE_LIMIT`` parameters).
        rtol, atol: tolerances for every pair instead of ``compare.TOLERANCES``.
        timeout: seconds that importing a ``"file.py:function"`` and each call of it may take
            in its worker process; past them the worker is stopped and the check fails.
        memory_limit: GiB of address space the worker may take beyond its own start-up
            (Python and NumPy); 0 for no limit. A memory bomb then fails the check with
            MemoryError instead of taking the machine.
        targets: how targets are drawn, a key of ``TARGET_CHOICES``: "soft" (random values of
            the kind the loss takes) or "one-hot" (one 1 per sample; for the losses whose
            targets are probabilities or probability vectors).
    """

    dtype: str = "float64"
    method: str = AUTO
    points: int = 3
    batch: int = 4
    seed: int = 0
    sample: int | None = None
    projection: bool = False
    avoid_kinks: bool = False
    unrolled: bool = False
    rtol: float | None = None
    atol: float | None = None
    timeout: float = 60.0
    memory_limit: float = 4.0
    targets: str = SOFT

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise OptionError(f"unknown dtype {self.dtype!r}: choose {' or '.join(DTYPES)}")
        if self.targets not in TARGET_CHOICES:
            raise OptionError(
                f"unknown targets {self.targets!r} (--targets): choose "
                f"{' or '.join(TARGET_CHOICES)}"
            )
        if self.method not in METHOD_CHOICES:
            raise OptionError(f"unknown method {self.method!r}: choose {', '.join(METHOD_CHOICES)}")
        for name in ("points", "batch", "sample"):
            value = getattr(self, name)
            if value is None and name == "sample":
                continue
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
                raise OptionError(f"{name} must be a whole number >= 1, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, Integral) or self.seed < 0:
            raise OptionError(f"seed (--seed) must be a whole number >= 0, got {self.seed!r}")
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            # nan would fail every comparison, inf pass every one: neither is a tolerance
            number = isinstance(value, Real) and not isinstance(value, bool)
            if value is not None and not (number and 0 <= value < math.inf):
                raise OptionError(
                    f"{name} (--{name}) must be a finite number >= 0, got {value!r}: "
                    f"give e.g. --{name} 1e-6, or leave it out for the tolerance table"
                )
        budgets = (
            ("timeout", "a number of seconds > 0", False),
            ("memory_limit", "a number of GiB >= 0 (0: no limit)", True),
        )
        for name, kind, zero in budgets:
            value = getattr(self, name)
            number = isinstance(value, Real) and not isinstance(value, bool)
            if not number or not (0 < value < math.inf or (zero and value == 0)):
                flag = name.replace("_", "-")
                raise OptionError(f"{name} (--{flag}) must be {kind}, got {value!r}")

    def check_targets(self, loss: str, kind: str) -> None:
        """Refuse ``targets`` for a loss whose targets are of ``kind`` (its row's ``targets``)
        when the two do not fit: one-hot rows for a loss that takes any real numbers."""
        if kind not in TARGET_CHOICES[self.targets]:
            fits = [k for k, kinds in TARGET_CHOICES.items() if kind in kinds]
            raise OptionError(
                f"--targets {self.targets}: the {loss} loss takes {kind} targets "
                f"({TARGETS[kind]}); use --targets {' or '.join(fits)}"
            )
