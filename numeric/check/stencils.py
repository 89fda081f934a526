"""The finite-difference stencils of every check: steps, offsets and weights, in one table.

Kept apart from ``finite`` (which reads the derived network through SymPy) so that the worker
process that runs the user's own code can take finite differences of it without SymPy; see
``finite``'s docstring for the error of each method and ``function_sources`` for their use on
any function.
"""

from __future__ import annotations

import numpy as np

EPS = float(np.finfo(np.float64).eps)

STEPS = {
    "central": EPS ** (1 / 3),
    "richardson": EPS ** (1 / 5),
    "complex": 1e-20,
}
"""Relative step h / max(|x|, 1) of each method."""

STENCILS = {
    "central": ((1.0, -1.0), (0.5, -0.5)),
    "richardson": ((1.0, -1.0, 2.0, -2.0), (8 / 12, -8 / 12, -1 / 12, 1 / 12)),
    "complex": ((1j,), (1.0,)),
}
"""Offsets t_m and weights w_m of each method (the complex step takes the imaginary part)."""

METHODS = tuple(STEPS)
