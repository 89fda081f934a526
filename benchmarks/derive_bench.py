"""Benchmarks of ``bpverify derive``: prints a Markdown report (tables) to stdout.

Every timing is set against a baseline or a second case measured in the same run, so the ratios
say more than the absolute numbers, which depend on the machine.

1. ``bpverify derive --layers 3`` as a whole process, against ``python -c "import sympy"``.
2. ``derive_network`` in-process at depth 1, 10 and 50 (symbolic widths): cold and warm.
3. ``derive_network`` at widths 8 against widths 4096.
4. ``unrolled_gradients`` against parameter count, with symengine and with SymPy.
5. The self-verification of the default network.

Usage:
    python benchmarks/derive_bench.py               # everything, about 2 minutes
    python benchmarks/derive_bench.py --quick       # fewer repeats, shorter time limit
    python benchmarks/derive_bench.py --section cli --section depth
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import machine
from machine import load_average, version

SCRIPT = "benchmarks/derive_bench.py"
SECTIONS = ("cli", "depth", "width", "unrolled", "verify")

CLI_GOAL = 1.5
DEPTH_GOAL = 3.0
UNROLLED_GOAL = 10.0
UNROLLED_GOAL_PARAMS = 500
WIDTH_NOISE = 0.05

DEPTHS = (1, 10, 50)
# L = 3 sigmoid networks of 20, 50, 60, 100, 200 and 500 parameters (sum n_l (n_{l-1} + 1)).
UNROLLED_WIDTHS = (
    (2, 3, 2, 1),
    (4, 4, 4, 2),
    (4, 4, 4, 4),
    (4, 6, 6, 4),
    (3, 10, 8, 8),
    (5, 17, 15, 8),
)


class Settings:
    """Repeat counts and limits for one mode (default or ``--quick``)."""

    def __init__(self, quick: bool, timeout: float | None):
        self.quick = quick
        self.cli_runs = 3 if quick else 11
        self.cold_runs = 2 if quick else 5
        self.warm_runs = 3 if quick else 7
        self.width_runs = 5 if quick else 11
        self.verify_runs = 3 if quick else 7
        self.unrolled_runs = 1 if quick else 3
        self.unrolled_budget = 5.0 if quick else 20.0
        self.timeout = timeout if timeout is not None else (30.0 if quick else 120.0)
        self.timeout_given = timeout is not None


# ---------------------------------------------------------------------------------------------
# Helpers


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def fmt_s(x: float | None) -> str:
    if x is None:
        return "–"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 0.1:
        return f"{x:.3f}"
    return f"{x:.4f}"


def fmt_ms(x: float) -> str:
    return f"{x * 1000:.1f}"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def reproduce(section: str, quick: bool, extra: str = "") -> str:
    flag = " --quick" if quick else ""
    return f"Reproduce: `python {SCRIPT} --section {section}{flag}{extra}`"


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def clear_caches() -> None:
    """Forget the derived layer rules (functools caches) and SymPy's global cache."""
    from sympy.core.cache import clear_cache

    from bpverify.derive import rules, unrolled

    rules.affine_rules.cache_clear()
    rules.activation_rule.cache_clear()
    rules.loss_rule.cache_clear()
    unrolled._written_out_loss.cache_clear()
    clear_cache()


