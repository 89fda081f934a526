"""The result of ``derive_network``, as data: the derived gradients of one network.

Printing (``report``), checking (``verify``) and the unrolled form (``unrolled``) are functions of
a ``Derivation`` in their own modules; nothing here imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .notation import NetworkSymbols
from .spec import NetworkSpec

FORMS = ("index", "matrix", "unrolled")

Key = tuple[str, int]
"""A result named by the variable C is differentiated by: ``("W", l)`` is dC/dW^(l), ``("b", l)``
dC/db^(l), ``("z", l)`` delta^(l) = dC/dz^(l) and ``("a", l)`` dC/da^(l)."""


def step_keys(l: int) -> list[Key]:
    """The results of layer l's backward step, in the order it gives them: delta^(l), dC/dW^(l),
    dC/db^(l) and dC/da^(l-1)."""
    return [("z", l), ("W", l), ("b", l), ("a", l - 1)]


def step_of(key: Key) -> int:
    """The layer whose backward step gives ``key``: dC/da^(l-1) is layer l's, as W^(l) carries
    it down."""
    variable, layer = key
    return layer + 1 if variable == "a" else layer


@dataclass(frozen=True)
class Gradient:
    """One derived result: dC/d``wrt`` in ``form`` (``wrt`` a ``Key``, such as ``("a", 2)``).

    Index form is per sample (C_0) at neuron indices j, k; matrix form is for the batch cost C
    with one column per sample (the mean or the sum of the C_i, with any L2 penalty:
    ``NetworkSpec.cost``, ``NetworkSpec.l2``); unrolled form is one entry (``entry``) of a
    concrete network, per sample.
    """

    wrt: Key
    form: str
    expr: sp.Expr
    entry: tuple[int, ...] = ()

    @property
    def layer(self) -> int:
        """The layer whose backward step gives this result (``step_of``)."""
        return step_of(self.wrt)


@dataclass
class Derivation:
    """The derived gradients of one network, in index and matrix form (see ``derive_network``).

    ``matrix[key]`` and ``index[key]`` hold the results by the variable they differentiate C by
    (``Key``): ``matrix[("W", l)]`` is dC/dW^(l), ``matrix[("z", l)]`` delta^(l) and
    ``matrix[("a", l - 1)]`` dC/da^(l-1), layer L's first (``step_keys``). ``cost`` is C itself
    (a 1x1 matrix, the L2 penalty included). Matrix-form results refer to delta^(l) by name;
    ``deltas`` defines each one in terms of the layer above, ``forward`` defines z^(l) and
    a^(l), and ``expand`` substitutes all of these to express a result in the inputs a^(0),
    targets y and parameters only.
    """

    spec: NetworkSpec
    symbols: NetworkSymbols
    forward: dict[sp.MatrixSymbol, sp.MatrixExpr]
    deltas: dict[sp.MatrixSymbol, sp.MatrixExpr]
    matrix: dict[Key, sp.MatrixExpr]
    index: dict[Key, sp.Expr]
    index_symbols: NetworkSymbols
    cost: sp.MatrixExpr
    _expansions: dict = field(default_factory=dict, repr=False)

    def gradients(self, form: str = "matrix") -> list[Gradient]:
        """Results of the index or matrix form, from layer L down to 1 (the unrolled form is
        ``unrolled.unrolled_gradients``)."""
        table = {"matrix": self.matrix, "index": self.index}[form]
        return [Gradient(key, form, expr) for key, expr in table.items()]

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
