"""Prove or refute a hand-derived gradient against the derivation.

The truth is ``derive_network``'s index form of the quantity ``--wrt`` names, with every
dC_0/da^(l) of the recursion replaced by the result of the layer above. The claim is parsed by
``claims`` (never evaluated as code). Then:

1. PROVED if claim - truth simplifies to 0: first with a, z, w, b, y as independent symbols,
   then with a^(l) = sigma(z^(l)) substituted, then with sigma written out by its definition
   (which proves it for that activation only, and says so).
2. REFUTED if, at one of ``points`` random networks (small widths, random rational inputs,
   weights, biases and targets, a and z computed by the forward pass), the two differ; the
   point, both values and the likely mistake (``HINTS``) are reported.
3. UNDECIDED otherwise, with the largest difference seen.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cache

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from .activations import ACTIVATIONS
from .claims import (
    ClaimError,
    Target,
    concrete_widths,
    format_claim,
    generic_symbols,
    index_symbol,
    parse_claim,
    parse_wrt,
)
from .losses import LOSSES
from .network import Derivation, derive_network
from .notation import j, k, split_name
from .spec import NetworkSpec

STATUSES = ("PROVED", "REFUTED", "UNDECIDED")
EXIT_CODES = {"PROVED": 0, "REFUTED": 1, "UNDECIDED": 3}
"""Exit codes of ``bpverify prove``; 2 is bad input."""

DIGITS = 40
"""Working precision of the point evaluation, far below which a real difference lies."""

TOLERANCE = sp.Float("1e-20")
"""Claim and truth differ at a point when |claim - truth| > TOLERANCE * max(1, |claim|, |truth|):
40-digit arithmetic errs by about 1e-38, so anything above 1e-20 is a real difference."""


@dataclass
class Verdict:
    """The outcome of ``prove``.

    ``status`` is PROVED, REFUTED or UNDECIDED; ``message`` says why in one sentence; ``truth``
    is the derived gradient in the claim language. A refutation carries ``counterexample`` (the
    widths, index values and the values of the symbols the two sides use), ``claim_value`` and
    ``truth_value``, and ``hint`` when the claim matches a known mistake. ``largest_difference``
    is the largest relative difference seen at the random points.
    """

    status: str
    wrt: str
    claim: str
    message: str
    truth: str
    hint: str | None = None
    counterexample: dict[str, str] | None = None
    claim_value: str | None = None
    truth_value: str | None = None
    largest_difference: float | None = None
    points: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def to_dict(self) -> dict:
        """A JSON-ready record of every field."""
        return {
            "status": self.status,
            "wrt": self.wrt,
            "claim": self.claim,
            "message": self.message,
            "truth": self.truth,
            "hint": self.hint,
            "counterexample": self.counterexample,
            "claim_value": self.claim_value,
            "truth_value": self.truth_value,
            "largest_difference": self.largest_difference,
            "points": self.points,
            "notes": self.notes,
        }


def prove(spec: NetworkSpec, wrt: str, claim: str, *, points: int = 20, seed: int = 0) -> Verdict:
    """Prove ``claim`` equal to dC_0/d(``wrt``) of ``spec``'s network, or refute it.

    Arguments:
        spec: the network (elementwise activations; softmax outputs are not supported).
        wrt: ``w^(l)_jk``, ``b^(l)_j``, ``a^(l)_k`` or ``z^(l)_j``; its index letters are the
            claim's free indices (``w^(3)_pq`` means the claim writes p and q).
        claim: the formula, in the plain language or LaTeX (see ``claims``).
        points: how many random networks to try for a counterexample.
        seed: the seed of those random networks.

    Raises ClaimError (a ValueError) for a claim, --wrt or network that cannot be checked.

    Example:
        >>> v = prove(NetworkSpec(layers=2), "b^(2)_j", "sigma'(z^(2)_j) * 2*(a^(2)_j - y_j)")
        >>> v.status
        'PROVED'
    """
    if any(name not in ACTIVATIONS for name in spec.activations):
        raise ClaimError(
            "prove handles elementwise activations only: softmax-cross-entropy networks are "
            "not supported; use --loss squared or cross-entropy"
        )
    if points < 1:
        raise ClaimError(f"points must be at least 1, got {points}")
    target = parse_wrt(spec, wrt)
    claimed = parse_claim(spec, claim)
    derivation = _derivation(spec)
    truth, free = truth_of(derivation, target)
    digits = {
        s: sp.Integer(int(c)) for c, s in zip(target.indices, free, strict=True) if c.isdigit()
    }
    truth = truth.xreplace(digits)
    claimed, extra = _rename_indices(claimed, target, free)
    problem = Problem(spec, target, claimed, truth, free, extra)
    # The truth is shown in the claim's own index letters (w^(3)_pq: p and q).
    letters = {s: index_symbol(c) for c, s in zip(target.indices, free, strict=True)}
    shown = format_claim(truth.xreplace({s: c for s, c in letters.items() if s != c}))
    what = f"dC_0/d{target.text}"

    # The cheap proof (a, z, w, b, y as independent symbols) first; then the point search, so
    # that a wrong claim is refuted without the slower proofs through sigma's definition.
    stages = proof_stages(problem)
    stage = next(stages)
    if stage is None:
        evaluated: list[Point] = []
        refuted = _search(problem, points, seed, evaluated)
        if refuted is not None:
            point, c, t, diff = refuted
            message = f"the claim differs from {what} = {shown}"
            if extra:
                names = ", ".join(sorted(s.name for s in extra))
                message += f"; its index {names} is not one of --wrt's, so it stays free"
            return Verdict(
                "REFUTED",
                target.text,
                claim,
                message,
                shown,
                hint=find_hint(problem, evaluated[-5:]),
                counterexample=point.describe(claimed, truth),
                claim_value=_show(c),
                truth_value=_show(t),
                largest_difference=float(diff),
                points=len(evaluated),
            )
        stage = next((st for st in stages if st is not None), None)
    if stage is not None:
        message = f"the claim equals {what} = {shown}"
        if stage:
            message += f" ({stage})"
        return Verdict("PROVED", target.text, claim, message, shown)
    diffs = [_difference(p.evaluate(claimed), p.evaluate(truth)) for p in evaluated]
    largest = max(diffs, default=sp.Float(0))
    message = (
        f"simplify could not reduce claim - {what} to 0, and at {len(evaluated)} random "
        f"points the largest relative difference was {float(largest):.3g}"
    )
    skipped = points - len(evaluated)
    notes = (
        [f"{skipped} points skipped: the claim names units the network lacks"] if skipped else []
    )
    return Verdict(
        "UNDECIDED",
        target.text,
        claim,
        message,
        shown,
        largest_difference=float(largest),
        points=len(evaluated),
        notes=notes,
    )


def _search(problem: Problem, points: int, seed: int, evaluated: list):
    """The first random point where claim and truth differ, as (point, claim, truth, diff);
    every point evaluated is appended to ``evaluated``."""
    rng = random.Random(seed)
    for _ in range(points):
        point = problem.random_point(rng)
        try:
            c, t = point.evaluate(problem.claimed), point.evaluate(problem.truth)
        except _OutOfRange:
            continue
        evaluated.append(point)
        diff = _difference(c, t)
        if diff > TOLERANCE:
            return point, c, t, diff
    return None


@cache
def _derivation(spec: NetworkSpec) -> Derivation:
    return derive_network(spec, verify=False)


# ---- the truth -------------------------------------------------------------------------------


def truth_of(d: Derivation, target: Target) -> tuple[sp.Expr, tuple[sp.Expr, ...]]:
    """The derived dC_0/d(target) with the recursion resolved, and its free indices in the
    order --wrt writes them (w: j, k; b and z: j; a^(l): k, or j for the output layer)."""
    L, q, l = d.spec.layers, target.quantity, target.layer
    if q == "a" and l == L:
        s1, out_k, y_k = generic_symbols(d.spec), *_loss_symbols()
        rule = _loss_rule(d.spec)
        expr = rule.xreplace({out_k: s1.layers[L].a[j, 0], y_k: s1.y[j, 0]})
        return expr.xreplace(concrete_widths(d.spec)), (j,)
    if q == "a":
        return _resolve(d, d.index[(l + 1, "a")]), (k,)
    key = "delta" if q == "z" else q
    return _resolve(d, d.index[(l, key)]), ((j, k) if q == "W" else (j,))


def _loss_symbols():
    from .rules import out_k, y_k

    return out_k, y_k


def _loss_rule(spec: NetworkSpec) -> sp.Expr:
    from .rules import loss_rule

    return loss_rule(LOSSES[spec.loss])


def _fresh_sums(expr: sp.Expr) -> sp.Expr:
    """Every summation index renamed to a new Dummy, so that substituting the free k (or
    putting the expression inside another sum over j) cannot capture it."""

    def fresh(s: sp.Sum) -> sp.Sum:
        var, lo, hi = s.limits[0]
        new = sp.Dummy(var.name.lstrip("_") or "i", integer=True, nonnegative=True)
        return sp.Sum(s.function.xreplace({var: new}), (new, lo, hi))

    return expr.replace(lambda e: isinstance(e, sp.Sum), fresh)


def _resolve(d: Derivation, expr: sp.Expr) -> sp.Expr:
    """Replace each dC_0/da^(m)_i of the recursion by layer m+1's dC_0/da^(m)_k at k = i."""
    expr = _fresh_sums(expr)

    def upstream(e: MatrixElement) -> sp.Expr:
        (_, m) = split_name(e.parent.name)
        return _resolve(d, _fresh_sums(d.index[(m + 1, "a")]).xreplace({k: e.i}))

    return expr.replace(
        lambda e: isinstance(e, MatrixElement) and e.parent.name.startswith("dC_da"), upstream
    )


