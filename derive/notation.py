"""The seed's notation as SymPy objects: one name per quantity, from LaTeX to generated code.

Layer l has W^(l) = ``W{l}`` (n_l, n_{l-1}), b^(l) = ``b{l}`` (n_l, 1), z^(l) = ``z{l}``,
a^(l) = ``a{l}`` and delta^(l) = dC/dz^(l) = ``delta{l}``, each (n_l, n) with one column per
sample; a^(0) holds the inputs and ``y`` (n_L, n) the targets. ``dC_da{l}`` is dC_0/da^(l) as a
symbol, for writing the recursion of the index form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from .spec import NetworkSpec

n = sp.Symbol("n", integer=True, positive=True)
"""The number of samples in a batch."""

j, k = sp.symbols("j k", integer=True, nonnegative=True)
"""Neuron indices: j runs over layer l, k over layer l-1, as in the seed."""

NAME = re.compile(r"^(W|b|z|a|delta|dC_da)(\d+)$")
"""Names of layer quantities: a letter and the layer number."""


@dataclass(frozen=True)
class LayerSymbols:
    """The matrix symbols of one layer l."""

    W: sp.MatrixSymbol
    b: sp.MatrixSymbol
    z: sp.MatrixSymbol
    a: sp.MatrixSymbol
    delta: sp.MatrixSymbol
    dC_da: sp.MatrixSymbol


@dataclass(frozen=True)
class NetworkSymbols:
    """All symbols of a network: ``layers[l]`` for l = 1 ... L, ``a0`` inputs, ``y`` targets."""

    a0: sp.MatrixSymbol
    y: sp.MatrixSymbol
    layers: dict[int, LayerSymbols]
    batch: sp.Expr

    @property
    def parameters(self) -> list[sp.MatrixSymbol]:
        """W1, b1, ..., WL, bL in that order."""
        return [p for s in self.layers.values() for p in (s.W, s.b)]

    def a(self, l: int) -> sp.MatrixSymbol:
        """a^(l), with a^(0) the inputs."""
        return self.a0 if l == 0 else self.layers[l].a


def network_symbols(spec: NetworkSpec, batch: sp.Expr = n) -> NetworkSymbols:
    """The symbols of ``spec`` for a batch of ``batch`` samples (columns)."""
    w = spec.widths
    layers = {
        l: LayerSymbols(
            W=sp.MatrixSymbol(f"W{l}", w[l], w[l - 1]),
            b=sp.MatrixSymbol(f"b{l}", w[l], 1),
            z=sp.MatrixSymbol(f"z{l}", w[l], batch),
            a=sp.MatrixSymbol(f"a{l}", w[l], batch),
            delta=sp.MatrixSymbol(f"delta{l}", w[l], batch),
            dC_da=sp.MatrixSymbol(f"dC_da{l}", w[l], batch),
        )
        for l in range(1, spec.layers + 1)
    }
    a0 = sp.MatrixSymbol("a0", w[0], batch)
    return NetworkSymbols(a0=a0, y=sp.MatrixSymbol("y", w[-1], batch), layers=layers, batch=batch)


def split_name(name: str) -> tuple[str, int] | None:
    """``"delta3"`` -> ``("delta", 3)``; None for names outside the notation (``y``)."""
    m = NAME.match(name)
    return (m.group(1), int(m.group(2))) if m else None


def layer_name(name: str) -> tuple[str, int]:
    """``split_name`` of a name known to be a layer quantity; ValueError for any other name."""
    parts = split_name(name)
    if parts is None:
        raise ValueError(f"{name!r} is not a layer quantity such as W1, a0 or delta2")
    return parts
