"""The inputs of a function check: NAME=SHAPE[:KIND], .npz files, wrt."""

import numpy as np
import pytest

from bpverify.numeric.check.inputs import Drawn, InputsError, draw, load_npz, parse_input, resolve


@pytest.mark.parametrize(
    "text, name, drawn",
    [
        ("x=8x16", "x", Drawn((8, 16))),
        ("gamma=16", "gamma", Drawn((16,))),
        ("labels=8:int5", "labels", Drawn((8,), "int5")),
        ("scale=():positive", "scale", Drawn((), "positive")),
        ("p=3X2:uniform", "p", Drawn((3, 2), "uniform")),
    ],
)
def test_an_input_is_a_name_a_shape_and_a_kind(text, name, drawn):
    assert parse_input(text) == (name, drawn)


@pytest.mark.parametrize(
    "text, says",
    [
        ("x", "NAME=SHAPE"),
        ("1x=3", "NAME=SHAPE"),
        ("x=", "no shape"),
        ("x=8x0", "sizes >= 1"),
        ("x=8xx2", "sizes >= 1"),
        ("x=²", "sizes >= 1"),
        ("x=99999999999", "sizes >= 1"),
        ("x=3:gauss", "unknown kind 'gauss'"),
        ("x=3:int0", "unknown kind"),
    ],
)
def test_a_malformed_input_names_the_fix(text, says):
    with pytest.raises(InputsError, match=says):
        parse_input(text)


def test_drawn_inputs_have_their_kind_and_are_rounded_to_the_dtype():
    resolved, wrt = resolve({"x": "50", "labels": "50:int3", "s": "50:positive"}, None)
    assert wrt == ("x", "s")
    point = draw(resolved, np.random.default_rng(0), "float32")
    assert set(np.unique(point["labels"])) <= {0, 1, 2}
    assert (point["s"] >= 0.5).all() and (point["s"] <= 2).all()
    assert (point["x"] == point["x"].astype(np.float32)).all() and point["x"].dtype == np.float64


def test_an_npz_file_is_read_and_checked(tmp_path):
    np.savez(tmp_path / "ok.npz", x=np.ones(3), labels=np.arange(3))
    arrays = load_npz(tmp_path / "ok.npz")
    assert set(arrays) == {"x", "labels"}
    np.savez(tmp_path / "nan.npz", x=np.array([1.0, np.nan]))
    with pytest.raises(InputsError, match="'x' holds NaN or infinity at \\[1\\]"):
        load_npz(tmp_path / "nan.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(InputsError, match="not a readable"):
        load_npz(tmp_path / "text.npz")
    with pytest.raises(InputsError, match="no file"):
        load_npz(tmp_path / "missing.npz")
    np.savez(tmp_path / "objects.npz", x=np.array([{}], dtype=object))
    with pytest.raises(InputsError, match="not a readable"):
        load_npz(tmp_path / "objects.npz")


def test_wrt_chooses_among_the_float_inputs():
    _, wrt = resolve({"x": 3, "y": (2, 2)}, "y")
    assert wrt == ("y",)
    with pytest.raises(InputsError, match="no input to check"):
        resolve({"labels": np.arange(3)}, None)
    with pytest.raises(InputsError, match="entries"):
        resolve({"x": (10**5, 10**3)}, None)
