"""Loss curves of a training run, drawn with matplotlib (the optional ``render`` extra).

matplotlib is imported only when a plot is drawn; ``require_matplotlib`` says early, before any
training, that it is missing.
"""

from __future__ import annotations

import os

from bpverify.derive import InputError

from .loop import History

EXTRA = "pip install 'bpverify[render]'"
"""How to install matplotlib with bpverify."""


class PlotError(InputError):
    """A plot that cannot be drawn: matplotlib is not installed."""


def require_matplotlib() -> None:
    """Raise PlotError, naming the install command, unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotError(f"--plot needs matplotlib: {EXTRA}") from None


def plot_losses(history: History, path: str | os.PathLike[str]) -> None:
    """Draw the train (and test) loss after each epoch, on a log scale, into ``path`` as PNG."""
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
        fig.savefig(path, format="png", dpi=100)
    finally:
        plt.close(fig)
