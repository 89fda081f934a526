"""``Exact``: the derived rules evaluated in mpmath, to 30 digits and more; values at the kink."""

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

from bpverify.derive import NetworkSpec
from bpverify.numeric.check.exact import REFERENCE_DIGITS, Exact, Unrolled, mp_matmul, to_mp
from bpverify.numeric.check.run import check_gradients, random_point
from bpverify.numeric.codegen.program import Program

# -- an independent reference: per-sample backprop in plain mpmath -------------------------------


def _sigmoid(z):
    return 1 / (1 + mpmath.exp(-z))


def _reference(params, X, Y, layers):
    """dC/dW, dC/db and dC/da0 of a sigmoid network with the squared loss, C the mean over the
    samples of sum_j (a_j - y_j)^2, sample by sample at the current mpmath precision."""
    mp = {
        k: [[mpmath.mpf(float(v)) for v in row] for row in np.atleast_2d(p)]
        for k, p in params.items()
    }
    n = len(X)
    W = {l: mp[f"W{l}"] for l in range(1, layers + 1)}
    b = {l: mp[f"b{l}"][0] for l in range(1, layers + 1)}
    gW = {l: [[mpmath.mpf(0)] * len(W[l][0]) for _ in W[l]] for l in W}
    gb = {l: [mpmath.mpf(0)] * len(W[l]) for l in W}
    ga0 = []
    for x, y in zip(X, Y, strict=True):
        a = {0: [mpmath.mpf(float(v)) for v in x]}
        for l in range(1, layers + 1):
            z = [
                mpmath.fsum(w * v for w, v in zip(row, a[l - 1], strict=True)) + bj
                for row, bj in zip(W[l], b[l], strict=True)
            ]
            a[l] = [_sigmoid(v) for v in z]
        d = [
            2 * (aj - mpmath.mpf(float(yj))) * aj * (1 - aj) / n
            for aj, yj in zip(a[layers], y, strict=True)
        ]
        for l in range(layers, 0, -1):
            for j, dj in enumerate(d):
                gb[l][j] += dj
                for k, ak in enumerate(a[l - 1]):
                    gW[l][j][k] += dj * ak
            da = [
                mpmath.fsum(W[l][j][k] * d[j] for j in range(len(d))) for k in range(len(a[l - 1]))
            ]
            if l == 1:
                ga0.append(da)
            else:
                d = [dk * ak * (1 - ak) for dk, ak in zip(da, a[l - 1], strict=True)]
    out = {}
    for l in W:
        out[f"W{l}"] = np.array(gW[l], dtype=object)
        out[f"b{l}"] = np.array(gb[l], dtype=object)
    out["dC_da0"] = np.array(ga0, dtype=object)
    return out


SPEC = NetworkSpec(2, (2, 3, 2), "sigmoid")


def _tiny_point(seed=0, batch=3):
    # batch 3: the mean's 1/3 is not a binary fraction
    return random_point(SPEC, np.random.default_rng(seed), batch)


def _max_rel(got, want) -> float:
    scale = max(abs(v) for v in want.ravel())
    return float(max(abs(g - w) for g, w in zip(got.ravel(), want.ravel(), strict=True)) / scale)


def test_gradients_mp_are_good_to_more_than_30_digits():
    p = _tiny_point()
    with mpmath.workdps(REFERENCE_DIGITS):
        got = Exact(SPEC).gradients_mp(p.params, p.X, p.Y)
    with mpmath.workdps(70):
        want = _reference(p.params, p.X, p.Y, SPEC.layers)
        for key in want:
            assert _max_rel(got[key], want[key]) < mpmath.mpf(10) ** -31, key
    assert REFERENCE_DIGITS >= 30


def test_the_reference_tells_30_digits_from_float64():
    # the comparison above is not vacuous: float64 values are ~1e-16 off the reference
    p = _tiny_point()
    rounded = Exact(SPEC).gradients(p.params, p.X, p.Y)
    with mpmath.workdps(70):
        want = _reference(p.params, p.X, p.Y, SPEC.layers)
        errors = [_max_rel(to_mp(rounded[k]), want[k]) for k in want]
    assert max(errors) > mpmath.mpf(10) ** -25


