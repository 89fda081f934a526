"""How long ``prove`` takes to decide correct claims: the seed's formulas and the standard
backpropagation equations at every layer of a three-layer network, for every loss of the loss
table and a sigmoid, a relu and a tanh network.

For each network the claims are (delta^(l) = dC_0/dz^(l), written out in the claim language):

- dC_0/da^(3)_j, the loss's derivative (not for softmax cross-entropy, a function of z^(3));
- delta^(3)_j = sigma'(z^(3)_j) dC_0/da^(3)_j (a^(3)_j - y_j for softmax cross-entropy), and
  dC_0/db^(3)_j, dC_0/dw^(3)_jk = a^(2)_k delta^(3)_j, dC_0/da^(2)_k = sum_j w^(3)_jk delta^(3)_j;
- the same four at layers 2 and 1, with delta^(l)_j = sigma'(z^(l)_j) sum_i w^(l+1)_ij
  delta^(l+1)_i, down to dC_0/da^(0)_k.

The loss's derivative is written out where the language can (squared 2(a - y), half-squared
a - y, cross-entropy (a - y)/(a(1 - a))) and named, dC_0/da^(3)_i, for huber (a Piecewise).
Cross-entropy needs outputs in (0, 1): its relu and tanh networks end in a sigmoid layer, and
its sigmoid networks add the short forms delta^(3) = a^(3) - y of issue 10. The seed's formulas
(docs/prove.md: one neuron per layer, then many) form one more group.

Each network runs in a fresh interpreter, so that its first claim pays for the derivation as
the command line does; each claim is timed around ``prove(spec, wrt, claim)`` (no worker
process), the median over ``--repeat`` runs. A few claims are also timed as whole processes
(``bpverify prove``, start-up and worker included). Every claim must be PROVED: the script
exits 1 otherwise. The goal: at most 1 s median and 2 s max per claim.

    python benchmarks/prove_bench.py            # every network, 3 runs (a few minutes)
    python benchmarks/prove_bench.py --quick    # two networks, 1 run
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import machine

LOSS_DERIVATIVES = {
    "squared": "2*(a^(3)_{i} - y_{i})",
    "half-squared": "(a^(3)_{i} - y_{i})",
    "cross-entropy": "(a^(3)_{i} - y_{i})/(a^(3)_{i}*(1 - a^(3)_{i}))",
}
"""dC_0/da^(3)_i written out in the claim language; other losses name it (dC_0/da^(3)_i)."""

ISSUE_CLAIM = "a^(1)_k * sigma'(z^(2)_j) * sum_i(w^(3)_ij * (a^(3)_i - y_i))"
"""The cross-entropy claim of issue 10 (dC_0/dw^(2)_jk after a sigmoid output), once > 2 min."""

SEED_W3 = "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"
"""The seed's dC_0/dw^(3)_jk, the example of ``bpverify prove --help``."""

SEED = [
    ("1,1,1,1", "a^(L)", "2*(a^(L) - y)"),
    ("1,1,1,1", "z^(L)", "sigma'(z^(L)) * 2*(a^(L) - y)"),
    ("1,1,1,1", "w^(L)", r"a^{(L-1)} \sigma^{\prime}\left(z^{(L)}\right) 2\left(a^{(L)}-y\right)"),
    ("1,1,1,1", "b^(L)", "sigma'(z^(L)) * 2*(a^(L) - y)"),
    ("", "w^(L)_jk", "a^(L-1)_k * sigma'(z^(L)_j) * 2*(a^(L)_j - y_j)"),
    ("", "a^(L-1)_k", "sum_j(w^(L)_jk * sigma'(z^(L)_j) * 2*(a^(L)_j - y_j))"),
    (
        "",
        "a^(2)_k",
        r"\sum_{j=0}^{n_{L}-1} w_{jk}^{(L)} \sigma^{\prime}(z_{j}^{(L)}) 2(a_{j}^{(L)}-y_{j})",
    ),
    (
        "",
        "w^(2)_jk",
        "a^(1)_k * sigma'(z^(2)_j) * sum_i(w^(3)_ij * sigma'(z^(3)_i) * 2*(a^(3)_i - y_i))",
    ),
    ("", "b^(2)_j", "sigma'(z^(2)_j) * sum_i(w^(3)_ij * sigma'(z^(3)_i) * 2*(a^(3)_i - y_i))"),
]
"""The seed's formulas as docs/prove.md writes them: (widths, --wrt, claim) of a three-layer
sigmoid network with squared loss ("" for symbolic widths)."""


