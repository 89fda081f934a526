"""The Markdown report: the machine, the goals, and one table per measurement."""

from __future__ import annotations

import os
from collections.abc import Sequence

import machine
import numpy as np
from machine import version

from gradbench.baselines import DEPTH
from gradbench.measure import CODEGEN_DEPTHS, RAW_LIMIT
from gradbench.threads import blas_info
from gradbench.timing import Timing

OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")

BASELINE_GOAL = 1.0  # generated / torch and generated / jax at every size
TORCH_GOAL_SMALL = 0.35  # generated / torch at the smallest size
SMALL_SIZE = (32, 64)
ROOFLINE_GOAL = 0.85  # GEMM time / generated time at width >= ROOFLINE_WIDTH
ROOFLINE_WIDTH = 512
LABELS = {"torch": "torch", "jax": "jax"}


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


def machine_info(libs: dict) -> str:
    env = ", ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in OPENBLAS_VARS)
    rows = [
        *machine.rows(),
        ("sympy", version("sympy")),
        ("numpy", np.__version__),
        ("numpy BLAS (default threads)", blas_info()),
        ("Environment", env),
    ]
    torch, jax = libs.get("torch"), libs.get("jax")
    if torch is None:
        rows.append(("torch", "not used (not installed, or --no-torch)"))
    else:
        blas = "MKL" if torch.backends.mkl.is_available() else "no MKL"
        rows.append(
            ("torch", f"{torch.__version__} ({blas}), {torch.get_num_threads()} threads (default)")
        )
    if jax is None:
        rows.append(("jax", "not used (not installed, or --no-jax)"))
    else:
        libs_text = f"{jax.__version__} (jaxlib {version('jaxlib')}), CPU, float64 enabled"
        rows.append(("jax", libs_text))
    return "## Machine\n\n" + table(("", ""), rows)


def _cell(r: dict) -> str:
    return f"{r['width']}x{r['batch']} {r['dtype']}"


