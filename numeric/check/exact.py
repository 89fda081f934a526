"""The symbolic source of a gradient check: the derived matrix-form rules, evaluated in mpmath.

``Exact(spec).gradients(params, X, Y)`` evaluates the very expressions ``derive_network`` returns
(z^(l), a^(l), delta^(l) and the four rules of every layer), one node at a time, over NumPy
object arrays of ``mpmath.mpf`` at ``REFERENCE_DIGITS`` significant digits. Activations are their
SymPy definitions and SymPy's derivatives of them, lambdified for mpmath; nothing here shares code
with the generated NumPy module, so a mistake in the printer or in a stable NumPy spelling
cannot hide in both.

Matrix products are the expensive part (a 784-128-64-10 network with a batch of 32 needs ten
million multiply-adds). They run on integers: every entry of a row (left factor) or column
(right factor) is written exactly as an integer times a power of two shared by the row, cut
``GUARD`` bits below the precision at the row's largest entry, and the integer products and
sums are exact. So each entry of a product is correct to the working precision relative to
(the largest entry of its row) x (the largest of its column) x 2^-GUARD, and it is rounded once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import mpmath
import numpy as np
import sympy as sp
from sympy.matrices.expressions import (
    HadamardPower,
    HadamardProduct,
    MatAdd,
    MatMul,
    OneMatrix,
    Transpose,
)
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from bpverify.derive import ACTIVATIONS, NetworkSpec, derive_network
from bpverify.derive.activations import Softmax
from bpverify.derive.notation import n as batch_symbol

REFERENCE_DIGITS = 34
"""Significant decimal digits of the evaluation (113 bits and more: quadruple precision)."""

GUARD = 64
"""Extra bits kept in the integer matrix products (see the module docstring)."""

_mpf = np.frompyfunc(mpmath.mpf, 1, 1)


def to_mp(a) -> np.ndarray:
    """An object array of mpf holding the values of ``a`` exactly."""
    return _mpf(np.asarray(a, dtype=np.float64)).astype(object)


def to_float(a: np.ndarray) -> np.ndarray:
    """The float64 nearest to each entry of an mpf array."""
    return np.asarray(np.frompyfunc(float, 1, 1)(a), dtype=np.float64)


def _fixed(m: np.ndarray, axis: int, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Integers I and exponents e with m ~= I * 2^e, e shared along ``axis`` (a row for axis 1,
    a column for axis 0), I exact for every entry within ``bits`` bits of the largest one."""
    parts = [[x._mpf_ for x in row] for row in (m if axis == 1 else m.T)]
    ints, exps = [], []
    for row in parts:
        tops = [e + bc for s, man, e, bc in row if man]
        shift = (max(tops) if tops else 0) - bits
        out = []
        for sign, man, e, _ in row:
            v = man << (e - shift) if e >= shift else man >> (shift - e)
            out.append(-v if sign else v)
        ints.append(out)
        exps.append(shift)
    I = np.empty((len(ints), len(ints[0]) if ints else 0), dtype=object)
    I[...] = ints
    e = np.array(exps, dtype=object)
    return (I, e[:, None]) if axis == 1 else (I.T, e[None, :])


def mp_matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A @ B for object arrays of mpf, through exact integer products (module docstring)."""
    bits = mpmath.mp.prec + GUARD
    ia, ea = _fixed(A, 1, bits)
    ib, eb = _fixed(B, 0, bits)
    product = ia @ ib
    make = np.frompyfunc(lambda man, e: mpmath.mpf((man, e)), 2, 1)
    return make(product, ea + eb).astype(object)


@cache
def _elementwise(function: sp.Lambda, slope: sp.Rational) -> Callable:
    """An mpmath function for one elementwise function of the derivation: an activation f or f'
    becomes its SymPy definition or SymPy's derivative of it."""
    (var,) = function.variables
    body = function.expr
    for act in ACTIVATIONS.values():
        body = act.specialise(body, slope)
    f = sp.lambdify(var, body, modules="mpmath", cse=True)
    # mpf always: a constant branch (relu' = 0) would otherwise come back as a Python int
    return np.frompyfunc(lambda v: mpmath.mpf(f(v)), 1, 1)