def _rename_indices(claimed: sp.Expr, target: Target, free: tuple[sp.Expr, ...]):
    """The claim with --wrt's index letters renamed to the truth's (p, q -> j, k) and digits
    kept; letters --wrt does not name are renamed apart so they cannot meet j or k."""
    mapping: dict[sp.Symbol, sp.Expr] = {}
    for letter, sym in zip(target.indices, free, strict=True):
        if not letter.isdigit():
            mapping[index_symbol(letter)] = sym
    # Index letters are one character; the widths n_l in sum bounds are not indices.
    ours = [s for s in claimed.free_symbols if type(s) is sp.Symbol and len(s.name) == 1]
    extra = {s: sp.Dummy(s.name, integer=True, nonnegative=True) for s in ours if s not in mapping}
    return claimed.xreplace({**mapping, **extra}), set(extra.values())


@dataclass
class Problem:
    """A claim and the truth, in the same symbols, and what a random point needs to know."""

    spec: NetworkSpec
    target: Target
    claimed: sp.Expr
    truth: sp.Expr
    free: tuple[sp.Expr, ...]
    extra: set[sp.Dummy]

    def random_point(self, rng: random.Random) -> Point:
        """A random network: equal small widths (so that every index fits every layer),
        random index values, random rational inputs, parameters and targets."""
        spec = self.spec
        digits = [int(c) for c in self.target.indices if c.isdigit()]
        if spec.symbolic:
            width = max(rng.choice((2, 3)), *(d + 1 for d in digits), 1)
            widths = (width,) * (spec.layers + 1)
        else:
            widths = tuple(int(w) for w in spec.widths)
        subs: dict[sp.Expr, sp.Expr] = dict(zip(concrete_widths(spec), widths, strict=True))
        # The truth's free j, k range over the units of the layers --wrt names.
        ranges = _index_layers(self.target)
        for letter, sym, layer in zip(self.target.indices, self.free, ranges, strict=True):
            if letter.isdigit():
                subs[sym] = sp.Integer(int(letter))
            else:
                subs[sym] = sp.Integer(rng.randrange(widths[layer]))
        for sym in sorted(self.extra, key=str):
            subs[sym] = sp.Integer(rng.randrange(min(widths)))
        return Point(spec, widths, subs, _forward(spec, widths, rng))


