"""Reading a matrix claim: dC/dW^(l), dC/db^(l), dC/da^(l) and delta^(l) = dC/dz^(l) of the batch
cost C, one sample per column, as ``derive --form matrix`` prints them.

A claim is read by a small parser of its own (``read_claim``): the plain notation
(``delta^(3) a^(2)T``, ``(W^(3)T delta^(3)) ⊙ sigma'(z^(2))``), LaTeX (``\\delta^{(3)}
\\left(a^{(2)}\\right)^\\top``), the unicode text of ``derive --format text`` (its
two-dimensional layout too, ``flatten``) and a pasted left-hand side. delta^(l) in a claim names
the derived delta^(l), and dC/da^(l) (Nielsen's ∇_a C at the output) the derived dC/da^(l), so
that each of the four standard equations can be proved on its own. ``format_matrix`` prints a
matrix expression back in this notation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

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

from ..activations import ACTIVATIONS, OUTPUT_ACTIVATIONS, Softmax
from ..derivation import Derivation, Key
from ..errors import InputError
from ..limits import LIMITS, check
from ..network import derive_network
from ..notation import n, split_name
from ..spec import NetworkSpec
from .claims import parse_wrt
from .grammar import ClaimError

_LATEX = [
    (r"\\(?:left|right|[bB]igg?[lr]?)\s*\.", ""),
    (r"\\(?:left|right|[bB]igg?[lr]?)(?![a-zA-Z])", ""),
    (r"\^\s*\{\s*\\circ\s*\(?\s*(-?\s*\d+)\s*\)?\s*\}", r"^⊙(\1)"),
    (r"\\(?:mathbf|mathbb|boldsymbol|vec|bm)\s*\{\s*1\s*\}", "𝟏"),
    (r"\\(?:top|intercal)(?![a-zA-Z])", "T"),
    (
        r"\\(?:operatorname|mathrm|mathsf|text|mathbf|mathit|boldsymbol)\s*\{\s*([A-Za-z]+)\s*\}",
        r"\1",
    ),
    (r"\\[dt]frac(?![a-zA-Z])", r"\\frac"),
    (r"\\(?:odot|circ)(?![a-zA-Z])", "⊙"),
    (r"\\(?:cdot|ast)(?![a-zA-Z])", "*"),
    (r"\\partial(?![a-zA-Z])", "∂"),
    (r"\\delta(?![a-zA-Z])", "δ"),
    (r"\\sigma(?![a-zA-Z])", "σ"),
    (r"\\lambda(?![a-zA-Z])", "λ"),
    (r"\^\s*\{\s*\\prime\s*\}|\^\s*\\prime|\\prime", "'"),
    (r"\\[,;:! ]|~", " "),
    (r"\\frac\s*\{\s*∂\s*C\s*\}\s*\{\s*∂\s*([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}", r"∂C/∂\1"),
    (r"\\nabla", "∇"),
]
"""LaTeX spellings rewritten to the plain ones, in this order."""

_UNICODE = str.maketrans(
    {"−": "-", "–": "-", "′": "'", "’": "'", "·": "*", "⋅": "*", "@": "*", "∘": "⊙", "ᵀ": "T"}
)
_SUBSCRIPT = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")

_LAYER = r"L\s*-\s*\d+|L|l\s*[-+]\s*\d+|l|\d+"
_NAME = re.compile(
    rf"""(?P<letter>delta|δ|[WwbaAzZ])(?:
        \s*\^\s*\{{\s*[(\[]\s*(?P<l1>{_LAYER})\s*[)\]]\s*(?P<t1>T)?\s*\}}
      | \s*\^\s*[(\[]\s*(?P<l2>{_LAYER})\s*[)\]]
      | \s*\^\s*\{{\s*(?P<l3>{_LAYER})\s*(?P<t3>T)?\s*\}}
      | \s*\^\s*(?P<l4>\d|L|l)
      | (?P<l5>[0-9]+|[₀-₉]+)(?![0-9])
    )""",
    re.X,
)
_FUNCTION_NAMES: dict[str, Any] = {
    **{name: None for name in ("sigma", "σ", "g", "f")},
    **{m: row for row in OUTPUT_ACTIVATIONS.values() for m in (row.symbol, row.name)},
    **{
        m: row
        for row in ACTIVATIONS.values()
        for m in (row.symbol, row.latex.lstrip("\\"), row.name)
    },
}
"""The names a function takes in a claim: sigma, g and f are the layer's activation; an
activation's own names mean that row only."""
_FUNCTION = re.compile(
    "(?P<fn>"
    + "|".join(re.escape(m) for m in sorted(_FUNCTION_NAMES, key=len, reverse=True))
    + r")\s*(?P<prime>')?(?=\s*\()"
)
_GRADIENT = re.compile(r"∇\s*_\s*\{?\s*a\s*\}?\s*C|(?:d|∂)\s*C\s*/\s*(?:d|∂)\s*(?=a)")
"""Nielsen's ∇_a C (dC/da^(L)), or the dC/d before a^(l): the derived dC/da^(l) by name."""
_SIMPLE = [
    ("ones", re.compile(r"𝟏|1\s*_\s*\{?\s*n\s*\}?")),
    ("hpow", re.compile(r"\^\s*\(?\s*⊙\s*\(?\s*(-?\s*\d+)\s*\)?\s*\)?")),
    ("trans", re.compile(r"\^\s*\{\s*T\s*\}|\^\s*\(\s*T\s*\)|\^\s*T|T(?![A-Za-z])")),
    ("number", re.compile(r"\d+(?:\.\d+)?")),
    ("batch", re.compile(r"n(?![A-Za-z_])")),
    ("target", re.compile(r"[yY](?![A-Za-z_])")),
    ("decay", re.compile(r"λ|lambda")),
    ("frac", re.compile(r"\\frac")),
    ("op", re.compile(r"[-+*/⊙(){}]")),
]


