"""The claim language's grammar: the lark grammar, its name tokens and the size limits.

``parse_tree`` checks a claim's size, then parses it with a small LALR grammar; a syntax error
becomes a ``ClaimError`` that names the column and what was expected there. Building SymPy from
the tree is ``claims``' job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from ..errors import InputError

MAX_LENGTH = 2000
"""Longest claim accepted, in characters."""

MAX_DEPTH = 50
"""Deepest nesting of brackets accepted."""

MAX_EXPONENT = 10
"""Largest |exponent| of a power: (a - y)^2 is common, 10^(10^9) would never finish."""


class ClaimError(InputError):
    """A claim or --wrt that cannot be read; the message names the problem and the fix."""


# One regular expression per whole name, so that the ^ and _ inside a^(2)_k never meet the
# grammar's power operator. The parts are read again in Python (``read_name``).
_LAYER = r"\^\s*(?:\{\s*\(\s*(?:L\s*-\s*\d+|L|\d+)\s*\)\s*\}|\(\s*(?:L\s*-\s*\d+|L|\d+)\s*\))"
_INDEX = r"_\s*(?:\{\s*[a-z0-9]\s*(?:,?\s*[a-z0-9]\s*)?\}|[a-z0-9]{1,2}\b|[a-z0-9])"
_VAR = rf"[abwyz](?:\s*{_LAYER}(?:\s*{_INDEX})?|\s*{_INDEX}(?:\s*{_LAYER})?)?"
_FUNC = r"(?:\\sigma|sigma|σ)(?:\s*(?:'|′|\^\s*\{\s*\\prime\s*\}|\^\s*\\prime))?"
_SUM_BOUNDS = r"(?:\s*\^\s*\{\s*n_\s*(?:\{\s*(?:L\s*-\s*\d+|L|\d+)\s*\}|\d|L)\s*-\s*1\s*\})?"
_LSUM = rf"\\sum\s*_\s*(?:\{{\s*[a-z]\s*(?:=\s*0\s*)?\}}|[a-z]){_SUM_BOUNDS}"

GRAMMAR = rf"""
?start: sum
?sum: product
    | sum "+" product            -> add
    | sum "-" product            -> sub
?product: unary
    | product MULOP unary        -> mul
    | product "/" unary          -> div
    | product implicit           -> mul
?unary: "-" unary                -> neg
    | "+" unary
    | power
    | bigsum
?implicit: power | bigsum
?power: atom | atom "^" exponent -> pow
?atom: NUMBER                    -> number
    | VAR                        -> var
    | FUNC group                 -> call
    | SUMCALL group              -> plainsum
    | FRAC "{{" sum "}}" "{{" sum "}}" -> div
    | group
?group: OPEN sum CLOSE
    | "{{" sum "}}"
bigsum: LSUM product
exponent: EXPINT | "{{" EXPINT "}}" | OPEN EXPINT CLOSE

