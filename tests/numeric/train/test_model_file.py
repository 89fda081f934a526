import json
import os
import stat
import zipfile

import numpy as np
import pytest
import sympy as sp

from bpverify.derive import NetworkSpec
from bpverify.numeric.init import init_params
from bpverify.numeric.train.loop import History
from bpverify.numeric.train.model_file import (
    ModelFileError,
    load_model,
    restore_optimizer,
    restore_rng,
    save_model,
)
from bpverify.numeric.train.optim import make_optimizer

SPEC = NetworkSpec(
    3, (3, 5, 4, 2), "leaky_relu,tanh,softmax", "softmax-cross-entropy", sp.Rational(1, 20)
)


def trained_state(dtype=np.float64):
    """Parameters and an Adam optimiser after two steps on made-up gradients."""
    rng = np.random.default_rng(0)
    params = init_params(SPEC.widths, SPEC.activations, rng, dtype=dtype)
    optimizer = make_optimizer("adam", 0.02)
    for _ in range(2):
        optimizer.step(
            params, {k: rng.normal(size=v.shape).astype(dtype) for k, v in params.items()}
        )
    return params, optimizer


def test_round_trip(tmp_path):
    params, optimizer = trained_state()
    history = History([0.9, 0.5], [1.0, 0.6], [0.5, 0.75], [0.25, 0.5], epochs=2)
    rng = np.random.default_rng(11)
    rng.random(3)
    path = tmp_path / "net.npz"
    save_model(path, SPEC, params, optimizer, history, epoch=2, rng=rng)

    spec, loaded, meta = load_model(path)
    assert spec == SPEC and spec.leaky_slope == sp.Rational(1, 20)
    assert sorted(loaded) == sorted(params)
    for key in params:
        np.testing.assert_array_equal(loaded[key], params[key])
        assert loaded[key].dtype == params[key].dtype and loaded[key].flags.writeable
    assert meta["epoch"] == 2 and meta["version"] == 1
    assert meta["optimizer"] == "adam"
    state = optimizer.state_dict()
    assert sorted(meta["optimizer_state"]) == sorted(state)
    for key, value in state.items():
        np.testing.assert_array_equal(meta["optimizer_state"][key], value)
    restored = restore_optimizer(meta)
    assert restored.name == "adam" and restored.lr == 0.02 and restored.t == 2
    assert restore_optimizer(meta, lr=0.5).lr == 0.5
    assert meta["history"] == history
    assert restore_rng(meta).random(5).tolist() == rng.random(5).tolist()


def test_float32_parameters_stay_float32(tmp_path):
    params, optimizer = trained_state(np.float32)
    save_model(tmp_path / "m.npz", SPEC, params, optimizer)
    _, loaded, meta = load_model(tmp_path / "m.npz")
    assert all(p.dtype == np.float32 for p in loaded.values())
    assert meta["optimizer_state"]["m.W1"].dtype == np.float32


def test_without_optimizer_history_or_rng(tmp_path):
    params, _ = trained_state()
    save_model(tmp_path / "m.npz", SPEC, params)
    _, _, meta = load_model(tmp_path / "m.npz")
    assert meta["epoch"] == 0 and meta["optimizer"] is None and meta["optimizer_state"] == {}
    assert meta["history"] is None and meta["rng_state"] is None
    assert restore_optimizer(meta) is None and restore_rng(meta) is None


def test_history_without_accuracy_or_test_set(tmp_path):
    params, _ = trained_state()
    history = History([0.3, 0.2], [], None, None, epochs=2)
    save_model(tmp_path / "m.npz", SPEC, params, history=history, epoch=2)
    assert load_model(tmp_path / "m.npz")[2]["history"] == history


def test_the_name_is_used_as_given(tmp_path):
    params, _ = trained_state()
    save_model(tmp_path / "model.bin", SPEC, params)
    assert sorted(os.listdir(tmp_path)) == ["model.bin"]
    assert load_model(str(tmp_path / "model.bin"))[0] == SPEC


