"""The claim language: a gradient written by hand, in the seed's notation, parsed into SymPy.

A claim is untrusted text. It is read by a small LALR grammar (lark) and every node of the parse
tree is turned into a SymPy object from a whitelist: numbers, the network's quantities
``a^(l)_k``, ``z^(l)_j``, ``w^(l)_jk``, ``b^(l)_j``, ``y_j``, the layer's activation ``sigma``
and its derivative ``sigma'``, the derived quantities ``dC_0/da^(l)_k`` and ``δ^(l)_j`` (the
entries of ``dC_da{l}`` and ``delta{l}``, which ``truth`` replaces by their values), sums
``sum_j(...)``, a loss's branches (``\\begin{cases}``, as indicators), + - * / and powers with a
small whole-number exponent. Nothing is ever passed to ``eval``, ``sympify`` or ``parse_expr``.

Both spellings are read by the same grammar: the plain one (``a^(2)_k * sigma'(z^(3)_j)``) and
LaTeX (``a^{(2)}_k \\sigma'\\left(z^{(3)}_j\\right) 2(a^{(3)}_j - y_j)``), where a product may be
written without ``*`` and ``\\sum_j`` extends over the product that follows it; so are the
standard texts' notations (Nielsen's ``a^L_j``, Ng's ``W^{[l]}``, ``dZ^{[l]}``, derive's text
``W2[j,k]``) and a pasted left-hand side (``dC_0/dw^(3)_jk = ...``, read by ``claim_wrt``).

Example:
    >>> from bpverify.derive import NetworkSpec
    >>> parse_claim(NetworkSpec(layers=3), "a^(2)_k * sigma'(z^(3)_j)")
    sigma_prime(z3[j, 0])*a2[k, 0]
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from ..activations import ACTIVATIONS
from ..notation import NetworkSymbols, network_symbols, split_name
from ..spec import NetworkSpec
from .branches import as_indicators
from .drawing import is_drawing, one_line
from .grammar import (
    GENERIC_FUNCTIONS,
    MAX_DEPTH,
    ClaimError,
    Name,
    check_size,
    exponent_of,
    is_name,
    parse_tree,
    read_derivative,
    read_layer,
    read_name,
)

_CHAINS = {
    "add": ("add", "sub"),
    "sub": ("add", "sub"),
    "mul": ("mul", "div"),
    "div": ("mul", "div"),
}
"""Left-recursive rules: a chain of them is one sum or one product."""


_SHAPING = (
    "OPEN",
    "CLOSE",
    "FRAC",
    "MULOP",
    "CASES",
    "ENDCASES",
    "ROWSEP",
    "AMP",
    "FOR",
    "OTHERWISE",
)


def _punctuation(node) -> bool:
    """Tokens that only shape the tree: brackets, \\frac, the multiplication sign."""
    return getattr(node, "type", None) in _SHAPING


def index_symbol(letter: str) -> sp.Symbol:
    """The SymPy symbol of a neuron index letter (j and k are those of ``notation``)."""
    return sp.Symbol(letter, integer=True, nonnegative=True)


@dataclass(frozen=True)
class Target:
    """What ``--wrt`` names: dC_0/d(quantity^(layer)) at ``indices`` as written.

    ``quantity`` is "W", "b", "a" or "z" (z means delta, dC_0/dz).
    """

    quantity: str
    layer: int
    indices: tuple[str, ...]
    text: str


_QUANTITY = {"w": "W", "b": "b", "a": "a", "z": "z"}

_PRIMED = re.compile(r"\s*(?:'|′|’|\^\s*\{?\s*\\prime\s*\}?)$")
"""The derivative's mark at the end of a function's name: ', ′, ^{\\prime}."""

_RELATIONS = {
    "<": sp.StrictLessThan,
    ">": sp.StrictGreaterThan,
    "<=": sp.LessThan,
    ">=": sp.GreaterThan,
    "le": sp.LessThan,
    "leq": sp.LessThan,
    "≤": sp.LessThan,
    "ge": sp.GreaterThan,
    "geq": sp.GreaterThan,
    "≥": sp.GreaterThan,
}
"""The comparisons a branch's condition may make."""