def _index_layers(target: Target) -> tuple[int, ...]:
    l = target.layer
    if target.quantity == "W":
        return (l, l - 1)
    return (l,)


def _rand(rng: random.Random) -> sp.Rational:
    """A small random rational, never 0 (a zero input could hide a difference)."""
    num = rng.choice([n for n in range(-5, 6) if n])
    return sp.Rational(num, rng.choice((2, 4, 5)))


def _forward(spec: NetworkSpec, widths: tuple[int, ...], rng: random.Random) -> dict:
    """Values of every a, z, w, b and y of one sample, keyed (name, row, column)."""
    values: dict[tuple[str, int, int], sp.Expr] = {}
    for i in range(widths[0]):
        values[("a0", i, 0)] = _rand(rng)
    for i in range(widths[-1]):
        values[("y", i, 0)] = _rand(rng)
    for l in range(1, spec.layers + 1):
        act = ACTIVATIONS[spec.activations[l - 1]]
        for r in range(widths[l]):
            b = values[(f"b{l}", r, 0)] = _rand(rng)
            total = b
            for c in range(widths[l - 1]):
                w = values[(f"W{l}", r, c)] = _rand(rng)
                total += w * values[(f"a{l - 1}", c, 0)]
            z = values[(f"z{l}", r, 0)] = sp.Float(total, DIGITS) if l > 1 else total
            values[(f"a{l}", r, 0)] = act.expression(z, spec.leaky_slope).evalf(DIGITS)
    return values


