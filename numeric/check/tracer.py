"""A reference gradient traced from the user's own forward code, in 40-digit arithmetic.

``trace(fn, inputs, wrt)`` runs ``fn`` once on NumPy arrays of dtype object whose entries are
``Traced`` numbers: an MPFR value (gmpy2) of ``DIGITS`` significant digits and the local
derivatives of the operation that made it. NumPy applies its ufuncs to such arrays entry by
entry (``np.exp`` calls ``Traced.exp``, ``@`` and ``einsum`` multiply and add, ``np.maximum``
compares), so the forward runs unchanged and records every scalar operation on a tape. One
reverse sweep of the tape then gives d(out)/d(input) for every entry of every input (for an
array output, the vector-Jacobian product with ``dout``): the derivative comes from
differentiation rules applied to exact local derivatives, rounded once to float64, not from
differences.

What the tracer covers is what the table ``UNARY`` and the ``Traced`` operators say: arithmetic
and powers, exp, log, log1p, expm1, sqrt, tanh, sin, cos, abs; comparisons (so ``maximum``,
``minimum``, ``where``, ``max`` over axes, ``clip`` and ``sign``); and through NumPy's object
arrays matmul, ``dot``, ``einsum``, sums, means, variances, broadcasting, reshape, transpose,
slicing, fancy indexing, concatenate and stack. Anything else (an ufunc with no method here, a
traced number converted to float, an array created as float64 and filled with traced values)
raises ``Uncovered``, naming the call and its line in the user's file.

Kinks: a comparison whose two sides are equal (relu at exactly 0, the maximum of two equal
entries, abs(0)) marks every input entry the compared values depend on: the derivative there is
one-sided, and the report leaves those entries out rather than trust either side.

Cost: one ``Traced`` per scalar operation. The tape stops with ``TraceBudget`` past
``operations`` operations or past its ``seconds``, whichever comes first.
"""

from __future__ import annotations

import gc
import re
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import gmpy2
import numpy as np
from gmpy2 import mpfr

DIGITS = 40
"""Significant digits of every traced value and derivative."""

OPERATIONS = 2_000_000
"""Default budget of traced scalar operations (each holds a node of the tape until the sweep)."""

_CHECK_EVERY = 4096  # operations between two looks at the clock

PRECISION = 136
"""Bits of every traced value: 40 decimal digits need 133."""

ONE, ZERO = mpfr(1), mpfr(0)


class Uncovered(Exception):
    """The forward did something the tracer cannot follow; ``call`` names it, ``where`` is the
    line of the user's code (``file.py:12``), "" when unknown."""

    def __init__(self, call: str, where: str = "") -> None:
        super().__init__(call)
        self.call, self.where = call, where

    def __str__(self) -> str:
        return self.call + (f" ({self.where})" if self.where else "")


class TraceBudget(Exception):
    """The trace ran past its budget of operations or seconds."""


class _Tape:
    """The nodes of one trace in the order they were made, its budget and the tied nodes."""

    def __init__(self, operations: int, seconds: float) -> None:
        self.nodes: list[Traced] = []
        self.ties: list[Traced] = []
        self.operations = operations
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds

    def check(self) -> None:
        """Stop past the budget (``Traced`` calls it every ``_CHECK_EVERY`` operations)."""
        if len(self.nodes) > self.operations:
            raise TraceBudget(f"more than {self.operations:,} traced operations")
        if time.monotonic() > self.deadline:
            raise TraceBudget(f"more than {self.seconds:g} s")


_tape: _Tape | None = None


def _mp(x):
    """A constant operand as an exact MPFR number; NotImplemented for what is not a real
    number."""
    if isinstance(x, (bool, np.bool_, int, np.integer)):
        return mpfr(int(x))
    if isinstance(x, (float, np.floating)):
        return mpfr(float(x))
    return NotImplemented