_ALIGN = re.compile(r"&\s*$")
"""The & of LaTeX's &= (an align environment's column) at the end of a left-hand side."""

_END_OF_ROW = re.compile(r"\\\\\s*$")
"""The \\\\ that ends a row of an align environment, at the end of a right-hand side."""

_WIDTH = re.compile(r"n\s*_\s*(?:\{\s*(L\s*[-−]\s*\d+|L|\d+)\s*\}|(\d|L))")
"""n_{L-1}, n_{2}, n_L, n_2: a width; unbraced, its layer is one character (n_L-1 = n_L - 1)."""

_OWN_NAMES = {
    n: row
    for row in ACTIVATIONS.values()
    for n in (row.symbol, row.latex)
    if n not in GENERIC_FUNCTIONS
}
"""An activation's own spellings (tanh, \\operatorname{relu}), each meaning that row only."""


def parse_wrt(spec: NetworkSpec, text: str) -> Target:
    """Read ``--wrt``: ``w^(l)_jk``, ``b^(l)_j``, ``a^(l)_k`` or ``z^(l)_j`` (LaTeX too).

    Example:
        >>> parse_wrt(NetworkSpec(layers=3), "w^(L)_pq")
        Target(quantity='W', layer=3, indices=('p', 'q'), text='w^(L)_pq')
    """
    stripped = text.strip()
    if len(stripped) > 100 or not is_name(stripped):
        shown = stripped if len(stripped) <= 40 else stripped[:40] + "..."
        raise ClaimError(
            f"--wrt {shown!r} is not a weight, bias or activation: write e.g. "
            "--wrt 'w^(3)_jk', --wrt 'b^(3)_j' or --wrt 'a^(2)_k'"
        )
    return _target(spec, read_name(stripped, spec.layers), stripped, f"--wrt {text!r}")


def _target(spec: NetworkSpec, name: Name, text: str, where: str) -> Target:
    """The Target of a name that a gradient is taken by (--wrt, or a left-hand side)."""
    if name.letter not in _QUANTITY or name.layer is None:
        raise ClaimError(
            f"{where}: give a weight, bias or activation with its layer, e.g. 'w^(3)_jk'"
        )
    quantity, L = _QUANTITY[name.letter], spec.layers
    low = 0 if quantity == "a" else 1
    if not low <= name.layer <= L:
        raise ClaimError(f"{where}: {name.letter} exists for layers {low} to {L}")
    return Target(quantity, name.layer, _indices(spec, name, text), text)


def split_claim(text: str) -> tuple[list[str], str]:
    """A claim as pasted, split at its top-level ``=`` signs: the left-hand sides (none, one,
    or two as in derive's ``\\delta^{(2)}_{j} = \\frac{\\partial C_0}{\\partial z^{(2)}_{j}} =
    ...``) and the right-hand side. An ``=`` inside brackets (``\\sum_{j=0}``) is not a split."""
    parts, depth, start = [], 0, 0
    for at, c in enumerate(text):
        depth += c in "([{"
        depth -= c in ")]}"
        if c == "=" and depth == 0 and text[at - 1 : at] not in ("<", ">"):
            parts.append(_ALIGN.sub("", text[start:at]))
            start = at + 1
    return parts, _END_OF_ROW.sub("", text[start:])


def _left_targets(spec: NetworkSpec, text: str) -> list[Target]:
    """The quantity each left-hand side of ``text`` differentiates by (dC_0/dw^(3)_jk,
    \\frac{\\partial C_0}{\\partial b^{(2)}_j}, δ^(2)_j, Ng's dW^{[2]}_{jk}); they must agree."""
    lefts, _ = split_claim(text)
    targets = []
    for left in lefts:
        tree = parse_tree(left)
        token = tree.children[0] if tree.data in ("grad", "delta") else None
        if token is None:
            shown = left.strip()[:40]
            raise ClaimError(
                f"the left-hand side {shown!r} is not a derivative of the cost: write e.g. "
                "dC_0/dw^(3)_jk = ... or \\frac{\\partial C_0}{\\partial w^{(3)}_{jk}} = ..."
            )
        name = (read_derivative if tree.data == "grad" else read_name)(str(token), spec.layers)
        if name.letter == "delta":
            name = Name("z", name.layer, name.indices)
        shown = str(name)
        targets.append(_target(spec, name, shown, f"the left-hand side {left.strip()[:40]!r}"))
    for t in targets[1:]:
        if _key(t) != _key(targets[0]):
            raise ClaimError(
                f"the left-hand sides name two quantities, {targets[0].text} and {t.text}: "
                "write one derivative on the left of '='"
            )
    return targets