def run_child(job: dict, timeout: float | None = None) -> dict:
    """Run ``job`` in a fresh interpreter (this script with ``--child``).

    The child prints ``ready`` once its imports are done; ``timeout`` counts from there, so it
    limits the measured work and not the start-up. Returns the child's JSON answer (its last
    line), or ``{"timeout": True, "times": [...]}`` with the runs finished before the limit was
    hit (the child is then killed).
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(job)]
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            first = proc.stdout.readline().strip()
            if first != "ready":
                proc.wait()
                err.seek(0)
                raise RuntimeError(f"child failed before timing: {first}\n{err.read()[-2000:]}")
            try:
                out, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
                lines = [json.loads(x) for x in out.splitlines() if x.startswith('{"time"')]
                return {"timeout": True, "times": [x["time"] for x in lines]}
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"child {job} exited {proc.returncode}:\n{err.read()[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# Children (run in a fresh interpreter)


def child_main(job: dict) -> dict:
    t0 = time.perf_counter()
    from bpverify.derive import NetworkSpec, SpecError, derive_network, unrolled

    if job.get("backend") == "symengine":
        import symengine  # noqa: F401  (the package imports it lazily: not part of a run)

    imported = time.perf_counter() - t0
    print("ready", flush=True)
    if job["kind"] == "cold":
        spec = NetworkSpec(layers=job["layers"])
        return {"import": imported, "seconds": timed(lambda: derive_network(spec))}
    if job["kind"] == "unrolled":
        widths = tuple(job["widths"])
        spec = NetworkSpec(layers=len(widths) - 1, widths=widths)
        function = getattr(unrolled, job["function"])
        times: list[float] = []
        while len(times) < job["runs"]:
            clear_caches()
            try:
                t = timed(lambda: function(spec, backend=job["backend"]))
            except SpecError as e:  # above the package's size limit
                return {"refused": str(e)}
            times.append(t)
            print(json.dumps({"time": t}), flush=True)  # kept if a later run is stopped
            # Repeat only while the next run is expected to fit in the budget.
            if sum(times) + t > job["budget"]:
                break
        return {"times": times}
    raise ValueError(f"unknown child job {job}")


# ---------------------------------------------------------------------------------------------
# Machine information


def machine_info() -> str:
    rows = [
        *machine.rows(),
        ("sympy", version("sympy")),
        ("symengine", version("symengine")),
        ("click", version("click")),
        ("numpy", version("numpy")),
    ]
    return "## Machine\n\n" + table(("", ""), rows)


# ---------------------------------------------------------------------------------------------
# 1. Whole-process time of the CLI


def bpverify_command() -> list[str]:
    script = Path(sys.executable).with_name("bpverify")
    if script.exists():
        return [str(script)]
    if importlib.util.find_spec("bpverify.cli.__main__") is not None:
        return [sys.executable, "-m", "bpverify.cli"]
    return [sys.executable, "-c", "from bpverify.cli.main import main; main()"]


def run_process(cmd: Sequence[str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    t = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.decode()[-2000:]}")
    return t


def section_cli(cfg: Settings) -> str:
    bp = bpverify_command()
    cases = {
        "baseline": [sys.executable, "-c", "import sympy"],
        "command": [*bp, "derive", "--layers", "3"],
        "no_verify": [*bp, "derive", "--layers", "3", "--no-verify"],
    }
    for cmd in cases.values():  # one discarded round: file system caches, .pyc files
        run_process(cmd)
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(cfg.cli_runs):  # interleaved: baseline, command, command --no-verify, ...
        for name, cmd in cases.items():
            times[name].append(run_process(cmd))
    med = {k: median(v) for k, v in times.items()}
    base = med["baseline"]
    shown = {
        "baseline": '`python -c "import sympy"`',
        "command": "`bpverify derive --layers 3`",
        "no_verify": "`bpverify derive --layers 3 --no-verify` (for comparison)",
    }
    rows = [
        (shown[k], fmt_s(med[k]), fmt_s(min(v)), fmt_s(max(v)), f"{med[k] / base:.2f}")
        for k, v in times.items()
    ]
    out = [
        "## 1. Whole-process time of `bpverify derive --layers 3`",
        "",
        f"Wall time of each process (stdout to /dev/null), {cfg.cli_runs} interleaved runs each "
        f"after one discarded warm-up round. Command: `{shlex.join(cases['command'])}`; "
        f"baseline: `{shlex.join(cases['baseline'])}`.",
        "",
        table(("process", "median s", "min s", "max s", "÷ baseline"), rows),
        "",
        f"- Ratio command / baseline (medians): **{med['command'] / base:.2f}**",
        f"- Self-verification share of the command (medians): "
        f"{med['command'] - med['no_verify']:.3f} s",
        f"- Goal: median <= {CLI_GOAL} s: **{verdict(med['command'] <= CLI_GOAL)}** "
        f"(median {med['command']:.3f} s).",
        "",
        reproduce("cli", cfg.quick),
    ]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# 2. Derivation time against depth


def section_depth(cfg: Settings) -> str:
    from bpverify.derive import NetworkSpec, derive_network

    cold: dict[int, list[float]] = {L: [] for L in DEPTHS}
    imports: list[float] = []
    for _ in range(cfg.cold_runs):
        for L in DEPTHS:
            r = run_child({"kind": "cold", "layers": L})
            cold[L].append(r["seconds"])
            imports.append(r["import"])

    specs = {L: NetworkSpec(layers=L) for L in DEPTHS}
    cleared: dict[int, list[float]] = {L: [] for L in DEPTHS}
    warm: dict[int, list[float]] = {L: [] for L in DEPTHS}
    for L in DEPTHS:  # one discarded round
        derive_network(specs[L])
    for _ in range(cfg.warm_runs):
        for L in DEPTHS:
            clear_caches()
            cleared[L].append(timed(lambda L=L: derive_network(specs[L])))
        for L in DEPTHS:
            warm[L].append(timed(lambda L=L: derive_network(specs[L])))

    c = {L: median(v) for L, v in cold.items()}
    k = {L: median(v) for L, v in cleared.items()}
    w = {L: median(v) for L, v in warm.items()}
    rows = [
        (
            L,
            fmt_s(c[L]),
            fmt_s(k[L]),
            fmt_s(w[L]),
            fmt_ms(c[L] / L),
            fmt_ms(w[L] / L),
        )
        for L in DEPTHS
    ]
    lo, mid, hi = DEPTHS
    marginal = [
        (
            f"{lo} → {mid}",
            fmt_ms((c[mid] - c[lo]) / (mid - lo)),
            fmt_ms((w[mid] - w[lo]) / (mid - lo)),
        ),
        (
            f"{mid} → {hi}",
            fmt_ms((c[hi] - c[mid]) / (hi - mid)),
            fmt_ms((w[hi] - w[mid]) / (hi - mid)),
        ),
    ]
    out = [
        "## 2. Derivation time against depth (symbolic widths)",
        "",
        "`derive_network(NetworkSpec(layers=L))` in-process, imports excluded. "
        f"*cold*: the first call in a fresh interpreter (median of {cfg.cold_runs} interpreters); "
        "*caches cleared*: the layer-rule caches (`affine_rules`, `activation_rule`, "
        "`loss_rule`) and SymPy's cache cleared before each call; *warm*: repeated calls, all "
        f"caches kept (median of {cfg.warm_runs}, depths interleaved).",
        "",
        table(
            (
                "depth L",
                "cold s",
                "caches cleared s",
                "warm s",
                "cold ms / layer",
                "warm ms / layer",
            ),
            rows,
        ),
        "",
        "Added time per added layer (difference of medians):",
        "",
        table(("depths", "cold ms / layer", "warm ms / layer"), marginal),
        "",
        f"- Import of `bpverify.derive` in the fresh interpreters: median {median(imports):.3f} s "
        "(not included above).",
        f"- Goal: depth {hi} <= {DEPTH_GOAL} s: **{verdict(c[hi] <= DEPTH_GOAL)}** "
        f"(cold {c[hi]:.3f} s, warm {w[hi]:.3f} s).",
        "",
        reproduce("depth", cfg.quick),
    ]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# 3. Derivation time against width


def section_width(cfg: Settings) -> str:
    from bpverify.derive import NetworkSpec, derive_network

    specs = {w: NetworkSpec(layers=3, widths=(w,) * 4) for w in (8, 4096)}
    for spec in specs.values():  # one discarded round
        derive_network(spec)
    times: dict[int, list[float]] = {w: [] for w in specs}
    for _ in range(cfg.width_runs):
        for w, spec in specs.items():
            times[w].append(timed(lambda spec=spec: derive_network(spec)))
    med = {w: median(v) for w, v in times.items()}
    ratio = med[4096] / med[8]
    paired = sorted(b / a for a, b in zip(times[8], times[4096], strict=True))
    q1, _, q3 = statistics.quantiles(paired, n=4) if len(paired) > 1 else (paired[0],) * 3
    met = abs(ratio - 1) <= WIDTH_NOISE or q1 <= 1 <= q3
    rows = [
        (f"`widths=({w},{w},{w},{w})`", fmt_s(med[w]), fmt_s(min(v)), fmt_s(max(v)))
        for w, v in times.items()
    ]
    out = [
        "## 3. Derivation time against width",
        "",
        "`derive_network(NetworkSpec(layers=3, widths=(w,)*4))` in one process, "
        f"caches warm, {cfg.width_runs} interleaved runs each after one discarded round.",
        "",
        table(("widths", "median s", "min s", "max s"), rows),
        "",
        f"- Ratio 4096 / 8 (medians): **{ratio:.3f}**; per-pair ratios: interquartile range "
        f"{q1:.3f} – {q3:.3f}.",
        f"- Goal: equal within noise (ratio within {WIDTH_NOISE:.0%} of 1, or 1 inside the "
        f"interquartile range of the per-pair ratios): **{verdict(met)}** (ratio {ratio:.3f}).",
        "",
        reproduce("width", cfg.quick),
    ]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# 4. Unrolled derivation time against parameter count


UNROLLED_CASES = (
    ("unrolled_gradients", "symengine"),
    ("unrolled_gradients", "sympy"),
    ("unrolled_derivatives", "symengine"),
)
"""(function, backend) pairs of section 4; a function the package lacks is left out."""


def unrolled_limit(function: str, backend: str) -> int:
    """The most parameters ``function`` accepts with ``backend``, from the package's constants."""
    from bpverify.derive import unrolled

    if backend == "sympy":
        return unrolled.UNROLLED_LIMIT_SYMPY
    if function == "unrolled_gradients":
        return unrolled.UNROLLED_PRINT_LIMIT
    return unrolled.UNROLLED_DERIVATIVES_LIMIT


