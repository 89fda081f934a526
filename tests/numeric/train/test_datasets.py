"""numeric.train.datasets: a data set by name (generated, digits) or by file path."""

import numpy as np

from bpverify.numeric.train import dataset, datasets, files, generated, metrics
from bpverify.numeric.train.datasets import (
    DEFAULT_SIZES,
    GENERATED,
    load,
    moons,
)


def rng(seed=0):
    return np.random.default_rng(seed)


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_generated_defaults_and_options():
    ds = load("spirals")
    assert len(ds) == DEFAULT_SIZES["spirals"]
    assert np.array_equal(ds.X, load("spirals", rng=0).X)
    assert np.array_equal(load("moons", n=50, rng=7).X, moons(50, rng(7)).X)
    assert np.array_equal(load("moons", n=50, noise=0.0).X, moons(50, rng(), 0.0).X)


def test_load_unknown_name_lists_the_choices(tmp_path, monkeypatch, data_error):
    monkeypatch.chdir(tmp_path)
    message = data_error(["unknown data set", "'mons'", ".csv", ".npz"], load, "mons")
    for name in [*GENERATED, "digits"]:
        assert name in message


def test_load_rejects_options_that_do_not_apply(tmp_path, data_error):
    path = write(tmp_path, "a,b\n1,2\n3,4\n")
    data_error(["n applies only", "moons"], load, str(path), n=10)
    data_error(["noise"], load, str(path), noise=0.1)
    data_error(["target", ".csv"], load, "moons", target="y")


def test_load_reads_files_by_path(tmp_path):
    path = write(tmp_path, "a,b\n1,2.5\n3,4.5\n")
    ds = load(str(path))
    assert ds.name == "data" and ds.X.tolist() == [[1], [3]] and ds.classes is None


def test_load_a_missing_file_or_an_unknown_file_type(tmp_path, data_error):
    data_error(["does not exist"], load, str(tmp_path / "nope.npz"))
    path = write(tmp_path, "a,b\n1,2\n", name="data.txt")
    data_error(["unknown file type"], load, str(path))


def test_load_digits_by_name(monkeypatch):
    # The digits themselves are tested in test_generated.py; here only that the name reaches them.
    data = generated.xor()
    monkeypatch.setattr(datasets, "digits", lambda: data)
    assert load("digits") is data
    assert load(" digits ") is data


def test_the_pieces_are_re_exported_from_their_modules():
    # ``datasets.X`` is the object of the module that defines it, not a copy.
    homes = (dataset, files, generated, metrics)
    for name in datasets.__all__:
        if name != "load":
            assert any(getattr(home, name, None) is getattr(datasets, name) for home in homes), name
