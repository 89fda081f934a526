"""What a training run needs around the loop: the network for a data set, the test split, a
gradient check every few epochs, and the summary of the result.

Example, with ``dataset`` from ``datasets.load("moons")``::

    spec = network_for(dataset, hidden="16,16", activation="tanh")
    train_set, test_set = dataset.split(test_fraction(len(dataset)), rng)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bpverify.derive import NetworkSpec, SpecError, parse_spec, parse_widths

from .. import memory
from ..check.options import CheckOptions
from ..check.run import Point, check_gradients
from .datasets import DataError, Dataset
from .loop import GradientCheckFailed, History

TEST_FRACTION = 0.2
"""Share of the samples held out for testing by default, from ``TEST_FROM`` samples on."""
TEST_FROM = 50
"""Fewer samples than this are all used for training by default (XOR has 4)."""

CHECK_SAMPLES = 8
"""Training samples (the first ones) at which ``gradient_check`` checks the gradients."""
CHECK_ENTRIES = 5
"""Entries per tensor whose finite differences ``gradient_check`` compares."""


def test_fraction(samples: int, fraction: float | None = None) -> float:
    """``fraction``, or by default ``TEST_FRACTION`` from ``TEST_FROM`` samples on, else 0."""
    if fraction is not None:
        return fraction
    return TEST_FRACTION if samples >= TEST_FROM else 0.0


def network_for(
    dataset: Dataset,
    *,
    hidden: str | Sequence[int] | None = None,
    widths: str | Sequence[int] | None = None,
    **settings: Any,
) -> NetworkSpec:
    """The network to train on ``dataset``: the ``hidden`` widths between the data's input and
    output widths, or ``widths`` as given; ``settings`` (layers, activation, loss, leaky_slope,
    cost, l2) as in ``parse_spec``. Raises SpecError, or DataError when the widths do not fit
    the data."""
    if hidden is not None and widths is not None:
        raise SpecError("give --widths or --hidden, not both")
    if hidden is not None:
        # parsed here, naming --hidden: the widths parse_spec sees hold the data's, never typed
        text = hidden if isinstance(hidden, str) else ",".join(str(w) for w in hidden)
        inner = parse_widths(text, option="--hidden")
        widths = (dataset.n_in, *inner, dataset.n_out)
    elif widths is None:
        if settings.get("layers") is None:
            raise SpecError(
                "give the network with --hidden 16,16 (widths from the data) or --widths"
            )
        raise SpecError("training needs concrete widths: give --widths or --hidden")
    spec = parse_spec(widths=widths, **settings)
    check_fits(spec, dataset)
    return spec


def check_fits(spec: NetworkSpec, dataset: Dataset) -> None:
    """Raise DataError unless the network's input and output widths are the data's, and
    LimitError unless training it on the data fits in the memory limit (``numeric.memory``)."""
    if (spec.widths[0], spec.widths[-1]) != (dataset.n_in, dataset.n_out):
        widths = ",".join(str(w) for w in spec.widths)
        raise DataError(
            f"widths {widths} do not fit the data: {dataset.name} has {dataset.n_in} inputs and "
            f"{dataset.n_out} outputs; use --widths {dataset.n_in},...,{dataset.n_out} or --hidden"
        )
    memory.require_training(spec.widths, len(dataset))


def gradient_check(
    spec: NetworkSpec,
    params: dict[str, np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    dtype: str,
    every: int,
) -> Callable[[int], None]:
    """``check(epoch)`` for ``loop.train``: at every ``every``-th epoch, the generated gradients
    at the current ``params`` (the dict training updates in place), on the first
    ``CHECK_SAMPLES`` samples, against the symbolic values and the finite differences of
    ``CHECK_ENTRIES`` entries per tensor. Raises GradientCheckFailed with the report."""
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a whole number >= 1 (epochs between checks), got {every}")
    count = min(CHECK_SAMPLES, len(X))
    options = CheckOptions(dtype=dtype, sample=CHECK_ENTRIES)

    def check(epoch: int) -> None:
        if epoch % every:
            return
        at = Point(dict(params), X[:count], Y[:count])
        report = check_gradients(spec, options=options, at=at)
        if not report.passed:
            raise GradientCheckFailed(epoch, report)

    return check


def summary(history: History, spec: NetworkSpec) -> dict:
    """The network and the last epoch's losses and accuracies (None where not measured)."""

    def last(values):
        return float(values[-1]) if values else None

    return {
        "network": spec.describe(),
        "epochs": history.epochs,
        "train_loss": last(history.train_loss),
        "test_loss": last(history.test_loss),
        "train_accuracy": last(history.train_accuracy),
        "test_accuracy": last(history.test_accuracy),
    }