def test_the_archive_is_plain_arrays(tmp_path):
    params, optimizer = trained_state()
    save_model(tmp_path / "m.npz", SPEC, params, optimizer, epoch=4)
    with np.load(tmp_path / "m.npz", allow_pickle=False) as data:
        assert data["widths"].tolist() == [3, 5, 4, 2]
        assert data["activations"].tolist() == ["leaky_relu", "tanh", "softmax"]
        assert str(data["loss"]) == "softmax-cross-entropy"
        assert str(data["leaky_slope"]) == "1/20"
        assert int(data["epoch"]) == 4 and str(data["optimizer"]) == "adam"
        assert "opt.v.W3" in data.files


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("error", [OSError("disk full"), Interrupted(), KeyboardInterrupt()])
def test_a_failed_save_leaves_the_existing_file_intact(tmp_path, monkeypatch, error):
    params, optimizer = trained_state()
    path = tmp_path / "m.npz"
    save_model(path, SPEC, params, optimizer, epoch=1)
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise error

    monkeypatch.setattr(np, "savez", broken_savez)
    expected = ValueError if isinstance(error, OSError) else type(error)
    with pytest.raises(expected):
        save_model(path, SPEC, {k: v + 1 for k, v in params.items()}, epoch=2)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]  # no temporary file left behind
    monkeypatch.undo()
    assert load_model(path)[2]["epoch"] == 1


def test_a_new_save_replaces_the_old_file(tmp_path):
    params, _ = trained_state()
    save_model(tmp_path / "m.npz", SPEC, params, epoch=1)
    save_model(tmp_path / "m.npz", SPEC, params, epoch=2)
    assert load_model(tmp_path / "m.npz")[2]["epoch"] == 2
    assert os.listdir(tmp_path) == ["m.npz"]


def rewrite_without(src, dst, *keys):
    with np.load(src, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k not in keys}
    with open(dst, "wb") as f:
        np.savez(f, **arrays)


def bad_file(tmp_path, kind):
    path = tmp_path / "bad.npz"
    params, optimizer = trained_state()
    if kind == "missing":
        return path
    if kind == "text":
        path.write_text("W1,b1\n1,2\n")
    elif kind == "npy":
        with open(path, "wb") as f:
            np.save(f, np.zeros(3))
    elif kind == "foreign npz":
        with open(path, "wb") as f:
            np.savez(f, X=np.zeros((2, 2)))
    elif kind == "truncated":
        save_model(path, SPEC, params, optimizer)
        path.write_bytes(path.read_bytes()[:300])
    elif kind == "directory":
        path.mkdir()
    else:
        save_model(tmp_path / "good.npz", SPEC, params, optimizer)
        rewrite_without(tmp_path / "good.npz", path, kind)
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", r"no model file at .*bad\.npz: check the path"),
        ("text", r"bad\.npz is not a bpverify model file \(not an \.npz archive\)"),
        ("npy", r"bad\.npz is not a bpverify model file \(not an \.npz archive\)"),
        ("foreign npz", r"bad\.npz is an \.npz archive but not a bpverify model"),
        ("truncated", r"bad\.npz"),
        ("directory", r"bad\.npz is a directory"),
        ("W2", r"bad\.npz lacks parameter array 'W2': .*save the model again"),
        ("widths", r"bad\.npz lacks widths: .*save the model again"),
        (
            "opt.m.W1",
            r"bad\.npz holds a bad optimizer state \(.* has no m for parameter .W1.",
        ),
    ],
)
def test_bad_files_raise_a_one_line_value_error(tmp_path, kind, message):
    path = bad_file(tmp_path, kind)
    with pytest.raises(ValueError, match=message) as info:
        load_model(path)
    assert "\n" not in str(info.value)


