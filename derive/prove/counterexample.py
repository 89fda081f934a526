"""The counterexample search: claim and truth evaluated at random concrete networks.

A probe is one random network (small widths, random rational inputs, weights, biases and
targets, a and z computed by the forward pass) with values for the free indices. With symbolic
widths no two layers of a probe share a width, so that a sum over the units of the wrong layer,
or an index of one layer used in another, changes the value or names a unit the network lacks.
``search`` tries probes until claim and truth differ there by more than ``TOLERANCE``; with
concrete widths, a claim that names a unit the network lacks (a sum whose bound is another
layer's width) is refuted there too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cache, lru_cache

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from ..activations import ACTIVATIONS, Activation, activation_row
from ..limits import LIMITS
from ..losses import LOSSES, SIMPLEX
from ..notation import layer_name
from ..spec import NetworkSpec
from .claims import Target, concrete_widths
from .truth import ProofTask

EVALUATION_DIGITS = 40
"""Working precision of the evaluation at a probe, far below which a real difference lies."""

TOLERANCE = sp.Float("1e-20")
"""Claim and truth differ at a point when |claim - truth| > TOLERANCE * max(1, |claim|, |truth|):
40-digit arithmetic errs by about 1e-38, so anything above 1e-20 is a real difference."""


DISTINCT_LAYERS = 6
"""Up to this many layers (L + 1 widths), the widths of a random network are distinct; deeper
networks draw each width from as many values, so that a probe stays small."""


class OutOfRange(Exception):
    """The expression names a unit that this network does not have (``key``: its name and
    indices), or (``unbound``) an index that has no value at this point."""

    def __init__(self, key: tuple, unbound: bool = False):
        super().__init__(key)
        self.key, self.unbound = key, unbound


@dataclass
class Probe:
    """One random network and the index values: evaluates an expression exactly there."""

    spec: NetworkSpec
    widths: tuple[int, ...]
    subs: dict
    values: dict
    calls: dict = field(default_factory=dict)
    """sigma(x) and sigma'(x) evaluated here, by (function, x): a sum meets each many times."""
    sums: dict = field(default_factory=dict)
    """Each sum's value here, by the sum and the values of its free symbols, with the entries it
    looked up (None until they are asked for)."""

    def evaluate(self, expr: sp.Expr, used: set | None = None) -> sp.Expr:
        """``expr``'s value at this point, to ``EVALUATION_DIGITS`` digits: its tree walked with
        numbers (a sum is a loop over its range; SymPy's ``doit`` on symbols is far slower).
        Each entry looked up is added to ``used``; OutOfRange for an entry the network lacks."""
        return sp.N(self._value(expr, dict(self.subs), used), EVALUATION_DIGITS)

    def _value(self, e: sp.Basic, env: dict, used: set | None) -> sp.Basic:
        if e.is_Number:
            return e
        if isinstance(e, sp.Symbol):
            if e not in env:
                raise OutOfRange((str(e),), unbound=True)
            return env[e]
        if isinstance(e, MatrixElement | sp.Indexed):
            name, indices = (
                (e.parent.name, (e.i, e.j))
                if isinstance(e, MatrixElement)
                else (str(e.base), e.indices)
            )
            at = [self._value(i, env, used) for i in indices]
            if not all(i.is_Integer for i in at):
                raise OutOfRange((name, *at), unbound=True)
            key = (name, *(int(i) for i in at))
            if key not in self.values:
                raise OutOfRange(key)
            if used is not None:
                used.add(key)
            return self.values[key]
        if isinstance(e, sp.Sum):
            # a sum inside another depends on few of its indices: each value is summed once
            key = (e, *(env.get(x) for x in _free(e)))
            value, entries = self.sums.get(key, (None, None))
            if value is None or (used is not None and entries is None):
                entries = None if used is None else set()
                value = self._sum(e, env, entries)
                self.sums[key] = (value, entries)
            if used is not None and entries is not None:
                used |= entries
            return value
        if type(e) in _CALLS:
            x = sp.Float(self._value(e.args[0], env, used), EVALUATION_DIGITS)
            key = (type(e), x)
            if key not in self.calls:
                row, prime = _CALLS[type(e)]
                definition = _definition(row.name, prime, self.spec.leaky_slope)
                self.calls[key] = definition.xreplace({_X: x}).evalf(EVALUATION_DIGITS)
            return self.calls[key]
        return e.func(*(self._value(a, env, used) for a in e.args))

    def _sum(self, e: sp.Sum, env: dict, used: set | None) -> sp.Basic:
        (var, lo, hi), *more = e.limits
        body = sp.Sum(e.function, *more) if more else e.function
        total: sp.Basic = sp.Integer(0)
        inner = dict(env)
        for n in range(int(self._value(lo, env, used)), int(self._value(hi, env, used)) + 1):
            inner[var] = sp.Integer(n)
            total += self._value(body, inner, used)
        return total

    def describe(self, *exprs: sp.Expr) -> dict[str, str]:
        """The widths, index values and the values of every entry the expressions use."""
        out = {"widths": ",".join(map(str, self.widths))}
        for sym, value in self.subs.items():
            if sym.is_Symbol and sym.is_integer and not str(sym).startswith("n_"):
                out[sym.name] = str(value)
        used: set = set()
        for expr in exprs:
            try:
                self.evaluate(expr, used)
            except OutOfRange:
                continue
        for key in sorted(used):
            out[_entry_name(key)] = show(self.values[key])
        return out


