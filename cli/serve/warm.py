"""Imported once, by the worker pool's forkserver (``pool.PRELOAD``): importing it does one small
job of each kind there, so that every worker forked afterwards starts with the claim parser built,
the default network derived and the numeric code paths loaded, instead of paying for them on its
first requests, and again after each worker killed at its budget."""

from __future__ import annotations

from bpverify.derive import NetworkSpec
from bpverify.derive.prove import prove
from bpverify.numeric.check.options import CheckOptions

from . import jobs

DEFAULT = NetworkSpec(3)
"""The network the page opens with (the seed's three layers)."""


def warm() -> None:
    """A derivation, a proof, a preview and a check of small networks, here."""
    jobs.derivation(DEFAULT, "all", False)
    prove(DEFAULT, "w^(3)_jk", jobs.SEED_CLAIM)
    jobs.preview(DEFAULT, "w^(3)_jk", jobs.SEED_CLAIM)
    jobs.check(NetworkSpec(1, (2, 1)), CheckOptions(points=1, batch=2))


warm()
