"""The user's code, run where it cannot decide the check: a worker process, and one call's answer.

``Worker`` is a fresh interpreter (``subprocess``: nothing of the checking process is copied
into it) that imports the user's module once and calls its function at every point. It is
started in a session of its own and talks over pipes of its own, in frames of a JSON header
and raw float bytes: what the user's code prints (its stdout and stderr, one pipe) never mixes
with the replies or with the report, and no reply is unpickled. Every request has a time
budget; past it the worker's Python stack is dumped (``faulthandler``, to a pipe of its own, so
the report can name the line it was stuck on) and its process group killed. Its address space
is capped (``RLIMIT_AS``), so that a memory bomb ends in MemoryError instead of taking the
machine. An exception or ``sys.exit`` in the user's code is an answer like any other;
``os._exit`` is announced before the process ends; a hang, a crash or a garbled reply raises
``WorkerLost``, and the worker is gone.

``call`` turns one call of the user's function into gradients and problems; the worker runs it,
and so does the checking process for a Python callable.

This module runs in the worker too, so it imports NumPy and the report only (not SymPy).
"""

from __future__ import annotations

import contextlib
import faulthandler
import importlib.util
import itertools
import json
import os
import re
import selectors
import signal
import struct
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from . import outcome
from .outcome import checked_array, describe, short, user_frame
from .report import Problem

STARTUP_BUDGET = 120.0
"""Seconds a worker may take to start (Python and NumPy), before any user code runs."""

STACK_WAIT = 1.0
"""Seconds to wait for a stuck worker's stack dump before killing it."""

EXIT_WAIT = 1.0
"""Seconds a worker that closed its reply pipe has to end by itself before it is killed."""

OUTPUT_LINES, OUTPUT_CHARS = 20, 2000
"""How much of what the user's code printed a problem shows: the last lines, at most so many
characters."""

GIB = 2**30

_HEADER = struct.Struct("<QQ")  # lengths of the JSON header and of the array bytes
_META_LIMIT = 2**20
_CHUNK = 2**16
_KEEP = 2**14  # bytes of output and of stack dumps kept per request
_THIS = Path(__file__).resolve()
_FRAME = re.compile(r'^\s+File "(.*)", line (\d+)', re.M)
_BOOT = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    f"from {__name__} import serve; serve(*sys.argv[2:])"
)

_MISSING = object()


class WorkerLost(Exception):
    """The worker stopped answering; ``reason`` says how, as a predicate of the user's code
    ("ran past the time limit of 2 s ...", "ended the worker process with SIGSEGV ...")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- one call's answer (here or in the worker) -----------------------------------------------------


def call(
    fn: Callable, params: dict, X: np.ndarray, Y: np.ndarray, expected: dict[str, tuple], point: int
) -> tuple[dict[str, np.ndarray], list[Problem]]:
    """Call ``fn(params, X, Y)`` on copies, and check what it returns against ``expected``
    (name -> shape; W and b keys are required, dC/da keys "dC_da0", ... are checked when
    present). An exception or ``sys.exit`` is a problem; so is a value that is not a dict of
    finite real arrays of the expected shapes."""
    args = ({k: v.copy() for k, v in params.items()}, X.copy(), Y.copy())
    try:
        with np.errstate(all="ignore"):
            out = fn(*args)
    except (Exception, SystemExit) as e:
        return {}, [Problem(None, f"the function {describe(e)}", point)]
    try:
        if not isinstance(out, Mapping):
            kind = type(out).__name__
            return {}, [
                Problem(None, f"the function returned a {kind}, not a dict of gradients", point)
            ]
    except Exception as e:  # a __class__ that raises
        return {}, [Problem(None, f"the function returned a value that {describe(e)}", point)]
    grads, problems, missing = {}, [], []
    for name, shape in expected.items():
        try:
            value = out.get(name, _MISSING)
        except Exception as e:
            problems.append(Problem(name, f"reading it from the dict {describe(e)}", point))
            continue
        if value is _MISSING:
            if not name.startswith("dC_da"):
                missing.append(name)
            continue
        array, wrong = checked_array(value, shape)
        if array is None:
            if wrong.startswith("wrong shape") and not name.startswith("dC_da"):
                wrong += " (as params)"
            problems.append(Problem(name, wrong, point))
        else:
            grads[name] = array
    if missing:
        tensor = missing[0] if len(missing) == 1 else None
        problems.insert(0, Problem(tensor, _missing_keys(missing, out, expected), point))
    return grads, problems


KEYS_SHOWN = 12
"""How many of the returned dict's keys a missing-key problem lists."""

