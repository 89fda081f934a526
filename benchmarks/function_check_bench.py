"""Benchmark of ``check_function`` on the gallery's layers against ``torch.autograd.gradcheck``.

The six layers of docs/layers.md (``gallery_layers``: layer norm, batch norm in training mode,
softmax cross-entropy on integer labels, scaled dot-product attention, a 1-D convolution, a focal
loss), each at three sizes (``gallery_layers.SIZES``): small, the gallery's (every entry's
difference by default); medium, just past the 2,048 checked entries from which the check takes
random directions by default; large, about 8,000 entries. At one random point per layer and
size, drawn once, timed in one process on one thread (``torch.set_num_threads(1)``, NumPy's BLAS
held to one thread by threadpoolctl and the OMP/MKL/OpenBLAS variables), after one discarded
round on the first layer:

(a) bpverify's default check, ``check_function(forward, backward, inputs, points=1)``: the
    user's backward, the reference traced in 40 digits, and finite differences of every entry
    (small) or along one random direction per input (medium, large), the complex step or
    Richardson as the check finds; the traced reference's share of it is read from its progress
    messages;
(b) the same with every entry's difference (``mode="entries"``, ``--every-entry``) where the
    default took directions;
(c) ``torch.autograd.gradcheck(f, inputs, eps=1e-6, fast_mode=False)`` on the same layer in
    torch (``gallery_layers.torch_forwards``; when torch is importable, the ``bench`` extra),
    and (d) the same with ``fast_mode=True``.

Accuracy, against the traced reference (``tracer.trace`` with the check's own ``dout``, untimed):
for bpverify, the ``traced-fd`` rows of its report (the error of its finite differences, per
entry or of the directional derivative); for gradcheck in full mode, its numerical Jacobian
(recomputed, untimed, by ``torch.autograd.gradcheck._get_numerical_jacobian``, the function it
calls, same eps) times the same ``dout``, entry by entry; in fast mode, its method replicated
(``_get_numerical_jvp_wrt_specific_input``: a central difference with eps 1e-6 along a random unit
direction u of each input, dotted with ``dout``) against the reference's u-projection. Errors are
the largest relative error |a - b| / max(|a|, |b|) and, for entry-wise methods, the largest
error over the input's largest reference value.

Usage:
    python benchmarks/function_check_bench.py                 # about 4 minutes on 2 cores
    python benchmarks/function_check_bench.py --sizes medium  # one size (small, medium, large)
    python benchmarks/function_check_bench.py --quick         # the small sizes once, seconds
    python benchmarks/function_check_bench.py --no-torch      # without gradcheck
"""

from __future__ import annotations

import os

# one thread for every pool, set before NumPy and torch start theirs
os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

import gallery_layers
import machine
import numpy as np
from check_bench import errors

from bpverify.numeric.check.function import check_function
from bpverify.numeric.check.inputs import parse_input
from bpverify.numeric.check.tracer import trace

SCRIPT = "benchmarks/function_check_bench.py"
TORCH_EPS = 1e-6
SPEEDUP_GOAL = 10.0
REPEATS = 3
"""Timed runs per method (the median is reported); --quick: 1."""

REPEAT_BUDGET = 10.0
"""Seconds of runs after which a method is not run again (its median is of fewer runs)."""


@dataclass
class Row:
    """One method on one layer: its time, the traced reference's share, verdict and errors."""

    method: str
    seconds: float
    traced: float | None
    passed: bool
    rel: float
    scaled: float | None
    runs: int


def draw(layer_inputs, rng) -> dict[str, np.ndarray]:
    return {name: d.draw(rng) for name, d in map(parse_input, layer_inputs)}


def reference(layer, arrays, wrt, dout):
    """The traced gradient (of sum(dout * forward) for an array output), untimed."""
    return trace(layer.forward, arrays, tuple(wrt), dout, seconds=600.0).gradients


def runs(call: Callable[[], tuple], repeats: int) -> list[tuple]:
    """``call()`` (which returns its seconds first) up to ``repeats`` times, fewer once the runs
    have taken ``REPEAT_BUDGET`` seconds: the results."""
    out: list[tuple] = []
    while len(out) < repeats and sum(r[0] for r in out) < REPEAT_BUDGET:
        out.append(call())
    return out


