"""numeric.train.metrics: accuracy for 0/1 and one-hot targets."""

import numpy as np
import pytest

from bpverify.numeric.train.metrics import accuracy


def test_accuracy_for_both_encodings():
    assert accuracy([[0], [1], [1], [0]], [[0.2], [0.7], [0.4], [0.5]]) == 0.5
    Y = np.eye(3)[[0, 2, 1]]
    outputs = np.array([[0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    assert accuracy(Y, outputs) == pytest.approx(2 / 3)
    assert np.isnan(accuracy(np.zeros((0, 1)), np.zeros((0, 1))))
    with pytest.raises(ValueError):
        accuracy(Y, outputs[:, :2])
