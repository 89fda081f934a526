"""Writing output files whole or not at all: a temporary file beside the target, then a rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import click


def check_writable(path: str | os.PathLike) -> Path:
    """The path to write, or a click error naming the problem and the fix."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise click.BadParameter(
            f"directory {str(parent)!r} does not exist: create it or choose another path"
        )
    if path.is_dir():
        raise click.BadParameter(f"{str(path)!r} is a directory: give a file name")
    return path


def write_atomic(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` to fill a temporary file beside ``path``, then rename it over ``path``.

    An existing file at ``path`` stays untouched until the new one is complete; if ``write``
    fails or is interrupted, the temporary file is removed and ``path`` is as it was.
    """
    path = check_writable(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent or ".")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
