"""The mistakes of a matrix derivation: ``SHAPE_MISTAKES``, named from a shape mismatch;
``MISTAKES``, each made in the truth and named when a claim equals it at a counterexample; and
``_FACTORS``, a constant multiple of the truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions import (
    HadamardProduct,
    OneMatrix,
    Transpose,
)
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..activations import ACTIVATIONS
from ..derivation import Derivation
from ..notation import n, split_name
from .matrix_claims import (
    _BY_PRIME,
    ShapeMismatch,
    _deltas,
    _derivation,
    _primes,
    apply,
    format_matrix,
    generic,
    shape_text,
)


@dataclass(frozen=True)
class Mistake:
    """One common mistake of a matrix derivation: ``hint`` names it; ``fits`` says whether the
    claim (its shape mismatch, or its constant factor) is that mistake, with words for the
    hint."""

    name: str
    fits: Callable[..., dict[str, str] | None]
    hint: str


def _missing_transpose(spec, key, e: ShapeMismatch) -> dict[str, str] | None:
    """A symbol whose transpose would make the product fit."""
    if e.op != "*":
        return None
    for side, other in ((e.right, e.left), (e.left, e.right)):
        if isinstance(side, sp.MatrixSymbol):
            fits = (
                side.shape[1] == other.shape[1]
                if side is e.right
                else side.shape[0] == other.shape[0]
            )
            if fits:
                return {
                    "name": format_matrix(side),
                    "shape": shape_text(side),
                    "product": f"{format_matrix(e.left)} {format_matrix(e.right)}",
                }
    return None


def _wrong_weights(spec, key, e: ShapeMismatch) -> dict[str, str] | None:
    """W^(m)T (or W^(m)) beside a factor that another layer's weights would fit."""
    if e.op != "*":
        return None
    w = e.left.arg if isinstance(e.left, Transpose) else e.left
    parts = split_name(w.name) if isinstance(w, sp.MatrixSymbol) else None
    if parts is None or parts[0] != "W":
        return None
    d = _derivation(generic(spec))
    rows = e.right.shape[0]
    for m, ls in d.symbols.layers.items():
        want = ls.W.shape[0] if isinstance(e.left, Transpose) else ls.W.shape[1]
        if m != parts[1] and want == rows:
            return {
                "wrong": f"W^({parts[1]})",
                "right": f"W^({m})",
                "factor": format_matrix(e.right),
            }
    return None


def _wrong_prime(spec, key, e: ShapeMismatch) -> dict[str, str] | None:
    """sigma'(z^(m)) in an elementwise product with a matrix of another layer's width."""
    if e.op != "⊙":
        return None
    for side, other in ((e.left, e.right), (e.right, e.left)):
        if _primes(side) == [side]:
            d = _derivation(generic(spec))
            for m, ls in d.symbols.layers.items():
                if ls.z.shape == other.shape:
                    return {"wrong": format_matrix(side), "right": format_matrix(ls.z), "m": str(m)}
    return None


SHAPE_MISTAKES = [
    Mistake(
        "missing transpose",
        _missing_transpose,
        "a transpose is missing: {name} is {shape}, so {product} needs {name}T",
    ),
    Mistake(
        "wrong layer's sigma'",
        _wrong_prime,
        "{wrong} is the wrong layer's: the product with a matrix of layer {m}'s shape takes "
        "sigma'({right})",
    ),
    Mistake(
        "wrong layer's W",
        _wrong_weights,
        "the weights of the wrong layer: {factor} is carried by {right}, not {wrong}",
    ),
]
"""The mistakes a shape mismatch shows, tried in order."""


_FACTORS = {
    n: "your expression is n times the derivative: a 1/n is missing (C is the mean over the n "
    "samples, C = (1/n) sum_i C_i)",
    1 / n: "your expression is 1/n of the derivative: C here sums over the samples, or the 1/n "
    "is counted twice",
    sp.Integer(2): "your expression is exactly 2 times the derivative: the factor 2 of the squared "
    "loss is counted twice, or the derivative of C_0 = (1/2) sum (a - y)^2 was used where C_0 = "
    "sum (a - y)^2",
    sp.Rational(1, 2): "your expression is exactly 1/2 of the derivative: the factor 2 of the "
    "squared loss is missing (the (1/2) convention: use --loss half-squared)",
    sp.Integer(-1): "the sign is flipped: write (a - y), not (y - a)",
}


def _factor(spec, key, ratio: sp.Expr) -> dict[str, str]:
    words = _FACTORS.get(ratio) or f"your expression is exactly {ratio} times the derivative"
    return {"words": words}


def _layer_words(node: ElementwiseApplyFunction) -> dict[str, str]:
    return {"arg": format_matrix(node.expr)}


def _without_prime(d: Derivation, truth) -> list[tuple[sp.MatrixExpr, dict[str, str]]]:
    """The truth with one sigma'(z^(l)) left out."""
    full = _deltas(d, truth)
    return [(full.xreplace({p: OneMatrix(*p.shape)}), _layer_words(p)) for p in _primes(full)]


def _sigma_for_prime(d: Derivation, truth) -> list[tuple[sp.MatrixExpr, dict[str, str]]]:
    """The truth with one sigma'(z^(l)) written sigma(z^(l))."""
    full = _deltas(d, truth)
    out = []
    for p in _primes(full):
        row = _BY_PRIME[p.function.expr.func]
        out.append((full.xreplace({p: apply(row, False, p.expr)}), _layer_words(p)))
    return out


def _prime_kept(d: Derivation, truth) -> list[tuple[sp.MatrixExpr, dict[str, str]]]:
    """The truth with delta^(L) multiplied once more by sigma'(z^(L)): the classic mistake of
    the cross-entropy, whose derivative cancels it."""
    L = d.spec.layers
    ls = d.symbols.layers[L]
    row = ACTIVATIONS.get(d.spec.activations[L - 1])
    if row is None:
        return []
    deltas = dict(d.deltas)
    deltas[ls.delta] = HadamardProduct(d.deltas[ls.delta], apply(row, True, ls.z))
    return [(_deltas(d, truth, deltas), {"arg": format_matrix(ls.z)})]


@dataclass(frozen=True)
class Variant:
    """A mistake made in the truth: ``make`` gives each way of making it, with the words of
    its ``hint``; a claim equal to one at a counterexample is told that hint."""

    name: str
    make: Callable[[Derivation, sp.MatrixExpr], list[tuple[sp.MatrixExpr, dict[str, str]]]]
    hint: str


MISTAKES = [
    Variant(
        "sigma' missing",
        _without_prime,
        "sigma'({arg}) is missing: the chain rule through a = sigma(z) multiplies elementwise "
        "by sigma'({arg})",
    ),
    Variant(
        "sigma for sigma'",
        _sigma_for_prime,
        "sigma({arg}) is written where the derivative sigma'({arg}) belongs",
    ),
    Variant(
        "sigma' kept",
        _prime_kept,
        "sigma'({arg}) is applied once too often: it is in delta^(L) already, or (cross-entropy) "
        "the loss's derivative cancels it",
    ),
]
"""The mistakes a claim that fits in shape may be, each made in the truth; a constant multiple
of the truth (a missing 1/n, the factor 2 of the (1/2) convention, the sign) is told by
``constant_factor`` and ``_FACTORS``."""


def _shape_hint(spec, key, e: ShapeMismatch) -> str | None:
    for row in SHAPE_MISTAKES:
        words = row.fits(spec, key, e)
        if words is not None:
            return row.hint.format(**words)
    return None