@dataclass(frozen=True)
class Token:
    """One token: its kind, its text, and for a name (letter, layer text, transposed)."""

    kind: str
    text: str
    value: tuple = ()


_COMMANDS = re.compile(
    r"\\("
    + "|".join(re.escape(row.latex[1:]) for row in ACTIVATIONS.values() if row.latex[1:].isalpha())
    + r")(?![a-zA-Z])"
)
"""An activation's LaTeX command (\\tanh), read as its name."""


def _normalised(text: str) -> str:
    """The LaTeX and unicode spellings rewritten to the plain ones."""
    text = text.translate(_UNICODE)
    for pattern, repl in _LATEX:
        text = re.sub(pattern, repl, text)
    return _COMMANDS.sub(r"\1", text)


def tokens(text: str) -> list[Token]:
    """The tokens of a claim already ``_normalised``; ClaimError at the first that is none."""
    out, pos = [], 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        g = _GRADIENT.match(text, pos)
        if g:
            m = _NAME.match(text, g.end()) if g.group(0)[0] != "∇" else None
            layer = _name_parts(m)[1] if m else "L"
            out.append(Token("grad", text[pos : m.end() if m else g.end()], (layer,)))
            pos = m.end() if m else g.end()
            continue
        m = _NAME.match(text, pos)
        if m:
            t = bool(m.group("t1") or m.group("t3"))
            out.append(Token("name", m.group(0), (*_name_parts(m), t)))
            pos = m.end()
            continue
        m = _FUNCTION.match(text, pos)
        if m:
            out.append(Token("func", m.group(0), (m.group("fn"), bool(m.group("prime")))))
            pos = m.end()
            continue
        for kind, pattern in _SIMPLE:
            m = pattern.match(text, pos)
            if m:
                out.append(Token(kind, m.group(0), m.groups()))
                pos = m.end()
                break
        else:
            raise ClaimError(
                f"cannot read the matrix claim at {text[pos : pos + 12]!r}: write it as e.g. "
                "'(W^(3)T delta^(3)) ⊙ sigma'(z^(2))' or 'delta^(3) a^(2)T'"
            )
    return out