def losses() -> list[str]:
    from bpverify.derive import LOSSES

    return list(LOSSES)


def activations(loss: str, hidden: str) -> str:
    """The --activation of a network: a sigmoid output where the loss needs outputs in (0, 1)."""
    return f"{hidden},{hidden},sigmoid" if loss == "cross-entropy" else hidden


def equations(loss: str, hidden: str) -> list[tuple[str, str]]:
    """(--wrt, claim) of the standard equations at every layer of the network."""
    softmax = loss == "softmax-cross-entropy"
    written = LOSS_DERIVATIVES.get(loss, "dC_0/da^(3)_{i}")

    def delta3(i: str) -> str:
        if softmax:
            return f"(a^(3)_{i} - y_{i})"
        return f"sigma'(z^(3)_{i}) * " + written.format(i=i)

    def delta(l: int, i: str) -> str:
        if l == 3:
            return delta3(i)
        inner = "imp"[3 - l - 1]  # a fresh letter per level: i below layer 3, m below layer 2
        return f"sigma'(z^({l})_{i}) * sum_{inner}(w^({l + 1})_{inner}{i} * {delta(l + 1, inner)})"

    claims = [] if softmax else [("a^(3)_j", written.format(i="j"))]
    for l in (3, 2, 1):
        d = delta(l, "j")
        claims += [
            (f"z^({l})_j", d),
            (f"b^({l})_j", d),
            (f"w^({l})_jk", f"a^({l - 1})_k * {d}"),
            (f"a^({l - 1})_k", f"sum_j(w^({l})_jk * {d})"),
        ]
    if loss == "cross-entropy" and hidden == "sigmoid":
        claims += [("z^(3)_j", "a^(3)_j - y_j"), ("w^(2)_jk", ISSUE_CLAIM)]
    return claims


def networks(quick: bool) -> list[dict]:
    """Every network of the run, each with its claims."""
    found = [
        {
            "name": f"{loss}, {hidden}",
            "layers": 3,
            "widths": "",
            "activation": activations(loss, hidden),
            "loss": loss,
            "claims": equations(loss, hidden),
        }
        for loss in losses()
        for hidden in ("sigmoid", "relu", "tanh")
    ]
    seed = [
        {
            "name": f"the seed's formulas{', widths ' + w if w else ''}",
            "layers": 3,
            "widths": w,
            "activation": "sigmoid",
            "loss": "squared",
            "claims": [(wrt, claim) for ww, wrt, claim in SEED if ww == w],
        }
        for w in ("1,1,1,1", "")
    ]
    if quick:
        return [n for n in found if n["name"] in ("squared, sigmoid", "cross-entropy, sigmoid")]
    return seed + found


CHILD = """
import json, sys, time
from bpverify.derive import parse_spec
from bpverify.derive.prove import prove
net = json.loads(sys.argv[1])
spec = parse_spec(layers=net["layers"], widths=net["widths"] or None,
                  activation=net["activation"], loss=net["loss"])
out = []
for wrt, claim in net["claims"]:
    start = time.perf_counter()
    status = prove(spec, wrt, claim).status
    out.append((time.perf_counter() - start, status))
print(json.dumps(out))
"""


def run_network(net: dict) -> list[tuple[float, str]]:
    """(seconds, status) of each claim, in a fresh interpreter."""
    p = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(net)], capture_output=True, text=True, check=False
    )
    if p.returncode != 0:
        raise SystemExit(f"{net['name']}: the run failed:\n{p.stderr[-2000:]}")
    return [tuple(row) for row in json.loads(p.stdout)]


