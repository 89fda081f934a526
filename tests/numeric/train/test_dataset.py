"""numeric.train.dataset: the Dataset type (validation, split, dtype) and DataError."""

import numpy as np
import pytest

from bpverify.derive import InputError
from bpverify.numeric.train.dataset import DataError, Dataset
from bpverify.numeric.train.generated import moons, xor


def rng(seed=0):
    return np.random.default_rng(seed)


def test_split_sizes_disjoint_and_complete():
    ds = moons(100, rng())
    train, test = ds.split(0.25, rng(1))
    assert (len(train), len(test)) == (75, 25)
    assert train.classes == test.classes == 2 and train.feature_names == ds.feature_names
    rows = {tuple(x) for x in ds.X}
    train_rows, test_rows = {tuple(x) for x in train.X}, {tuple(x) for x in test.X}
    assert not train_rows & test_rows and train_rows | test_rows == rows
    again, _ = ds.split(0.25, rng(1))
    assert np.array_equal(again.X, train.X)


def test_split_zero_gives_an_empty_test_set_and_bad_fractions_raise(data_error):
    ds = xor(8)
    train, test = ds.split(0.0, rng())
    assert len(train) == 8 and test.X.shape == (0, 2) and test.Y.shape == (0, 1)
    assert len(xor(1).split(0.9, rng())[0]) == 1
    for bad in (1.0, -0.1, 2):
        data_error(["test fraction", "[0, 1)"], ds.split, bad, rng())


def test_dataset_validates_and_converts():
    ds = Dataset([[1, 2]], [3], "d", None, ("a", "b"), ("y",))
    assert ds.X.dtype == np.float64 and ds.Y.shape == (1, 1)
    assert "n=1" in repr(ds)
    X32, Y32 = ds.astype(np.float32)
    assert X32.dtype == Y32.dtype == np.float32 and X32 is not ds.X
    with pytest.raises(ValueError):
        Dataset(np.zeros((2, 2)), np.zeros((3, 1)), "d", None, ("a", "b"), ("y",))
    with pytest.raises(ValueError):
        Dataset(np.zeros((2, 2)), np.zeros((2, 3)), "d", 4, ("a", "b"), ("p", "q", "r"))


def test_a_data_error_is_bad_input():
    # The CLI turns an InputError into one line and exit code 2; unusable data is bad input.
    assert issubclass(DataError, InputError)
