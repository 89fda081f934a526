import doctest
import os
import time

import pytest

from bpverify.derive import InputError, budget
from bpverify.derive.budget import BudgetError, Worker


def _spin():
    while True:
        pass


def _allocate():
    chunks = []
    while True:
        chunks.append(bytearray(10**8))


def _pid():
    return os.getpid()


def _bad():
    raise InputError("bad input, raised in the child")


def _report(progress):
    progress("half way")
    return "done"


def test_a_call_runs_in_a_child_and_returns_its_result():
    with Worker(30) as worker:
        assert worker.call(pow, 2, 10) == 1024
        assert worker.call(_pid) != os.getpid()


def test_the_child_keeps_its_state_between_calls_until_a_call_overruns():
    with Worker(0.5, what="the job") as worker:
        first = worker.call(_pid)
        assert worker.call(_pid) == first
        with pytest.raises(BudgetError) as e:
            worker.call(_spin)
        assert e.value.kind == "time"
        assert str(e.value) == (
            "the job did not finish within the 0.5 s budget (--timeout 0.5): give it more time"
        )
        assert worker.call(_pid) != first  # a fresh child after the overrun


def test_a_worker_forked_from_a_forkserver_serves_calls_and_is_replaced_after_an_overrun():
    # the functions pickle by reference: the forkserver's child imports only the standard library
    with Worker(60, start_method="forkserver") as worker:
        assert worker.pid is None  # started by the first call
        first = worker.call(os.getpid)
        assert first != os.getpid() and worker.call(os.getpid) == first == worker.pid
        worker.seconds = 0.2
        with pytest.raises(BudgetError):
            worker.call(time.sleep, 30)
        worker.seconds = 60
        assert worker.call(os.getpid) not in (first, os.getpid())


def test_an_exception_of_the_call_is_raised_here_with_the_child_traceback_noted():
    with Worker(30) as worker:
        with pytest.raises(InputError, match="bad input, raised in the child") as e:
            worker.call(_bad)
        assert "in bpverify's worker process" in "\n".join(e.value.__notes__)
        assert worker.call(pow, 3, 2) == 9  # the child survives its call's exception


def test_memory_past_the_cap_is_a_memory_budget_error():
    with Worker(60, memory_mib=600) as worker, pytest.raises(BudgetError) as e:
        worker.call(_allocate)
    assert e.value.kind == "memory"
    assert "ran out of its 600 MiB memory budget: raise it with BPVERIFY_MAX_MEMORY=MIB" in str(
        e.value
    )


def test_progress_messages_of_the_child_reach_the_callback_here():
    seen = []
    with Worker(30) as worker:
        assert worker.call(_report, progress=seen.append) == "done"
    assert seen == ["half way"]


def test_a_budget_error_is_bad_input_and_pickles():
    import pickle

    e = pickle.loads(pickle.dumps(BudgetError("slow", "time")))
    assert isinstance(e, InputError) and e.kind == "time" and str(e) == "slow"


def test_run_is_one_call_in_a_fresh_worker():
    with pytest.raises(BudgetError, match=r"the sum did not finish within the 0\.2 s budget"):
        budget.run(_spin, seconds=0.2, what="the sum")
    assert budget.run(pow, 2, 3, seconds=30) == 8


def test_the_docstring_example_runs():
    failures, tried = doctest.testmod(budget)
    assert failures == 0 and tried > 0
