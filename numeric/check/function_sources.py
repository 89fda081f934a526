"""The three sources of a function's gradient at one point, computed where the user's code runs.

``check_function`` (``numeric.check.function``) compares, for any NumPy function ``fn`` of named
array inputs, three gradients of the scalar

    g(inputs) = fn(**inputs)                  when fn returns a number,
    g(inputs) = sum(dout * fn(**inputs))      when it returns an array (dout drawn at random),

with respect to each input of ``wrt``: the user's ``grad`` (``user_gradient``), finite
differences of g (``differences``, ``directional``) and the reference traced from ``fn`` itself
(``tracer``). Everything here calls the user's code, so it runs in the worker process for a
``file.py:function`` (``worker``) and in this process for a Python callable; it imports NumPy,
the tracer (gmpy2) and the report only.

Finite differences take the stencil rows of ``stencils``. The complex step is used where the
forward is complex-safe, which ``complex_safe`` finds by trying: fn must accept a complex
perturbation, keep its real part, and agree with a central difference along one random
direction. Otherwise every entry is evaluated at x, x +- h and x +- 2h, which gives the central
difference D(h), D(2h), Richardson's (4 D(h) - D(2h)) / 3, and the evidence of a kink inside the
stencil: a derivative that jumps by J at distance d from x makes D(h) and D(2h), or the second
differences at h and 2h, differ by at least J / 8, where a smooth g makes them differ by
O(h^2). ``jump`` is that evidence, for the check to weigh against the disagreement it explains.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .outcome import checked_array, describe
from .report import Problem
from .stencils import EPS, STENCILS, STEPS

CONSISTENCY = 1e-5
"""How closely the complex step must match a central difference along one direction for the
forward to count as complex-safe (the central difference's own error is about 1e-10)."""


@dataclass
class Output:
    """What fn returned at the point: a number (``shape`` None) or an array of ``shape``, with
    sum |dout * fn| (the scale of g's rounding error)."""

    value: float | np.ndarray
    shape: tuple[int, ...] | None
    size: float


def forward(fn: Callable, inputs: Mapping[str, np.ndarray]) -> tuple[Output | None, str]:
    """fn at the inputs, or None and what is wrong with what it returned (or raised)."""
    try:
        with np.errstate(all="ignore"):
            out = fn(**_copies(inputs))
    except (Exception, SystemExit) as e:
        return None, f"the function {describe(e)}"
    array, wrong = checked_array(out)
    if array is None:
        return None, f"the function returned {wrong}"
    if array.ndim == 0:
        return Output(float(array), None, abs(float(array))), ""
    return Output(array, array.shape, 0.0), ""


def user_gradient(
    grad: Callable,
    inputs: Mapping[str, np.ndarray],
    wrt: Sequence[str],
    dout: np.ndarray | None,
    point: int,
) -> tuple[dict[str, np.ndarray], list[Problem]]:
    """``grad(**inputs)`` (``dout=dout`` too for an array output) read as one gradient per input
    of ``wrt``: a dict by name, a tuple in the order of the inputs or of ``wrt``, or one array
    when one input is checked; the problems with anything else."""
    extra = {} if dout is None else {"dout": dout.copy()}
    try:
        with np.errstate(all="ignore"):
            out = grad(**_copies(inputs), **extra)
    except (Exception, SystemExit) as e:
        return {}, [Problem(None, f"the gradient function {describe(e)}", point)]
    named, problem = _named(out, list(inputs), list(wrt))
    if problem:
        return {}, [Problem(None, problem, point)]
    grads, problems = {}, []
    for name in wrt:
        if name not in named:
            message = "missing from what the gradient function returned"
            problems.append(Problem(name, message, point))
            continue
        array, wrong = checked_array(named[name], np.shape(inputs[name]))
        if array is None:
            problems.append(Problem(name, wrong, point))
        else:
            grads[name] = array
    return grads, problems


def _named(out, names: list[str], wrt: list[str]) -> tuple[dict, str]:
    if isinstance(out, Mapping):
        return dict(out), ""
    if isinstance(out, (tuple, list)):
        for order in (names, wrt):
            if len(out) == len(order):
                return dict(zip(order, out, strict=True)), ""
        return {}, (
            f"the gradient function returned {len(out)} gradients; give one per input "
            f"({', '.join(names)}) or one per checked input ({', '.join(wrt)}), or a dict by name"
        )
    if len(wrt) == 1:
        return {wrt[0]: out}, ""
    kind = type(out).__name__
    return {}, f"the gradient function returned a {kind}; return a dict by input name or a tuple"


def _copies(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.array(v, copy=True) for k, v in inputs.items()}


class Scalar:
    """g (see the module docstring) as a function of one perturbation of the inputs.

    The inputs a call does not move are passed as read-only views, not copied at every call;
    a forward that writes into its inputs raises there, and from then on every call gets
    copies instead."""

    def __init__(self, fn: Callable, inputs: Mapping[str, np.ndarray], dout) -> None:
        self.fn, self.inputs, self.dout = fn, inputs, dout
        self.fixed = {k: _read_only(v) for k, v in inputs.items()}
        self.shared = True

    def at(self, moves: Mapping[str, np.ndarray], dtype=np.float64):
        """g at inputs + moves (a dict of arrays shaped like the inputs), in ``dtype``."""
        return self._g(lambda: {k: self.inputs[k].astype(dtype) + v for k, v in moves.items()})

    def at_entry(self, name: str, i: int, t, dtype=np.float64):
        """g with entry ``i`` (flat) of input ``name`` moved by t, in ``dtype``."""

        def moved():
            x = self.inputs[name].astype(dtype)
            x.flat[i] += t
            return {name: x}

        return self._g(moved)

    def _g(self, moved: Callable[[], dict]):
        while True:
            unmoved = self.fixed if self.shared else {k: v.copy() for k, v in self.inputs.items()}
            try:
                with np.errstate(all="ignore"):
                    out = np.asarray(self.fn(**{**unmoved, **moved()}))
                break
            except ValueError as e:
                if not (self.shared and "read-only" in str(e)):
                    raise
                self.shared = False
        if self.dout is not None:
            return np.sum(self.dout * out)
        return out.reshape(())[()]


def _read_only(a: np.ndarray) -> np.ndarray:
    view = np.asarray(a).view()
    view.flags.writeable = False
    return view


@dataclass
class Differences:
    """Finite differences of g for the entries of one input: ``values`` (NaN where not asked),
    the ``jump`` evidence of a kink inside the stencil, the rounding ``noise`` of each value and
    its ``steps``."""

    values: np.ndarray
    jump: np.ndarray
    noise: np.ndarray
    steps: np.ndarray


def differences(
    g: Scalar, name: str, entries: np.ndarray | None, method: str, size: float
) -> Differences:
    """dg/d input ``name`` at the flat ``entries`` (all when None) by ``method``; ``size`` is
    sum |dout * fn| (or |fn|), the scale of g's rounding error."""
    x = g.inputs[name]
    shape = np.shape(x)
    flat = np.ravel(x)
    idx = np.arange(flat.size) if entries is None else entries
    steps = STEPS[method] * np.maximum(np.abs(flat), 1.0)
    values = np.full(flat.size, np.nan)
    jump = np.zeros(flat.size)
    noise = np.zeros(flat.size)
    f0 = _at_the_point(g, method)
    for i in idx:
        h = float(steps[i])

        def at(t, dtype=np.float64, i=i):
            return g.at_entry(name, int(i), t, dtype)

        values[i], jump[i], noise[i] = _derivative(at, h, method, size, f0)
    return Differences(values.reshape(shape), jump.reshape(shape), noise.reshape(shape), steps)


def directional(
    g: Scalar, tangents: Mapping[str, np.ndarray], method: str, size: float
) -> tuple[float, float, float]:
    """The derivative of g along ``tangents`` (one direction for every checked input at once),
    its kink evidence and rounding noise."""
    big = max(float(np.max(np.abs(g.inputs[k]), initial=0.0)) for k in tangents)
    longest = max(float(np.max(np.abs(v), initial=0.0)) for v in tangents.values())
    h = STEPS[method] * max(big, 1.0) / max(longest, 1e-300)

    def at(t, dtype=np.float64):
        return g.at({k: t * v for k, v in tangents.items()}, dtype)

    return _derivative(at, h, method, size, _at_the_point(g, method))


def _at_the_point(g: Scalar, method: str) -> float:
    """g itself, which the real stencils' jump test and noise read (the complex step: not)."""
    return 0.0 if method == "complex" else float(g.at({}))


JUMP_OFFSETS = (1.0, -1.0, 2.0, -2.0)
"""Where every real stencil evaluates g (in steps h): the central difference and Richardson's
take their rows of ``stencils.STENCILS`` from these, the jump test all four."""


def _derivative(
    at: Callable, h: float, method: str, size: float, f0: float
) -> tuple[float, float, float]:
    """(derivative, jump evidence, rounding noise) of t -> at(t) at 0 with step h, where
    at(0) = f0 (the same for every entry, so taken once)."""
    if method == "complex":
        return float(np.imag(at(1j * h, np.complex128))) / h, 0.0, 0.0
    f = {t: float(at(t * h)) for t in JUMP_OFFSETS}
    d1, d2 = (f[1.0] - f[-1.0]) / (2 * h), (f[2.0] - f[-2.0]) / (4 * h)
    s1, s2 = (f[1.0] - 2 * f0 + f[-1.0]) / h**2, (f[2.0] - 2 * f0 + f[-2.0]) / (4 * h**2)
    jump = max(abs(d1 - d2), h * abs(s1 - s2))
    offsets, weights = STENCILS[method]
    value = sum(w * f[float(np.real(t))] for t, w in zip(offsets, weights, strict=True)) / h
    noise = EPS * max(size, abs(f0)) / h
    return value, jump, noise


def complex_safe(g: Scalar, wrt: Sequence[str], rng: np.random.Generator) -> bool:
    """Whether the complex step can be trusted on g: along a random direction of every input of
    ``wrt`` at once, and of each alone (as the differences move them), g runs on complex inputs
    without a warning (a complex value cast to float warns), keeps its value in the real part
    and agrees with a central difference."""
    tangents = {k: rng.standard_normal(np.shape(g.inputs[k])) for k in wrt}
    groups = [tangents] + ([{k: v} for k, v in tangents.items()] if len(tangents) > 1 else [])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            real = float(g.at({}))
            return all(_complex_agrees(g, group, real) for group in groups)
    except (Exception, SystemExit):
        return False


def _complex_agrees(g: Scalar, tangents: dict, real: float) -> bool:
    h = 1e-20
    z = complex(g.at({k: 1j * h * v for k, v in tangents.items()}, np.complex128))
    step, _, _ = directional(g, tangents, "central", abs(real))
    if not (np.isfinite(z.real) and np.isfinite(z.imag) and np.isfinite(step)):
        return False
    if abs(z.real - real) > 1e-12 * max(abs(real), 1.0):
        return False
    return abs(z.imag / h - step) <= CONSISTENCY * max(abs(step), abs(z.imag / h), 1e-8)


# -- one request: the same answers in this process and in the worker -------------------------------


def answer(meta: dict, arrays: dict[str, np.ndarray], functions: Mapping[str, Callable]):
    """The reply (meta, arrays) to one stage of a function check: ``meta["stage"]`` names it,
    ``arrays`` hold the inputs ("in.NAME"), ``dout`` and the directions ("v.NAME")."""
    inputs = {k[3:]: v for k, v in arrays.items() if k.startswith("in.")}
    dout = arrays.get("dout")
    stage = meta["stage"]
    if stage == "forward":
        out, problem = forward(functions["fn"], inputs)
        if out is None:
            return {"problem": problem}, {}
        value = {"value": np.asarray(out.value, dtype=np.float64)}
        return {"shape": None if out.shape is None else list(out.shape)}, value
    if stage == "gradient":
        grads, problems = user_gradient(functions["grad"], inputs, meta["wrt"], dout, meta["point"])
        listed = [[p.tensor, p.message] for p in problems]
        return {"problems": listed}, grads
    g = Scalar(functions["fn"], inputs, dout)
    if stage == "complex-safe":
        rng = np.random.default_rng(meta["seed"])
        return {"safe": complex_safe(g, meta["wrt"], rng)}, {}
    if stage == "differences":
        entries = arrays.get("entries")
        found = differences(
            g,
            meta["name"],
            None if entries is None else entries.astype(np.int64),
            meta["method"],
            meta["size"],
        )
        return {}, {"values": found.values, "jump": found.jump, "noise": found.noise}
    if stage == "directional":
        tangents = {k[2:]: v for k, v in arrays.items() if k.startswith("v.")}
        d, jump, noise = directional(g, tangents, meta["method"], meta["size"])
        return {"value": d, "jump": jump, "noise": noise}, {}
    if stage == "trace":
        return _traced(functions["fn"], inputs, meta, dout)
    raise ValueError(f"no stage {stage!r}")


def _traced(fn: Callable, inputs, meta: dict, dout):
    from .tracer import TraceBudget, Uncovered, trace

    try:
        found = trace(fn, inputs, tuple(meta["wrt"]), dout, meta["operations"], meta["seconds"])
    except Uncovered as e:
        return {"uncovered": str(e)}, {}
    except TraceBudget as e:
        return {"budget": str(e)}, {}
    arrays = {f"g.{k}": v for k, v in found.gradients.items()}
    arrays.update({f"k.{k}": v.astype(np.float64) for k, v in found.kinks.items()})
    return {"operations": found.operations}, arrays