_PREFIXES = ("dc_d", "dl_d", "dj_d", "grad_", "grad", "d_", "d")
_SUFFIXES = ("_grad", "grad")


def _missing_keys(missing: list[str], out: Mapping, expected: dict[str, tuple]) -> str:
    """The problem of required keys left out: which, the keys returned and expected, and the
    renaming when the returned names are the expected ones with a prefix (``dW1``, ``grad_W1``)
    or another case."""
    keys = ", ".join(repr(m) for m in missing)
    problem = f"missing key{'s' * (len(missing) > 1)} {keys} in the returned dict"
    try:
        returned = list(itertools.islice(iter(out), KEYS_SHOWN + 1))
    except Exception as e:  # keys that cannot be listed
        return f"{problem}; listing its keys {describe(e)}"
    shown = ", ".join(short(repr(k)) for k in returned[:KEYS_SHOWN])
    shown = f"[{shown}{', ...' if len(returned) > KEYS_SHOWN else ''}]"
    required = [k for k in expected if not k.startswith("dC_da")]
    optional = [k for k in expected if k.startswith("dC_da")]
    message = f"{problem}: it returned {shown}, expected {required}"
    if optional:
        message += f" (and optionally {optional}, dC/da^(l) of the mean cost)"
    renames = _renames(returned, missing)
    if renames:
        message += "; rename " + ", ".join(f"{k!r} -> {v!r}" for k, v in renames.items())
    return message


def _renames(returned: list, missing: list[str]) -> dict[str, str]:
    """Returned keys that name a missing one once a gradient prefix or suffix is dropped
    and case ignored: {"dW1": "W1"}; only matches that are unique both ways."""
    found: dict[str, list[str]] = {}
    wanted = {m.lower(): m for m in missing}
    for key in returned:
        if not isinstance(key, str):
            continue
        low = key.lower()
        stems = {low, *(low.removeprefix(p) for p in _PREFIXES)}
        stems |= {x.removesuffix(s).rstrip("_") for x in stems for s in _SUFFIXES}
        hits = {wanted[x] for x in stems if x in wanted}
        if len(hits) == 1:
            found.setdefault(hits.pop(), []).append(key)
    return {keys[0]: name for name, keys in found.items() if len(keys) == 1}


# -- the worker's side -----------------------------------------------------------------------------


def serve(requests: str, replies: str, stacks: str, memory_limit: str, parent: str) -> None:
    """The worker's loop: import the module once, answer each call, until the checking process
    closes the request pipe. Arguments are the command line of ``_BOOT``: the pipes' file
    descriptors, the memory limit in GiB (0: none) and the checking process's id."""
    req, rep, dump = int(requests), int(replies), int(stacks)
    _die_with(int(parent))
    faulthandler.enable(file=dump, all_threads=True)  # a crash names its line
    if hasattr(signal, "SIGUSR1"):  # the checking process's "where are you stuck?"
        faulthandler.register(signal.SIGUSR1, file=dump, all_threads=True)
    _limit_resources(float(memory_limit))
    real_exit, me = os._exit, os.getpid()

    def announced_exit(code):
        if isinstance(code, int) and os.getpid() == me:  # not a fork of the user's own
            where = user_frame((f.filename, f.lineno) for f in traceback.extract_stack()[:-1])
            _reply(rep, {"status": "exited", "message": f"called os._exit({code})" + _paren(where)})
        real_exit(code)

    os._exit = announced_exit
    _reply(rep, {"status": "ready"})
    functions: dict[str, Callable] = {}  # by role: "grad" for --grad-fn, "fn" for --function
    while (request := _receive(req)) is not None:
        meta, arrays = request
        if meta["op"] == "load":
            imported, reply = _import(meta["path"], meta["name"])
            functions[meta.get("role", "grad")] = imported or _not_imported
            _reply(rep, reply)
            continue
        if meta["op"] == "function":  # one stage of a function check (function_sources)
            _reply(rep, *_function_stage(meta, arrays, functions))
            continue
        fn = functions.get("grad", _not_imported)
        params = {k.removeprefix("params."): v for k, v in arrays.items() if k[:7] == "params."}
        expected = {k: tuple(v) for k, v in meta["expected"].items()}
        try:
            grads, problems = call(fn, params, arrays["X"], arrays["Y"], expected, meta["point"])
        except BaseException as e:  # KeyboardInterrupt or GeneratorExit raised by the user
            grads, problems = {}, [Problem(None, f"the function {describe(e)}", meta["point"])]
        found = [[p.tensor, p.message] for p in problems]
        _reply(rep, {"status": "answer", "problems": found}, grads)
    real_exit(0)


