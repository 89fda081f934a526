"""What slow work is doing, on stderr, for a person at a terminal; nothing for pipes and logs.

The library never prints: its slow functions take an optional ``progress(message)`` callback
(``verify``, ``check_gradients``, ``prove``). ``reporter`` makes that callback for a command.
At a terminal it keeps one line on stderr, rewritten with each message once the work has run
``SHOW_AFTER`` seconds (quick work shows nothing), and clears it when the work is done; when
stderr is not a terminal the callback does nothing.

Example::

    with reporter("bpverify derive") as progress:
        v = verify.verify(derivation, progress=progress)
"""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

import click

Progress = Callable[[str], None]

SHOW_AFTER = 1.0
"""Seconds of work before the first message shows: faster work leaves the terminal alone."""


def is_terminal(stream: TextIO | None) -> bool:
    """Whether ``stream`` is an interactive terminal (False for pipes, files, closed streams)."""
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


class _Line:
    """The one progress line of a ``reporter`` block; its timer thread may draw it too."""

    def __init__(self, label: str, stream: TextIO) -> None:
        self.label, self.message, self.stream = label, "", stream
        self.due = SHOW_AFTER <= 0  # whether messages show as they come
        self.shown = self.closed = False
        self.lock = threading.Lock()

    def draw(self) -> None:
        # Padded with spaces rather than erased by an escape sequence, which click drops
        # where it thinks colour unsupported; one column short, so the cursor never wraps.
        width = shutil.get_terminal_size().columns - 1
        line = f"{self.label}: {self.message}"[:width]
        click.echo(f"\r{line:<{width}}", file=self.stream, nl=False)
        self.shown = True

    def update(self, message: str) -> None:
        with self.lock:
            self.message = message
            if self.due:
                self.draw()

    def start_showing(self) -> None:
        with self.lock:
            if not self.closed:
                self.due = True
                if self.message:
                    self.draw()

    def close(self) -> None:
        with self.lock:
            self.closed, self.due = True, False
            if self.shown:
                width = shutil.get_terminal_size().columns - 1
                click.echo(f"\r{' ' * width}\r", file=self.stream, nl=False)


def _quiet(message: str) -> None:
    """Progress where nobody watches: pipes, files, CI logs."""


@contextmanager
def reporter(label: str, stream: TextIO | None = None) -> Iterator[Progress]:
    """``progress(message)`` showing ``label: message`` on ``stream`` (default: stderr) when it
    is a terminal; elsewhere it does nothing.

    Until ``SHOW_AFTER`` seconds have passed, messages are only kept; then a timer shows the
    latest, and later ones show as they come. The line is cut to the terminal's width, so that
    rewriting it never scrolls, and erased when the block ends, so that the command's own
    output starts on a clean line.
    """
    stream = sys.stderr if stream is None else stream
    if not is_terminal(stream):
        yield _quiet
        return
    line = _Line(label, stream)
    timer = threading.Timer(SHOW_AFTER, line.start_showing)
    timer.daemon = True  # never keeps the command alive
    if not line.due:
        timer.start()
    try:
        yield line.update
    finally:
        timer.cancel()
        line.close()
