"""The stencil tables: one row per method, Richardson as the extrapolation of two centrals."""

import numpy as np

from bpverify.numeric.check import finite, stencils


def test_every_method_has_a_step_and_a_stencil_and_finite_shares_them():
    assert set(stencils.STEPS) == set(stencils.STENCILS) == set(stencils.METHODS)
    assert finite.STENCILS is stencils.STENCILS and finite.STEPS is stencils.STEPS


def test_richardson_is_four_thirds_of_central_at_h_minus_a_third_at_2h():
    f = np.exp
    h = 1e-2
    offsets, weights = stencils.STENCILS["richardson"]
    stencil = sum(w * f(t * h) for t, w in zip(offsets, weights, strict=True)) / h
    d1, d2 = (f(h) - f(-h)) / (2 * h), (f(2 * h) - f(-2 * h)) / (4 * h)
    assert stencil == np.float64((4 * d1 - d2) / 3) or abs(stencil - (4 * d1 - d2) / 3) < 1e-13
    assert abs(stencil - 1.0) < 1e-8  # error h^4 / 30