def _size(dim, batch: int) -> int:
    return int(sp.sympify(dim).xreplace({batch_symbol: batch}))


def _ones(shape, batch: int) -> np.ndarray:
    rows, cols = (_size(d, batch) for d in shape)
    return np.full((rows, cols), mpmath.mpf(1), dtype=object)


def _matmul(e, ev):
    out, ones, scale = None, False, sp.Integer(1)
    for arg in e.args:
        if not arg.is_Matrix:
            scale *= arg
        elif out is None:
            out, ones = ev(arg), isinstance(arg, OneMatrix)
        elif isinstance(arg, OneMatrix):
            # M 1: the row sums of M, repeated for every column of 1 (no products needed)
            total = np.sum(out, axis=1, keepdims=True)
            out, ones = np.repeat(total, _size(arg.shape[1], ev.batch), axis=1), False
        elif ones:
            # 1 M: the column sums of M, repeated for every row of 1
            total = np.sum(ev(arg), axis=0, keepdims=True)
            out, ones = np.repeat(total, out.shape[0], axis=0), False
        else:
            out = mp_matmul(out, ev(arg))
    return out * ev.scalar(scale) if scale != 1 else out


def _softmax(e, ev):
    z = ev(e.arg)
    exp = np.frompyfunc(mpmath.exp, 1, 1)(z)
    return exp / np.sum(exp, axis=0, keepdims=True)


RULES: dict[type, Callable] = {
    MatMul: _matmul,
    MatAdd: lambda e, ev: sum((ev(a) for a in e.args[1:]), ev(e.args[0])),
    HadamardProduct: lambda e, ev: np.multiply.reduce([ev(a) for a in e.args]),
    HadamardPower: lambda e, ev: ev(e.base) ** int(e.exp),
    ElementwiseApplyFunction: lambda e, ev: _elementwise(e.function, ev.slope)(ev(e.expr)),
    Transpose: lambda e, ev: ev(e.arg).T,
    OneMatrix: lambda e, ev: _ones(e.shape, ev.batch),
    Softmax: _softmax,
}
"""How each node type of a derived expression is evaluated, given the evaluator of its children.
A matrix symbol is looked up by name among the values computed so far."""


class _Evaluator:
    def __init__(self, values: dict[str, np.ndarray], batch: int, slope: sp.Rational, digits):
        self.values, self.batch, self.slope, self.digits = values, batch, slope, digits
        self.memo: dict = {}

    def __call__(self, node) -> np.ndarray:
        if isinstance(node, sp.MatrixSymbol):
            return self.values[node.name]
        if node not in self.memo:
            self.memo[node] = RULES[type(node)](node, self)
        return self.memo[node]

    def scalar(self, expr: sp.Expr):
        return mpmath.mpf(sp.Float(expr.xreplace({batch_symbol: self.batch}), self.digits + 10))