def ours(layer, arrays, mode: str, repeats: int) -> tuple[Row, np.ndarray | None]:
    """bpverify's check in ``mode``: the median of its runs, and the dout it drew."""
    seen: dict[str, np.ndarray] = {}

    def backward(**kwargs):
        if "dout" in kwargs:
            seen["dout"] = kwargs["dout"].copy()
        return layer.backward(**kwargs)

    def once():
        stamps: list[tuple[float, str]] = []
        start = time.perf_counter()
        report = check_function(
            layer.forward,
            backward,
            arrays,
            points=1,
            mode=mode,
            progress=lambda m: stamps.append((time.perf_counter(), m)),
        )
        end = time.perf_counter()
        stamps.append((end, "end"))
        at = [i for i, (_, m) in enumerate(stamps) if "traced reference" in m]
        traced = stamps[at[0] + 1][0] - stamps[at[0]][0] if at else float("nan")
        return end - start, traced, report

    done = runs(once, repeats)
    report = done[-1][2]
    rows = [c for c in report.comparisons if c.pair == ("traced", "fd")]
    directional = report.mode.startswith("random directions")
    how = "directional" if directional else "every entry"
    label = f"bpverify, {'default' if mode == 'auto' else 'every entry'} ({how}, {report.method})"
    rel = max(c.max_rel for c in rows)
    scaled = None
    if not directional:
        ref = reference(layer, arrays, [c.tensor for c in rows], seen.get("dout"))
        scaled = max(c.max_abs / float(np.max(np.abs(ref[c.tensor]))) for c in rows)
    seconds = statistics.median(r[0] for r in done)
    traced = statistics.median(r[1] for r in done)
    return Row(label, seconds, traced, report.passed, rel, scaled, len(done)), seen.get("dout")


def theirs(torch, layer, arrays, wrt, dout, truth, fast: bool, repeats: int) -> Row:
    """torch.autograd.gradcheck on the layer in torch, and its numerical error (module docs)."""
    gc = import_module("torch.autograd.gradcheck")
    forward = gallery_layers.torch_forwards(torch)[layer.name]
    fixed = {k: torch.tensor(v) for k, v in arrays.items() if k not in wrt}
    inputs = tuple(torch.tensor(arrays[k], requires_grad=True) for k in wrt)

    def f(*xs):
        return forward(**fixed, **dict(zip(wrt, xs, strict=True)))

    def once():
        start = time.perf_counter()
        passed = torch.autograd.gradcheck(
            f, inputs, eps=TORCH_EPS, fast_mode=fast, raise_exception=False
        )
        return time.perf_counter() - start, passed

    done = runs(once, repeats)
    seconds, passed = statistics.median(r[0] for r in done), done[-1][1]
    weights = np.ones(1) if dout is None else dout.ravel()
    with torch.no_grad():
        if not fast:
            jac = gc._get_numerical_jacobian(f, inputs, eps=TORCH_EPS)
            values = {
                k: (jac[i][0].numpy() @ weights).reshape(arrays[k].shape) for i, k in enumerate(wrt)
            }
            rel, scaled = errors(values, truth)
            return Row("torch gradcheck (full)", seconds, None, passed, rel, scaled, len(done))
        rng = np.random.default_rng(1)
        rel = 0.0
        for i, k in enumerate(wrt):
            u = rng.standard_normal(arrays[k].shape)
            u /= np.linalg.norm(u)
            (ju,) = gc._get_numerical_jvp_wrt_specific_input(
                f, i, inputs, torch.tensor(u), TORCH_EPS
            )
            value = float(ju.numpy().ravel() @ weights)
            true = float(np.sum(truth[k] * u))
            rel = max(rel, abs(value - true) / max(abs(value), abs(true)))
    return Row("torch gradcheck (fast_mode)", seconds, None, passed, rel, None, len(done))


def one_thread(torch):
    """NumPy's BLAS held to one thread (threadpoolctl, where installed) and torch's."""
    if torch is not None:
        torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


def fmt(x: float | None, spec: str = ".2e") -> str:
    return "–" if x is None else format(x, spec)