# ---------------------------------------------------------------------------------------------
# The two-dimensional text of SymPy's pretty printer, made one line

_OPEN, _CLOSE, _BAR = "⎛⎜⎝", "⎞⎟⎠", "─"


def flatten(lines: list[str]) -> str:
    """The one-line claim that a multi-line picture (``derive --format text``) shows: a
    fraction bar becomes ( )/( ), tall brackets ( ), a raised T or ∘(-1) ^T and ^∘(-1)."""
    lines = [line.rstrip() for line in lines]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) <= 1:
        return lines[0] if lines else ""
    width = max(map(len, lines))
    rows = [line.ljust(width) for line in lines]

    def score(r: int) -> tuple[int, int, int]:
        row = rows[r]
        return (sum(c not in " " + _OPEN + _CLOSE for c in row), _BAR in row, r)

    base = max(range(len(rows)), key=score)
    out, c = [], 0
    while c < width:
        ch = rows[base][c]
        if ch in _OPEN:
            depth, d = 0, c
            while d < width:
                depth += (rows[base][d] in _OPEN) - (rows[base][d] in _CLOSE)
                if depth == 0:
                    break
                d += 1
            span = [r for r in range(len(rows)) if rows[r][c] in _OPEN]
            out.append("(" + flatten([rows[r][c + 1 : d] for r in span]) + ")")
            c = d + 1
        elif ch == _BAR:
            d = c
            while d < width and rows[base][d] == _BAR:
                d += 1
            num = flatten([row[c:d] for row in rows[:base]])
            den = flatten([row[c:d] for row in rows[base + 1 :]])
            out.append(f"(({num})/({den}))")
            c = d
        elif any(row[c] != " " for row in rows[:base]):
            d = c
            while d < width and any(row[d] != " " for row in rows[:base]):
                d += 1
            out.append(
                rows[base][c:d].strip() + "^(" + flatten([r[c:d] for r in rows[:base]]) + ")"
            )
            c = d
        else:
            out.append(ch)
            c += 1
    return "".join(out)


_HEADING = re.compile(r"^\s*layer\s+\d+\s*,\s*matrix form\s*:\s*")


