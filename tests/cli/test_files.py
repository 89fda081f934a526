"""cli.files: output files are written whole or not at all, with the usual mode; an output
that cannot be written, a file or standard output, is one line and exit code 2."""

import contextlib
import errno
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest

from bpverify.cli import exitcodes, files
from bpverify.cli.main import Group


def test_a_path_in_an_existing_directory_is_writable(tmp_path):
    assert files.check_writable(tmp_path / "out.tex") == tmp_path / "out.tex"


def test_a_missing_directory_is_named_with_the_fix(tmp_path):
    with pytest.raises(click.BadParameter, match="does not exist: create it or choose another"):
        files.check_writable(tmp_path / "nowhere" / "out.tex")


def test_a_directory_is_not_a_file_name(tmp_path):
    with pytest.raises(click.BadParameter, match="is a directory: give a file name"):
        files.check_writable(tmp_path)


def test_write_text_atomic_replaces_the_file_in_utf8(tmp_path):
    out = tmp_path / "eq.txt"
    out.write_text("old")
    files.write_text_atomic(out, "∂C/∂a\n")
    assert out.read_bytes() == "∂C/∂a\n".encode()
    assert list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_or_failed_write_leaves_the_old_file(tmp_path, error):
    out = tmp_path / "keep.tex"
    out.write_text("precious")

    def interrupted(tmp):
        tmp.write_text("half")
        raise error

    with pytest.raises(error):
        files.write_atomic(out, interrupted)
    assert out.read_text() == "precious"
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_usual_mode_under_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        files.write_text_atomic(tmp_path / "new.tex", "x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "new.tex") == mode


def test_an_existing_file_keeps_its_mode(tmp_path):
    out = tmp_path / "run.sh"
    out.write_text("old")
    out.chmod(0o755)
    files.write_text_atomic(out, "new")
    assert out.read_text() == "new" and _mode(out) == 0o755


def _refuse_creation(monkeypatch, error: int):
    real_open = os.open

    def refusing(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            raise OSError(error, os.strerror(error), path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", refusing)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (errno.EACCES, "no permission to write in"),
        (errno.EROFS, "the file system is read-only"),
        (errno.ENOSPC, "the disk is full"),
    ],
)
def test_an_unwritable_directory_is_found_by_check_writable(tmp_path, monkeypatch, error, reason):
    # root writes into a mode-555 directory, and the tests may run as root: os.open refuses
    _refuse_creation(monkeypatch, error)
    with pytest.raises(files.OutputError) as e:
        files.check_writable(tmp_path / "out.json", "--json")
    message = e.value.format_message()
    assert message.startswith(f"cannot write --json {tmp_path / 'out.json'}: {reason}")
    assert "\n" not in message and list(tmp_path.iterdir()) == []


def test_a_read_only_target_is_refused(tmp_path, monkeypatch):
    out = tmp_path / "keep.tex"
    out.write_text("precious")
    monkeypatch.setattr(files.os, "access", lambda path, mode: False)  # root may write anything
    with pytest.raises(files.OutputError, match="is read-only: make it writable"):
        files.check_writable(out, "-o")


def test_a_full_disk_during_the_write_is_one_line_and_leaves_the_old_file(tmp_path):
    out = tmp_path / "keep.tex"
    out.write_text("precious")

    def full(tmp):
        tmp.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(files.OutputError) as e:
        files.write_atomic(out, full)
    assert e.value.format_message() == (
        f"cannot write {out}: the disk is full: free some space or choose another disk; "
        "nothing was written"
    )
    assert out.read_text() == "precious" and list(tmp_path.iterdir()) == [out]


def test_a_device_is_written_into_never_replaced():
    # a rename over /dev/null would put a regular file in the device's place (as root)
    files.write_text_atomic("/dev/null", "gone")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_device_is_an_output_error_and_stays_a_device():
    with pytest.raises(files.OutputError, match="cannot write /dev/full: the disk is full"):
        files.write_text_atomic("/dev/full", "x")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_two_outputs_on_one_path_are_refused(tmp_path):
    same = tmp_path / "report"
    with pytest.raises(click.UsageError, match=r"--json and --junit both write .*own file"):
        files.check_outputs({"--json": same, "--junit": tmp_path / "." / "report"})
    files.check_outputs({"--json": tmp_path / "a.json", "--junit": tmp_path / "a.xml", "-o": None})


# --- standard output --------------------------------------------------------------------------


class _Failing(io.StringIO):
    def __init__(self, error: int | None) -> None:
        super().__init__()
        self.error = error

    def write(self, text):
        if text and self.error is not None:
            raise OSError(self.error, os.strerror(self.error))
        return super().write(text)


@click.command()
def _say():
    click.echo("hello")


def _run_with_stdout(stream) -> tuple[int, str]:
    @click.group(cls=Group)
    def group():
        files.guard_stdout(click.get_current_context())

    group.add_command(_say, "say")
    real, err = sys.stdout, io.StringIO()
    sys.stdout = stream
    try:
        with contextlib.redirect_stderr(err):
            code = group.main(["say"], standalone_mode=False)
    finally:
        sys.stdout = real
    return code, err.getvalue()


def test_a_full_stdout_is_one_line_naming_it_and_exit_code_2():
    code, err = _run_with_stdout(_Failing(errno.ENOSPC))
    assert code == exitcodes.BAD_INPUT
    assert err == (
        "bpverify say: cannot write to standard output (No space left on device): redirect it "
        "where it can be written, e.g. > out.txt\n"
    )


def test_a_closed_stdout_is_one_line_and_exit_code_2():
    code, err = _run_with_stdout(None)
    assert code == exitcodes.BAD_INPUT and "standard output (it is closed)" in err


def test_a_reader_that_has_gone_ends_quietly():
    assert _run_with_stdout(_Failing(errno.EPIPE)) == (exitcodes.BROKEN_PIPE, "")


def test_stdout_is_as_it_was_after_the_command():
    stream = _Failing(None)
    assert _run_with_stdout(stream) == (exitcodes.PASS, "")
    assert stream.getvalue() == "hello\n"


@pytest.mark.parametrize(
    ("stdout", "code", "line"),
    [
        ("full", 2, "bpverify generate: cannot write to standard output (No space left on device)"),
        ("closed", 2, "bpverify generate: cannot write to standard output (it is closed)"),
        ("pipe-closed", exitcodes.BROKEN_PIPE, None),
    ],
)
def test_stdout_in_a_real_process(tmp_path, stdout, code, line):
    """The whole way: no 'Exception ignored' when Python flushes at exit, the exit code kept."""
    if stdout == "full" and not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    argv = [str(Path(sys.executable).with_name("bpverify")), "generate", "--widths", "2,8,8,1"]
    if stdout == "full":
        with open("/dev/full", "w") as full:
            p = subprocess.run(argv, stdout=full, stderr=subprocess.PIPE, text=True)
        err = p.stderr
    elif stdout == "closed":
        p = subprocess.run(argv, stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.close(1))
        err = p.stderr
    else:  # the reader closes its end before bpverify writes
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.close()
        err = proc.stderr.read().decode()
        proc.stderr.close()
        p = subprocess.CompletedProcess(argv, proc.wait())
    assert p.returncode == code, err
    if line is None:
        assert err == ""
    else:
        assert len(err.splitlines()) == 1 and err.startswith(line), err
