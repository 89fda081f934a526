"""Three-way gradient check: symbolic truth, the code under test, finite differences.

``check_gradients`` draws a few random points (parameters, a batch of inputs and targets), and
at each one computes every gradient tensor (dC/dW^(l), dC/db^(l) and dC/da^(l-1)) three ways:

- symbolic: the derived rules in 34-digit arithmetic (``numeric.check.exact``), the ground truth;
- the candidate: the generated NumPy code (``Program``) in float64 or float32, or the user's
  own ``grad_fn(params, X, Y)``;
- finite differences of the loss (``numeric.check.finite``): the complex step when every activation
  is analytic, Richardson extrapolation otherwise, or the method asked for.

Every tensor is compared for each pair of sources (``numeric.check.compare``), and the worst of the
points is kept in the ``Report``. Modes for large networks: ``sample=K`` takes the finite
differences of K entries of every tensor; ``projection=True`` compares directional derivatives
along one random direction per tensor, and checks a tensor entry by entry only when that fails.
Every setting is a field of ``CheckOptions`` (``numeric.check.options``).

Example:
    >>> report = check_gradients((2, 3, 1), activation="tanh")
    >>> report.passed
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np

from bpverify.derive import ACTIVATIONS, LOSSES, NetworkSpec, parse_spec
from bpverify.derive.losses import PROBABILITY, REAL, SIMPLEX

from .. import memory
from ..codegen.program import Program
from ..init import init_params
from . import usercode
from .compare import (
    FLOORS,
    NOISE_SAFETY,
    Comparison,
    compare,
    keep_worst,
    tolerance,
    tolerance_table,
)
from .exact import REFERENCE_DIGITS, UNROLLED_REFERENCE_LIMIT, Exact, Unrolled
from .factors import Reading, readings
from .finite import EPS, STENCILS, FiniteDifferences, analytic, default_method
from .options import AUTO, ONE_HOT, SOFT, CheckOptions, OptionError
from .report import Problem, Report

NETWORK_SETTINGS = ("activation", "loss", "leaky_slope", "cost", "l2")
"""The keywords of ``check_gradients`` that complete a network given as widths."""

KINK_REDRAWS = 50
"""How many times ``avoid_kinks`` redraws the inputs of a point before giving up."""


@dataclass
class Point:
    """Where the gradients are compared: params in the public convention, X (n, n0), Y (n, nL)."""

    params: dict[str, np.ndarray]
    X: np.ndarray
    Y: np.ndarray


def random_inputs(spec: NetworkSpec, rng: np.random.Generator, batch: int) -> np.ndarray:
    return rng.standard_normal((batch, spec.widths[0]))


def _one_hot(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return np.eye(shape[1])[rng.integers(shape[1], size=shape[0])]


TARGET_DRAWS: dict[tuple[str, str], Callable[[np.random.Generator, tuple[int, int]], np.ndarray]]
TARGET_DRAWS = {
    (REAL, SOFT): lambda rng, shape: rng.standard_normal(shape),
    (PROBABILITY, SOFT): lambda rng, shape: rng.uniform(0.0, 1.0, shape),
    (SIMPLEX, SOFT): lambda rng, shape: rng.dirichlet(np.ones(shape[1]), size=shape[0]),
    (PROBABILITY, ONE_HOT): _one_hot,
    (SIMPLEX, ONE_HOT): _one_hot,
}
"""How targets of each kind (a loss row's ``targets``) are drawn, by ``CheckOptions.targets``;
the pairs ``options.TARGET_CHOICES`` allows."""


def random_targets(
    spec: NetworkSpec, rng: np.random.Generator, batch: int, targets: str = SOFT
) -> np.ndarray:
    """Targets of the kind the loss takes (its row's ``targets``): any real numbers,
    probabilities, or probability vectors that sum to 1; with ``targets="one-hot"``, one 1 per
    sample (a kind that allows it, see ``options.TARGET_CHOICES``)."""
    return TARGET_DRAWS[LOSSES[spec.loss].targets, targets](rng, (batch, spec.widths[-1]))


def random_point(
    spec: NetworkSpec,
    rng: np.random.Generator,
    batch: int = CheckOptions.batch,
    targets: str = SOFT,
) -> Point:
    """Parameters drawn as training would start them, with biases drawn too (a zero bias hides
    bugs that scale it), inputs standard normal and targets that fit the loss (drawn as
    ``targets`` says: "soft" or "one-hot")."""
    params = init_params(spec.widths, spec.activations, rng)
    for l in range(1, spec.layers + 1):
        params[f"b{l}"] = 0.5 * rng.standard_normal(spec.widths[l])
    X = random_inputs(spec, rng, batch)  # drawn before the targets: the seeds' points stay
    return Point(params, X, random_targets(spec, rng, batch, targets))


@cache
def _sources(spec: NetworkSpec, dtype: str) -> tuple[Exact, FiniteDifferences, Program]:
    return Exact(spec), FiniteDifferences(spec), Program(spec, np.dtype(dtype))


@cache
def _unrolled(spec: NetworkSpec, batch: int) -> Unrolled:
    return Unrolled(spec, batch)


def _shapes(spec: NetworkSpec, batch: int) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for l in range(1, spec.layers + 1):
        shapes[f"W{l}"] = (spec.widths[l], spec.widths[l - 1])
        shapes[f"b{l}"] = (spec.widths[l],)
    for l in range(spec.layers):
        shapes[f"dC_da{l}"] = (batch, spec.widths[l])
    return shapes


def check_gradients(
    network: NetworkSpec | Sequence[int],
    grad_fn: Callable | str | None = None,
    options: CheckOptions | None = None,
    *,
    at: Point | None = None,
    name: str = "",
    progress: Callable[[str], None] | None = None,
    **settings: Any,
) -> Report:
    """Check the gradients of a network three ways (see the module docstring).

    Arguments:
        network: a ``NetworkSpec``, or the widths n_0, ..., n_L; then the keywords
            ``activation``, ``loss``, ``leaky_slope``, ``cost`` and ``l2`` complete it
            (``NetworkSpec`` defaults).
        grad_fn: the code under test, ``grad_fn(params, X, Y) -> dict`` in the public
            convention, or ``"path/file.py:function"``; None checks the generated code.
        options: a ``CheckOptions`` (dtype, method, points, batch, seed, sample, projection,
            avoid_kinks, unrolled, rtol, atol, timeout, memory_limit, targets); any of its
            fields may also be given as a keyword, which replaces the value in ``options``.
        at: one given point to check at, instead of ``options.points`` random ones.
        name: a label for the report.
        progress: called with a short message as each stage starts (the command line shows
            it at a terminal); nothing here prints.

    Raises an ``InputError`` (``OptionError``, ``SpecError``, ``usercode.GradFnError``) for
    options, a network or a ``grad_fn`` that cannot be found. A failure inside ``grad_fn``
    is not raised: it is a problem in the report. A ``"file.py:function"`` runs in a worker
    process on ``options.timeout`` and ``options.memory_limit``, so that not even an exit, a
    hang or a crash escapes; a callable runs here (``usercode``).

    Example:
        >>> check_gradients((2, 3, 1), activation="tanh", points=1, seed=2).passed
        True
    """
    network_settings = {k: settings.pop(k) for k in NETWORK_SETTINGS if k in settings}
    options = replace(options or CheckOptions(), **settings)
    spec = _spec(network, network_settings)
    method = check_fits(spec, options)
    memory.require_check(spec.widths, options.batch if at is None else np.shape(at.X)[0])
    with usercode.opened(grad_fn, options) as user:  # a "file.py:function" in a worker
        return _check(spec, user, options, method, at, name, progress)


def _check(spec, grad_fn, options, method, at, name, progress) -> Report:
    """``check_gradients`` once its arguments are sound and the user's code is ready."""
    batch, points = (np.shape(at.X)[0], 1) if at is not None else (options.batch, options.points)
    say = progress or _quiet
    say("deriving the rules and generating the code")
    exact, fd, program = _sources(spec, options.dtype)
    candidate = "user" if grad_fn is not None else "generated"
    sample = options.sample
    mode = "every entry"
    if sample is not None:
        mode = f"{sample} sampled entries per tensor"
    if options.projection:
        mode = "random projections" + (f", {sample} sampled entries" if sample else "")
    report = Report(
        spec.describe(), candidate, options.dtype, method, points, batch, mode, name=name
    )
    tolerances = tolerance_table(options.rtol, options.atol)
    run = _Run(spec, exact, fd, program, grad_fn, options.dtype, method, tolerances, report)
    run.say = say
    if options.unrolled:
        run.unrolled = _unrolled(spec, batch)
    rng = np.random.default_rng(options.seed)
    worst: dict[tuple[str, tuple[str, str]], Comparison] = {}
    for p in range(points):
        run.where = f"point {p + 1} of {points}"
        point = at if at is not None else random_point(spec, rng, batch, options.targets)
        point = run.representable(point)
        keep_worst(worst, run.point(point, p, rng, sample, options.projection, options.avoid_kinks))
    report.comparisons = list(worst.values())
    return report


def _spec(network: NetworkSpec | Sequence[int], settings: dict) -> NetworkSpec:
    if not isinstance(network, NetworkSpec):
        return parse_spec(widths=[int(w) for w in network], **settings)
    if settings:
        raise OptionError(
            f"{', '.join(settings)} given beside a NetworkSpec: set them in the NetworkSpec"
        )
    return network


def check_fits(spec: NetworkSpec, options: CheckOptions) -> str:
    """The finite-difference method the check of ``spec`` takes; an ``OptionError`` naming
    the fix for options that cannot work with this network (the complex step on relu, one-hot
    targets for a loss that takes real numbers)."""
    method = default_method(spec) if options.method == AUTO else options.method
    if spec.symbolic:
        raise OptionError("a check needs numbers: give the widths, e.g. --widths 2,3,1")
    if method == "complex" and not analytic(spec):
        acts = dict.fromkeys(spec.activations)
        rough = [a for a in acts if a in ACTIVATIONS and not ACTIVATIONS[a].analytic]
        rough += [] if LOSSES[spec.loss].analytic else [f"the {spec.loss} loss"]
        raise OptionError(
            f"the complex step needs analytic activations and loss (not {' or '.join(rough)}): "
            "use --method richardson or central"
        )
    options.check_targets(spec.loss, LOSSES[spec.loss].targets)
    if options.unrolled and spec.parameter_count > UNROLLED_REFERENCE_LIMIT:
        raise OptionError(
            f"the network has {spec.parameter_count} parameters; --unrolled writes the network "
            f"out for at most {UNROLLED_REFERENCE_LIMIT}: drop --unrolled or check a smaller "
            "network"
        )
    return method


def _quiet(message: str) -> None:
    """No progress wanted."""


class _Run:
    """One check's sources and settings, applied point by point."""

    def __init__(self, spec, exact, fd, program, grad_fn, dtype, method, tolerances, report):
        self.spec, self.exact, self.fd, self.program = spec, exact, fd, program
        self.grad_fn, self.dtype, self.method = grad_fn, dtype, method
        self.tolerances, self.report = tolerances, report
        self.candidate_name = "user" if grad_fn else "generated"
        self.kind = {
            "symbolic": "symbolic",
            "unrolled": "unrolled",
            self.candidate_name: dtype,
            "fd": method,
        }
        self.weight_sum = float(np.sum(np.abs(STENCILS[method][1])))
        self.unrolled: Unrolled | None = None
        self.readings: tuple[Reading, ...] = ()  # the constant factors a failure may be off by
        self.say: Callable[[str], None] = _quiet
        self.where = ""

    def representable(self, point: Point) -> Point:
        """The point rounded to the candidate's dtype, so that every source sees the same
        numbers (float32 code cannot be asked about a float64 parameter)."""
        dt = np.dtype(self.dtype)

        def rounded(a):
            return np.asarray(a, dtype=dt).astype(np.float64)

        return Point(
            {k: rounded(v) for k, v in point.params.items()}, rounded(point.X), rounded(point.Y)
        )

    def candidate(self, point: Point, p: int, shapes) -> tuple[dict, list[Problem]]:
        dt = np.dtype(self.dtype)
        params = {k: v.astype(dt) for k, v in point.params.items()}
        X, Y = point.X.astype(dt), point.Y.astype(dt)
        if self.grad_fn is None:
            # the generated code saturates quietly by design; a NaN it made would fail the check
            with np.errstate(all="ignore"):
                out = self.program.gradients(params, X, Y, activations=True)
            return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}, []
        return self.grad_fn.call(params, X, Y, shapes, p)

    def point(self, point, p, rng, sample, projection, avoid_kinks) -> list[Comparison]:
        spec = self.spec
        shapes = _shapes(spec, point.X.shape[0])
        self.readings = readings(spec.loss, point.X.shape[0], spec.cost)
        entries = None
        if sample is not None:
            entries = {k: _sample(rng, s, sample) for k, s in shapes.items()}
        tangents = {k: rng.standard_normal(s) for k, s in shapes.items()} if projection else {}
        self.say(f"{self.where}: finite differences")
        for redraws in range(KINK_REDRAWS + 1):
            if projection:
                found = self.projected(point, tangents)
                kinked = any(kink for _, kink, _ in found.values())
            else:
                found = self.fd.differences(point.params, point.X, point.Y, self.method, entries)
                kinked = any(k.any() for k in found.kinks.values())
            if not avoid_kinks or not kinked:
                break
            if redraws == KINK_REDRAWS:
                self.report.notes.append(
                    f"point {p}: entries still at a kink after {redraws} redraws of the inputs"
                )
                break
            X = random_inputs(spec, rng, len(point.X))
            point = self.representable(Point(point.params, X, point.Y))
        if avoid_kinks and redraws:
            self.report.notes.append(f"point {p}: inputs redrawn {redraws} time(s) to avoid kinks")
        self.say(f"{self.where}: the symbolic values in {REFERENCE_DIGITS} digits")
        truth = self.exact.gradients(point.params, point.X, point.Y)
        self.say(f"{self.where}: the {self.candidate_name} code")
        cand, problems = self.candidate(point, p, shapes)
        self.report.add_problems(problems)
        costs = np.abs(self.fd.sample_costs_at(point.params, point.X, point.Y))
        written_out = {}
        if self.unrolled is not None:
            self.say(f"{self.where}: the unrolled network")
            written_out = self.unrolled.gradients(point.params, point.X, point.Y)
        rows = []
        for key in shapes:
            scale = float(np.max(np.abs(truth[key]), initial=0.0))
            values = {"symbolic": truth[key]}
            if key in written_out:
                values["unrolled"] = written_out[key]
                rows.append(self.compare(key, ("symbolic", "unrolled"), values, scale))
            if key in cand:
                values[self.candidate_name] = cand[key]
                rows.append(self.compare(key, ("symbolic", self.candidate_name), values, scale))
            note = ""
            if projection:
                sources = {k: v for k, v in values.items() if k != "unrolled"}
                projected = self.projection_rows(key, sources, tangents[key], found[key], costs)
                if all(c.verdict == "pass" for c in projected):
                    rows += projected
                    continue
                kink = any(c.verdict == "kink" for c in projected)
                note = "projection " + ("crossed a kink" if kink else "failed")
                note += ": checked entry by entry"
                diffs = self.fd.differences(
                    point.params, point.X, point.Y, self.method, names=(key,)
                )
            else:
                diffs = found
            values["fd"] = diffs.values[key]
            noise = self.noise(costs, diffs.steps[key], per_sample=key.startswith("dC_da"))
            mask = None if entries is None else _mask(entries[key], shapes[key])
            for a in (self.candidate_name, "symbolic"):
                if a in values:
                    c = self.compare(key, (a, "fd"), values, scale, noise, mask, diffs.kinks[key])
                    c.note = note
                    rows.append(c)
        for c in rows:
            c.point = p
        return rows

    def compare(self, key, pair, values, scale, noise=0.0, mask=None, kinks=None) -> Comparison:
        """One tensor compared between the two sources of ``pair``; a failure of the candidate
        names the constant factor it is off by, when there is one (``factors``)."""
        c = self._compare(key, pair, values, scale, noise, mask, kinks)
        if c.verdict == "FAIL" and self.candidate_name in pair:
            c.factor = self.factor(key, pair, values, scale, noise, mask, kinks)
        return c

    def factor(self, key, pair, values, scale, noise, mask, kinks) -> Reading | None:
        """The first reading r under which the candidate divided by r.value passes the same
        comparison, with the same tolerances: off by that factor at every compared entry."""
        name = self.candidate_name
        for r in self.readings:
            scaled = {**values, name: values[name] / r.value}
            if self._compare(key, pair, scaled, scale, noise, mask, kinks).verdict == "pass":
                return r
        return None

    def _compare(self, key, pair, values, scale, noise=0.0, mask=None, kinks=None) -> Comparison:
        rtol, atol = tolerance(self.kind[pair[0]], self.kind[pair[1]], self.tolerances)
        a, b = pair
        noise = noise + max(FLOORS.get(self.kind[a], 0.0), FLOORS.get(self.kind[b], 0.0))
        unavailable = None
        if b == "fd":  # an overflowing loss leaves some entries without a finite difference
            unavailable = ~np.isfinite(values[b]) & (True if mask is None else mask)
        return compare(
            key,
            pair,
            values[a],
            values[b],
            rtol=rtol,
            atol=atol,
            scale=scale,
            noise=noise,
            mask=mask,
            kinks=kinks,
            unavailable=unavailable,
        )

    def noise(self, costs, steps, per_sample=False):
        """Rounding error of each finite difference: eps |C| / h times the stencil's weights
        (the complex step subtracts nothing, so it has none). |C| is the batch's cost, or with
        ``per_sample`` (dC/da entries, which move one sample) each sample's share of it."""
        if self.method == "complex":
            return 0.0
        n = float(1 / self.spec.batch_scale(len(costs)))  # the mean divides by n, the sum by 1
        with np.errstate(all="ignore"):  # an infinite cost leaves no finite difference anyway
            size = costs[:, None] / n if per_sample else np.sum(costs) / n
            return NOISE_SAFETY * EPS * size * self.weight_sum / steps

    def projected(self, point: Point, tangents: dict) -> dict:
        """The derivative of C along each tensor's random direction: (value, kink, step)."""
        return {
            key: self.fd.directional(point.params, point.X, point.Y, {key: v}, self.method)
            for key, v in tangents.items()
        }

    def projection_rows(self, key, values, v, found, costs) -> list[Comparison]:
        """Directional derivatives compared: sum(g * v) of each source against the finite
        difference, held to the tolerances relative to sum |g * v| (the size of the terms)."""
        derivative, kink, step = found
        projected = {name: np.array([np.sum(g * v)]) for name, g in values.items()}
        projected["fd"] = np.array([derivative])
        scale = float(np.sum(np.abs(values["symbolic"] * v)))
        noise = self.noise(costs, step)  # a direction moves every sample
        rows = []
        for a in (self.candidate_name, "symbolic"):
            if a in projected:
                c = self.compare(key, (a, "fd"), projected, scale, noise)
                c.worst, c.note = (), "projection"
                if kink:
                    c.verdict, c.kinks = "kink", 1
                rows.append(c)
        return rows


def _sample(rng: np.random.Generator, shape, k: int) -> np.ndarray:
    size = int(np.prod(shape))
    return np.sort(rng.choice(size, min(k, size), replace=False))


def _mask(flat: np.ndarray, shape) -> np.ndarray:
    m = np.zeros(int(np.prod(shape)), dtype=bool)
    m[flat] = True
    return m.reshape(shape)


def assert_gradients_close(*args, **kwargs) -> Report:
    """``check_gradients``, raising AssertionError with the per-tensor table when it fails."""
    __tracebackhide__ = True
    report = check_gradients(*args, **kwargs)
    if not report.passed:
        raise AssertionError("gradient check failed\n" + report.table())
    return report
