"""The NumPy printer for derived matrix expressions: SymPy's, with one ``_print_X`` per node it
cannot print (or prints in a form we do not want).

Matrices keep the derivation's layout, one column per sample: ``@`` for products, ``*`` for
Hadamard products, broadcasting for ``b 1^T`` and axis sums for products with a ones vector.
Activations print as calls to the module's own stable helpers (``sigma(z1)``,
``sigma_prime(z1)``), and the logarithms of a loss as ``log_safe`` and ``logsumexp``.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import OneMatrix
from sympy.printing.numpy import NumPyPrinter

from bpverify.derive.activations import by_symbol


def _is_ones(m) -> bool:
    return isinstance(m, OneMatrix)


class BackpropPrinter(NumPyPrinter):
    """NumPy code for the matrix expressions of ``bpverify.derive``."""

    def _paren(self, expr) -> str:
        text = self._print(expr)
        return text if _atomic(expr) else f"({text})"

    def _print_MatrixSymbol(self, expr):
        return expr.name

    def _print_MatAdd(self, expr):
        args = sorted(expr.args, key=lambda a: a.could_extract_minus_sign())
        out = self._print(args[0])
        for arg in args[1:]:
            if arg.could_extract_minus_sign():
                out += f" - {self._paren(-arg)}"
            else:
                out += f" + {self._print(arg)}"
        return out

    def _print_MatMul(self, expr):
        scalars = [a for a in expr.args if not a.is_Matrix]
        mats = [a for a in expr.args if a.is_Matrix]
        text = None
        i = 0
        while i < len(mats):
            m = mats[i]
            if _is_ones(m) and m.shape[0] == 1 and text is not None:
                # b 1^T: broadcasting repeats the column b for every sample.
                i += 1
                continue
            if _is_ones(m) and m.shape[1] == 1 and text is not None:
                # M 1: the sum over samples (columns).
                text = f"numpy.sum({text}, axis=1, keepdims=True)"
                i += 1
                continue
            if _is_ones(m) and i + 1 < len(mats):
                # 1^T M (one row) or 1 1^T M (every row): the column sums, broadcast.
                rest = self._print(sp.MatMul(*mats[i + 1 :]).doit())
                text = f"numpy.sum({rest}, axis=0, keepdims=True)"
                break
            part = self._paren(m)
            text = part if text is None else f"{text} @ {part}"
            i += 1
        if scalars:
            coeff = self._print(sp.Mul(*scalars))
            text = f"({coeff}) * {text}" if len(mats) > 1 or "+" in text else f"{coeff} * {text}"
        return text

    def _print_HadamardProduct(self, expr):
        return " * ".join(self._paren(a) for a in expr.args)

    def _print_HadamardPower(self, expr):
        return f"{self._paren(expr.base)} ** {self._print(expr.exp)}"

    def _print_Transpose(self, expr):
        return f"{self._paren(expr.arg)}.T"

    def _print_OneMatrix(self, expr):
        return "1.0"

    def _print_Softmax(self, expr):
        return f"softmax({self._print(expr.arg)})"

    def _print_ElementwiseApplyFunction(self, expr):
        f = expr.function
        body = f.expr if isinstance(f, sp.Lambda) else None
        arg = expr.expr
        if body is not None and isinstance(body, sp.Function) and body.args == f.variables:
            name = body.func.__name__
            if name.removesuffix("_prime") in by_symbol():
                return f"{name}({self._print(arg)})"
            if body.func == sp.log:
                if _is_column_sum_of_exp(arg):
                    # log(1 1^T exp.(Z)): the log-sum-exp of each column, computed stably.
                    return f"logsumexp({self._print(_exp_argument(arg))})"
                return f"log_safe({self._print(arg)})"
            if body.func == sp.exp:
                return f"numpy.exp({self._print(arg)})"
        return super()._print_ElementwiseApplyFunction(expr)

    def _print_Pow(self, expr, rational=False):
        if expr.exp == -1 and expr.base.is_Symbol:
            return f"1/{self._print(expr.base)}"
        return super()._print_Pow(expr, rational)

    def parenthesize(self, item, level, strict=False):
        if item.is_Matrix:
            return self._paren(item)
        return super().parenthesize(item, level, strict)


def _atomic(expr) -> bool:
    """Printed as a name, a number, a call or a .T of a name: no parentheses needed."""
    if isinstance(expr, sp.Transpose):
        return isinstance(expr.arg, sp.MatrixSymbol)
    return isinstance(expr, sp.MatrixSymbol | sp.Symbol | sp.Number | sp.Function) or type(
        expr
    ).__name__ in ("ElementwiseApplyFunction", "Softmax")


def _is_column_sum_of_exp(arg) -> bool:
    if not isinstance(arg, sp.MatMul):
        return False
    mats = [a for a in arg.args if a.is_Matrix]
    return len(mats) == 2 and _is_ones(mats[0]) and _exp_argument(arg) is not None


def _exp_argument(arg):
    inner = [a for a in arg.args if a.is_Matrix][-1]
    f = getattr(inner, "function", None)
    if isinstance(f, sp.Lambda) and f.expr == sp.exp(f.variables[0]):
        return inner.expr
    return None
