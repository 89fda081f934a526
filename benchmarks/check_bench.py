"""Benchmark of a full finite-difference gradient check against ``torch.autograd.gradcheck``.

The network is 784-128-64-10, sigmoid, squared loss, batch 32, float64 (``--quick``: 64-32-16-10,
batch 8), at one random point drawn as ``bpverify check`` draws them. Timed in one process on
the same data:

(a) bpverify: central differences of every parameter (``FiniteDifferences``, ``method=
    "central"``), the generated gradients (``Program``), and their comparison entry by entry
    (``compare``): the work of ``bpverify check --method central`` on the parameters;
(b) ``torch.autograd.gradcheck(f, params, eps=1e-6, fast_mode=False)`` on the same loss written
    in torch (when torch is importable; an optional extra, ``pip install torch==2.13.0``);
(c) for reference, bpverify's Richardson extrapolation and complex step on the same point.

Accuracy: the symbolic gradient (``Exact``, 34 digits) is computed once, untimed, and each
method's finite differences are compared with it: the largest relative error |fd - s| /
max(|fd|, |s|) over every entry, and the largest error relative to its tensor's largest value.
gradcheck does not return its finite differences, so they are recomputed (untimed) by the
function it calls for them, ``torch.autograd.gradcheck._get_numerical_jacobian``, with its eps.

Usage:
    python benchmarks/check_bench.py             # about 2.5 minutes on 2 cores (gradcheck: ~75 s)
    python benchmarks/check_bench.py --quick     # a small network, a few seconds
    python benchmarks/check_bench.py --no-torch  # without torch even if installed
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib import import_module

import machine
import numpy as np

from bpverify.derive import NetworkSpec
from bpverify.numeric import Program
from bpverify.numeric.check.compare import TOLERANCES, compare, tolerance
from bpverify.numeric.check.exact import Exact
from bpverify.numeric.check.finite import FiniteDifferences
from bpverify.numeric.check.run import random_point

SCRIPT = "benchmarks/check_bench.py"
FULL = ((784, 128, 64, 10), 32)
QUICK = ((64, 32, 16, 10), 8)
TORCH_EPS = 1e-6
SPEEDUP_GOAL = 10.0


def parameters(spec: NetworkSpec) -> tuple[str, ...]:
    return tuple(f"{q}{l}" for l in range(1, spec.layers + 1) for q in ("W", "b"))


def ours(spec, point, method: str) -> tuple[float, dict, bool]:
    """One full check of the parameters: (seconds, finite differences, passed)."""
    names = parameters(spec)
    fd, program = FiniteDifferences(spec), Program(spec)
    start = time.perf_counter()
    diffs = fd.differences(point.params, point.X, point.Y, method, names=names)
    grads = program.gradients(point.params, point.X, point.Y)
    rtol, atol = tolerance("float64", method)
    passed = True
    for name in names:
        scale = float(np.max(np.abs(grads[name])))
        c = compare(name, ("generated", "fd"), grads[name], diffs.values[name], rtol, atol, scale)
        passed &= c.passed
    return time.perf_counter() - start, diffs.values, passed


def torch_loss(torch, X, Y):
    """The network's loss C(W1, b1, ...) in torch: the function gradcheck differentiates."""

    def f(*params):
        a = X
        for W, b in zip(params[::2], params[1::2], strict=True):
            a = torch.sigmoid(a @ W.T + b)
        return ((a - Y) ** 2).sum(dim=1).mean()

    return f


def theirs(torch, spec, point) -> tuple[float, dict, bool]:
    """torch.autograd.gradcheck in full mode: (seconds, its finite differences, passed)."""
    names = parameters(spec)
    params = [torch.tensor(point.params[k], requires_grad=True) for k in names]
    f = torch_loss(torch, torch.tensor(point.X), torch.tensor(point.Y))
    start = time.perf_counter()
    passed = torch.autograd.gradcheck(
        f, params, eps=TORCH_EPS, fast_mode=False, raise_exception=False
    )
    seconds = time.perf_counter() - start
    gc = import_module("torch.autograd.gradcheck")
    with torch.no_grad():
        jac = gc._get_numerical_jacobian(f, tuple(params), eps=TORCH_EPS)
    values = {k: jac[i][0].numpy().reshape(point.params[k].shape) for i, k in enumerate(names)}
    return seconds, values, bool(passed)


