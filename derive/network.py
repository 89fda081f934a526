"""Backpropagation through a whole network: the layer-local rules chained from layer L down to 1."""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import OneMatrix

from . import rules
from .activations import ACTIVATIONS, Softmax
from .derivation import Derivation, Key, step_keys
from .losses import LOSSES
from .notation import j, k, n, network_symbols
from .spec import NetworkSpec


def activation_of(spec: NetworkSpec, l: int):
    """The activation row of layer l (None for an output activation owned by the loss)."""
    return ACTIVATIONS.get(spec.activations[l - 1])


def derive_network(spec: NetworkSpec) -> Derivation:
    """Derive delta^(l), dC/dW^(l), dC/db^(l) and dC/da^(l-1) for every layer of ``spec``.

    The layer-local rules (``rules``) are derived once on symbolic sizes and chained over depth,
    so the time grows linearly with depth and not with width. ``verify.verify`` checks the
    result against SymPy's derivative of the unrolled network.

    Example:
        >>> d = derive_network(NetworkSpec(layers=1, widths=(1, 1)))
        >>> d.matrix[("W", 1)]
        delta1*a0.T
    """
    s = network_symbols(spec)
    # The index form is derived with symbolic widths, so that sums over j stay sums, and the
    # concrete widths are put into the bounds afterwards.
    generic = NetworkSpec(
        spec.layers, activations=spec.activations, loss=spec.loss, leaky_slope=spec.leaky_slope
    )
    s1 = network_symbols(generic, batch=1)
    concrete = dict(zip(generic.widths, spec.widths, strict=True))
    forward: dict[sp.MatrixSymbol, sp.MatrixExpr] = {}
    for l, ls in s.layers.items():
        forward[ls.z] = ls.W * s.a(l - 1) + ls.b * OneMatrix(1, n)
        act = activation_of(spec, l)
        forward[ls.a] = ls.z.applyfunc(act.function) if act else Softmax(ls.z)

    deltas: dict[sp.MatrixSymbol, sp.MatrixExpr] = {}
    matrix: dict[Key, sp.MatrixExpr] = {}
    index: dict[Key, sp.Expr] = {}
    L = spec.layers
    loss_rule = rules.loss_rule(LOSSES[spec.loss])
    scale = spec.batch_scale(n)  # 1/n for the mean cost, 1 for the sum
    for l in range(L, 0, -1):
        ls, ls1, act = s.layers[l], s1.layers[l], activation_of(spec, l)
        if l == L:
            upstream = rules.lift(loss_rule * scale, {rules.out_k: ls.a, rules.y_k: s.y})
            upstream1 = rules.lift(loss_rule, {rules.out_k: ls1.a, rules.y_k: s1.y})
        else:
            upstream = matrix[("a", l)]
            upstream1 = ls1.dC_da
        if act is None:  # the loss owns the output activation: its rule is already dC/dz.
            deltas[ls.delta], delta1 = upstream, upstream1
        else:
            deltas[ls.delta] = rules.activation(act, upstream, ls.z)
            delta1 = rules.activation(act, upstream1, ls1.z)
        delta_key, *affine_keys = step_keys(l)
        matrix[delta_key] = deltas[ls.delta]
        index[delta_key] = delta1[j, 0]
        for key in affine_keys:  # dC/dW^(l), dC/db^(l) and dC/da^(l-1), from delta^(l)
            q = key[0]
            matrix[key] = rules.affine(q, ls.delta, s.a(l - 1), ls.W, ls.b)
            if q == "W" and spec.l2:  # the penalty's term: C has W^(l) outside the chain too
                matrix[key] = sp.MatAdd(matrix[key], rules.penalty(scale * spec.l2, ls.W))
            entry = rules.affine(q, delta1, s1.a(l - 1), ls1.W, ls1.b)
            index[key] = entry[j, k] if q == "W" else entry[k if q == "a" else j, 0]
    index = {key: sp.factor_terms(_named_sum(e)).xreplace(concrete) for key, e in index.items()}
    output = s.layers[L].z if LOSSES[spec.loss].output_activation else s.layers[L].a
    weights = tuple(ls.W for ls in s.layers.values())
    cost = rules.cost(LOSSES[spec.loss], output, s.y, scale, spec.l2, weights)
    return Derivation(spec, s, forward, deltas, matrix, index, s1, cost)


def _named_sum(expr: sp.Expr) -> sp.Expr:
    """Name the summation index j, as the seed writes sum_j w_jk ... (SymPy picks a dummy)."""
    for s in expr.atoms(sp.Sum):
        (var, *_), *rest = s.limits
        if not rest and var != j:
            expr = expr.xreplace({s: s.xreplace({var: j})})
    return expr
