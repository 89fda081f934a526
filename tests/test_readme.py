"""README.md as a newcomer reads it: the quick start as it stands, the one line that puts
bpverify on the PATH, and links that lead somewhere."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()

QUICK_START = (
    "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/bpverify derive --layers 3\n"
    'python3 -m venv --clear .venv-test && .venv-test/bin/pip install ".[test]" && '
    ".venv-test/bin/python -m pytest\n"
)
ACTIVATE = ". .venv/bin/activate"


def after_quick_start() -> str:
    block = "<!-- quickstart -->\n```sh\n" + QUICK_START + "```\n"
    assert block in README, "the quick start's two commands changed"
    return README.split(block, 1)[1]


def test_the_quick_start_is_exactly_the_two_commands():
    after_quick_start()


def test_the_next_line_puts_bpverify_on_the_path():
    line = after_quick_start().strip().splitlines()[0]
    assert f"`{ACTIVATE}`" in line and "PATH" in line


def test_the_activation_line_puts_the_venvs_scripts_first(tmp_path):
    # pip installs the bpverify script into .venv/bin; activating makes it the one found
    venv = [sys.executable, "-m", "venv", "--without-pip", ".venv"]
    subprocess.run(venv, cwd=tmp_path, check=True)
    p = subprocess.run(
        ["bash", "-c", f"{ACTIVATE} && command -v python"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    assert Path(p.stdout.strip()).parent == tmp_path / ".venv" / "bin"


def test_every_local_link_leads_to_a_file():
    links = re.findall(r"\]\(([^)#:]+)\)", README)
    assert {"docs/architecture.md", "docs/completion.md", "docs/tutorial.ipynb"} <= set(links)
    for link in links:
        assert (ROOT / link).is_file(), link
