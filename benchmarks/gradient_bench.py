"""Benchmarks of the generated gradient code: prints a Markdown report (tables) to stdout.

One full gradient evaluation (every W and b) of a depth-3 sigmoid network with squared loss,
all widths equal, for width x batch in 32x64, 128x128, 512x256 and 1024x1024, in float64 and
float32, measured in one process on the same data:

(a) the generated code, ``Program(spec).gradients(params, X, Y)`` (the public call);
(b) a hand-written NumPy backprop of the same network (samples as rows), checked against (a);
(c) PyTorch CPU eager autograd (``loss.backward()``), when torch is importable (an optional
    extra: ``pip install torch==2.13.0``), checked against (a) too;
(d) the GEMM roofline: only the matrix products that the generated ``_gradients`` computes,
    read from its source, on the same operands (the same arrays and memory layouts).

Every call is timed on its own with ``time.perf_counter``; the methods run in interleaved
rounds after warm-up calls, with the repeat count chosen so that each cell takes about 1.2 s
(at least 5 calls), and the median (and the minimum) of the calls is reported. A second table
splits the generated code's time into its parts (products, the activation helpers, the
rest, page faults). The whole is run with the default threads (numpy's BLAS and torch as they
start), then with one thread each (``threadpoolctl`` and ``torch.set_num_threads(1)``), which
other work on a small machine disturbs much less, and, with torch, the one-thread pass once
more in a child process that never imports torch (importing torch changes how the C allocator
reuses the memory of large temporaries). The time to generate the code (``generate_source``
uncached, and ``Program`` construction) is measured at depth 3 and 30.

Usage:
    python benchmarks/gradient_bench.py             # everything, about 4 minutes on 2 cores
    python benchmarks/gradient_bench.py --quick     # shorter cells, about 2 minutes
    python benchmarks/gradient_bench.py --threads default   # skip the one-thread passes
    python benchmarks/gradient_bench.py --no-torch  # without PyTorch even if installed
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import inspect
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import machine
import numpy as np
from machine import load_average, version

from bpverify.derive import NetworkSpec
from bpverify.numeric.codegen import source as codegen
from bpverify.numeric.codegen.program import Program

SCRIPT = "benchmarks/gradient_bench.py"
DEPTH = 3
SIZES = ((32, 64), (128, 128), (512, 256), (1024, 1024))  # (width, batch)
DTYPES = (np.float64, np.float32)
CODEGEN_DEPTHS = (3, 30)
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")

TORCH_GOAL = 1.0  # generated / torch at every size
TORCH_GOAL_SMALL = 0.35  # generated / torch at the smallest size
SMALL_SIZE = (32, 64)
ROOFLINE_GOAL = 0.85  # GEMM time / generated time at width >= ROOFLINE_WIDTH
ROOFLINE_WIDTH = 512
RAW_LIMIT = 0.05  # time the bare `_gradients` only where a gradient takes less (seconds)

# Largest error allowed between two implementations: max |difference| over max |reference|,
# per gradient, the largest over the gradients.
TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}


class Settings:
    """Time per cell for one mode (default or ``--quick``)."""

    def __init__(self, quick: bool, threads: str):
        self.quick = quick
        self.threads = ("default", "one") if threads == "both" else (threads,)
        self.cell = 0.25 if quick else 1.2  # seconds per method and size, main table
        self.min_rounds = 3 if quick else 5  # calls at least, main table
        self.part = 0.1 if quick else 0.3  # seconds per part, breakdown table
        self.codegen = 1.0 if quick else 3.0  # seconds per code generation cell
        self.warmup = 0.1 if quick else 0.2  # seconds of warm-up calls (at least one call)


# ---------------------------------------------------------------------------------------------
# Formatting and timing


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt_ms(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    ms = seconds * 1e3
    if abs(ms) >= 100:
        return f"{ms:.0f}"
    if abs(ms) >= 10:
        return f"{ms:.1f}"
    if abs(ms) >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def fmt_cell(t: Timing | None) -> str:
    """The median, and the fastest call in parentheses."""
    return "–" if t is None else f"{fmt_ms(t.median)} ({fmt_ms(t.min)})"


def fmt_ratio(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def verdict(met: bool | None) -> str:
    return {True: "**met**", False: "**not met**", None: "not evaluated"}[met]


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a / b


def page_faults(fn: Callable[[], object], calls: int = 3) -> float | None:
    """Minor page faults of one call (median of ``calls``; every thread of the process counts):
    large temporaries whose memory the allocator gave back to the system fault again when they
    are written. None where ``resource`` is missing (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    counts = []
    for _ in range(calls):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        fn()
        counts.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return statistics.median(counts)


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


class Timing:
    """The median and the minimum time of one call, over ``calls`` timed calls."""

    def __init__(self, times: list[float]):
        self.median = statistics.median(times)
        self.min = min(times)
        self.calls = len(times)


def interleaved(
    cells: dict[str, Callable[[], object]], seconds: float, warmup: float, min_rounds: int = 3
) -> dict:
    """Time every callable in ``cells`` call by call, in interleaved rounds whose order rotates.

    Each callable is first called for about ``warmup`` seconds (at least once, these calls are
    discarded); their median estimates its time. The number of rounds (``min_rounds`` to 30)
    and of calls
    per round are chosen so that each callable runs for about ``seconds`` in all; a callable
    that has run for twice that (stalls on a busy machine) makes no more calls once it has 3.
    Returns {name: Timing}."""
    names = list(cells)
    estimate = {}
    for name in names:
        times = [timed(cells[name])]
        while sum(times) < warmup and len(times) < 1000:
            times.append(timed(cells[name]))
        estimate[name] = max(statistics.median(times), 1e-7)
    rounds = max(min_rounds, min(30, int(seconds / max(estimate.values()))))
    number = {k: max(1, round(seconds / (rounds * estimate[k]))) for k in names}
    samples: dict[str, list[float]] = {k: [] for k in names}
    spent = dict.fromkeys(names, 0.0)
    clock = time.perf_counter
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            fn, out = cells[name], samples[name]
            for _ in range(number[name]):
                if spent[name] > 2 * seconds and len(out) >= 3:
                    break
                t = clock()
                fn()
                out.append(clock() - t)
                spent[name] += out[-1]
    return {k: Timing(samples[k]) for k in names}


# ---------------------------------------------------------------------------------------------
# Machine and threads


def numpy_blas_pools() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        pool
        for pool in threadpool_info()
        if pool.get("user_api") == "blas" and "numpy" in pool.get("filepath", "")
    ]