def test_more_digits_when_asked_for():
    p = _tiny_point()
    exact = Exact(SPEC, digits=60)
    with mpmath.workdps(60):
        got = exact.gradients_mp(p.params, p.X, p.Y)
    with mpmath.workdps(100):
        want = _reference(p.params, p.X, p.Y, SPEC.layers)
        for key in want:
            # Exact(digits=60) should give ~60 digits; constants such as the mean's 1/n must be
            # evaluated at that precision too
            assert _max_rel(got[key], want[key]) < mpmath.mpf(10) ** -55, key


def test_gradients_are_float64_with_the_public_shapes():
    p = _tiny_point(batch=5)
    g = Exact(SPEC).gradients(p.params, p.X, p.Y)
    assert {k: v.shape for k, v in g.items()} == {
        "W1": (3, 2),
        "b1": (3,),
        "W2": (2, 3),
        "b2": (2,),
        "dC_da0": (5, 2),
        "dC_da1": (5, 3),
    }
    assert all(v.dtype == np.float64 for v in g.values())


@pytest.mark.parametrize(
    "spec",
    [
        NetworkSpec(3, (3, 4, 4, 2), "tanh"),
        NetworkSpec(2, (3, 4, 2), ("relu", "sigmoid"), "cross-entropy"),
        NetworkSpec(2, (3, 4, 3), "softplus", "softmax-cross-entropy"),
    ],
    ids=lambda s: s.describe(),
)
def test_gradients_agree_with_the_generated_code(spec):
    p = random_point(spec, np.random.default_rng(3))
    want = Exact(spec).gradients(p.params, p.X, p.Y)
    got = Program(spec).gradients(p.params, p.X, p.Y, activations=True)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-14, err_msg=key)


def test_softmax_cross_entropy_bias_gradient_is_the_mean_of_p_minus_y():
    spec = NetworkSpec(1, (2, 3), "softmax", "softmax-cross-entropy")
    p = random_point(spec, np.random.default_rng(4), batch=3)
    with mpmath.workdps(REFERENCE_DIGITS):
        got = Exact(spec).gradients_mp(p.params, p.X, p.Y)["b1"]
    with mpmath.workdps(60):
        W, b = to_mp(p.params["W1"]), to_mp(p.params["b1"])
        total = np.array([mpmath.mpf(0)] * 3, dtype=object)
        for x, y in zip(to_mp(p.X), to_mp(p.Y), strict=True):
            e = np.array([mpmath.exp(v) for v in W @ x + b], dtype=object)
            total = total + (e / sum(e) - y) / 3
        assert _max_rel(got, total) < mpmath.mpf(10) ** -31


# -- mp_matmul against exact rational products ---------------------------------------------------


def _fraction(x) -> Fraction:
    """The exact value of an mpf."""
    sign, man, exp, _ = x._mpf_
    return (-1) ** sign * Fraction(int(man)) * Fraction(2) ** int(exp)


def test_mp_matmul_is_correctly_rounded():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((3, 4)) * 2.0 ** rng.integers(-30, 30, (3, 4))
    B = rng.standard_normal((4, 2)) * 2.0 ** rng.integers(-30, 30, (4, 2))
    with mpmath.workdps(REFERENCE_DIGITS):
        got = mp_matmul(to_mp(A), to_mp(B))
        prec = mpmath.mp.prec
    assert got.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            want = sum(Fraction(A[i, k]) * Fraction(B[k, j]) for k in range(4))
            assert abs(_fraction(got[i, j]) - want) <= abs(want) * Fraction(1, 2**prec)


def test_mp_matmul_keeps_digits_float64_loses_to_cancellation():
    A = np.array([[1.0, 1e-17, -1.0]])
    B = np.array([[3.0], [3.0], [3.0]])
    with mpmath.workdps(REFERENCE_DIGITS):
        got = mp_matmul(to_mp(A), to_mp(B))[0, 0]
    assert _fraction(got) == 3 * Fraction(1e-17)  # exact; float64 gives 0
    assert (1.0 * 3.0 + 1e-17 * 3.0) + -1.0 * 3.0 == 0.0


def test_mp_matmul_returns_mpf_entries():
    with mpmath.workdps(REFERENCE_DIGITS):
        got = mp_matmul(to_mp(np.eye(2)), to_mp(np.zeros((2, 2))))
    assert all(isinstance(v, mpmath.mpf) and v == 0 for v in got.ravel())


# -- the derivative at the kink ------------------------------------------------------------------


