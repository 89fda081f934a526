"""The counterexample search: claim and truth evaluated at random concrete networks.

A probe is one random network (small widths, random rational inputs, weights, biases and
targets, a and z computed by the forward pass) with values for the free indices. ``search``
tries probes until claim and truth differ there by more than ``TOLERANCE``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

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


class OutOfRange(Exception):
    """The expression names a unit that this network does not have."""


@dataclass
class Probe:
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
                raise OutOfRange(key)
            lookup[x] = self.values[key]
        e = e.xreplace(lookup)
        for name in set(self.spec.activations) & set(ACTIVATIONS):
            e = ACTIVATIONS[name].specialise(e, self.spec.leaky_slope)
        return sp.N(e, EVALUATION_DIGITS)

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
                    out[_entry_name(key)] = show(self.values[key])
        return out


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


def search(task: ProofTask, points: int, seed: int, evaluated: list[Probe]):
    """The first random point where claim and truth differ, as (probe, claim, truth, diff);
    every probe evaluated is appended to ``evaluated``."""
    rng = random.Random(seed)
    for _ in range(points):
        probe = random_probe(task, rng)
        try:
            c, t = probe.evaluate(task.claimed), probe.evaluate(task.truth)
        except OutOfRange:
            continue
        evaluated.append(probe)
        diff = difference(c, t)
        if diff > TOLERANCE:
            return probe, c, t, diff
    return None


def random_probe(task: ProofTask, rng: random.Random) -> Probe:
    """A random network: equal small widths (so that every index fits every layer),
    random index values, random rational inputs, parameters and targets."""
    spec = task.spec
    digits = [int(c) for c in task.target.indices if c.isdigit()]
    if spec.symbolic:
        width = max(rng.choice((2, 3)), *(d + 1 for d in digits), 1)
        widths = (width,) * (spec.layers + 1)
    else:
        widths = tuple(int(w) for w in spec.widths)
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
    """A value as reported: a rational exactly, anything else to 15 digits."""
    if isinstance(value, sp.Rational):
        return str(value)
    return str(sp.Float(value, 15))


def difference(c: sp.Expr, t: sp.Expr) -> sp.Float:
    """|c - t| relative to max(1, |c|, |t|); infinite when either is not a finite number."""
    if not (c.is_number and t.is_number) or c.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return sp.Float("inf")
    scale = max(sp.Float(1), abs(c), abs(t))
    return sp.Float(abs(c - t) / scale, EVALUATION_DIGITS)