def blas_info() -> str:
    """numpy's BLAS library, kernel and threads (threadpoolctl), or numpy's own summary."""
    pools = numpy_blas_pools()
    if not pools:
        try:
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            return f"{blas.get('name')} {blas.get('version')} (threads unknown: no threadpoolctl)"
        except Exception:
            return "unknown (no threadpoolctl)"
    return "; ".join(
        f"{pool.get('internal_api')} {pool.get('version')}, kernel "
        f"{pool.get('architecture', '?')}, {pool.get('num_threads')} threads"
        for pool in pools
    )


def machine_info(torch) -> str:
    env = ", ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in OPENBLAS_VARS)
    rows = [
        *machine.rows(),
        ("sympy", version("sympy")),
        ("numpy", np.__version__),
        ("numpy BLAS (default threads)", blas_info()),
        ("Environment", env),
    ]
    if torch is None:
        rows.append(("torch", "not used (not installed, or --no-torch)"))
    else:
        blas = "MKL" if torch.backends.mkl.is_available() else "no MKL"
        rows.append(
            ("torch", f"{torch.__version__} ({blas}), {torch.get_num_threads()} threads (default)")
        )
    return "## Machine\n\n" + table(("", ""), rows)


@contextlib.contextmanager
def thread_mode(mode: str, torch) -> Iterator[str]:
    """Yields a description of the threads; ``one`` limits numpy's BLAS (threadpoolctl) and
    torch to one thread each for the block, and restores them after it."""
    torch_threads = torch.get_num_threads() if torch is not None else None
    blas = ", ".join(str(p.get("num_threads")) for p in numpy_blas_pools()) or "?"
    if mode == "default":
        yield f"default threads: numpy BLAS {blas}, torch {torch_threads or '–'}"
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield "one thread: numpy BLAS 1, torch 1" if torch is not None else "one thread"
        finally:
            if torch is not None:
                torch.set_num_threads(torch_threads)


# ---------------------------------------------------------------------------------------------
# The network, its data and the implementations


def make_problem(width: int, batch: int, dtype) -> tuple[dict, np.ndarray, np.ndarray]:
    """Weights scaled by 1/sqrt(width) so that the sigmoids do not saturate."""
    rng = np.random.default_rng(width * 100_003 + batch)
    params = {}
    for l in range(1, DEPTH + 1):
        params[f"W{l}"] = (rng.standard_normal((width, width)) / np.sqrt(width)).astype(dtype)
        params[f"b{l}"] = (0.1 * rng.standard_normal(width)).astype(dtype)
    X = rng.standard_normal((batch, width)).astype(dtype)
    Y = rng.uniform(size=(batch, width)).astype(dtype)
    return params, X, Y


