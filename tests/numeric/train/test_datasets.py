import inspect
import sys

import numpy as np
import pytest

from bpverify.numeric.train.datasets import (
    DEFAULT_NOISE,
    DEFAULT_SIZES,
    GENERATED,
    DataError,
    Dataset,
    accuracy,
    circles,
    digits,
    load,
    load_file,
    moons,
    spirals,
    xor,
)


def rng(seed=0):
    return np.random.default_rng(seed)


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def raises(match, call, *args, **kwargs):
    """The DataError of call(*args), checked to be one line containing every word of match."""
    with pytest.raises(DataError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    for word in match:
        assert word in message, (word, message)
    return message


# --- generated sets --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_shapes_and_binary_encoding(name):
    ds = GENERATED[name](DEFAULT_SIZES[name], rng())
    n = DEFAULT_SIZES[name]
    assert isinstance(ds, Dataset)
    assert ds.X.shape == (n, 2) and ds.Y.shape == (n, 1)
    assert ds.X.dtype == ds.Y.dtype == np.float64
    assert (ds.n_in, ds.n_out, ds.classes, len(ds)) == (2, 1, 2, n)
    assert set(np.unique(ds.Y)) == {0.0, 1.0}
    assert ds.name == name and ds.feature_names == ("x1", "x2") and ds.target_names == ("y",)


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_default_noise_table_matches_the_signatures(name):
    assert inspect.signature(GENERATED[name]).parameters["noise"].default == DEFAULT_NOISE[name]
    assert inspect.signature(GENERATED[name]).parameters["n"].default == DEFAULT_SIZES[name]


@pytest.mark.parametrize("name", ["moons", "circles", "spirals"])
def test_generated_sets_are_deterministic_per_seed(name):
    a, b, c = (GENERATED[name](100, rng(seed)) for seed in (3, 3, 4))
    assert np.array_equal(a.X, b.X) and np.array_equal(a.Y, b.Y)
    assert not np.array_equal(a.X, c.X)


def test_xor_corners_labels_and_cyclic_repeat():
    ds = xor()
    assert ds.X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert ds.Y[:, 0].tolist() == [0, 1, 1, 0]
    ds = xor(10, rng())
    assert ds.X.shape == (10, 2)
    assert ds.Y[:, 0].tolist() == [0, 1, 1, 0] * 2 + [0, 1]
    noisy, again = xor(8, rng(1), noise=0.1), xor(8, rng(1), noise=0.1)
    assert np.array_equal(noisy.X, again.X)
    assert 0 < np.abs(noisy.X - xor(8).X).max() < 1
    assert noisy.Y[:, 0].tolist() == [0, 1, 1, 0] * 2


@pytest.mark.parametrize("name", ["moons", "circles", "spirals"])
@pytest.mark.parametrize("n", [100, 101])
def test_two_class_sets_are_balanced_and_shuffled(name, n):
    y = GENERATED[name](n, rng()).Y[:, 0]
    assert y.sum() == n // 2
    # Shuffled: the first half is not all one class.
    assert 0 < y[: n // 2].sum() < n // 2


def test_circles_classes_share_a_centre_and_differ_in_radius():
    ds = circles(400, rng(), noise=0.0)
    y = ds.Y[:, 0]
    outer, inner = ds.X[y == 0], ds.X[y == 1]
    # Equal class means: no line separates the classes.
    assert np.allclose(outer.mean(axis=0), 0, atol=1e-12)
    assert np.allclose(inner.mean(axis=0), 0, atol=1e-12)
    assert np.allclose(np.linalg.norm(outer, axis=1), 1)
    assert np.allclose(np.linalg.norm(inner, axis=1), 0.5)


def test_moons_are_the_two_half_circles():
    ds = moons(200, rng(), noise=0.0)
    y = ds.Y[:, 0]
    upper, lower = ds.X[y == 0], ds.X[y == 1]
    assert np.allclose(np.linalg.norm(upper, axis=1), 1)
    assert np.allclose(np.linalg.norm(lower - [1, 0.5], axis=1), 1)
    assert upper[:, 1].min() >= -1e-12 and lower[:, 1].max() <= 0.5 + 1e-12


def test_spirals_are_scaled_and_not_linearly_separable():
    ds = spirals(600, rng())
    assert np.abs(ds.X).max() < 1.3
    # Least-squares linear classifier with bias: far from the >= 0.97 a small net reaches.
    A = np.column_stack([ds.X, np.ones(len(ds))])
    w, *_ = np.linalg.lstsq(A, ds.Y[:, 0] - 0.5, rcond=None)
    assert accuracy(ds.Y, A @ w + 0.5) < 0.75
    # The arms are the same curve turned by pi: radii of the two classes match.
    clean = spirals(600, rng(), noise=0.0)
    r = np.linalg.norm(clean.X, axis=1)
    y = clean.Y[:, 0]
    assert np.allclose(np.sort(r[y == 0]), np.sort(r[y == 1]))


@pytest.mark.parametrize("bad", [{"n": 0}, {"n": 2.5}, {"noise": -0.1}, {"noise": float("nan")}])
def test_generated_reject_bad_options(bad):
    options = {"n": 10, "noise": 0.1} | bad
    raises(["moons"], moons, options["n"], rng(), options["noise"])


# --- load --------------------------------------------------------------------------------------


def test_load_generated_defaults_and_options():
    ds = load("spirals")
    assert len(ds) == DEFAULT_SIZES["spirals"]
    assert np.array_equal(ds.X, load("spirals", rng=0).X)
    assert np.array_equal(load("moons", n=50, rng=7).X, moons(50, rng(7)).X)
    assert np.array_equal(load("moons", n=50, noise=0.0).X, moons(50, rng(), 0.0).X)


def test_load_unknown_name_lists_the_choices(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = raises(["unknown data set", "'mons'", ".csv", ".npz"], load, "mons")
    for name in [*GENERATED, "digits"]:
        assert name in message


def test_load_rejects_options_that_do_not_apply(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,4\n")
    raises(["n applies only", "moons"], load, str(path), n=10)
    raises(["noise"], load, str(path), noise=0.1)
    raises(["target", ".csv"], load, "moons", target="y")


def test_load_reads_files_by_path(tmp_path):
    path = write(tmp_path, "a,b\n1,2.5\n3,4.5\n")
    ds = load(str(path))
    assert ds.name == "data" and ds.X.tolist() == [[1], [3]] and ds.classes is None


# --- CSV -------------------------------------------------------------------------------------


def test_csv_default_target_is_the_last_column(tmp_path):
    path = write(tmp_path, "x1,x2,y\n0.5,1,0\n-2,3e1,1\n\n4,5,1\n")
    ds = load_file(path)
    assert ds.X.tolist() == [[0.5, 1], [-2, 30], [4, 5]]
    assert ds.Y.tolist() == [[0], [1], [1]]
    assert ds.classes == 2
    assert ds.feature_names == ("x1", "x2") and ds.target_names == ("y",)


def test_csv_target_by_name_and_regression(tmp_path):
    path = write(tmp_path, "price,rooms,area\n1.5,3,70\n2.25,4,90\n0.75,2,40\n")
    ds = load_file(path, target="price")
    assert ds.feature_names == ("rooms", "area")
    assert ds.X.tolist() == [[3, 70], [4, 90], [2, 40]]
    assert ds.Y.tolist() == [[1.5], [2.25], [0.75]] and ds.classes is None


def test_csv_several_target_columns(tmp_path):
    path = write(tmp_path, "a,p,q\n1,0.5,2\n2,1.5,3\n")
    ds = load_file(path, target="q, p")
    assert ds.target_names == ("q", "p") and ds.Y.tolist() == [[2, 0.5], [3, 1.5]]
    assert ds.classes is None
    path = write(tmp_path, "a,c0,c1,c2\n1,0,1,0\n2,1,0,0\n3,0,0,1\n")
    ds = load_file(path, target="c0,c1,c2")
    assert ds.classes == 3 and ds.Y.tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1]]


def test_csv_multiclass_target_is_one_hot_in_sorted_order(tmp_path):
    path = write(tmp_path, "x,label\n0.1,3\n0.2,1\n0.3,7\n0.4,3\n")
    ds = load_file(path)
    assert ds.classes == 3 and ds.target_names == ("1", "3", "7")
    assert ds.Y.tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0]]


