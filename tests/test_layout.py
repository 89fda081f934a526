"""tests/ mirrors the sources: every module of derive/, numeric/ and cli/ has its test module at
the same place (``derive/prove/grammar.py`` -> ``tests/derive/prove/test_grammar.py``,
``cli/derive.py`` -> ``tests/cli/test_derive.py``), and every test module there is named after
the module it tests, so that a module's tests are found without searching. More tests of one
module on one topic may stand beside its test module as ``test_<module>_<topic>.py``
(``tests/numeric/codegen/test_source_against_torch.py``)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
PACKAGES = ("derive", "numeric", "cli")

EXTRA = {
    # check_gradients as a whole, from outside: a catalogue of backprop bugs injected into a
    # hand-written gradient function, and the sweep for false alarms over every activation, loss
    # and depth (the long part under the slow marker); each a subject of its own beside test_run.
    "numeric/check/test_check_bugs.py": "numeric/check/run.py",
    "numeric/check/test_check_false_alarms.py": "numeric/check/run.py",
    # Every activation row's NumPy spelling, compiled from the helpers source.py writes, against
    # its SymPy definition in 400 digits.
    "numeric/codegen/test_spellings.py": "numeric/codegen/source.py",
    # The claim language against the standard texts' notations (the table in docs/prove.md)
    # and against everything derive prints: each proves claims end to end.
    "derive/prove/test_notations.py": "derive/prove/claims.py",
    "derive/prove/test_roundtrip.py": "derive/prove/claims.py",
    # A corpus of hand derivations (notations, losses, activations, layers, every mistake of
    # hints.MISTAKES) each proved or refuted end to end by verdict.prove.
    "derive/prove/test_corpus.py": "derive/prove/verdict.py",
}
"""Test modules named after no module, with the module they test and why they stand apart."""


def sources() -> list[Path]:
    """The source modules, relative to the project root; ``__init__.py`` re-exports only."""
    found = (p.relative_to(ROOT) for top in PACKAGES for p in (ROOT / top).rglob("*.py"))
    return sorted(p for p in found if p.name != "__init__.py")


def found_tests() -> list[Path]:
    """The test modules under tests/derive, tests/numeric and tests/cli, relative to tests/."""
    found = (p.relative_to(TESTS) for top in PACKAGES for p in (TESTS / top).rglob("test_*.py"))
    return sorted(found)


def mirror(source: Path) -> Path:
    """The test module of ``source``, relative to tests/."""
    return source.with_name(f"test_{source.name}")


def module_named_by(test: Path, modules: set[Path]) -> Path | None:
    """The source module a test module is named after: ``test_X.py`` and ``test_X_topic.py``
    test ``X.py`` in the mirrored folder (the longest ``X`` that is a module wins)."""
    words = test.stem.removeprefix("test_").split("_")
    for end in range(len(words), 0, -1):
        candidate = test.with_name("_".join(words[:end]) + ".py")
        if candidate in modules:
            return candidate
    return None


def has_tests(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return any(isinstance(n, ast.FunctionDef) and n.name.startswith("test") for n in tree.body)


def test_every_source_module_has_its_test_module():
    missing = [
        f"{source}: add tests/{mirror(source)} (or git mv its tests there)"
        for source in sources()
        if not (TESTS / mirror(source)).is_file()
    ]
    empty = [
        f"tests/{mirror(source)} holds no test function"
        for source in sources()
        if (TESTS / mirror(source)).is_file() and not has_tests(TESTS / mirror(source))
    ]
    assert not missing + empty, "\n".join(missing + empty)


def test_every_test_module_is_named_after_a_source_module():
    modules = set(sources())
    strays = [
        f"tests/{test}: no {test.with_name(test.name.removeprefix('test_'))} to mirror; rename it "
        "after the module it tests, or list it in EXTRA with that module and why"
        for test in found_tests()
        if module_named_by(test, modules) is None and str(test) not in EXTRA
    ]
    assert not strays, "\n".join(strays)


def test_each_extra_test_module_and_its_source_module_exist():
    gone = [
        f"{test} -> {source}"
        for test, source in EXTRA.items()
        if not ((TESTS / test).is_file() and (ROOT / source).is_file())
    ]
    assert not gone, "stale EXTRA entries:\n" + "\n".join(gone)