def _at_kink():
    """A 1-1-1 network whose hidden pre-activation is exactly 0: z1 = 1 * 1 + (-1)."""
    params = {
        "W1": np.array([[1.0]]),
        "b1": np.array([-1.0]),
        "W2": np.array([[0.5]]),
        "b2": np.array([0.75]),
    }
    # dC/da1 = 2 (b2 - y) W2 = 0.5, since a1 = 0 whatever the slope
    return params, np.array([[1.0]]), np.array([[0.25]])


def test_relu_derivative_at_the_kink_is_zero():
    spec = NetworkSpec(2, (1, 1, 1), ("relu", "identity"))
    params, X, Y = _at_kink()
    for g in (
        Exact(spec).gradients(params, X, Y),
        Program(spec).gradients(params, X, Y, activations=True),
    ):
        assert g["dC_da1"][0, 0] == 0.5  # the zeros below come from relu'(0), not from upstream
        assert g["W1"][0, 0] == 0.0 and g["b1"][0] == 0.0 and g["dC_da0"][0, 0] == 0.0


@pytest.mark.parametrize("slope", [sp.Rational(1, 4), sp.Rational(1, 100)])
def test_leaky_relu_derivative_at_the_kink_is_the_slope(slope):
    spec = NetworkSpec(2, (1, 1, 1), ("leaky_relu", "identity"), leaky_slope=slope)
    params, X, Y = _at_kink()
    want = 0.5 * float(slope)
    for g in (
        Exact(spec).gradients(params, X, Y),
        Program(spec).gradients(params, X, Y, activations=True),
    ):
        assert g["W1"][0, 0] == pytest.approx(want, rel=1e-15)
        assert g["b1"][0] == pytest.approx(want, rel=1e-15)
        assert g["dC_da0"][0, 0] == pytest.approx(want, rel=1e-15)  # times W1 = 1


# -- the written-out second ground truth ---------------------------------------------------------


def test_unrolled_agrees_with_exact():
    spec = NetworkSpec(2, (2, 2, 1), "tanh")
    p = random_point(spec, np.random.default_rng(6), batch=2)
    want = Exact(spec).gradients(p.params, p.X, p.Y)
    got = Unrolled(spec, 2).gradients(p.params, p.X, p.Y)
    assert set(got) <= set(want) and {"W1", "b1", "W2", "b2", "dC_da0"} <= set(got)
    for key in got:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-14, atol=1e-300, err_msg=key)


def test_unrolled_refuses_large_networks():
    with pytest.raises(ValueError, match="parameters"):
        Unrolled(NetworkSpec(2, (10, 10, 10), "tanh"), 2)


def test_check_with_unrolled_adds_a_passing_row_per_tensor():
    report = check_gradients((2, 2, 1), activation="tanh", unrolled=True, points=1, batch=2)
    rows = [c for c in report.comparisons if c.pair == ("symbolic", "unrolled")]
    assert report.passed, report.table()
    assert {c.tensor for c in rows} == {"W1", "b1", "W2", "b2", "dC_da0"}


@pytest.mark.parametrize("cost", ["mean", "sum"])
def test_the_rules_of_a_convention_agree_with_its_unrolled_cost(cost):
    # the penalty and the sum over samples reach the 34-digit reference through the rules alone;
    # the written-out cost is differentiated separately, so both must carry the convention
    spec = NetworkSpec(2, (2, 3, 2), "tanh", cost=cost, l2=sp.Rational(1, 10))
    p = random_point(spec, np.random.default_rng(4), 3)
    exact = Exact(spec).gradients(p.params, p.X, p.Y)
    unrolled = Unrolled(spec, 3).gradients(p.params, p.X, p.Y)
    for key, want in unrolled.items():
        np.testing.assert_allclose(exact[key], want, rtol=1e-14, atol=1e-300)
    plain = Exact(NetworkSpec(2, (2, 3, 2), "tanh", cost=cost)).gradients(p.params, p.X, p.Y)
    scale = 1 / 3 if cost == "mean" else 1
    # each side rounded once to float64: their difference is exact to a few ulps of the larger
    ulps = 4 * np.finfo(float).eps * np.max(np.abs(exact["W1"]))
    np.testing.assert_allclose(exact["W1"] - plain["W1"], scale * p.params["W1"] / 10, atol=ulps)
    np.testing.assert_array_equal(exact["b1"], plain["b1"])