def _one_line(text: str) -> str:
    """The claim as one line: leading lines that end in = (a pasted left-hand side, the
    heading ``derive --format text`` prints) kept before the flattened picture."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) <= 1:
        return _HEADING.sub("", text.strip())
    left = []
    while lines and lines[0].rstrip().endswith("="):
        left.append(_HEADING.sub("", lines.pop(0)).strip())
    return " ".join([*left, flatten(lines)])


# ---------------------------------------------------------------------------------------------
# The parse: tokens to a matrix expression, its shapes checked


class ShapeMismatch(Exception):
    """Two factors that do not fit: the operation, both operands and their shapes."""

    def __init__(self, op: str, left, right, message: str):
        super().__init__(message)
        self.op, self.left, self.right = op, left, right


@dataclass(frozen=True)
class _Ones:
    """The ones matrix before its shape is known (𝟏: from the factor beside it)."""

    transposed: bool = False
    coeff: sp.Expr = sp.S.One


@dataclass
class _Parser:
    """Recursive descent over the tokens: sum of Hadamard products of matrix products."""

    toks: list[Token]
    symbols: Callable[[str, int], sp.MatrixExpr]
    layer_of: Callable[[str], int]
    activation: Callable[..., tuple[Any, bool]]
    decay: sp.Expr
    pos: int = 0
    depth: int = 0
    calls: int = 0

    def peek(self, *kinds: str, text: str | None = None) -> bool:
        if self.pos >= len(self.toks):
            return False
        t = self.toks[self.pos]
        return t.kind in kinds and (text is None or t.text == text)

    def take(self) -> Token:
        t = self.toks[self.pos]
        self.pos += 1
        return t

    def expect(self, text: str) -> None:
        if not self.peek("op", text=text):
            got = self.toks[self.pos].text if self.pos < len(self.toks) else "the end"
            raise ClaimError(f"the matrix claim needs {text!r} where it has {got!r}")
        self.pos += 1

    def parse(self):
        value = self.sum()
        if self.pos < len(self.toks):
            raise ClaimError(f"the matrix claim has {self.toks[self.pos].text!r} left over")
        return value

    def sum(self):
        value = self.hadamard()
        while self.peek("op", text="+") or self.peek("op", text="-"):
            sign = 1 if self.take().text == "+" else -1
            right = self.hadamard()
            value = combine("+", value, right if sign == 1 else scale(-1, right))
        return value

    def hadamard(self):
        value = self.product()
        while self.peek("op", text="⊙"):
            self.take()
            value = combine("⊙", value, self.product())
        return value

    def product(self):
        value = self.unary()
        while True:
            if self.peek("op", text="*"):
                self.take()
                value = combine("*", value, self.unary())
            elif self.peek("op", text="/"):
                self.take()
                den = self.unary()
                if isinstance(den, sp.MatrixExpr | _Ones):
                    raise ClaimError("the matrix claim divides by a matrix: divide by scalars only")
                value = scale(1 / den, value)
            elif self.starts_operand():
                value = combine("*", value, self.unary())
            else:
                return value

    def starts_operand(self) -> bool:
        return self.peek(
            "name", "grad", "func", "ones", "number", "batch", "target", "decay", "frac"
        ) or (self.peek("op", text="(") or self.peek("op", text="{"))

    def unary(self):
        if self.peek("op", text="-"):
            self.take()
            return scale(-1, self.unary())
        if self.peek("op", text="+"):
            self.take()
            return self.unary()
        return self.postfix()

    def postfix(self):
        value = self.atom()
        while self.peek("trans", "hpow"):
            t = self.take()
            if t.kind == "trans":
                value = transpose(value)
            else:
                exponent = int(re.sub(r"\s", "", t.value[0]))
                check("exponent", abs(exponent), f"the power {exponent} in the claim")
                value = HadamardPower(value, exponent) if is_matrix(value) else value**exponent
        return value

    def group(self, close: str):
        self.depth += 1
        check("claim_depth", self.depth, "the brackets nested in the claim")
        value = self.sum()
        self.expect(close)
        self.depth -= 1
        return value

    def atom(self):
        if self.pos >= len(self.toks):
            raise ClaimError("the matrix claim ends where a term should follow")
        t = self.take()
        if t.kind == "op" and t.text in "({":
            return self.group(")" if t.text == "(" else "}")
        if t.kind == "frac":
            self.expect("{")
            num = self.group("}")
            self.expect("{")
            den = self.group("}")
            if is_matrix(den):
                raise ClaimError("the matrix claim divides by a matrix: divide by scalars only")
            return scale(1 / den, num)
        if t.kind == "name":
            letter, layer, transposed = t.value
            value = self.symbols(letter, self.layer_of(layer))
            return Transpose(value) if transposed else value
        if t.kind == "func":
            self.calls += 1
            check("claim_calls", self.calls, "the functions applied in the claim")
            self.expect("(")
            arg = self.group(")")
            if not isinstance(arg, sp.MatrixExpr):
                raise ClaimError(f"{t.text}(...) is applied to a scalar: apply it to z^(l)")
            row, prime = self.activation(t.value[0], arg, t.text)
            return apply(row, prime, arg)
        if t.kind == "ones":
            return OneMatrix(n, 1) if t.text != "𝟏" else _Ones()
        if t.kind == "number":
            check("number_digits", len(t.text), f"the number {t.text[:20]} in the claim")
            return sp.Rational(t.text)
        if t.kind == "batch":
            return n
        if t.kind == "target":
            return self.symbols("y", 0)
        if t.kind == "grad":
            return self.symbols("∇", self.layer_of(t.value[0]))
        if t.kind == "decay":
            return self.decay
        raise ClaimError(f"the matrix claim has {t.text!r} where a term should be")


def is_matrix(value) -> bool:
    return isinstance(value, sp.MatrixExpr | _Ones)


def shape_text(m: sp.MatrixExpr) -> str:
    return f"{m.shape[0]} x {m.shape[1]}"


def transpose(value):
    if isinstance(value, _Ones):
        return _Ones(not value.transposed, value.coeff)
    return Transpose(value) if isinstance(value, sp.MatrixExpr) else value


def scale(c, value):
    if isinstance(value, _Ones):
        return _Ones(value.transposed, c * value.coeff)
    return c * value


def _ones_for(op: str, other: sp.MatrixExpr, ones: _Ones, ones_left: bool) -> sp.MatrixExpr:
    """The shape a bare 𝟏 takes beside ``other``: in a product, the vector that fits (𝟏 of
    length n for delta 𝟏, 𝟏^T of length n for b 𝟏^T); elementwise, ``other``'s own."""
    if op != "*":
        return ones.coeff * OneMatrix(*other.shape)
    if ones_left:
        return ones.coeff * OneMatrix(1, other.shape[0])
    return ones.coeff * (OneMatrix(1, n) if ones.transposed else OneMatrix(other.shape[1], 1))


