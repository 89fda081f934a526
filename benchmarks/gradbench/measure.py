"""The measurements: one pass over the sizes (every method, then the parts of the generated
code's time), and the time to generate the code."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
from machine import load_average

from bpverify.derive import NetworkSpec
from bpverify.numeric.codegen import source as codegen
from bpverify.numeric.codegen.program import Program
from gradbench.baselines import (
    DEPTH,
    TOLERANCE,
    jax_gradients,
    make_problem,
    max_error,
    numpy_gradients,
    torch_gradients,
)
from gradbench.products import ALL_PRODUCTS, GeneratedProducts
from gradbench.threads import thread_mode
from gradbench.timing import interleaved, page_faults, timed

SIZES = ((32, 64), (128, 128), (512, 256), (1024, 1024))  # (width, batch)
DTYPES = (np.float64, np.float32)
CODEGEN_DEPTHS = (3, 30)
RAW_LIMIT = 0.05  # time the bare `_gradients` only where a gradient takes less (seconds)
BASELINES = ("torch", "jax")


class Settings:
    """Time per cell for one mode (default or ``--quick``)."""

    def __init__(self, quick: bool, threads: str, sizes=SIZES):
        self.quick = quick
        self.sizes = tuple(sizes)
        self.threads = ("default", "one") if threads == "both" else (threads,)
        self.cell = 0.25 if quick else 1.2  # seconds per method and size, main table
        self.min_rounds = 3 if quick else 5  # calls at least, main table
        self.part = 0.1 if quick else 0.3  # seconds per part, breakdown table
        self.codegen = 1.0 if quick else 3.0  # seconds per code generation cell
        self.warmup = 0.1 if quick else 0.2  # seconds of warm-up calls (at least one call)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a / b


def _on_each(f: Callable, arrays: list) -> Callable[[], list]:
    return lambda: [f(x) for x in arrays]


def _agree(out: dict, name: str, got: dict, ref: dict, where: str, tol: float) -> None:
    """Records the error of ``got`` against the generated ``ref``; stops the run if too large."""
    out[f"err {name}"] = max_error(got, ref)
    if out[f"err {name}"] > tol:
        raise SystemExit(
            f"{name} disagrees with the generated code at {where}: relative error "
            f"{out[f'err {name}']:.2e} > {tol:.0e}"
        )


def measure_size(cfg: Settings, libs: dict, width: int, batch: int, dtype) -> dict:
    """One size and dtype: every method timed (interleaved), then the parts of the generated
    code's time. ``libs`` maps "torch" and "jax" to the module, or to None to leave it out."""
    dt = np.dtype(dtype)
    params, X, Y = make_problem(width, batch, dt)
    prog = Program(NetworkSpec(DEPTH, (width,) * (DEPTH + 1), "sigmoid", "squared"), dtype=dt)
    gen = prog.gradients(params, X, Y)
    where = f"{width}x{batch} {dt.name}"
    out = {"width": width, "batch": batch, "dtype": dt.name, "tol": TOLERANCE[dt]}
    _agree(out, "numpy", numpy_gradients(params, X, Y), gen, where, TOLERANCE[dt])
    products = GeneratedProducts(prog, params, X, Y)
    cells: dict[str, Callable[[], object]] = {
        "generated": lambda: prog.gradients(params, X, Y),
        "numpy": lambda: numpy_gradients(params, X, Y),
    }
    steps = {"torch": torch_gradients, "jax": jax_gradients}
    for name in BASELINES:
        if libs.get(name) is not None:
            step = steps[name](libs[name], params, X, Y)
            got = {k: np.asarray(v) for k, v in step().items()}
            _agree(out, name, got, gen, where, TOLERANCE[dt])
            cells[name] = step
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
    gen_t = main["generated"]
    out["ratios"] = {
        "gen/numpy": gen_t.median / main["numpy"].median,
        "roofline": main["gemm"].median / gen_t.median,
    }
    out["fastest"] = {"roofline": main["gemm"].min / gen_t.min}
    for name in BASELINES:
        other = main.get(name)
        out["ratios"][f"gen/{name}"] = _ratio(gen_t.median, other and other.median)
        out["ratios"][f"numpy/{name}"] = _ratio(main["numpy"].median, other and other.median)
        out["fastest"][f"gen/{name}"] = _ratio(gen_t.min, other and other.min)
    return out


def run_pass(cfg: Settings, libs: dict, mode: str, jax_threads: str, label: str | None = None):
    """Every size and dtype with the threads of ``mode`` ("default" or "one")."""
    results = []
    load = f"Load average before this pass: {load_average()}"
    with thread_mode(mode, libs.get("torch"), jax_threads) as description:
        description = label or description
        for width, batch in cfg.sizes:
            for dtype in DTYPES:
                t0 = time.perf_counter()
                r = measure_size(cfg, libs, width, batch, dtype)
                r["seconds"] = time.perf_counter() - t0
                results.append(r)
                print(
                    f"  [{mode}] {width}x{batch} {r['dtype']}: {r['seconds']:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
    load += f", after it: {load_average()}"
    return {"mode": mode, "description": description, "results": results, "load": load}


def measure_codegen(cfg: Settings) -> dict:
    """The time to generate the code (``generate_source`` without its cache) and to build a
    ``Program`` (from the cached source, and cold), by depth."""
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
    return {"first": first, "times": times}
