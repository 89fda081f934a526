"""The exit-code contract of every command: 2 for bad input and usage, 4 for anything
unexpected (one line; the traceback only with --debug), 1 for a failed run."""

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bpverify.cli import exitcodes
from bpverify.cli.main import DEBUG_ENV, main
from bpverify.derive import InputError

NET = ["generate", "--widths", "2,3,1"]


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env)


def one_line(r) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.output
    return lines[0]


@pytest.fixture
def source_raises(monkeypatch):
    """Make the code generator (called by ``generate``) raise the given exception."""

    def install(error: BaseException):
        def raises(spec):
            raise error

        monkeypatch.setattr("bpverify.numeric.codegen.source.generate_source", raises)

    return install


# -- 2: bad input and usage ------------------------------------------------------------------------


def test_an_unknown_option_is_a_usage_error():
    r = run("derive", "--layers", "1", "--bogus")
    assert r.exit_code == exitcodes.BAD_INPUT
    line = one_line(r)
    assert line.startswith("bpverify derive: No such option '--bogus'")
    assert line.endswith("(see 'bpverify derive --help')")


def test_an_unknown_command_is_a_usage_error():
    r = run("proof")
    assert r.exit_code == 2
    assert "No such command 'proof'" in one_line(r)


def test_a_library_input_error_is_one_line_and_exit_code_2():
    r = run("generate", "--layers", "0")
    assert r.exit_code == 2
    assert one_line(r) == "bpverify generate: layers must be a whole number >= 1, got 0"


def test_any_input_error_is_exit_code_2_with_its_message_on_one_line(source_raises):
    class Mine(InputError):
        pass

    source_raises(Mine("the thing is wrong:\nfix it"))
    r = run(*NET)
    assert r.exit_code == 2
    assert one_line(r) == "bpverify generate: the thing is wrong: fix it"


# -- 4: anything unexpected ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error, shown",
    [
        (RuntimeError("boom"), "RuntimeError: boom"),
        (ValueError("not bad input"), "ValueError: not bad input"),  # only InputError is input
        (KeyError("W1"), "KeyError: 'W1'"),
        (ZeroDivisionError(), "ZeroDivisionError"),
    ],
)
def test_an_unexpected_exception_is_an_internal_error_in_one_line(source_raises, error, shown):
    source_raises(error)
    r = run(*NET)
    assert r.exit_code == exitcodes.INTERNAL_ERROR == 4
    assert one_line(r) == (
        f"bpverify generate: internal error: {shown} (run with --debug for the traceback)"
    )
    assert r.stdout == ""


def test_debug_prints_the_traceback(source_raises):
    source_raises(RuntimeError("boom"))
    r = run("--debug", *NET)
    assert r.exit_code == 4
    assert "Traceback (most recent call last)" in r.stderr
    assert "raise error" in r.stderr  # the frame that raised
    assert r.stderr.strip().splitlines()[-1].startswith("bpverify generate: internal error:")


def test_the_debug_environment_variable_prints_the_traceback(source_raises):
    source_raises(RuntimeError("boom"))
    r = run(*NET, env={DEBUG_ENV: "1"})
    assert r.exit_code == 4 and "Traceback" in r.stderr


def test_debug_does_not_change_bad_input():
    r = run("--debug", "generate", "--layers", "0")
    assert r.exit_code == 2
    one_line(r)


# -- 1: a failed run -------------------------------------------------------------------------------


def test_training_that_diverges_is_exit_code_1_in_one_line(monkeypatch):
    from bpverify.numeric.train import loop

    def diverges(*args, **kwargs):
        raise loop.Diverged("training diverged at epoch 3 (loss inf): lower --lr")

    monkeypatch.setattr(loop, "train", diverges)
    r = run("train", "--data", "xor", "--widths", "2,3,1", "--epochs", "5")
    assert r.exit_code == exitcodes.FAIL == 1, r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        "bpverify train: training diverged at epoch 3 (loss inf): lower --lr; "
        "stopped, nothing was saved"
    )
    assert "Traceback" not in r.output


# -- the codes in the help -------------------------------------------------------------------------


def test_the_group_help_names_the_exit_codes_and_debug():
    r = run("--help")
    assert r.exit_code == 0
    assert "4 internal error" in r.stdout and "--debug" in r.stdout


# -- the installed command -------------------------------------------------------------------------


def test_help_does_not_import_sympy():
    code = "import sys; from bpverify.cli.main import main; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_console_script_runs():
    exe = Path(sys.executable).with_name("bpverify")
    p = subprocess.run(
        [str(exe), "derive", "--layers", "1", "--form", "matrix"], capture_output=True, text=True
    )
    assert p.returncode == 0 and r"\delta^{(1)}" in p.stdout
    bad = subprocess.run(
        [str(exe), "derive", "--layers", "1", "--loss", "x"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1


def test_bare_bpverify_prints_its_help_on_stdout_and_exits_0():
    r = run()  # a newcomer asking what there is: not a usage error
    assert r.exit_code == 0
    assert r.stdout.startswith("Usage: bpverify") and "Commands:" in r.stdout
    assert r.stderr == ""