_CALLS = {
    kind: (row, kind is row.prime)
    for row in ACTIVATIONS.values()
    for kind in (row.function, row.prime)
}
"""sigma and sigma' of every elementwise activation, to its row and whether it is sigma'."""

_X = sp.Symbol("x", real=True)


@lru_cache(maxsize=4096)
def _free(e: sp.Sum) -> tuple[sp.Symbol, ...]:
    """The free symbols of a sum, in a fixed order (found once: SymPy rebuilds the sum)."""
    return tuple(sorted(e.free_symbols, key=str))


@cache
def _definition(name: str, prime: bool, slope: sp.Expr) -> sp.Expr:
    """sigma(x) (or, with ``prime``, sigma'(x)) of an activation, written out in ``_X``
    (derived once)."""
    row = ACTIVATIONS[name]
    return (row.derivative if prime else row.expression)(_X, slope)


def too_large(spec: NetworkSpec) -> str | None:
    """Why the search is not tried (the concrete network has more parameters than the
    ``probe_parameters`` limit: each probe computes them all), or None."""
    if spec.symbolic:
        return None
    row = LIMITS["probe_parameters"]
    count = int(spec.parameter_count)
    if count <= row.value():
        return None
    return "no counterexample was searched for: " + row.refusal(f"the network's {count} parameters")


@dataclass
class Refutation:
    """Where claim and truth differ: the probe, both values and their relative difference; or,
    with concrete widths, a probe where the claim names ``missing``, a unit the network lacks
    (``claim`` is then None and ``difference`` infinite)."""

    probe: Probe
    claim: sp.Expr | None
    truth: sp.Expr
    difference: sp.Float
    missing: str | None = None


def search(task: ProofTask, points: int, seed: int, evaluated: list[Probe]) -> Refutation | None:
    """The first random point where claim and truth differ; every probe where both have a value
    is appended to ``evaluated``. A probe where the claim names a unit the network lacks is
    skipped; with concrete widths (one network, whose units the claim must fit) the first such
    probe refutes the claim when no probe tells the values apart."""
    rng = random.Random(seed)
    lacking: Refutation | None = None
    for _ in range(points):
        probe = random_probe(task, rng)
        try:
            t = probe.evaluate(task.truth)
        except OutOfRange:
            continue
        if not is_real_value(t):  # a point where the derivative itself has no value tells nothing
            continue
        try:
            c = probe.evaluate(task.claimed)
        except OutOfRange as e:
            if lacking is None and not task.spec.symbolic and not e.unbound:
                lacking = Refutation(probe, None, t, sp.Float("inf"), _entry_name(e.key))
            continue
        evaluated.append(probe)
        diff = difference(c, t)
        if diff > TOLERANCE:
            return Refutation(probe, c, t, diff)
    return lacking


def more_probes(task: ProofTask, count: int, seed: int) -> list[Probe]:
    """``count`` random points more, drawn apart from those of ``search`` with the same seed."""
    rng = random.Random(f"more {seed}")
    return [random_probe(task, rng) for _ in range(count)]


