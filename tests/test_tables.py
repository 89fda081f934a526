"""The activation and loss tables own every per-name fact: no other module names a row.

A module that compares a name (``== "softmax"``, ``in ("relu", "leaky_relu")``) or keys a side
table by one (``{"sigmoid": xavier_std}``) breaks far away when a row is added; it asks the row
instead. So no string constant in derive/, numeric/ or cli/ outside the two tables may equal a
name of either table.
"""

import ast
from pathlib import Path

from bpverify.derive.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS
from bpverify.derive.losses import LOSSES

ROOT = Path(__file__).resolve().parents[1]
TABLES = {ROOT / "derive" / "activations.py", ROOT / "derive" / "losses.py"}
NAMES = {*ACTIVATIONS, *OUTPUT_ACTIVATIONS, *LOSSES}


def _named_rows(path: Path) -> list[str]:
    """file:line: 'name' for every string constant of ``path`` equal to a row's name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in NAMES
    ]


def test_the_names_are_the_tables_own():
    assert {"sigmoid", "relu", "softmax", "squared", "cross-entropy"} <= NAMES


def test_no_module_outside_the_tables_names_a_row():
    files = [p for d in ("derive", "numeric", "cli") for p in sorted((ROOT / d).rglob("*.py"))]
    assert len(files) > 20
    found = [hit for path in files if path not in TABLES for hit in _named_rows(path)]
    assert not found, "ask the row instead of naming it:\n" + "\n".join(found)


def test_the_search_finds_a_name(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    module = tmp_path / "m.py"
    module.write_text('"""relu and tanh in a docstring."""\nif name in ("x", "relu"):\n    pass\n')
    assert _named_rows(module) == ["m.py:2: 'relu'"]