def section_unrolled(cfg: Settings) -> str:
    from bpverify.derive import NetworkSpec, unrolled

    cases = [(f, b) for f, b in UNROLLED_CASES if hasattr(unrolled, f)]
    counts = {w: NetworkSpec(layers=3, widths=w).parameter_count for w in UNROLLED_WIDTHS}
    results: dict[tuple[tuple[int, ...], str, str], dict] = {}
    notes: list[str] = []
    for function, backend in cases:
        limit_params = unrolled_limit(function, backend)
        over = False
        for widths in UNROLLED_WIDTHS:
            key = (widths, function, backend)
            if counts[widths] > limit_params:
                results[key] = {"skipped": f"above limit ({limit_params})"}
                continue
            if over:
                results[key] = {"skipped": "not run (a smaller case was over the time limit)"}
                continue
            job = {
                "kind": "unrolled",
                "function": function,
                "widths": widths,
                "backend": backend,
                "runs": cfg.unrolled_runs,
                "budget": cfg.unrolled_budget,
            }
            limit = cfg.timeout if cfg.timeout > 0 else None
            # Repeats stop at the budget (below the limit); 5 s margin for their noise.
            r = run_child(job, None if limit is None else max(limit, cfg.unrolled_budget) + 5)
            if "refused" in r:
                results[key] = {"skipped": "refused by the package"}
                notes.append(
                    f"`{function}` ({backend}, {counts[widths]} parameters): {r['refused']}"
                )
            elif not r["times"] or (limit is not None and r["times"][0] > limit):
                over = True
                results[key] = {"skipped": f"over {cfg.timeout:.0f} s, stopped"}
                larger = widths != UNROLLED_WIDTHS[-1]
                notes.append(
                    f"`{function}` ({backend}), {counts[widths]} parameters: stopped after "
                    f"{cfg.timeout:.0f} s (time limit){'; larger cases not run' if larger else ''}."
                )
            else:
                results[key] = {"times": r["times"]}

    def cells(widths, function, backend) -> tuple[str, str]:
        r = results[widths, function, backend]
        if "skipped" in r:
            return r["skipped"], "–"
        t = median(r["times"])
        return f"{fmt_s(t)} ({len(r['times'])})", fmt_ms(t / counts[widths])

    header = ["parameters", "widths"]
    for function, backend in cases:
        header += [f"`{function}` {backend} s", "ms / param"]
    rows = []
    for widths in UNROLLED_WIDTHS:
        row = [counts[widths], ",".join(map(str, widths))]
        for function, backend in cases:
            row += cells(widths, function, backend)
        rows.append(row)

    goal_lines = []
    goal_widths = next(w for w in UNROLLED_WIDTHS if counts[w] == UNROLLED_GOAL_PARAMS)
    for function, backend in cases:
        if backend != "symengine":
            continue
        r = results[goal_widths, function, backend]
        name = f"`{function}` with symengine"
        if "times" in r:
            t = median(r["times"])
            goal_lines.append(
                f"{name}: **{verdict(t < UNROLLED_GOAL)}** ({UNROLLED_GOAL_PARAMS} parameters in "
                f"{t:.2f} s)."
            )
            continue
        timed_ok = [
            (counts[w], median(results[w, function, backend]["times"]))
            for w in UNROLLED_WIDTHS
            if "times" in results[w, function, backend]
        ]
        largest = ""
        if timed_ok:
            largest = f"; largest run: {timed_ok[-1][0]} parameters in {timed_ok[-1][1]:.2f} s"
        limit_params = unrolled_limit(function, backend)
        if limit_params < UNROLLED_GOAL_PARAMS:
            goal_lines.append(
                f"{name}: not applicable, the package limits it to {limit_params} parameters"
                f"{largest}."
            )
        else:
            goal_lines.append(
                f"{name}: **NOT met** ({UNROLLED_GOAL_PARAMS} parameters: {r['skipped']}{largest})."
            )
    described = {
        "unrolled_gradients": "`unrolled_gradients` (derivatives as SymPy expressions in the "
        "seed's names: the unrolled form that `bpverify derive` prints)",
        "unrolled_derivatives": "`unrolled_derivatives` (derivatives as backend expressions, "
        "not converted back to SymPy)",
    }
    out = [
        "## 4. Unrolled derivation time against parameter count",
        "",
        "`FUNCTION(NetworkSpec(layers=3, widths=...), backend=...)` from "
        "`bpverify.derive.unrolled`, sigmoid, squared loss, where FUNCTION is "
        + " and ".join(described[f] for f in dict.fromkeys(f for f, _ in cases))
        + ". Each case runs in a fresh interpreter (imports excluded) with caches cleared "
        f"before each run; median of up to {cfg.unrolled_runs} runs (the count is in "
        f"parentheses: a case is repeated only while the runs fit in {cfg.unrolled_budget:.0f} "
        "s). Each function is run up to the size limit the package sets for it "
        "(`UNROLLED_LIMIT_SYMPY`, `UNROLLED_PRINT_LIMIT`, `UNROLLED_DERIVATIVES_LIMIT`). A case "
        f"that takes longer than {cfg.timeout:.0f} s is stopped.",
        "",
        table(header, rows),
        "",
        *(f"- {n}" for n in notes),
        f"- Goal: up to {UNROLLED_GOAL_PARAMS} parameters in under {UNROLLED_GOAL:.0f} s:",
        *(f"  - {g}" for g in goal_lines),
        "",
        reproduce("unrolled", cfg.quick, f" --timeout {cfg.timeout:g}" if cfg.timeout_given else "")
        + " (add `--timeout SECONDS` to change the time limit, `--timeout 0` for none)",
    ]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# 5. Self-verification time