def random_widths(spec: NetworkSpec, least: int, rng: random.Random) -> tuple[int, ...]:
    """The widths of a random network: the spec's own when concrete; otherwise small widths of
    at least ``least``, no two alike (up to ``DISTINCT_LAYERS`` layers), in a random order."""
    if not spec.symbolic:
        return tuple(int(w) for w in spec.widths)
    count = spec.layers + 1
    values = list(range(least, least + min(count, DISTINCT_LAYERS)))
    if count <= DISTINCT_LAYERS:
        rng.shuffle(values)
        return tuple(values)
    return tuple(rng.choice(values) for _ in range(count))


def random_probe(task: ProofTask, rng: random.Random) -> Probe:
    """A random network (``random_widths``), random index values, random rational inputs,
    parameters and targets."""
    spec = task.spec
    digits = [int(c) for c in task.target.indices if c.isdigit()]
    widths = random_widths(spec, max([2, *(d + 1 for d in digits)]), rng)
    subs: dict[sp.Expr, sp.Expr] = dict(zip(concrete_widths(spec), widths, strict=True))
    # The truth's free j, k range over the units of the layers --wrt names.
    ranges = _index_layers(task.target)
    for letter, sym, layer in zip(task.target.indices, task.free, ranges, strict=True):
        if letter.isdigit():
            subs[sym] = sp.Integer(int(letter))
        else:
            subs[sym] = sp.Integer(rng.randrange(widths[layer]))
    for sym in sorted(task.extra, key=str):
        subs[sym] = sp.Integer(rng.randrange(min(widths)))
    return Probe(spec, widths, subs, _forward(spec, widths, rng))


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
    targets = [_rand(rng) for _ in range(widths[-1])]
    if LOSSES[spec.loss].targets == SIMPLEX:
        # targets that sum to 1, as the loss assumes (softmax cross-entropy's a - y needs it)
        targets = [abs(t) / sum(abs(u) for u in targets) for t in targets]
    for i, t in enumerate(targets):
        values[("y", i, 0)] = t
    for l in range(1, spec.layers + 1):
        zs = []
        for r in range(widths[l]):
            b = values[(f"b{l}", r, 0)] = _rand(rng)
            total = b
            for c in range(widths[l - 1]):
                w = values[(f"W{l}", r, c)] = _rand(rng)
                total += w * values[(f"a{l - 1}", c, 0)]
            z = values[(f"z{l}", r, 0)] = sp.Float(total, EVALUATION_DIGITS) if l > 1 else total
            zs.append(z)
        row = activation_row(spec.activations[l - 1])
        if isinstance(row, Activation):
            outs = [row.expression(z, spec.leaky_slope) for z in zs]
        else:  # a whole-column activation (softmax)
            outs = row.column(zs)
        for r, a in enumerate(outs):
            values[(f"a{l}", r, 0)] = a.evalf(EVALUATION_DIGITS)
    return values


def _entry_name(key: tuple) -> str:
    name, row, col = key
    if name == "y":
        return f"y_{row}"
    letter, l = layer_name(name)
    return f"w^({l})_{row}{col}" if letter == "W" else f"{letter}^({l})_{row}"


def show(value: sp.Expr) -> str:
    """A value as reported: a rational exactly, a finite real number to 15 digits, anything
    else said to be undefined or not real."""
    if isinstance(value, sp.Rational):
        return str(value)
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return "undefined"
    if not is_real_value(value):
        return f"{sp.N(value, 15)} (not a real number)"
    return str(sp.Float(value, 15))


def is_real_value(value: sp.Expr) -> bool:
    """A finite real number (a value of the evaluation: no symbols left)."""
    return not value.has(sp.nan, sp.zoo, sp.oo, -sp.oo) and sp.im(value) == 0


def difference(c: sp.Expr, t: sp.Expr) -> sp.Float:
    """|c - t| relative to max(1, |c|, |t|); infinite when either is not a finite real number
    (a claim's log of a negative number is complex there, its log(0) infinite)."""
    if not (c.is_number and t.is_number) or not (is_real_value(c) and is_real_value(t)):
        return sp.Float("inf")
    scale = max(sp.Float(1), abs(c), abs(t))
    return sp.Float(abs(c - t) / scale, EVALUATION_DIGITS)
