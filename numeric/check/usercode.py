"""The user's own gradient function, given as ``path/to/file.py:function`` or as a callable,
called so that nothing it does can decide the check.

A ``file.py:function`` runs in a worker process (``worker.Worker``): imported once, called at
every point, the import and each call within ``timeout`` seconds, in ``memory_limit`` GiB, its
output captured. A callable handed to ``check_gradients`` runs in this process (a function
cannot be sent to another one reliably): its exceptions and ``sys.exit`` are still problems,
but a hang is not stopped.

Bad input or a finding: a reference the check cannot follow (not ``file.py:function``, no
readable file there, not a .py file, a module that imports cleanly but has no such function)
raises ``GradFnError`` (exit code 2). Whatever the module's code does once it runs (a syntax
error, an exception, an exit, a hang, a crash, too much memory, a wrong answer) is a
``Problem`` in the report: the check fails (exit code 1) and the problem says what happened and
where.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from bpverify.derive import InputError

from . import outcome, worker
from .options import CheckOptions
from .report import Problem
from .worker import Worker, WorkerLost


class GradFnError(InputError):
    """A ``--grad-fn`` that cannot be found: bad input, not a finding about the user's code."""


Gradients = tuple[dict[str, np.ndarray], list[Problem]]


OPTIONS = {"grad": "--grad-fn", "fn": "--function"}
"""The option that names the user's function of each role: the gradient code under test, and
the forward function of a function check."""


def parse_ref(ref: str, role: str = "grad") -> tuple[Path, str]:
    """The file and function name of ``path/to/file.py:function``; GradFnError unless the
    file exists and can be read."""
    option = OPTIONS[role]
    path_text, sep, name = ref.rpartition(":")
    if not sep or not path_text or not name:
        raise GradFnError(f"{option} {ref[:200]!r}: write it as path/to/file.py:function")
    path = Path(path_text)
    if not path.is_file():
        raise GradFnError(f"{option}: no file {path_text!r}; give the path of a .py file")
    try:
        path.open("rb").close()
    except OSError as e:
        raise GradFnError(f"{option}: cannot read {path_text}: {e.strerror}") from None
    if importlib.util.spec_from_file_location("_", path) is None:  # runs nothing
        raise GradFnError(f"{option}: cannot import {path_text!r} as Python; is it a .py file?")
    return path, name