def combine(op: str, left, right):
    """left op right (op one of + ⊙ *), shapes checked: ShapeMismatch when they do not fit."""
    if isinstance(left, _Ones) and isinstance(right, _Ones):
        raise ClaimError("the matrix claim combines two ones vectors: write a matrix beside one")
    if isinstance(left, _Ones):
        if not is_matrix(right):
            return scale(right, left)
        left = _ones_for(op, right, left, True)
    if isinstance(right, _Ones):
        if not is_matrix(left):
            return scale(left, right)
        right = _ones_for(op, left, right, False)
    ml, mr = isinstance(left, sp.MatrixExpr), isinstance(right, sp.MatrixExpr)
    if op == "*" and not (ml and mr):
        return left * right
    if ml != mr:
        word = "adds" if op == "+" else "multiplies elementwise"
        raise ClaimError(f"the matrix claim {word} a number and a matrix: write (number) 𝟏")
    if not ml:
        return left + right if op == "+" else left * right
    if op == "*":
        if left.shape[1] != right.shape[0]:
            raise ShapeMismatch(
                op,
                left,
                right,
                f"{format_matrix(left)} ({shape_text(left)}) times {format_matrix(right)} "
                f"({shape_text(right)}) do not fit",
            )
        return MatMul(left, right)
    if left.shape != right.shape:
        word = "+" if op == "+" else "⊙"
        raise ShapeMismatch(
            op,
            left,
            right,
            f"{format_matrix(left)} ({shape_text(left)}) {word} {format_matrix(right)} "
            f"({shape_text(right)}) do not fit",
        )
    return MatAdd(left, right) if op == "+" else HadamardProduct(left, right)


def apply(row, prime: bool, arg: sp.MatrixExpr) -> sp.MatrixExpr:
    """f(arg) or f'(arg) elementwise, as the derivation writes it; an output activation
    (softmax) of the whole column."""
    if row in OUTPUT_ACTIVATIONS.values():
        if prime:
            raise ClaimError(f"{row.name}' is not elementwise: write its output a^(L) instead")
        return row.matrix(arg)
    d = sp.Dummy("d")
    return ElementwiseApplyFunction(sp.Lambda(d, (row.prime if prime else row.function)(d)), arg)


# ---------------------------------------------------------------------------------------------
# Quantities: --wrt and the left-hand side

_QUANTITY = {"W": "W", "w": "W", "b": "b", "a": "a", "A": "a", "z": "z", "Z": "z", "δ": "z"}
"""A letter of a matrix claim and the variable it names (delta^(l) is dC/dz^(l))."""

