"""How well a network fits a ``Dataset``: classification accuracy in its target encoding."""

from __future__ import annotations

import math

import numpy as np


def accuracy(Y_true, outputs) -> float:
    """Fraction of samples classified correctly, for the target encodings of ``Dataset``.

    One column: the output thresholded at 0.5 against the 0/1 label. Several columns: the argmax
    of the outputs against the argmax of the one-hot targets. An empty set gives NaN.
    Example: ``accuracy([[0], [1]], [[0.2], [0.4]]) == 0.5``.
    """
    Y_true = np.asarray(Y_true, dtype=np.float64)
    outputs = np.asarray(outputs, dtype=np.float64)
    if Y_true.ndim == 1:
        Y_true = Y_true.reshape(-1, 1)
    if outputs.ndim == 1:
        outputs = outputs.reshape(-1, 1)
    if Y_true.shape != outputs.shape:
        raise ValueError(f"targets {Y_true.shape} and outputs {outputs.shape} differ in shape")
    if len(Y_true) == 0:
        return math.nan
    if Y_true.shape[1] == 1:
        hits = (outputs[:, 0] >= 0.5) == (Y_true[:, 0] >= 0.5)
    else:
        hits = outputs.argmax(axis=1) == Y_true.argmax(axis=1)
    return float(hits.mean())
