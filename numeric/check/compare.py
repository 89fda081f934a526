"""Comparing two sources of one gradient tensor: errors, the worst entry and the verdict.

Two values a and b of an entry agree when

    |a - b| <= rtol * max(|a|, |b|) + atol * scale + noise

where ``scale`` is the largest magnitude of the tensor's symbolic values (so an entry that is
tiny beside its neighbours is not held to a relative precision nobody can compute), and
``noise`` is a finite difference's rounding error at that entry, eps * |C| / h times the sum of
the stencil's weights (zero for the symbolic value, generated code and the complex step, which
has no cancellation). ``TOLERANCES`` holds (rtol, atol) for each way a value is computed; a
pair takes the larger of its two rows.

Why these numbers:

- ``symbolic``: 34 significant digits, rounded once to float64: no error worth a row.
- ``traced``: a function check's reference, traced from the user's forward in 40 digits
  (``tracer``) and rounded once to float64: no error worth a row, as for ``symbolic``.
- ``unrolled``: the same digits from the written-out network; the two roundings to float64 may
  differ in the last bit, hence 1e-14.
- ``float64``: the generated (or the user's) code in float64. Each entry is a sum of products
  over a batch and a layer; its rounding error stays below ~1e-13 of the scale for any network
  this tool checks, so 1e-9 leaves four orders of margin and still catches a gradient that is
  wrong by one part in a million.
- ``float32``: the same code in float32 (eps 6e-8): 2e-3 and 2e-4 leave the same margin.
- ``complex``: the complex step is exact to rounding (no subtraction): 1e-8.
- ``richardson``: truncation error ~ h^4 with h ~ 7e-4 * max(|x|, 1): 1e-6.
- ``central``: truncation error ~ h^2 with h ~ 6e-6 * max(|x|, 1): 1e-5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # factors reads the loss table (SymPy); the worker imports this module
    from .factors import Reading

TOLERANCES: dict[str, tuple[float, float]] = {
    "symbolic": (0.0, 0.0),
    "traced": (0.0, 0.0),
    "unrolled": (1e-14, 1e-14),
    "float64": (1e-9, 1e-9),
    "float32": (2e-3, 2e-4),
    "complex": (1e-8, 1e-8),
    "richardson": (1e-6, 1e-6),
    "central": (1e-5, 1e-5),
}
"""(rtol, atol) by the way a value is computed (see the module docstring)."""

FLOORS: dict[str, float] = {
    "float64": float(np.finfo(np.float64).tiny),
    "float32": float(np.finfo(np.float32).tiny),
}
"""Absolute errors always allowed to code of that dtype: below the smallest normal number,
precision is lost gradually and a gradient may even be flushed to zero."""

NOISE_SAFETY = 100.0
"""How many times eps * |C| / h a finite difference may be off by rounding alone."""


def tolerance_table(rtol: float | None, atol: float | None) -> dict[str, tuple[float, float]]:
    """``TOLERANCES``, or the user's (rtol, atol) for every kind when either is given."""
    if rtol is None and atol is None:
        return dict(TOLERANCES)
    return {k: (rtol or 0.0, atol or 0.0) for k in TOLERANCES}


def tolerance(kind_a: str, kind_b: str, table=TOLERANCES) -> tuple[float, float]:
    """The (rtol, atol) of a pair: the larger of the two rows."""
    ra, aa = table[kind_a]
    rb, ab = table[kind_b]
    return max(ra, rb), max(aa, ab)