def _key(t: Target) -> tuple:
    return (t.quantity, t.layer, t.indices)


def read_one_line(text: str) -> str:
    """The claim as one line (``drawing.one_line``: derive's heading dropped, a drawing read),
    its size checked before and after."""
    if not isinstance(text, str):
        raise ClaimError("the claim must be text")
    check_size(text, drawn=is_drawing(text))
    line = one_line(text)
    check_size(line)
    return line


def claim_wrt(spec: NetworkSpec, wrt: str | None, text: str) -> str:
    """What the claim differentiates by: ``wrt`` (``--wrt``), or the claim's own left-hand side
    (``dC_0/dw^(3)_jk = ...``) when ``wrt`` is None. When both are given they must name the same
    quantity with the same index letters.

    Example:
        >>> claim_wrt(NetworkSpec(layers=3), None, "dC_0/db^(3)_j = sigma'(z^(3)_j)")
        'b^(3)_j'
    """
    targets = _left_targets(spec, read_one_line(text))
    if wrt is None:
        if not targets:
            raise ClaimError(
                "give the quantity with --wrt, e.g. --wrt 'w^(3)_jk', or begin the claim with "
                "it: dC_0/dw^(3)_jk = ..."
            )
        return targets[0].text
    if targets and _key(parse_wrt(spec, wrt)) != _key(targets[0]):
        raise ClaimError(
            f"--wrt {wrt.strip()[:40]!r} and the claim's left-hand side "
            f"dC_0/d{targets[0].text} differ: drop --wrt or make the two the same"
        )
    return wrt


def _indices(spec: NetworkSpec, name: Name, where: str) -> tuple[str, ...]:
    """The indices of ``name``, with 0 filled in where a layer of width 1 needs none."""
    want = 2 if name.letter == "w" else 1
    if len(name.indices) == want:
        return name.indices
    if name.indices:
        raise ClaimError(
            f"{where}: {name.letter} takes {want} ind{'ices' if want == 2 else 'ex'}, "
            f"got {len(name.indices)}: write e.g. {_example(name.letter)}"
        )
    # y has no layer of its own (it is the output layer's); every other name has one by now
    layer = spec.layers if name.layer is None else name.layer
    layers = (layer, layer - 1) if name.letter == "w" else (layer,)
    if all(spec.widths[m] == 1 for m in layers):
        return ("0",) * want
    raise ClaimError(
        f"{where}: {name.letter} needs {'indices' if want == 2 else 'an index'} "
        f"(write e.g. {_example(name.letter)}); only a layer of width 1 may leave it out"
    )


def _example(letter: str) -> str:
    return {"w": "w^(3)_jk", "b": "b^(3)_j", "a": "a^(2)_k", "z": "z^(3)_j", "y": "y_j"}[letter]


