"""The claim printer: a SymPy expression back in the plain claim language, ready to paste."""

from __future__ import annotations

import sympy as sp
from sympy.printing.str import StrPrinter

from ..activations import by_symbol
from ..notation import split_name


class _ClaimPrinter(StrPrinter):
    """Prints an expression back in the plain claim language, so that it can be pasted."""

    def _print_MatrixElement(self, e):
        name = getattr(e.parent, "name", "")
        parts = split_name(name)
        sub = self._print(e.i)
        if name == "y":
            return f"y_{sub}"
        if parts is None:
            return super()._print_MatrixElement(e)
        letter, l = parts
        if letter == "W":
            return f"w^({l})_{sub}{self._print(e.j)}"
        if letter == "dC_da":
            return f"dC_0/da^({l})_{sub}"
        return f"{letter}^({l})_{sub}"

    def _print_Function(self, e):
        name = type(e).__name__
        if name.endswith("_prime"):
            return f"sigma'({self._print(e.args[0])})"
        if name in by_symbol():
            return f"sigma({self._print(e.args[0])})"
        return super()._print_Function(e)

    def _print_Indicator(self, e):
        return f"[{self._print(e.args[0])}]"

    def _print_Sum(self, e):
        (var, *_), body = e.limits[0], e.function
        return f"sum_{self._print(var)}({self._print(body)})"

    def _print_Dummy(self, e):
        return e.name


def format_claim(expr: sp.Expr) -> str:
    """``expr`` in the plain claim language; sums get index letters that nothing else uses.

    Example:
        >>> from bpverify.derive import NetworkSpec
        >>> from bpverify.derive.notation import j
        >>> from bpverify.derive.prove.claims import generic_symbols
        >>> s = generic_symbols(NetworkSpec(layers=1))
        >>> format_claim(2 * s.layers[1].a[j, 0] - s.y[j, 0])
        '2*a^(1)_j - y_j'
    """
    taken = {s.name for s in expr.free_symbols if not isinstance(s, sp.Dummy)}

    def rename(e: sp.Basic, used: set[str]) -> sp.Basic:
        if isinstance(e, sp.Sum):
            var, lo, hi = e.limits[0]
            pool = [var.name.lstrip("_")[:1] or "i", *"ijmpqrstuv"]
            letter = next(c for c in pool if c.isalpha() and c not in used)
            new = sp.Dummy(letter, integer=True, nonnegative=True)
            body = rename(e.function.xreplace({var: new}), used | {letter})
            return sp.Sum(body, (new, lo, hi))
        if not e.args:
            return e
        return e.func(*(rename(a, used) for a in e.args))

    return _ClaimPrinter().doprint(rename(expr, taken)).replace("**", "^")