def test_parameters_must_match_the_network(tmp_path):
    params, _ = trained_state()
    params["W2"] = params["W2"][:, :3]
    with pytest.raises(ValueError, match=r"parameter W2 has shape \(4, 3\), the network needs"):
        save_model(tmp_path / "m.npz", SPEC, params)
    assert not (tmp_path / "m.npz").exists()


def test_symbolic_networks_cannot_be_saved(tmp_path):
    with pytest.raises(ValueError, match="symbolic widths"):
        save_model(tmp_path / "m.npz", NetworkSpec(2), {})


def test_missing_directory_is_a_value_error(tmp_path):
    params, _ = trained_state()
    with pytest.raises(ValueError, match=r"cannot write model file .*check that .* exists"):
        save_model(tmp_path / "nowhere" / "m.npz", SPEC, params)


def test_zip_without_npy_members_is_not_a_model(tmp_path):
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="not a bpverify model"):
        load_model(path)


def _saved_with(tmp_path, change):
    """A saved model whose arrays ``change(arrays)`` altered."""
    params, optimizer = trained_state()
    save_model(tmp_path / "good.npz", SPEC, params, optimizer, rng=np.random.default_rng(1))
    with np.load(tmp_path / "good.npz", allow_pickle=False) as data:
        arrays = dict(data)
    change(arrays)
    path = tmp_path / "bad.npz"
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _rng_state(state):
    def change(arrays):
        arrays["rng_state"] = np.array(json.dumps(state))

    return change


@pytest.mark.parametrize(
    "state",
    [
        {"bit_generator": "PCG64", "state": {"state": "x", "inc": 1}},
        {"bit_generator": "PCG64"},
        {"bit_generator": "PCG64", "state": {"state": -5, "inc": "q"}},
        {"bit_generator": "MT19937", "state": {"key": [1, 2], "pos": 3}},
    ],
    ids=["text-state", "no-state", "negative", "short-key"],
)
def test_a_damaged_rng_state_is_a_model_file_error(tmp_path, state):
    with pytest.raises(ModelFileError, match=r"bad\.npz holds a damaged rng_state: save the model"):
        load_model(_saved_with(tmp_path, _rng_state(state)))


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_parameters_are_named_not_left_to_diverge(tmp_path, value):
    def change(arrays):
        arrays["b2"] = np.full_like(arrays["b2"], value)

    with pytest.raises(ModelFileError, match="parameter b2 holds NaN or infinite values"):
        load_model(_saved_with(tmp_path, change))


def test_a_non_finite_optimizer_buffer_is_a_bad_state(tmp_path):
    def change(arrays):
        arrays["opt.v.W1"] = np.full_like(arrays["opt.v.W1"], np.nan)

    with pytest.raises(ModelFileError, match=r"bad optimizer state \(.*'v\.W1' is not finite"):
        load_model(_saved_with(tmp_path, change))


def test_a_device_is_written_into_never_replaced():
    params, optimizer = trained_state()
    save_model("/dev/null", SPEC, params, optimizer)  # as root, a rename would replace it
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    if os.path.exists("/dev/full"):
        with pytest.raises(ModelFileError, match="cannot write model file /dev/full"):
            save_model("/dev/full", SPEC, params, optimizer)
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_the_conventions_round_trip_and_older_files_mean_the_mean_cost(tmp_path):
    spec = NetworkSpec(2, (2, 3, 1), "tanh", cost="sum", l2=sp.Rational(1, 30))
    params = init_params(spec.widths, spec.activations, np.random.default_rng(0))
    save_model(tmp_path / "m.npz", spec, params)
    loaded, _, _ = load_model(tmp_path / "m.npz")
    assert (loaded.cost, loaded.l2) == ("sum", sp.Rational(1, 30))
    rewrite_without(tmp_path / "m.npz", tmp_path / "old.npz", "cost", "l2")
    old, _, _ = load_model(tmp_path / "old.npz")
    assert (old.cost, old.l2) == ("mean", 0)
