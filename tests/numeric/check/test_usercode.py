"""The user's gradient function: ``file.py:function`` found (or refused as bad input) and run in
a worker, a callable run here; whatever either does becomes a problem, never an exit."""

import numpy as np
import pytest

from bpverify.numeric.check.options import CheckOptions
from bpverify.numeric.check.usercode import GradFnError, InProcess, Isolated, opened, parse_ref

EXPECTED = {"W1": (2, 3), "b1": (2,)}
GOOD = (
    "import numpy as np\n\ndef grads(p, X, Y):\n    return {'W1': np.ones((2, 3)), 'b1': p['b1']}\n"
)


def _args():
    return {"W1": np.ones((2, 3)), "b1": np.array([1.0, 2.0])}, np.ones((4, 3)), np.zeros((4, 2))


def _write(tmp_path, text, name="grads.py"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _isolated(tmp_path, text, name="grads.py", function="grads", timeout=30.0):
    return Isolated(f"{_write(tmp_path, text, name)}:{function}", timeout, 1.0)


def _only_problem(user, point=0):
    grads, (problem,) = user.call(*_args(), EXPECTED, point)
    assert grads == {} and problem.tensor is None and problem.point == point
    return problem.message


# -- the reference: bad input, exit code 2 -------------------------------------------------------


def test_parse_ref_splits_at_the_last_colon(tmp_path):
    path = _write(tmp_path, GOOD)
    assert parse_ref(f"{path}:grads") == (path, "grads")


def test_a_ref_without_a_colon_is_refused(tmp_path):
    with pytest.raises(GradFnError, match=r"write it as path/to/file\.py:function"):
        parse_ref(str(_write(tmp_path, GOOD)))


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(GradFnError, match=r"no file .*nowhere\.py"):
        parse_ref(f"{tmp_path / 'nowhere.py'}:grads")


def test_a_file_that_is_not_python_is_refused(tmp_path):
    with pytest.raises(GradFnError, match=r"as Python; is it a \.py file"):
        parse_ref(f"{_write(tmp_path, GOOD, 'grads.csv')}:grads")


def test_a_missing_function_is_refused_after_a_clean_import(tmp_path):
    with pytest.raises(GradFnError, match="defines no function 'grads'"):
        _isolated(tmp_path, "def other(p, X, Y): pass\n")


def test_a_name_that_is_not_a_function_is_refused(tmp_path):
    with pytest.raises(GradFnError, match="defines no function 'grads'"):
        _isolated(tmp_path, "grads = 3\n")


def test_grad_fn_errors_are_value_errors():
    # the CLI turns ValueError into one line on stderr with exit code 2
    assert issubclass(GradFnError, ValueError)


def test_opened_refuses_what_is_neither_a_function_nor_a_reference():
    with (
        pytest.raises(GradFnError, match=r"give a function or 'path/file\.py:function', got int"),
        opened(3, CheckOptions()),
    ):
        pass


# -- the file in a worker ------------------------------------------------------------------------


def test_the_function_runs_in_the_worker(tmp_path):
    user = _isolated(tmp_path, GOOD + "\nimport os\nPID = os.getpid()\n")
    try:
        grads, problems = user.call(*_args(), EXPECTED, 0)
        assert problems == [] and grads["b1"].tolist() == [1.0, 2.0]
        assert user.worker.proc.returncode is None  # one worker for every call
        user.call(*_args(), EXPECTED, 1)
        assert user.worker.proc.returncode is None
    finally:
        user.close()
    assert user.worker.proc.returncode is not None


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "x = 1\ny = 1 / 0\n",
            "importing bad.py raised ZeroDivisionError: division by zero (bad.py:2)",
        ),
        ("def grads(:\n", "importing bad.py raised SyntaxError: "),
        (
            "import sys\nprint('bye')\nsys.exit(5)\n",
            "importing bad.py called sys.exit(5) (bad.py:3)",
        ),
        ("import os\nos._exit(0)\n", "importing bad.py called os._exit(0) (bad.py:2)"),
    ],
    ids=["raises", "syntax error", "sys.exit", "os._exit"],
)
def test_an_import_that_fails_is_a_problem_at_every_point(tmp_path, text, said):
    user = _isolated(tmp_path, text, name="bad.py")
    try:
        assert _only_problem(user).startswith(said)
        assert _only_problem(user, point=2).startswith(said)
    finally:
        user.close()


