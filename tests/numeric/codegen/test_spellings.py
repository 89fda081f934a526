"""Each activation's NumPy spelling against its SymPy definition, across both tails."""

import numpy as np
import pytest
import sympy as sp

from bpverify.derive import ACTIVATIONS

Z = np.array([-700.0, -40.0, -5.0, -0.5, -1e-8, 0.25, 3.0, 30.0, 700.0])


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("prime", [False, True], ids=["f", "f'"])
def test_spelling_matches_the_definition(name, prime, helper):
    act = ACTIVATIONS[name]
    f = helper(name, act.symbol + ("_prime" if prime else ""))
    got = f(Z.copy())
    x = sp.Symbol("x", real=True)
    exact = act.derivative(x) if prime else act.expression(x)
    for z, value in zip(Z, got, strict=True):
        # 400 digits: log(1 + e^-700) needs more than 300 to keep its e^-700.
        want = float(sp.N(exact.subs(x, sp.Float(z, 400)), 400))
        # Relative accuracy of a few ulp where the value is a normal float64; values below the
        # smallest normal number may round to 0.
        assert value == pytest.approx(want, rel=4e-15, abs=2.3e-308), (z, value, want)
