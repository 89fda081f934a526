"""Prove or refute a hand-derived gradient against the derivation.

One job per module, in the order a claim meets them:

- ``grammar``: the claim language's lark grammar, its name tokens and size limits.
- ``claims``: the parse tree turned into SymPy (``parse_claim``), and ``--wrt`` (``parse_wrt``).
- ``format``: an expression printed back in the claim language (``format_claim``).
- ``truth``: the derived gradient the claim is compared with, in the claim's symbols.
- ``branches``: a Piecewise as indicators, which SymPy's sums do not fold.
- ``proof``: claim - truth reduced to 0, stage by stage (``vanishes``); too large to try.
- ``counterexample``: random concrete networks where claim and truth are evaluated.
- ``hints``: the common mistakes, and the one a refuted claim matches.
- ``verdict``: ``prove`` and its ``Verdict``: PROVED, REFUTED or UNDECIDED; ``prove_within`` a
  worker process's budget (``derive.budget``).

Every size is held to ``derive.limits.LIMITS`` before the work starts.

Example:
    >>> from bpverify.derive import NetworkSpec
    >>> prove(NetworkSpec(layers=2), "b^(2)_j", "sigma'(z^(2)_j) * 2*(a^(2)_j - y_j)").status
    'PROVED'
"""

from .claims import Target, parse_claim, parse_wrt
from .format import format_claim
from .grammar import MAX_DEPTH, MAX_EXPONENT, MAX_LENGTH, ClaimError
from .verdict import STATUSES, Verdict, prove, prove_within, resolve_wrt

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "STATUSES",
    "ClaimError",
    "Target",
    "Verdict",
    "format_claim",
    "parse_claim",
    "parse_wrt",
    "prove",
    "prove_within",
    "resolve_wrt",
]