_WRT = re.compile(rf"^\s*(?:{_NAME.pattern})\s*$", re.X)


def matrix_wrt(spec: NetworkSpec, text: str) -> bool:
    """True when ``--wrt`` names a whole matrix (W^(3), delta^(2), \\delta^{(2)}), not an entry
    (nor the one entry of a layer of width 1, which the index form names without indices)."""
    if len(text) > 100 or not _WRT.match(_normalised(text)):
        return False
    try:
        parse_wrt(spec, text)
    except InputError:
        return True
    return False


def left_wrt(claim: str) -> str | None:
    """The matrix a pasted left-hand side differentiates by (``dC/dW^(2) = ...`` -> ``W^(2)``),
    or None when the claim has none or names an entry (``dC_0/dw^(2)_jk``)."""
    left, _ = _split(_one_line(claim[: LIMITS["claim_length"].value()]))
    if not left:
        return None
    text = _normalised(left[-1])
    found = list(_NAME.finditer(text))
    if not found or re.match(r"\s*[_\[]", text[found[-1].end() :]):
        return None
    return found[-1].group(0).strip()


def _layer_value(text: str, L: int, here: int | None, where: str) -> int:
    """The layer a superscript names: 3, L, L-1, and l or l+1 relative to ``here``."""
    t = re.sub(r"\s", "", text)
    if t.startswith("l"):
        if here is None:
            raise ClaimError(f"{where}: give --wrt a layer number, e.g. W^(2), to read l")
        return here + int(t[1:] or 0)
    if t.startswith("L"):
        return L + int(t[1:] or 0)
    check("layers", len(t), f"the layer {t[:20]}")
    return int(t)


def read_wrt(spec: NetworkSpec, text: str) -> tuple[Key, str]:
    """The key of ``--wrt`` (``("W", 3)``) and how it is shown (``W^(3)``, ``delta^(3)``)."""
    m = _WRT.match(_normalised(text))
    if m is None:
        raise ClaimError(f"--wrt {text[:40]!r} is not a matrix: write e.g. W^(3) or delta^(3)")
    letter, raw = _name_parts(m)
    layer = _layer_value(raw, spec.layers, None, f"--wrt {text!r}")
    key = (_QUANTITY[letter], layer)
    low = 0 if key[0] == "a" else 1
    high = spec.layers - 1 if key[0] == "a" else spec.layers
    if not low <= layer <= high:
        what = "dC/da^(l) is derived for layers" if key[0] == "a" else "the layers are"
        raise ClaimError(
            f"--wrt {text!r}: {what} {low} to {high}"
            + (" (for the output layer, differentiate by delta^(L))" if key[0] == "a" else "")
        )
    return key, _shown(key)


def _shown(key: Key) -> str:
    letter, layer = key
    return f"delta^({layer})" if letter == "z" else f"{letter}^({layer})"


def _split(text: str) -> tuple[list[str], str]:
    """The left-hand sides and the right-hand side of ``a = b = claim``, split at = outside
    brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch in "({[") - (ch in ")}]")
        if ch == "=" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts, text[start:]


def _left_key(spec: NetworkSpec, text: str, here: int) -> Key:
    """The quantity a left-hand side names: dC/dW^(2), \\frac{\\partial C}{\\partial W^{(2)}},
    delta^(2) or dC/dz2."""
    names = list(_NAME.finditer(_normalised(text)))
    if len(names) != 1:
        raise ClaimError(
            f"the left-hand side {text.strip()[:40]!r} names no single quantity: write e.g. "
            "dC/dW^(2) = ..."
        )
    letter, layer = _name_parts(names[0])
    return _QUANTITY[letter], _layer_value(layer, spec.layers, here, "the left-hand side")


def _name_parts(m: re.Match) -> tuple[str, str]:
    """The letter (delta as δ) and the layer's text of a match of ``_NAME``."""
    layer = next(m.group(g) for g in ("l1", "l2", "l3", "l4", "l5") if m.group(g))
    letter = "δ" if m.group("letter") in ("delta", "δ") else m.group("letter")
    return letter, layer.translate(_SUBSCRIPT)


