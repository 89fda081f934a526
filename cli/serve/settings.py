"""The limits of ``bpverify serve``, in one table: each bounds what one request or the whole
service may take, and ``bpverify serve`` has an option for each.

=============  ==============  ===============================================================
setting        option          what it bounds
=============  ==============  ===============================================================
workers        --workers       worker processes doing symbolic work at once (one request each)
prove_seconds  --timeout       seconds of one claim (prove, preview); past them: UNDECIDED
build_seconds  --build-timeout seconds of one derive, generate or check; past them: 503
memory_mib     --memory        MiB a worker may take beyond its start; past them: UNDECIDED/503
queue          --queue         requests waiting for a worker; one more is refused, 503
queue_seconds  --queue-timeout seconds a request waits for a worker before it is refused, 503
demote_seconds --demote-after  seconds after which a claim runs at the lowest CPU priority
max_body       --max-body      bytes of a request body; a larger one is refused, 413
cache          --cache         derivations kept in memory, by network (least recently used go)
=============  ==============  ===============================================================

Nothing here imports the web stack: ``bpverify serve --help`` reads these defaults without it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """The limits of one server (see the module's table). ``memory_mib`` None takes the
    ``memory`` row of ``bpverify.derive.limits.LIMITS`` (``BPVERIFY_MAX_MEMORY``)."""

    workers: int = 4
    prove_seconds: float = 10.0
    build_seconds: float = 60.0
    memory_mib: int | None = None
    queue: int = 32
    queue_seconds: float = 30.0
    demote_seconds: float = 1.0
    max_body: int = 64 * 1024
    cache: int = 128

    def __post_init__(self) -> None:
        for name in ("workers", "max_body", "cache"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        if self.queue < 0:
            raise ValueError(f"queue must be at least 0, got {self.queue!r}")
        for name in ("prove_seconds", "build_seconds", "queue_seconds", "demote_seconds"):
            if not 0 < getattr(self, name) < float("inf"):
                raise ValueError(f"{name} must be a number of seconds > 0")
