"""Loss curves of a training run, drawn with matplotlib (the optional ``render`` extra).

matplotlib is imported only when a plot is drawn; ``require_matplotlib`` says early, before any
training, that it is missing, and ``plot_format`` that a file's suffix names no format it draws.
"""

from __future__ import annotations

import os
from pathlib import Path

from bpverify.derive import InputError

from .loop import History

EXTRA = "pip install 'bpverify[render]'"
"""How to install matplotlib with bpverify."""


FORMATS = ("png", "svg", "pdf")
"""The formats a plot is drawn in, each named by the suffix of its file."""


class PlotError(InputError):
    """A plot that cannot be drawn: matplotlib is not installed, or the file's suffix names no
    format in ``FORMATS``."""


def plot_format(path: str | os.PathLike[str]) -> str:
    """The format ``path``'s suffix names (``"loss.svg"`` -> ``"svg"``); PlotError naming the
    choices for any other suffix, rather than PNG bytes in a file called ``.svg``."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        choices = ", ".join(f".{f}" for f in FORMATS[:-1]) + f" or .{FORMATS[-1]}"
        raise PlotError(f"--plot {os.fspath(path)}: give a file name ending in {choices}")
    return suffix


def require_matplotlib() -> None:
    """Raise PlotError, naming the install command, unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotError(f"--plot needs matplotlib: {EXTRA}") from None


def plot_losses(history: History, path: str | os.PathLike[str], fmt: str | None = None) -> None:
    """Draw the train (and test) loss after each epoch, on a log scale, into ``path`` in the
    format ``fmt`` (one of ``FORMATS``; default: the one its suffix names)."""
    fmt = fmt or plot_format(path)
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    try:
        epochs = range(history.epochs - len(history.train_loss) + 1, history.epochs + 1)
        ax.plot(epochs, history.train_loss, label="train")
        if history.test_loss:
            ax.plot(epochs, history.test_loss, label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss C")
        ax.set_yscale("log")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, format=fmt, dpi=100)
    finally:
        plt.close(fig)