class _OutOfRange(Exception):
    """The expression names a unit that this network does not have."""


@dataclass
class Point:
    """One random network and the index values: evaluates an expression exactly there."""

    spec: NetworkSpec
    widths: tuple[int, ...]
    subs: dict
    values: dict

    def concrete(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` at this point's widths and indices, sums written out, entries as
        ``Indexed`` (which, unlike a matrix entry, may be out of range until looked up)."""
        elements = {e: sp.IndexedBase(e.parent.name)[e.i, e.j] for e in expr.atoms(MatrixElement)}
        return expr.xreplace(elements).xreplace(self.subs).doit()

    def evaluate(self, expr: sp.Expr) -> sp.Expr:
        e = self.concrete(expr)
        lookup = {}
        for x in e.atoms(sp.Indexed):
            key = (str(x.base), *(int(i) for i in x.indices))
            if key not in self.values:
                raise _OutOfRange(key)
            lookup[x] = self.values[key]
        e = e.xreplace(lookup)
        for name in set(self.spec.activations):
            e = ACTIVATIONS[name].specialise(e, self.spec.leaky_slope)
        return sp.N(e, DIGITS)

    def describe(self, *exprs: sp.Expr) -> dict[str, str]:
        """The widths, index values and the values of every entry the expressions use."""
        out = {"widths": ",".join(map(str, self.widths))}
        for sym, value in self.subs.items():
            if sym.is_Symbol and sym.is_integer and not str(sym).startswith("n_"):
                out[sym.name] = str(value)
        seen = set()
        for expr in exprs:
            for x in sorted(self.concrete(expr).atoms(sp.Indexed), key=str):
                key = (str(x.base), *(int(i) for i in x.indices))
                if key in self.values and key not in seen:
                    seen.add(key)
                    out[_entry_name(key)] = _show(self.values[key])
        return out


def _entry_name(key: tuple) -> str:
    name, row, col = key
    if name == "y":
        return f"y_{row}"
    letter, l = split_name(name)
    return f"w^({l})_{row}{col}" if letter == "W" else f"{letter}^({l})_{row}"


def _show(value: sp.Expr) -> str:
    if isinstance(value, sp.Rational):
        return str(value)
    return str(sp.Float(value, 15))


def _difference(c: sp.Expr, t: sp.Expr) -> sp.Float:
    if not (c.is_number and t.is_number) or c.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return sp.Float("inf")
    scale = max(sp.Float(1), abs(c), abs(t))
    return sp.Float(abs(c - t) / scale, DIGITS)


# ---- the proof -------------------------------------------------------------------------------


def proof_stages(problem: Problem):
    """Try to prove claim - truth = 0, substituting more definitions at each step; yields ""
    (proved as written), a note naming the substitution that proved it, or None (not yet)."""
    spec = problem.spec
    diff = problem.claimed - problem.truth
    yield "" if vanishes(diff) else None
    diff = _activations_of_z(spec, diff)
    yield "with a^(l) = sigma(z^(l)) substituted" if vanishes(diff) else None
    for name in set(spec.activations):
        diff = ACTIVATIONS[name].specialise(diff, spec.leaky_slope)
    if vanishes(diff):
        names = ", ".join(sorted(set(spec.activations)))
        yield f"with sigma written out by its definition: this proof holds for {names} only"


def _activations_of_z(spec: NetworkSpec, expr: sp.Expr) -> sp.Expr:
    """a^(l)_i -> sigma_l(z^(l)_i) for every layer l >= 1."""

    def definition(e: MatrixElement) -> sp.Expr:
        (_, l) = split_name(e.parent.name)
        act = ACTIVATIONS[spec.activations[l - 1]]
        z = sp.MatrixSymbol(f"z{l}", *e.parent.shape)
        return act.function(z[e.i, e.j])

    def is_activation(e) -> bool:
        if not isinstance(e, MatrixElement):
            return False
        parts = split_name(getattr(e.parent, "name", ""))
        return bool(parts) and parts[0] == "a" and parts[1] >= 1

    return expr.replace(is_activation, definition)


def vanishes(expr: sp.Expr) -> bool:
    """True when ``expr`` simplifies to 0. Sums over the units of a layer are merged first
    (same range, one index name per nesting depth), since SymPy compares Sum(f, (i, ...)) and
    Sum(f, (j, ...)) by their index names; with concrete widths the sums are written out."""
    symbolic = any(not (s.limits[0][2].is_Integer) for s in expr.atoms(sp.Sum))
    if not symbolic:
        return _simplify(expr.doit()) == 0
    return _merge_sums(expr, 0) == 0


def _simplify(expr: sp.Expr) -> sp.Expr:
    e = sp.simplify(expr)
    return e if e == 0 else sp.simplify(sp.expand(e))


def _merge_sums(expr: sp.Expr, depth: int) -> sp.Expr:
    """The terms of ``expr`` that hold one sum, gathered into one sum per range (their factors
    moved inside), and the summands merged the same way, down the nesting."""
    groups: dict[tuple, list[sp.Expr]] = {}
    rest = []
    var = sp.Symbol(f"_s{depth}", integer=True, nonnegative=True)
    for term in sp.Add.make_args(sp.expand(expr)):
        factors = sp.Mul.make_args(term)
        sums = [f for f in factors if isinstance(f, sp.Sum) and len(f.limits) == 1]
        if len(sums) != 1:
            rest.append(term)
            continue
        (s,) = sums
        i, lo, hi = s.limits[0]
        coeff = sp.Mul(*(f for f in factors if f is not s))
        groups.setdefault((lo, hi), []).append(coeff * s.function.xreplace({i: var}))
    total = _simplify(sp.Add(*rest))
    for (lo, hi), terms in groups.items():
        body = _merge_sums(sp.Add(*terms), depth + 1)
        if body != 0:
            total += sp.Sum(body, (var, lo, hi))
    return total


# ---- hints -----------------------------------------------------------------------------------


def _drop_primes(expr: sp.Expr, layer: int | None = None) -> sp.Expr:
    """sigma'(z^(layer)) replaced by 1 (every sigma' when ``layer`` is None)."""
    primes = {act.prime for act in ACTIVATIONS.values()}

    def hit(e) -> bool:
        if type(e) not in primes:
            return False
        return layer is None or any(
            getattr(m.parent, "name", "") == f"z{layer}" for m in e.atoms(MatrixElement)
        )

    return expr.replace(hit, lambda e: sp.Integer(1))


def _swap_weights(expr: sp.Expr) -> sp.Expr:
    def swap(e: MatrixElement) -> sp.Expr:
        return e.parent[e.j, e.i]

    return expr.replace(
        lambda e: isinstance(e, MatrixElement) and e.parent.name.startswith("W"), swap
    )


def _drop_sums(expr: sp.Expr, letters: list[sp.Expr]) -> list[sp.Expr]:
    """The summand of the outermost sums, with their index made free under each name."""
    out = []
    for letter in letters:
        out.append(
            expr.replace(
                lambda e: isinstance(e, sp.Sum),
                lambda s, letter=letter: s.function.xreplace({s.limits[0][0]: letter}),
            )
        )
    return out


def _upper_activation(expr: sp.Expr, layer: int) -> sp.Expr:
    """a^(l-1) replaced by a^(l): the input of layer l taken from its output."""

    def lift(e: MatrixElement) -> sp.Expr:
        return sp.MatrixSymbol(f"a{layer}", *e.parent.shape)[e.i, e.j]

    return expr.replace(
        lambda e: isinstance(e, MatrixElement) and e.parent.name == f"a{layer - 1}", lift
    )


def mistakes(problem: Problem) -> list[tuple[str, sp.Expr]]:
    """The common mistakes, each as (hint, the truth with that mistake made)."""
    t, target = problem.truth, problem.target
    sigma = (
        "looks like sigma' is missing: a^(l) = sigma(z^(l)) puts the factor "
        "da/dz = sigma'(z^(l)) into every gradient below it"
    )
    found = [(sigma, _drop_primes(t))]
    found += [(sigma, _drop_primes(t, l)) for l in range(1, problem.spec.layers + 1)]
    found += [
        (
            "looks like w_kj is written for w_jk: w^(l)_jk joins unit k of layer l-1 to "
            "unit j of layer l",
            _swap_weights(t),
        ),
    ]
    letters = sorted(problem.extra, key=str) or [j]
    for summand in _drop_sums(t, letters):
        found.append(
            (
                "looks like the sum over j is missing: a^(l-1)_k feeds every unit j of layer "
                "l, so dC_0/da^(l-1)_k adds up the paths through all of them",
                summand,
            )
        )
    if problem.spec.loss == "squared":
        found.append(
            (
                "looks like the factor 2 is missing: dC_0/da^(L)_j = 2(a^(L)_j - y_j) for "
                "C_0 = sum_j (a^(L)_j - y_j)^2",
                t / 2,
            )
        )
    if target.quantity == "W":
        l = target.layer
        found.append(
            (
                f"looks like a^({l}) is written where a^({l - 1}) belongs: "
                f"dz^({l})_j/dw^({l})_jk = a^({l - 1})_k, the input of the layer",
                _upper_activation(t, l),
            )
        )
    return [(hint, m) for hint, m in found if m != t]


def find_hint(problem: Problem, points: list[Point]) -> str | None:
    """The first mistake that the claim equals at every one of ``points``."""
    values = []
    for p in points:
        try:
            values.append((p, p.evaluate(problem.claimed)))
        except _OutOfRange:
            continue
    for hint, mistaken in mistakes(problem):
        try:
            if values and all(_difference(c, p.evaluate(mistaken)) <= TOLERANCE for p, c in values):
                return hint
        except _OutOfRange:
            continue
    return None
