"""The finite-difference source of a gradient check: derivatives of the loss itself, in float64.

The loss is evaluated from the definitions: each activation is its SymPy definition lambdified
for NumPy (not the generated module's stable spellings, nor SymPy's derivative), and C_0 is the
loss table's per-sample sum (``rules.sample_costs``) printed by the same printer. Three methods,
each a table row of offsets t and weights w with f'(x) ~= sum_m w_m f(x + t_m h) / h:

    central      f(x+h) - f(x-h) over 2h                     error ~ h^2 f'''/6 + eps |f|/h
    richardson   the five-point stencil (two central
                 differences at h and 2h, extrapolated)      error ~ h^4 f^(5)/30 + eps |f|/h
    complex      Im f(x + ih) / h, for analytic networks     error ~ h^2 f'''/6, no cancellation

The step of every entry is ``STEPS[method]`` times max(|x|, 1), the value that balances the two
error terms at float64's epsilon; it is applied in exact arithmetic to z, so no rounding of
x + h enters.

Perturbations are batched a layer at a time. Changing W^(l)_jk or b^(l)_j changes only row j
of z^(l): a^(l) changes in row j only, z^(l+1) by a rank-one update, and from there all the
perturbations of the layer run forward together as extra columns (samples) of one matrix.
Changing a^(l-1) of one sample changes one column of z^(l), and only that sample runs forward.

The cost over the samples is the mean or the sum of C_0 (``spec.cost``); with an L2 penalty
(``spec.l2``), the change of s(n) lambda/2 W_jk^2 that a perturbation of W_jk makes is added to the
change of the loss, so the differences are of the whole cost.

Where a derivative of an activation or of the loss jumps (the rows' kinks, where the branches of
a Piecewise meet: relu' at 0, or the second derivative of a C^1 row such as a Huber loss), an
entry whose perturbed evaluations move any pre-activation (or output) across or onto such a point
is flagged as a kink: its finite difference mixes the two sides and says nothing about the
derivative there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from bpverify.derive import ACTIVATIONS, LOSSES, NetworkSpec
from bpverify.derive import rules as derive_rules
from bpverify.derive.activations import DefinitionPrinter
from bpverify.derive.activations import x as _x
from bpverify.derive.losses import out_k, y_k
from bpverify.derive.notation import layer_name, network_symbols

from ..codegen.printer import BackpropPrinter
from .stencils import EPS, METHODS, STENCILS, STEPS  # noqa: F401 (the check's tables)

WIDE = {False: np.longdouble, True: np.clongdouble}
"""Where float64 overflows (a sigmoid's e^-z at z = -800), the differences are taken again in
the platform's long double: x87 extended precision on x86-64 Linux, exponents to 1e4932."""

CHUNK_BYTES = 1 << 18
"""Size of the largest matrix of one batch of perturbations: small enough to stay in a core's
cache through the forward pass, which makes the whole several times faster than large batches."""


def analytic(spec: NetworkSpec) -> bool:
    """Whether every activation and the loss of ``spec`` are analytic, as the complex step
    needs."""
    acts = all(ACTIVATIONS[a].analytic for a in spec.activations if a in ACTIVATIONS)
    return acts and LOSSES[spec.loss].analytic


def default_method(spec: NetworkSpec) -> str:
    """The complex step when the network is analytic, else Richardson extrapolation."""
    return "complex" if analytic(spec) else "richardson"


def _logsumexp(z):
    # shifted by the real part's maximum, which works for a complex step too
    m = np.max(z.real, axis=0, keepdims=True)
    return m + np.log(np.sum(np.exp(z - m), axis=0, keepdims=True))


@dataclass
class Differences:
    """Finite differences of C: ``values[name]`` shaped like the gradient (NaN where an entry was
    not asked for), ``kinks[name]`` True where an entry's evaluations crossed a kink, and the
    step ``steps[name]`` used for every entry."""

    method: str
    values: dict[str, np.ndarray]
    kinks: dict[str, np.ndarray]
    steps: dict[str, np.ndarray]


class FiniteDifferences:
    """Finite differences of the loss of ``spec`` (see the module docstring).

    ``differences(params, X, Y, method, entries)`` takes the public convention (params
    {"W1": (n1, n0), "b1": (n1,), ...}; X (n, n0); Y (n, nL)) and returns dC/dW1, dC/db1, ... and
    dC/da0 ... (keys "dC_da0", ..., shape (n, n_l)); ``entries`` limits each tensor to the given
    flat indices.
    """

    def __init__(self, spec: NetworkSpec):
        self.spec = spec
        self.L = spec.layers
        self.l2 = float(spec.l2)
        loss = LOSSES[spec.loss]
        self.owns_output = loss.output_activation is not None
        self.act = {}
        for l, name in enumerate(spec.activations, start=1):
            act = ACTIVATIONS.get(name)
            if act is not None:
                definition = act.expression(_x, spec.leaky_slope)
                self.act[l] = sp.lambdify(_x, definition, "numpy", printer=DefinitionPrinter)
        # the expressions whose sign changes at a kink, by layer and for the loss
        self.kinks = {}
        for l, name in enumerate(spec.activations, start=1):
            act = ACTIVATIONS.get(name)
            if act is not None and act.kinked:
                self.kinks[l] = [sp.lambdify(_x, g, "numpy") for g in act.kinks(spec.leaky_slope)]
        s = network_symbols(spec)
        # The loss takes z^(L) when it owns the output activation, or when it is composed with
        # it (the row's ``composed``: log(1 - a) of a sigmoid near 1 loses every digit that
        # 1 - a lacks, more than a finite difference can afford; -y z + log(e^z + 1) loses none);
        # a^(L) otherwise.
        compose = None
        last = ACTIVATIONS.get(spec.activations[-1])
        if loss.composed and last is not None:
            compose = lambda u: last.expression(u, spec.leaky_slope)  # noqa: E731
        self.from_z = self.owns_output or compose is not None
        self.loss_kinks = [
            sp.lambdify([out_k, y_k], g if compose is None else g.xreplace({out_k: compose(out_k)}))
            for g in loss.kinks
        ]
        out = s.layers[self.L].z if self.from_z else s.layers[self.L].a
        printer = BackpropPrinter({"fully_qualified_modules": True, "inline": True})
        namespace = {"log_safe": np.log, "logsumexp": _logsumexp}
        self.sample_costs = sp.lambdify(
            [out, s.y],
            derive_rules.sample_costs(loss, out, s.y, compose),
            modules=[namespace, "numpy"],
            printer=printer,
            docstring_limit=0,
        )

    def _per_batch(self, total, n: int):
        """The cost of a batch of n samples from the sum of their C_0: divided by n for the mean
        cost (1 / s(n) = n), by 1 for the sum."""
        return total / float(1 / self.spec.batch_scale(n))

    def _decay(self, W, dx, n: int):
        """The change of the L2 penalty s(n) lambda/2 sum W^2 when W moves by dx (same shape, or
        broadcast): s(n) lambda (W dx + dx^2 / 2), exact for a quadratic."""
        if not self.l2:
            return 0.0
        return self._per_batch(self.l2 * (W * dx + dx * dx / 2), n)

    # -- forward ---------------------------------------------------------------------------
    def _activate(self, l: int, z: np.ndarray) -> np.ndarray:
        a = self.act[l](z)
        return np.broadcast_to(a, z.shape) if np.ndim(a) < z.ndim else a

    def _run(self, l: int, z, base, cols, params, y):
        """Per-sample costs (one per column) from z^(l) onward; ``base`` holds the unperturbed
        z of every layer and ``cols`` the sample of each column, for the kink test."""
        kink = np.zeros(z.shape[1], dtype=bool)
        for m in range(l, self.L + 1):
            if m in self.kinks:
                kink |= _crossed(self.kinks[m], z, base[m][:, cols]).any(axis=0)
            if m == self.L and self.from_z:
                out = z
                break
            a = self._activate(m, z)
            if m == self.L:
                out = a
                break
            z = params[f"W{m + 1}"] @ a + params[f"b{m + 1}"][:, None]
        if self.loss_kinks:
            before = base[self.L][:, cols]
            before = before if self.from_z else self._activate(self.L, before)
            kink |= _crossed(self.loss_kinks, out, before, y[:, cols]).any(axis=0)
        return self.sample_costs(out, y[:, cols])[0], kink

    def _forward(self, params, a0):
        z, a = {}, {0: a0}
        for l in range(1, self.L + 1):
            z[l] = params[f"W{l}"] @ a[l - 1] + params[f"b{l}"][:, None]
            if l < self.L or not self.from_z:
                a[l] = self._activate(l, z[l])
        return z, a

    # -- differences -----------------------------------------------------------------------
    def differences(
        self,
        params: dict,
        X,
        Y,
        method: str = "richardson",
        entries: dict[str, np.ndarray] | None = None,
        names: tuple[str, ...] | None = None,
    ) -> Differences:
        if method not in STEPS:
            raise ValueError(f"unknown finite-difference method {method!r}: choose {METHODS}")
        if method == "complex" and not analytic(self.spec):
            raise ValueError("the complex step needs analytic activations; use richardson")
        params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        complex_step = method == "complex"
        state = self._state(params, X, Y, np.complex128 if complex_step else np.float64)
        wide = None
        a = state[2]
        shapes = {k: v.shape for k, v in params.items()}
        shapes.update({f"dC_da{l}": (X.shape[0], self.spec.widths[l]) for l in range(self.L)})
        names = names or tuple(shapes)
        values, kinks, steps = {}, {}, {}
        for name in names:
            shape = shapes[name]
            size = int(np.prod(shape))
            idx = np.arange(size) if entries is None or name not in entries else entries[name]
            x = params[name].ravel() if name in params else a[_perturbed_of(name)[1]].T.real.ravel()
            h = STEPS[method] * np.maximum(np.abs(x), 1.0)
            v = np.full(size, np.nan)
            k = np.zeros(size, dtype=bool)
            with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
                v[idx], k[idx] = self._entries(name, idx, h[idx], method, *state)
                again = idx[~np.isfinite(v[idx])]
                if len(again):  # overflow in float64: the same differences with a wider exponent
                    if wide is None:
                        wide = self._state(params, X, Y, WIDE[complex_step])
                    v[again], k[again] = self._entries(name, again, h[again], method, *wide)
            values[name], kinks[name], steps[name] = (
                v.reshape(shape),
                k.reshape(shape),
                h.reshape(shape),
            )
        return Differences(method, values, kinks, steps)

    def _state(self, params, X, Y, dtype):
        """Parameters, z and a of every layer, and y, in ``dtype``: where perturbations start."""
        cast = {k: v.astype(dtype) for k, v in params.items()}
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            z, a = self._forward(cast, X.T.astype(dtype))
        return cast, z, a, Y.T.astype(dtype)

    def _entries(self, name, idx, h, method, params, z, a, y):
        offsets, weights = STENCILS[method]
        kind, l = _perturbed_of(name)
        n = y.shape[1]
        m = len(offsets)
        width = max(self.spec.widths[l + 1 if kind == "a" else l :])
        itemsize = 16 if method == "complex" else 8
        per = max(1, CHUNK_BYTES // (itemsize * width * (n if kind != "a" else 1) * m))
        out = np.empty(len(idx))
        kinks = np.zeros(len(idx), dtype=bool)
        t = np.asarray(offsets)[:, None]
        w = np.asarray(weights)[:, None]
        for start in range(0, len(idx), per):
            sl = slice(start, start + per)
            # every offset of the stencil in one batch: rows are offsets, columns entries
            count = len(idx[sl])
            f, kink = self._perturbed(
                kind, l, np.tile(idx[sl], m), (t * h[sl]).ravel(), params, z, a, y
            )
            total = np.sum(w * f.reshape(m, count), axis=0)
            kinks[sl] = kink.reshape(m, count).any(axis=0)
            total = total.imag if method == "complex" else total
            out[sl] = total / h[sl]
        return out, kinks

    def _perturbed(self, kind, l, idx, dx, params, z, a, y):
        """C at each perturbation of entry idx[p] of W^(l), b^(l) (kind "W", "b") or a^(l)
        (kind "a", one sample) by dx[p]; and whether it crossed a kink."""
        n = y.shape[1]
        if kind == "a":  # a^(l) of sample i feeds z^(l+1) column i
            i, k = np.divmod(idx, a[l].shape[0])
            col = z[l + 1][:, i] + params[f"W{l + 1}"][:, k] * dx
            costs, kink = self._run(l + 1, col, z, i, params, y)
            return self._per_batch(costs, n), kink
        P = len(idx)
        decay = 0.0
        if kind == "W":
            j, k = np.divmod(idx, params[f"W{l}"].shape[1])
            row = z[l][j] + dx[:, None] * a[l - 1][k]
            decay = self._decay(params[f"W{l}"][j, k], dx, n)
        else:
            j = idx
            row = z[l][j] + dx[:, None]
        cols = np.tile(np.arange(n), P)
        kink = np.zeros(P, dtype=bool)
        if l == self.L:  # the output layer: z^(L) with row j changed
            Z = np.repeat(z[l][:, None, :], P, axis=1)
            Z[j, np.arange(P)] = row
            start = l
        else:  # a^(l) changes in row j only: z^(l+1) by a rank-one update
            if l in self.kinks:
                kink |= _crossed(self.kinks[l], row, z[l][j]).reshape(P, n).any(axis=1)
            da = self._activate(l, row) - a[l][j]
            W = params[f"W{l + 1}"]
            Z = z[l + 1][:, None, :] + W[:, j][:, :, None] * da[None]
            start = l + 1
        costs, crossed = self._run(start, Z.reshape(Z.shape[0], P * n), z, cols, params, y)
        kink |= crossed.reshape(P, n).any(axis=1)
        return self._per_batch(costs.reshape(P, n).sum(axis=1), n) + decay, kink

    def directional(self, params: dict, X, Y, tangents: dict[str, np.ndarray], method: str):
        """The derivative of C along ``tangents`` (one tensor's name and a direction shaped like
        it), whether a kink was crossed, and the step. Used by the random-projection check."""
        params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
        X = np.asarray(X, dtype=np.float64)
        dtype = np.complex128 if method == "complex" else np.float64
        cast, z, a, y = self._state(params, X, np.asarray(Y, dtype=np.float64), dtype)
        offsets, weights = STENCILS[method]
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            ((name, v),) = tangents.items()
            kind, l = _perturbed_of(name)
            x = params[name] if name in params else a[l].T.real
            h = STEPS[method] * max(float(np.max(np.abs(x), initial=0.0)), 1.0)
            h /= max(float(np.max(np.abs(v), initial=0.0)), 1e-300)
            if kind == "W":
                dz, layer = v @ a[l - 1], l
            elif kind == "b":
                dz, layer = np.repeat(v[:, None], X.shape[0], axis=1), l
            else:
                dz, layer = params[f"W{l + 1}"] @ v.T, l + 1
            n = X.shape[0]
            total, kink = 0.0, False
            for t, w in zip(offsets, weights, strict=True):
                costs, crossed = self._run(layer, z[layer] + t * h * dz, z, np.arange(n), cast, y)
                decay = np.sum(self._decay(cast[name], t * h * v, n)) if kind == "W" else 0.0
                total = total + w * (self._per_batch(costs.sum(), n) + decay)
                kink = kink or bool(crossed.any())
        total = total.imag if method == "complex" else total
        return float(total / h), kink, h

    def sample_costs_at(self, params: dict, X, Y) -> np.ndarray:
        """C_0 of every sample at the point (the scale of a finite difference's rounding)."""
        params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
        X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
        _, z, a, y = self._state(params, X, Y, np.float64)
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            return self.sample_costs(z[self.L] if self.from_z else a[self.L], y)[0]


def _perturbed_of(name: str) -> tuple[str, int]:
    """What the differences of gradient ``name`` perturb: ("W", 1) for "W1", ("a", 0) for
    "dC_da0"."""
    kind, l = layer_name(name)
    return ("a" if kind == "dC_da" else kind), l


def _crossed(kinks, z, base, *args):
    """Entries where z and the unperturbed ``base`` lie on different sides of a kink, or on
    one: where the sign of an expression of ``kinks`` (of z and ``args``) differs between them,
    or is 0."""
    crossed = np.zeros(np.shape(z), dtype=bool)
    for g in kinks:
        after, before = np.real(g(z, *args)), np.real(g(base, *args))
        crossed |= ((after > 0) != (before > 0)) | (before == 0) | (after == 0)
    return crossed
