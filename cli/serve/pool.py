"""The worker pool: symbolic work in child processes, each call on a budget, the queue bounded.

Each worker is a ``derive.budget.Worker``: a child process forked from a forkserver (a clean,
single-threaded process that has imported the library and warmed its caches once, so a new
worker starts in milliseconds, ready), its address space capped, killed when a call overruns its
seconds and replaced by a fresh one on its next call. A request takes an idle worker, runs its
job in a thread of its own (the event loop never blocks) and gives the worker back. A job run
with ``demote`` seconds (a claim: the input a user controls most) still running after them has
its worker moved to the lowest CPU priority (nice 19), so that the short requests of other users
go first while it spends its budget; a demoted worker is replaced after its job (a process
cannot take its priority back). When every
worker is busy, at most ``queue`` requests wait, each at most ``queue_seconds``; past either,
``Busy`` (503 with Retry-After).

Example:
    >>> import asyncio
    >>> async def main():
    ...     with Pool(workers=1) as pool:
    ...         return await pool.run(lambda worker: worker.call(pow, 2, 10), seconds=30)
    >>> asyncio.run(main())  # doctest: +SKIP
    1024
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from bpverify.derive.budget import Worker

START_METHOD = "forkserver"
PRELOAD = ["bpverify.cli.serve.warm"]
"""What the forkserver imports once, so that every worker starts with it: the library, its
caches warmed by one small job of each kind (``warm``)."""

T = TypeVar("T")


class Busy(Exception):
    """Every worker is busy and the queue is full, or a request waited its time out; clients
    should retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _ready() -> bool:
    return True


class Pool:
    """``workers`` worker processes, each capped at ``memory_mib`` MiB (None: the ``memory``
    limit), at most ``queue`` requests waiting, each at most ``queue_seconds``."""

    def __init__(
        self,
        workers: int = 2,
        memory_mib: int | None = None,
        queue: int = 32,
        queue_seconds: float = 30.0,
    ) -> None:
        self.size, self.queue, self.queue_seconds = workers, queue, queue_seconds
        self._demoted: set[Worker] = set()
        self._workers = [
            Worker(None, memory_mib, start_method=START_METHOD) for _ in range(workers)
        ]
        self._idle: asyncio.Queue[Worker] = asyncio.Queue()
        for w in self._workers:
            self._idle.put_nowait(w)
        self._threads = ThreadPoolExecutor(workers, thread_name_prefix="bpverify-pool")
        self.waiting = 0
        self.running = 0

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Start the forkserver (importing the library there once) and every worker, so that
        the first requests do not wait for them."""
        context = multiprocessing.get_context(START_METHOD)
        context.set_forkserver_preload(PRELOAD)
        for w in self._workers:  # made without a time budget: starting is not a job
            w.call(_ready)

    def close(self) -> None:
        """Stop every worker."""
        for w in self._workers:
            w.close()
        self._threads.shutdown(wait=False, cancel_futures=True)

    @property
    def pids(self) -> list[int]:
        """The process ids of the workers running now."""
        return [w.pid for w in self._workers if w.pid is not None]

    async def run(
        self,
        job: Callable[..., T],
        *args: Any,
        seconds: float,
        what: str = "the job",
        option: str = "bpverify serve --timeout",
        demote: float | None = None,
    ) -> T:
        """``job(worker, *args)`` with an idle worker whose calls are on a budget of
        ``seconds``, in a thread; Busy when no worker frees in time or the queue is full. A
        spent budget's message names ``what`` ran out and the ``option`` that raises it. With
        ``demote``, the job yields the CPU to the others after that many seconds."""
        retry = max(1, math.ceil(seconds))
        if self._idle.empty() and self.waiting >= self.queue:
            raise Busy(
                f"all {self.size} workers are busy and {self.waiting} requests wait: "
                f"retry in {retry} s",
                retry,
            )
        self.waiting += 1
        try:
            worker = await asyncio.wait_for(self._idle.get(), self.queue_seconds)
        except TimeoutError:
            raise Busy(
                f"no worker became free within {self.queue_seconds:g} s: retry in {retry} s",
                retry,
            ) from None
        finally:
            self.waiting -= 1
        worker.seconds, worker.what, worker.option = seconds, what, option
        self.running += 1
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._threads, lambda: job(worker, *args))
        timer = None
        if demote is not None:
            timer = loop.call_later(demote, self._demote, worker)

        def done(_) -> None:  # only now: a request given up by its client still holds it
            if timer is not None:
                timer.cancel()
            if worker in self._demoted:
                self._demoted.discard(worker)
                worker.close()
            self.running -= 1
            self._idle.put_nowait(worker)

        future.add_done_callback(done)
        return await asyncio.shield(future)

    def _demote(self, worker: Worker) -> None:
        """The lowest CPU priority for ``worker``'s process, still running its job."""
        pid = worker.pid
        if pid is not None:
            with contextlib.suppress(OSError):  # gone already, or not allowed here
                os.setpriority(os.PRIO_PROCESS, pid, 19)
                self._demoted.add(worker)