# ---------------------------------------------------------------------------------------------
# Printing back in the claim language


def format_matrix(expr) -> str:
    """A matrix expression in the plain notation this module reads: ``delta^(3) a^(2)T``."""
    if not isinstance(expr, sp.Basic):
        return str(expr)
    if isinstance(expr, sp.MatrixSymbol):
        parts = split_name(expr.name)
        return f"{parts[0]}^({parts[1]})" if parts else expr.name
    if isinstance(expr, OneMatrix):
        return "𝟏"
    if isinstance(expr, Transpose):
        inner = format_matrix(expr.arg)
        return inner + "T" if isinstance(expr.arg, sp.MatrixSymbol) else f"({inner})T"
    if isinstance(expr, MatAdd):
        out = format_matrix(expr.args[0])
        for a in expr.args[1:]:
            text = format_matrix(a)
            out += f" - {text[1:]}" if text.startswith("-") else f" + {text}"
        return out
    if isinstance(expr, MatMul):
        scalars = sp.Mul(*[a for a in expr.args if not a.is_Matrix])
        mats = [_paren(a, (MatAdd, HadamardProduct)) for a in expr.args if a.is_Matrix]
        if scalars == -1:
            return "-" + " ".join(mats)
        head = [] if scalars == 1 else [f"({scalars})" if not scalars.is_Integer else str(scalars)]
        return " ".join(head + mats)
    if isinstance(expr, HadamardProduct):
        return " ⊙ ".join(_paren(a, (MatAdd, MatMul)) for a in expr.args)
    if isinstance(expr, HadamardPower):
        return f"({format_matrix(expr.base)})^∘({expr.exp})"
    if isinstance(expr, ElementwiseApplyFunction):
        f = expr.function
        func = f.expr.func if isinstance(f, sp.Lambda) else f
        name = func.__name__
        prime = name.endswith("_prime")
        return f"{name.removesuffix('_prime')}{chr(39) * prime}({format_matrix(expr.expr)})"
    if isinstance(expr, Softmax):
        return f"softmax({format_matrix(expr.arg)})"
    return str(expr)


def _paren(a, kinds) -> str:
    text = format_matrix(a)
    scaled = isinstance(a, MatMul) and any(not x.is_Matrix for x in a.args)
    return f"({text})" if isinstance(a, kinds) or scaled else text


# ---------------------------------------------------------------------------------------------
# The claim over the derivation


@cache
def _derivation(spec: NetworkSpec) -> Derivation:
    return derive_network(spec)


def generic(spec: NetworkSpec) -> NetworkSpec:
    """``spec`` with symbolic widths: the claim is read and proved at every size."""
    # every other field (the cost's conventions too) kept as it is
    return spec if spec.symbolic else replace(spec, widths=None)  # type: ignore[arg-type]