def measure(torch, layer, size: str, repeats: int) -> tuple[str, int, list[Row]]:
    given = layer.inputs(size)
    arrays = draw(given, np.random.default_rng(0))
    wrt = [k for k, v in arrays.items() if v.dtype.kind == "f"]
    entries = sum(arrays[k].size for k in wrt)
    row, dout = ours(layer, arrays, "auto", repeats)
    rows = [row]
    if not row.method.startswith("bpverify, default (every entry"):
        rows.append(ours(layer, arrays, "entries", repeats)[0])
    if torch is not None:
        truth = reference(layer, arrays, wrt, dout)
        for fast in (False, True):
            rows.append(theirs(torch, layer, arrays, wrt, dout, truth, fast, repeats))
    return ", ".join(given), entries, rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small sizes, one run each")
    parser.add_argument("--no-torch", action="store_true", help="skip torch.autograd.gradcheck")
    parser.add_argument(
        "--sizes",
        default=",".join(gallery_layers.SIZES),
        help=f"which sizes, of {','.join(gallery_layers.SIZES)} (comma-separated)",
    )
    args = parser.parse_args(argv)
    sizes = tuple(s.strip() for s in args.sizes.split(","))
    if args.quick:
        sizes = ("small",)
    unknown = [s for s in sizes if s not in gallery_layers.SIZES]
    if unknown:
        parser.error(
            f"--sizes: unknown {', '.join(unknown)}; choose {', '.join(gallery_layers.SIZES)}"
        )
    torch = None
    if not args.no_torch:
        try:
            torch = import_module("torch")
        except ImportError:
            torch = None
    repeats = 1 if args.quick else REPEATS

    out = ["# Function check benchmark", ""]
    out += [f"- {k}: {v}" for k, v in machine.rows()]
    out.append(f"- torch: {machine.version('torch') if torch else 'not used'}")
    flags = " ".join(argv if argv is not None else sys.argv[1:])
    out.append(f"- command: `python {SCRIPT}{' ' + flags if flags else ''}`")
    out.append(
        f"- one thread; one random point per layer and size; time: the median of up to {repeats} "
        f"run(s) per method (fewer once they took {REPEAT_BUDGET:g} s; the runs column)"
    )
    out.append("")
    out += [
        "| layer | size | inputs | entries | method | runs | time (s) | of which traced "
        "reference (s) | passed | max rel error vs traced | max error / scale | gradcheck full "
        "÷ this |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    start = time.perf_counter()
    with one_thread(torch):
        measure(torch, gallery_layers.LAYERS[0], "small", 1)  # warm-up, discarded
        for size in sizes:
            for layer in gallery_layers.LAYERS:
                given, entries, rows = measure(torch, layer, size, repeats)
                full = next((r for r in rows if r.method.endswith("(full)")), None)
                for r in rows:
                    speed = f"{full.seconds / r.seconds:.2f}" if full else "–"
                    out.append(
                        f"| {layer.name} | {size} | {given} | {entries} | {r.method} | {r.runs} | "
                        f"{r.seconds:.3f} | "
                        f"{fmt(r.traced, '.3f')} | {r.passed} | {fmt(r.rel)} | {fmt(r.scaled)} "
                        f"| {speed} |"
                    )
                if full is not None:
                    verdicts.append((layer.name, size, rows, full))
    out += ["", f"Total benchmark time: {time.perf_counter() - start:.0f} s.", ""]
    out += goals(verdicts)
    print("\n".join(out))
    return 0


def goals(verdicts) -> list[str]:
    """Each goal of the issue, per layer and size: the ratio and whether it is met."""
    if not verdicts:
        return ["Goals not measured: no torch (gradcheck) in this run."]
    lines = [
        "| layer | size | every entry ÷ gradcheck full (time) | errors smaller | "
        f"default: gradcheck full ÷ default (goal >= {SPEEDUP_GOAL:g}) |",
        "|---|---|---|---|---|",
    ]
    for name, size, rows, full in verdicts:
        default = rows[0]
        entrywise = next(r for r in rows if "every entry" in r.method)
        smaller = entrywise.rel <= full.rel and (entrywise.scaled or 0.0) <= (full.scaled or 0.0)
        lines.append(
            f"| {name} | {size} | {entrywise.seconds / full.seconds:.2f} "
            f"({'met' if entrywise.seconds <= full.seconds else 'not met'}) | "
            f"{'yes' if smaller else 'no'} | {full.seconds / default.seconds:.2f} "
            f"({'met' if full.seconds >= SPEEDUP_GOAL * default.seconds else 'not met'}) |"
        )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
