"""Self-verification: every matrix-form rule against SymPy's derivative of the unrolled network.

Two checks on a concrete instance with a batch of two samples (so the 1/n or the sum over samples
and the L2 penalty of ``spec.cost`` and ``spec.l2`` are checked too):

* symbolic: with each activation kept as an abstract f (derivative f'), the difference between
  rule and oracle must simplify to 0. This proves the chain for every differentiable activation.
* points: with the definitions written out, both sides are evaluated at random rational points;
  they must agree exactly where the values are rational (relu, leaky_relu, identity) and to
  ``VERIFY_DIGITS`` significant digits where they are transcendental (exp, tanh, log).

For a network too large to unroll, the instance keeps the activations and loss but has widths
of at most 2 and at most 4 layers; the rules do not depend on width, and the chaining code is
the same at every depth. The summary says which instance was checked.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp

from .activations import activation_row
from .derivation import Derivation, Key, step_keys
from .explicit import explicit
from .losses import LOSSES, SIMPLEX
from .network import activation_of, derive_network
from .notation import NetworkSymbols, network_symbols
from .spec import NetworkSpec
from .unrolled import AbstractExp, Flat, forward, symengine_available

VERIFY_DIGITS = 50
"""Significant digits the transcendental comparison demands (evaluated at 20 more)."""

VERIFY_LIMIT = 40
"""Most parameters of an instance checked as it is; larger networks are reduced."""

BATCH = 2
POINTS = 2


@dataclass
class Verification:
    """The outcome of ``verify``: what was checked and what failed."""

    instance: str
    reduced: bool
    entries: int = 0
    symbolic: int = 0
    at_points: int = 0
    points: int = 0
    exact: bool = True
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        """One line: what was checked, on which instance, and the result."""
        what = "a reduced instance" if self.reduced else "the network"
        agree = "exactly" if self.exact else f"to {VERIFY_DIGITS} digits"
        head = (
            f"verified against SymPy's derivative of the unrolled network ({what}: "
            f"{self.instance}, batch {BATCH}): {self.entries} entries; "
        )
        if self.ok:
            out = head + f"the difference simplifies to 0 for {self.symbolic}"
            if self.at_points:
                out += (
                    f", and {self.at_points} agree {agree} at {self.points} random rational "
                    "points where simplification could not decide"
                )
            return out
        return head + f"{len(self.failures)} MISMATCHES: " + "; ".join(self.failures[:5])


def instance_of(spec: NetworkSpec) -> tuple[NetworkSpec, bool]:
    """The concrete network the rules are checked on, and whether it is reduced."""
    if not spec.symbolic and spec.parameter_count <= VERIFY_LIMIT and spec.layers <= 4:
        return spec, False
    acts = spec.activations
    if spec.layers > 4:
        acts = (acts[0], acts[1], acts[-2], acts[-1])
    L = len(acts)
    owned = LOSSES[spec.loss].output_activation is not None
    widths = [2 if isinstance(w, sp.Symbol) else min(w, 2) for w in spec.widths]
    widths = [*widths[:L], widths[-1]] if len(widths) > L + 1 else widths
    widths[-1] = 2 if owned else widths[-1]
    reduced = NetworkSpec(L, tuple(widths), acts, spec.loss, spec.leaky_slope, spec.cost, spec.l2)
    return reduced, True


def verify(
    derivation: Derivation, seed: int = 0, progress: Callable[[str], None] | None = None
) -> Verification:
    """Check every matrix-form rule of ``derivation`` against the unrolled network.

    ``progress``, if given, is called with a short message before each rule is checked (the
    command line shows it at a terminal; nothing here prints).

    Example:
        >>> v = verify(derive_network(NetworkSpec(layers=1, widths=(1, 1))))
        >>> v.ok
        True
    """
    spec, reduced = instance_of(derivation.spec)
    inst = derivation if not reduced and not derivation.spec.symbolic else None
    inst = inst or derive_network(spec)
    s = network_symbols(spec, batch=BATCH)
    rng = random.Random(seed)
    check = _Check(
        spec=spec,
        s=s,
        flat=Flat("symengine" if symengine_available() else "sympy"),
        rules=_explicit_rules(inst, spec, s),
        targets=_target_constraint(spec, s),
        points=[_point(s, rng) for _ in range(POINTS)],
        result=Verification(spec.describe(), reduced),
    )
    check.result.points = POINTS
    rational = all(activation_row(a).rational for a in spec.activations)
    check.result.exact = rational and LOSSES[spec.loss].rational
    keys = [key for l in range(spec.layers, 0, -1) for key in step_keys(l)]
    for i, key in enumerate(keys, start=1):
        if progress is not None:
            variable, layer = key
            wrt = "delta" if variable == "z" else f"dC/d{variable}"
            progress(f"self-check: {wrt}^({layer}), rule {i} of {len(keys)}")
        check.tail(key)
    return check.result


@dataclass
class _Check:
    """The state of one verification; ``tail`` checks every entry of one rule."""

    spec: NetworkSpec
    s: NetworkSymbols
    flat: Flat
    rules: dict
    targets: dict
    points: list
    result: Verification
    oracles: dict = field(default_factory=dict)

    def oracle(self, start: int, kind: str):
        """The written-out cost entered at a^(start) or z^(start), in the backend, and the map back
        to the seed's names; the W and b of every layer share the one entered at a^(0)."""
        key = (start, kind)
        if key not in self.oracles:
            spec, s, flat = self.spec, self.s, self.flat
            cost, values = forward(spec, s, start, kind, generic=True)
            self.oracles[key] = flat(cost.xreplace(self.targets)), flat.abbreviations(spec, values)
        return self.oracles[key]

    def tail(self, key: Key) -> None:
        spec, s, flat = self.spec, self.s, self.flat
        start, kind, var = _entry_point(s, key)
        cost, names = self.oracle(start, kind)
        concrete = None
        for i in range(var.shape[0]):
            for c in range(var.shape[1]):
                self.result.entries += 1
                got = self.rules[key][i, c].xreplace(self.targets)
                if flat.is_zero(flat(got) - names(cost.diff(flat(var[i, c])))):
                    self.result.symbolic += 1
                    continue
                # Simplification could not decide: compare values with the definitions written
                # out, at random rational points.
                if concrete is None:
                    oracle, written = forward(spec, s, start, kind, generic=False)
                    concrete = flat(oracle.xreplace(self.targets))
                want = flat.back(concrete.diff(flat(var[i, c])))
                if all(self._agree_at(got, want, p, written) for p in self.points):
                    self.result.at_points += 1
                else:
                    self.result.failures.append(f"dC/d{var.name}[{i},{c}]: rule and oracle differ")

    def _agree_at(self, got, want, point, written_out) -> bool:
        """Rule and concrete oracle agree at ``point``; the rule's downstream z and a entries
        take the values of the written-out forward pass (``written_out``) there."""
        exact = self.result.exact
        values = point if exact else {k: sp.Float(v, VERIFY_DIGITS + 20) for k, v in point.items()}
        downstream = {k: v.xreplace(values) for k, v in written_out.items()}
        want = want.xreplace(values)
        got = got.xreplace(values | downstream).replace(AbstractExp, sp.exp)
        for l in range(1, self.spec.layers + 1):
            act = activation_of(self.spec, l)
            if act is not None:
                got = act.specialise(got, self.spec.leaky_slope)
        if exact:
            return sp.simplify(got - want) == 0
        a, b = sp.N(got, VERIFY_DIGITS + 20), sp.N(want, VERIFY_DIGITS + 20)
        scale = max(abs(a), abs(b), sp.Integer(1))
        return abs(a - b) <= scale * sp.Float(10) ** (-VERIFY_DIGITS)