def whole_process(args: list[str], repeat: int) -> float:
    """Median wall time of ``bpverify prove ARGS`` as a process (start-up, worker included)."""
    exe = shutil.which("bpverify") or str(Path(sys.executable).with_name("bpverify"))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([exe, "prove", *args], capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two networks, one run")
    parser.add_argument("--repeat", type=int, default=None, help="runs per network (default 3)")
    opts = parser.parse_args(argv)
    repeat = opts.repeat or (1 if opts.quick else 3)

    print(f"### bpverify prove benchmark ({'quick' if opts.quick else 'full'} mode)\n")
    print("#### Machine\n\n|  |  |\n|---|---|")
    for key, value in machine.rows():
        print(f"| {key} | {value} |")
    print(f"| sympy | {machine.version('sympy')} |\n")

    rows, failures, every = [], [], []
    for net in networks(opts.quick):
        runs = [run_network(net) for _ in range(repeat)]
        proved = 0
        for c, (wrt, claim) in enumerate(net["claims"]):
            seconds = statistics.median(run[c][0] for run in runs)
            statuses = {run[c][1] for run in runs}
            every.append((seconds, net["name"], wrt, claim))
            if statuses == {"PROVED"}:
                proved += 1
            else:
                failures.append((net["name"], wrt, "/".join(sorted(statuses))))
        times = [t for t, name, *_ in every if name == net["name"]]
        rows.append(
            (net["name"], len(times), proved, statistics.median(times), max(times), times[0])
        )

    print(f"#### Time per claim, median of {repeat} run(s) in a fresh interpreter per network\n")
    print(
        "| network (loss, hidden activation) | claims | PROVED | median (s) | max (s) | first (s) |"
    )
    print("|---|---|---|---|---|---|")
    for name, n, proved, med, top, first in rows:
        print(f"| {name} | {n} | {proved} | {med:.3f} | {top:.3f} | {first:.3f} |")
    times = [t for t, *_ in every]
    median, top = statistics.median(times), max(times)
    proved = len(times) - len(failures)
    print(f"| **all** | {len(times)} | {proved} | {median:.3f} | {top:.3f} | |\n")

    print("#### The slowest claims\n\n| s | network | --wrt | claim |\n|---|---|---|---|")
    for t, name, wrt, claim in sorted(every, reverse=True)[:8]:
        shown = claim if len(claim) <= 60 else claim[:57] + "..."
        print(f"| {t:.3f} | {name} | `{wrt}` | `{shown}` |")

    issue = [
        "--layers",
        "3",
        "--loss",
        "cross-entropy",
        "--wrt",
        "w^(2)_jk",
        "--claim",
        ISSUE_CLAIM,
    ]
    seed_w3 = ["--layers", "3", "--wrt", "w^(3)_jk", "--claim", SEED_W3]
    print(f"\n#### Whole processes, `bpverify prove ...`, median of {repeat} run(s)\n")
    print("| claim | s |\n|---|---|")
    print(f"| the seed's dC_0/dw^(3)_jk | {whole_process(seed_w3, repeat):.3f} |")
    print(f"| issue 10's cross-entropy dC_0/dw^(2)_jk | {whole_process(issue, repeat):.3f} |")
    print(f"| `python -c 'import sympy'` (start-up floor) | {startup(repeat):.3f} |")

    met = median <= 1 and top <= 2 and not failures
    print(
        f"\nGoal (every claim PROVED, median <= 1 s, max <= 2 s per claim): "
        f"**{'met' if met else 'not met'}**: {len(times)} claims, median {median:.3f} s, "
        f"max {top:.3f} s."
    )
    for name, wrt, status in failures:
        print(f"- not proved: {name}, --wrt {wrt}: {status}")
    return 1 if failures else 0


def startup(repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sympy"], check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    sys.exit(main())
