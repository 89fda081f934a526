"""The benchmark scripts run: one quick section of each, so that a broken benchmark shows here."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_derive_benchmark_runs():
    p = subprocess.run(
        [sys.executable, "benchmarks/derive_bench.py", "--quick", "--section", "width"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert "4096" in p.stdout


def test_check_benchmark_runs():
    p = subprocess.run(
        [sys.executable, "benchmarks/check_bench.py", "--quick", "--no-torch"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert "| bpverify, central |" in p.stdout and "| True |" in p.stdout


def test_function_check_benchmark_runs():
    p = subprocess.run(
        [sys.executable, "benchmarks/function_check_bench.py", "--quick", "--no-torch"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    rows = [line for line in p.stdout.splitlines() if "| bpverify, default (every entry" in line]
    assert len(rows) == 6 and all("| True |" in row for row in rows), p.stdout[-3000:]


@pytest.mark.slow  # about 30 s: it times every source of the gradients, one after the other
def test_gradient_benchmark_runs():
    p = subprocess.run(
        [
            sys.executable,
            "benchmarks/gradient_bench.py",
            *("--quick", "--threads", "one", "--sizes", "32x64", "--no-torch", "--no-jax"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert "| 32x64 | float64 |" in p.stdout and "`delta1.dot(a0.T)`" in p.stdout


def test_prove_benchmark_runs():
    p = subprocess.run(
        [sys.executable, "benchmarks/prove_bench.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]  # every claim PROVED
    assert "| cross-entropy, sigmoid | 15 | 15 |" in p.stdout
    assert "issue 10's cross-entropy dC_0/dw^(2)_jk" in p.stdout


@pytest.mark.slow  # a server and two phases of load: about 20 s
def test_serve_benchmark_runs():
    pytest.importorskip("fastapi")
    p = subprocess.run(
        [sys.executable, "benchmarks/serve_bench.py", "--seconds", "2", "--clients", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]  # no request failed
    assert "| all normal |" in p.stdout and "### 10% hostile" in p.stdout
    assert "a cached derive at least 20x faster" in p.stdout
