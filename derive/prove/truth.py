"""What a claim is compared with: the derived gradient, in the claim's symbols.

The truth is ``derive_network``'s index form of the quantity ``--wrt`` names, with every
dC_0/da^(l) of the recursion replaced by the result of the layer above. A ``ProofTask`` holds the
claim and the truth in the same symbols, ready for the proof and the counterexample search.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from ..losses import LOSSES
from ..network import Derivation
from ..notation import j, k, layer_name
from ..rules import loss_rule, out_k, y_k
from ..spec import NetworkSpec
from .branches import as_indicators
from .claims import Target, concrete_widths, generic_symbols, index_symbol
from .grammar import ClaimError


def truth_of(d: Derivation, target: Target) -> tuple[sp.Expr, tuple[sp.Expr, ...]]:
    """The derived dC_0/d(target) with the recursion resolved, and its free indices in the
    order --wrt writes them (w: j, k; b and z: j; a^(l): k, or j for the output layer)."""
    L, q, l = d.spec.layers, target.quantity, target.layer
    if q == "a" and l == L:
        if LOSSES[d.spec.loss].output_activation is not None:
            raise ClaimError(
                f"{target.text}: loss {d.spec.loss} is a function of z^(L), not of each "
                "a^(L)_j: differentiate by z^(L)_j instead"
            )
        s1 = generic_symbols(d.spec)
        rule = loss_rule(LOSSES[d.spec.loss])
        expr = rule.xreplace({out_k: s1.layers[L].a[j, 0], y_k: s1.y[j, 0]})
        return as_indicators(expr.xreplace(concrete_widths(d.spec))), (j,)
    if q == "a":
        return _resolve(d, d.index[("a", l)]), (k,)
    return _resolve(d, d.index[(q, l)]), ((j, k) if q == "W" else (j,))


def _fresh_sums(expr: sp.Expr) -> sp.Expr:
    """Every summation index renamed to a new Dummy, so that substituting the free k (or
    putting the expression inside another sum over j) cannot capture it."""

    def fresh(s: sp.Sum) -> sp.Sum:
        var, lo, hi = s.limits[0]
        new = sp.Dummy(var.name.lstrip("_") or "i", integer=True, nonnegative=True)
        return sp.Sum(s.function.xreplace({var: new}), (new, lo, hi))

    return expr.replace(lambda e: isinstance(e, sp.Sum), fresh)


def _resolve(d: Derivation, expr: sp.Expr) -> sp.Expr:
    """Replace each dC_0/da^(m)_i of the recursion by the derived dC_0/da^(m)_k at k = i
    (a loss's Piecewise as indicators first, so that the sums it goes into do not fold it)."""
    expr = _fresh_sums(as_indicators(expr))

    def upstream(e: MatrixElement) -> sp.Expr:
        (_, m) = layer_name(e.parent.name)
        return _resolve(d, _fresh_sums(d.index[("a", m)]).xreplace({k: e.i}))

    return expr.replace(
        lambda e: isinstance(e, MatrixElement) and e.parent.name.startswith("dC_da"), upstream
    )


@dataclass
class ProofTask:
    """A claim and the truth, in the same symbols, and what a random point needs to know."""

    spec: NetworkSpec
    target: Target
    claimed: sp.Expr
    truth: sp.Expr
    free: tuple[sp.Expr, ...]
    extra: set[sp.Dummy]


def proof_task(d: Derivation, target: Target, claimed: sp.Expr) -> ProofTask:
    """The claim beside the derived truth: index digits of --wrt put into the truth, its index
    letters renamed to the truth's, and any other letter of the claim renamed apart."""
    truth, free = truth_of(d, target)
    digits = {
        s: sp.Integer(int(c)) for c, s in zip(target.indices, free, strict=True) if c.isdigit()
    }
    truth = truth.xreplace(digits)
    claimed, extra = _rename_indices(_upstream_of_claim(d, claimed), target, free)
    return ProofTask(d.spec, target, claimed, truth, free, extra)


def _upstream_of_claim(d: Derivation, claimed: sp.Expr) -> sp.Expr:
    """Each dC_0/da^(m)_i the claim writes (an entry of ``dC_da{m}``) replaced by the derived
    dC_0/da^(m) at unit i, and each δ^(m)_i (an entry of ``delta{m}``) by the derived
    dC_0/dz^(m) at unit i."""

    def derived(e: MatrixElement) -> sp.Expr:
        (name, m) = layer_name(e.parent.name)
        quantity = "z" if name == "delta" else "a"
        target = Target(quantity, m, ("k",), f"dC_0/d{quantity}^({m})_k")
        value, (free,) = truth_of(d, target)
        return _fresh_sums(value).xreplace({free: e.i})

    return claimed.replace(
        lambda e: isinstance(e, MatrixElement) and e.parent.name.startswith(("dC_da", "delta")),
        derived,
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