@dataclass
class Comparison:
    """One tensor compared between two sources.

    ``max_abs`` and ``max_rel`` are over the entries compared (relative error |a-b| /
    max(|a|,|b|), 0 where both are 0, infinite for a NaN); ``worst`` is the index of the entry
    furthest beyond (or closest to) its tolerance, with the two values there; ``kinks`` counts
    entries left out because their finite difference crossed a kink. ``verdict`` is "pass",
    "FAIL", "kink" when every entry was left out for a kink, or "skip" when none had a finite
    difference. ``point`` says which random point it came from; ``factor``, on a failure of the
    code under test, the constant factor by which it is off everywhere, when there is one
    (``factors``).
    """

    tensor: str
    pair: tuple[str, str]
    max_abs: float
    max_rel: float
    worst: tuple[int, ...]
    values: tuple[float, float]
    rtol: float
    atol: float
    compared: int
    kinks: int = 0
    point: int = 0
    verdict: str = "pass"
    ratio: float = 0.0
    note: str = ""
    factor: Reading | None = None

    @property
    def passed(self) -> bool:
        return self.verdict != "FAIL"

    def as_dict(self) -> dict:
        return {
            "tensor": self.tensor,
            "pair": "-".join(self.pair),
            "verdict": self.verdict,
            "max_abs_error": self.max_abs,
            "max_rel_error": self.max_rel,
            "worst_index": list(self.worst),
            "worst_values": list(self.values),
            "rtol": self.rtol,
            "atol": self.atol,
            "compared": self.compared,
            "kinks": self.kinks,
            "point": self.point,
            "note": self.note,
            "factor": self.factor.as_dict() if self.factor else None,
        }


def compare(
    tensor: str,
    pair: tuple[str, str],
    a: np.ndarray,
    b: np.ndarray,
    rtol: float,
    atol: float,
    scale: float,
    noise: np.ndarray | float = 0.0,
    mask: np.ndarray | None = None,
    kinks: np.ndarray | None = None,
    unavailable: np.ndarray | None = None,
) -> Comparison:
    """Compare a and b (same shape) on the entries of ``mask`` (all by default), leaving out
    ``kinks`` and ``unavailable`` entries (no finite difference: the loss overflowed there).
    See the module docstring for the criterion."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    use = np.ones(a.shape, dtype=bool) if mask is None else mask.copy()
    n_kinks = 0
    if kinks is not None:
        n_kinks = int(np.count_nonzero(use & kinks))
        use &= ~kinks
    note = ""
    if unavailable is not None and (use & unavailable).any():
        note = f"{int(np.count_nonzero(use & unavailable))} without a finite difference"
        use &= ~unavailable
    if not use.any():
        verdict = "kink" if n_kinks else "skip" if note else "pass"
        return Comparison(
            tensor,
            pair,
            0.0,
            0.0,
            (),
            (np.nan, np.nan),
            rtol,
            atol,
            0,
            n_kinks,
            verdict=verdict,
            note=note,
        )
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(a - b)
    err = np.where(np.isnan(err), np.inf, err)  # a NaN never agrees
    big = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(big > 0, err / np.where(big > 0, big, 1.0), 0.0)
        allowed = rtol * big + atol * scale + noise
        ratio = np.where(allowed > 0, err / np.where(allowed > 0, allowed, 1.0), np.inf)
    ratio = np.where(err == 0, 0.0, ratio)
    rel = np.where(np.isinf(err), np.inf, rel)
    masked = np.where(use, ratio, -1.0)
    flat = int(np.argmax(masked))
    worst = np.unravel_index(flat, a.shape)
    r = float(masked.ravel()[flat])
    return Comparison(
        tensor,
        pair,
        float(np.max(np.where(use, err, 0.0))),
        float(np.max(np.where(use, rel, 0.0))),
        tuple(int(i) for i in worst),
        (float(a[worst]), float(b[worst])),
        rtol,
        atol,
        int(np.count_nonzero(use)),
        n_kinks,
        verdict="pass" if r <= 1.0 else "FAIL",
        ratio=r,
        note=note,
    )


def worse(a: Comparison, b: Comparison) -> bool:
    """Whether ``a`` is the comparison to report over ``b`` of the same tensor and pair: a
    failure over a pass, then the larger ratio to the tolerance; a kink never."""
    if a.verdict == "kink" or (b.verdict == "FAIL" and a.verdict != "FAIL"):
        return False
    return a.ratio > b.ratio or b.verdict == "kink"


def keep_worst(worst: dict[tuple[str, tuple[str, str]], Comparison], rows) -> None:
    """Keep in ``worst`` the worst comparison of each tensor and pair of ``rows``: a report
    holds the worst of its random points."""
    for c in rows:
        key = (c.tensor, c.pair)
        if key not in worst or worse(c, worst[key]):
            worst[key] = c