def errors(values: dict, truth: dict) -> tuple[float, float]:
    """(largest relative error over all entries, largest error relative to its tensor's scale)."""
    rel, scaled = 0.0, 0.0
    for k, v in values.items():
        t = truth[k]
        err = np.abs(v - t)
        big = np.maximum(np.abs(v), np.abs(t))
        rel = max(rel, float(np.max(np.where(big > 0, err / np.where(big > 0, big, 1), 0))))
        scaled = max(scaled, float(np.max(err) / np.max(np.abs(t))))
    return rel, scaled


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small network")
    parser.add_argument("--no-torch", action="store_true", help="skip torch.autograd.gradcheck")
    args = parser.parse_args(argv)
    widths, batch = QUICK if args.quick else FULL
    spec = NetworkSpec(len(widths) - 1, widths, "sigmoid", "squared")
    point = random_point(spec, np.random.default_rng(0), batch)
    count = spec.parameter_count
    torch = None
    if not args.no_torch:
        try:
            torch = import_module("torch")
            torch.set_num_threads(1)
        except ImportError:
            torch = None

    out = ["# Gradient check benchmark", ""]
    out += [f"- {k}: {v}" for k, v in machine.rows()]
    out.append(f"- torch: {machine.version('torch') if torch else 'not used'}")
    flags = " ".join(a for a in (argv if argv is not None else sys.argv[1:]))
    out.append(f"- command: `python {SCRIPT}{' ' + flags if flags else ''}`")
    out.append(
        f"- network: {spec.describe()}, batch {batch}, float64; {count} parameters; "
        "one BLAS/torch thread"
    )
    out.append("")

    start = time.perf_counter()
    truth = Exact(spec).gradients(point.params, point.X, point.Y)
    exact_seconds = time.perf_counter() - start

    rows = []
    for method in ("central", "richardson", "complex"):
        seconds, values, passed = ours(spec, point, method)
        rows.append((f"bpverify, {method}", seconds, values, passed))
    if torch is not None:
        seconds, values, passed = theirs(torch, spec, point)
        rows.append(("torch.autograd.gradcheck (full)", seconds, values, passed))

    base = rows[-1][1] if torch is not None else None
    out += [
        "| method | time (s) | us per parameter | passed | max rel error vs symbolic "
        "| max error / tensor scale | speed-up vs gradcheck |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, seconds, values, passed in rows:
        rel, scaled = errors(values, truth)
        speed = f"{base / seconds:.1f}x" if base else "-"
        out.append(
            f"| {label} | {seconds:.2f} | {1e6 * seconds / count:.1f} | {passed} | "
            f"{rel:.2e} | {scaled:.2e} | {speed} |"
        )
    out += ["", f"Symbolic gradient (34 digits, untimed above): {exact_seconds:.2f} s.", ""]
    if torch is not None:
        central = rows[0]
        speedup = base / central[1]
        ours_rel, ours_scaled = errors(central[2], truth)
        torch_rel, torch_scaled = errors(rows[-1][2], truth)
        met = speedup >= SPEEDUP_GOAL and ours_scaled <= torch_scaled
        out.append(
            f"- Goal (>= {SPEEDUP_GOAL:g}x faster than gradcheck, accuracy equal or better): "
            f"**{'met' if met else 'not met'}**: {speedup:.1f}x; max error / tensor scale "
            f"{ours_scaled:.2e} (bpverify central) vs {torch_scaled:.2e} (gradcheck), max "
            f"relative error {ours_rel:.2e} vs {torch_rel:.2e}."
        )
    out.append(
        f"- Tolerances of the bpverify rows: (rtol, atol) {TOLERANCES['float64']} for the code "
        "and per method in `numeric/compare.py`."
    )
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
