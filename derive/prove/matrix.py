"""Matrix claims: dC/dW^(l), dC/db^(l), dC/da^(l) and delta^(l) = dC/dz^(l) of the batch cost C,
one sample per column, as ``derive --form matrix`` prints them, proved at symbolic sizes.

The claim is read by ``matrix_claims``, put in the normal form of ``matrix_normal``, and its
mistake named from the tables of ``matrix_hints``.

The decision (``decide``):

1. Shapes, at the symbolic widths n_0 ... n_L and batch n: a product whose factors do not fit,
   or a claim shaped otherwise than the truth, is REFUTED, the mistake named where a row of
   ``SHAPE_MISTAKES`` fits (a missing transpose, the wrong layer's W).
2. PROVED when claim - truth vanishes in the normal form (``normal``: products distributed
   over sums, transposes pushed onto the symbols, Hadamard factors sorted, powers merged); then
   with a^(l) = sigma(z^(l)); then entry by entry with the activations' definitions (which
   proves it for that activation only, and says so).
3. REFUTED at the first random concrete network (distinct widths) where the two differ, the
   mistake named when a row of ``MISTAKES`` fits.
4. UNDECIDED otherwise.

The result is the fields of a ``verdict.Verdict`` (which ``verdict`` builds: it routes matrix
claims here, so this module does not import it).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import sympy as sp

from ..activations import ACTIVATIONS
from ..derivation import Derivation, Key
from ..explicit import explicit
from ..losses import LOSSES, SIMPLEX
from ..notation import n
from ..spec import NetworkSpec, width_symbol
from .matrix_claims import (
    ShapeMismatch,
    _deltas,
    _derivation,
    flatten,
    format_matrix,
    generic,
    left_wrt,
    matrix_wrt,
    read_claim,
    read_wrt,
    shape_text,
    truth_of,
)
from .matrix_hints import MISTAKES, _factor, _shape_hint
from .matrix_normal import NF, TooLarge, _add, _scalar, normal

__all__ = ["decide", "flatten", "left_wrt", "matrix_wrt"]

# ---------------------------------------------------------------------------------------------
# The decision


def _outputs(d: Derivation, expr):
    """``expr`` with a^(l) = f(z^(l)) for l >= 1."""
    return expr.xreplace({ls.a: d.forward[ls.a] for ls in d.symbols.layers.values()})


def _definitions(spec: NetworkSpec, e: sp.Expr) -> sp.Expr:
    for name in set(spec.activations) & set(ACTIVATIONS):
        e = ACTIVATIONS[name].specialise(e, spec.leaky_slope)
    return e


ENTRYWISE_TERMS = 40
"""The entrywise stage (``simplify`` with the activations' definitions) is tried on at most this
many terms of claim - truth: the equations people write have a handful, and simplify's time
grows fast with more."""


def proof_stage(spec: NetworkSpec, claimed, truth) -> str | None:
    """The words of the stage ("" for the first) at which claim - truth reduces to 0; None
    when none does, or when its normal form has more terms than the ``terms`` limit."""
    try:
        return _proof_stage(spec, claimed, truth)
    except TooLarge:
        return None


def _proof_stage(spec: NetworkSpec, claimed, truth) -> str | None:
    d = _derivation(generic(spec))
    c, t = _deltas(d, claimed), _deltas(d, truth)
    if _vanishes(_add(normal(c), normal(t), -1)):
        return ""
    c, t = _outputs(d, c), _outputs(d, t)
    diff = _add(normal(c), normal(t), -1)
    if _vanishes(diff):
        return "with a^(l) = sigma(z^(l))"
    if len(diff) > ENTRYWISE_TERMS:
        return None
    if sp.simplify(_definitions(spec, _scalar(diff))) == 0:
        names = ", ".join(sorted(set(spec.activations) & set(ACTIVATIONS)))
        return f"entry by entry, by the definition of {names}"
    return None


def _vanishes(nf: NF) -> bool:
    # the coefficients are rational functions of n (and lambda): cancel decides them
    return all(sp.cancel(c) == 0 for c in nf.values())


def constant_factor(spec: NetworkSpec, claimed, truth) -> sp.Expr | None:
    """c when the claim is c times the truth in the normal form (c a number or power of n)."""
    d = _derivation(generic(spec))
    try:
        c, t = normal(_deltas(d, claimed)), normal(_deltas(d, truth))
    except TooLarge:
        return None
    if not t or set(c) != set(t):
        return None
    ratios = {sp.simplify(c[m] / t[m]) for m in t}
    if len(ratios) != 1:
        return None
    (ratio,) = ratios
    return ratio if ratio != 1 and not ratio.free_symbols - {n} else None


def _variant_hint(spec: NetworkSpec, key: Key, truth, claim_value, sizes, env) -> str | None:
    """The hint of the first mistake whose variant equals the claim at this network."""
    d = _derivation(generic(spec))
    if key[0] == "z":  # delta^(l) by its name, which a variant may redefine
        truth = d.symbols.layers[key[1]].delta
    for row in MISTAKES:
        for expr, words in row.make(d, truth):
            try:
                (value,) = _values(spec, [expr], sizes, env)
            except (ValueError, TypeError, ZeroDivisionError):
                continue
            if _worst(claim_value, value)[0] <= TOLERANCE:
                return row.hint.format(**words)
    return None


# ---------------------------------------------------------------------------------------------
# Random concrete networks

PROBES = 6
"""At most this many random networks are tried: a wrong matrix claim differs almost everywhere."""

TOLERANCE = 1e-12
"""A relative difference above this (30-digit arithmetic) is a real one."""


def _probe_sizes(spec: NetworkSpec, rng: random.Random) -> dict[sp.Symbol, int]:
    """The widths and batch of a random network: the spec's own widths when concrete, distinct
    small widths otherwise; the batch differs from every width."""
    count = spec.layers + 1
    if spec.symbolic:
        widths = list(range(2, 2 + count))
        rng.shuffle(widths)
    else:
        widths = [int(w) for w in spec.widths]
    batch = max(widths) + 1 if spec.symbolic else rng.choice([2, 3])
    sizes = {width_symbol(l): w for l, w in enumerate(widths)}
    sizes[n] = batch
    return sizes


def _values(spec: NetworkSpec, exprs: list, sizes: dict, env: dict) -> list:
    """The expressions at the sizes and the values ``env`` (a and z by the forward pass)."""
    d = _derivation(generic(spec))
    full = [_definitions(spec, d.expand(e)).xreplace(sizes) for e in exprs]
    return [explicit(e, env).evalf(30) for e in full]


def _environment(spec: NetworkSpec, sizes: dict, rng: random.Random) -> dict:
    """Random inputs, parameters and targets at the sizes."""
    s = _derivation(generic(spec)).symbols
    env = {}
    for sym in [s.a0, s.y, *s.parameters]:
        concrete = sym.xreplace(sizes)
        low = 0.05 if sym == s.y else -1.0  # targets in (0, 1), as every loss accepts
        rows, cols = concrete.shape
        values = [[rng.uniform(low, 1) for _ in range(cols)] for _ in range(rows)]
        if sym == s.y and LOSSES[spec.loss].targets == SIMPLEX:  # columns that sum to 1
            totals = [sum(values[i][j] for i in range(rows)) for j in range(cols)]
            values = [[v / totals[j] for j, v in enumerate(row)] for row in values]
        env[concrete] = sp.ImmutableMatrix([[sp.Float(v, 30) for v in row] for row in values])
    return env


def _worst(c: sp.Matrix, t: sp.Matrix) -> tuple[float, tuple[int, int]]:
    best, where = 0.0, (0, 0)
    for i in range(t.rows):
        for j in range(t.cols):
            a, b = complex(c[i, j]), complex(t[i, j])
            diff = abs(a - b) / max(1.0, abs(a), abs(b))
            if diff > best:
                best, where = diff, (i, j)
    return best, where


# ---------------------------------------------------------------------------------------------
# The verdict


def decide(
    spec: NetworkSpec,
    wrt: str,
    claim: str,
    points: int,
    seed: int,
    say: Callable[[str], None],
) -> dict:
    """The fields of the ``Verdict`` on a matrix claim (see the module's docstring)."""
    key, shown_wrt = read_wrt(spec, wrt)
    truth = truth_of(spec, key)
    shown = format_matrix(truth)
    what = f"dC/d{shown_wrt}" if key[0] != "z" else f"{shown_wrt} = dC/dz^({key[1]})"
    base = {"wrt": f"{key[0]}^({key[1]})", "claim": claim, "truth": shown, "of": "C"}
    try:
        claimed = read_claim(spec, key, claim)
    except ShapeMismatch as e:
        hint = _shape_hint(spec, key, e)
        return {
            **base,
            "status": "REFUTED",
            "message": f"the claim's shapes do not fit at symbolic sizes: {e}",
            "hint": hint,
        }
    if claimed.shape != truth.shape:
        hint = None
        if claimed.shape == truth.shape[::-1]:
            hint = f"transpose it: {what} is {shape_text(truth)}"
        elif key[0] == "W" and claimed.shape[0] == truth.shape[0]:
            below = format_matrix(_derivation(generic(spec)).symbols.a(key[1] - 1))
            hint = (
                f"the activation of the wrong layer: dC/dW^({key[1]}) takes {below}T, the input "
                f"of layer {key[1]}"
            )
        return {
            **base,
            "status": "REFUTED",
            "message": f"the claim is {shape_text(claimed)} but {what} is {shape_text(truth)}",
            "hint": hint,
        }
    say("simplifying claim - truth")
    stage = proof_stage(spec, claimed, truth)
    if stage is not None:
        message = f"the claim equals {what} = {shown} at every size"
        return {**base, "status": "PROVED", "message": message + (f" ({stage})" if stage else "")}
    say("looking for a counterexample at random networks")
    rng = random.Random(seed)
    largest, tried = 0.0, 0
    for _ in range(min(points, PROBES)):
        sizes = _probe_sizes(spec, rng)
        env = _environment(spec, sizes, rng)
        c, t = _values(spec, [claimed, truth], sizes, env)
        tried += 1
        diff, (i, j) = _worst(c, t)
        largest = max(largest, diff)
        if diff > TOLERANCE:
            ratio = constant_factor(spec, claimed, truth)
            hint = (
                _factor(spec, key, ratio)["words"]
                if ratio is not None
                else _variant_hint(spec, key, truth, c, sizes, env)
            )
            widths = ",".join(str(sizes[width_symbol(l)]) for l in range(spec.layers + 1))
            return {
                **base,
                "status": "REFUTED",
                "message": f"the claim differs from {what} = {shown}",
                "hint": hint,
                "counterexample": {"widths": widths, "n": str(sizes[n]), "entry": f"[{i}, {j}]"},
                "claim_value": _show(c[i, j]),
                "truth_value": _show(t[i, j]),
                "largest_difference": diff,
                "points": tried,
            }
    return {
        **base,
        "status": "UNDECIDED",
        "message": f"simplify could not reduce claim - {what} to 0, and at {tried} random "
        f"networks the largest relative difference was {largest:.3g}",
        "largest_difference": largest,
        "points": tried,
    }


def _show(v: sp.Expr) -> str:
    return str(sp.Float(v, 6))
