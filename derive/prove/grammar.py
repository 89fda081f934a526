"""The claim language's grammar: the lark grammar, its name tokens and the size limits.

``parse_tree`` checks a claim's size, parses it with a small LALR grammar (a syntax error
becomes a ``ClaimError`` that names the column and what was expected there), then checks the
tree against the claim rows of ``limits.LIMITS``: nesting of sigma(...), digits of numbers and
powers of powers, all before any SymPy is built. Building SymPy from the tree is ``claims``' job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from ..activations import ACTIVATIONS
from ..errors import InputError
from ..limits import LIMITS, limit

MAX_LENGTH = LIMITS["claim_length"].default
"""Longest claim accepted by default, in characters (``BPVERIFY_MAX_CLAIM_LENGTH`` raises it)."""

MAX_DEPTH = LIMITS["claim_depth"].default
"""Deepest nesting of brackets accepted by default."""

MAX_EXPONENT = LIMITS["exponent"].default
"""Largest |exponent| of a power by default: (a - y)^2 is common, 10^(10^9) would never finish."""


class ClaimError(InputError):
    """A claim or --wrt that cannot be read; the message names the problem and the fix."""


# One regular expression per whole name, so that the ^ and _ inside a^(2)_k never meet the
# grammar's power operator. The parts are read again in Python (``read_name``).
# A layer is a number, L or L-1 (l, l+1 are matched only to be refused with the fix). It is
# written ^(2), ^{(2)}, ^[2] or ^{[2]} (Ng) on either side of the index, or bare, ^2, ^L or
# ^{L-1} (Nielsen), before the index only: a_j^2 stays a square.
_VALUE = r"(?:L\s*[-−]\s*\d+|L|\d+|l(?:\s*[-−+]\s*\d+)?)"
_BRACKETED = rf"\^\s*(?:\{{\s*[(\[]\s*{_VALUE}\s*[)\]]\s*\}}|[(\[]\s*{_VALUE}\s*[)\]])"
_BARE = rf"\^\s*(?:\{{\s*{_VALUE}\s*\}}|L|\d|l)"
_LATE = r"\^\s*(?:\{\s*(?:L\s*[-−]\s*\d+|L)\s*\}|L)"
_INDEX = r"_\s*(?:\{\s*[a-z0-9]\s*(?:,?\s*[a-z0-9]\s*)?\}|[a-z0-9]{1,2}\b|[a-z0-9])"
_AFTER = (
    rf"(?:\s*{_BRACKETED}(?:\s*{_INDEX})?|\s*{_BARE}\s*{_INDEX}"
    rf"|\s*{_INDEX}(?:\s*(?:{_BRACKETED}|{_LATE}))?)"
)
# derive --format text's names: a2[j], W2[j,k], y[j], delta2[j], dC_0/da1[j]
_TEXT = r"\d*\s*\[\s*[a-z0-9]\s*(?:,\s*[a-z0-9]\s*)?\]"
_LETTERS = "abwyzAWZY"
_SHAPE = rf"(?:{_TEXT}|{_AFTER})"
_VAR = rf"[{_LETTERS}]{_SHAPE}?"
# δ^(l)_j (\delta, delta, Nielsen's δ^l_j, the text's delta2[j]): dC_0/dz^(l)_j by name
_DELTA = rf"(?:\\delta|δ|delta){_SHAPE}"
_ANY = rf"(?:[{_LETTERS}]{_SHAPE}|{_DELTA})"
# The derivative of the cost by a name: dC_0/da^(l)_k, ∂C/∂w^(3)_jk, \frac{\partial C_0}{\partial
# z^{(2)}_{j}}, Ng's dZ^{[2]}_j, Nielsen's (\nabla_a C)_j. In a claim's right-hand side it names
# the derived quantity (a or z); on its left-hand side it says what the claim differentiates by.
_D = r"(?:d|∂|\\partial\s*)"
_COST = r"C(?:\s*_\s*(?:\{\s*0\s*\}|0))?"
_NABLA = r"(?:\\nabla|∇)\s*_\s*(?:\{\s*a\s*\}|a)\s*C"
_GRAD = (
    rf"(?:{_D}\s*{_COST}\s*\/\s*{_D}\s*{_ANY}"
    rf"|\\d?frac\s*\{{\s*{_D}\s*{_COST}\s*\}}\s*\{{\s*{_D}\s*{_ANY}\s*\}}"
    rf"|d\s*[AZWazwb]{_SHAPE}"
    rf"|\(\s*{_NABLA}\s*\)\s*{_INDEX}|{_NABLA}(?:\s*{_INDEX})?)"
)
# sigma, g (Ng's), and each activation's own names from the table (\tanh, relu, ...)
GENERIC_FUNCTIONS = (r"\sigma", "sigma", "σ", "g")
"""Spellings of "the layer's activation", whichever it is (g is Ng's)."""
_GENERIC = "|".join(re.escape(n) for n in GENERIC_FUNCTIONS)
_OWN = "|".join(
    sorted(
        {re.escape(n) for row in ACTIVATIONS.values() for n in (row.symbol, row.latex)}
        - {re.escape(n) for n in GENERIC_FUNCTIONS},
        key=len,
        reverse=True,
    )
)
_PRIME = r"(?:\s*(?:'|′|’|\^\s*\{\s*\\prime\s*\}|\^\s*\\prime))?"
_FUNC = rf"(?:{_OWN}|{_GENERIC}){_PRIME}"
# the bounds of \sum: _{j}, _{j=0}^{n_L-1} (n_L - 1, not n_{L-1}), _{j=1}^{n_L}, _{j=0}^{2}
_SIZE = r"n\s*_\s*(?:\{\s*(?:L\s*[-−]\s*\d+|L|\d+)\s*\}|\d|L)"
_TOP = rf"(?:{_SIZE}(?:\s*[-−]\s*1)?|\d+)"
_SUM_BOUNDS = rf"(?:\s*\^\s*(?:\{{\s*{_TOP}\s*\}}|{_SIZE}|\d))?"
_LSUM = rf"\\sum(?:\s*\\limits)?\s*_\s*(?:\{{\s*[a-z]\s*(?:=\s*[01]\s*)?\}}|[a-z]){_SUM_BOUNDS}"
_MINUS = r"-|−|–"

GRAMMAR = rf"""
?start: sum
?sum: product
    | sum "+" product            -> add
    | sum MINUS product          -> sub
?product: unary
    | product MULOP unary        -> mul
    | product "/" unary          -> div
    | product implicit           -> mul
?unary: MINUS unary              -> neg
    | "+" unary
    | power
    | bigsum
?implicit: power | bigsum
?power: atom | atom "^" exponent -> pow
?atom: NUMBER                    -> number
    | VAR                        -> var
    | GRAD                       -> grad
    | DELTA                      -> delta
    | FUNC group                 -> call
    | EXPFN group                -> exp
    | EULER "^" "{{" sum "}}"      -> exp
    | EULER "^" OPEN sum CLOSE   -> exp
    | LOGFN group                -> log
    | SUMCALL group              -> plainsum
    | CASES rows ENDCASES        -> piecewise
    | FRAC "{{" sum "}}" "{{" sum "}}" -> div
    | group
?group: OPEN sum CLOSE
    | "{{" sum "}}"
bigsum: LSUM product
rows: case (ROWSEP case)* ROWSEP?
case: sum AMP FOR sum RELOP sum  -> when
    | sum AMP OTHERWISE          -> otherwise
exponent: EXPINT | "{{" EXPINT "}}" | OPEN EXPINT CLOSE

VAR: /{_VAR}/
DELTA.2: /{_DELTA}/
GRAD.3: /{_GRAD}/
FUNC: /{_FUNC}/
EXPFN: /\\exp|exp/
LOGFN: /\\log|\\ln|log|ln/
EULER: /[eℯ](?=\s*\^)/
SUMCALL: /(?:sum|Σ)_(?:\{{[a-z]\}}|[a-z])/
LSUM: /{_LSUM}/
FRAC: /\\d?frac/
MINUS: /{_MINUS}/
CASES: /\\begin\s*\{{\s*cases\s*\}}/
ENDCASES: /\\end\s*\{{\s*cases\s*\}}/
ROWSEP: /\\\\/
AMP: /&/
FOR: /\\text\s*\{{\s*(?:for|if)\s*\}}|\\mathrm\s*\{{\s*(?:for|if)\s*\}}/
OTHERWISE: /\\text\s*\{{\s*(?:otherwise|else)\s*\}}/
RELOP: /<=|>=|\\geq?|\\leq?|≥|≤|<|>/
MULOP: /\*|\\cdot|\\times|\\odot|·|⋅|×|⊙|∘/
OPEN: /(?:\\left|\\[bB]igg?l?)\s*[(\[]|\(|\[/
CLOSE: /(?:\\right|\\[bB]igg?r?)\s*[)\]]|\)|\]/
NUMBER: /\d+(\.\d+)?/
EXPINT: /[-+−]?\d+/
SPACE: /\s+|\\[,;:! ]|\\q?quad/
%ignore SPACE
"""

# What the grammar's terminals are called in error messages.
_EXPECTED = {
    "VAR": "a name like a^(2)_k",
    "GRAD": "dC_0/da^(l)_k",
    "DELTA": "δ^(l)_j",
    "MULOP": "'*'",
    "ROWSEP": r"'\\'",
    "AMP": "'&'",
    "FOR": r"\text{for}",
    "OTHERWISE": r"\text{otherwise}",
    "RELOP": "'<' or '>'",
    "ENDCASES": r"\end{cases}",
    "CASES": r"\begin{cases}",
    "NUMBER": "a number",
    "FUNC": "sigma(...)",
    "EXPFN": "exp(...)",
    "LOGFN": "log(...)",
    "EULER": "e^{...}",
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
    """One quantity as written: letter (a, z, w, b, y, or delta for δ), layer (None if left
    out) and indices."""

    letter: str
    layer: int | None
    indices: tuple[str, ...]

    def __str__(self) -> str:
        layer = "" if self.layer is None else f"^({self.layer})"
        return f"{self.letter}{layer}" + (f"_{''.join(self.indices)}" if self.indices else "")


def read_layer(text: str, L: int, where: str) -> int:
    text = re.sub(r"\s", "", text).replace("−", "-")
    if text.startswith("l"):
        raise ClaimError(
            f"{where}: layer {text} is a letter: write the layer as a number (1 to {L}) or "
            "as L, L-1, ..., e.g. w^(2)_jk for l = 2"
        )
    if text == "L":
        return L
    value = L - int(text[2:]) if text.startswith("L-") else int(text)
    if not 0 <= value <= L:
        raise ClaimError(
            f"{where}: layer {text} does not exist: the network has layers 0 (inputs) to {L}"
        )
    return value


_PREFIX = re.compile(r"\\delta|δ|delta|[a-zA-Z]")
_TEXT_NAME = re.compile(r"(\d*)\s*\[([^\]]*)\]")
_LAYER_VALUE = re.compile(r"\^\s*\{?\s*[(\[]?\s*(L\s*[-−]\s*\d+|L|\d+|l(?:\s*[-−+]\s*\d+)?)")


def read_name(text: str, L: int) -> Name:
    """Split a name token such as ``w^{(L)}_{jk}``, ``a_k^{(L-1)}``, ``a^L_j``, ``W^{[2]}_{jk}``,
    ``δ^2_j`` or the text's ``W2[j,k]`` into its parts (capitals are the same letter)."""
    prefix = _PREFIX.match(text)
    head = prefix.group(0) if prefix else text[:1]
    letter = "delta" if head in (r"\delta", "δ", "delta") else head.lower()
    rest = text[len(head) :]
    listed = _TEXT_NAME.fullmatch(rest.strip())
    if listed:
        layer = read_layer(listed.group(1), L, text) if listed.group(1) else None
        return Name(letter, layer, tuple(re.findall(r"[a-z0-9]", listed.group(2))))
    m = _LAYER_VALUE.search(rest)
    layer = read_layer(m.group(1), L, text) if m else None
    sub = re.search(r"_\s*(\{[^}]*\}|[a-z0-9]{1,2})", rest)
    indices = tuple(re.findall(r"[a-z0-9]", sub.group(1))) if sub else ()
    return Name(letter, layer, indices)


_DIFFERENTIAL = r"(?:d|∂|\\partial)\s*"
_SLASHED = re.compile(rf"{_DIFFERENTIAL}C[^/]*/\s*{_DIFFERENTIAL}(.*)", re.S)
_FRACTION = re.compile(
    rf"\\d?frac\s*\{{[^{{}}]*(?:\{{[^{{}}]*\}}[^{{}}]*)?\}}\s*\{{\s*{_DIFFERENTIAL}(.*)\}}\s*", re.S
)
_NABLA_INDEX = re.compile(r"C\s*\)?\s*_\s*\{?\s*([a-z0-9])")


def read_derivative(text: str, L: int) -> Name:
    """The name a ``GRAD`` token differentiates the cost by: ``dC_0/da^(2)_k`` -> a^(2)_k,
    ``\\frac{\\partial C}{\\partial w^{(3)}_{jk}}`` -> w^(3)_jk, Ng's ``dZ^{[2]}_j`` ->
    z^(2)_j, Nielsen's ``(\\nabla_a C)_j`` -> a^(L)_j (a bare ``\\nabla_a C`` is entry j)."""
    if "nabla" in text or "∇" in text:
        index = _NABLA_INDEX.search(text)
        return Name("a", L, (index.group(1) if index else "j",))
    for pattern in (_FRACTION, _SLASHED):
        m = pattern.fullmatch(text.strip())
        if m:
            return read_name(m.group(1).strip(), L)
    return read_name(text.strip()[1:].strip(), L)  # Ng's d before the name


DRAWN_SCALE = 20
"""A claim drawn over several lines (``derive --format text``) may have this many times the
``claim_length`` limit of characters: a drawing pads its rows and raises exponents and
fractions over rows of their own. The one line it is read into is held to the limit itself."""


def check_size(text: str, drawn: bool = False) -> None:
    """ClaimError for a claim longer than the ``claim_length`` limit (``DRAWN_SCALE`` times it
    for a ``drawn`` claim, before it is read into one line), empty, or nesting brackets deeper
    than the ``claim_depth`` limit."""
    most = limit("claim_length") * (DRAWN_SCALE if drawn else 1)
    if len(text) > most:
        what = "drawn claim" if drawn else "claim"
        raise ClaimError(
            f"the {what} has {len(text)} characters, more than the {most} accepted: "
            "check one step of the derivation at a time (or raise the limit with "
            f"{LIMITS['claim_length'].env}=N)"
        )
    depth = deepest = 0
    for c in text:
        depth += c in "([{"
        depth -= c in ")]}"
        deepest = max(deepest, depth)
    most = limit("claim_depth")
    if deepest > most:
        raise ClaimError(
            f"the claim nests brackets {deepest} deep, more than the {most} accepted: "
            f"write it with fewer brackets (or raise the limit with {LIMITS['claim_depth'].env}=N)"
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
            "brackets, a^(l)_k, z^(l)_j, w^(l)_jk, b^(l)_j, y_j, δ^(l)_j, sigma(...), sigma'(...), "
            "exp(...), log(...) and sum_j(...) (see the notations in docs/prove.md)"
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


def exponent_of(node) -> int:
    """The whole number of a ``pow`` node's exponent (bracketed or not), its size checked
    against the ``exponent`` limit before it is read: int() of 5000 digits is refused."""
    (token,) = (t for t in node.children if getattr(t, "type", None) == "EXPINT")
    text = str(token).lstrip("+-−").lstrip("0") or "0"
    most = limit("exponent")
    if len(text) > len(str(most)) or int(text) > most:
        shown = text if len(text) <= 12 else f"of {len(text)} digits"
        raise ClaimError(
            f"exponent {shown} is too large: powers up to {most} are accepted "
            f"(raise the limit with {LIMITS['exponent'].env}=N)"
        )
    return int(str(token).replace("−", "-"))


def _check_tree(tree) -> None:
    """The limits a parse tree shows before SymPy is built: nesting of sigma(...) calls, digits
    of a number, and the product of the exponents of powers of powers (((9^10)^10)^10 would be
    a number of a thousand million digits)."""
    from lark import Token

    most_calls = most_digits = most_power = 0
    stack = [(tree, 0, 1)]  # a node, the calls around it, the product of powers around it
    while stack:
        node, calls, power = stack.pop()
        if isinstance(node, Token):
            if node.type == "NUMBER":
                most_digits = max(most_digits, sum(c.isdigit() for c in node))
            continue
        if node.data in ("call", "exp", "log"):
            calls, power = calls + 1, 1
        elif node.data == "pow":
            power *= max(abs(exponent_of(node.children[-1])), 1)
        most_calls, most_power = max(most_calls, calls), max(most_power, power)
        stack.extend((child, calls, power) for child in node.children)
    for name, found, amount in (
        ("claim_calls", most_calls, f"sigma(...) nested {most_calls} deep"),
        ("number_digits", most_digits, f"a number of {most_digits} digits"),
        ("power", most_power, f"powers of powers whose exponents multiply to {most_power}"),
    ):
        if found > limit(name):
            raise ClaimError(f"the claim is too large: {LIMITS[name].refusal(amount)}")


def parse_tree(text: str):
    """The lark parse tree of ``text``, checked for size before and after parsing; ClaimError
    if it is not valid or too large."""
    from lark.exceptions import LarkError

    check_size(text)
    try:
        tree = _parser().parse(text)
    except LarkError as e:
        raise _syntax_error(text, e) from None
    _check_tree(tree)
    return tree