def test_a_syntax_error_names_its_line(tmp_path):
    with _opened(tmp_path, "x = 1\ndef grads(:\n", name="broken.py") as user:
        assert "(broken.py:2)" in _only_problem(user)


def test_the_output_of_a_failing_import_is_shown(tmp_path):
    with _opened(tmp_path, "import sys\nprint('configuring')\nsys.exit(5)\n") as user:
        message = _only_problem(user)
    assert message.endswith("; its output ended with:\n    | configuring")


def test_an_import_that_hangs_is_stopped_at_the_timeout(tmp_path):
    text = "import time\n\ntime.sleep(1e9)\n"
    with _opened(tmp_path, text, name="slow.py", timeout=1.0) as user:
        message = _only_problem(user)
    assert message == (
        "importing slow.py ran past the time limit of 1 s (--timeout) at slow.py:3; "
        "the worker process was stopped"
    )


def test_a_hang_costs_one_timeout_not_one_per_point(tmp_path):
    text = "def grads(p, X, Y):\n    while True:\n        pass\n"
    with _opened(tmp_path, text, timeout=1.0) as user:
        first = _only_problem(user, point=0)
        assert user.worker.lost is not None
        assert _only_problem(user, point=1) == first  # at once: the worker is gone
    assert first.startswith("the function ran past the time limit of 1 s (--timeout) at grads.py:")


def test_problems_of_the_answer_come_back_from_the_worker(tmp_path):
    text = "import numpy as np\n\ndef grads(p, X, Y):\n    return {'W1': np.zeros(6) + 1j}\n"
    with _opened(tmp_path, text) as user:
        grads, problems = user.call(*_args(), EXPECTED, 3)
    assert grads == {}
    assert {(p.tensor, p.point) for p in problems} == {("W1", 3), ("b1", 3)}


def test_what_the_function_prints_never_reaches_this_process(tmp_path, capfd):
    text = GOOD.replace(
        "    return",
        "    print('noise')\n    import sys\n    print('more', file=sys.stderr)\n    return",
    )
    with _opened(tmp_path, text) as user:
        _, problems = user.call(*_args(), EXPECTED, 0)
    assert problems == []
    out, err = capfd.readouterr()
    assert "noise" not in out + err and "more" not in out + err


def _opened(tmp_path, text, name="grads.py", timeout=30.0):
    path = _write(tmp_path, text, name)
    return opened(f"{path}:grads", CheckOptions(timeout=timeout, memory_limit=1.0))


# -- a callable, here ----------------------------------------------------------------------------


def test_a_callable_runs_in_this_process():
    seen = []

    def grads(p, X, Y):
        seen.append(1)
        return {"W1": np.zeros((2, 3)), "b1": np.zeros(2)}

    with opened(grads, CheckOptions()) as user:
        assert isinstance(user, InProcess)
        assert user.call(*_args(), EXPECTED, 0)[1] == []
    assert seen == [1]


@pytest.mark.parametrize("code", [0, 3])
def test_a_callable_that_calls_sys_exit_is_a_problem_not_an_exit(code):
    def leaves(p, X, Y):
        raise SystemExit(code)

    with opened(leaves, CheckOptions()) as user:
        message = _only_problem(user)
    assert message.startswith(f"the function called sys.exit({code}) (test_usercode.py:")


def test_no_grad_fn_opens_nothing():
    with opened(None, CheckOptions()) as user:
        assert user is None