def test_csv_binary_labels_other_than_0_1_become_0_1(tmp_path):
    path = write(tmp_path, "x,label\n0.1,2\n0.2,1\n0.3,2\n")
    ds = load_file(path)
    assert ds.classes == 2 and ds.Y.tolist() == [[1], [0], [1]]


def test_csv_many_or_fractional_values_are_regression(tmp_path):
    rows = "\n".join(f"{i},{i}" for i in range(21))
    assert load_file(write(tmp_path, "x,y\n" + rows + "\n")).classes is None
    assert load_file(write(tmp_path, "x,y\n1,0.5\n2,1\n")).classes is None
    assert load_file(write(tmp_path, "x,y\n1,1\n2,1\n")).classes is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("x1,x2,y\n1,2,0\n1,abc,1\n", ["row 3", "'x2'", "not a number", "'abc'", "fix"]),
        ("x1,x2,y\n1,nan,0\n", ["row 2", "'x2'", "NaN", "replace"]),
        ("x1,x2,y\n1,-inf,0\n", ["row 2", "'x2'", "infinite"]),
        ("x1,x2,y\n1,,0\n", ["row 2", "'x2'", "empty"]),
        ("x1,x2,y\n1,2,0\n1,2\n", ["row 3", "2 cells", "3 columns"]),
        ("x1,x2,y\n1,2,0,5\n", ["row 2", "4 cells", "3 columns"]),
        ("", ["empty", "header"]),
        ("\n\n", ["empty", "header"]),
        ("x1,x2,y\n", ["no data rows", "add"]),
        ("1,2,3\n4,5,6\n", ["header", "numbers"]),
        ("x,x,y\n1,2,3\n", ["'x'", "repeats", "unique"]),
        ('x,"a\nb",y\n1,2,3\n1,zz,3\n', ["not a number", "'a\\nb'"]),
    ],
)
def test_bad_csv_raises_one_line_data_error(tmp_path, text, words):
    path = write(tmp_path, text)
    message = raises(words, load_file, path)
    assert str(path) in message


