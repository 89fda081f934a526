"""cli.render: derive --render draws the printed equations with matplotlib's mathtext."""

import sys

import click
import pytest

from bpverify.cli import render
from bpverify.derive import NetworkSpec, derive_network


@pytest.fixture(scope="module")
def derivation():
    return derive_network(NetworkSpec(layers=1))


@pytest.mark.parametrize("name", ["eq.gif", "eq", "eq.PNG.txt"])
def test_a_suffix_matplotlib_will_not_write_is_refused(name):
    with pytest.raises(click.BadParameter, match=r"give a file ending in \.png, \.svg, \.pdf"):
        render.check_render_path(name)


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # None makes the import fail
    with pytest.raises(click.UsageError, match=r"pip install 'bpverify\[render\]'"):
        render.check_render_path("eq.png")


def test_items_are_headings_and_display_style_equations(derivation):
    items = render._items(derivation, "matrix", None)
    kinds = {kind for kind, _ in items}
    assert kinds == {"heading", "equation"}
    equations = [text for kind, text in items if kind == "equation"]
    assert all(e.startswith("$") and e.endswith("$") and "&" not in e for e in equations)
    assert any(r"\dfrac" in e for e in equations) and not any(r"\frac{" in e for e in equations)


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_render_writes_the_file(tmp_path, derivation, suffix, magic):
    pytest.importorskip("matplotlib")
    out = tmp_path / f"eq{suffix}"
    render.render_equations(derivation, "matrix", str(out))
    assert out.read_bytes().startswith(magic)
    assert list(tmp_path.iterdir()) == [out]