class Exact:
    """The derived gradients of ``spec`` at ``REFERENCE_DIGITS`` significant digits (module
    docstring).

    ``gradients`` follows the public convention (params {"W1": (n1, n0), "b1": (n1,), ...};
    X (n, n0); Y (n, nL), one sample per row) and returns dC/dW1, dC/db1, ... and dC/da0 ...
    dC/da(L-1) (keys "dC_da0", ..., shape (n, n_l)), each rounded once to float64.
    """

    def __init__(self, spec: NetworkSpec, digits: int = REFERENCE_DIGITS):
        self.spec = spec
        self.digits = digits
        self.derivation = derive_network(spec)

    def gradients(self, params: dict, X, Y) -> dict[str, np.ndarray]:
        with mpmath.workdps(self.digits):
            return {k: to_float(v) for k, v in self.gradients_mp(params, X, Y).items()}

    def gradients_mp(self, params: dict, X, Y) -> dict[str, np.ndarray]:
        """As ``gradients``, unrounded: object arrays of mpf at the current mpmath precision."""
        d, s, L = self.derivation, self.derivation.symbols, self.spec.layers
        X = np.asarray(X, dtype=np.float64)
        values = {"a0": to_mp(X.T), "y": to_mp(np.asarray(Y, dtype=np.float64).T)}
        for l in range(1, L + 1):
            values[f"W{l}"] = to_mp(params[f"W{l}"])
            values[f"b{l}"] = to_mp(np.asarray(params[f"b{l}"])[:, None])
        ev = _Evaluator(values, X.shape[0], self.spec.leaky_slope, self.digits)
        for ls in s.layers.values():
            for sym in (ls.z, ls.a):
                values[sym.name] = ev(d.forward[sym])
        for l in reversed(s.layers):
            delta = s.layers[l].delta
            values[delta.name] = ev(d.deltas[delta])
        out = {}
        for l in range(1, L + 1):
            out[f"W{l}"] = ev(d.matrix[("W", l)])
            out[f"b{l}"] = ev(d.matrix[("b", l)])[:, 0]
        for l in range(1, L + 1):
            out[f"dC_da{l - 1}"] = ev(d.matrix[("a", l - 1)]).T
        return out


UNROLLED_REFERENCE_LIMIT = 60
"""Most parameters for which ``Unrolled`` writes the network out (SymPy takes seconds there)."""


class Unrolled:
    """A second ground truth for small networks: SymPy's derivative of the whole written-out
    cost C(W, b, X, Y) (activations and loss by their definitions, ``unrolled.forward``) by
    every parameter and input entry, evaluated in mpmath at ``REFERENCE_DIGITS`` digits. It shares
    no rule with the derivation, so agreement with ``Exact`` checks the chained rules themselves.
    """

    def __init__(self, spec: NetworkSpec, batch: int):
        from bpverify.derive.notation import network_symbols
        from bpverify.derive.unrolled import forward

        if spec.parameter_count > UNROLLED_REFERENCE_LIMIT:
            raise ValueError(
                f"the network has {spec.parameter_count} parameters; the unrolled derivative "
                f"is written out for at most {UNROLLED_REFERENCE_LIMIT}"
            )
        self.spec, self.batch = spec, batch
        s = network_symbols(spec, batch=batch)
        cost, _ = forward(spec, s, generic=False)
        cells = {m.name: m for m in [*s.parameters, s.a0, s.y]}
        self.entries = {
            name: [m[r, c] for r in range(m.shape[0]) for c in range(m.shape[1])]
            for name, m in cells.items()
        }
        wrt = [v for name, vs in self.entries.items() if name != "y" for v in vs]
        args = [v for vs in self.entries.values() for v in vs]
        self.f = sp.lambdify(args, [sp.diff(cost, v) for v in wrt], "mpmath", cse=True)

    def gradients(self, params: dict, X, Y) -> dict[str, np.ndarray]:
        """dC/dW1, dC/db1, ... and dC/da0 (key "dC_da0"), rounded to float64."""
        values = {f"W{l}": params[f"W{l}"] for l in range(1, self.spec.layers + 1)}
        values.update(
            {f"b{l}": np.asarray(params[f"b{l}"])[:, None] for l in range(1, self.spec.layers + 1)}
        )
        values.update({"a0": np.asarray(X).T, "y": np.asarray(Y).T})
        args = [
            mpmath.mpf(float(v))
            for name in self.entries
            for v in np.asarray(values[name], dtype=np.float64).ravel()
        ]
        with mpmath.workdps(REFERENCE_DIGITS):
            flat = iter(float(g) for g in self.f(*args))
        out = {}
        for name in self.entries:
            if name == "y":
                continue
            shape = np.shape(values[name])
            block = np.array([next(flat) for _ in range(int(np.prod(shape)))]).reshape(shape)
            out[name] = block[:, 0] if name.startswith("b") else block
        out["dC_da0"] = out.pop("a0").T  # the derivative by the inputs a0
        return out