def numpy_gradients(params: dict, X: np.ndarray, Y: np.ndarray) -> dict:
    """Textbook backprop, one sample per row: Z = A W^T + b, A = sigmoid(Z); C = mean over
    samples of sum_j (a_j - y_j)^2, delta^(L) = 2/n (A - Y) A (1 - A)."""
    n = X.shape[0]
    acts = [X]
    with np.errstate(over="ignore"):
        for l in range(1, DEPTH + 1):
            Z = acts[-1] @ params[f"W{l}"].T + params[f"b{l}"]
            acts.append(1 / (1 + np.exp(-Z)))
    A = acts[-1]
    delta = (2 / n) * (A - Y) * A * (1 - A)
    grads = {}
    for l in range(DEPTH, 0, -1):
        grads[f"W{l}"] = delta.T @ acts[l - 1]
        grads[f"b{l}"] = delta.sum(axis=0)
        if l > 1:
            A = acts[l - 1]
            delta = (delta @ params[f"W{l}"]) * A * (1 - A)
    return grads


def torch_gradients(torch, params: dict, X: np.ndarray, Y: np.ndarray) -> Callable[[], dict]:
    """A closure running one eager forward and ``loss.backward()`` on tensors sharing the data
    (F.linear, torch.sigmoid, the same loss); it returns the .grad of every parameter."""
    F = torch.nn.functional
    tp = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in params.items()}
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)

    def step() -> dict:
        for p in tp.values():
            p.grad = None
        A = Xt
        for l in range(1, DEPTH + 1):
            A = torch.sigmoid(F.linear(A, tp[f"W{l}"], tp[f"b{l}"]))
        loss = ((A - Yt) ** 2).sum(dim=1).mean()
        loss.backward()
        return {k: p.grad for k, p in tp.items()}

    return step


def max_error(got: dict, ref: dict) -> float:
    """The largest over the gradients of max |got - ref| / max |ref|."""
    worst = 0.0
    for k, r in ref.items():
        g = np.asarray(got[k], dtype=np.float64)
        r = np.asarray(r, dtype=np.float64)
        worst = max(worst, float(np.max(np.abs(g - r)) / max(np.max(np.abs(r)), 1e-300)))
    return worst


