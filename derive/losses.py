"""Loss functions as a table: one row holds the per-sample loss C_0 as a SymPy sum.

``C_0`` is written over the output units j = 0 ... N-1 with SymPy ``Indexed`` objects, so the
derivative dC_0/d(out)_k comes from SymPy's differentiation of the sum for any width N. The
whole-batch cost is always the mean ``C = (1/n) sum_i C_i`` over the n samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

Indexed = sp.IndexedBase


@dataclass(frozen=True)
class Loss:
    """One row of the loss table.

    ``per_sample(out, y, j, N)`` is C_0 as a SymPy ``Sum`` over j. When ``output_activation`` is
    set, the loss is a function of the logits ``z^(L)`` and owns the output layer's activation
    (softmax for categorical cross-entropy); otherwise it is a function of ``a^(L)``.
    ``assumption`` states what the derivation assumes of the targets (see ``rules.loss_rule``).
    """

    name: str
    per_sample: Callable[[Indexed, Indexed, sp.Symbol, sp.Expr], sp.Expr]
    output_activation: str | None = None
    assumption: str = ""


def _squared(a, y, j, N):
    return sp.Sum((a[j] - y[j]) ** 2, (j, 0, N - 1))


def _cross_entropy(a, y, j, N):
    return -sp.Sum(y[j] * sp.log(a[j]) + (1 - y[j]) * sp.log(1 - a[j]), (j, 0, N - 1))


def _softmax_cross_entropy(z, y, j, N):
    i = sp.Symbol("i", integer=True)
    return -sp.Sum(y[j] * sp.log(sp.exp(z[j]) / sp.Sum(sp.exp(z[i]), (i, 0, N - 1))), (j, 0, N - 1))


LOSSES: dict[str, Loss] = {
    row.name: row
    for row in [
        Loss("squared", _squared),
        Loss(
            "cross-entropy",
            _cross_entropy,
        ),
        Loss(
            "softmax-cross-entropy",
            _softmax_cross_entropy,
            output_activation="softmax",
            assumption="each sample's targets sum to 1 (one-hot or a probability vector)",
        ),
    ]
}
"""Losses by CLI name. Adding a loss is adding a row."""
