"""Where a command's output goes: files written whole or not at all, and standard output.

A file is written to a temporary file beside the target, then renamed over it. New files get
the usual mode (0666 less the umask), an existing file keeps its own. ``check_outputs`` finds,
before any work, an output that cannot be written (a missing or read-only directory) and two
outputs on one path; a write that fails later (a full disk) is one line naming the path, and
leaves any earlier file as it was. ``guard_stdout`` does the same for standard output.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import click

from . import exitcodes


class OutputError(click.ClickException):
    """An output that cannot be written, for a reason outside bpverify (permissions, a full
    disk): one line naming the path and the fix, exit code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # the command that failed, for the line's prefix ("bpverify derive: ...")
        self.ctx = click.get_current_context(silent=True)


def check_writable(path: str | os.PathLike, option: str | None = None) -> Path:
    """The path to write, or a click error naming the problem and the fix (``option``, e.g.
    ``"--json"``, names where the path was given).

    The directory is tried by creating a file in it and removing it again, so that permissions,
    read-only file systems and the like are found before a long run rather than after it.
    """
    path = Path(path)
    where = f"{option} {path}" if option else repr(str(path))
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise click.BadParameter(
            f"{where}: directory {str(parent)!r} does not exist: create it or choose another path"
        )
    if path.is_dir():
        raise click.BadParameter(f"{where} is a directory: give a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(
            f"{where} is read-only: make it writable (chmod u+w) or choose another path"
        )
    if _special(path):
        return path
    try:
        fd, tmp = _create_beside(path)
    except OSError as e:
        raise OutputError(_cannot_write(where, parent, e)) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.remove(tmp)
    return path


def check_outputs(outputs: dict[str, str | os.PathLike | None]) -> None:
    """``check_writable`` for every output given (option -> path), and refuse two options
    naming one file: the second would silently overwrite the first."""
    seen: dict[str, str] = {}
    for option, path in outputs.items():
        if not path:
            continue
        check_writable(path, option)
        key = os.path.realpath(path)
        if key in seen:
            raise click.UsageError(
                f"{seen[key]} and {option} both write {str(path)!r}: give each its own file"
            )
        seen[key] = option


def write_atomic(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` to fill a temporary file beside ``path``, then rename it over ``path``.

    An existing file at ``path`` stays untouched until the new one is complete, and keeps its
    mode; if ``write`` fails or is interrupted, the temporary file is removed and ``path`` is as
    it was. An ``OSError`` (a full disk, a directory made read-only meanwhile) is an
    ``OutputError`` naming the path.
    """
    path = check_writable(path)
    parent = path.parent if str(path.parent) else Path(".")
    if _special(path):  # /dev/null, /dev/stdout, a pipe: written into, never replaced
        try:
            write(path)
        except OSError as e:
            raise OutputError(_cannot_write(str(path), parent, e)) from None
        return path
    try:
        fd, name = _create_beside(path)
    except OSError as e:
        raise OutputError(_cannot_write(str(path), parent, e)) from None
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise OutputError(_cannot_write(str(path), parent, e)) from None
        raise
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _special(path: Path) -> bool:
    """Whether ``path`` is an existing file that is not a regular one (a device, a pipe)."""
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _create_beside(path: Path) -> tuple[int, str]:
    """A new file next to ``path`` (same suffix, for writers that read it), created as any new
    file is: mode 0666 less the umask, where ``tempfile.mkstemp`` would give 0600."""
    parent = path.parent if str(path.parent) else Path(".")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        name = str(parent / f".{path.name}.{secrets.token_hex(4)}{path.suffix}")
        try:
            return os.open(name, flags, 0o666), name
        except FileExistsError:
            continue


def _cannot_write(where: str, parent: Path, e: OSError) -> str:
    fixes = {
        errno.EACCES: f"no permission to write in {str(parent)!r}: choose a writable directory",
        errno.EPERM: f"no permission to write in {str(parent)!r}: choose a writable directory",
        errno.EROFS: "the file system is read-only: choose a path on a writable disk",
        errno.ENOSPC: "the disk is full: free some space or choose another disk",
        errno.EDQUOT: "the disk quota is used up: free some space or choose another disk",
    }
    reason = fixes.get(e.errno or 0, f"{e.strerror or e}: choose another path")
    return f"cannot write {where}: {reason}; nothing was written"


class StdoutError(OutputError):
    """Standard output cannot be written (closed, a full disk): exit code 2."""


class _Stdout:
    """Standard output as click writes to it, a failure turned into one line: a reader that has
    gone ends the command quietly (``exitcodes.BROKEN_PIPE``), anything else is a
    ``StdoutError``."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.encoding = getattr(stream, "encoding", "utf-8")
        self.errors = getattr(stream, "errors", "strict")

    def __getattr__(self, name: str):
        return getattr(self._stream, name)

    def write(self, text):
        if not text:  # click probing the stream's kind: not an output to report
            if self._stream is None and not isinstance(text, str):
                raise TypeError("a text stream")
            return 0 if self._stream is None else self._stream.write(text)
        if self._stream is None:
            raise self._failed(None)
        try:
            return self._stream.write(text)
        except OSError as e:
            raise self._failed(e) from None

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except OSError as e:
            raise self._failed(e) from None

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()

    def _failed(self, e: OSError | None) -> Exception:
        # What is still buffered would fail again when Python exits: send it nowhere.
        with contextlib.suppress(Exception):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        if e is not None and e.errno == errno.EPIPE:
            return click.exceptions.Exit(exitcodes.BROKEN_PIPE)
        reason = "it is closed" if e is None else (e.strerror or str(e))
        return StdoutError(
            f"cannot write to standard output ({reason}): redirect it where it can be "
            "written, e.g. > out.txt"
        )


def guard_stdout(ctx: click.Context) -> None:
    """Send click's standard output through ``_Stdout`` while ``ctx`` lasts."""
    if isinstance(sys.stdout, _Stdout):
        return
    real = sys.stdout
    sys.stdout = _Stdout(real)
    ctx.call_on_close(lambda: setattr(sys, "stdout", real))
