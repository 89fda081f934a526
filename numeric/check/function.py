"""Gradient checks for any NumPy function: ``check_function`` and ``assert_function_close``.

The function is ``fn(**inputs)``, returning a number or an array; the code under test is
``grad(**inputs)`` (the gradient of a number) or ``grad(**inputs, dout=dout)`` (for an array
output, the vector-Jacobian product of the backward pass, with ``dout`` drawn at random). At each
random point three sources of the gradient of every checked input are compared
(``function_sources``):

- ``user``: the code under test;
- ``traced``: the reference traced from ``fn`` itself in 40 digits (``tracer``); when the
  forward uses a call the tracer does not cover, the report names it and the check goes on with
  the other two;
- ``fd``: finite differences of fn, the complex step where fn is complex-safe, else Richardson
  (``--method central`` on request).

The user's gradient is compared with the traced one at every entry. The finite differences are
taken entry by entry for small inputs (at most ``ENTRYWISE_LIMIT`` checked entries in all), of
``sample`` entries per input with ``--sample K``, or along random directions for large inputs or
with ``--projection``: one direction through every checked input at once per point (one
stencil of calls); when it fails, one direction per input, and for an input whose direction
fails ``SAMPLE_ON_FAILURE`` sampled entries, so the report names the input and the worst entry.

Kinks: entries whose traced derivative met a tie (relu at exactly 0) are left out of every
comparison; a finite difference whose stencil shows a jump of the derivative
(``function_sources.jump``) large enough to explain its disagreement with the traced reference
(or, without one, larger than ``JUMP_RATIO`` of the derivative) is left out of the comparisons
with ``fd``, and counted as a kink.

Tolerances are those of ``compare.TOLERANCES``: ``traced`` is exact like ``symbolic``, the user's
code is held to its dtype's row, the finite differences to their method's, with their rounding
noise (eps |g| / h) allowed on top.

Example:
    >>> import numpy as np
    >>> fn = lambda x: np.sum(np.tanh(x) ** 2)
    >>> grad = lambda x: 2 * np.tanh(x) * (1 - np.tanh(x) ** 2)
    >>> check_function(fn, grad, {"x": (3, 4)}).passed
    True
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np

from .compare import NOISE_SAFETY, Comparison, compare, keep_worst, tolerance, tolerance_table
from .inputs import Drawn, draw, resolve
from .options import AUTO, CheckOptions, OptionError
from .report import Problem, Report
from .stencils import STENCILS
from .tracer import OPERATIONS
from .usercode import GradFnError, Isolated, LocalStages

MODES = ("auto", "entries", "directional")
"""How the finite differences are taken: "auto" (entry by entry up to ``ENTRYWISE_LIMIT``
checked entries, along random directions past it), every entry, or random directions."""

ENTRYWISE_LIMIT = 2048
"""Checked entries (all inputs together) up to which "auto" takes every entry's difference."""

SAMPLE_ON_FAILURE = 32
"""Entries of an input whose differences are taken when its random direction fails."""

JUMP_RATIO = 1e-3
"""Without a traced reference, a finite difference whose stencil shows a jump of the derivative
above this fraction of it is a kink."""

TRACE_SHARE = 0.5
"""Share of ``timeout`` the tracer may take at a point before it stops by itself (the worker's
hard limit is the whole ``timeout``)."""

REFERENCE = "the traced reference (MPFR, 40 digits)"

CALLS = {"complex": 1, "richardson": 4, "central": 4}
"""Calls of fn per entry of the finite differences (x +- h, x +- 2h: the jump test needs them
for the central difference too), beside one call at the point for all entries."""

CALLS_SAFETY = 4.0
"""The finite differences of a ``file.py:function`` may take ``--timeout`` plus this many times
the time of their calls, each as long as the point's first call of fn: many calls of a slow
forward are not a hang."""


