"""Backpropagation through a whole network: the layer-local rules chained from layer L down to 1."""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.matrices.expressions import OneMatrix

from . import rules
from .activations import ACTIVATIONS, Softmax
from .losses import LOSSES
from .notation import NetworkSymbols, j, k, n, network_symbols
from .spec import NetworkSpec

QUANTITIES = ("delta", "W", "b", "a")
"""Per layer: delta^(l) = dC/dz^(l), dC/dW^(l), dC/db^(l) and dC/da^(l-1)."""

FORMS = ("index", "matrix", "unrolled")


@dataclass(frozen=True)
class Gradient:
    """One derived result: ``quantity`` of ``layer`` in ``form``.

    Index form is per sample (C_0) at neuron indices j, k; matrix form is for the batch mean C
    with one column per sample; unrolled form is one entry (``entry``) of a concrete network.
    """

    layer: int
    quantity: str
    form: str
    expr: sp.Expr
    entry: tuple[int, ...] = ()


def activation_of(spec: NetworkSpec, l: int):
    """The activation row of layer l (None for an output activation owned by the loss)."""
    return ACTIVATIONS.get(spec.activations[l - 1])


@dataclass
class Derivation:
    """The derived gradients of one network, in index and matrix form (see ``derive_network``).

    ``matrix[(l, q)]`` and ``index[(l, q)]`` hold the results for layer l and quantity q in
    ``QUANTITIES``. ``cost`` is C itself (a 1x1 matrix). Matrix-form results refer to delta^(l) by
    name; ``deltas`` defines each one
    in terms of the layer above, ``forward`` defines z^(l) and a^(l), and ``expand`` substitutes
    all of these to express a result in the inputs a^(0), targets y and parameters only.
    """

    spec: NetworkSpec
    symbols: NetworkSymbols
    forward: dict[sp.MatrixSymbol, sp.MatrixExpr]
    deltas: dict[sp.MatrixSymbol, sp.MatrixExpr]
    matrix: dict[tuple[int, str], sp.MatrixExpr]
    index: dict[tuple[int, str], sp.Expr]
    index_symbols: NetworkSymbols
    cost: sp.MatrixExpr
    verification: object | None = field(default=None)
    _expansions: dict = field(default_factory=dict, repr=False)

    def gradients(self, form: str = "matrix") -> list[Gradient]:
        """Results of one form, from layer L down to 1."""
        if form == "unrolled":
            from .unrolled import unrolled_gradients

            return unrolled_gradients(self.spec)
        table = {"matrix": self.matrix, "index": self.index}[form]
        return [Gradient(l, q, form, table[(l, q)]) for (l, q) in table]

    def expansion(self, layer: int = 0, kind: str = "a") -> dict[sp.MatrixSymbol, sp.MatrixExpr]:
        """Definitions of delta, z and a in terms of a free a^(layer) (kind "a") or z^(layer)
        (kind "z"), the parameters and y: what lies downstream of that point is substituted."""
        key = (layer, kind)
        if key not in self._expansions:
            full: dict[sp.MatrixSymbol, sp.MatrixExpr] = {}
            for l, ls in self.symbols.layers.items():
                if l < layer or (l == layer and kind == "a"):
                    continue
                if l > layer or kind == "a":
                    full[ls.z] = self.forward[ls.z].xreplace(full)
                full[ls.a] = self.forward[ls.a].xreplace(full)
            for l in reversed(self.symbols.layers):
                delta = self.symbols.layers[l].delta
                full[delta] = self.deltas[delta].xreplace(full)
            self._expansions[key] = full
        return self._expansions[key]

    def expand(self, expr: sp.MatrixExpr, layer: int = 0, kind: str = "a") -> sp.MatrixExpr:
        """``expr`` with delta^(l), a^(l) and z^(l) replaced by their definitions, down to the
        inputs a^(0) (or down to a free a^(layer) or z^(layer), see ``expansion``)."""
        return expr.xreplace(self.expansion(layer, kind))

    def latex(self, form: str = "all") -> str:
        """The results as LaTeX ``align*`` environments (see ``report.latex_block``)."""
        from .report import latex_block

        return latex_block(self, form)

    def _repr_latex_(self) -> str:
        from .report import notebook_latex

        return notebook_latex(self)


