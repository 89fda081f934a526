"""The data type of training: ``Dataset``, and ``DataError`` for data that cannot be used.

A ``Dataset`` holds float64 inputs ``X`` (n, n_in) and targets ``Y`` (n, n_out). Classification
targets follow one convention so that the output layer can be chosen from the data: two classes
give ONE column of 0/1 (sigmoid output), k > 2 classes give k one-hot columns (softmax output);
``classes`` is 2 or k, and None for regression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpverify.derive import InputError


class DataError(InputError):
    """Bad data or a bad data option; the message is one line naming the problem and the fix."""

    def __init__(self, message: str):
        # The CLI prints the message as one line, so a stray newline must not split it.
        super().__init__(str(message).replace("\r", "\\r").replace("\n", "\\n"))


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """Inputs ``X`` (n, n_in) and targets ``Y`` (n, n_out), both float64.

    ``classes`` is the number of classes (2: ``Y`` is one 0/1 column, k > 2: ``Y`` is k one-hot
    columns) or None for regression. Arrays are converted to 2-D float64 on construction; a 1-D
    ``Y`` becomes one column.
    """

    X: np.ndarray
    Y: np.ndarray
    name: str
    classes: int | None
    feature_names: tuple[str, ...]
    target_names: tuple[str, ...]

    def __post_init__(self):
        X = np.asarray(self.X, dtype=np.float64)
        Y = np.asarray(self.Y, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
            raise ValueError(f"X and Y must be 2-D with equal rows, got {X.shape} and {Y.shape}")
        if len(self.feature_names) != X.shape[1] or len(self.target_names) != Y.shape[1]:
            raise ValueError("feature_names and target_names must name every column of X and Y")
        if self.classes is not None and not (
            self.classes >= 2
            and (Y.shape[1] == self.classes or (self.classes == 2 and Y.shape[1] == 1))
        ):
            raise ValueError(f"{self.classes} classes do not fit targets with {Y.shape[1]} columns")
        # frozen: the conversions have to bypass the dataclass's __setattr__.
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "Y", Y)
        object.__setattr__(self, "feature_names", tuple(self.feature_names))
        object.__setattr__(self, "target_names", tuple(self.target_names))

    @property
    def n_in(self) -> int:
        """Number of input features (columns of ``X``)."""
        return self.X.shape[1]

    @property
    def n_out(self) -> int:
        """Number of target columns (columns of ``Y``)."""
        return self.Y.shape[1]

    def __len__(self) -> int:
        return len(self.X)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, n={len(self)}, n_in={self.n_in}, n_out={self.n_out}, "
            f"classes={self.classes})"
        )

    def split(self, test_fraction: float, rng: np.random.Generator) -> tuple[Dataset, Dataset]:
        """Shuffle and split into (train, test) with ``round(test_fraction * n)`` test samples.

        ``test_fraction`` must be in [0, 1); 0 gives an empty test set. The train set always
        keeps at least one sample.
        Example: ``train, test = ds.split(0.2, np.random.default_rng(0))``.
        """
        if not 0 <= test_fraction < 1:
            raise DataError(
                f"test fraction {test_fraction} is outside [0, 1): give a value such as 0.2"
            )
        n = len(self)
        n_test = min(round(test_fraction * n), max(n - 1, 0))
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
        return self._subset(train, f"{self.name}/train"), self._subset(test, f"{self.name}/test")

    def astype(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        """Copies of ``X`` and ``Y`` as ``dtype``, e.g. ``ds.astype(np.float32)``."""
        return self.X.astype(dtype), self.Y.astype(dtype)

    def _subset(self, rows: np.ndarray, name: str) -> Dataset:
        return Dataset(
            self.X[rows], self.Y[rows], name, self.classes, self.feature_names, self.target_names
        )