def _function_stage(meta: dict, arrays: dict, functions: dict) -> tuple[dict, dict]:
    from .function_sources import answer  # the tracer (gmpy2), for function checks only

    try:
        reply, out = answer(meta, arrays, functions)
    except BaseException as e:  # raised by the user's code outside what the stage catches
        return {"status": "answer", "problem": f"the function {describe(e)}"}, {}
    return {"status": "answer", **reply}, out


def _not_imported(*args):
    raise RuntimeError("called before its module was imported")  # the check never does


def _paren(where: str) -> str:
    return f" ({where})" if where else ""


def _die_with(parent: int) -> None:
    """Have Linux kill this worker when the checking process dies, however it dies."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the closed request pipe ends the loop
        pass
    if os.getppid() != parent:  # it died before the line above
        os._exit(0)


def _limit_resources(gib: float) -> None:
    """No core files (a segfault must not litter the user's directory), and an address space of
    ``gib`` GiB beyond what this worker holds now (Python and NumPy)."""
    try:
        import resource
    except ImportError:
        return
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if gib <= 0:
        return
    infinity = resource.RLIM_INFINITY
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space() + int(gib * GIB)
    limit = min(x for x in (limit, soft, hard) if x != infinity)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        return
    outcome.memory_note = f"; the worker may take {gib:g} GiB (--memory-limit)"


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _import(path: str, name: str) -> tuple[Callable | None, dict]:
    """The user's function and the reply to the load request."""
    module_name = f"_bpverify_user_{abs(hash(path))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:  # the checking process made sure it is one
        return None, {"status": "failed", "message": "is not a Python module"}
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
        fn = getattr(module, name, None)
    except BaseException as e:
        return None, {"status": "failed", "message": describe(e)}
    if not callable(fn):
        return None, {"status": "no-function"}
    return fn, {"status": "loaded"}


def _reply(fd: int, meta: dict, arrays: dict | None = None) -> None:
    for stream in (sys.stdout, sys.stderr):  # what the user printed goes first
        with contextlib.suppress(Exception):
            stream.flush()
    _write_all(fd, _frame(meta, arrays or {}))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _receive(fd: int) -> tuple[dict, dict] | None:
    """The next request, or None when the checking process closed the pipe."""
    head = _read_exactly(fd, _HEADER.size)
    if head is None:
        return None
    meta_size, body_size = _HEADER.unpack(head)
    data = _read_exactly(fd, meta_size + body_size)
    if data is None:
        return None
    return _unframe(bytes(data), meta_size)


def _read_exactly(fd: int, n: int) -> bytearray | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return buf


# -- frames: a JSON header, then the arrays' bytes -------------------------------------------------


def _frame(meta: dict, arrays: dict[str, np.ndarray]) -> bytes:
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    listed = [[k, v.dtype.str, list(v.shape)] for k, v in arrays.items()]
    head = json.dumps({"meta": meta, "arrays": listed}).encode()
    body = b"".join(v.tobytes() for v in arrays.values())
    return _HEADER.pack(len(head), len(body)) + head + body


def _unframe(data: bytes, meta_size: int) -> tuple[dict, dict[str, np.ndarray]]:
    """The meta and arrays of a frame (without its length header); ValueError when garbled."""
    try:
        header = json.loads(data[:meta_size])
        meta, listed = header["meta"], header["arrays"]
        offset, arrays = meta_size, {}
        for name, dtype, shape in listed:
            dt = np.dtype(dtype)
            if dt.kind not in "fiub" or not isinstance(name, str):
                raise ValueError(f"an array {name!r} of dtype {dt}")
            count = int(np.prod(shape, dtype=np.int64))
            arrays[name] = np.frombuffer(data, dt, count, offset).reshape(shape)
            offset += count * dt.itemsize
    except (KeyError, TypeError, IndexError) as e:
        raise ValueError(f"{type(e).__name__}: {e}") from None
    if offset != len(data) or not isinstance(meta, dict):
        raise ValueError("a frame that is not one")
    return meta, arrays


# -- the checking process's side -------------------------------------------------------------------


class Worker:
    """A worker process (see the module docstring): ``request`` sends one request and waits for
    its reply within a budget, ``output`` is the tail of what the user's code printed during
    the last request, ``close`` ends the worker and every process it started.

    Arguments:
        memory_limit: GiB of address space the user's code may take (0: no limit).
    """

    def __init__(self, memory_limit: float) -> None:
        self.lost: str | None = None
        self.output = ""
        req_r, self._req = os.pipe()
        self._rep, rep_w = os.pipe()
        self._dump, dump_w = os.pipe()
        paths = json.dumps([p for p in sys.path if isinstance(p, str)])
        argv = [sys.executable, "-c", _BOOT, paths, str(req_r), str(rep_w), str(dump_w)]
        argv += [repr(float(memory_limit)), str(os.getpid())]
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(req_r, rep_w, dump_w),
                start_new_session=True,  # Ctrl-C reaches the check, which stops the worker
                env={**os.environ, "PYTHONUNBUFFERED": "1"},  # output before a crash survives
            )
        except BaseException:
            for fd in (self._req, self._rep, self._dump):
                os.close(fd)
            raise
        finally:
            for fd in (req_r, rep_w, dump_w):
                os.close(fd)
        assert self.proc.stdout is not None
        self._out = self.proc.stdout.fileno()
        self._kept = {self._out: bytearray(), self._dump: bytearray()}  # per request
        self._open = {self._out, self._dump}  # until their end
        for fd in (self._req, self._rep, self._dump, self._out):
            os.set_blocking(fd, False)
        try:
            self._exchange(b"", STARTUP_BUDGET, 0)
        except WorkerLost as e:
            self.close()
            printed = f"; it printed: {self.output}" if self.output else ""
            raise RuntimeError(
                f"a worker process for the user's code {e.reason}{printed}"
            ) from None

    def request(
        self, meta: dict, arrays: dict[str, np.ndarray], budget: float, reply_bytes: int = 0
    ) -> tuple[dict, dict[str, np.ndarray]]:
        """Send ``meta`` and ``arrays``; the reply's meta and arrays (at most ``reply_bytes`` of
        them) within ``budget`` seconds, or WorkerLost (and the worker is gone)."""
        if self.lost is not None:
            raise WorkerLost(self.lost)
        meta, arrays = self._exchange(_frame(meta, arrays), budget, reply_bytes)
        if meta.get("status") == "exited":  # os._exit, announced on its way out
            self._kill()
            raise self._lose(str(meta.get("message", "exited")))
        return meta, arrays

    def close(self) -> None:
        """Kill the worker's process group, reap it and close the pipes (idempotent)."""
        self._kill()
        for fd in (self._req, self._rep, self._dump):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _exchange(self, frame: bytes, budget: float, reply_bytes: int):
        """Write ``frame`` and read the reply, keeping the output and stack dumps meanwhile."""
        for buf in self._kept.values():
            buf.clear()
        deadline = time.monotonic() + budget
        pending = memoryview(frame)
        reply = bytearray()
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(self._rep, selectors.EVENT_READ)
                for fd in self._open:
                    sel.register(fd, selectors.EVENT_READ)
                if pending:
                    sel.register(self._req, selectors.EVENT_WRITE)
                while (done := _parsed(reply, reply_bytes)) is None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise self._stop(budget)
                    for key, _ in sel.select(remaining):
                        if key.fd == self._req:
                            try:
                                pending = pending[os.write(self._req, pending[:_CHUNK]) :]
                            except BrokenPipeError:  # it died: its reply pipe tells how
                                pending = pending[:0]
                            if not pending:
                                sel.unregister(self._req)
                        elif key.fd == self._rep:
                            data = _read(self._rep)
                            if data == b"":
                                raise self._ended()
                            reply += data or b""
                        elif not self._take(key.fd):
                            sel.unregister(key.fd)
            self._drain(0.0)  # what was printed before the reply was written
            return done
        except ValueError as e:
            self._kill()
            raise self._lose(f"sent back a reply the check cannot read ({e})") from None
        finally:
            self.output = _tail(self._kept[self._out])

    def _take(self, fd: int) -> bool:
        """Keep what ``fd`` (output or stack dumps) holds; False at its end."""
        data = _read(fd)
        if data == b"":
            self._open.discard(fd)
            return False
        if data:
            buf = self._kept[fd]
            buf += data
            del buf[:-_KEEP]
        return True

    def _drain(self, wait: float, until_quiet: bool = False) -> None:
        """Read the output and stack dumps for up to ``wait`` seconds (0: what they hold now);
        with ``until_quiet``, stop 0.1 s after a stack dump stopped coming."""
        deadline = time.monotonic() + wait
        with selectors.DefaultSelector() as sel:
            for fd in self._open:
                sel.register(fd, selectors.EVENT_READ)
            while sel.get_map():
                timeout = max(0.0, deadline - time.monotonic())
                if until_quiet and self._kept[self._dump]:
                    timeout = min(timeout, 0.1)
                events = sel.select(timeout)
                if not events:
                    return
                for key, _ in events:
                    if not self._take(key.fd):
                        sel.unregister(key.fd)

    def _stop(self, budget: float) -> WorkerLost:
        """Past the budget: ask for the stack (SIGUSR1 -> faulthandler), then kill."""
        with contextlib.suppress(ProcessLookupError, AttributeError):
            os.kill(self.proc.pid, signal.SIGUSR1)
        self._drain(STACK_WAIT, until_quiet=True)
        self._kill()
        at = f" at {where}" if (where := self._stuck_at()) else ""
        return self._lose(
            f"ran past the time limit of {budget:g} s (--timeout){at}; the worker process was "
            "stopped"
        )

    def _ended(self) -> WorkerLost:
        """The reply pipe closed: the worker ended (or closed the pipe itself, and is killed)."""
        try:
            code: int | None = self.proc.wait(EXIT_WAIT)
        except subprocess.TimeoutExpired:
            code = None
        self._kill()
        self._drain(0.5)
        where = _paren(self._stuck_at())
        if code is None:
            return self._lose("closed the worker's reply pipe; the worker process was stopped")
        if code >= 0:
            return self._lose(f"ended the worker process with exit code {code}{where}")
        name = _signal_name(-code)
        if -code == getattr(signal, "SIGKILL", None):
            where += " (killed from outside: by os.kill, or by the system when out of memory)"
        return self._lose(f"ended the worker process with {name}{where}")

    def _lose(self, reason: str) -> WorkerLost:
        self.lost = reason
        return WorkerLost(reason)

    def _stuck_at(self) -> str:
        return _stuck_at(bytes(self._kept[self._dump]))

    def _kill(self) -> None:
        # the whole session: processes the user's code started too; a reaped worker's group
        # lives on in them, and its id is not reused while it does
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def _parsed(reply: bytearray, reply_bytes: int):
    """The reply's (meta, arrays) once complete, else None; ValueError when garbled."""
    if len(reply) < _HEADER.size:
        return None
    meta_size, body_size = _HEADER.unpack_from(reply)
    if meta_size > _META_LIMIT or body_size > reply_bytes:
        raise ValueError(f"a reply of {meta_size + body_size} bytes")
    if len(reply) < _HEADER.size + meta_size + body_size:
        return None
    return _unframe(bytes(reply[_HEADER.size :]), meta_size)


