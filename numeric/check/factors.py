"""Constant factors: a tensor of the code under test that is the reference times one constant,
and the convention or bug that most likely explains it.

A gradient that is wrong by one factor everywhere is rarely a wrong rule: it is a convention
the reference does not share. Three independent causes multiply:

- the sign (−1): (y − a) written for (a − y), or the negative gradient returned (ascent);
- the loss's scale (½ or 2): a C_0 of half (or twice) the loss checked; when another row of the
  loss table is exactly that, the hint names it and its ``--loss``;
- the batch (n or 1/n, n the batch size): the cost summed over the samples where the reference
  averages, or averaged where it sums (``spec.COSTS``), or the batch size applied twice.

``readings(loss, n, cost)`` lists the products of these, simplest first, one ``Reading`` per value
(causes that give the same value, such as 2 and n/2 at n = 4, are named together); the check
divides the candidate by each ``value`` in turn and compares again with its own tolerances
(``run``), so a factor is named only when every compared entry agrees with it.

Example:
    >>> [r.name for r in readings("squared", 5)][:4]
    ['factor −1', 'factor 2', 'factor 2', 'factor n (n = 5, the batch size)']
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import sympy as sp

from bpverify.derive import LOSSES
from bpverify.derive.spec import COSTS, DEFAULT_COST


@dataclass(frozen=True)
class Reading:
    """One explanation of a constant factor: the candidate is ``value`` times the reference.

    ``name`` is how the report names it ("factor 2": the larger of the factor and its inverse,
    so that ½ of the reference and twice it are both "factor 2"); ``says`` which way ("yours is
    ½ of the reference"); ``hint`` the likely convention or bug, and the option that adopts it.
    """

    value: float
    name: str
    says: str
    hint: str

    def as_dict(self) -> dict:
        return {"ratio": self.value, "name": self.name, "says": self.says, "hint": self.hint}

    def __str__(self) -> str:
        return f"{self.name}: {self.says}: {self.hint}"


@dataclass(frozen=True)
class _Cause:
    """One cause of a factor: the ratio it contributes, ``scale`` times n ** ``n_power``; its
    symbol in the numerator (``top``) or denominator (``bottom``) of that ratio; its hint."""

    scale: Fraction
    n_power: int
    top: str
    bottom: str
    hint: str
    alone: bool = False  # a slip seen alone (or with the sign), not beside a convention


SIGN = _Cause(
    Fraction(-1),
    0,
    "",
    "",
    "the sign flipped: (y − a) written for (a − y), or the negative gradient (ascent) returned",
)


def _batch_causes(cost: str) -> list[_Cause]:
    """n and 1/n: another cost over the samples (a row of ``spec.COSTS``) where there is one,
    the batch size applied twice (or once more) where there is none."""
    n = sp.Symbol("n", positive=True)
    ours = COSTS[cost].scale(n)
    causes = {}
    for other, row in COSTS.items():
        power = sp.simplify(row.scale(n) / ours).as_base_exp()
        if other != cost and power[0] == n and power[1] in (1, -1):
            causes[int(power[1])] = (
                f"the {other} over the batch ({_written(row.scale(n))}) instead of the {cost} "
                f"(the reference, {_written(ours)})? use --cost {other}",
                False,
            )
    slips = {
        -1: f"divided by the batch size n twice (the reference is {_written(ours)})",
        1: f"multiplied by the batch size n once too often (the reference is {_written(ours)})",
    }
    for power, hint in slips.items():
        causes.setdefault(power, (hint, True))
    return [
        _Cause(Fraction(1), p, "n" if p > 0 else "", "n" if p < 0 else "", hint, alone)
        for p, (hint, alone) in sorted(causes.items(), reverse=True)
    ]


def _written(scale: sp.Expr) -> str:
    """The cost with this factor: "C = (1/n) Σ C_i", "C = Σ C_i"."""
    return "C = Σ C_i" if scale == 1 else f"C = ({sp.sstr(scale)}) Σ C_i"


def _loss_causes(loss: str) -> list[_Cause]:
    """½ and 2 on C_0, each with the loss row that is exactly that, when there is one."""
    causes = []
    for scale, top, bottom in ((Fraction(1, 2), "", "2"), (Fraction(2), "2", "")):
        label = "½" if bottom else top
        partner = _partner(loss, scale)
        if partner:
            hint = (
                f"the {partner} convention (C_0 = {label} × the {loss} loss)? use --loss {partner}"
            )
        else:
            hint = f"a C_0 {label} × the {loss} loss, or a stray factor {label} in your code"
        causes.append(_Cause(scale, 0, top, bottom, hint))
    return causes


@cache
def _partner(loss: str, scale: Fraction) -> str:
    """The name of the loss row whose C_0 is ``scale`` times that of ``loss``, taking the same
    targets and outputs; "" when there is none."""
    row = LOSSES[loss]
    wanted = sp.Rational(scale.numerator, scale.denominator) * row.summand
    for other in LOSSES.values():
        same = (other.targets, other.outputs, other.output_activation)
        if other is row or same != (row.targets, row.outputs, row.output_activation):
            continue
        if sp.simplify(other.summand - wanted) == 0:
            return other.name
    return ""


@cache
def readings(loss: str, n: int, cost: str = DEFAULT_COST) -> tuple[Reading, ...]:
    """Every explanation of a constant factor for a network with this loss, batch size n and
    cost over the samples (``spec.COSTS``): one cause or two, simplest first, one reading per
    value (never 1)."""
    groups = [[SIGN], _loss_causes(loss), _batch_causes(cost)]
    by_value: dict[float, list[Reading]] = {}
    for size in (1, 2):
        for chosen in itertools.combinations(groups, size):
            for causes in itertools.product(*chosen):
                ratio = Fraction(1)
                for c in causes:
                    ratio *= c.scale * Fraction(n) ** c.n_power
                if ratio != 1 and _plausible(causes):
                    by_value.setdefault(float(ratio), []).append(_reading(causes, ratio, n))
    return tuple(_together(same) for same in by_value.values())


def _plausible(causes: tuple[_Cause, ...]) -> bool:
    """A slip of the batch size is read alone (or with a flipped sign), not beside a scaled
    loss: 2/n is no likelier than any other number."""
    return not any(c.alone for c in causes) or all(c.alone or c is SIGN for c in causes)


def _reading(causes: tuple[_Cause, ...], ratio: Fraction, n: int) -> Reading:
    sign = "−" if ratio < 0 else ""
    top = "".join(sorted(c.top for c in causes))
    bottom = "".join(sorted(c.bottom for c in causes))
    larger = _fraction(top, bottom) if abs(ratio) > 1 else _fraction(bottom, top)
    name = f"factor {sign}{larger}"
    if any(c.n_power for c in causes):
        name += f" (n = {n}, the batch size)"
    if ratio == -1:
        says = "yours is the negative of the reference"
    elif abs(ratio) < 1:
        says = f"yours is {sign}{_fraction(top, bottom)} of the reference"
    else:
        says = f"yours is {sign}{_fraction(top, bottom)} × the reference"
    return Reading(float(ratio), name, says, "; and ".join(c.hint for c in causes))


def _fraction(top: str, bottom: str) -> str:
    """``top``/``bottom`` as printed: "2", "½", "n/2", "1/(2n)"."""
    if not bottom:
        return top or "1"
    if (top, bottom) == ("", "2"):
        return "½"
    return f"{top or 1}/{bottom}" if len(bottom) == 1 else f"{top or 1}/({bottom})"


def _together(same: list[Reading]) -> Reading:
    """Readings of one value as one: the simplest, with the others as alternatives."""
    first, *others = same
    if not others:
        return first
    hint = first.hint + "".join(f"; or, as {r.name}, {r.hint}" for r in others)
    return Reading(
        first.value,
        first.name,
        first.says,
        hint + " (a check with another --batch tells them apart)",
    )
