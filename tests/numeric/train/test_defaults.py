"""numeric.train.defaults: one row of training defaults per bundled data set, filled in only
where the caller said nothing."""

import pytest

from bpverify.numeric.train import defaults
from bpverify.numeric.train.defaults import DATA_DEFAULTS, FILE_DEFAULTS, choose
from bpverify.numeric.train.generated import GENERATED
from bpverify.numeric.train.optim import OPTIMIZERS

NOTHING = {"hidden": None, "epochs": None, "lr": None, "batch_size": None, "optimizer": None}


def test_every_bundled_set_has_a_row_and_every_row_trains_with_a_known_optimiser():
    assert set(DATA_DEFAULTS) == {*GENERATED, "digits"}
    for row in [*DATA_DEFAULTS.values(), FILE_DEFAULTS]:
        assert row.optimizer in OPTIMIZERS
        assert row.epochs >= 1 and (row.lr is None or row.lr > 0)
    assert all(row.hidden for row in DATA_DEFAULTS.values())


def test_nothing_given_takes_the_whole_row_and_names_it():
    s = choose("xor", **NOTHING)
    row = DATA_DEFAULTS["xor"]
    assert (s.hidden, s.epochs, s.lr, s.batch_size, s.optimizer) == (
        row.hidden,
        row.epochs,
        row.lr,
        row.batch_size,
        row.optimizer,
    )
    assert s.taken == ("hidden", "epochs", "lr", "batch_size", "optimizer")
    assert s.describe() == "xor defaults: --hidden 4 --epochs 1000 --lr 0.03 --batch-size 0 " + (
        "--optimizer adam"
    )


def test_what_is_given_wins_and_is_not_named():
    s = choose("moons", **{**NOTHING, "hidden": "8", "epochs": 5, "batch_size": 16})
    assert (s.hidden, s.epochs, s.batch_size) == ("8", 5, 16)
    assert s.taken == ("lr", "optimizer")
    assert s.describe() == "moons defaults: --lr 0.03 --optimizer adam"


def test_everything_given_names_no_defaults():
    s = choose("moons", hidden="8", epochs=5, lr=0.1, batch_size=0, optimizer="sgd")
    assert s.taken == () and s.describe() == ""
    assert s.batch_size is None  # 0 is the full batch


def test_another_optimiser_keeps_its_own_learning_rate():
    # the row's lr was tuned for the row's optimiser; sgd at adam's 0.03 would barely move
    s = choose("moons", **{**NOTHING, "optimizer": "sgd"})
    assert s.lr is None and "lr" not in s.taken


def test_fixed_settings_take_no_default():
    s = choose("spirals", fixed=["hidden", "optimizer", "lr"], **NOTHING)
    assert s.hidden is None and s.optimizer is None and s.lr is None
    assert s.taken == ("epochs", "batch_size")


def test_a_file_takes_the_file_defaults_and_needs_its_network():
    s = choose("mine.csv", **NOTHING)
    assert s.defaults is FILE_DEFAULTS and s.hidden is None
    assert s.describe().startswith("defaults: --epochs ")


def test_an_unknown_setting_is_a_programming_error():
    with pytest.raises(TypeError, match="unknown settings momentum"):
        defaults.choose("xor", momentum=0.9)


def test_the_table_in_the_docs_is_the_table_in_the_code():
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[3] / "docs" / "train.md").read_text()
    for name, row in DATA_DEFAULTS.items():
        hidden = ",".join(str(w) for w in row.hidden)
        batch = "0 (full)" if row.batch_size is None else str(row.batch_size)
        line = f"| `{name}` | {hidden} | {row.epochs} | {row.lr} | {batch} | {row.optimizer} |"
        assert line in docs.splitlines(), line