class _Builder:
    """Turns a parse tree into SymPy, bottom up, from the whitelist only."""

    def __init__(self, spec: NetworkSpec, symbols: NetworkSymbols):
        self.spec, self.s = spec, symbols

    def build(self, tree) -> sp.Expr:
        """SymPy for one node; chains of + - * / and unary minus are walked in a loop, so that
        only brackets (at most MAX_DEPTH) make the recursion deeper."""
        from lark import Token

        if isinstance(tree, Token):
            return self.token(tree)
        rule, args = tree.data, [c for c in tree.children if not _punctuation(c)]
        if rule in _CHAINS:
            operands = []
            while not isinstance(tree, Token) and tree.data in _CHAINS[rule]:
                kids = [c for c in tree.children if not _punctuation(c)]
                operands.append((tree.data, kids[-1]))
                tree = kids[0]
            result = self.build(tree)
            for op, node in reversed(operands):
                result = self.combine(op, result, self.build(node))
            return result
        if rule == "neg":
            sign = 1
            while not isinstance(tree, Token) and tree.data == "neg":
                sign, tree = -sign, tree.children[-1]
            return sign * self.build(tree)
        if rule == "pow":
            return self.power(self.build(args[0]), args[1])
        if rule == "number":
            return sp.Rational(str(args[0]))
        if rule == "var":
            return self.var(args[0])
        if rule == "grad":
            return self.grad(args[0])
        if rule == "delta":
            return self.derived("z", read_name(str(args[0]), self.spec.layers), str(args[0]))
        if rule == "call":
            return self.call(str(args[0]), self.build(args[1]))
        if rule == "exp":  # exp(u), \exp(u), e^{u}: the softmax's and the unrolled form's
            return sp.exp(self.build(args[-1]))
        if rule == "log":
            return sp.log(self.build(args[-1]))
        if rule == "plainsum":
            letter = _first(r"_\{?([a-z])", str(args[0]))
            return self.sum(letter, self.build(args[1]), str(args[0]))
        if rule == "bigsum":
            return self.bigsum(str(args[0]), self.build(args[1]))
        if rule == "piecewise":
            return self.piecewise(args[0])
        if rule in ("group", "start"):
            return self.build(args[0])
        raise ClaimError(f"cannot read the claim: unexpected {rule}")  # not reached: whitelist

    @staticmethod
    def combine(op: str, left: sp.Expr, right: sp.Expr) -> sp.Expr:
        if op == "add":
            return left + right
        if op == "sub":
            return left - right
        if op == "mul":
            return left * right
        if right == 0:
            raise ClaimError("the claim divides by zero")
        return left / right

    def token(self, tok) -> sp.Expr:
        if tok.type == "NUMBER":
            return sp.Rational(str(tok))
        if tok.type == "VAR":
            return self.var(tok)
        raise ClaimError(f"unexpected {str(tok)!r} at column {tok.column}")

    def power(self, base: sp.Expr, exponent) -> sp.Expr:
        # The exponent may be bracketed, ^(2); its size was checked with the tree's.
        e = exponent_of(exponent)
        if base == 0 and e < 0:
            raise ClaimError("the claim divides by zero")
        return base**e

    def var(self, tok) -> sp.Expr:
        text = str(tok)
        name = read_name(text, self.spec.layers)
        L = self.spec.layers
        if name.letter == "y":
            if name.layer is not None:
                raise ClaimError(f"{text}: the targets y have no layer: write y_j")
            (i,) = _indices(self.spec, name, text)
            return self.s.y[self.index(i), 0]
        if name.layer is None:
            raise ClaimError(
                f"{text} needs its layer: write e.g. {_example(name.letter)} "
                f"(layers are 1 to {L}, or L, L-1, ...)"
            )
        low = 0 if name.letter == "a" else 1
        if name.layer < low:
            raise ClaimError(f"{text}: {name.letter} exists for layers {low} to {L}")
        idx = [self.index(i) for i in _indices(self.spec, name, text)]
        if name.letter == "a":
            return self.s.a(name.layer)[idx[0], 0]
        layer = self.s.layers[name.layer]
        if name.letter == "w":
            return layer.W[idx[0], idx[1]]
        return (layer.b if name.letter == "b" else layer.z)[idx[0], 0]

    def grad(self, tok) -> sp.Expr:
        """dC_0/da^(l)_k (or ∂C/∂a, \\nabla_a C, Ng's dA) as the entry k of ``dC_da{l}``, and
        dC_0/dz^(l)_j (Ng's dZ) as the entry j of ``delta{l}``: the derived quantities."""
        text = str(tok)
        name = read_derivative(text, self.spec.layers)
        if name.letter in ("w", "b"):
            raise ClaimError(
                f"{text} is what a claim proves, not a factor of it: write it on the left of "
                "'=' (dC_0/dw^(3)_jk = ...) or give it with --wrt"
            )
        return self.derived(name.letter, name, text)

    def derived(self, letter: str, name: Name, text: str) -> sp.Expr:
        """The entry of the derived dC_0/da^(l) (``dC_da{l}``) or δ^(l) = dC_0/dz^(l)
        (``delta{l}``) that ``name`` writes; ``truth`` replaces it by its value."""
        if name.layer is None:
            raise ClaimError(f"{text} needs its layer: write e.g. dC_0/da^(2)_k or δ^(2)_j")
        if letter == "a":
            (i,) = _indices(self.spec, Name("a", name.layer, name.indices), text)
            n = self.s.a(name.layer).shape[0]
            return sp.MatrixSymbol(f"dC_da{name.layer}", n, 1)[self.index(i), 0]
        if not 1 <= name.layer <= self.spec.layers:
            raise ClaimError(f"{text}: δ = dC_0/dz exists for layers 1 to {self.spec.layers}")
        (i,) = _indices(self.spec, Name("z", name.layer, name.indices), text)
        n = self.s.layers[name.layer].z.shape[0]
        return sp.MatrixSymbol(f"delta{name.layer}", n, 1)[self.index(i), 0]

    @staticmethod
    def index(i: str) -> sp.Expr:
        return sp.Integer(int(i)) if i.isdigit() else index_symbol(i)

    def call(self, func: str, arg: sp.Expr) -> sp.Expr:
        base = _PRIMED.sub("", func)
        act = ACTIVATIONS[self.activation_for(arg, func)]
        named = _OWN_NAMES.get(base)
        if named is not None and named is not act:
            raise ClaimError(
                f"{func}: the activation of that layer is {act.name}, not {named.name}: write "
                f"sigma{func[len(base) :]}(...) or its own name"
            )
        return (act.prime if base != func else act.function)(arg)

    def activation_for(self, arg: sp.Expr, func: str) -> str:
        """sigma is the activation of the layer whose z it is applied to; a whole-column
        output activation (softmax) is not a sigma of one unit."""
        names = self.spec.activations
        layers = {
            parts[1]
            for e in arg.atoms(MatrixElement)
            if (parts := split_name(e.parent.name)) and parts[0] in ("z", "W", "b")
        }
        elementwise = {n for n in names if n in ACTIVATIONS}
        name = None
        if len(layers) == 1:
            name = names[layers.pop() - 1]
        elif len(set(names)) == 1 or (len(elementwise) == 1 and not layers):
            name = next(iter(elementwise), names[0])
        if name is not None and name not in ACTIVATIONS:
            raise ClaimError(
                f"{func}: the output layer's {name} is not applied unit by unit: write its "
                "output as a^(L)_j, or differentiate by z^(L)_j"
            )
        if name is not None:
            return name
        raise ClaimError(
            f"cannot tell which layer's activation {func} is: the layers have different "
            "activations, so write its argument as z^(l)_j"
        )

    def piecewise(self, rows) -> sp.Expr:
        """\\begin{cases} v & \\text{for} c \\\\ ... \\end{cases} as v [c] + ... (indicators,
        as ``truth`` writes the derived branches, so that no sum folds them)."""
        pairs = []
        for row in (c for c in rows.children if not _punctuation(c)):
            parts = [c for c in row.children if not _punctuation(c)]
            value = self.build(parts[0])
            if row.data == "otherwise":
                pairs.append((value, sp.true))
                continue
            left, relation, right = self.build(parts[1]), str(parts[2]), self.build(parts[3])
            pairs.append((value, _RELATIONS[relation.lstrip("\\")](left, right)))
        if pairs[-1][1] is not sp.true:
            pairs.append((sp.Integer(0), sp.true))
        return as_indicators(sp.Piecewise(*pairs))

    def bigsum(self, token: str, body: sp.Expr) -> sp.Expr:
        """\\sum_j, or with bounds: _{j=0}^{n_L-1} (n_L - 1: a width with a layer of more than
        one character is braced, n_{L-1}), the 1-based _{j=1}^{n_L} over the same units, or a
        number, _{j=0}^{2}. A sum from 1 counts the same units as one from 0, one fewer."""
        letter = _first(r"_\s*\{?\s*([a-z])", token)
        first = re.search(r"=\s*([01])", token)
        start = int(first.group(1)) if first else 0
        top = re.search(r"\^\s*\{?\s*(.*?)\s*\}?\s*$", token)
        if top is None:
            return self.sum(letter, body, token)
        bound = top.group(1)
        width = _WIDTH.match(bound)
        if width is None:
            last = sp.Integer(int(bound)) - start
        else:
            layer = read_layer(width.group(1) or width.group(2), self.spec.layers, token)
            minus = int(bool(re.fullmatch(r"\s*[-−]\s*1\s*", bound[width.end() :])))
            last = self.spec.widths[layer] - minus - start
        var = index_symbol(letter)
        dummy = sp.Dummy(letter, integer=True, nonnegative=True)
        return sp.Sum(body.xreplace({var: dummy}), (dummy, 0, last))

    def sum(self, letter: str, body: sp.Expr, where: str) -> sp.Expr:
        """The sum over ``letter`` = 0 ... n_layer - 1; the layer is the one it indexes."""
        var = index_symbol(letter)
        layer = self.layer_of(var, body, where)
        bound = sp.Dummy(letter, integer=True, nonnegative=True)
        return sp.Sum(body.xreplace({var: bound}), (bound, 0, self.spec.widths[layer] - 1))

    def layer_of(self, var: sp.Symbol, body: sp.Expr, where: str) -> int:
        """The layer whose units ``var`` counts: the one it indexes most often (ties: the
        higher), so that a mistaken w_kj inside a sum over the units of a^(L) still reads."""
        votes: Counter[int] = Counter()
        for e in body.atoms(MatrixElement):
            name = getattr(e.parent, "name", "")
            parts = split_name(name)
            l = self.spec.layers if name == "y" else (parts[1] if parts else None)
            if l is None:
                continue
            if e.i == var:
                votes[l] += 1
            if parts and parts[0] == "W" and e.j == var:
                votes[l - 1] += 1
        if not votes:
            raise ClaimError(
                f"{where}: the summation index {var} indexes nothing inside the sum: "
                f"write e.g. sum_j(w^(3)_jk * a^(3)_j)"
            )
        best = max(votes.values())
        return max(l for l, c in votes.items() if c == best)