def _product_operands(node) -> tuple | None:
    """The two operands of a matrix product written ``A @ B`` or ``A.dot(B)``, else None."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return node.left, node.right
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "dot"
        and len(node.args) == 1
    ):
        return node.func.value, node.args[0]
    return None


class GeneratedProducts:
    """The matrix products of the generated ``_gradients``, read from its source, with their
    operands: the function's statements are run once on the arguments ``gradients`` passes
    (``X.T``, ``b[:, None]``, ...), so each product gets the very arrays (and memory layouts)
    it multiplies in the generated code."""

    def __init__(self, prog: Program, params: dict, X: np.ndarray, Y: np.ndarray):
        fn = prog.function("_gradients")
        self.source = textwrap.dedent(inspect.getsource(fn))
        fdef = ast.parse(self.source).body[0]
        # The activation helpers _gradients calls (sigma, sigma_prime, sigma_and_prime, ...),
        # in the order it first calls them.
        calls = [
            node
            for node in ast.walk(fdef)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id.startswith("sigma")
        ]
        calls.sort(key=lambda node: (node.lineno, node.col_offset))
        self.helper_names = list(dict.fromkeys(node.func.id for node in calls))
        self.helpers = "\n\n\n".join(
            textwrap.dedent(inspect.getsource(prog.function(name))).strip()
            for name in self.helper_names
        )
        args = []
        for l in range(1, DEPTH + 1):
            args += [params[f"W{l}"], params[f"b{l}"][:, None]]
        args += [X.T, Y.T, X.shape[0]]
        self.args = args
        ns = dict(fn.__globals__)
        ns.update(zip((a.arg for a in fdef.args.args), args, strict=True))
        self.namespace = ns
        # The statements run one by one; each product's operands are taken just before the
        # statement that multiplies them, since later statements may reuse their buffers in
        # place or delete their names. ``values`` keeps every quantity as it was assigned
        # (z1, a1, delta1, ...; a copy where a later statement overwrites it in place).
        self.values: dict = {}
        nodes, self.operands = [], []
        for stmt in fdef.body:
            products = [node for node in ast.walk(stmt) if _product_operands(node)]
            products.sort(key=lambda node: (node.lineno, node.col_offset))
            for node in products:
                A, B = (self._eval(side) for side in _product_operands(node))
                # A product with one column of ones is the sum over samples (dC/db), not a GEMM.
                if B.ndim == 2 and B.shape[1] > 1:
                    nodes.append(node)
                    self.operands.append((A, B))
            if stmt is fdef.body[-1]:
                break
            targets = []
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    elts = target.elts if isinstance(target, ast.Tuple) else [target]
                    targets += [t.id for t in elts if isinstance(t, ast.Name)]
            for name in targets:
                if name.startswith("a") and name[1:].isdigit():
                    # a^(l) = f(z^(l)): z^(l) is final here, and the statement may reuse its
                    # memory.
                    self.values[f"z{name[1:]}"] = ns[f"z{name[1:]}"].copy()
            exec(compile(ast.fix_missing_locations(ast.Module([stmt], [])), "<gen>", "exec"), ns)
            for name in targets:
                # a copy of a^(l), which a later statement may overwrite in place
                copy = name.startswith("a") and name[1:].isdigit()
                self.values[name] = ns[name].copy() if copy else ns[name]
        self.texts = [ast.unparse(node) for node in nodes]
        # The input gradient dC/da0 is output 2L of the returned list, when ``_gradients``
        # returns it (directly or through a name); else it is the product W1.T delta1, which
        # only ``gradients(..., activations=True)`` computes.
        assigned = {
            stmt.targets[0].id: stmt.value
            for stmt in fdef.body
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
        }
        returned = fdef.body[-1].value
        da0 = None
        if isinstance(returned, ast.List) and len(returned.elts) > 2 * DEPTH:
            da0 = returned.elts[2 * DEPTH]
            if isinstance(da0, ast.Name):
                da0 = assigned.get(da0.id)
        self.input_in_gradients = da0 is not None
        input_text = ast.unparse(da0) if da0 is not None else None
        seen: Counter = Counter()
        self.roles = []
        for text in self.texts:
            seen[text] += 1
            if seen[text] > 1:
                self.roles.append("repeat")
            elif text == input_text:
                self.roles.append("input")
            else:
                self.roles.append("needed")
        if not self.input_in_gradients:
            self.input_operands = [(ns["W1"].T, self.values["delta1"])]
        else:
            self.input_operands = [
                ab for ab, role in zip(self.operands, self.roles, strict=True) if role == "input"
            ]

    def _eval(self, node):
        return eval(compile(ast.Expression(node), "<gen>", "eval"), self.namespace)

    def runner(self, roles: Sequence[str]) -> Callable[[], None]:
        """Runs the products of the given roles; ``("input",)`` runs dC/da0's product even where
        ``_gradients`` does not compute it."""
        if tuple(roles) == ("input",):
            ops = self.input_operands
        else:
            ops = [ab for ab, role in zip(self.operands, self.roles, strict=True) if role in roles]

        def run() -> None:
            for A, B in ops:
                A @ B

        return run

    def count(self, roles: Sequence[str]) -> int:
        return sum(role in roles for role in self.roles)


ALL_PRODUCTS = ("needed", "input", "repeat")


# ---------------------------------------------------------------------------------------------
# Measurements


def _on_each(f: Callable, arrays: list) -> Callable[[], list]:
    return lambda: [f(x) for x in arrays]


def measure_size(cfg: Settings, torch, width: int, batch: int, dtype) -> dict:
    dt = np.dtype(dtype)
    params, X, Y = make_problem(width, batch, dt)
    prog = Program(NetworkSpec(DEPTH, (width,) * (DEPTH + 1), "sigmoid", "squared"), dtype=dt)
    gen = prog.gradients(params, X, Y)
    ref = numpy_gradients(params, X, Y)
    out = {"width": width, "batch": batch, "dtype": dt.name, "tol": TOLERANCE[dt]}
    out["err numpy"] = max_error(ref, gen)
    if out["err numpy"] > TOLERANCE[dt]:
        raise SystemExit(
            f"hand-written NumPy disagrees with the generated code at {width}x{batch} {dt.name}: "
            f"relative error {out['err numpy']:.2e} > {TOLERANCE[dt]:.0e}"
        )
    products = GeneratedProducts(prog, params, X, Y)
    cells: dict[str, Callable[[], object]] = {
        "generated": lambda: prog.gradients(params, X, Y),
        "numpy": lambda: numpy_gradients(params, X, Y),
    }
    if torch is not None:
        step = torch_gradients(torch, params, X, Y)
        tg = {k: v.numpy() for k, v in step().items()}
        out["err torch"] = max_error(tg, gen)
        if out["err torch"] > TOLERANCE[dt]:
            raise SystemExit(
                f"torch disagrees with the generated code at {width}x{batch} {dt.name}: "
                f"relative error {out['err torch']:.2e} > {TOLERANCE[dt]:.0e}"
            )
        cells["torch"] = step
    cells["gemm"] = products.runner(ALL_PRODUCTS)
    with np.errstate(over="ignore"):
        main = interleaved(cells, cfg.cell, cfg.warmup, min_rounds=cfg.min_rounds)
    out["main"] = main
    out["products"] = products

    # Where the generated code's time goes: each part on the generated code's own operands.
    zs = [products.values[f"z{l}"] for l in range(1, DEPTH + 1)]
    acts = [products.values[f"a{l}"] for l in range(1, DEPTH + 1)]
    raw = prog.function("_gradients")

    def textbook_sigmoid():
        for z in zs:
            1 / (1 + np.exp(-z))

    def textbook_prime():
        for a in acts:
            a * (1 - a)

    parts: dict[str, Callable[[], object]] = {}
    if main["generated"].median < RAW_LIMIT:
        parts["raw"] = lambda: raw(*products.args)
    if products.count(("repeat",)):
        parts["repeat"] = products.runner(("repeat",))
    parts.update(
        {
            "needed": products.runner(("needed",)),
            "input": products.runner(("input",)),
            **{
                f"helper {name}": _on_each(prog.function(name), zs)
                for name in products.helper_names
            },
            "textbook sigmoid": textbook_sigmoid,
            "textbook prime": textbook_prime,
        }
    )
    with np.errstate(over="ignore"):
        out["parts"] = interleaved(parts, cfg.part, cfg.warmup)
        out["faults"] = {k: page_faults(cells[k]) for k in ("generated", "numpy")}
    m = main
    gen, tor = m["generated"].median, m["torch"].median if "torch" in m else None
    fastest = m["torch"].min if "torch" in m else None
    out["fastest"] = {
        "gen/torch": ratio(m["generated"].min, fastest),
        "roofline": m["gemm"].min / m["generated"].min,
    }
    out["ratios"] = {
        "gen/numpy": gen / m["numpy"].median,
        "gen/torch": ratio(gen, tor),
        "numpy/torch": ratio(m["numpy"].median, tor),
        "roofline": m["gemm"].median / gen,
    }
    return out


def run_pass(cfg: Settings, torch, mode: str, label: str | None = None) -> dict:
    results = []
    load = f"Load average before this pass: {load_average()}"
    with thread_mode(mode, torch) as description:
        description = label or description
        for width, batch in SIZES:
            for dtype in DTYPES:
                t0 = time.perf_counter()
                r = measure_size(cfg, torch, width, batch, dtype)
                r["seconds"] = time.perf_counter() - t0
                results.append(r)
                print(
                    f"  [{mode}] {width}x{batch} {r['dtype']}: {r['seconds']:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
    load += f", after it: {load_average()}"
    return {"mode": mode, "description": description, "results": results, "load": load}


# ---------------------------------------------------------------------------------------------
# Sections


def section_codegen(cfg: Settings) -> str:
    generate = codegen.generate_source.__wrapped__
    specs = {L: NetworkSpec(L) for L in CODEGEN_DEPTHS}
    first = {L: timed(lambda s=spec: generate(s)) for L, spec in specs.items()}
    cells: dict[str, Callable[[], object]] = {}
    cached: dict[str, Callable[[], object]] = {}
    for L, spec in specs.items():
        cells[f"generate {L}"] = lambda s=spec: generate(s)

        def cold(s=spec):
            codegen.generate_source.cache_clear()
            Program(s)

        cells[f"cold {L}"] = cold
        cached[f"program {L}"] = lambda s=spec: Program(s)
    times = interleaved(cells, cfg.codegen, warmup=0.0)
    for spec in specs.values():
        Program(spec)  # fills generate_source's cache for the cached group
    times.update(interleaved(cached, cfg.codegen / 4, warmup=0.0))
    codegen.generate_source.cache_clear()
    rows = []
    for L in CODEGEN_DEPTHS:
        g, p, c = times[f"generate {L}"], times[f"program {L}"], times[f"cold {L}"]
        rows.append(
            (
                L,
                f"{first[L]:.3f}",
                f"{g.median:.3f}",
                f"{p.median * 1e3:.2f}",
                f"{c.median:.3f}",
                f"{g.calls} / {p.calls} / {c.calls}",
            )
        )
    return (
        "## Code generation\n\n"
        "`bpverify.numeric.codegen.source.generate_source.__wrapped__(NetworkSpec(L))` (symbolic "
        "widths, sigmoid, squared loss; `__wrapped__` bypasses its `functools.cache`, the "
        "derivation's own rule caches stay): *first* is the first call in this process "
        "(imports excluded), *warm* the median of repeated calls. *Program (cached source)*: "
        "`Program(spec)` when `generate_source` has the source cached, i.e. the compile and "
        "`exec` of the module; *cold Program*: `Program(spec)` with `generate_source`'s cache "
        "cleared before each call (generation + construction), median.\n\n"
        + table(
            (
                "depth L",
                "generate first s",
                "generate warm s",
                "Program (cached source) ms",
                "cold Program s",
                "calls timed",
            ),
            rows,
        )
    )


def section_gradients(run: dict, number: int) -> str:
    results = run["results"]
    rows = []
    for r in results:
        m, q = r["main"], r["ratios"]
        rows.append(
            (
                f"{r['width']}x{r['batch']}",
                r["dtype"],
                fmt_cell(m["generated"]),
                fmt_cell(m["numpy"]),
                fmt_cell(m.get("torch")),
                fmt_cell(m["gemm"]),
                fmt_ratio(q["gen/numpy"]),
                fmt_ratio(q["gen/torch"]),
                fmt_ratio(q["numpy/torch"]),
                f"{q['roofline']:.0%}",
                " / ".join(str(t.calls) for t in m.values()),
            )
        )
    n_all = len(results[0]["products"].texts)
    return (
        f"## {number}. Gradient evaluation, {run['description']}\n\n"
        "Median time of one full gradient evaluation (dC/dW and dC/db of every layer) in ms, "
        "the fastest call in parentheses; ratios of the medians. "
        f"{run['load']}. *generated*: "
        "`Program(spec, dtype).gradients(params, X, Y)`; *numpy*: the hand-written backprop; "
        f"*torch*: eager `loss.backward()`; *GEMM*: the {n_all} matrix products of the generated "
        "`_gradients` alone (the roofline). The last column counts the calls timed (generated / "
        "numpy / torch / GEMM).\n\n"
        + table(
            (
                "width x batch",
                "dtype",
                "generated ms",
                "numpy ms",
                "torch ms",
                "GEMM ms",
                "gen / numpy",
                "gen / torch",
                "numpy / torch",
                "GEMM / gen",
                "calls",
            ),
            rows,
        )
    )


def section_breakdown(run: dict, number: int) -> str:
    results = run["results"]
    first = results[0]["products"]
    n_needed, n_repeat = first.count(("needed",)), first.count(("repeat",))
    in_gradients = first.input_in_gradients
    extra_col = bool(n_repeat) or in_gradients
    header = ["width x batch", "dtype", "generated", "raw", "needed products", "dC/da0"]
    header += ["again"] if n_repeat else []
    helpers = first.helper_names
    header += [f"{name} x{DEPTH}" for name in helpers]
    header += ["rest", "textbook sigmoid x3", "textbook a(1-a) x3"]
    header += ["extra products"] if extra_col else []
    header += ["activation helpers", "page faults / call: generated / numpy"]
    rows = []
    for r in results:
        m, p = r["main"], r["parts"]
        gen = m["generated"].median
        helper_times = [p[f"helper {name}"].median for name in helpers]
        extra = p["repeat"].median if "repeat" in p else 0.0
        extra += p["input"].median if in_gradients else 0.0
        rest = gen - m["gemm"].median - sum(helper_times)
        row = [f"{r['width']}x{r['batch']}", r["dtype"], fmt_ms(gen)]
        row.append(fmt_ms(p["raw"].median) if "raw" in p else "–")
        row += [fmt_ms(p["needed"].median), fmt_ms(p["input"].median)]
        row += [fmt_ms(p["repeat"].median)] if n_repeat else []
        row += [fmt_ms(t) for t in helper_times] + [fmt_ms(rest)]
        row += [fmt_ms(p["textbook sigmoid"].median), fmt_ms(p["textbook prime"].median)]
        row += [f"{extra / gen:.0%}"] if extra_col else []
        row.append(f"{sum(helper_times) / gen:.0%}")
        faults = r["faults"]
        if None in faults.values():
            row.append("–")
        else:
            row.append(f"{faults['generated']:.0f} / {faults['numpy']:.0f}")
        rows.append(row)
    if in_gradients:
        input_note = "which `gradients` computes and drops"
    else:
        input_note = "which `gradients` computes only with `activations=True` (not timed above)"
    again = (
        f"; *again*: the {n_repeat} products computed a second time (for the dC/da outputs)"
        if n_repeat
        else ""
    )
    shares = "the share of the generated time of the activation helpers"
    if extra_col:
        shares = (
            "the shares of the generated time of the products beyond the needed ones, and of "
            "the activation helpers"
        )
    names = ", ".join(f"*{name}*" for name in helpers)
    shares += (
        "; the last, the minor page faults of one call of the generated code and of the "
        "hand-written NumPy (median of 3): freed temporaries whose memory the allocator gave "
        "back to the system fault again, page by page, when the next call writes them"
    )
    return (
        f"## {number}. Where the generated code's time goes, {run['description']}\n\n"
        "Medians in ms, each part timed on its own (interleaved) on the generated code's own "
        "operands (samples as columns). *raw*: `_gradients` called directly, without the public "
        f"wrapper (only where a gradient takes under {RAW_LIMIT * 1e3:.0f} ms); *needed "
        f"products*: the {n_needed} products computed once each (a backprop needs 3 forward, "
        "3 dC/dW and 2 propagations); *dC/da0*: the product `W1.T.dot(delta1)` for the input "
        f"gradient, {input_note}{again}; {names}: the activation helpers `_gradients` calls "
        "(source below), on z1..z3; *rest*: generated - GEMM (table above) - the helpers (bias "
        "adds, Hadamard products, sums, temporaries and their page faults, call overhead; a "
        "difference of medians, so noisy, negative where they are). For comparison the textbook "
        "`1/(1+exp(-z))` and `a*(1-a)` on the same arrays. The columns after the textbook ones "
        f"give {shares}."
        "\n\n" + table(header, rows)
    )


def section_products_and_checks(run: dict) -> str:
    results = run["results"]
    first = results[0]["products"]
    label = {"needed": "", "input": " (dC/da0, dropped by `gradients`)", "repeat": " (again)"}
    products_list = "\n".join(
        f"{i + 1}. `{text}`{label[role]}"
        for i, (text, role) in enumerate(zip(first.texts, first.roles, strict=True))
    )
    rows = [
        (
            f"{r['width']}x{r['batch']}",
            r["dtype"],
            f"{r['err numpy']:.1e}",
            f"{r['err torch']:.1e}" if "err torch" in r else "–",
            f"{r['tol']:.0e}",
        )
        for r in results
    ]
    return (
        "## The products, and agreement\n\n"
        "The matrix products of the generated `_gradients`, read from "
        '`inspect.getsource(prog.function("_gradients"))`, in source order:\n\n'
        + products_list
        + "\n\nThe activation helpers of the generated `_gradients`, timed on their own:\n\n"
        + f"```python\n{first.helpers}\n```"
        + "\n\nAgreement checked before timing: max |difference| / max |generated|, the largest "
        "over the gradients (every pass checks; these are from the first):\n\n"
        + table(("width x batch", "dtype", "numpy", "torch", "tolerance"), rows)
    )


def goal_lines(run: dict, torch, roofline_only: bool = False) -> list[str]:
    """Goals judged on the ratios of the medians; the ratios of the fastest calls follow in
    brackets, as a view less disturbed by other work on the machine."""

    def cell(r: dict) -> str:
        return f"{r['width']}x{r['batch']} {r['dtype']}"

    results = run["results"]
    lines = [f"With {run['description']}:", ""]
    if roofline_only:
        pass
    elif torch is None:
        lines.append(
            f"- generated / torch <= {TORCH_GOAL} at every size: not evaluated (no torch)."
        )
        lines.append(
            f"- generated / torch <= {TORCH_GOAL_SMALL} at {SMALL_SIZE[0]}x{SMALL_SIZE[1]}: "
            "not evaluated (no torch)."
        )
    else:
        worst = max(results, key=lambda r: r["ratios"]["gen/torch"])
        misses = [r for r in results if r["ratios"]["gen/torch"] > TORCH_GOAL]
        listed = ", ".join(
            f"{cell(r)} {r['ratios']['gen/torch']:.3f} [{r['fastest']['gen/torch']:.3f}]"
            for r in results
        )
        lines.append(
            f"- generated / torch <= {TORCH_GOAL} at every size: {verdict(not misses)}, "
            f"{len(results) - len(misses)} of {len(results)} cells (worst "
            f"{worst['ratios']['gen/torch']:.3f} at {cell(worst)}). All: {listed}."
        )
        small = [r for r in results if (r["width"], r["batch"]) == SMALL_SIZE]
        met = all(r["ratios"]["gen/torch"] <= TORCH_GOAL_SMALL for r in small)
        vals = ", ".join(
            f"{r['dtype']} {r['ratios']['gen/torch']:.3f} [{r['fastest']['gen/torch']:.3f}]"
            for r in small
        )
        lines.append(
            f"- generated / torch <= {TORCH_GOAL_SMALL} at {SMALL_SIZE[0]}x{SMALL_SIZE[1]}: "
            f"{verdict(met)} ({vals})."
        )
    big = [r for r in results if r["width"] >= ROOFLINE_WIDTH]
    met = all(r["ratios"]["roofline"] >= ROOFLINE_GOAL for r in big)
    vals = ", ".join(
        f"{cell(r)} {r['ratios']['roofline']:.0%} [{r['fastest']['roofline']:.0%}]" for r in big
    )
    lines.append(
        f"- at least {ROOFLINE_GOAL:.0%} of the GEMM roofline (GEMM time / generated time) at "
        f"width >= {ROOFLINE_WIDTH}: {verdict(met)} ({vals})."
    )
    return lines


SEPARATE = "one thread: numpy BLAS 1, in a separate process where torch is not imported"


def separate_pass(args, number: int) -> tuple[list[str], str]:
    """The one-thread pass again in a child process that never imports torch: importing torch
    changes how the C allocator reuses memory, and with it the page faults of the temporaries
    (see the last column of the breakdown). Returns the child's goal lines and sections."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--no-torch", "--threads", "one"]
    cmd += ["--embedded", str(number)] + (["--quick"] if args.quick else [])
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if p.returncode != 0:
        note = f"The separate process without torch failed (exit code {p.returncode})."
        return [note, ""], note
    out = json.loads(p.stdout)
    return out["goals"], out["sections"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter cells (about 0.25 s)")
    parser.add_argument(
        "--threads",
        choices=("both", "default", "one"),
        default="both",
        help="default threads, one thread each, or both passes (the default); with torch and "
        "one thread, the one-thread pass runs again in a process without torch",
    )
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--embedded", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            torch = None
    threads = args.threads
    if threads != "default" and not numpy_blas_pools():
        print("threadpoolctl not installed: default threads only", file=sys.stderr)
        threads = "default"
    cfg = Settings(args.quick, threads)
    if args.embedded is not None:
        run = run_pass(cfg, None, "one", label=SEPARATE)
        sections = section_gradients(run, args.embedded) + "\n\n"
        sections += section_breakdown(run, args.embedded + 1) + "\n"
        goals = [*goal_lines(run, None, roofline_only=True), ""]
        print(json.dumps({"goals": goals, "sections": sections}))
        return 0
    start = time.perf_counter()
    command = " ".join(["python", SCRIPT, *(sys.argv[1:] if argv is None else argv)])
    print("# Generated gradient code: benchmark\n")
    print(f"Command: `{command}`\n")
    print(machine_info(torch) + "\n", flush=True)
    print("code generation ...", file=sys.stderr, flush=True)
    codegen_text = section_codegen(cfg)
    runs = [run_pass(cfg, torch, mode) for mode in cfg.threads]
    extra_goals, extra_sections = [], ""
    if torch is not None and "one" in cfg.threads:
        extra_goals, extra_sections = separate_pass(args, 2 * len(runs) + 1)
    goals = [
        "## Goals",
        "",
        "Judged on the ratios of the medians; in brackets the same ratio of the fastest calls.",
        "",
    ]
    for run in runs:
        goals += [*goal_lines(run, torch), ""]
    print("\n".join(goals + extra_goals))
    number = 1
    for run in runs:
        print(section_gradients(run, number) + "\n")
        print(section_breakdown(run, number + 1) + "\n")
        number += 2
    if extra_sections:
        print(extra_sections)
    print(section_products_and_checks(runs[0]) + "\n")
    print(codegen_text + "\n")
    print(
        f"Total benchmark time: {time.perf_counter() - start:.0f} s. "
        f"Load average at the end: {load_average()}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
