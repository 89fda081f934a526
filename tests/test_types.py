"""mypy finds no type error in bpverify.derive, bpverify.numeric and bpverify.cli.

The folders install under other names (``derive/`` is ``bpverify.derive``), so the test lays the
three out as one package ``bpverify`` of symbolic links and checks that, with the project's
``[tool.mypy]`` settings.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("mypy")


def test_mypy_finds_no_error(tmp_path):
    package = tmp_path / "bpverify"
    package.mkdir()
    for folder in ("derive", "numeric", "cli"):
        (package / folder).symlink_to(ROOT / folder, target_is_directory=True)
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "--cache-dir",
        str(tmp_path / ".mypy_cache"),
        "-p",
        "bpverify",
    ]
    p = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
