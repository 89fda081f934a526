"""The user's code, run: one call's answer (``call``, ``describe``) and the worker process
(``Worker``): its requests, budget, crashes, output and stack dumps."""

import subprocess
import sys

import numpy as np
import pytest

import bpverify.numeric.check.worker as worker_module
from bpverify.numeric.check.worker import (
    OUTPUT_CHARS,
    OUTPUT_LINES,
    Worker,
    WorkerLost,
    _stuck_at,
    _tail,
    call,
    describe,
)

EXPECTED = {"W1": (2, 3), "b1": (2,), "dC_da0": (4, 3)}


def _args():
    params = {"W1": np.ones((2, 3)), "b1": np.zeros(2)}
    return params, np.ones((4, 3)), np.zeros((4, 2))


def _good(params, X, Y):
    return {"W1": np.full((2, 3), 0.5), "b1": np.array([1.0, 2.0])}


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
    assert "test_worker.py:" in problem.message


@pytest.mark.parametrize(
    ("code", "shown"), [(0, "sys.exit(0)"), (3, "sys.exit(3)"), (None, "sys.exit()")]
)
def test_call_reports_sys_exit_instead_of_exiting(code, shown):
    def leaves(p, X, Y):
        sys.exit(code)

    grads, (problem,) = call(leaves, *_args(), EXPECTED, 0)
    assert grads == {} and problem.message.startswith(f"the function called {shown} (")
    assert "test_worker.py:" in problem.message


def test_call_reports_a_non_dict():
    grads, (problem,) = call(lambda p, X, Y: (1, 2), *_args(), EXPECTED, 0)
    assert grads == {} and "returned a tuple, not a dict of gradients" in problem.message


def test_call_reports_a_missing_required_key_with_the_keys_returned_and_expected():
    grads, (problem,) = call(lambda p, X, Y: {"W1": np.zeros((2, 3))}, *_args(), EXPECTED, 0)
    assert problem.tensor == "b1"
    assert problem.message == (
        "missing key 'b1' in the returned dict: it returned ['W1'], expected ['W1', 'b1'] "
        "(and optionally ['dC_da0'], dC/da^(l) of the mean cost)"
    )
    assert set(grads) == {"W1"}


@pytest.mark.parametrize(
    "returned, renames",
    [
        (["dW1", "db1"], "rename 'dW1' -> 'W1', 'db1' -> 'b1'"),
        (["grad_W1", "b1_grad"], "rename 'grad_W1' -> 'W1', 'b1_grad' -> 'b1'"),
        (["dw1", "dB1", "loss"], "rename 'dw1' -> 'W1', 'dB1' -> 'b1'"),
        (["dW1", "grad_W1", "db1"], "rename 'db1' -> 'b1'"),  # two candidates for W1: none
    ],
)
def test_call_suggests_renaming_keys_that_differ_by_a_prefix(returned, renames):
    def prefixed(p, X, Y):
        return {k: np.zeros((2, 3)) for k in returned}

    grads, (problem,) = call(prefixed, *_args(), EXPECTED, 0)
    assert grads == {} and problem.tensor is None  # several keys: the dict, not one tensor
    assert problem.message.startswith(
        f"missing keys 'W1', 'b1' in the returned dict: it returned {returned}, "
        "expected ['W1', 'b1']"
    )
    assert problem.message.endswith("; " + renames)


def test_call_lists_a_long_or_strange_key_set_briefly():
    keys = {(i, "x"): 0 for i in range(30)}
    _, (problem,) = call(lambda p, X, Y: keys, *_args(), EXPECTED, 0)
    assert "it returned [(0, 'x'), (1, 'x'), " in problem.message
    assert "(11, 'x'), ...], expected" in problem.message and "rename" not in problem.message


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


@pytest.mark.parametrize(
    "value", ["gradient", np.array(["1.5"] * 6).reshape(2, 3), None, [[1, 2, "3"]] * 2]
)
def test_call_reports_values_that_are_not_numbers(value):
    # "1.5" would convert to a float: a string is still not a gradient
    _, (problem,) = call(lambda p, X, Y: {"W1": value, "b1": np.zeros(2)}, *_args(), EXPECTED, 0)
    assert problem.tensor == "W1" and "not an array of numbers" in problem.message


