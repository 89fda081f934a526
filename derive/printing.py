"""Printers for the seed's notation: SymPy's LaTeX and unicode printers, taught our names.

``W3`` prints as W^{(3)}, its entry ``W3[j, k]`` as w^{(3)}_{jk}, ``delta3`` as \\delta^{(3)},
``sigma_prime(z3[j, 0])`` as \\sigma'(z^{(3)}_{j}) and the Hadamard product as \\odot.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm, stringPict

from .activations import by_symbol
from .notation import split_name

_LETTER = {"W": "W", "b": "b", "z": "z", "a": "a", "delta": r"\delta"}


def _function_name(func) -> tuple[str, bool] | None:
    """(LaTeX name, is_derivative) for an activation function or its derivative."""
    name = getattr(func, "__name__", "")
    prime = name.endswith("_prime")
    row = by_symbol().get(name.removesuffix("_prime"))
    return (row.latex, prime) if row else None


def _lambda_function(f):
    """The activation class inside ``Lambda(d, f(d))``, else None."""
    if isinstance(f, sp.Lambda) and len(f.variables) == 1:
        body = f.expr
        if isinstance(body, sp.Function) and body.args == f.variables:
            return body.func
    return None


class NotationLatexPrinter(LatexPrinter):
    """LaTeX in the seed's notation."""

    def _print_MatrixSymbol(self, expr):
        parts = split_name(expr.name)
        if parts is None:
            return super()._print_MatrixSymbol(expr)
        letter, l = parts
        if letter == "dC_da":
            return rf"\frac{{\partial C}}{{\partial a^{{({l})}}}}"
        return f"{_LETTER[letter]}^{{({l})}}"

    def _print_MatrixElement(self, expr):
        parent, i, c = expr.parent, expr.i, expr.j
        parts = split_name(parent.name) if isinstance(parent, sp.MatrixSymbol) else None
        if parts is None and getattr(parent, "name", None) != "y":
            return super()._print_MatrixElement(expr)
        letter, l = parts or ("y", None)
        idx = [i, c] if letter == "W" or parent.shape[1] != 1 else [i]
        printed = [self._print(t) for t in idx]
        sub = ("," if any(len(p) > 1 for p in printed) else "").join(printed)
        if letter == "y":
            return f"y_{{{sub}}}"
        if letter == "dC_da":
            return rf"\frac{{\partial C_0}}{{\partial a^{{({l})}}_{{{sub}}}}}"
        base = "w" if letter == "W" else _LETTER[letter]
        return f"{base}^{{({l})}}_{{{sub}}}"

    def _print_Transpose(self, expr):
        arg = expr.arg
        if isinstance(arg, sp.MatrixSymbol) and split_name(arg.name):
            letter, l = split_name(arg.name)
            return f"{_LETTER[letter]}^{{({l})T}}"
        return super()._print_Transpose(expr)

    def _print_HadamardProduct(self, expr):
        return r" \odot ".join(self._factor(a) for a in expr.args)

    def _print_MatAdd(self, expr):
        # dC/dW^(l) with an L2 penalty: the chain's term first, then the penalty's lambda W^(l)
        decays = [a for a in expr.args if _is_decay(a)]
        if not decays or len(decays) == len(expr.args):
            return self._print_Add(expr)
        rest = [a for a in expr.args if a not in decays]
        chain = self._print(sp.MatAdd(*rest)) if len(rest) > 1 else self._print(rest[0])
        terms = [f"{self._print(a.args[0])} {self._print(a.args[1])}" for a in decays]
        return " + ".join([chain, *terms])

    def _factor(self, arg):
        if isinstance(arg, sp.MatAdd | sp.MatMul) and not _is_scaled(arg):
            return rf"\left({self._print(arg)}\right)"
        return self._print(arg)

    def _print_HadamardPower(self, expr):
        return rf"\left({self._print(expr.base)}\right)^{{\circ {self._print(expr.exp)}}}"

    def _print_AbstractExp(self, expr, exp=None):
        # unrolled.AbstractExp, the exponential SymPy may not merge, is e^u on the page
        power = self._print(sp.exp(expr.args[0]))
        return rf"\left({power}\right)^{{{exp}}}" if exp is not None else power

    def _print_OneMatrix(self, expr):
        return r"\mathbf{1}^{T}" if expr.shape[0] == 1 else r"\mathbf{1}"

    def _print_Softmax(self, expr):
        return rf"\operatorname{{softmax}}\left({self._print(expr.arg)}\right)"

    def _print_ElementwiseApplyFunction(self, expr):
        func = _lambda_function(expr.function)
        named = _function_name(func) if func else None
        if named is None:
            return super()._print_ElementwiseApplyFunction(expr)
        name, prime = named
        return rf"{name}{chr(39) if prime else ''}\left({self._print(expr.expr)}\right)"

    def _print_Function(self, expr, exp=None):
        named = _function_name(expr.func)
        if named is None:
            return super()._print_Function(expr, exp)
        name, prime = named
        out = rf"{name}{chr(39) if prime else ''}\left({self._print(expr.args[0])}\right)"
        return rf"\left({out}\right)^{{{exp}}}" if exp else out


