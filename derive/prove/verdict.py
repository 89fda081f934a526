"""Prove or refute a hand-derived gradient against the derivation: the verdict.

The claim is parsed (never evaluated as code) and put beside the truth (``truth``). Then:

1. PROVED if claim - truth reduces to 0 (``proof``): first with a, z, w, b, y and sigma' as
   independent symbols, then with sigma' written by the output where the activation allows it,
   then (after the point search) with a^(l) = sigma(z^(l)) substituted, then with sigma written
   out by its definition (which proves it for that activation only, and says so).
2. REFUTED if, at one of ``points`` random networks (``counterexample``), the two differ; the
   point, both values and the likely mistake (``hints``) are reported.
3. UNDECIDED otherwise, with the largest difference seen, or when the job overruns its budget
   (``timeout``: it then runs in a child process, ``budget.Worker``, stopped at the deadline).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import sympy as sp

from ..budget import BudgetError, Worker
from ..network import Derivation, derive_network
from ..spec import NetworkSpec
from . import counterexample, matrix, proof
from .claims import claim_wrt, index_symbol, parse_claim, parse_wrt
from .counterexample import Probe, Refutation, difference, more_probes, search, show
from .format import format_claim
from .grammar import ClaimError
from .hints import find_hint
from .truth import ProofTask, proof_task

STATUSES = ("PROVED", "REFUTED", "UNDECIDED")


@dataclass
class Verdict:
    """The outcome of ``prove``.

    ``status`` is PROVED, REFUTED or UNDECIDED; ``message`` says why in one sentence; ``truth``
    is the derived gradient in the claim language. A refutation carries ``counterexample`` (the
    widths, index values and the values of the symbols the two sides use), ``claim_value`` and
    ``truth_value``, and ``hint`` when the claim matches a known mistake. ``largest_difference``
    is the largest relative difference seen at the random points. ``of`` is the cost the
    claim differentiates: ``C_0``, one sample's loss, for an entry (w^(3)_jk), or ``C``, the
    batch cost, for a whole matrix (W^(3)).
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
    of: str = "C_0"

    def to_dict(self) -> dict:
        """A JSON-ready record of every field."""
        return {
            "status": self.status,
            "of": self.of,
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
    wrt: str | None,
    claim: str,
    *,
    points: int = 20,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> Verdict:
    """Prove ``claim`` equal to dC_0/d(``wrt``) of ``spec``'s network, or refute it.

    Arguments:
        spec: the network.
        wrt: ``w^(l)_jk``, ``b^(l)_j``, ``a^(l)_k`` or ``z^(l)_j``; its index letters are the
            claim's free indices (``w^(3)_pq`` means the claim writes p and q). A whole matrix
            (``W^(l)``, ``delta^(l)``) takes a matrix claim. None: the claim's own left-hand
            side says it (see ``resolve_wrt``).
        claim: the formula, in the plain language or LaTeX (see ``claims``).
        points: how many random networks to try for a counterexample.
        seed: the seed of those random networks.
        progress: called with a short message as each stage starts (the command line shows it
            at a terminal); nothing here prints.
        timeout: seconds the whole job may take, or None for no limit. With a timeout it runs
            in a child process (memory capped by the ``memory`` limit) that is stopped at the
            deadline, and a job stopped there is UNDECIDED, its message naming the budget.

    Raises ClaimError (a ValueError) for a claim, --wrt or network that cannot be checked, and
    LimitError for one larger than ``limits.LIMITS`` allow.

    Example:
        >>> v = prove(NetworkSpec(layers=2), "b^(2)_j", "sigma'(z^(2)_j) * 2*(a^(2)_j - y_j)")
        >>> v.status
        'PROVED'
    """
    if timeout is None:
        return _decide(spec, resolve_wrt(spec, wrt, claim), claim, points, seed, progress=progress)
    with Worker(timeout, what="the proof") as worker:
        return prove_within(worker, spec, wrt, claim, points=points, seed=seed, progress=progress)


def resolve_wrt(spec: NetworkSpec, wrt: str | None, claim: str) -> str:
    """What ``claim`` differentiates by: ``wrt``, or the claim's pasted left-hand side
    (``dC_0/dw^(3)_jk = ...`` or, for a matrix claim, ``dC/dW^(2) = ...``) when ``wrt`` is
    None; when both are there they must agree. ClaimError when neither is."""
    wrt = wrt or matrix.left_wrt(claim)
    if wrt is None or not matrix.matrix_wrt(spec, wrt):
        wrt = claim_wrt(spec, wrt, claim)
    return wrt


def prove_within(
    worker: Worker,
    spec: NetworkSpec,
    wrt: str | None,
    claim: str,
    *,
    points: int = 20,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Verdict:
    """``prove`` in ``worker``'s child process, under its budget; a job that overruns it is
    UNDECIDED. One worker serves many claims (a claim file): it keeps the derivation between
    them, and is replaced after a claim that overran."""
    wrt = resolve_wrt(spec, wrt, claim)
    try:
        return worker.call(_decide, spec, wrt, claim, points, seed, progress=progress)
    except BudgetError as e:
        return Verdict("UNDECIDED", wrt.strip()[:100], claim, str(e), truth="")


def _decide(
    spec: NetworkSpec,
    wrt: str,
    claim: str,
    points: int,
    seed: int,
    progress: Callable[[str], None] | None = None,
) -> Verdict:
    """``prove`` in this process, without a time limit."""
    if points < 1:
        raise ClaimError(f"points must be at least 1, got {points}")
    say = progress or _quiet
    if matrix.matrix_wrt(spec, wrt):  # a whole matrix, W^(3) or delta^(2): a matrix-form claim
        return Verdict(**matrix.decide(spec, wrt, claim, points, seed, say))
    target = parse_wrt(spec, wrt)
    claimed = parse_claim(spec, claim)
    say("deriving the rules")
    task = proof_task(_derivation(spec), target, claimed)
    claimed, truth = task.claimed, task.truth
    # The truth is shown in the claim's own index letters (w^(3)_pq: p and q).
    letters = {s: index_symbol(c) for c, s in zip(target.indices, task.free, strict=True)}
    shown = format_claim(truth.xreplace({s: c for s, c in letters.items() if s != c}))
    what = f"dC_0/d{target.text}"

    # The cheap proofs (rational functions of the symbols) first; then the point search, so
    # that a wrong claim is refuted without the slower proofs through sigma's definition. A
    # part too large for its limit is left out, and the verdict notes it.
    big_claim, big_network = proof.too_large(task), counterexample.too_large(spec)
    stages = iter(()) if big_claim else proof.proof_stages(task)
    say("simplifying claim - truth")
    cheap = (next(stages, None) for _ in range(proof.CHEAP))
    stage = next((st for st in cheap if st is not None), None)
    evaluated: list[Probe] = []
    if stage is None:
        say(f"looking for a counterexample at {points} random networks")
        refuted = None if big_network else search(task, points, seed, evaluated)
        if refuted is not None:
            return _refuted(task, claim, shown, refuted, evaluated, seed)
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
        f"claim - {what} is too large to simplify"
        if big_claim
        else f"simplify could not reduce claim - {what} to 0"
    ) + (
        ", and no random network was tried"
        if big_network
        else f", and at {len(evaluated)} random points the largest relative difference was "
        f"{float(largest):.3g}"
    )
    missed = points - len(evaluated)
    notes = [note for note in (big_claim, big_network) if note] or (
        [f"{missed} points skipped: the claim names units the network lacks"] if missed else []
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


HINT_PROBES = 3
"""Random points drawn beside the search's to name a mistake (``hints.find_hint``): a mistake
or a constant factor is named only where it holds at all of them."""


def _refuted(
    task: ProofTask, claim: str, shown: str, refuted: Refutation, evaluated: list[Probe], seed: int
) -> Verdict:
    """The REFUTED verdict at ``refuted``'s point, with the hint of the mistake it matches."""
    target, probe = task.target, refuted.probe
    message = f"the claim differs from dC_0/d{target.text} = {shown}"
    if refuted.missing is not None:
        message = (
            f"the claim names {refuted.missing}, a unit that this network (widths "
            f"{','.join(map(str, probe.widths))}) does not have: a sum or an index runs over the "
            f"units of another layer; dC_0/d{target.text} = {shown}"
        )
    if task.extra:
        names = ", ".join(sorted(s.name for s in task.extra))
        message += f"; its index {names} is not one of --wrt's, so it stays free"
    hint = None
    if refuted.claim is not None:
        # the refuting point first: most mistakes are ruled out there at once
        probes = [probe, *evaluated[-5:-1], *more_probes(task, HINT_PROBES, seed)]
        hint = find_hint(task, probes)
    return Verdict(
        "REFUTED",
        target.text,
        claim,
        message,
        shown,
        hint=hint,
        counterexample=probe.describe(task.claimed, task.truth),
        claim_value="undefined" if refuted.claim is None else show(refuted.claim),
        truth_value=show(refuted.truth),
        largest_difference=float(refuted.difference),
        points=len(evaluated),
    )


def _quiet(message: str) -> None:
    """No progress wanted."""


@cache
def _derivation(spec: NetworkSpec) -> Derivation:
    return derive_network(spec)
