"""Benchmarks of the generated gradient code: prints a Markdown report (tables) to stdout.

One full gradient evaluation (every W and b) of a depth-3 sigmoid network with squared loss,
all widths equal, for width x batch in 32x64, 128x128, 512x256 and 1024x1024, in float64 and
float32, measured in one process on the same data:

(a) the generated code, ``Program(spec).gradients(params, X, Y)`` (the public call);
(b) a hand-written NumPy backprop of the same network (samples as rows), checked against (a);
(c) PyTorch CPU eager autograd (``loss.backward()``), when torch is importable (the ``bench``
    extra), checked against (a) too;
(d) ``jax.jit(jax.grad(loss))`` on the CPU, when jax is importable (the ``bench`` extra),
    checked against (a) too;
(e) the GEMM roofline: only the matrix products that the generated ``_forward`` and
    ``_gradients`` compute, read from their source, on the same operands (the same arrays and
    memory layouts).

Every call is timed on its own with ``time.perf_counter``; the methods run in interleaved
rounds after warm-up calls, with the repeat count chosen so that each cell takes about 1.2 s
(at least 5 calls), and the median (and the minimum) of the calls is reported. A second table
splits the generated code's time into its parts (products, the activation helpers, the
rest, page faults). The whole is run with the default threads (numpy's BLAS and torch as they
start), then with one thread each (``threadpoolctl`` and ``torch.set_num_threads(1)``), which
other work on a small machine disturbs much less, and, with torch or jax, the one-thread pass
once more in a child process that imports neither (importing torch changes how the C allocator
reuses the memory of large temporaries). jax's threads are fixed when it starts: with a
one-thread pass it runs on one thread in every pass. The time to generate the code
(``generate_source`` uncached, and ``Program`` construction) is measured at depth 3 and 30.

The parts live in ``gradbench/``: ``timing``, ``threads``, ``baselines``, ``products``,
``measure`` and ``report``.

Usage:
    python benchmarks/gradient_bench.py             # everything, about 5 minutes on 2 cores
    python benchmarks/gradient_bench.py --quick     # shorter cells, about 2 minutes
    python benchmarks/gradient_bench.py --threads one   # only the one-thread passes
    python benchmarks/gradient_bench.py --no-torch --no-jax  # without them even if installed
    python benchmarks/gradient_bench.py --sizes 32x64,128x128   # only these sizes
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path

from gradbench import report
from gradbench.measure import SIZES, Settings, measure_codegen, run_pass
from gradbench.threads import numpy_blas_pools, start_jax
from machine import load_average

SCRIPT = "benchmarks/gradient_bench.py"
SEPARATE = "one thread: numpy BLAS 1, in a separate process where torch and jax are not imported"


def separate_pass(args, number: int) -> tuple[list[str], str]:
    """The one-thread pass again in a child process that imports neither torch nor jax:
    importing torch changes how the C allocator reuses memory, and with it the page faults of
    the temporaries (see the last column of the breakdown). Returns the child's goal lines and
    sections."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--no-torch", "--no-jax"]
    cmd += ["--threads", "one", "--embedded", str(number)] + (["--quick"] if args.quick else [])
    cmd += ["--sizes", ",".join(f"{w}x{b}" for w, b in args.sizes)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if p.returncode != 0:
        note = f"The separate process without torch and jax failed (exit code {p.returncode})."
        return [note, ""], note
    out = json.loads(p.stdout)
    return out["goals"], out["sections"]


def _sizes(text: str) -> tuple[tuple[int, int], ...]:
    try:
        return tuple(tuple(int(x) for x in size.split("x", 1)) for size in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not WIDTHxBATCH,...: {text!r}") from None


def _libraries(args, threads: tuple[str, ...]) -> tuple[dict, str]:
    """torch and jax where importable and not left out, and how jax's threads were set."""
    libs: dict = {"torch": None, "jax": None}
    if not args.no_torch:
        with contextlib.suppress(ImportError):
            libs["torch"] = import_module("torch")
    jax_threads = ""
    if not args.no_jax:
        libs["jax"] = start_jax(one_thread="one" in threads)
        if libs["jax"] is not None:
            jax_threads = "1 (fixed at its start)" if "one" in threads else "default"
    return libs, jax_threads


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter cells (about 0.25 s)")
    parser.add_argument(
        "--threads",
        choices=("both", "default", "one"),
        default="both",
        help="default threads, one thread each, or both passes (the default); with torch or "
        "jax and one thread, the one-thread pass runs again in a process without them",
    )
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--no-jax", action="store_true", help="leave jax out")
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=SIZES,
        help="width x batch to measure, comma-separated (default: "
        + ",".join(f"{w}x{b}" for w, b in SIZES)
        + ")",
    )
    parser.add_argument("--embedded", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    threads = args.threads
    if threads != "default" and not numpy_blas_pools():
        print("threadpoolctl not installed: default threads only", file=sys.stderr)
        threads = "default"
    cfg = Settings(args.quick, threads, args.sizes)
    libs, jax_threads = _libraries(args, cfg.threads)
    if args.embedded is not None:
        run = run_pass(cfg, libs, "one", jax_threads, label=SEPARATE)
        sections = report.section_gradients(run, args.embedded) + "\n\n"
        sections += report.section_breakdown(run, args.embedded + 1) + "\n"
        goals = [*report.goal_lines(run, libs, roofline_only=True), ""]
        print(json.dumps({"goals": goals, "sections": sections}))
        return 0
    start = time.perf_counter()
    command = " ".join(["python", SCRIPT, *(sys.argv[1:] if argv is None else argv)])
    print("# Generated gradient code: benchmark\n")
    print(f"Command: `{command}`\n")
    print(report.machine_info(libs) + "\n", flush=True)
    print("code generation ...", file=sys.stderr, flush=True)
    codegen_text = report.section_codegen(measure_codegen(cfg))
    runs = [run_pass(cfg, libs, mode, jax_threads) for mode in cfg.threads]
    extra_goals, extra_sections = [], ""
    if any(libs.values()) and "one" in cfg.threads:
        extra_goals, extra_sections = separate_pass(args, 2 * len(runs) + 1)
    goals = [
        "## Goals",
        "",
        "Judged on the ratios of the medians; in brackets the same ratio of the fastest calls.",
        "",
    ]
    for run in runs:
        goals += [*report.goal_lines(run, libs), ""]
    print("\n".join(goals + extra_goals))
    number = 1
    for run in runs:
        print(report.section_gradients(run, number) + "\n")
        print(report.section_breakdown(run, number + 1) + "\n")
        number += 2
    if extra_sections:
        print(extra_sections)
    print(report.section_products_and_checks(runs[0]) + "\n")
    print(codegen_text + "\n")
    print(
        f"Total benchmark time: {time.perf_counter() - start:.0f} s. "
        f"Load average at the end: {load_average()}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
