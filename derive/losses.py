"""Loss functions as a table: one row holds the per-sample loss C_0 as a SymPy sum.

``C_0`` is written over the output units j = 0 ... N-1 with SymPy ``Indexed`` objects, so the
derivative dC_0/d(out)_k comes from SymPy's differentiation of the sum for any width N. The
whole-batch cost is always the mean ``C = (1/n) sum_i C_i`` over the n samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeAlias

import sympy as sp

from .activations import OUTPUT_ACTIVATIONS, Activation, boundaries

Indexed: TypeAlias = sp.IndexedBase

# Per-sample scalars of the loss rule: the output unit (a or z, by the loss) and its target.
out_k, y_k = sp.symbols("out_k y_k", real=True)

DEFAULT_LOSS = "squared"
"""The loss when none is given."""

REAL, PROBABILITY, SIMPLEX = "real", "probability", "simplex"
TARGETS = {
    REAL: "any real numbers",
    PROBABILITY: "numbers in [0, 1], one per output",
    SIMPLEX: "each sample's targets sum to 1 (one-hot or a probability vector)",
}
"""The kinds of target a loss takes, and what each kind is."""


@dataclass(frozen=True)
class Loss:
    """One row of the loss table.

    ``per_sample(out, y, j, N)`` is C_0 as a SymPy ``Sum`` over j (a Piecewise inside the sum
    keeps all its branches, see ``rules.loss_rule``). When ``output_activation`` is set, the
    loss is a function of the logits ``z^(L)`` and owns the output layer's activation (softmax
    for categorical cross-entropy, a key of ``OUTPUT_ACTIVATIONS``); otherwise it is a function
    of ``a^(L)``.

    What the rest of the package asks of it:

    - ``targets``: the kind of target it takes, a key of ``TARGETS`` (the check draws targets of
      that kind; for "simplex" the derivation assumes that they sum to 1, see ``assumption``).
    - ``outputs``: the interval its outputs must lie in (cross-entropy takes log a and
      log(1 - a)); it accepts the output activations whose ``values`` lie there.
    - ``composed``: finite differences evaluate it as a function of z^(L), composed with the
      output activation and simplified by SymPy (log(1 - a) of a sigmoid near 1 would lose every
      digit that 1 - a lacks).

    Read from C_0 itself: ``rational``, ``analytic`` and ``kinks`` (see each).
    """

    name: str
    per_sample: Callable[[Indexed, Indexed, sp.Symbol, sp.Expr], sp.Expr]
    targets: str = REAL
    outputs: sp.Interval = sp.Reals
    output_activation: str | None = None
    composed: bool = False

    def __post_init__(self) -> None:
        if self.targets not in TARGETS:
            raise ValueError(f"{self.name}: targets {self.targets!r} is none of {list(TARGETS)}")
        if self.output_activation not in (None, *OUTPUT_ACTIVATIONS):
            raise ValueError(f"{self.name}: no output activation {self.output_activation!r}")

    @property
    def assumption(self) -> str:
        """What the derivation assumes of the targets ("" for nothing)."""
        return TARGETS[SIMPLEX] if self.targets == SIMPLEX else ""

    @cached_property
    def summand(self) -> sp.Expr:
        """The term of C_0's sum over j, in ``out_k`` and ``y_k`` (with the sum's coefficient)."""
        o, t, j = sp.IndexedBase("o"), sp.IndexedBase("t"), sp.Symbol("j", integer=True)
        c0 = self.per_sample(o, t, j, sp.Symbol("N", integer=True, positive=True))
        coeff, total = c0.as_independent(sp.Sum, as_Add=False)
        return (coeff * total.function).xreplace({o[j]: out_k, t[j]: y_k})

    @property
    def rational(self) -> bool:
        """C_0 is rational at rational outputs and targets (no exp, log or root), so that the
        self-check compares exactly."""
        expr = self.summand
        powers = all(p.exp.is_Integer for p in expr.atoms(sp.Pow))
        functions = {type(f) for f in expr.atoms(sp.Function)}
        return powers and functions <= {sp.Piecewise, sp.Abs, sp.sign, sp.Max, sp.Min}

    @property
    def analytic(self) -> bool:
        """C_0 is holomorphic in the outputs, as the complex step needs: no Piecewise, |.| or
        sign, whose complex values are not the continuation of the real ones."""
        return not self.summand.has(sp.Piecewise, sp.Abs, sp.sign, sp.Max, sp.Min)

    @property
    def kinks(self) -> tuple[sp.Expr, ...]:
        """Expressions in ``out_k`` and ``y_k`` whose sign changes where a derivative of C_0
        jumps (huber's second derivative at |a - y| = 1)."""
        return boundaries(self.summand)

    def accepts(self, activation: Activation) -> bool:
        """Whether an elementwise ``activation`` on the output layer gives outputs this loss
        takes (a loss that owns its output activation accepts none)."""
        return self.output_activation is None and activation.values.is_subset(self.outputs) is True


def _squared(a, y, j, N):
    return sp.Sum((a[j] - y[j]) ** 2, (j, 0, N - 1))


def _cross_entropy(a, y, j, N):
    return -sp.Sum(y[j] * sp.log(a[j]) + (1 - y[j]) * sp.log(1 - a[j]), (j, 0, N - 1))


def _softmax_cross_entropy(z, y, j, N):
    i = sp.Symbol("i", integer=True)
    return -sp.Sum(y[j] * sp.log(sp.exp(z[j]) / sp.Sum(sp.exp(z[i]), (i, 0, N - 1))), (j, 0, N - 1))


def _half_squared(a, y, j, N):
    return sp.Sum((a[j] - y[j]) ** 2, (j, 0, N - 1)) / 2


def _huber(a, y, j, N):
    # delta = 1: r^2/2 for |r| <= 1 and |r| - 1/2 beyond, r = a - y; |r| is written by its sign
    # in each branch, so that no |.| is differentiated
    r, half = a[j] - y[j], sp.Rational(1, 2)
    huber = sp.Piecewise((r - half, r > 1), (-r - half, r < -1), (r**2 / 2, True))
    return sp.Sum(huber, (j, 0, N - 1))


LOSSES: dict[str, Loss] = {
    row.name: row
    for row in [
        Loss("squared", _squared),
        Loss(
            "cross-entropy",
            _cross_entropy,
            targets=PROBABILITY,
            outputs=sp.Interval.open(0, 1),
            composed=True,
        ),
        Loss(
            "softmax-cross-entropy",
            _softmax_cross_entropy,
            targets=SIMPLEX,
            output_activation="softmax",
        ),
        Loss("half-squared", _half_squared),
        Loss("huber", _huber),
    ]
}
"""Losses by CLI name. Adding a loss is adding a row."""
