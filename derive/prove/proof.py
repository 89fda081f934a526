"""The symbolic proof: claim - truth simplified to 0, with more definitions at each stage.

First with a, z, w, b, y as independent symbols, then with a^(l) = sigma(z^(l)) substituted,
then with sigma written out by its definition (which proves it for that activation only).
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from ..activations import ACTIVATIONS
from ..notation import layer_name, split_name
from ..spec import NetworkSpec
from .truth import ProofTask


def proof_stages(task: ProofTask):
    """Try to prove claim - truth = 0, substituting more definitions at each step; yields ""
    (proved as written), a note naming the substitution that proved it, or None (not yet)."""
    spec = task.spec
    diff = task.claimed - task.truth
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
        (_, l) = layer_name(e.parent.name)
        act = ACTIVATIONS[spec.activations[l - 1]]
        z = sp.MatrixSymbol(f"z{l}", *e.parent.shape)
        return act.function(z[e.i, e.j])

    def is_activation(e) -> bool:
        if not isinstance(e, MatrixElement):
            return False
        parts = split_name(getattr(e.parent, "name", ""))
        return parts is not None and parts[0] == "a" and parts[1] >= 1

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