def goal_lines(run: dict, libs: dict, roofline_only: bool = False) -> list[str]:
    """Goals judged on the ratios of the medians; the ratios of the fastest calls follow in
    brackets, as a view less disturbed by other work on the machine."""
    results = run["results"]
    lines = [f"With {run['description']}:", ""]
    for name in () if roofline_only else LABELS:
        key = f"gen/{name}"
        goal = f"generated / {name} <= {BASELINE_GOAL} at every size"
        if libs.get(name) is None:
            lines.append(f"- {goal}: not evaluated (no {name}).")
            continue
        worst = max(results, key=lambda r: r["ratios"][key])
        misses = [r for r in results if r["ratios"][key] > BASELINE_GOAL]
        listed = ", ".join(
            f"{_cell(r)} {r['ratios'][key]:.3f} [{r['fastest'][key]:.3f}]" for r in results
        )
        lines.append(
            f"- {goal}: {verdict(not misses)}, {len(results) - len(misses)} of {len(results)} "
            f"cells (worst {worst['ratios'][key]:.3f} at {_cell(worst)}). All: {listed}."
        )
    if not roofline_only:
        small = [r for r in results if (r["width"], r["batch"]) == SMALL_SIZE]
        goal = f"generated / torch <= {TORCH_GOAL_SMALL} at {SMALL_SIZE[0]}x{SMALL_SIZE[1]}"
        if libs.get("torch") is None:
            lines.append(f"- {goal}: not evaluated (no torch).")
        else:
            met = all(r["ratios"]["gen/torch"] <= TORCH_GOAL_SMALL for r in small)
            vals = ", ".join(
                f"{r['dtype']} {r['ratios']['gen/torch']:.3f} [{r['fastest']['gen/torch']:.3f}]"
                for r in small
            )
            lines.append(f"- {goal}: {verdict(met)} ({vals}).")
    big = [r for r in results if r["width"] >= ROOFLINE_WIDTH]
    met = all(r["ratios"]["roofline"] >= ROOFLINE_GOAL for r in big)
    vals = ", ".join(
        f"{_cell(r)} {r['ratios']['roofline']:.0%} [{r['fastest']['roofline']:.0%}]" for r in big
    )
    lines.append(
        f"- at least {ROOFLINE_GOAL:.0%} of the GEMM roofline (GEMM time / generated time) at "
        f"width >= {ROOFLINE_WIDTH}: {verdict(met)} ({vals})."
    )
    return lines


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
                fmt_cell(m.get("jax")),
                fmt_cell(m["gemm"]),
                fmt_ratio(q["gen/numpy"]),
                fmt_ratio(q["gen/torch"]),
                fmt_ratio(q["gen/jax"]),
                fmt_ratio(q["numpy/torch"]),
                f"{q['roofline']:.0%}",
                " / ".join(str(t.calls) for t in m.values()),
            )
        )
    n_all = len(results[0]["products"].texts)
    timed = " / ".join(results[0]["main"])
    return (
        f"## {number}. Gradient evaluation, {run['description']}\n\n"
        "Median time of one full gradient evaluation (dC/dW and dC/db of every layer) in ms, "
        "the fastest call in parentheses; ratios of the medians. "
        f"{run['load']}. *generated*: "
        "`Program(spec, dtype).gradients(params, X, Y)`; *numpy*: the hand-written backprop; "
        "*torch*: eager `loss.backward()`; *jax*: `jax.jit(jax.grad(loss))`, waited for; "
        f"*GEMM*: the {n_all} matrix products of the generated `_forward` and `_gradients` alone "
        f"(the roofline). The last column counts the calls timed ({timed}).\n\n"
        + table(
            (
                "width x batch",
                "dtype",
                "generated ms",
                "numpy ms",
                "torch ms",
                "jax ms",
                "GEMM ms",
                "gen / numpy",
                "gen / torch",
                "gen / jax",
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
    header = ["width x batch", "dtype", "generated", "raw", "needed products", "dC/da0"]
    header += ["again"] if n_repeat else []
    helpers = first.helper_names
    header += [f"{name} x{DEPTH}" for name in helpers]
    header += ["rest", "textbook sigmoid x3", "textbook a(1-a) x3"]
    header += ["extra products"] if n_repeat else []
    header += ["activation helpers", "page faults / call: generated / numpy"]
    rows = []
    for r in results:
        m, p = r["main"], r["parts"]
        gen = m["generated"].median
        helper_times = [p[f"helper {name}"].median for name in helpers]
        rest = gen - m["gemm"].median - sum(helper_times)
        row = [f"{r['width']}x{r['batch']}", r["dtype"], fmt_ms(gen)]
        row.append(fmt_ms(p["raw"].median) if "raw" in p else "–")
        row += [fmt_ms(p["needed"].median), fmt_ms(p["input"].median)]
        row += [fmt_ms(p["repeat"].median)] if n_repeat else []
        row += [fmt_ms(t) for t in helper_times] + [fmt_ms(rest)]
        row += [fmt_ms(p["textbook sigmoid"].median), fmt_ms(p["textbook prime"].median)]
        row += [f"{p['repeat'].median / gen:.0%}"] if n_repeat else []
        row.append(f"{sum(helper_times) / gen:.0%}")
        faults = r["faults"]
        if None in faults.values():
            row.append("–")
        else:
            row.append(f"{faults['generated']:.0f} / {faults['numpy']:.0f}")
        rows.append(row)
    again = f"; *again*: the {n_repeat} products computed a second time" if n_repeat else ""
    shares = "the share of the generated time of the activation helpers"
    if n_repeat:
        shares = (
            "the shares of the generated time of the products computed again, and of the "
            "activation helpers"
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
        "gradient, which `gradients` computes only with `activations=True` (not timed above)"
        f"{again}; {names}: the activation helpers the generated code calls (source below), on "
        "z1..z3; *rest*: generated - GEMM (table above) - the helpers (bias adds, Hadamard "
        "products, sums, temporaries and their page faults, call overhead; a difference of "
        "medians, so noisy, negative where they are). For comparison the textbook "
        "`1/(1+exp(-z))` and `a*(1-a)` on the same arrays. The columns after the textbook ones "
        f"give {shares}."
        "\n\n" + table(header, rows)
    )


def section_products_and_checks(run: dict) -> str:
    results = run["results"]
    first = results[0]["products"]
    label = {"needed": "", "repeat": " (again)"}
    products_list = "\n".join(
        f"{i + 1}. `{text}`{label[role]}"
        for i, (text, role) in enumerate(zip(first.texts, first.roles, strict=True))
    )
    rows = [
        (
            f"{r['width']}x{r['batch']}",
            r["dtype"],
            *(f"{r[f'err {k}']:.1e}" if f"err {k}" in r else "–" for k in ("numpy", *LABELS)),
            f"{r['tol']:.0e}",
        )
        for r in results
    ]
    return (
        "## The products, and agreement\n\n"
        "The matrix products of one gradient evaluation, read from the source of the generated "
        "`_forward` and `_gradients` (`inspect.getsource`), in source order:\n\n"
        + products_list
        + "\n\nThe activation helpers the generated code calls, timed on their own:\n\n"
        + f"```text\n{first.helpers}\n```"
        + "\n\nAgreement checked before timing: max |difference| / max |generated|, the largest "
        "over the gradients (every pass checks; these are from the first):\n\n"
        + table(("width x batch", "dtype", "numpy", "torch", "jax", "tolerance"), rows)
    )


def section_codegen(data: dict) -> str:
    first, times = data["first"], data["times"]
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