def _read(fd: int) -> bytes | None:
    """What the pipe holds (b"" at its end), or None when it holds nothing yet."""
    try:
        return os.read(fd, _CHUNK)
    except BlockingIOError:
        return None


def _stuck_at(dump: bytes) -> str:
    """``file.py:12`` from a faulthandler dump: the innermost user frame of the thread that runs
    the worker's loop (most recent call first), or "" when there is none."""
    text = dump.decode("utf-8", "replace")
    threads = [t for t in re.split(r"\n(?=\S)", text) if _FRAME.search(t)]
    frames = [[(f, int(n)) for f, n in _FRAME.findall(t)] for t in threads]
    main = [fs for fs in frames if any(Path(f).resolve() == _THIS for f, _ in fs)]
    for fs in main or frames:
        if where := user_frame(reversed(fs)):
            return where
    return ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _tail(output: bytes | bytearray) -> str:
    """The last ``OUTPUT_LINES`` lines of ``output``, at most ``OUTPUT_CHARS`` characters, with
    control characters shown as "?"."""
    text = output.decode("utf-8", "replace")
    lines = [line.rstrip() for line in text.replace("\r", "\n").splitlines()]
    lines = [line for line in lines if line][-OUTPUT_LINES:]
    clean = "\n".join("".join(c if c.isprintable() or c == "\t" else "?" for c in x) for x in lines)
    return clean if len(clean) <= OUTPUT_CHARS else "..." + clean[-OUTPUT_CHARS:]
