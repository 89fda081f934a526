"""Prove or refute a hand-derived gradient against the derivation: the verdict.

The claim is parsed (never evaluated as code) and put beside the truth (``truth``). Then:

1. PROVED if claim - truth simplifies to 0 (``proof``): first with a, z, w, b, y as independent
   symbols, then with a^(l) = sigma(z^(l)) substituted, then with sigma written out by its
   definition (which proves it for that activation only, and says so).
2. REFUTED if, at one of ``points`` random networks (``counterexample``), the two differ; the
   point, both values and the likely mistake (``hints``) are reported.
3. UNDECIDED otherwise, with the largest difference seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import sympy as sp

from ..activations import ACTIVATIONS
from ..network import Derivation, derive_network
from ..spec import NetworkSpec
from .claims import index_symbol, parse_claim, parse_wrt
from .counterexample import Probe, difference, search, show
from .format import format_claim
from .grammar import ClaimError
from .hints import find_hint
from .proof import proof_stages
from .truth import proof_task

STATUSES = ("PROVED", "REFUTED", "UNDECIDED")


@dataclass
class Verdict:
    """The outcome of ``prove``.

    ``status`` is PROVED, REFUTED or UNDECIDED; ``message`` says why in one sentence; ``truth``
    is the derived gradient in the claim language. A refutation carries ``counterexample`` (the
    widths, index values and the values of the symbols the two sides use), ``claim_value`` and
    ``truth_value``, and ``hint`` when the claim matches a known mistake. ``largest_difference``
    is the largest relative difference seen at the random points.
    """

    status: str
    wrt: str
    claim: str
    message: str
    truth: str
    hint: str | None = None
    counterexample: dict[str, str] | None = None
    claim_value: str | None = None
    truth_value: str | None = None
    largest_difference: float | None = None
    points: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready record of every field."""
        return {
            "status": self.status,
            "wrt": self.wrt,
            "claim": self.claim,
            "message": self.message,
            "truth": self.truth,
            "hint": self.hint,
            "counterexample": self.counterexample,
            "claim_value": self.claim_value,
            "truth_value": self.truth_value,
            "largest_difference": self.largest_difference,
            "points": self.points,
            "notes": self.notes,
        }


def prove(
    spec: NetworkSpec,
    wrt: str,
    claim: str,
    *,
    points: int = 20,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Verdict:
    """Prove ``claim`` equal to dC_0/d(``wrt``) of ``spec``'s network, or refute it.

    Arguments:
        spec: the network (elementwise activations; softmax outputs are not supported).
        wrt: ``w^(l)_jk``, ``b^(l)_j``, ``a^(l)_k`` or ``z^(l)_j``; its index letters are the
            claim's free indices (``w^(3)_pq`` means the claim writes p and q).
        claim: the formula, in the plain language or LaTeX (see ``claims``).
        points: how many random networks to try for a counterexample.
        seed: the seed of those random networks.
        progress: called with a short message as each stage starts (the command line shows it
            at a terminal); nothing here prints.

    Raises ClaimError (a ValueError) for a claim, --wrt or network that cannot be checked.

    Example:
        >>> v = prove(NetworkSpec(layers=2), "b^(2)_j", "sigma'(z^(2)_j) * 2*(a^(2)_j - y_j)")
        >>> v.status
        'PROVED'
    """
    if any(name not in ACTIVATIONS for name in spec.activations):
        raise ClaimError(
            "prove handles elementwise activations only: softmax-cross-entropy networks are "
            "not supported; use --loss squared or cross-entropy"
        )
    if points < 1:
        raise ClaimError(f"points must be at least 1, got {points}")
    say = progress or _quiet
    target = parse_wrt(spec, wrt)
    claimed = parse_claim(spec, claim)
    say("deriving the rules")
    task = proof_task(_derivation(spec), target, claimed)
    claimed, truth, extra = task.claimed, task.truth, task.extra
    # The truth is shown in the claim's own index letters (w^(3)_pq: p and q).
    letters = {s: index_symbol(c) for c, s in zip(target.indices, task.free, strict=True)}
    shown = format_claim(truth.xreplace({s: c for s, c in letters.items() if s != c}))
    what = f"dC_0/d{target.text}"

    # The cheap proof (a, z, w, b, y as independent symbols) first; then the point search, so
    # that a wrong claim is refuted without the slower proofs through sigma's definition.
    stages = proof_stages(task)
    say("simplifying claim - truth")
    stage = next(stages)
    if stage is None:
        evaluated: list[Probe] = []
        say(f"looking for a counterexample at {points} random networks")
        refuted = search(task, points, seed, evaluated)
        if refuted is not None:
            probe, c, t, diff = refuted
            message = f"the claim differs from {what} = {shown}"
            if extra:
                names = ", ".join(sorted(s.name for s in extra))
                message += f"; its index {names} is not one of --wrt's, so it stays free"
            return Verdict(
                "REFUTED",
                target.text,
                claim,
                message,
                shown,
                hint=find_hint(task, evaluated[-5:]),
                counterexample=probe.describe(claimed, truth),
                claim_value=show(c),
                truth_value=show(t),
                largest_difference=float(diff),
                points=len(evaluated),
            )
        say("simplifying with the activations' definitions")
        stage = next((st for st in stages if st is not None), None)
    if stage is not None:
        message = f"the claim equals {what} = {shown}"
        if stage:
            message += f" ({stage})"
        return Verdict("PROVED", target.text, claim, message, shown)
    diffs = [difference(p.evaluate(claimed), p.evaluate(truth)) for p in evaluated]
    largest = max(diffs, default=sp.Float(0))
    message = (
        f"simplify could not reduce claim - {what} to 0, and at {len(evaluated)} random "
        f"points the largest relative difference was {float(largest):.3g}"
    )
    skipped = points - len(evaluated)
    notes = (
        [f"{skipped} points skipped: the claim names units the network lacks"] if skipped else []
    )
    return Verdict(
        "UNDECIDED",
        target.text,
        claim,
        message,
        shown,
        largest_difference=float(largest),
        points=len(evaluated),
        notes=notes,
    )


def _quiet(message: str) -> None:
    """No progress wanted."""


@cache
def _derivation(spec: NetworkSpec) -> Derivation:
    return derive_network(spec)
