"""The NumPy printer for derived matrix expressions: SymPy's, with one ``_print_X`` per node it
cannot print (or prints in a form we do not want).

Matrices keep the derivation's layout, one column per sample: ``A.dot(B)`` for products, ``*``
for Hadamard products, broadcasting for ``b 1^T`` and axis sums for products with a ones vector.
Activations print as calls to the module's own stable helpers (``sigma(z1)``,
``sigma_prime(z1)``), and the logarithms of a loss as ``log_safe`` and ``logsumexp``; the
printer records each helper it calls (``helpers``), so that a module defines only those.

A few nodes let the code generator say more than the derivation does: ``Into(expr, t)``,
``expr`` written into the memory of ``t``, a quantity no later statement reads
(``sigma_prime(z3, out=z3)``, ``numpy.multiply(..., out=dC_da3)``); ``WithPrime(f(Z))``, f(Z)
and f'(Z) from one helper call, unpacked into ``a1, sigma_prime_z1``; ``Ones(n, like)``,
the column of ones that sums over samples, made once in the dtype of ``like``; and
``SampleRows(W a)``, a product computed as the transpose of ``a.T.dot(W.T)``: the same matrix,
laid out in memory with one sample per row, as the caller's X and Y are.

Whole functions are ``sympy.codegen.ast`` trees (``FunctionDefinition``, ``Assignment``,
``AddAugmentedAssignment`` for ``z1 += b1``, ``FunctionCall``, ``Return``) with four statements
of ours: ``Docstring``, ``Unpack`` (several names from one call), ``Free`` (``del``) and
``Record`` (the dict a function returns). They print as ``ruff format`` lays code out under the
project's line length (``LINE_LENGTH``): a line that is too long breaks inside its last bracket,
and a literal that still does not fit puts one item on each line.
"""

from __future__ import annotations

import textwrap

import sympy as sp
from sympy.codegen.ast import FunctionCall, String
from sympy.matrices.expressions import OneMatrix
from sympy.printing.numpy import NumPyPrinter

from bpverify.derive.activations import by_symbol, output_activation_of


def _is_ones(m) -> bool:
    return isinstance(m, OneMatrix)


LINE_LENGTH = 100
"""pyproject.toml's ruff line-length, which the generated module keeps to."""

INDENT = "    "


def bracketed(head: str, items: list[str], tail: str, indent: str, explode: bool) -> str:
    """``head`` + the comma-separated ``items`` + ``tail`` (head ends with an opening bracket,
    tail starts with its closing one), laid out as ``ruff format`` does: on one line where it
    fits; else the items on one line of their own (a call, a ``def``), unless ``explode`` (a
    literal) or they do not fit there either, and then one item per line with a trailing
    comma."""
    line = f"{indent}{head}{', '.join(items)}{tail}"
    if len(line) <= LINE_LENGTH:
        return line
    inner = indent + INDENT
    joined = inner + ", ".join(items)
    if not explode and len(joined) <= LINE_LENGTH:
        body = joined
    else:
        body = "\n".join(f"{inner}{item}," for item in items)
    return f"{indent}{head}\n{body}\n{indent}{tail}"


class Docstring(String):
    """A function's docstring: one paragraph, filled to the line length when printed."""


class Unpack(sp.Basic):
    """``targets = value``: several names (a ``Tuple``, possibly of ``Tuple``s; ``_`` for a value
    not read) bound from one call."""

    @property
    def targets(self) -> sp.Tuple:
        return self.args[0]

    @property
    def value(self):
        return self.args[1]


class Free(sp.Basic):
    """``del`` of the names: the arrays they hold are no longer read, and a later statement may
    reuse their memory."""


class Record(sp.Basic):
    """A dict literal of (``String`` key, value) pairs: the public results of a function."""


