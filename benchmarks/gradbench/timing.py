"""How a call is timed: each call on its own, methods interleaved in rounds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


class Timing:
    """The median and the minimum time of one call, over ``calls`` timed calls."""

    def __init__(self, times: list[float]):
        self.median = statistics.median(times)
        self.min = min(times)
        self.calls = len(times)


def interleaved(
    cells: dict[str, Callable[[], object]], seconds: float, warmup: float, min_rounds: int = 3
) -> dict[str, Timing]:
    """Time every callable in ``cells`` call by call, in interleaved rounds whose order rotates.

    Each callable is first called for about ``warmup`` seconds (at least once, these calls are
    discarded); their median estimates its time. The number of rounds (``min_rounds`` to 30)
    and of calls per round are chosen so that each callable runs for about ``seconds`` in all;
    a callable that has run for twice that (stalls on a busy machine) makes no more calls once
    it has 3."""
    names = list(cells)
    estimate = {}
    for name in names:
        times = [timed(cells[name])]
        while sum(times) < warmup and len(times) < 1000:
            times.append(timed(cells[name]))
        estimate[name] = max(statistics.median(times), 1e-7)
    rounds = max(min_rounds, min(30, int(seconds / max(estimate.values()))))
    number = {k: max(1, round(seconds / (rounds * estimate[k]))) for k in names}
    samples: dict[str, list[float]] = {k: [] for k in names}
    spent = dict.fromkeys(names, 0.0)
    clock = time.perf_counter
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            fn, out = cells[name], samples[name]
            for _ in range(number[name]):
                if spent[name] > 2 * seconds and len(out) >= 3:
                    break
                t = clock()
                fn()
                out.append(clock() - t)
                spent[name] += out[-1]
    return {k: Timing(samples[k]) for k in names}


def page_faults(fn: Callable[[], object], calls: int = 3) -> float | None:
    """Minor page faults of one call (median of ``calls``; every thread of the process counts):
    large temporaries whose memory the allocator gave back to the system fault again when they
    are written. None where ``resource`` is missing (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    counts = []
    for _ in range(calls):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        fn()
        counts.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return statistics.median(counts)