def test_missing_target_column_lists_the_columns(tmp_path):
    path = write(tmp_path, "x1,x2,y\n1,2,0\n")
    raises(["'label'", "choose from", "'x1', 'x2', 'y'"], load_file, path, "label")
    raises(["leave at least one"], load_file, path, "x1,x2,y")


def test_missing_file_and_unknown_suffix(tmp_path):
    raises(["nope.csv", "does not exist", "check the path"], load_file, tmp_path / "nope.csv")
    path = write(tmp_path, "a,b\n1,2\n", name="data.txt")
    raises(["'.txt'", ".csv", ".npz"], load_file, path)
    raises(["does not exist"], load, str(tmp_path / "nope.npz"))
    raises(["unknown file type"], load, str(path))


def test_non_utf8_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"x,y\n\xff\xfe,1\n")
    raises(["UTF-8"], load_file, path)


# --- NPZ -------------------------------------------------------------------------------------


def test_npz_with_X_and_Y(tmp_path):
    X = np.arange(12.0).reshape(6, 2)
    np.savez(tmp_path / "a.npz", X=X, Y=np.array([[0.5], [1], [2], [3], [4], [5.5]]))
    ds = load_file(tmp_path / "a.npz")
    assert np.array_equal(ds.X, X) and ds.classes is None and ds.name == "a"
    assert ds.feature_names == ("x1", "x2") and ds.target_names == ("y",)


def test_npz_with_integer_labels_y_is_encoded(tmp_path):
    X = np.arange(8.0).reshape(4, 2)
    np.savez(tmp_path / "b.npz", X=X, y=np.array([2, 0, 1, 2]))
    ds = load_file(tmp_path / "b.npz")
    assert ds.classes == 3 and ds.Y.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]


@pytest.mark.parametrize(
    ("arrays", "words"),
    [
        ({"X": np.zeros((3, 2))}, ["'X' and 'Y'", "numpy.savez"]),
        ({"X": np.zeros((3, 2)), "Y": np.zeros(4)}, ["3 rows", "4", "same number"]),
        ({"X": np.array([[1.0, np.nan]]), "Y": np.zeros(1)}, ["'X'", "NaN"]),
        ({"X": np.array([["a", "b"]]), "Y": np.zeros(1)}, ["'X'", "numbers"]),
    ],
)
def test_bad_npz(tmp_path, arrays, words):
    np.savez(tmp_path / "c.npz", **arrays)
    raises(words, load_file, tmp_path / "c.npz")


def test_npz_rejects_a_target_and_garbage(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((2, 1)), Y=np.zeros(2))
    raises(["target", "drop"], load_file, tmp_path / "d.npz", "label")
    (tmp_path / "e.npz").write_text("not a zip")
    raises(["not a readable .npz"], load_file, tmp_path / "e.npz")


# --- Dataset, split, accuracy ------------------------------------------------------------------


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


def test_split_zero_gives_an_empty_test_set_and_bad_fractions_raise():
    ds = xor(8)
    train, test = ds.split(0.0, rng())
    assert len(train) == 8 and test.X.shape == (0, 2) and test.Y.shape == (0, 1)
    assert len(xor(1).split(0.9, rng())[0]) == 1
    for bad in (1.0, -0.1, 2):
        raises(["test fraction", "[0, 1)"], ds.split, bad, rng())


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


def test_accuracy_for_both_encodings():
    assert accuracy([[0], [1], [1], [0]], [[0.2], [0.7], [0.4], [0.5]]) == 0.5
    Y = np.eye(3)[[0, 2, 1]]
    outputs = np.array([[0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    assert accuracy(Y, outputs) == pytest.approx(2 / 3)
    assert np.isnan(accuracy(np.zeros((0, 1)), np.zeros((0, 1))))
    with pytest.raises(ValueError):
        accuracy(Y, outputs[:, :2])


# --- digits ------------------------------------------------------------------------------------


def test_digits():
    pytest.importorskip("sklearn")
    ds = load("digits")
    assert ds.X.shape == (1797, 64) and ds.Y.shape == (1797, 10) and ds.classes == 10
    assert ds.X.min() == 0 and ds.X.max() == 1
    assert np.array_equal(ds.Y.sum(axis=1), np.ones(1797))
    assert ds.target_names == tuple("0123456789")


def test_digits_without_sklearn_names_the_extra(monkeypatch):
    # A None entry in sys.modules makes the import fail as if scikit-learn were not installed.
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    raises(["scikit-learn", "pip install 'bpverify[digits]'"], digits)