class Traced:
    """One traced scalar: its value, the nodes it was computed from and the derivative of the
    operation with respect to each (see the module docstring)."""

    __slots__ = ("adjoint", "leaf", "parents", "partials", "value")

    def __init__(self, value, parents=(), partials=(), leaf=None) -> None:
        self.value = value
        self.parents = parents
        self.partials = partials
        self.adjoint = None
        self.leaf = leaf  # (input name, flat index) of an input entry
        if parents and _tape is not None:  # inlined: one frame less for every operation
            nodes = _tape.nodes
            nodes.append(self)
            if not len(nodes) % _CHECK_EVERY:
                _tape.check()

    # -- arithmetic ------------------------------------------------------------------------------
    def __add__(self, other):
        if isinstance(other, Traced):
            return Traced(self.value + other.value, (self, other), (ONE, ONE))
        c = _mp(other)
        return c if c is NotImplemented else Traced(self.value + c, (self,), (ONE,))

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, Traced):
            return Traced(self.value - other.value, (self, other), (ONE, -ONE))
        c = _mp(other)
        return c if c is NotImplemented else Traced(self.value - c, (self,), (ONE,))

    def __rsub__(self, other):
        c = _mp(other)
        return c if c is NotImplemented else Traced(c - self.value, (self,), (-ONE,))

    def __mul__(self, other):
        if isinstance(other, Traced):
            return Traced(self.value * other.value, (self, other), (other.value, self.value))
        c = _mp(other)
        return c if c is NotImplemented else Traced(self.value * c, (self,), (c,))

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, Traced):
            q = self.value / other.value
            return Traced(q, (self, other), (1 / other.value, -q / other.value))
        c = _mp(other)
        return c if c is NotImplemented else Traced(self.value / c, (self,), (1 / c,))

    def __rtruediv__(self, other):
        c = _mp(other)
        if c is NotImplemented:
            return c
        q = c / self.value
        return Traced(q, (self,), (-q / self.value,))

    def __neg__(self):
        return Traced(-self.value, (self,), (-ONE,))

    def __pos__(self):
        return self

    def __pow__(self, other):
        if isinstance(other, Traced):
            v = self.value**other.value
            dx = other.value * self.value ** (other.value - 1)
            dy = v * gmpy2.log(self.value) if self.value > 0 else ZERO
            return Traced(v, (self, other), (dx, dy))
        c = _mp(other)
        if c is NotImplemented:
            return c
        if c == 0:
            return Traced(ONE, (self,), (ZERO,))
        v = self.value**c
        return Traced(v, (self,), (c * self.value ** (c - 1),))

    def __rpow__(self, other):
        c = _mp(other)
        if c is NotImplemented:
            return c
        v = c**self.value
        return Traced(v, (self,), (v * gmpy2.log(c) if c > 0 else ZERO,))

    def __abs__(self):
        if self.value == 0:
            _tie(self)
        return Traced(abs(self.value), (self,), (ONE if self.value >= 0 else -ONE,))

    # -- comparisons: where a derivative may jump ------------------------------------------------
    def _compare(self, other, op):
        a = self.value
        b = other.value if isinstance(other, Traced) else _mp(other)
        if b is NotImplemented:
            return NotImplemented
        if a == b:
            _tie(self, other)
        return op(a, b)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        if self.value == 0:
            _tie(self)
        return bool(self.value)

    # -- what NumPy asks of an object array ------------------------------------------------------
    def conjugate(self):
        return self

    @property
    def real(self):
        return self

    @property
    def imag(self):
        return 0

    def __float__(self):
        raise Uncovered("float() of a traced number: the forward converts a value to float")

    def __int__(self):
        raise Uncovered("int() of a traced number: the forward converts a value to an integer")

    __index__ = __int__

    def __complex__(self):
        raise Uncovered("complex() of a traced number")

    def __repr__(self) -> str:
        return f"Traced({float(self.value)!r})"


def _unary(name: str, value: Callable, derivative: Callable) -> Callable:
    def method(self):
        v = value(self.value)
        return Traced(v, (self,), (derivative(self.value, v),))

    method.__name__ = name
    return method


_RULES: tuple[tuple[Callable, Callable], ...] = (
    (gmpy2.exp, lambda x, v: v),
    (gmpy2.log, lambda x, v: 1 / x),
    (gmpy2.log1p, lambda x, v: 1 / (1 + x)),
    (gmpy2.expm1, lambda x, v: v + 1),
    (gmpy2.sqrt, lambda x, v: 1 / (2 * v)),
    (gmpy2.tanh, lambda x, v: 1 - v * v),
    (gmpy2.sin, lambda x, v: gmpy2.cos(x)),
    (gmpy2.cos, lambda x, v: -gmpy2.sin(x)),
)

UNARY: dict[str, tuple[Callable, Callable]] = {f.__name__: (f, d) for f, d in _RULES}
"""The functions NumPy's ufuncs call on a traced number by their name (``np.exp(a)`` calls
``a.exp()``; MPFR's function of that name computes it), each as (value, derivative from the
argument x and the value v)."""

for _name, (_value, _derivative) in UNARY.items():
    setattr(Traced, _name, _unary(_name, _value, _derivative))


def _tie(*operands) -> None:
    if _tape is not None:
        _tape.ties.extend(x for x in operands if isinstance(x, Traced))


@dataclass
class Trace:
    """What ``trace`` found: the reference gradient of each traced input (float64, shaped like
    it), the entries at a kink (True where a comparison tied), and the operations it took."""

    gradients: dict[str, np.ndarray]
    kinks: dict[str, np.ndarray]
    operations: int
    value: np.ndarray | float = field(default=0.0)