def test_call_refuses_complex_values_instead_of_dropping_their_imaginary_part():
    def complex_(p, X, Y):
        return {"W1": np.zeros((2, 3)) + 1e-3j, "b1": np.zeros(2)}

    grads, (problem,) = call(complex_, *_args(), EXPECTED, 0)
    assert problem.tensor == "W1" and "complex values" in problem.message
    assert set(grads) == {"b1"}


class _Unconvertible:
    def __array__(self, *args, **kwargs):
        raise RuntimeError("no array for you")


class _Hostile(dict):
    def get(self, key, default=None):
        raise LookupError("no reading")


def test_call_reports_an_object_whose_array_conversion_raises():
    def hostile(p, X, Y):
        return {"W1": _Unconvertible(), "b1": np.zeros(2)}

    _, (problem,) = call(hostile, *_args(), EXPECTED, 0)
    assert problem.tensor == "W1"
    assert "not an array of numbers: RuntimeError: no array for you (test_worker.py:" in (
        problem.message
    )


def test_call_reports_a_dict_that_cannot_be_read():
    _, problems = call(lambda p, X, Y: _Hostile(), *_args(), EXPECTED, 0)
    assert {p.tensor for p in problems} == set(EXPECTED)
    assert "reading it from the dict raised LookupError: no reading" in problems[0].message


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


def test_describe_cuts_a_huge_message_to_its_first_line():
    text = describe(ValueError("x" * 10**6 + "\nsecond line"))
    assert text.startswith("raised ValueError: xxx") and text.endswith("...")
    assert len(text) < 600 and "second line" not in text


def test_describe_survives_an_exception_that_cannot_be_printed():
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no")

    assert describe(Unprintable()) == "raised Unprintable: (its message cannot be printed)"


# -- the worker process --------------------------------------------------------------------------


