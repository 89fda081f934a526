"""The normal form of a matrix expression (``normal``): products distributed over sums,
transposes pushed onto the symbols, Hadamard factors sorted, powers merged; claim - truth
vanishes in it when the claim is proved at symbolic sizes.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import (
    HadamardPower,
    HadamardProduct,
    MatAdd,
    MatMul,
    OneMatrix,
    Transpose,
    ZeroMatrix,
)
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..activations import Softmax
from ..limits import LIMITS
from .grammar import ClaimError

# ---------------------------------------------------------------------------------------------
# The normal form: a sum of monomials, each a coefficient times a canonical product

Mono = tuple
NF = dict  # Mono -> coefficient


def _freeze(nf: NF) -> tuple:
    return tuple(sorted(((m, c) for m, c in nf.items()), key=lambda mc: str(mc[0])))


def _add(a: NF, b: NF, factor: sp.Expr = sp.S.One) -> NF:
    return _collect([*a.items(), *((m, factor * c) for m, c in b.items())])


def _collect(pairs) -> NF:
    """The sum of (monomial, coefficient) pairs, like terms collected."""
    out: NF = {}
    for m, c in pairs:
        out[m] = out.get(m, 0) + c
    return {m: c for m, c in out.items() if c != 0}


def _tr(m: Mono) -> Mono:
    kind = m[0]
    if kind == "sym":
        return ("sym", m[1], not m[2], m[4], m[3])
    if kind == "one":
        return ("one", m[2], m[1])
    if kind == "mm":
        return ("mm", tuple(_tr(f) for f in reversed(m[1])))
    if kind == "had":
        return ("had", tuple(sorted(((_tr(f), p) for f, p in m[1]), key=str)))
    if kind == "app":
        return (
            "app",
            m[1],
            tuple(sorted(((_tr(x), c) for x, c in m[2]), key=lambda xc: str(xc[0]))),
        )
    if kind == "tr":
        return m[1]
    return ("tr", m)  # softmax: not elementwise, its transpose stays a node


def _mm(fs: list[Mono]) -> Mono:
    flat: list[Mono] = []
    for f in fs:
        flat.extend(f[1] if f[0] == "mm" else (f,))
    return flat[0] if len(flat) == 1 else ("mm", tuple(flat))


def _had(fs: list[tuple[Mono, int]]) -> Mono | None:
    powers: dict[Mono, int] = {}
    for f, p in fs:
        for g, q in f[1] if f[0] == "had" else ((f, 1),):
            if g[0] == "one":
                continue
            powers[g] = powers.get(g, 0) + p * q
    kept = sorted(((f, p) for f, p in powers.items() if p != 0), key=str)
    if not kept:
        return None
    if len(kept) == 1 and kept[0][1] == 1:
        return kept[0][0]
    return ("had", tuple(kept))


class TooLarge(Exception):
    """The normal form would have more terms than the ``terms`` limit allows."""


def _within_terms(count: int) -> None:
    if count > LIMITS["terms"].value():
        raise TooLarge(count)


def normal(expr) -> NF:
    """``expr`` as {monomial: coefficient}: equal matrices built from the same symbols by
    +, products, Hadamard products and transposes get the same normal form."""
    if isinstance(expr, sp.MatrixSymbol):
        return {("sym", expr.name, False, expr.shape[0], expr.shape[1]): sp.Integer(1)}
    if isinstance(expr, OneMatrix):
        return {("one", expr.shape[0], expr.shape[1]): sp.Integer(1)}
    if isinstance(expr, ZeroMatrix):
        return {}
    if isinstance(expr, Transpose):
        return {_tr(m): c for m, c in normal(expr.arg).items()}
    if isinstance(expr, MatAdd):
        return _collect(pair for arg in expr.args for pair in normal(arg).items())
    if isinstance(expr, MatMul):
        coeff = sp.Mul(*[a for a in expr.args if not a.is_Matrix])
        terms: list[tuple[list[Mono], sp.Expr]] = [([], coeff)]
        for arg in (a for a in expr.args if a.is_Matrix):
            terms = [([*fs, m], c * d) for fs, c in terms for m, d in normal(arg).items()]
            _within_terms(len(terms))
        return _collect((_mm(fs) if fs else ("one", 1, 1), c) for fs, c in terms)
    if isinstance(expr, HadamardProduct | HadamardPower):
        if isinstance(expr, HadamardPower):
            base = normal(expr.base)
            p = expr.exp
            if len(base) == 1:
                ((m, c),) = base.items()
                mono = _had([(m, int(p))])
                return {mono if mono else ("one", *expr.shape): c**p}
            return {("had", ((("app", None, _freeze(base)), int(p)),)): sp.Integer(1)}
        parts: list[tuple[list[tuple[Mono, int]], sp.Expr]] = [([], sp.Integer(1))]
        for arg in expr.args:
            parts = [([*fs, (m, 1)], c * d) for fs, c in parts for m, d in normal(arg).items()]
            _within_terms(len(parts))
        return _collect(((_had(fs) or ("one", *expr.shape)), c) for fs, c in parts)
    if isinstance(expr, ElementwiseApplyFunction):
        f = expr.function
        func = f.expr.func if isinstance(f, sp.Lambda) else f
        return {("app", func, _freeze(normal(expr.expr))): sp.Integer(1)}
    if isinstance(expr, Softmax):
        return {("soft", _freeze(normal(expr.arg))): sp.Integer(1)}
    raise ClaimError(f"cannot compare {type(expr).__name__} in a matrix claim")


def _scalar(nf: NF) -> sp.Expr:
    """The normal form as one generic entry: elementwise operations become scalar ones and a
    matrix product (or softmax) one opaque symbol per normal form."""
    return sp.Add(*[c * _scalar_mono(m) for m, c in nf.items()])


def _scalar_mono(m: Mono) -> sp.Expr:
    kind = m[0]
    if kind == "sym":
        return sp.Symbol(m[1] + ("_T" if m[2] else ""))
    if kind == "one":
        return sp.Integer(1)
    if kind == "had":
        return sp.Mul(*[_scalar_mono(f) ** p for f, p in m[1]])
    if kind == "app":
        arg = _scalar(dict(m[2]))
        return m[1](arg) if m[1] is not None else arg
    return sp.Symbol(f"M{abs(hash(m))}")