def check_function(
    fn: Callable | str,
    grad: Callable | str,
    inputs: Mapping[str, Any],
    *,
    wrt: Sequence[str] | str | None = None,
    options: CheckOptions | None = None,
    mode: str = "auto",
    name: str = "",
    progress: Callable[[str], None] | None = None,
    **settings: Any,
) -> Report:
    """Check ``grad`` against the traced reference and finite differences of ``fn``.

    Arguments:
        fn: the forward, ``fn(**inputs) -> float or array``, or ``"file.py:function"``.
        grad: the code under test, ``grad(**inputs)`` for a number or ``grad(**inputs,
            dout=...)`` for an array; it returns a dict by input name, a tuple in the order of
            the inputs (or of ``wrt``), or one array when one input is checked. A callable when
            ``fn`` is one, else ``"file.py:function"``.
        inputs: name -> an array, or a shape to draw at random at every point (an int or a
            tuple, or a string such as "8x16" or "8:int5"; ``inputs.KINDS``).
        wrt: the inputs to check (names, or "x,gamma"); default every floating-point input.
        options: a ``CheckOptions``; its fields may also be given as keywords (``method``,
            ``points``, ``seed``, ``sample``, ``projection``, ``rtol``, ``atol``, ``timeout``,
            ``memory_limit``, ``dtype``). ``batch``, ``targets``, ``avoid_kinks`` and
            ``unrolled`` are about networks and are not used.
        mode: one of ``MODES``.
        name: a label for the report.
        progress: called with a short message as each stage starts.

    Raises an ``InputError`` for inputs, options or references that cannot be used; whatever
    the user's code does once it runs is a problem in the report. Two ``"file.py:function"``
    run in a worker process on ``options.timeout`` and ``options.memory_limit``.
    """
    options = replace(options or CheckOptions(), **settings)
    if mode not in MODES:
        raise OptionError(f"unknown mode {mode!r}: choose {', '.join(MODES)}")
    resolved, chosen = resolve(inputs, wrt)
    entries = sum(resolved[k].size for k in chosen)
    if options.projection:
        mode = "directional"
    elif mode == "auto":
        small = entries <= ENTRYWISE_LIMIT or options.sample is not None
        mode = "entries" if small else "directional"
    drawn = any(isinstance(v, Drawn) for v in resolved.values())
    points = options.points if drawn else 1
    with _opened(fn, grad, options) as stages:
        check = _FunctionCheck(stages, resolved, chosen, options, mode, points)
        check.say = progress or _quiet
        return check.run(_label(fn, resolved, chosen), name)


def assert_function_close(*args, **kwargs) -> Report:
    """``check_function``, raising AssertionError with the per-input table when it fails."""
    __tracebackhide__ = True
    report = check_function(*args, **kwargs)
    if not report.passed:
        raise AssertionError("gradient check failed\n" + report.table())
    return report


@contextmanager
def _opened(fn, grad, options: CheckOptions) -> Iterator[Isolated | LocalStages]:
    if isinstance(fn, str) and isinstance(grad, str):
        stages: Isolated | LocalStages = Isolated(
            {"fn": fn, "grad": grad}, options.timeout, options.memory_limit
        )
    elif callable(fn) and callable(grad):
        stages = LocalStages({"fn": fn, "grad": grad})
    else:
        raise GradFnError(
            "give fn and grad both as functions or both as 'path/file.py:function' "
            "(--function and --grad-fn)"
        )
    try:
        yield stages
    finally:
        stages.close()


def _quiet(message: str) -> None:
    """No progress wanted."""


def _label(fn, resolved, chosen) -> str:
    what = fn if isinstance(fn, str) else getattr(fn, "__name__", type(fn).__name__)
    shapes = ", ".join(f"{k} {'x'.join(map(str, v.shape)) or '()'}" for k, v in resolved.items())
    return f"function {what} of {shapes}; checked: {', '.join(chosen)}"


