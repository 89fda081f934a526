"""What both benchmarks report about the run: the checkout measured, the load, the versions."""

from __future__ import annotations

import os
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
