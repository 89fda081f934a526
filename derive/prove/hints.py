"""Hints: the common mistakes of a hand derivation, and the one a refuted claim matches.

Each mistake is the truth with that mistake made; a claim that equals one of them at every
probe of the counterexample search gets its hint.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from ..activations import ACTIVATIONS
from ..notation import j
from .counterexample import TOLERANCE, OutOfRange, Probe, difference
from .truth import ProofTask


def _drop_primes(expr: sp.Expr, layer: int | None = None) -> sp.Expr:
    """sigma'(z^(layer)) replaced by 1 (every sigma' when ``layer`` is None)."""
    primes = {act.prime for act in ACTIVATIONS.values()}

    def hit(e) -> bool:
        if type(e) not in primes:
            return False
        return layer is None or any(
            getattr(m.parent, "name", "") == f"z{layer}" for m in e.atoms(MatrixElement)
        )

    return expr.replace(hit, lambda e: sp.Integer(1))


def _swap_weights(expr: sp.Expr) -> sp.Expr:
    def swap(e: MatrixElement) -> sp.Expr:
        return e.parent[e.j, e.i]

    return expr.replace(
        lambda e: isinstance(e, MatrixElement) and e.parent.name.startswith("W"), swap
    )


def _drop_sums(expr: sp.Expr, letters: list[sp.Expr]) -> list[sp.Expr]:
    """The summand of the outermost sums, with their index made free under each name."""
    out = []
    for letter in letters:
        out.append(
            expr.replace(
                lambda e: isinstance(e, sp.Sum),
                lambda s, letter=letter: s.function.xreplace({s.limits[0][0]: letter}),
            )
        )
    return out


def _upper_activation(expr: sp.Expr, layer: int) -> sp.Expr:
    """a^(l-1) replaced by a^(l): the input of layer l taken from its output."""

    def lift(e: MatrixElement) -> sp.Expr:
        return sp.MatrixSymbol(f"a{layer}", *e.parent.shape)[e.i, e.j]

    return expr.replace(
        lambda e: isinstance(e, MatrixElement) and e.parent.name == f"a{layer - 1}", lift
    )


def mistakes(task: ProofTask) -> list[tuple[str, sp.Expr]]:
    """The common mistakes, each as (hint, the truth with that mistake made)."""
    t, target = task.truth, task.target
    sigma = (
        "looks like sigma' is missing: a^(l) = sigma(z^(l)) puts the factor "
        "da/dz = sigma'(z^(l)) into every gradient below it"
    )
    found = [(sigma, _drop_primes(t))]
    found += [(sigma, _drop_primes(t, l)) for l in range(1, task.spec.layers + 1)]
    found += [
        (
            "looks like w_kj is written for w_jk: w^(l)_jk joins unit k of layer l-1 to "
            "unit j of layer l",
            _swap_weights(t),
        ),
    ]
    letters = sorted(task.extra, key=str) or [j]
    for summand in _drop_sums(t, letters):
        found.append(
            (
                "looks like the sum over j is missing: a^(l-1)_k feeds every unit j of layer "
                "l, so dC_0/da^(l-1)_k adds up the paths through all of them",
                summand,
            )
        )
    if task.spec.loss == "squared":
        found.append(
            (
                "looks like the factor 2 is missing: dC_0/da^(L)_j = 2(a^(L)_j - y_j) for "
                "C_0 = sum_j (a^(L)_j - y_j)^2",
                t / 2,
            )
        )
    if target.quantity == "W":
        l = target.layer
        found.append(
            (
                f"looks like a^({l}) is written where a^({l - 1}) belongs: "
                f"dz^({l})_j/dw^({l})_jk = a^({l - 1})_k, the input of the layer",
                _upper_activation(t, l),
            )
        )
    return [(hint, m) for hint, m in found if m != t]


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
