"""numeric.train.files: data sets read from CSV and NPZ files, and their one-line errors."""

import numpy as np
import pytest

from bpverify.numeric.train.dataset import DataError
from bpverify.numeric.train.files import load_file


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


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
        ("0,0,1\n1,0,1\n", ["first row is numbers", "add a header row"]),  # not "'0' repeats"
        ("x,x,y\n1,2,3\n", ["'x'", "repeats", "unique"]),
        ('x,"a\nb",y\n1,2,3\n1,zz,3\n', ["not a number", "'a\\nb'"]),
    ],
)
def test_bad_csv_raises_one_line_data_error(tmp_path, text, words, data_error):
    path = write(tmp_path, text)
    message = data_error(words, load_file, path)
    assert str(path) in message


def test_missing_target_column_lists_the_columns(tmp_path, data_error):
    path = write(tmp_path, "x1,x2,y\n1,2,0\n")
    data_error(["'label'", "choose from", "'x1', 'x2', 'y'"], load_file, path, "label")
    data_error(["leave at least one"], load_file, path, "x1,x2,y")


@pytest.mark.parametrize("name", ["d.csv", "d.npz"])
def test_an_unreadable_file_names_its_permissions(tmp_path, monkeypatch, data_error, name):
    # root reads a mode-000 file, and the tests may run as root: the refusal is simulated
    path = write(tmp_path, "x,y\n1,0\n", name=name)
    real_open = type(path).open

    def refused(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(type(path), "open", refused)
    data_error([name, "cannot be read (Permission denied)", "permissions"], load_file, path)


def test_missing_file_and_unknown_suffix(tmp_path, data_error):
    data_error(["nope.csv", "does not exist", "check the path"], load_file, tmp_path / "nope.csv")
    path = write(tmp_path, "a,b\n1,2\n", name="data.txt")
    data_error(["'.txt'", ".csv", ".npz"], load_file, path)


def test_non_utf8_file(tmp_path, data_error):
    path = tmp_path / "data.csv"
    path.write_bytes(b"x,y\n\xff\xfe,1\n")
    data_error(["UTF-8"], load_file, path)


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
def test_bad_npz(tmp_path, arrays, words, data_error):
    np.savez(tmp_path / "c.npz", **arrays)
    data_error(words, load_file, tmp_path / "c.npz")


def test_npz_rejects_a_target_and_garbage(tmp_path, data_error):
    np.savez(tmp_path / "d.npz", X=np.zeros((2, 1)), Y=np.zeros(2))
    data_error(["target", "drop"], load_file, tmp_path / "d.npz", "label")
    (tmp_path / "e.npz").write_text("not a zip")
    data_error(["not an .npz file", "zip archive", "numpy.savez"], load_file, tmp_path / "e.npz")


def test_a_text_or_npy_file_named_npz_is_no_npz_file_and_nothing_suggests_pickle(
    tmp_path, data_error
):
    (tmp_path / "t.npz").write_text("x1,x2,y\n0,0,0\n")
    np.save(tmp_path / "a.npy", np.zeros(3))
    (tmp_path / "a.npz").write_bytes((tmp_path / "a.npy").read_bytes())
    for name in ("t.npz", "a.npz"):
        with pytest.raises(DataError) as e:
            load_file(tmp_path / name)
        assert "not an .npz file" in str(e.value) and "pickle" not in str(e.value)
    data_error(["not a readable .npz file", "numpy.savez"], _damaged_zip, tmp_path)


def _damaged_zip(tmp_path):
    # a zip's start, then nothing: past the magic check, np.load's own error is reported
    (tmp_path / "z.npz").write_bytes(b"PK\x03\x04" + b"\0" * 10)
    return load_file(tmp_path / "z.npz")
