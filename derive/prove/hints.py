"""Hints: the common mistakes of a hand derivation, and the one a refuted claim matches.

``MISTAKES`` is a table, one row per mistake: its hint and the transformation that makes the
mistake in the truth. A refuted claim that equals one of the mistaken truths at every probe of
the counterexample search gets that row's hint. Adding a mistake = adding a row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from ..activations import ACTIVATIONS
from ..losses import LOSSES
from ..notation import j
from ..rules import loss_rule
from .counterexample import TOLERANCE, OutOfRange, Probe, difference
from .truth import ProofTask


@dataclass(frozen=True)
class Mistake:
    """One common mistake: ``hint`` names it ({l} and {below} are the layers of a weight
    target, l and l-1); ``make`` gives the truth with the mistake made, once for each way it
    can be made (none when the target cannot show it)."""

    hint: str
    make: Callable[[ProofTask], list[sp.Expr]]


def _without_sigma_prime(task: ProofTask) -> list[sp.Expr]:
    """Every sigma' dropped, then the sigma' of one layer at a time."""
    layers = (None, *range(1, task.spec.layers + 1))
    return [_drop_primes(task.truth, layer) for layer in layers]


def _drop_primes(expr: sp.Expr, layer: int | None) -> sp.Expr:
    """sigma'(z^(layer)) replaced by 1 (every sigma' when ``layer`` is None)."""
    primes = {act.prime for act in ACTIVATIONS.values()}

    def hit(e) -> bool:
        if type(e) not in primes:
            return False
        return layer is None or any(
            getattr(m.parent, "name", "") == f"z{layer}" for m in e.atoms(MatrixElement)
        )

    return expr.replace(hit, lambda e: sp.Integer(1))


def _weights_transposed(task: ProofTask) -> list[sp.Expr]:
    """Every w^(l)_jk read as w^(l)_kj."""

    def swap(e: MatrixElement) -> sp.Expr:
        return e.parent[e.j, e.i]

    def is_weight(e) -> bool:
        return isinstance(e, MatrixElement) and e.parent.name.startswith("W")

    return [task.truth.replace(is_weight, swap)]


def _without_sum(task: ProofTask) -> list[sp.Expr]:
    """The summand of the outermost sums, their index made free under each letter the claim
    has beyond --wrt's (j when it has none)."""
    letters = sorted(task.extra, key=str) or [j]
    return [
        task.truth.replace(
            lambda e: isinstance(e, sp.Sum),
            lambda s, letter=letter: s.function.xreplace({s.limits[0][0]: letter}),
        )
        for letter in letters
    ]


def _without_factor_2(task: ProofTask) -> list[sp.Expr]:
    """Half the truth, for a loss whose derivative brings a 2 (the squared loss's 2(a - y))."""
    factor, _ = loss_rule(LOSSES[task.spec.loss]).as_coeff_Mul()
    return [task.truth / 2] if factor == 2 else []


def _output_for_input(task: ProofTask) -> list[sp.Expr]:
    """For dC_0/dw^(l): a^(l-1) replaced by a^(l), the layer's output taken for its input."""
    if task.target.quantity != "W":
        return []
    layer = task.target.layer

    def lift(e: MatrixElement) -> sp.Expr:
        return sp.MatrixSymbol(f"a{layer}", *e.parent.shape)[e.i, e.j]

    return [
        task.truth.replace(
            lambda e: isinstance(e, MatrixElement) and e.parent.name == f"a{layer - 1}", lift
        )
    ]


MISTAKES: dict[str, Mistake] = {
    "sigma' missing": Mistake(
        "looks like sigma' is missing: a^(l) = sigma(z^(l)) puts the factor "
        "da/dz = sigma'(z^(l)) into every gradient below it",
        _without_sigma_prime,
    ),
    "w_kj for w_jk": Mistake(
        "looks like w_kj is written for w_jk: w^(l)_jk joins unit k of layer l-1 to "
        "unit j of layer l",
        _weights_transposed,
    ),
    "sum over j missing": Mistake(
        "looks like the sum over j is missing: a^(l-1)_k feeds every unit j of layer "
        "l, so dC_0/da^(l-1)_k adds up the paths through all of them",
        _without_sum,
    ),
    "factor 2 missing": Mistake(
        "looks like the factor 2 is missing: dC_0/da^(L)_j = 2(a^(L)_j - y_j) for "
        "C_0 = sum_j (a^(L)_j - y_j)^2",
        _without_factor_2,
    ),
    "a^(l) for a^(l-1)": Mistake(
        "looks like a^({l}) is written where a^({below}) belongs: "
        "dz^({l})_j/dw^({l})_jk = a^({below})_k, the input of the layer",
        _output_for_input,
    ),
}
"""The common mistakes, in the order they are tried: the first one the claim matches wins."""


def mistakes(task: ProofTask) -> list[tuple[str, sp.Expr]]:
    """The mistakes the target can show, each as (hint, the truth with that mistake made)."""
    l = task.target.layer
    return [
        (row.hint.format(l=l, below=l - 1), mistaken)
        for row in MISTAKES.values()
        for mistaken in row.make(task)
        if mistaken != task.truth
    ]


def find_hint(task: ProofTask, points: list[Probe]) -> str | None:
    """The first mistake that the claim equals at every one of ``points``."""
    values = []
    for p in points:
        try:
            values.append((p, p.evaluate(task.claimed)))
        except OutOfRange:
            continue
    for hint, mistaken in mistakes(task):
        try:
            if values and all(difference(c, p.evaluate(mistaken)) <= TOLERANCE for p, c in values):
                return hint
        except OutOfRange:
            continue
    return None
