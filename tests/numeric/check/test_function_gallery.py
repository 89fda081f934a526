"""The gallery of docs/layers.md in the default suite: every Python block run in this process.

The blocks assert their own verdicts (the correct backward passes, the buggy one fails on the
named input), so a change of ``check_function`` that breaks an example fails here, not only in
the slow run of the documentation's blocks. Each layer's file written for the command line
must hold the same code as its Python block, so that the two halves of an example cannot drift.
"""

import ast
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "layers.md"
SECTION = re.compile(r"^## (.+)$", re.M)
BLOCK = re.compile(r"```(sh|python)\n(.*?)```", re.S)
HEREDOC = re.compile(r"cat > (\w+\.py) <<'EOF'\n(.*?)\nEOF\n", re.S)


def sections() -> dict[str, dict[str, list[str]]]:
    """Heading -> {"python": [blocks], "sh": [blocks]} of docs/layers.md."""
    parts = SECTION.split(DOC.read_text())
    found = {}
    for title, body in zip(parts[1::2], parts[2::2], strict=True):
        blocks: dict[str, list[str]] = {"python": [], "sh": []}
        for kind, code in BLOCK.findall(body):
            blocks[kind].append(code)
        found[title] = blocks
    return found


def definitions(code: str) -> set[str]:
    """The top-level functions and assignments of a piece of code, as AST dumps."""
    kinds = (ast.FunctionDef, ast.Assign)
    return {ast.dump(n) for n in ast.parse(code).body if isinstance(n, kinds)}


LAYERS = {t: b for t, b in sections().items() if b["python"]}


def test_the_gallery_has_its_layers():
    titles = " ".join(LAYERS).lower()
    for layer in ("layer norm", "batch norm", "cross-entropy", "attention", "convolution"):
        assert layer in titles
    assert "focal" in titles and "does not cover" in titles
    assert sum(len(b["sh"]) for b in LAYERS.values()) >= 7  # every layer from the command line


@pytest.mark.parametrize("title", list(LAYERS))
def test_python_block_runs_and_asserts_its_verdicts(title, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for code in LAYERS[title]["python"]:
        assert "assert" in code
        names = {"__name__": "gallery"}
        exec(compile(code, f"docs/layers.md ({title})", "exec"), names)
        # the buggy backward's report names its worst entry and both values there
        for failed in names["report"].failures():
            assert failed.worst and len(failed.values) == 2, failed


@pytest.mark.parametrize("title", [t for t, b in LAYERS.items() if b["sh"]])
def test_command_line_file_holds_the_python_blocks_code(title):
    (block,) = LAYERS[title]["sh"]
    ((name, written),) = HEREDOC.findall(block)
    assert f"--function {name}:forward" in block and "|| test $? -eq 1" in block
    python = definitions("\n".join(LAYERS[title]["python"]))
    assert definitions(written) <= python, f"{name} differs from the Python block"