def _module(tmp_path, text, name="user.py"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _load(worker, path, name="grads", budget=30.0):
    reply, _ = worker.request({"op": "load", "path": path, "name": name}, {}, budget)
    return reply


def _call(worker, budget=30.0):
    params, X, Y = _args()
    arrays = {"params.W1": params["W1"], "params.b1": params["b1"], "X": X, "Y": Y}
    request = {"op": "call", "point": 1, "expected": EXPECTED}
    return worker.request(request, arrays, budget, 8 * 100)


@pytest.fixture
def worker():
    w = Worker(memory_limit=1.0)
    yield w
    w.close()


def test_a_worker_imports_once_and_answers_every_call(worker, tmp_path):
    path = _module(
        tmp_path,
        "import numpy as np\nCALLS = []\n\ndef grads(p, X, Y):\n    CALLS.append(1)\n"
        "    return {'W1': np.full((2, 3), len(CALLS)), 'b1': p['b1']}\n",
    )
    assert _load(worker, path)["status"] == "loaded"
    for n in (1, 2):
        reply, grads = _call(worker)
        assert reply == {"status": "answer", "problems": []}
        assert grads["W1"].tolist() == [[float(n)] * 3] * 2  # the module's state is kept


def test_a_worker_says_when_the_function_is_missing(worker, tmp_path):
    assert _load(worker, _module(tmp_path, "x = 1\n"))["status"] == "no-function"


def test_a_worker_reports_an_import_that_exits(worker, tmp_path):
    reply = _load(worker, _module(tmp_path, "import sys\nsys.exit(5)\n"))
    assert reply == {"status": "failed", "message": "called sys.exit(5) (user.py:2)"}


def test_a_hanging_call_is_stopped_at_its_budget_naming_the_line(worker, tmp_path):
    path = _module(
        tmp_path, "def grads(p, X, Y):\n    print('spinning')\n    while True:\n        pass\n"
    )
    _load(worker, path)
    with pytest.raises(WorkerLost) as lost:
        _call(worker, budget=1.0)
    assert lost.value.reason.startswith("ran past the time limit of 1 s (--timeout) at user.py:")
    assert worker.output == "spinning"
    assert worker.proc.returncode is not None  # killed and reaped
    with pytest.raises(WorkerLost):  # and it stays lost
        _call(worker)


def test_os_exit_is_announced_with_its_line(worker, tmp_path):
    _load(worker, _module(tmp_path, "import os\n\ndef grads(p, X, Y):\n    os._exit(0)\n"))
    with pytest.raises(WorkerLost, match=r"^called os\._exit\(0\) \(user\.py:4\)$"):
        _call(worker)


def test_a_crash_names_the_signal_and_the_line(worker, tmp_path):
    text = "import ctypes\n\ndef grads(p, X, Y):\n    ctypes.string_at(0)\n"
    _load(worker, _module(tmp_path, text))
    with pytest.raises(WorkerLost, match=r"^ended the worker process with SIGSEGV \(user\.py:4\)$"):
        _call(worker)


def test_an_exit_the_worker_cannot_announce_gives_its_code(worker, tmp_path):
    text = "import posix\n\ndef grads(p, X, Y):\n    posix._exit(7)\n"  # past the os._exit hook
    _load(worker, _module(tmp_path, text))
    with pytest.raises(WorkerLost, match=r"^ended the worker process with exit code 7$"):
        _call(worker)


def test_a_reply_larger_than_asked_for_is_refused(worker, tmp_path):
    text = "import numpy as np\n\ndef grads(p, X, Y):\n    return {'W1': np.zeros((2, 3))}\n"
    _load(worker, _module(tmp_path, text))
    params, X, Y = _args()
    arrays = {"params.W1": params["W1"], "X": X, "Y": Y}
    request = {"op": "call", "point": 0, "expected": {"W1": (2, 3)}}
    _, grads = worker.request(request, arrays, 30.0, 48)  # room for W1's 48 bytes
    assert grads["W1"].shape == (2, 3)
    with pytest.raises(WorkerLost, match="a reply the check cannot read"):
        worker.request(request, arrays, 30.0, 47)


def test_the_memory_limit_turns_a_memory_bomb_into_memory_error(tmp_path):
    text = "import numpy as np\n\ndef grads(p, X, Y):\n    return np.ones(2**31)\n"  # 16 GiB
    with Worker(memory_limit=0.5) as w:
        _load(w, _module(tmp_path, text))
        reply, _ = _call(w)
    (problem,) = reply["problems"]
    assert problem[1].startswith("the function raised MemoryError")
    assert "(user.py:4); the worker may take 0.5 GiB (--memory-limit)" in problem[1]


def test_the_worker_does_not_import_sympy():
    # it starts once per check: SymPy would add a second to every --grad-fn
    code = "import sys, bpverify.numeric.check.worker; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- output and stack dumps ----------------------------------------------------------------------


def test_tail_keeps_the_last_lines_and_characters():
    text = "".join(f"line {i}\n" for i in range(100)).encode()
    assert _tail(text).splitlines() == [f"line {i}" for i in range(100 - OUTPUT_LINES, 100)]
    long = _tail(b"x" * 10_000)
    assert long == "..." + "x" * OUTPUT_CHARS


def test_tail_shows_control_characters_and_bad_bytes_harmlessly():
    assert _tail(b"\x1b[31mred\x00\xff\n") == "?[31mred?\ufffd"


def test_stuck_at_takes_the_innermost_user_frame_of_the_worker_thread():
    dump = (
        "Thread 0x01 (most recent call first):\n"
        '  File "/x/threading.py", line 320 in wait\n'
        '  File "/home/me/helper.py", line 9 in background\n'
        "\n"
        "Current thread 0x02 (most recent call first):\n"
        '  File "/home/me/grads.py", line 7 in grads\n'
        f'  File "{worker_module.__file__}", line 100 in call\n'
    ).encode()
    assert _stuck_at(dump) == "grads.py:7"
    assert _stuck_at(b"") == ""