def trace(
    fn: Callable,
    inputs: Mapping[str, np.ndarray],
    wrt: tuple[str, ...],
    dout: np.ndarray | None = None,
    operations: int = OPERATIONS,
    seconds: float = 60.0,
) -> Trace:
    """The gradient of ``fn(**inputs)`` with respect to each input of ``wrt`` in ``DIGITS``
    digits (for an array output, of sum(dout * fn(**inputs))); ``Uncovered`` when the forward
    leaves what the tracer covers, ``TraceBudget`` past ``operations`` or ``seconds``."""
    global _tape
    tape = _Tape(operations, seconds)
    leaves: dict[str, np.ndarray] = {}
    args: dict[str, object] = {}
    for name, array in inputs.items():
        a = np.asarray(array)
        if a.dtype.kind == "f":  # every float input is traced; wrt says which are read
            flat = np.empty(a.size, dtype=object)
            for i, x in enumerate(a.ravel()):
                flat[i] = Traced(mpfr(float(x)), leaf=(name, i))
            leaves[name] = flat.reshape(a.shape)
            args[name] = leaves[name]
        else:
            args[name] = a
    _tape = tape
    collecting = gc.isenabled()
    gc.disable()  # the tape holds every node: each collection would walk them all again
    try:
        with np.errstate(all="ignore"), _exact():
            out = fn(**args)
            outputs, value = _outputs(out, dout)
            gradients = _sweep(tape, outputs, leaves, wrt)
    except (TraceBudget, KeyboardInterrupt):
        raise
    except Uncovered as e:
        e.where = e.where or _user_line(e)
        raise
    except Exception as e:
        raise _uncovered(e) from None
    finally:
        _tape = None
        if collecting:
            gc.enable()
    kinks = _kinked(tape.ties, leaves, wrt)
    return Trace(gradients, kinks, len(tape.nodes), value)


def _exact():
    """The arithmetic of a trace: ``PRECISION`` bits, and an exception where float64 would make
    a NaN or an infinity (the log of a negative number, a division by zero)."""
    return gmpy2.context(
        gmpy2.get_context(), precision=PRECISION, trap_invalid=True, trap_divzero=True
    )


def _outputs(out, dout) -> tuple[list[tuple[Traced, object]], np.ndarray | float]:
    """The traced output entries with their weights (1 for a scalar, dout's entries for an
    array), and the output's value in float64."""
    arr = np.asarray(out, dtype=object)
    if dout is None and arr.size != 1:
        raise Uncovered(f"the function returned an array of shape {arr.shape}, not a number")
    weights = np.ones(arr.shape) if dout is None else np.broadcast_to(dout, arr.shape)
    pairs, values = [], []
    for x, w in zip(arr.ravel(), weights.ravel(), strict=True):
        if isinstance(x, Traced):
            pairs.append((x, mpfr(float(w))))
            values.append(float(x.value))
        else:
            values.append(float(x))
    value = np.array(values).reshape(arr.shape)
    return pairs, (float(value.ravel()[0]) if dout is None else value)


def _sweep(tape: _Tape, outputs, leaves: dict[str, np.ndarray], wrt) -> dict[str, np.ndarray]:
    """The reverse sweep: adjoints from the outputs back along the tape to the leaves."""
    for node, weight in outputs:
        node.adjoint = weight if node.adjoint is None else node.adjoint + weight
    for node in reversed(tape.nodes):
        g = node.adjoint
        if not g:  # None (not on the way to the output) or 0
            continue
        for parent, d in zip(node.parents, node.partials, strict=False):  # made together
            held = parent.adjoint
            parent.adjoint = g * d if held is None else held + g * d
    gradients = {}
    for name in wrt:
        flat = leaves[name].ravel()
        gradients[name] = np.array(
            [0.0 if x.adjoint is None else float(x.adjoint) for x in flat]
        ).reshape(leaves[name].shape)
    return gradients


def _kinked(ties: list[Traced], leaves: dict[str, np.ndarray], wrt) -> dict[str, np.ndarray]:
    """The input entries any tied node depends on."""
    kinks = {name: np.zeros(leaves[name].shape, dtype=bool) for name in wrt}
    seen: set[int] = set()
    stack = list(ties)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.leaf is not None and node.leaf[0] in kinks:
            name, i = node.leaf
            kinks[name].flat[i] = True
        stack.extend(node.parents)
    return kinks


_NO_METHOD = re.compile(r"does not support argument \d+ of type \w+ which has no callable (\w+)")


def _uncovered(e: Exception) -> Uncovered:
    """An exception of the traced forward as the call the tracer does not cover."""
    m = _NO_METHOD.search(str(e))
    if isinstance(e, gmpy2.InvalidOperationError):
        call = "a value with no real number (a log or root of a negative number, 0/0)"
    elif isinstance(e, gmpy2.DivisionByZeroError):
        call = "a division by zero"
    elif m:
        call = f"np.{m.group(1)}"
    else:
        message = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        call = f"{type(e).__name__}" + (f": {message}" if message else "")
    return Uncovered(call, _user_line(e))


_HERE = Path(__file__).resolve().parent


def _user_line(e: BaseException) -> str:
    """``file.py:12``: the innermost frame of the exception outside bpverify and NumPy."""
    frames = traceback.extract_tb(e.__traceback__)
    own = [
        f
        for f in frames
        if Path(f.filename).resolve().parent != _HERE
        and "numpy" not in Path(f.filename).parts
        and not f.filename.startswith("<frozen")
    ]
    return f"{Path(own[-1].filename).name}:{own[-1].lineno}" if own else ""