def derive_network(spec: NetworkSpec, verify: bool = True) -> Derivation:
    """Derive delta^(l), dC/dW^(l), dC/db^(l) and dC/da^(l-1) for every layer of ``spec``.

    The layer-local rules (``rules``) are derived once on symbolic sizes and chained over depth,
    so the time grows linearly with depth and not with width. With ``verify`` the rules are
    checked against SymPy's derivative of the unrolled network (``verify.verify``).

    Example:
        >>> d = derive_network(NetworkSpec(layers=1, widths=(1, 1)), verify=False)
        >>> d.matrix[(1, "W")]
        delta1*a0.T
    """
    s = network_symbols(spec)
    # The index form is derived with symbolic widths, so that sums over j stay sums, and the
    # concrete widths are put into the bounds afterwards.
    generic = NetworkSpec(spec.layers, None, spec.activations, spec.loss, spec.leaky_slope)
    s1 = network_symbols(generic, batch=1)
    concrete = dict(zip(generic.widths, spec.widths, strict=True))
    forward: dict[sp.MatrixSymbol, sp.MatrixExpr] = {}
    for l, ls in s.layers.items():
        forward[ls.z] = ls.W * s.a(l - 1) + ls.b * OneMatrix(1, n)
        act = activation_of(spec, l)
        forward[ls.a] = ls.z.applyfunc(act.function) if act else Softmax(ls.z)

    deltas, matrix, index = {}, {}, {}
    L = spec.layers
    loss_rule = rules.loss_rule(LOSSES[spec.loss])
    for l in range(L, 0, -1):
        ls, ls1, act = s.layers[l], s1.layers[l], activation_of(spec, l)
        if l == L:
            upstream = rules.lift(loss_rule / n, {rules.out_k: ls.a, rules.y_k: s.y})
            upstream1 = rules.lift(loss_rule, {rules.out_k: ls1.a, rules.y_k: s1.y})
        else:
            upstream = matrix[(l + 1, "a")]
            upstream1 = ls1.dC_da
        if act is None:  # the loss owns the output activation: its rule is already dC/dz.
            deltas[ls.delta], delta1 = upstream, upstream1
        else:
            deltas[ls.delta] = rules.activation(act, upstream, ls.z)
            delta1 = rules.activation(act, upstream1, ls1.z)
        matrix[(l, "delta")] = deltas[ls.delta]
        index[(l, "delta")] = delta1[j, 0]
        for q in ("W", "b", "a"):
            matrix[(l, q)] = rules.affine(q, ls.delta, s.a(l - 1), ls.W, ls.b)
            entry = rules.affine(q, delta1, s1.a(l - 1), ls1.W, ls1.b)
            index[(l, q)] = entry[j, k] if q == "W" else entry[k if q == "a" else j, 0]
    index = {key: sp.factor_terms(_named_sum(e)).xreplace(concrete) for key, e in index.items()}
    output = s.layers[L].z if LOSSES[spec.loss].output_activation else s.layers[L].a
    cost = rules.cost(LOSSES[spec.loss], output, s.y, n)
    derivation = Derivation(spec, s, forward, deltas, matrix, index, s1, cost)
    if verify:
        from .verify import verify as run_verify

        derivation.verification = run_verify(derivation)
    return derivation


def _named_sum(expr: sp.Expr) -> sp.Expr:
    """Name the summation index j, as the seed writes sum_j w_jk ... (SymPy picks a dummy)."""
    for s in expr.atoms(sp.Sum):
        (var, *_), *rest = s.limits
        if not rest and var != j:
            expr = expr.xreplace({s: s.xreplace({var: j})})
    return expr
