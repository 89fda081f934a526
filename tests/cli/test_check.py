"""bpverify check: exit codes, the user's gradient function, report files and configuration."""

import json
import subprocess
import sys
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from bpverify.cli.main import main

# A hand-written backprop for widths 2,3,1, sigmoid, squared loss; and broken variants.
USER_CODE = """\
import numpy as np


def _s(z):
    return 1 / (1 + np.exp(-z))


def grads(params, X, Y):
    n = X.shape[0]
    A1 = _s(X @ params["W1"].T + params["b1"])
    A2 = _s(A1 @ params["W2"].T + params["b2"])
    d2 = 2 * (A2 - Y) / n * A2 * (1 - A2)
    d1 = d2 @ params["W2"] * A1 * (1 - A1)
    return {"W1": d1.T @ X, "b1": d1.sum(0), "W2": d2.T @ A1, "b2": d2.sum(0)}


def wrong(params, X, Y):
    g = grads(params, X, Y)
    g["W2"] = -g["W2"]
    return g


def raises(params, X, Y):
    raise RuntimeError("no gradients today")
"""

NET = ["--widths", "2,3,1", "--points", "1"]


def run(*args):
    return CliRunner().invoke(main, ["check", *args])


def _user_file(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(USER_CODE)
    return path


def _bad_input(r, *fragments):
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.output
    for fragment in fragments:
        assert fragment in lines[0]


# -- exit codes ------------------------------------------------------------------------------------


def test_generated_code_passes():
    r = run("--widths", "2,3,1", "--activation", "tanh", "--points", "1")
    assert r.exit_code == 0, r.output
    assert "L=2, widths 2,3,1, tanh, squared loss" in r.stdout
    assert r.stdout.strip().splitlines()[-1] == "PASS: 1 of 1 network(s) passed"


def test_a_correct_grad_fn_passes(tmp_path):
    r = run(*NET, "--grad-fn", f"{_user_file(tmp_path)}:grads")
    assert r.exit_code == 0, r.output
    assert "checking user (float64)" in r.stdout


def test_a_wrong_grad_fn_fails_with_exit_1(tmp_path):
    r = run(*NET, "--grad-fn", f"{_user_file(tmp_path)}:wrong")
    assert r.exit_code == 1, r.output
    assert "W2 symbolic-user" in r.stdout
    assert r.stdout.strip().splitlines()[-1] == "FAIL: 0 of 1 network(s) passed"
    assert r.stderr == ""


def test_a_grad_fn_that_raises_is_a_failure_not_a_crash(tmp_path):
    r = run(*NET, "--grad-fn", f"{_user_file(tmp_path)}:raises")
    assert r.exit_code == 1, r.output
    assert "problem: the function raised RuntimeError: no gradients today (mine.py:" in r.stdout
    assert "Traceback" not in r.output


def test_the_sample_and_projection_options_reach_the_check():
    r = run(*NET, "--activation", "tanh", "--sample", "2", "--projection")
    assert r.exit_code == 0, r.output
    assert "random projections, 2 sampled entries" in r.stdout


# -- bad input: exit 2, one line on stderr ---------------------------------------------------------


def test_a_missing_grad_fn_file(tmp_path):
    _bad_input(run(*NET, "--grad-fn", f"{tmp_path / 'nope.py'}:grads"), "no file", "nope.py")


def test_a_missing_grad_fn_function(tmp_path):
    r = run(*NET, "--grad-fn", f"{_user_file(tmp_path)}:gradients")
    _bad_input(r, "defines no function 'gradients'")


def test_a_grad_fn_without_a_function_name(tmp_path):
    _bad_input(run(*NET, "--grad-fn", str(_user_file(tmp_path))), "file.py:function")


def test_an_unknown_activation():
    _bad_input(run(*NET, "--activation", "swish"), "unknown activation 'swish'")


def test_cross_entropy_with_a_relu_output():
    r = run(*NET, "--activation", "relu", "--loss", "cross-entropy")
    _bad_input(r, "cross-entropy needs outputs in (0, 1)", "relu,sigmoid")


def test_complex_step_on_relu():
    _bad_input(run(*NET, "--activation", "relu", "--method", "complex"), "analytic")


def test_symbolic_widths():
    _bad_input(run("--layers", "2"), "check needs numbers")


def test_too_few_points():
    _bad_input(run("--widths", "2,3,1", "--points", "0"), "points must be a whole number >= 1")


def test_unrolled_on_a_large_network():
    _bad_input(run("--widths", "4,8,3", "--unrolled"), "at most 60", "drop --unrolled")


def test_a_configured_value_that_cannot_be_used(tmp_path):
    path = tmp_path / "bpverify.toml"
    path.write_text('[[check]]\nname = "mine"\nwidths = [2, 1]\npoints = 0\n')
    _bad_input(run("--config", str(path)), "bpverify.toml: mine: points must be a whole number")


def test_no_network_and_no_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _bad_input(run(), "no network given", "[tool.bpverify]")


def test_a_malformed_config_file(tmp_path):
    path = tmp_path / "bpverify.toml"
    path.write_text("[[check]\nwidths = [2, 1]\n")
    _bad_input(run("--config", str(path)), "not valid TOML", "bpverify.toml")


def test_a_malformed_pyproject_found_here(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.bpverify]\n[[tool.bpverify.check]]\ncolour = 1\n"
    )
    monkeypatch.chdir(tmp_path)
    _bad_input(run(), "unknown key 'colour'")


