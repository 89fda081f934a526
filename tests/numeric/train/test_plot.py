"""numeric.train.plot: loss curves, with matplotlib as an optional extra."""

import sys

import pytest

from bpverify.derive import InputError
from bpverify.numeric.train.loop import History
from bpverify.numeric.train.plot import PlotError, plot_format, plot_losses, require_matplotlib


def test_missing_matplotlib_is_bad_input_naming_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # None makes the import fail
    with pytest.raises(PlotError, match=r"pip install 'bpverify\[render\]'") as e:
        require_matplotlib()
    assert isinstance(e.value, InputError)
    with pytest.raises(PlotError):
        plot_losses(History(train_loss=[1.0], epochs=1), tmp_path / "loss.png")


def test_the_plot_is_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "loss.png"
    plot_losses(History(train_loss=[1.0, 0.5], test_loss=[1.1, 0.6], epochs=2), out)
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("name", "fmt"), [("a.png", "png"), ("b.SVG", "svg"), ("c.pdf", "pdf")])
def test_the_format_is_the_suffix(name, fmt):
    assert plot_format(name) == fmt


@pytest.mark.parametrize("name", ["loss.txt", "loss", "loss.jpg"])
def test_a_suffix_without_a_format_is_refused(name):
    with pytest.raises(PlotError, match=f"--plot {name}: give a file name ending in .png, .svg or"):
        plot_format(name)


@pytest.mark.parametrize(("suffix", "head"), [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_the_plot_is_drawn_in_its_suffix_format(tmp_path, suffix, head):
    pytest.importorskip("matplotlib")
    out = tmp_path / f"loss.{suffix}"
    plot_losses(History(train_loss=[1.0, 0.5], epochs=2), out)
    assert out.read_bytes().startswith(head)
