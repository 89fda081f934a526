"""numeric.train.plot: loss curves, with matplotlib as an optional extra."""

import sys

import pytest

from bpverify.derive import InputError
from bpverify.numeric.train.loop import History
from bpverify.numeric.train.plot import PlotError, plot_losses, require_matplotlib


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
