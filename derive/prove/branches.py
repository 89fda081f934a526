"""Branches as indicators: a Piecewise written as a sum of value * [condition].

SymPy's ``Sum`` folds any Piecewise in its summand outwards (``piecewise_fold``), through inner
sums too, so that Sum_j f_j * Sum_i Piecewise((u_i, c_i), ...) becomes a Piecewise whose
condition names i outside the sum over i: a different, wrong expression. Huber's derivative and
relu written out are such Piecewise, inside the sums of every layer below the output. Written
as indicators, ``Piecewise((u, c), (v, True))`` = u [c] + v [not c], nothing folds; an
indicator is 1 or 0 as soon as its condition is decided (at a random point), and the proof
treats it as one more symbol.

Example:
    >>> x = sp.Symbol("x", real=True)
    >>> as_indicators(sp.Piecewise((1, x > 1), (x, True)))
    x*Indicator(x <= 1) + Indicator(x > 1)
    >>> _.subs(x, 3)
    1
"""

from __future__ import annotations

import sympy as sp


class Indicator(sp.Function):
    """[condition]: 1 where the condition holds, 0 where it does not, unevaluated until known."""

    nargs = 1

    @classmethod
    def eval(cls, condition):
        if condition is sp.true:
            return sp.Integer(1)
        if condition is sp.false:
            return sp.Integer(0)
        return None


def _branches(piecewise: sp.Piecewise) -> sp.Expr:
    """One Piecewise as sum of value * [its condition and no earlier one]."""
    terms: list[sp.Expr] = []
    earlier: list[sp.Basic] = []
    for value, condition in piecewise.args:
        holds = sp.And(*(sp.Not(c) for c in earlier), condition)
        terms.append(value * Indicator(holds))
        earlier.append(condition)
    return sp.Add(*terms)


def as_indicators(expr: sp.Basic) -> sp.Basic:
    """``expr`` with every Piecewise written as a sum of indicators (innermost first)."""
    if not expr.has(sp.Piecewise):
        return expr
    return expr.replace(lambda e: isinstance(e, sp.Piecewise), _branches)
