"""Every command shown in README.md and docs/ runs as written.

Running them (about sixty blocks, each starting the installed ``bpverify`` one or more times,
and the quick start's install into a fresh venv) is an integration run of a minute or more, so
it is under the ``slow`` marker, which ``.ci/run`` runs after the default suite. The checks of
the blocks' shape (two quick-start commands, the CI snippet) stay in the default suite.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(<!-- quickstart -->\n)?```(sh|python)\n(.*?)```", re.S)


def blocks(kind: str, quickstart: bool = False):
    """(document, code) of the quick start's ``kind`` blocks, or of every other."""
    for doc in DOCS:
        for m in BLOCK.finditer(doc.read_text()):
            if m.group(2) == kind and bool(m.group(1)) == quickstart:
                yield doc.name, m.group(3)


# Each block runs as one script in its own folder: later lines may use what earlier ones wrote.
COMMANDS = [
    pytest.param(block, id=f"{doc}: {block.splitlines()[0]}") for doc, block in blocks("sh")
]
PYTHON = [pytest.param(code, id=doc) for doc, code in blocks("python")]


def env():
    e = dict(os.environ)
    e["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{e['PATH']}"
    return e


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_documented_command_runs(command, tmp_path):
    p = subprocess.run(
        ["bash", "-c", command],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("code", PYTHON)
def test_documented_python_runs(code, tmp_path):
    p = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, p.stderr[-2000:]


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second():
    (block,) = [b for _, b in blocks("sh", quickstart=True)]
    install, test = block.strip().splitlines()
    assert "bpverify derive --layers 3" in install
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in ci.splitlines()


@pytest.mark.slow
def test_quick_start_install_and_run(tmp_path):
    """The first quick-start command in a copy of the sources: a fresh venv, pip install, run."""
    (block,) = [b for _, b in blocks("sh", quickstart=True)]
    install = block.strip().splitlines()[0]
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    if not files:
        pytest.skip("not a git checkout: cannot tell which files are the sources")
    for name in files:
        if (ROOT / name).is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tmp_path / name)
    p = subprocess.run(
        ["bash", "-c", install], cwd=tmp_path, capture_output=True, text=True, timeout=900
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert r"\frac{\partial C_0}{\partial w^{(3)}_{jk}}" in p.stdout
    # the README's next line, `. .venv/bin/activate`, then a bare `bpverify` as the docs write it
    p = subprocess.run(
        ["bash", "-c", ". .venv/bin/activate && bpverify --version && command -v bpverify"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[-1] == str(tmp_path / ".venv" / "bin" / "bpverify")


def test_ci_snippet_runs_a_documented_command():
    """The GitHub Actions snippet in docs/check.md runs the same check as a tested sh block."""
    text = (ROOT / "docs" / "check.md").read_text()
    (yaml,) = re.findall(r"```yaml\n(.*?)```", text, re.S)
    runs = [line.split("run:", 1)[1].strip() for line in yaml.splitlines() if "run:" in line]
    checks = [r for r in runs if r.startswith("bpverify")]
    assert checks
    tested = "\n".join(b for d, b in blocks("sh") if d == "check.md")
    for command in checks:
        assert command in tested.splitlines()