def _target_constraint(spec: NetworkSpec, s) -> dict:
    """The loss's assumption on the targets as a substitution: for softmax cross-entropy the last
    target of each sample is 1 minus the others, so that each sample's targets sum to 1."""
    if LOSSES[spec.loss].targets != SIMPLEX:
        return {}
    y, (rows, cols) = s.y, s.y.shape
    return {y[rows - 1, c]: 1 - sp.Add(*(y[r, c] for r in range(rows - 1))) for c in range(cols)}


def _explicit_rules(inst: Derivation, spec: NetworkSpec, s) -> dict:
    """Every matrix rule as an explicit matrix over the entries of z, a, W, b and y, with each
    delta^(l) replaced by its explicit value (softmax a^(L) written out in z^(L))."""
    batch = {inst.symbols.batch: BATCH}
    env: dict = {}
    L = spec.layers
    if LOSSES[spec.loss].output_activation is not None:
        a_L = s.layers[L].a
        env[a_L] = explicit(inst.forward[inst.symbols.layers[L].a].xreplace(batch), env)
    for l in range(L, 0, -1):
        delta = inst.symbols.layers[l].delta
        env[delta.xreplace(batch)] = explicit(inst.deltas[delta].xreplace(batch), env)
    rules = {key: explicit(rule.xreplace(batch), env) for key, rule in inst.matrix.items()}
    # The oracle keeps exp abstract (unrolled.AbstractExp); softmax is the only source of exp here.
    return {key: rule.replace(sp.exp, AbstractExp) for key, rule in rules.items()}


def _entry_point(s, key: Key):
    """Where the unrolled oracle enters the network for the result ``key``, and the variable:
    at z^(l) for delta^(l), at a^(l) for dC/da^(l), at the inputs for the parameters."""
    q, l = key
    if q == "z":
        return l, "z", s.layers[l].z
    if q == "a":
        return l, "a", s.a(l)
    return 0, "a", s.layers[l].W if q == "W" else s.layers[l].b


def _point(s, rng: random.Random) -> dict[sp.Basic, sp.Rational]:
    """Random rationals in [-1, 1] for every input, target, parameter and z entry (z entries
    are the free inputs of the tails that start at z^(l))."""
    mats = [s.a0, s.y, *s.parameters, *(ls.a for ls in s.layers.values())]
    mats += [ls.z for ls in s.layers.values()]
    return {
        m[r, c]: sp.Rational(rng.randint(-40, 40), rng.randint(17, 41))
        for m in mats
        for r in range(m.shape[0])
        for c in range(m.shape[1])
    }
