"""Evaluate a matrix expression over explicit matrices, one node at a time.

``MatrixExpr.as_explicit`` builds every entry as a SymPy ``Sum`` and then evaluates it, which is
slow on the nested rules of a deep network. Here each node type has one evaluation rule (a table,
like the rest of the package) and shared subexpressions are evaluated once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeAlias

import sympy as sp
from sympy.matrices.expressions import (
    HadamardPower,
    HadamardProduct,
    MatAdd,
    MatMul,
    OneMatrix,
    Transpose,
)
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .activations import Softmax

Matrix: TypeAlias = sp.ImmutableMatrix


def _matmul(e, ev):
    out = None
    for arg in e.args:
        value = ev(arg) if arg.is_Matrix else arg
        out = value if out is None else out * value
    return Matrix(out)


def _hadamard(e, ev):
    out = ev(e.args[0])
    for arg in e.args[1:]:
        out = out.multiply_elementwise(ev(arg))
    return Matrix(out)


def _softmax(e, ev):
    z = ev(e.arg)
    exp = z.applyfunc(sp.exp)
    totals = [sp.Add(*exp.col(c)) for c in range(z.cols)]
    return Matrix(z.rows, z.cols, lambda r, c: exp[r, c] / totals[c])


RULES: dict[type, Callable] = {
    MatMul: _matmul,
    MatAdd: lambda e, ev: Matrix(sum((ev(a) for a in e.args[1:]), ev(e.args[0]))),
    HadamardProduct: _hadamard,
    HadamardPower: lambda e, ev: ev(e.base).applyfunc(lambda v: v**e.exp),
    ElementwiseApplyFunction: lambda e, ev: ev(e.expr).applyfunc(e.function),
    Transpose: lambda e, ev: ev(e.arg).T,
    OneMatrix: lambda e, ev: Matrix.ones(*e.shape),
    Softmax: _softmax,
    sp.MatrixSymbol: lambda e, ev: e.as_explicit(),
}
"""How each node type is evaluated, given the evaluator for its children."""


def explicit(expr: sp.MatrixExpr, env: Mapping[sp.MatrixSymbol, Matrix] | None = None) -> Matrix:
    """``expr`` as an explicit matrix; symbols in ``env`` take those values, others become their
    entries. Every dimension must be concrete."""
    memo: dict = dict(env or {})

    def ev(node):
        if node not in memo:
            memo[node] = RULES[type(node)](node, ev)
        return memo[node]

    return ev(expr)
