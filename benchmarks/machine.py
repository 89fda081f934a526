"""What both benchmarks report about the run: the checkout measured, the load, the versions."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from pathlib import Path


def package_dir() -> Path:
    """The checkout the measured bpverify is installed from."""
    import bpverify.derive

    return Path(bpverify.derive.__file__).resolve().parent.parent


def git(*args: str) -> str:
    """Output of a git command in the measured package's checkout ('' when there is none)."""
    try:
        p = subprocess.run(
            ["git", *args], cwd=package_dir(), capture_output=True, text=True, check=False
        )
    except OSError:
        return ""
    return p.stdout.strip() if p.returncode == 0 else ""


def load_average() -> str:
    """1, 5 and 15 minute load averages: other work on the machine shows up in the timings."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def version(name: str) -> str:
    """The installed version of a distribution, or 'not installed'."""
    try:
        return installed_version(name)
    except PackageNotFoundError:
        return "not installed"


def rows() -> list[tuple[str, str]]:
    """The table rows both benchmarks start with: Python, platform, CPU, load, bpverify."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    commit = git("rev-parse", "--short", "HEAD")
    if commit and git("status", "--porcelain", "--untracked-files=no"):
        commit += ", with uncommitted changes"
    return [
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("Platform", platform.platform()),
        ("CPU", cpu),
        ("CPU count", f"{os.cpu_count()} (usable by this process: {usable})"),
        ("Load average at start", load_average()),
        ("bpverify", version("bpverify") + (f" (git {commit})" if commit else "")),
    ]
