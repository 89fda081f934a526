"""Symbolic work under a budget: a child process that the parent stops at a deadline.

SymPy cannot be interrupted from inside (a simplification or a large integer power holds the
interpreter in one long call), so a job that may run long runs in a ``Worker``: a child process
whose address space is capped (``RLIMIT_AS``: what it starts with plus the ``memory`` row of
``limits.LIMITS``), which the parent kills when a call overruns its seconds. The child is forked
on Linux (it starts at once and keeps what the parent has imported and cached) and spawned
elsewhere. It serves calls one at a time, keeping its caches between them; after an overrun it
is replaced by a fresh one on the next call.

Example:
    >>> with Worker(seconds=30) as worker:
    ...     worker.call(pow, 2, 10)
    1024
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from .errors import InputError
from .limits import LIMITS, limit

PROVE_TIMEOUT = 60.0
"""Default seconds of one ``prove`` claim (``--timeout``): the benchmark's claims take under 1."""

BUILD_TIMEOUT = 600.0
"""Default seconds of ``derive`` and ``generate`` (``--timeout``): 1000 layers, the ``layers``
limit, take about two minutes."""


class BudgetError(InputError):
    """A job that did not finish within its budget of time or memory; the message names the
    budget and how to raise it. ``kind`` is "time" or "memory"."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(self):
        return (type(self), (str(self), self.kind))


def _threads() -> int:
    """The threads of this process as the OS counts them (1 when unknown)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 1


def _context():
    """fork on Linux, else spawn. A fork copies only the calling thread, and a lock another
    thread held stays locked in the child: the child here takes none of theirs (it computes
    and answers through its pipe), but from Python 3.12 a fork beside other threads is
    deprecated, so there it forks only a process with one thread."""
    if sys.platform.startswith("linux") and (sys.version_info < (3, 12) or _threads() == 1):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _address_space() -> int:
    """Bytes of address space this process already holds (0 when unknown): a forked child
    starts with its parent's, libraries' reservations included."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _cap_memory(mib: int) -> None:
    """Cap the address space of this (child) process at ``mib`` MiB more than it holds now;
    past it, allocations fail (MemoryError)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return
    cap = _address_space() + mib * 2**20
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    with contextlib.suppress(ValueError, OSError):  # macOS refuses RLIMIT_AS
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _serve(conn, memory_mib: int, first: tuple | None) -> None:
    """The child's loop: run ``first`` (a request the child inherited), then receive requests
    (function, args, kwargs, wants progress), sending back ("ok", result), ("raise", exception)
    or ("memory", None) for each, until the parent closes the pipe; with progress, ("progress",
    message) as the function reports it."""
    _cap_memory(memory_mib)

    def progress(message: str) -> None:
        conn.send(("progress", message))

    request = first
    while True:
        if request is None:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                return
        fn, args, kwargs, wants_progress = request
        request = None
        if wants_progress:
            kwargs = {**kwargs, "progress": progress}
        try:
            reply: tuple[str, Any] = ("ok", fn(*args, **kwargs))
        except MemoryError:
            reply = ("memory", None)
        except Exception as e:
            # the child's traceback travels with the exception (--debug prints notes)
            e.add_note("in bpverify's worker process:\n" + traceback.format_exc().rstrip())
            reply = ("raise", e)
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("memory", None))
        except Exception as e:  # a result or an exception that does not pickle
            conn.send(("raise", _picklable(reply[1] if reply[0] == "raise" else e)))


def _picklable(error: BaseException) -> BaseException:
    """``error`` as the nearest class of its own that pickles (a local InputError subclass
    stays an InputError, with its message), else a RuntimeError naming it."""
    for kind in type(error).__mro__:
        try:
            copy = kind(str(error))
            pickle.dumps(copy)
        except Exception:
            continue
        return copy
    return RuntimeError(f"{type(error).__name__}: {error}")


class Worker:
    """A child process that runs calls under a budget: ``seconds`` of wall-clock time per call
    (None for no limit) and ``memory_mib`` of memory (default: the ``memory`` limit).

    The start method is chosen when the worker is made (make it before starting threads): fork
    where safe, and then the first call is inherited by the child, so that its function and
    arguments need not pickle. A spent budget's message starts with ``what`` (``"the proof"``)
    and tells how to raise it (``option``, ``--timeout``). ``start_method`` names another
    multiprocessing start method ("forkserver": children forked from a clean server process,
    for a parent that runs threads). Use it as a context manager, or ``close()`` it; the child
    dies with the parent in any case.
    """

    def __init__(
        self,
        seconds: float | None,
        memory_mib: int | None = None,
        option: str = "--timeout",
        what: str = "the job",
        start_method: str | None = None,
    ) -> None:
        self.seconds = seconds
        self.memory_mib = limit("memory") if memory_mib is None else memory_mib
        self.option, self.what = option, what
        self._context: Any = (
            _context() if start_method is None else multiprocessing.get_context(start_method)
        )
        self._process: Any = None
        self._conn: Any = None

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self, first: tuple | None = None) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(child, self.memory_mib, first), daemon=True
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent

    @property
    def pid(self) -> int | None:
        """The child's process id; None before its first call and after ``close()``."""
        return None if self._process is None else self._process.pid

    def close(self) -> None:
        """Stop the child (at once: it holds nothing that needs saving)."""
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._conn.close()
        self._process = self._conn = None

    def call(self, fn: Callable, *args, progress: Callable[[str], None] | None = None, **kwargs):
        """``fn(*args, **kwargs)`` in the child: its result, or the exception it raised, raised
        here. BudgetError when it overruns the time or memory budget. With ``progress``, ``fn``
        is given a ``progress`` callback whose messages reach ``progress`` here.

        The result and exceptions must pickle; so must ``fn`` (a module-level function) and its
        arguments, unless this is the first call of a forked child."""
        request = (fn, args, kwargs, progress is not None)
        deadline = None if self.seconds is None else time.monotonic() + self.seconds
        try:
            if self._process is None and self._context.get_start_method() == "fork":
                self._start(first=request)
            else:
                if self._process is None:
                    self._start()
                self._conn.send(request)
            while True:
                left = None if deadline is None else max(deadline - time.monotonic(), 0)
                if not self._conn.poll(left):
                    raise BudgetError(self._overran_time(), "time")
                kind, value = self._conn.recv()
                if kind != "progress":
                    break
                if progress is not None:
                    progress(value)
        except (EOFError, OSError):
            code = self._process.exitcode if self._process else None
            self.close()
            # killed by the kernel (SIGKILL) or a failed allocation outside Python (SIGSEGV,
            # SIGABRT): what a process at its memory cap dies of
            raise BudgetError(self._overran_memory(), "memory") from RuntimeError(code)
        except BaseException:
            self.close()
            raise
        if kind == "ok":
            return value
        if kind == "memory":
            self.close()
            raise BudgetError(self._overran_memory(), "memory")
        raise value

    def _overran_time(self) -> str:
        s = f"{self.seconds:g}"
        return (
            f"{self.what} did not finish within the {s} s budget ({self.option} {s}): "
            "give it more time"
        )

    def _overran_memory(self) -> str:
        env = LIMITS["memory"].env
        return (
            f"{self.what} ran out of its {self.memory_mib} MiB memory budget: raise it with "
            f"{env}=MIB if the machine has the memory"
        )


def run(fn: Callable, *args, seconds: float | None, what: str = "the job", **kwargs):
    """``fn(*args, **kwargs)`` in a fresh ``Worker`` with a budget of ``seconds``."""
    with Worker(seconds, what=what) as worker:
        return worker.call(fn, *args, **kwargs)