class InProcess:
    """A Python callable, called in this process (``worker.call``)."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn

    def call(self, params: dict, X, Y, expected: dict[str, tuple], point: int) -> Gradients:
        """The gradients ``fn(params, X, Y)`` returns that have the expected shapes, and the
        problems with the rest."""
        return worker.call(self.fn, params, X, Y, expected, point)

    def close(self) -> None:
        pass


def _whose(meta: dict) -> str:
    """Whose code a stage of a function check runs: the backward for "gradient", else fn."""
    return "the gradient function" if meta["stage"] == "gradient" else "the function"


class LocalStages:
    """The functions of a function check as Python callables, by role ("fn", "grad"): each stage
    runs here (``function_sources.answer``); exceptions and ``sys.exit`` are problems, a hang is
    not stopped."""

    def __init__(self, functions: dict[str, Callable]) -> None:
        self.functions = functions

    def stage(self, meta: dict, arrays: dict, reply_bytes: int) -> tuple[dict, dict]:
        from .function_sources import answer

        try:
            return answer(meta, arrays, self.functions)
        except (Exception, SystemExit) as e:
            return {"problem": f"{_whose(meta)} {outcome.describe(e)}"}, {}

    def close(self) -> None:
        pass


class Isolated:
    """``file.py:function`` in a worker process: imported on creation, called by ``call``.

    Once the import fails or the worker is lost (a hang, a crash, an exit), every later call
    answers with that same problem at once: one hang costs one ``timeout``, not one per point.
    """

    def __init__(self, refs: str | dict[str, str], timeout: float, memory_limit: float) -> None:
        refs = {"grad": refs} if isinstance(refs, str) else refs  # role -> "file.py:function"
        found = {role: parse_ref(ref, role) for role, ref in refs.items()}
        self.file, self.timeout = next(iter(found.values()))[0].name, timeout
        self.failure: str | None = None
        self.worker = Worker(memory_limit)
        try:
            for role, (path, name) in found.items():
                if self.failure is None:
                    self._load(refs[role], path, name, role)
        except BaseException:
            self.worker.close()
            raise

    def _load(self, ref: str, path: Path, name: str, role: str) -> None:
        self.file = path.name
        load = {"op": "load", "path": str(path.resolve()), "name": name, "role": role}
        try:
            reply, _ = self.worker.request(load, {}, self.timeout)
        except WorkerLost as e:
            self._fail(f"importing {self.file} {e.reason}")
            return
        status = reply.get("status")
        if status == "no-function":
            option, file = OPTIONS[role], ref.rpartition(":")[0]
            raise GradFnError(f"{option}: {file} defines no function {name!r}")
        if status != "loaded":
            self._fail(f"importing {self.file} {reply.get('message', f'answered {status!r}')}")

    def stage(self, meta: dict, arrays: dict, reply_bytes: int) -> tuple[dict, dict]:
        """One stage of a function check (``function_sources.answer``) in the worker, within the
        time budget; a lost worker is the reply's "problem", as is every later stage's."""
        if self.failure is not None:
            return {"problem": self.failure}, {}
        budget = self.timeout + float(meta.get("calls_seconds", 0.0))  # many calls of fn
        try:
            return self.worker.request({"op": "function", **meta}, arrays, budget, reply_bytes)
        except WorkerLost as e:
            return {"problem": self._fail(f"{_whose(meta)} {e.reason}")}, {}

    def call(self, params: dict, X, Y, expected: dict[str, tuple], point: int) -> Gradients:
        """As ``InProcess.call``, in the worker, within the time budget."""
        if self.failure is not None:
            return {}, [Problem(None, self.failure, point)]
        request = {"op": "call", "point": point, "expected": expected}
        arrays = {**{f"params.{k}": v for k, v in params.items()}, "X": X, "Y": Y}
        size = 8 * sum(int(np.prod(s)) for s in expected.values())
        try:
            reply, grads = self.worker.request(request, arrays, self.timeout, size)
            problems = self._problems(reply, grads, expected, point)
        except WorkerLost as e:
            return {}, [Problem(None, self._fail(f"the function {e.reason}"), point)]
        except (KeyError, TypeError, ValueError) as e:
            failure = f"the function's worker sent back a reply the check cannot read ({e})"
            return {}, [Problem(None, self._fail(failure), point)]
        return {k: np.array(v, dtype=np.float64) for k, v in grads.items()}, problems

    def _problems(self, reply: dict, grads: dict, expected: dict, point: int) -> list[Problem]:
        """The problems of a reply; ValueError when it is not an answer to the request."""
        if any(k not in expected or v.shape != expected[k] for k, v in grads.items()):
            raise ValueError("gradients that were not asked for")
        problems = []
        for tensor, message in reply["problems"]:
            if not isinstance(message, str) or not (tensor is None or tensor in expected):
                raise ValueError("a problem that is not one")
            problems.append(Problem(tensor, message if tensor else self._printed(message), point))
        return problems

    def close(self) -> None:
        self.worker.close()

    def _fail(self, message: str) -> str:
        self.failure = self._printed(message)
        self.worker.close()
        return self.failure

    def _printed(self, message: str) -> str:
        """``message``, and the tail of what the user's code printed meanwhile, indented."""
        if not self.worker.output:
            return message
        lines = "\n".join(f"    | {line}" for line in self.worker.output.splitlines())
        return f"{message}; its output ended with:\n{lines}"


@contextmanager
def opened(
    grad_fn: Callable | str | None, options: CheckOptions
) -> Iterator[InProcess | Isolated | None]:
    """The code under test, ready to ``call``, closed on leaving: None for the generated code,
    ``Isolated`` for ``"file.py:function"`` (on ``options.timeout`` and
    ``options.memory_limit``), ``InProcess`` for a callable."""
    if grad_fn is None:
        yield None
        return
    user: InProcess | Isolated
    if isinstance(grad_fn, str):
        user = Isolated(grad_fn, options.timeout, options.memory_limit)
    elif callable(grad_fn):
        user = InProcess(grad_fn)
    else:
        kind = type(grad_fn).__name__
        raise GradFnError(f"grad_fn: give a function or 'path/file.py:function', got {kind}")
    try:
        yield user
    finally:
        user.close()
