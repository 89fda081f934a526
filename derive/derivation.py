"""The result of ``derive_network``, as data: the derived gradients of one network.

Printing (``report``), checking (``verify``) and the unrolled form (``unrolled``) are functions of
a ``Derivation`` in their own modules; nothing here imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .notation import NetworkSymbols
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
    _expansions: dict = field(default_factory=dict, repr=False)

    def gradients(self, form: str = "matrix") -> list[Gradient]:
        """Results of the index or matrix form, from layer L down to 1 (the unrolled form is
        ``unrolled.unrolled_gradients``)."""
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