class Vector(sp.Basic):
    """The one-column matrix ``m`` as a 1-D array (``m[:, 0]``): dC/db in the public shape."""


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
    """NumPy code for the matrix expressions of ``bpverify.derive``, and functions of them."""

    def __init__(self, settings=None):
        super().__init__({"fully_qualified_modules": True, "inline": True, **(settings or {})})
        self.helpers: set[str] = set()
        """The module's own helpers the printed code calls (``tanh_prime``, ``logsumexp``)."""
        self._indent = ""

    def _paren(self, expr) -> str:
        text = self._print(expr)
        return text if _atomic(expr) else f"({text})"

    def _call(self, helper: str, *args: str) -> str:
        self.helpers.add(helper)
        return f"{helper}({', '.join(args)})"

    # statements and functions

    def _print_FunctionDefinition(self, fd):
        outer = self._indent
        self._indent = outer + INDENT
        try:
            body = "\n".join(self._print(statement) for statement in fd.body)
        finally:
            self._indent = outer
        params = [self._print(p.symbol) for p in fd.parameters]
        return bracketed(f"def {fd.name}(", params, "):", outer, explode=False) + "\n" + body

    def _print_Docstring(self, doc):
        # filled to the line length, the quotes counted with the words they touch
        width = LINE_LENGTH - len(self._indent)
        lines = textwrap.wrap(f'"""{doc.text}"""', width, break_long_words=False)
        return "\n".join(self._indent + line for line in lines)

    def _print_Assignment(self, expr):
        return f"{self._indent}{self._print(expr.lhs)} = {self._print(expr.rhs)}"

    def _print_AugmentedAssignment(self, expr):
        return f"{self._indent}{self._print(expr.lhs)} {expr.op} {self._print(expr.rhs)}"

    def _print_Unpack(self, expr):
        targets = ", ".join(self._print(t) for t in expr.targets)
        call = expr.value
        if not isinstance(call, FunctionCall):
            return f"{self._indent}{targets} = {self._print(call)}"
        args = [self._print(a) for a in call.function_args]
        head = f"{targets} = {call.name}("
        if len(self._indent + head) <= LINE_LENGTH:
            return bracketed(head, args, ")", self._indent, explode=False)
        # the targets do not fit on one line: one per line in parentheses, then the call
        lines = [f"{self._indent}(", *self._items(expr.targets.args, self._indent + INDENT)]
        call_line = bracketed(f") = {call.name}(", args, ")", self._indent, explode=False)
        return "\n".join([*lines, call_line])

    def _items(self, items, indent: str) -> list[str]:
        """The lines of the items of an exploded tuple, each with its trailing comma; an item
        that is a tuple too long for its line is exploded in turn."""
        lines = []
        for item in items:
            text = self._print(item)
            if isinstance(item, sp.Tuple) and len(f"{indent}{text},") > LINE_LENGTH:
                lines += [f"{indent}(", *self._items(item.args, indent + INDENT), f"{indent}),"]
            else:
                lines.append(f"{indent}{text},")
        return lines

    def _print_Free(self, expr):
        names = [self._print(a) for a in expr.args]
        line = f"{self._indent}del {', '.join(names)}"
        if len(line) <= LINE_LENGTH:
            return line
        return bracketed("del (", names, ")", self._indent, explode=True)

    def _print_Return(self, ret):
        (value,) = ret.args
        if isinstance(value, Record):
            items = [f'"{k.text}": {self._print(v)}' for k, v in value.args]
            return bracketed("return {", items, "}", self._indent, explode=True)
        if not isinstance(value, sp.Tuple):
            return f"{self._indent}return {self._print(value)}"
        line = f"{self._indent}return {', '.join(self._print(v) for v in value)}"
        if len(line) <= LINE_LENGTH:
            return line
        items = self._items(value.args, self._indent + INDENT)
        return "\n".join([f"{self._indent}return (", *items, f"{self._indent})"])

    def _print_Tuple(self, expr):
        items = [self._print(a) for a in expr.args]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"

    def _print_Vector(self, expr):
        return f"{self._print(expr.args[0])}[:, 0]"

    # scalars: spaced as ruff format spaces them

    def _print_Mul(self, expr):
        num, den = sp.fraction(expr)
        if den == 1:
            return " * ".join(self._scalar(f) for f in sp.Mul.make_args(num))
        return f"{self._scalar(num)} / {self._scalar(den)}"

    def _scalar(self, x) -> str:
        text = self._print(x)
        return f"({text})" if isinstance(x, sp.Add | sp.Mul) else text

    def _print_Rational(self, expr):
        return f"{expr.p} / {expr.q}"

    def _print_Pow(self, expr, rational=False):
        if expr.exp == -1:
            return f"1 / {self._scalar(expr.base)}"
        return super()._print_Pow(expr, rational)

    # matrices

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
        if expr.shape == (1, 1) and _is_ones(mats[-1]) and len(mats) - _is_ones(mats[0]) == 2:
            # 1^T M 1 (or M 1 for a one-row M): the sum of every entry, a number
            text = f"numpy.sum({self._print(mats[-2])})"
            mats = []
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
            coeff = sp.Mul(*scalars)
            factor = self._print(coeff)
            if not (coeff.is_Integer and coeff >= 0) and not coeff.is_Symbol:
                factor = f"({factor})"
            text = f"{factor} * {text}"
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
            return self._call(name, self._print(inner.expr), f"out={target}")
        return self._print(inner)

    def _print_WithPrime(self, expr):
        return self._call(helper_name(expr), self._print(expr.expr))

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
        base, exp = self._paren(expr.base), self._print(expr.exp)
        # ruff format writes a**b without spaces where both sides are a name or a number
        simple = isinstance(expr.base, sp.MatrixSymbol) and expr.exp.is_Number
        return f"{base}**{exp}" if simple else f"{base} ** {exp}"

    def _print_Transpose(self, expr):
        return f"{self._paren(expr.arg)}.T"

    def _print_OneMatrix(self, expr):
        return "1.0"

    def _print_Softmax(self, expr):
        return self._call(output_activation_of(expr).symbol, self._print(expr.arg))

    def _print_ElementwiseApplyFunction(self, expr):
        f = expr.function
        body = f.expr if isinstance(f, sp.Lambda) else None
        arg = expr.expr
        name = helper_name(expr)
        if name is not None:
            return self._call(name, self._print(arg))
        if body is not None and isinstance(body, sp.Function) and body.args == f.variables:
            if body.func == sp.log:
                if _is_column_sum_of_exp(arg):
                    # log(1 1^T exp.(Z)): the log-sum-exp of each column, computed stably.
                    return self._call("logsumexp", self._print(_exp_argument(arg)))
                return self._call("log_safe", self._print(arg))
            if body.func == sp.exp:
                return f"numpy.exp({self._print(arg)})"
        if body is not None and len(f.variables) == 1:
            # any other function of one scalar (a loss's Piecewise in out - y): its body,
            # which NumPy broadcasts, called once on the whole argument
            (var,) = f.variables
            return f"(lambda {self._print(var)}: {self._print(body)})({self._print(arg)})"
        return super()._print_ElementwiseApplyFunction(expr)

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
