"""The NumPy printer for derived matrix expressions: SymPy's, with one ``_print_X`` per node it
cannot print (or prints in a form we do not want).

Matrices keep the derivation's layout, one column per sample: ``A.dot(B)`` for products, ``*``
for Hadamard products, broadcasting for ``b 1^T`` and axis sums for products with a ones vector.
Activations print as calls to the module's own stable helpers (``sigma(z1)``,
``sigma_prime(z1)``), and the logarithms of a loss as ``log_safe`` and ``logsumexp``.

A few nodes let the code generator say more than the derivation does: ``Into(expr, t)``,
``expr`` written into the memory of ``t``, a quantity no later statement reads
(``sigma_prime(z3, out=z3)``, ``numpy.multiply(..., out=dC_da3)``); ``WithPrime(f(Z))``, f(Z)
and f'(Z) from one helper call, assigned to ``Names(a1, sigma_prime_z1)``; ``Ones(n, like)``,
the column of ones that sums over samples, made once in the dtype of ``like``; and
``SampleRows(W a)``, a product computed as the transpose of ``a.T.dot(W.T)``: the same matrix,
laid out in memory with one sample per row, as the caller's X and Y are.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import OneMatrix
from sympy.printing.numpy import NumPyPrinter

from bpverify.derive.activations import by_symbol


def _is_ones(m) -> bool:
    return isinstance(m, OneMatrix)


class Into(sp.MatrixExpr):
    """``expr`` computed into the memory of ``target``, a quantity of the same shape that is not
    read afterwards (or the term of a sum that is updated, ``numpy.add(z1, b1, out=z1)``). An
    activation helper (its ``out``), a sum of ``target`` and one more term (``numpy.add`` or
    ``numpy.subtract``), a scalar times a matrix and a Hadamard product (``numpy.multiply``) use
    it; anything else prints as usual."""

    def __new__(cls, expr: sp.MatrixExpr, target: sp.MatrixSymbol):
        return sp.Basic.__new__(cls, expr, target)

    @property
    def expr(self) -> sp.MatrixExpr:
        return self.args[0]

    @property
    def target(self) -> sp.MatrixSymbol:
        return self.args[1]

    @property
    def shape(self):
        return self.expr.shape


class WithPrime(sp.MatrixExpr):
    """f(Z) and f'(Z) for an activation f(Z) (an ``ElementwiseApplyFunction``), from the helper
    ``{f}_and_prime`` that computes both at once."""

    def __new__(cls, applied: sp.MatrixExpr):
        return sp.Basic.__new__(cls, applied)

    @property
    def expr(self) -> sp.MatrixExpr:
        """Z, the argument."""
        return self.args[0].expr

    @property
    def shape(self):
        return self.args[0].shape


class Names(sp.Basic):
    """Names assigned together, as the target of a statement: ``a1, sigma_prime_z1``."""


class SampleRows(sp.MatrixExpr):
    """The matrix product ``expr``, computed as (B^T A^T)^T for A B: one sample per row in
    memory (NumPy's order F for the samples-as-columns matrix)."""

    def __new__(cls, expr: sp.MatMul):
        return sp.Basic.__new__(cls, expr)

    @property
    def shape(self):
        return self.args[0].shape


class Ones(sp.MatrixExpr):
    """A column of ``rows`` ones in the dtype of the array ``like``."""

    def __new__(cls, rows: sp.Expr, like: sp.MatrixSymbol):
        return sp.Basic.__new__(cls, sp.sympify(rows), like)

    @property
    def shape(self):
        return (self.args[0], sp.Integer(1))


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
            # A.dot(B) rather than A @ B: the same BLAS call, with less overhead per call
            text = self._paren(m) if text is None else f"{text}.dot({self._print(m)})"
            i += 1
        if scalars:
            coeff = self._print(sp.Mul(*scalars))
            text = f"({coeff}) * {text}" if len(mats) > 1 or "+" in text else f"{coeff} * {text}"
        return text

    def _print_HadamardProduct(self, expr):
        return " * ".join(self._paren(a) for a in expr.args)

    def _print_Into(self, expr):
        inner, target = expr.expr, self._print(expr.target)
        if isinstance(inner, sp.MatAdd) and len(inner.args) == 2 and expr.target in inner.args:
            (other,) = (t for t in inner.args if t != expr.target)
            if other.could_extract_minus_sign():
                return f"numpy.subtract({target}, {self._print(-other)}, out={target})"
            return f"numpy.add({target}, {self._print(other)}, out={target})"
        mats = [m for m in inner.args if m.is_Matrix] if isinstance(inner, sp.MatMul) else []
        if len(mats) == 1 and len(inner.args) > 1:
            coeff = self._print(sp.Mul(*(m for m in inner.args if not m.is_Matrix)))
            return f"numpy.multiply({self._print(mats[0])}, {coeff}, out={target})"
        if isinstance(inner, sp.HadamardProduct):
            first, *rest = inner.args
            second = rest[0] if len(rest) == 1 else sp.HadamardProduct(*rest)
            return f"numpy.multiply({self._print(first)}, {self._print(second)}, out={target})"
        name = helper_name(inner)
        if name is not None:
            return f"{name}({self._print(inner.expr)}, out={target})"
        return self._print(inner)

    def _print_WithPrime(self, expr):
        return f"{helper_name(expr)}({self._print(expr.expr)})"

    def _print_Names(self, expr):
        return ", ".join(self._print(a) for a in expr.args)

    def _print_SampleRows(self, expr):
        mats = [m for m in expr.args[0].args if m.is_Matrix]
        scalars = [m for m in expr.args[0].args if not m.is_Matrix]
        transposed = sp.MatMul(*(sp.Transpose(m) for m in reversed(mats)))
        text = f"{self._print(transposed)}.T"
        return f"({self._print(sp.Mul(*scalars))} * {text})" if scalars else text

    def _print_Ones(self, expr):
        rows, like = expr.args
        return f"numpy.ones(({self._print(rows)}, 1), {self._print(like)}.dtype)"

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
        name = helper_name(expr)
        if name is not None:
            return f"{name}({self._print(arg)})"
        if body is not None and isinstance(body, sp.Function) and body.args == f.variables:
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


def helper_name(expr) -> str | None:
    """The module's helper for an elementwise activation f(Z) or f'(Z) (``sigma``,
    ``sigma_prime``, ...) or for both (``sigma_and_prime``), else None."""
    if isinstance(expr, WithPrime):
        return f"{helper_name(expr.args[0])}_and_prime"
    if type(expr).__name__ != "ElementwiseApplyFunction":
        return None
    f = expr.function
    body = f.expr if isinstance(f, sp.Lambda) else None
    if isinstance(body, sp.Function) and body.args == f.variables:
        name = body.func.__name__
        if name.removesuffix("_prime") in by_symbol():
            return name
    return None


def _atomic(expr) -> bool:
    """Printed as a name, a number, a call or a .T of a name: no parentheses needed."""
    if isinstance(expr, sp.Transpose):
        return isinstance(expr.arg, sp.MatrixSymbol)
    named = (sp.MatrixSymbol, sp.Symbol, sp.Number, sp.Function, Into, Ones, WithPrime, SampleRows)
    return isinstance(expr, named) or type(expr).__name__ in ("ElementwiseApplyFunction", "Softmax")


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
