"""Threads: numpy's BLAS pools (threadpoolctl), torch's, and jax's, which is sized when it
starts."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np


def numpy_blas_pools() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        pool
        for pool in threadpool_info()
        if pool.get("user_api") == "blas" and "numpy" in pool.get("filepath", "")
    ]


def blas_info() -> str:
    """numpy's BLAS library, kernel and threads (threadpoolctl), or numpy's own summary."""
    pools = numpy_blas_pools()
    if not pools:
        try:
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            return f"{blas.get('name')} {blas.get('version')} (threads unknown: no threadpoolctl)"
        except Exception:
            return "unknown (no threadpoolctl)"
    return "; ".join(
        f"{pool.get('internal_api')} {pool.get('version')}, kernel "
        f"{pool.get('architecture', '?')}, {pool.get('num_threads')} threads"
        for pool in pools
    )


def start_jax(one_thread: bool):
    """jax with float64 enabled, or None where it is not installed. XLA sizes its CPU thread
    pool from the CPUs the process may run on when the backend starts, and no setting changes
    it later: with ``one_thread`` the process is held to one CPU while it starts, then given
    all of them back, so that jax computes on one thread and the process may still move."""
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if one_thread and cpus:
        os.sched_setaffinity(0, {min(cpus)})
    try:
        jax.numpy.zeros(1).block_until_ready()
    finally:
        if one_thread and cpus:
            os.sched_setaffinity(0, cpus)
    return jax


@contextlib.contextmanager
def thread_mode(mode: str, torch, jax_threads: str) -> Iterator[str]:
    """Yields a description of the threads; ``one`` limits numpy's BLAS (threadpoolctl) and
    torch to one thread each for the block, and restores them after it. ``jax_threads`` says
    how jax was started (``start_jax``), or is empty without jax."""
    torch_threads = torch.get_num_threads() if torch is not None else None
    blas = ", ".join(str(p.get("num_threads")) for p in numpy_blas_pools()) or "?"
    jax_text = f", jax {jax_threads}" if jax_threads else ""
    if mode == "default":
        yield f"default threads: numpy BLAS {blas}, torch {torch_threads or '–'}{jax_text}"
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        if torch is not None:
            torch.set_num_threads(1)
        try:
            torch_text = ", torch 1" if torch is not None else ""
            yield f"one thread: numpy BLAS 1{torch_text}{jax_text}"
        finally:
            if torch is not None:
                torch.set_num_threads(torch_threads)