VAR: /{_VAR}/
FUNC: /{_FUNC}/
SUMCALL: /(?:sum|Σ)_(?:\{{[a-z]\}}|[a-z])/
LSUM: /{_LSUM}/
FRAC: /\\d?frac/
MULOP: /\*|\\cdot|\\times|·|×/
OPEN: /\\left\s*\(|\\left\s*\[|\(|\[/
CLOSE: /\\right\s*\)|\\right\s*\]|\)|\]/
NUMBER: /\d+(\.\d+)?/
EXPINT: /[-+]?\d+/
SPACE: /\s+|\\[,;:! ]|\\quad/
%ignore SPACE
"""

# What the grammar's terminals are called in error messages.
_EXPECTED = {
    "VAR": "a name like a^(2)_k",
    "NUMBER": "a number",
    "FUNC": "sigma(...)",
    "SUMCALL": "sum_j(...)",
    "LSUM": r"\sum_j",
    "LPAR": "'('",
    "RPAR": "')'",
    "MINUS": "'-'",
    "PLUS": "'+'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "INT": "a whole number",
    "SIGNED_INT": "a whole number",
    "FRAC": r"\frac",
}


@cache
def _parser():
    from lark import Lark

    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)


def is_name(text: str) -> bool:
    """True when ``text`` is one whole quantity name, such as ``w^(3)_jk`` or ``a_k^{(L-1)}``."""
    return re.fullmatch(_VAR, text) is not None


@dataclass(frozen=True)
class Name:
    """One quantity as written: letter (a, z, w, b, y), layer (None if left out) and indices."""

    letter: str
    layer: int | None
    indices: tuple[str, ...]

    def __str__(self) -> str:
        layer = "" if self.layer is None else f"^({self.layer})"
        return f"{self.letter}{layer}" + (f"_{''.join(self.indices)}" if self.indices else "")


def read_layer(text: str, L: int, where: str) -> int:
    text = re.sub(r"\s", "", text)
    if text == "L":
        return L
    value = L - int(text[2:]) if text.startswith("L-") else int(text)
    if not 0 <= value <= L:
        raise ClaimError(
            f"{where}: layer {text} does not exist: the network has layers 0 (inputs) to {L}"
        )
    return value


def read_name(text: str, L: int) -> Name:
    """Split a name token such as ``w^{(L)}_{jk}`` or ``a_k^{(L-1)}`` into its parts."""
    letter = text[0]
    m = re.search(r"\(\s*(L\s*-\s*\d+|L|\d+)\s*\)", text)
    layer = read_layer(m.group(1), L, text) if m else None
    sub = re.search(r"_\s*(\{[^}]*\}|[a-z0-9]{1,2})", text)
    indices = tuple(re.findall(r"[a-z0-9]", sub.group(1))) if sub else ()
    return Name(letter, layer, indices)


def _check_size(text: str) -> None:
    if len(text) > MAX_LENGTH:
        raise ClaimError(
            f"the claim has {len(text)} characters, more than the {MAX_LENGTH} accepted: "
            "check one step of the derivation at a time"
        )
    depth = deepest = 0
    for c in text:
        depth += c in "([{"
        depth -= c in ")]}"
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise ClaimError(
            f"the claim nests brackets {deepest} deep, more than the {MAX_DEPTH} accepted: "
            "write it with fewer brackets"
        )
    if not text.strip():
        raise ClaimError("the claim is empty: write a formula such as a^(2)_k * sigma'(z^(3)_j)")


def _syntax_error(text: str, e: Exception) -> ClaimError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(e, UnexpectedEOF):
        return ClaimError("the claim ends too early: close every bracket and finish the last term")
    col = getattr(e, "column", "?")
    if isinstance(e, UnexpectedCharacters):
        at = e.pos_in_stream or 0
        bad = text[at : at + 12]
        return ClaimError(
            f"cannot read {bad!r} at column {col}: the claim may use numbers, + - * / ^, "
            "brackets, a^(l)_k, z^(l)_j, w^(l)_jk, b^(l)_j, y_j, sigma(...), sigma'(...) and "
            "sum_j(...) (see docs/prove.md)"
        )
    if isinstance(e, UnexpectedToken):
        if e.token.type == "$END":
            return ClaimError(
                "the claim ends too early: close every bracket and finish the last term"
            )
        wanted = sorted({_EXPECTED.get(t, t.lower()) for t in e.expected})[:6]
        return ClaimError(
            f"unexpected {str(e.token)!r} at column {col}: expected {' or '.join(wanted)}"
        )
    return ClaimError(f"cannot read the claim: {e}")


def parse_tree(text: str):
    """The lark parse tree of ``text`` (checked for size first); ClaimError if it is not valid."""
    from lark.exceptions import LarkError

    _check_size(text)
    try:
        return _parser().parse(text)
    except LarkError as e:
        raise _syntax_error(text, e) from None
