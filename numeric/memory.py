"""The memory a gradient check or a training run will take, estimated before it allocates.

A run whose estimate passes the ``memory`` row of ``bpverify.derive.limits.LIMITS`` (MiB, raised
with ``BPVERIFY_MAX_MEMORY``, the budget of the symbolic jobs too) is refused with a
``LimitError`` naming the estimate, the limit, the option to lower and how to raise the limit,
instead of ending in a MemoryError half-way (``--batch 1000000000``). The estimates count the
largest arrays a run holds at once; the constants are measured peaks rounded up, so that a run
that is refused would not have fitted, and one that is let through does.

=================================  =========  =========================================
what                               bytes      measured (peak RSS over the interpreter's)
=================================  =========  =========================================
a parameter, in a check            1000       ~750: 34-digit mpf values, their gradient,
                                              and the integers of the exact products
a unit of one sample, in a check   2000       ~1450 (z, a, delta of every layer in mpf)
a value of a data set              4 x 8      ~3 float64 copies: made, split, converted
a unit of one sample, training     4 x 8      ~2.5 float64 arrays of the whole training
                                              set, which each epoch's loss runs on
a parameter, training              6 x 8      itself, its gradient, two optimiser buffers
=================================  =========  =========================================

Example:
    >>> check_bytes((2, 3, 1), batch=4) < 2**20
    True
"""

from __future__ import annotations

from collections.abc import Sequence

from bpverify.derive.limits import LIMITS, LimitError

FLOAT = 8
"""Bytes of a float64; float32 runs are counted as float64 (the references stay float64)."""

CHECK_PER_PARAMETER = 1000
CHECK_PER_UNIT = 2000
DATA_COPIES = 4
TRAIN_PER_UNIT = 4 * FLOAT
TRAIN_PER_PARAMETER = 6 * FLOAT

MIB = 2**20


def _parameters(widths: Sequence[int]) -> int:
    return sum((widths[l - 1] + 1) * widths[l] for l in range(1, len(widths)))


def check_bytes(widths: Sequence[int], batch: int) -> int:
    """Bytes a gradient check of a network of ``widths`` at ``batch`` samples per point holds."""
    widths = [int(w) for w in widths]
    return CHECK_PER_PARAMETER * _parameters(widths) + CHECK_PER_UNIT * batch * sum(widths)


def data_bytes(samples: int, columns: int) -> int:
    """Bytes a data set of ``samples`` rows of ``columns`` values takes while it is prepared."""
    return DATA_COPIES * FLOAT * samples * columns


def training_bytes(widths: Sequence[int], samples: int) -> int:
    """Bytes a training run of a network of ``widths`` on ``samples`` samples holds: its
    parameters and optimiser, and each epoch's forward pass over the whole training set."""
    widths = [int(w) for w in widths]
    return TRAIN_PER_PARAMETER * _parameters(widths) + TRAIN_PER_UNIT * samples * sum(widths)


def require(nbytes: int, what: str, fix: str) -> None:
    """Raise LimitError when ``nbytes`` pass the ``memory`` limit; ``what`` names the run as the
    message starts it ("a check of ... with --batch 100000"), ``fix`` the option to lower."""
    row = LIMITS["memory"]
    limit = row.value()
    if nbytes > limit * MIB:
        raise LimitError(
            f"{what} needs about {_mib(nbytes)} MiB, more than the {limit} MiB accepted: "
            f"{fix}, or raise the limit with {row.env}=MIB if the machine has the memory"
        )


def _mib(nbytes: int) -> str:
    mib = nbytes / MIB
    return f"{mib:,.0f}" if mib < 10**15 else f"{mib:.1e}"


def require_check(widths: Sequence[int], batch: int) -> None:
    """``require`` for a gradient check (``check_bytes``)."""
    shown = ",".join(str(w) for w in widths)
    network = CHECK_PER_PARAMETER * _parameters([int(w) for w in widths])
    mostly_network = network * 2 > check_bytes(widths, batch)
    require(
        check_bytes(widths, batch),
        f"a check of widths {shown} with batch {batch}",
        "check a smaller network" if mostly_network else "give a smaller --batch",
    )


def require_training(widths: Sequence[int], samples: int) -> None:
    """``require`` for a training run (``training_bytes``)."""
    shown = ",".join(str(w) for w in widths)
    require(
        training_bytes(widths, samples),
        f"training widths {shown} on {samples} samples",
        "train on fewer samples (--samples) or a smaller network (--hidden)",
    )
