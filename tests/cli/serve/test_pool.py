import asyncio
import os
import threading
import time

import pytest

from bpverify.cli.serve.pool import Busy, Pool
from bpverify.derive.budget import BudgetError

# Jobs take the worker and call standard-library functions in it: they pickle by reference.


def pid(worker):
    return worker.call(os.getpid)


def nap(worker, seconds):
    return worker.call(time.sleep, seconds)


def held(worker, gate: threading.Event):
    gate.wait(30)  # holds the worker (in the pool's thread) until the test lets go
    return worker.call(os.getpid)


async def until(condition):
    while not condition():
        await asyncio.sleep(0.01)


def test_jobs_run_in_worker_processes_and_an_overrun_is_replaced():
    async def main():
        with Pool(workers=1) as pool:
            await asyncio.to_thread(pool.start)
            first = await pool.run(pid, seconds=30)
            assert first != os.getpid() and pool.pids == [first]
            with pytest.raises(BudgetError, match=r"the nap .* 0\.2 s budget \(--nap-time 0\.2\)"):
                await pool.run(nap, 30, seconds=0.2, what="the nap", option="--nap-time")
            assert pool.pids == []  # killed at its budget
            assert await pool.run(pid, seconds=30) not in (first, os.getpid())
            assert pool.running == 0

    asyncio.run(main())


def test_a_full_queue_is_busy_with_a_retry_after():
    async def main():
        gate = threading.Event()
        with Pool(workers=1, queue=1, queue_seconds=30) as pool:
            running = asyncio.ensure_future(pool.run(held, gate, seconds=30))
            await until(lambda: pool.running == 1)
            waiting = asyncio.ensure_future(pool.run(pid, seconds=30))
            await until(lambda: pool.waiting == 1)
            with pytest.raises(Busy) as e:
                await pool.run(pid, seconds=4.5)
            assert e.value.retry_after == 5 and "1 requests wait" in str(e.value)
            gate.set()
            assert await running == await waiting  # the waiting request got the same worker

    asyncio.run(main())


def test_a_request_waits_at_most_queue_seconds():
    async def main():
        gate = threading.Event()
        with Pool(workers=1, queue=5, queue_seconds=0.1) as pool:
            running = asyncio.ensure_future(pool.run(held, gate, seconds=30))
            await until(lambda: pool.running == 1)
            with pytest.raises(Busy, match=r"no worker became free within 0\.1 s"):
                await pool.run(pid, seconds=30)
            gate.set()
            await running

    asyncio.run(main())


def test_a_request_given_up_keeps_its_worker_until_the_job_ends():
    async def main():
        gate = threading.Event()
        with Pool(workers=1) as pool:
            task = asyncio.ensure_future(pool.run(held, gate, seconds=30))
            await until(lambda: pool.running == 1)
            task.cancel()  # the client went away; the job still runs in its thread
            await asyncio.sleep(0.05)
            assert pool.running == 1 and pool._idle.empty()
            gate.set()
            assert await pool.run(pid, seconds=30) != os.getpid()

    asyncio.run(main())


def test_a_long_job_yields_the_cpu_and_its_worker_is_replaced_after_it():
    async def main():
        with Pool(workers=1) as pool:
            first = await pool.run(pid, seconds=30, demote=0.1)
            assert os.getpriority(os.PRIO_PROCESS, first) == os.getpriority(os.PRIO_PROCESS, 0)
            nap_job = asyncio.ensure_future(pool.run(nap, 1, seconds=30, demote=0.1))
            await until(lambda: pool._demoted)
            assert os.getpriority(os.PRIO_PROCESS, first) == 19
            await nap_job
            assert pool.pids == []  # a demoted worker cannot be promoted again: replaced
            assert await pool.run(pid, seconds=30) != first

    asyncio.run(main())


def test_a_job_past_the_memory_cap_is_a_memory_budget_error():
    async def main():
        with Pool(workers=1, memory_mib=64) as pool:
            with pytest.raises(BudgetError) as e:
                await pool.run(lambda worker: worker.call(bytearray, 2**30), seconds=60)
            assert e.value.kind == "memory" and "64 MiB" in str(e.value)
            assert await pool.run(pid, seconds=30) != os.getpid()  # a fresh worker

    asyncio.run(main())