def section_verify(cfg: Settings) -> str:
    from bpverify.derive import NetworkSpec, derive_network, verify

    spec = NetworkSpec(3)
    verify.verify(derive_network(spec))  # one discarded round
    plain: list[float] = []
    checked: list[float] = []
    ok = True
    for _ in range(cfg.verify_runs):
        plain.append(timed(lambda: derive_network(spec)))
        t0 = time.perf_counter()
        v = verify.verify(derive_network(spec))
        checked.append(time.perf_counter() - t0)
        ok = ok and v.ok
    mp, mc = median(plain), median(checked)
    diffs = [c - p for p, c in zip(plain, checked, strict=True)]
    calls = {"`derive_network(spec)`": plain, "`verify.verify(derive_network(spec))`": checked}
    rows = [(call, fmt_s(median(t)), fmt_s(min(t)), fmt_s(max(t))) for call, t in calls.items()]
    out = [
        "## 5. Self-verification time",
        "",
        "`verify.verify(derive_network(NetworkSpec(3)))` against `derive_network` alone (symbolic "
        "widths, so the check runs on the reduced instance), in one process with caches warm, "
        f"{cfg.verify_runs} interleaved runs each after one discarded round.",
        "",
        table(("call", "median s", "min s", "max s"), rows),
        "",
        f"- Verification time (difference of medians): **{mc - mp:.3f} s**; median of the "
        f"per-pair differences {median(diffs):.3f} s; ratio derive and verify / derive alone "
        f"{mc / mp:.1f}.",
        f"- Verification result: {'all rules agree' if ok else 'MISMATCH'} ({v.summary()}).",
        "",
        reproduce("verify", cfg.quick),
    ]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, 30 s time limit")
    parser.add_argument(
        "--section",
        action="append",
        choices=SECTIONS,
        help="run only this section (repeatable); default: all",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="time limit in seconds per unrolled case (default 120, 30 with --quick; 0: none)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child_main(json.loads(args.child))), flush=True)
        return 0

    cfg = Settings(args.quick, args.timeout)
    chosen = args.section or list(SECTIONS)
    funcs = {
        "cli": section_cli,
        "depth": section_depth,
        "width": section_width,
        "unrolled": section_unrolled,
        "verify": section_verify,
    }
    start = time.perf_counter()
    mode = "quick" if cfg.quick else "full"
    print(f"# bpverify derive benchmarks ({mode} mode)\n", flush=True)
    print(machine_info() + "\n", flush=True)
    for name in SECTIONS:
        if name in chosen:
            print(funcs[name](cfg) + "\n", flush=True)
    print(
        f"Total benchmark time: {time.perf_counter() - start:.0f} s. "
        f"Load average at the end: {load_average()}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
