"""The user's gradient function: loaded from ``file.py:function``, called safely, its output
checked against the expected keys and shapes."""

import numpy as np
import pytest

from bpverify.numeric.check.usercode import GradFnError, call, load

EXPECTED = {"W1": (2, 3), "b1": (2,), "dC_da0": (4, 3)}


def _args():
    params = {"W1": np.ones((2, 3)), "b1": np.zeros(2)}
    return params, np.ones((4, 3)), np.zeros((4, 2))


def _good(params, X, Y):
    return {"W1": np.full((2, 3), 0.5), "b1": np.array([1.0, 2.0])}


def _write(tmp_path, text, name="grads.py"):
    path = tmp_path / name
    path.write_text(text)
    return path


# -- load ----------------------------------------------------------------------------------------


def test_load_returns_the_named_function(tmp_path):
    path = _write(tmp_path, "import numpy as np\n\ndef grads(p, X, Y):\n    return {'W1': 7}\n")
    fn = load(f"{path}:grads")
    assert fn(None, None, None) == {"W1": 7}


def test_load_without_a_colon_is_refused(tmp_path):
    path = _write(tmp_path, "def grads(p, X, Y): pass\n")
    with pytest.raises(GradFnError, match=r"write it as path/to/file\.py:function"):
        load(str(path))


def test_load_a_missing_file_is_refused(tmp_path):
    with pytest.raises(GradFnError, match=r"no file .*nowhere\.py"):
        load(f"{tmp_path / 'nowhere.py'}:grads")


def test_load_a_missing_function_is_refused(tmp_path):
    path = _write(tmp_path, "def other(p, X, Y): pass\n")
    with pytest.raises(GradFnError, match="defines no function 'grads'"):
        load(f"{path}:grads")


def test_load_a_name_that_is_not_a_function_is_refused(tmp_path):
    path = _write(tmp_path, "grads = 3\n")
    with pytest.raises(GradFnError, match="defines no function 'grads'"):
        load(f"{path}:grads")


def test_load_a_file_that_raises_on_import_names_the_error_and_line(tmp_path):
    path = _write(tmp_path, "x = 1\ny = 1 / 0\n", name="bad.py")
    with pytest.raises(
        GradFnError, match=r"raised ZeroDivisionError: division by zero \(bad.py:2\)"
    ):
        load(f"{path}:grads")


def test_load_a_file_with_a_syntax_error_names_the_line(tmp_path):
    path = _write(tmp_path, "def grads(:\n", name="broken.py")
    with pytest.raises(GradFnError, match=r"SyntaxError.*\(broken.py:1\)"):
        load(f"{path}:grads")


def test_grad_fn_errors_are_value_errors():
    # the CLI turns ValueError into one line on stderr with exit code 2
    assert issubclass(GradFnError, ValueError)


# -- call ----------------------------------------------------------------------------------------


def test_call_returns_float64_gradients_and_no_problems():
    grads, problems = call(_good, *_args(), EXPECTED, 0)
    assert problems == []
    assert set(grads) == {"W1", "b1"}  # activation gradients are optional
    assert grads["b1"].dtype == np.float64 and grads["b1"].tolist() == [1.0, 2.0]


def test_call_passes_copies():
    params, X, Y = _args()

    def scribble(p, X_, Y_):
        p["W1"][:] = 99.0
        X_[:] = 99.0
        return _good(p, X_, Y_)

    call(scribble, params, X, Y, EXPECTED, 0)
    assert (params["W1"] == 1.0).all() and (X == 1.0).all()


def test_call_reports_an_exception_with_the_user_line():
    def raises(p, X, Y):
        return {"W1": p["W9"]}

    grads, (problem,) = call(raises, *_args(), EXPECTED, 2)
    assert grads == {}
    assert problem.tensor is None and problem.point == 2
    assert "the function raised KeyError: 'W9'" in problem.message
    assert "test_usercode.py:" in problem.message


def test_call_reports_a_non_dict():
    grads, (problem,) = call(lambda p, X, Y: (1, 2), *_args(), EXPECTED, 0)
    assert grads == {} and "returned a tuple, not a dict of gradients" in problem.message


def test_call_reports_a_missing_required_key():
    grads, (problem,) = call(lambda p, X, Y: {"W1": np.zeros((2, 3))}, *_args(), EXPECTED, 0)
    assert problem.tensor == "b1" and problem.message == "missing key 'b1' in the returned dict"
    assert set(grads) == {"W1"}


def test_call_reports_a_wrong_shape():
    def flat(p, X, Y):
        return {"W1": np.zeros(6), "b1": np.zeros(2)}

    grads, (problem,) = call(flat, *_args(), EXPECTED, 0)
    assert problem.tensor == "W1" and "wrong shape (6,), expected (2, 3)" in problem.message
    assert set(grads) == {"b1"}


def test_call_checks_activation_gradients_when_present():
    def wrong(p, X, Y):
        return {**_good(p, X, Y), "dC_da0": np.zeros((3, 4))}

    _, (problem,) = call(wrong, *_args(), EXPECTED, 0)
    assert "wrong shape (3, 4), expected (4, 3)" in problem.message


def test_call_reports_nan_and_infinity_with_the_first_entry():
    def bad(p, X, Y):
        W = np.zeros((2, 3))
        W[1, 2] = np.nan
        W[0, 1] = np.nan
        return {"W1": W, "b1": np.array([0.0, -np.inf])}

    _, problems = call(bad, *_args(), EXPECTED, 0)
    messages = {p.tensor: p.message for p in problems}
    assert messages["W1"] == "NaN at [0, 1] (2 non-finite)"
    assert messages["b1"] == "an infinity at [1] (1 non-finite)"


def test_call_reports_values_that_are_not_numbers():
    def text(p, X, Y):
        return {"W1": "gradient", "b1": np.zeros(2)}

    _, (problem,) = call(text, *_args(), EXPECTED, 0)
    assert problem.tensor == "W1" and "not an array of numbers" in problem.message


def test_call_silences_floating_point_warnings_of_user_code():
    # pytest turns warnings into errors: an overflow in user code must become a problem
    def overflow(p, X, Y):
        return {"W1": np.exp(np.full((2, 3), 1000.0)), "b1": np.zeros(2)}

    _, (problem,) = call(overflow, *_args(), EXPECTED, 0)
    assert "an infinity at [0, 0] (6 non-finite)" in problem.message


def test_call_accepts_lists_and_float32():
    def plain(p, X, Y):
        return {"W1": [[0.0] * 3] * 2, "b1": np.zeros(2, dtype=np.float32)}

    grads, problems = call(plain, *_args(), EXPECTED, 0)
    assert problems == [] and grads["W1"].shape == (2, 3) and grads["b1"].dtype == np.float64