def generic_symbols(spec: NetworkSpec) -> NetworkSymbols:
    """The symbols of one sample with symbolic widths: those of ``Derivation.index_symbols``."""
    generic = NetworkSpec(
        spec.layers, activations=spec.activations, loss=spec.loss, leaky_slope=spec.leaky_slope
    )
    return network_symbols(generic, batch=1)


def concrete_widths(spec: NetworkSpec) -> dict[sp.Symbol, sp.Expr]:
    """n_l -> the spec's width, as ``derive_network`` puts concrete widths into index forms."""
    generic = NetworkSpec(
        spec.layers, activations=spec.activations, loss=spec.loss, leaky_slope=spec.leaky_slope
    )
    return dict(zip(generic.widths, spec.widths, strict=True))


def parse_claim(spec: NetworkSpec, text: str) -> sp.Expr:
    """Parse a claim into a SymPy expression over the symbols of ``derive_network``'s index form.

    Index letters stay plain integer symbols (j and k are ``notation.j`` and ``notation.k``); a
    sum's own index becomes a Dummy, ranging over the units of the layer it indexes. Raises
    ClaimError, with the position and what was expected, for anything outside the language.

    Example:
        >>> parse_claim(NetworkSpec(layers=2), r"\\sigma'(z^{(2)}_j) 2(a^{(2)}_j - y_j)")
        2*(a2[j, 0] - y[j, 0])*sigma_prime(z2[j, 0])
    """
    text = read_one_line(text)
    lefts, right = split_claim(text)
    if lefts:
        _left_targets(spec, text)
    tree = parse_tree(right)
    builder = _Builder(spec, generic_symbols(spec))
    try:
        expr = builder.build(tree)
    except RecursionError:
        raise ClaimError(
            f"the claim nests too deeply: at most {MAX_DEPTH} levels are accepted"
        ) from None
    try:
        return expr.xreplace(concrete_widths(spec))
    except IndexError:
        raise ClaimError(
            f"the claim names a unit that the network (widths {spec.describe()}) does not "
            "have: indices count from 0 to the layer's width - 1"
        ) from None


def _first(pattern: str, token: str) -> str:
    """The first group of ``pattern`` in a token the grammar has already matched."""
    m = re.search(pattern, token)
    if m is None:
        raise ClaimError(f"cannot read {token!r}: write the sum as sum_j(...) or \\sum_{{j}}")
    return m.group(1)