def read_claim(spec: NetworkSpec, key: Key, text: str):
    """The claim as a matrix expression over the derivation's symbols at symbolic widths
    (ShapeMismatch for factors that do not fit); ClaimError for a claim that cannot be read."""
    check("claim_length", len(text), f"a claim of {len(text)} characters")
    left, right = _split(_one_line(text))
    for side in left:
        named = _left_key(spec, side, key[1])
        if named != key:
            raise ClaimError(
                f"the left-hand side names dC/d{_shown(named)}, but --wrt is {_shown(key)}: "
                "make them agree"
            )
    s = _derivation(generic(spec)).symbols
    L = spec.layers

    def symbols(letter: str, layer: int) -> sp.MatrixExpr:
        if letter == "y":
            return s.y
        if letter == "∇":
            return _cost_gradient(_derivation(generic(spec)), layer)
        q = _QUANTITY[letter]
        low = 0 if q == "a" else 1
        if not low <= layer <= L:
            raise ClaimError(f"{letter}^({layer}): the layers of {q} run from {low} to {L}")
        if q == "a":
            return s.a(layer)
        ls = s.layers[layer]
        return {"W": ls.W, "b": ls.b, "z": ls.z}[q] if letter != "δ" else ls.delta

    def activation(name: str, arg: sp.MatrixExpr, text: str):
        row = _FUNCTION_NAMES.get(name)
        prime = text.rstrip().endswith("'")
        named = (split_name(getattr(sym, "name", "")) for sym in arg.free_symbols)
        layers = {parts[1] for parts in named if parts and parts[0] != "dC_da"}
        if row in OUTPUT_ACTIVATIONS.values():
            return row, prime
        if len(layers) != 1 or 0 in layers:
            raise ClaimError(
                f"{text}(...): write its argument as z^(l), so that its layer is clear"
            )
        (layer,) = layers
        own = ACTIVATIONS.get(spec.activations[layer - 1])
        if own is None:
            raise ClaimError(
                f"{text}(...): the output layer's {spec.activations[layer - 1]} is not "
                "elementwise: write its output a^(L)"
            )
        if row is not None and row is not own:
            raise ClaimError(
                f"{text}: the activation of layer {layer} is {own.name}, not {row.name}: write "
                f"sigma{chr(39) * prime}(...) or its own name"
            )
        return own, prime

    toks = tokens(_normalised(right))
    if not toks:
        raise ClaimError("the matrix claim is empty: write e.g. 'delta^(3) a^(2)T'")
    parser = _Parser(
        toks,
        symbols,
        lambda t: _layer_value(t, L, key[1], "the claim"),
        activation,
        getattr(spec, "l2", sp.S.Zero),  # lambda of the L2 penalty, where the spec has one
    )
    value = parser.parse()
    if isinstance(value, _Ones):
        value = value.coeff * OneMatrix(n, 1)
    return value


def _cost_gradient(d: Derivation, layer: int) -> sp.MatrixExpr:
    """The derived dC/da^(layer), which a claim may name: the rule of layer layer + 1, or at the
    output the loss's part of delta^(L) (its factor beside sigma'(z^(L)))."""
    L = d.spec.layers
    if not 0 <= layer <= L:
        raise ClaimError(f"dC/da^({layer}): the layers of a run from 0 to {L}")
    if layer < L:
        return d.matrix[("a", layer)]
    ls = d.symbols.layers[L]
    delta = d.deltas[ls.delta]
    rest = [a for a in getattr(delta, "args", ()) if a not in _primes(delta)]
    if not isinstance(delta, HadamardProduct) or len(rest) != 1:
        raise ClaimError(
            "dC/da^(L) is not a factor of this network's delta^(L) (its output activation is "
            "the loss's): write delta^(L)"
        )
    return rest[0]


def truth_of(spec: NetworkSpec, key: Key) -> sp.MatrixExpr:
    return _derivation(generic(spec)).matrix[key]


def _deltas(d: Derivation, expr, deltas: dict | None = None):
    """``expr`` with every delta^(l) replaced by its definition (``deltas``, the derivation's
    by default), down to the output's."""
    for _ in range(d.spec.layers + 1):
        new = expr.xreplace(d.deltas if deltas is None else deltas)
        if new == expr:
            return expr
        expr = new
    return expr


_BY_PRIME = {row.prime: row for row in ACTIVATIONS.values()}


def _primes(expr) -> list[ElementwiseApplyFunction]:
    """The sigma'(z^(l)) nodes of ``expr``, layer L's first."""
    found = {
        e
        for e in expr.atoms(ElementwiseApplyFunction)
        if isinstance(e.function, sp.Lambda) and e.function.expr.func in _BY_PRIME
    }
    return sorted(found, key=str, reverse=True)