class _FunctionCheck:
    """One function check: its stages, settings and the worst comparison of each pair."""

    def __init__(self, stages, resolved, chosen, options: CheckOptions, mode, points) -> None:
        self.stages, self.resolved, self.chosen = stages, resolved, chosen
        self.options, self.mode, self.points = options, mode, points
        self.shapes = {k: tuple(resolved[k].shape) for k in chosen}
        self.sizes = {k: resolved[k].size for k in chosen}
        self.tolerances = tolerance_table(options.rtol, options.atol)
        self.method = "" if options.method == AUTO else options.method
        self.say: Callable[[str], None] = _quiet
        self.problems: list[Problem] = []
        self.notes: list[str] = []
        self.input_bytes = 8 * sum(v.size for v in resolved.values())
        self.call_seconds = math.inf

    # -- stages ----------------------------------------------------------------------------------
    def stage(self, stage: str, p: int, arrays: dict, reply_bytes: int = 0, **meta):
        """One stage's reply at point ``p``, or None after recording its problem."""
        reply_bytes = reply_bytes or 4 * self.input_bytes + (1 << 16)
        start = time.monotonic()
        reply, out = self.stages.stage({"stage": stage, "point": p, **meta}, arrays, reply_bytes)
        if stage == "forward":  # what one call of fn takes, for the stages that make many
            self.call_seconds = min(self.call_seconds, time.monotonic() - start)
        if "problem" in reply:
            self.problems.append(Problem(None, reply["problem"], p))
            return None
        return reply, out

    def run(self, label: str, name: str) -> Report:
        options = self.options
        rng = np.random.default_rng(options.seed)
        worst: dict[tuple[str, tuple[str, str]], Comparison] = {}
        for p in range(self.points):
            rows = self.point(p, rng)
            if rows is None:
                break
            for c in rows:
                c.point = p
            keep_worst(worst, rows)
        mode = {
            "entries": "every entry",
            "directional": "random directions (every input at once, then one per input)",
        }[self.mode]
        if self.mode == "entries" and options.sample is not None:
            mode = f"{options.sample} sampled entries per input"
        report = Report(
            label,
            "user",
            options.dtype,
            self.method or "not run",
            self.points,
            0,
            mode,
            name=name,
            reference=REFERENCE,
        )
        report.comparisons = list(worst.values())
        report.add_problems(self.problems)
        report.notes = list(dict.fromkeys(self.notes))
        return report

    def point(self, p: int, rng: np.random.Generator) -> list[Comparison] | None:
        """Every comparison at one random point; None when the user's code failed there."""
        x = draw(self.resolved, rng, self.options.dtype)
        arrays: dict[str, np.ndarray] = {f"in.{k}": v for k, v in x.items()}
        self.say(f"point {p + 1} of {self.points}: the function")
        found = self.stage("forward", p, arrays, reply_bytes=64 * self.input_bytes + (1 << 24))
        if found is None:
            return None
        shape, value = found[0]["shape"], found[1]["value"]
        dout = None
        if shape is not None:
            dout = rng.standard_normal(tuple(shape))
            arrays["dout"] = dout
            size = float(np.sum(np.abs(dout * value)))
        else:
            size = abs(float(np.ravel(value)[0]))  # a frame sends a number as one entry
        self.say(f"point {p + 1} of {self.points}: the gradient under test")
        dt = np.dtype(self.options.dtype)  # the code under test sees its own precision
        cast = {k: v.astype(dt) if v.dtype.kind == "f" else v for k, v in arrays.items()}
        found = self.stage("gradient", p, cast, wrt=list(self.chosen))
        if found is None:
            return None
        for tensor, message in found[0]["problems"]:
            self.problems.append(Problem(tensor, message, p))
        user = {k: np.asarray(v, dtype=np.float64) for k, v in found[1].items()}
        if not self.method and not self.choose_method(p, arrays):
            return None
        self.say(f"point {p + 1} of {self.points}: the traced reference")
        traced, kinks = self.trace(p, arrays)
        self.say(f"point {p + 1} of {self.points}: finite differences ({self.method})")
        rows = []
        if self.mode == "directional" and len(self.chosen) > 1:  # every input at once first
            joint = self.projection(self.chosen, p, rng, arrays, size, user, traced, kinks)
            if joint is None:
                return None
            if all(c.passed for c in joint):
                return joint + self.traced_rows(self.chosen, user, traced, kinks)
        for k in self.chosen:
            found_rows = self.compare_input(k, p, rng, arrays, size, user, traced, kinks)
            if found_rows is None:
                return None
            rows += found_rows
        return rows

    def choose_method(self, p: int, arrays: dict) -> bool:
        probe = CALLS_SAFETY * self.call_seconds * (CALLS["central"] + 2)
        found = self.stage(
            "complex-safe", p, arrays, wrt=list(self.chosen), seed=p, calls_seconds=probe
        )
        if found is None:
            return False
        self.method = "complex" if found[0]["safe"] else "richardson"
        if self.method == "richardson":
            self.notes.append(
                "the forward is not complex-safe (found by trying): Richardson extrapolation"
            )
        return True

    def trace(self, p: int, arrays: dict):
        budget = TRACE_SHARE * self.options.timeout
        found = self.stage(
            "trace", p, arrays, wrt=list(self.chosen), operations=OPERATIONS, seconds=budget
        )
        if found is None:
            return None, {}
        reply, out = found
        if "uncovered" in reply:
            self.notes.append(
                f"the traced reference does not cover {reply['uncovered']}: checked against "
                "finite differences alone"
            )
            return None, {}
        if "budget" in reply:
            self.notes.append(
                f"the traced reference stopped at its budget ({reply['budget']}): checked "
                "against finite differences alone"
            )
            return None, {}
        traced = {k: out[f"g.{k}"] for k in self.chosen}
        kinks = {k: out[f"k.{k}"].astype(bool) for k in self.chosen}
        for k, m in kinks.items():
            if m.any():
                self.notes.append(
                    f"point {p}: {int(m.sum())} entries of {k} sit exactly on a kink (a tie "
                    "in a comparison): left out"
                )
        return traced, kinks

    # -- comparisons -----------------------------------------------------------------------------
    def traced_rows(self, names, user, traced, kinks) -> list[Comparison]:
        """The user's gradient against the traced one, every entry of the inputs ``names``."""
        rows = []
        for k in names:
            if traced and k in user:
                scale = float(np.max(np.abs(traced[k]), initial=0.0))
                c = self.compare(k, ("user", "traced"), user[k], traced[k], scale, kinks=kinks[k])
                rows.append(c)
        return rows

    def compare_input(self, k, p, rng, arrays, size, user, traced, kinks) -> list | None:
        """Every comparison of input ``k``: with the traced gradient, then with finite
        differences (entries, or a direction followed by sampled entries when it fails)."""
        kink = kinks.get(k)
        scale = float(np.max(np.abs(traced[k]), initial=0.0)) if traced else 0.0
        rows = self.traced_rows((k,), user, traced, kinks)
        if self.mode == "directional":
            directional = self.projection((k,), p, rng, arrays, size, user, traced, kinks)
            if directional is None:
                return None
            if all(c.passed for c in directional):
                return rows + directional
            n = self.sizes[k]
            entries = np.sort(rng.choice(n, min(SAMPLE_ON_FAILURE, n), replace=False))
            note = f"direction failed: {len(entries)} sampled entries"
        else:
            entries = None
            if self.options.sample is not None:
                n = self.sizes[k]
                entries = np.sort(rng.choice(n, min(self.options.sample, n), replace=False))
            note = ""
        extra = {} if entries is None else {"entries": entries.astype(np.int64)}
        count = self.sizes[k] if entries is None else len(entries)
        found = self.stage(
            "differences",
            p,
            {**arrays, **extra},
            name=k,
            method=self.method,
            size=size,
            calls_seconds=CALLS_SAFETY * self.call_seconds * (count * CALLS[self.method] + 1),
        )
        if found is None:
            return None
        out = found[1]
        fd, jump, noise = out["values"], out["jump"], self.noise(out["noise"])
        mask = np.isfinite(fd)
        if not traced:
            scale = float(np.max(np.abs(np.where(mask, fd, 0.0)), initial=0.0))
        ref = traced[k] if traced else None
        fd_kinks = self.fd_kinks(fd, jump, noise, scale, ref)
        if kink is not None:
            fd_kinks = fd_kinks | kink
        for a, mine in (("user", user.get(k)), ("traced", ref)):
            if mine is not None:
                c = self.compare(k, (a, "fd"), mine, fd, scale, noise, mask, fd_kinks=fd_kinks)
                c.note = note
                rows.append(c)
        return rows

    def projection(self, names, p, rng, arrays, size, user, traced, kinks) -> list | None:
        """The derivative along one random direction of the inputs ``names`` at once, of each
        source against the finite difference, held to the tolerances relative to
        sum |g * v| (the size of the terms); None when the user's code failed."""
        directions = {k: rng.standard_normal(self.shapes[k]) for k in names}
        moves = {f"v.{k}": v for k, v in directions.items()}
        found = self.stage(
            "directional",
            p,
            {**arrays, **moves},
            method=self.method,
            size=size,
            calls_seconds=CALLS_SAFETY * self.call_seconds * (CALLS[self.method] + 1),
        )
        if found is None:
            return None
        reply = found[0]
        fd = np.array([reply["value"]])
        projected = {
            source: np.array([sum(np.sum(g[k] * directions[k]) for k in names)])
            for source, g in (("user", user), ("traced", traced or {}))
            if all(k in g for k in names)
        }
        scale = 0.0
        if traced:
            scale = float(sum(np.sum(np.abs(traced[k] * directions[k])) for k in names))
        noise = self.noise(reply["noise"])
        jump = np.array([reply["jump"]])
        fd_kinks = self.fd_kinks(fd, jump, noise, scale, projected.get("traced"))
        on_kink = any(k in kinks and kinks[k].any() for k in names)
        rows = []
        for a, v in projected.items():
            c = self.compare(",".join(names), (a, "fd"), v, fd, scale, noise, fd_kinks=fd_kinks)
            c.worst, c.note = (), "direction"
            if on_kink:
                c.verdict, c.kinks = "kink", 1
            rows.append(c)
        return rows

    def noise(self, raw):
        """The rounding noise a difference may carry: eps |g| / h times the stencil's weights
        and ``compare.NOISE_SAFETY``."""
        weights = float(np.sum(np.abs(STENCILS[self.method][1])))
        return NOISE_SAFETY * weights * np.asarray(raw)

    def fd_kinks(self, fd, jump, noise, scale, ref):
        """Entries whose finite difference crossed a kink inside its stencil (module
        docstring); none for the complex step, which never leaves the point's branches."""
        if self.method == "complex":
            return np.zeros(np.shape(fd), dtype=bool)
        rtol, atol = tolerance("traced", self.method, self.tolerances)
        with np.errstate(invalid="ignore"):
            if ref is None:
                return np.asarray(jump > JUMP_RATIO * np.abs(fd) + atol * scale + noise)
            err = np.abs(ref - fd)
            allowed = rtol * np.maximum(np.abs(ref), np.abs(fd)) + atol * scale + noise
            return np.asarray((err > allowed) & (8 * jump >= err))

    def compare(self, k, pair, a, b, scale, noise=0.0, mask=None, kinks=None, fd_kinks=None):
        kind = {"user": self.options.dtype, "traced": "traced", "fd": self.method}
        rtol, atol = tolerance(kind[pair[0]], kind[pair[1]], self.tolerances)
        left_out = kinks if fd_kinks is None else fd_kinks
        return compare(
            k, pair, a, b, rtol=rtol, atol=atol, scale=scale, noise=noise, mask=mask, kinks=left_out
        )