def _is_decay(expr) -> bool:
    """A positive scalar times a weight matrix W^(l): the L2 penalty's term of dC/dW^(l)."""
    if not _is_scaled(expr) or not isinstance(expr.args[1], sp.MatrixSymbol):
        return False
    parts = split_name(expr.args[1].name)
    return parts is not None and parts[0] == "W" and bool(expr.args[0].is_positive)


def _is_scaled(expr) -> bool:
    """A scalar times one matrix, such as (1/n) (a - y): printed without outer parentheses."""
    return isinstance(expr, sp.MatMul) and len(expr.args) == 2 and not expr.args[0].is_Matrix


def _text_name(func) -> str | None:
    """Unicode name of an activation function or its derivative: σ, σ', tanh', ..."""
    named = _function_name(func)
    if named is None:
        return None
    base = func.__name__.removesuffix("_prime")
    return ("σ" if base == "sigma" else base) + ("'" if named[1] else "")


class NotationPrettyPrinter(PrettyPrinter):
    """SymPy's unicode pretty printing with σ' for derivatives and σ(z) applied elementwise."""

    def _print_Function(self, e, sort=False, func_name=None, left="(", right=")"):
        func_name = _text_name(e.func) or func_name
        return super()._print_Function(e, sort, func_name, left, right)

    def _print_ElementwiseApplyFunction(self, e):
        name = _text_name(_lambda_function(e.function))
        if name is None:
            return super()._print_ElementwiseApplyFunction(e)
        arg = prettyForm(*self._print(e.expr).parens())
        return prettyForm(*arg.left(name))

    def _print_OneMatrix(self, e):
        return prettyForm("𝟏")

    def _print_AbstractExp(self, e):
        return self._print(sp.exp(e.args[0]))

    def _print_HadamardPower(self, e):
        # SymPy's own drawing leaves a sum's base bare: (a - 1)^∘(-1) would read -𝟏 + a^∘(-1)
        if not isinstance(e.base, sp.MatAdd | sp.MatMul | sp.HadamardProduct):
            return super()._print_HadamardPower(e)
        base = prettyForm(*self._print(e.base).parens())
        exponent = self._print(e.exp)
        if precedence(e.exp) < PRECEDENCE["Mul"]:
            exponent = prettyForm(*exponent.parens())
        return base ** prettyForm(*stringPict.next("∘", exponent), binding=prettyForm.LINE)

    def _print_MatrixElement(self, e):
        parent = e.parent
        if not isinstance(parent, sp.MatrixSymbol):
            return super()._print_MatrixElement(e)
        name = "δ" + parent.name[5:] if parent.name.startswith("delta") else parent.name
        name = name.replace("dC_da", "dC_0/da")
        idx = [e.i, e.j] if parent.name.startswith("W") or parent.shape[1] != 1 else [e.i]
        return prettyForm(f"{name}[{','.join(str(t) for t in idx)}]")


def latex(expr) -> str:
    """LaTeX of ``expr`` in the seed's notation."""
    return NotationLatexPrinter().doprint(expr)


def pretty(expr) -> str:
    """Unicode text of ``expr`` in the seed's notation."""
    return NotationPrettyPrinter({"use_unicode": True}).doprint(expr)