def test_a_pyproject_whose_tool_bpverify_is_not_a_table(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[tool]\nbpverify = 3\n")
    monkeypatch.chdir(tmp_path)
    _bad_input(run(), "pyproject.toml", "[tool.bpverify]")


def test_config_and_widths_together(tmp_path):
    path = tmp_path / "bpverify.toml"
    path.write_text("[[check]]\nwidths = [2, 1]\n")
    _bad_input(run(*NET, "--config", str(path)), "either --config or a network")


# -- report files ----------------------------------------------------------------------------------


def test_json_and_junit_files_are_written(tmp_path):
    out, xml = tmp_path / "report.json", tmp_path / "report.xml"
    r = run(*NET, "--activation", "tanh", "--json", str(out), "--junit", str(xml))
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["passed"] is True and len(doc["reports"]) == 1
    assert len(doc["reports"][0]["comparisons"]) == 6 * 3
    suite = ET.parse(xml).getroot().find("testsuite")
    assert suite.get("tests") == "18" and suite.get("failures") == "0"


def test_report_files_are_written_when_the_check_fails(tmp_path):
    out, xml = tmp_path / "report.json", tmp_path / "report.xml"
    r = run(
        *NET, "--grad-fn", f"{_user_file(tmp_path)}:wrong", "--json", str(out), "--junit", str(xml)
    )
    assert r.exit_code == 1
    assert json.loads(out.read_text())["passed"] is False
    failed = [
        c.get("name")
        for c in ET.parse(xml).getroot().iter("testcase")
        if c.find("failure") is not None
    ]
    assert set(failed) == {"W2 symbolic-user", "W2 user-fd"}


@pytest.mark.parametrize(
    "bad",
    [["--activation", "swish"], ["--grad-fn", "nowhere.py:grads"]],
    ids=["unknown activation", "missing grad-fn"],
)
def test_existing_report_files_survive_bad_input(tmp_path, monkeypatch, bad):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.json").write_text("precious json")
    (tmp_path / "report.xml").write_text("precious xml")
    r = run(*NET, *bad, "--json", "report.json", "--junit", "report.xml")
    assert r.exit_code == 2
    assert (tmp_path / "report.json").read_text() == "precious json"
    assert (tmp_path / "report.xml").read_text() == "precious xml"


def test_a_report_file_in_a_missing_directory(tmp_path):
    _bad_input(run(*NET, "--json", str(tmp_path / "no" / "r.json")), "does not exist")


# -- configuration ---------------------------------------------------------------------------------

PYPROJECT = """\
[project]
name = "mine"

[tool.bpverify]
points = 1

[[tool.bpverify.check]]
name = "generated tanh"
widths = [2, 3, 1]
activation = "tanh"

[[tool.bpverify.check]]
name = "my sigmoid"
widths = [2, 3, 1]
grad-fn = "code/mine.py:{function}"
"""


def _project(tmp_path, function="grads"):
    (tmp_path / "code").mkdir()
    _user_file(tmp_path / "code")
    (tmp_path / "pyproject.toml").write_text(PYPROJECT.format(function=function))


def test_no_arguments_checks_every_network_of_pyproject(tmp_path, monkeypatch):
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    r = run()
    assert r.exit_code == 0, r.output
    assert "L=2, widths 2,3,1, tanh, squared loss; checking generated" in r.stdout
    assert "L=2, widths 2,3,1, sigmoid, squared loss; checking user" in r.stdout
    assert r.stdout.strip().splitlines()[-1] == "PASS: 2 of 2 network(s) passed"


def test_one_failing_configured_network_fails_the_run(tmp_path, monkeypatch):
    _project(tmp_path, function="wrong")
    monkeypatch.chdir(tmp_path)
    r = run()
    assert r.exit_code == 1, r.output
    assert r.stdout.strip().splitlines()[-1] == "FAIL: 1 of 2 network(s) passed"


def test_config_from_another_directory_resolves_grad_fn_there(tmp_path, monkeypatch):
    _project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    r = run("--config", str(tmp_path / "pyproject.toml"))
    assert r.exit_code == 0, r.output


def test_configured_names_label_the_reports(tmp_path, monkeypatch):
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    r = run("--json", "report.json")
    assert r.exit_code == 0, r.output
    assert "generated tanh: L=2" in r.stdout and "my sigmoid: L=2" in r.stdout
    names = [rep["name"] for rep in json.loads((tmp_path / "report.json").read_text())["reports"]]
    assert names == ["generated tanh", "my sigmoid"]


# -- hostile user code: in a worker process, a failed check (exit 1) and a problem row -------------

HOSTILE = (
    USER_CODE
    + """

import os
import sys
import time


def exit0(params, X, Y):
    print("leaving now")
    sys.exit(0)


def exit3(params, X, Y):
    sys.exit(3)


def raise_system_exit(params, X, Y):
    raise SystemExit


def hard_exit(params, X, Y):
    os._exit(0)


def kill9(params, X, Y):
    os.kill(os.getpid(), 9)


def loop(params, X, Y):
    while True:
        pass


def sleep(params, X, Y):
    time.sleep(1e9)


def bomb(params, X, Y):
    import numpy as np

    return np.ones(10 * 2**30 // 8)  # 10 GB, every page written


def chatty(params, X, Y):
    print("hello from the user's code")
    print("and its stderr", file=sys.stderr)
    return grads(params, X, Y)
"""
)


def _hostile(tmp_path, function, *args):
    path = tmp_path / "hostile.py"
    path.write_text(HOSTILE)
    return run(*NET, "--timeout", "2", "--grad-fn", f"{path}:{function}", *args)


def _failed_with(r, problem):
    assert r.exit_code == 1, r.output
    lines = r.stdout.strip().splitlines()
    assert lines[-1] == "FAIL: 0 of 1 network(s) passed"
    rows = [line for line in lines if line.startswith("problem: ")]
    assert len(rows) == 1 and rows[0].startswith(f"problem: {problem}"), rows
    assert "Traceback" not in r.output
    return rows[0]


@pytest.mark.parametrize(
    ("function", "problem"),
    [
        ("exit0", "the function called sys.exit(0) (hostile.py:"),
        ("exit3", "the function called sys.exit(3) (hostile.py:"),
        ("raise_system_exit", "the function called sys.exit() (hostile.py:"),
        ("hard_exit", "the function called os._exit(0) (hostile.py:"),
        ("kill9", "the function ended the worker process with SIGKILL"),
        ("loop", "the function ran past the time limit of 2 s (--timeout) at hostile.py:"),
        ("sleep", "the function ran past the time limit of 2 s (--timeout) at hostile.py:"),
        ("bomb", "the function raised MemoryError: "),
    ],
)
def test_user_code_that_exits_crashes_hangs_or_bombs_fails_the_check(tmp_path, function, problem):
    _failed_with(_hostile(tmp_path, function), problem)


def _line(text):
    """The line number of ``text`` in hostile.py."""
    return HOSTILE.splitlines().index(text) + 1


def test_a_memory_bomb_is_named_at_its_line_with_the_limit(tmp_path):
    row = _failed_with(_hostile(tmp_path, "bomb"), "the function raised MemoryError")
    line = _line("    return np.ones(10 * 2**30 // 8)  # 10 GB, every page written")
    assert row.endswith(f"(hostile.py:{line}); the worker may take 4 GiB (--memory-limit)")


def test_the_output_of_failing_user_code_is_shown_with_its_problem(tmp_path):
    r = _hostile(tmp_path, "exit0")
    line = _line("    sys.exit(0)")
    shown = f"problem: the function called sys.exit(0) (hostile.py:{line}); its output ended with:"
    assert f"{shown}\n    | leaving now\n" in r.stdout


def test_the_output_of_passing_user_code_stays_out_of_the_report(tmp_path):
    r = _hostile(tmp_path, "chatty", "--json", str(tmp_path / "report.json"))
    assert r.exit_code == 0, r.output
    assert "hello" not in r.output and "stderr" not in r.output
    assert json.loads((tmp_path / "report.json").read_text())["passed"] is True


@pytest.mark.parametrize(
    ("module", "problem"),
    [
        ("import sys\nsys.exit(5)\n", "importing bad.py called sys.exit(5) (bad.py:2)"),
        ("import sys\nsys.exit(0)\n", "importing bad.py called sys.exit(0) (bad.py:2)"),
        ("while True:\n    pass\n", "importing bad.py ran past the time limit of 2 s (--timeout)"),
        ("x = 1 / 0\n", "importing bad.py raised ZeroDivisionError: division by zero (bad.py:1)"),
        ("def grads(:\n", "importing bad.py raised SyntaxError"),
    ],
    ids=["sys.exit(5)", "sys.exit(0)", "loop", "raises", "syntax error"],
)
def test_a_module_that_fails_at_import_fails_the_check(tmp_path, module, problem):
    path = tmp_path / "bad.py"
    path.write_text(module)
    _failed_with(run(*NET, "--timeout", "2", "--grad-fn", f"{path}:grads"), problem)


def test_a_configured_timeout_applies_to_a_configured_grad_fn(tmp_path, monkeypatch):
    (tmp_path / "hostile.py").write_text(HOSTILE)
    (tmp_path / "bpverify.toml").write_text(
        '[[check]]\nwidths = [2, 3, 1]\npoints = 1\ntimeout = 1.5\ngrad-fn = "hostile.py:sleep"\n'
    )
    monkeypatch.chdir(tmp_path)
    r = run()
    assert r.exit_code == 1, r.output
    assert "ran past the time limit of 1.5 s (--timeout)" in r.stdout


@pytest.mark.parametrize(
    "bad",
    [["--timeout", "0"], ["--timeout", "nan"], ["--timeout", "inf"], ["--memory-limit", "-1"]],
)
def test_budgets_that_cannot_be_used_are_bad_input(bad):
    _bad_input(run(*NET, *bad), bad[0])


def test_a_memory_bomb_stays_within_the_memory_limit(tmp_path):
    """The child's peak RSS, from getrusage in a process of its own: a bomb that grows 100 MB at
    a time stops at the limit (0.5 GiB beyond the worker's start), far below the machine."""
    bomb = "import numpy as np\n\ndef grads(p, X, Y):\n    blocks = []\n    while True:\n"
    bomb += "        blocks.append(np.ones(100 * 2**20 // 8))\n"
    (tmp_path / "bomb.py").write_text(bomb)
    script = (
        "import resource, subprocess, sys\n"
        "cli = 'from bpverify.cli.main import main; main()'\n"
        "r = subprocess.run([sys.executable, '-c', cli, 'check', '--widths', '2,3,1', '--points', "
        "'1', '--memory-limit', '0.5', '--grad-fn', 'bomb.py:grads'], capture_output=True, "
        "text=True)\n"
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "print(r.stdout)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    code, peak_kb = out.stdout.split("\n", 1)[0].split()
    assert code == "1", out.stdout
    assert "the function raised MemoryError" in out.stdout
    assert 0.5 * 2**20 < int(peak_kb) < 1.0 * 2**20  # it did grow, and stopped below 1 GiB


# -- options that would change the verdict, outputs, memory: refused before the run ---------------


def _no_run(monkeypatch):
    """Make any check that starts fail the test: the refusal must come before the work."""
    import bpverify.numeric.check.run as engine

    def started(*args, **kwargs):
        raise AssertionError("the check ran")

    monkeypatch.setattr(engine, "check_gradients", started)


@pytest.mark.parametrize(
    "bad",
    [
        ["--rtol", "nan"],
        ["--rtol", "-1"],
        ["--rtol", "inf"],
        ["--atol", "nan"],
        ["--atol", "-1"],
        ["--atol", "inf"],  # would pass every comparison
    ],
    ids=" ".join,
)
def test_a_tolerance_that_is_no_tolerance_is_bad_input(monkeypatch, bad):
    _no_run(monkeypatch)
    _bad_input(run(*NET, *bad), f"{bad[0]}) must be a finite number >= 0", f"give e.g. {bad[0]}")


@pytest.mark.parametrize("value", ["nan", "-1.0", "inf"])
def test_a_configured_tolerance_that_is_no_tolerance_is_bad_input(tmp_path, monkeypatch, value):
    _no_run(monkeypatch)
    path = tmp_path / "bpverify.toml"
    path.write_text(f'[[check]]\nname = "mine"\nwidths = [2, 1]\nrtol = {value}\n')
    _bad_input(run("--config", str(path)), "bpverify.toml: mine: rtol (--rtol) must be a finite")


def test_a_negative_seed_names_the_option(monkeypatch):
    _no_run(monkeypatch)
    _bad_input(run(*NET, "--seed", "-1"), "'--seed'", "x>=0")


PRECEDENCE = """\
points = 2
grad-fn = "nowhere.py:grads"

[[check]]
name = "mine"
widths = [2, 3, 1]
dtype = "float32"
"""


def test_flags_win_over_the_config_file_which_wins_over_the_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _user_file(tmp_path)
    (tmp_path / "bpverify.toml").write_text(PRECEDENCE)
    r = run("--points", "1", "--grad-fn", "mine.py:grads", "--method", "richardson")
    assert r.exit_code == 0, r.output
    # --points and --grad-fn given: theirs; dtype from the file; method given; batch default
    assert "checking user (float32)" in r.stdout
    assert "(richardson); 1 random point(s), batch 4" in r.stdout
    r = run("--json", "r.json")  # nothing given: the file's grad-fn, which does not exist
    _bad_input(r, "nowhere.py")


def test_the_config_file_wins_over_a_default_even_when_it_repeats_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bpverify.toml").write_text("[[check]]\nwidths = [2, 1]\npoints = 1\n")
    r = run("--points", "3")  # the default's value, given explicitly: it wins
    assert r.exit_code == 0 and "3 random point(s)" in r.stdout, r.output
    assert "1 random point(s)" in run().stdout


def test_a_network_option_beside_a_config_file_is_refused_not_ignored(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _no_run(monkeypatch)
    (tmp_path / "bpverify.toml").write_text("[[check]]\nwidths = [2, 1]\n")
    _bad_input(run("--activation", "tanh"), "--activation applies to the network of --widths")
    _bad_input(run("--loss", "cross-entropy", "--leaky-slope", "0.1"), "set loss and leaky-slope")


def test_a_deeply_nested_config_file_is_bad_input(tmp_path):
    path = tmp_path / "bpverify.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    _bad_input(run("--config", str(path)), "nested too deeply", "bpverify.toml")


def test_json_and_junit_on_one_path_are_refused(tmp_path, monkeypatch):
    _no_run(monkeypatch)
    same = str(tmp_path / "report")
    _bad_input(run(*NET, "--json", same, "--junit", same), "--json and --junit both write")


def test_an_unwritable_report_is_found_before_the_check_runs(tmp_path, monkeypatch):
    # root writes into read-only directories and the tests may run as root: creation refused
    import bpverify.cli.files as files

    _no_run(monkeypatch)
    real_open = files.os.open

    def refusing(path, flags, *args, **kwargs):
        if flags & files.os.O_CREAT:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", refusing)
    _bad_input(run(*NET, "--junit", str(tmp_path / "r.xml")), "cannot write --junit", "permission")


@pytest.mark.parametrize(
    ("net", "fix"),
    [
        (["--widths", "2,3,1", "--batch", "1000000000"], "give a smaller --batch"),
        (["--widths", "5000,5000"], "check a smaller network"),
    ],
    ids=["batch", "widths"],
)
def test_a_check_too_large_for_the_memory_limit_is_refused_before_it_allocates(
    monkeypatch, net, fix
):
    _no_run(monkeypatch)
    _bad_input(run(*net), "MiB, more than the 4096 MiB accepted", fix, "BPVERIFY_MAX_MEMORY=MIB")


def test_every_configured_network_is_measured_before_any_runs(tmp_path, monkeypatch):
    _no_run(monkeypatch)
    path = tmp_path / "bpverify.toml"
    path.write_text(
        "[[check]]\nwidths = [2, 1]\n\n[[check]]\nwidths = [2, 1]\nbatch = 1000000000\n"
    )
    _bad_input(run("--config", str(path)), "batch 1000000000 needs about")
