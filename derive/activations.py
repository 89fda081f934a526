"""Activation functions as a table: one row holds the SymPy definition and the printed names.

Every activation is a SymPy function ``f`` whose derivative is a second function ``f'``; the
derivation differentiates through ``f`` with SymPy's chain rule, exactly as the seed writes
sigma and sigma'. ``Activation.specialise`` then replaces ``f`` and ``f'`` by the definition and
by SymPy's derivative of the definition, so no derivative is ever written by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp

x = sp.Symbol("x", real=True)
_slope = sp.Symbol("alpha", nonnegative=True)

LEAKY_SLOPE = sp.Rational(1, 100)
"""The default slope of leaky_relu for z <= 0."""


def _function(name: str) -> tuple[type[sp.Function], type[sp.Function]]:
    """An undefined function ``name`` whose derivative is the undefined function ``name_prime``."""
    prime = type(f"{name}_prime", (sp.Function,), {"nargs": 1})

    def fdiff(self, argindex=1):
        return prime(self.args[0])

    return type(name, (sp.Function,), {"nargs": 1, "fdiff": fdiff}), prime


@dataclass(frozen=True)
class Activation:
    """One row of the activation table.

    ``definition(x, alpha)`` is the SymPy definition (``alpha`` is the leaky slope); ``latex`` is
    the name the seed's notation prints (``\\sigma`` for the sigmoid); ``analytic`` says whether the
    function is holomorphic, which complex-step differentiation needs. ``numpy`` and
    ``numpy_prime`` spell f(z) and f'(z) in NumPy without overflow or warnings at any finite z
    (``{alpha}`` stands for the slope): an expression, or a function body ending in ``return``,
    in ``z`` and ``out``. ``out`` is None or an array shaped like z (possibly z itself) whose
    values are no longer needed, which the result may be written into; the result is a new array
    or ``out``, never z itself otherwise, since the caller may reuse z's memory. Decorator lines
    (``@numpy.errstate(...)``) may open a body. ``numpy_pair``, where given, spells f(z) and
    f'(z) together for backpropagation, which needs both (a body returning both; f'(z) may go
    into ``out``): cheaper than the two when they share their work. ``output_prime`` writes f'
    in terms of the output a = f(z) where that is possible, so that a loss derivative can cancel
    against it.
    """

    name: str
    latex: str
    symbol: str
    definition: Callable[[sp.Expr, sp.Expr], sp.Expr]
    analytic: bool
    numpy: str
    numpy_prime: str
    output_prime: Callable[[sp.Expr], sp.Expr] | None = None
    numpy_pair: str | None = None
    function: type[sp.Function] = field(init=False, repr=False, compare=False)
    prime: type[sp.Function] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fn, prime = _function(self.symbol)
        object.__setattr__(self, "function", fn)
        object.__setattr__(self, "prime", prime)

    def expression(self, arg: sp.Expr, slope: sp.Expr = LEAKY_SLOPE) -> sp.Expr:
        """The definition applied to ``arg``."""
        return self.definition(x, _slope).subs({_slope: slope}).xreplace({x: arg})

    def derivative(self, arg: sp.Expr, slope: sp.Expr = LEAKY_SLOPE) -> sp.Expr:
        """SymPy's derivative of the definition, applied to ``arg``."""
        d = sp.diff(self.definition(x, _slope), x)
        return d.subs({_slope: slope}).xreplace({x: arg})

    def specialise(self, expr: sp.Basic, slope: sp.Expr = LEAKY_SLOPE) -> sp.Basic:
        """Replace ``f(u)`` and ``f'(u)`` in ``expr`` by the definition and its derivative."""
        return expr.replace(self.function, lambda u: self.expression(u, slope)).replace(
            self.prime, lambda u: self.derivative(u, slope)
        )


def _sigmoid(x, a):
    return 1 / (1 + sp.exp(-x))


def _relu(x, a):
    # The derivative at the kink z = 0 is 0: SymPy differentiates the x > 0 branch to 1, else 0.
    return sp.Piecewise((x, x > 0), (0, True))


def _leaky_relu(x, a):
    return sp.Piecewise((x, x > 0), (a * x, True))


# 1/(1 + e^-z) has no cancellation in either tail; e^-z = inf (z below -709 in float64, -88 in
# float32) gives exactly 0, so exp may overflow. errstate as a decorator costs about half of a
# with block per call, which small layers feel (it is per call and thread from NumPy 2.0; 1.26
# keeps one saved state per decorated function). One array, ``out`` where the caller has one to
# spare: the temporaries of large layers cost page faults. A division rather than
# numpy.reciprocal, which has no fast loop for float64.
_NP_SIGMOID = """@numpy.errstate(over="ignore")
e = numpy.negative(z, out=out)
numpy.exp(e, out=e)
e += 1.0
return numpy.divide(1.0, e, out=e)"""
# sigma'(z) = e^-z/(1 + e^-z)^2 = 1/(2 + 2 cosh z) and tanh'(z) = sech^2 z = 2/(1 + cosh 2z): one
# array and one transcendental call, nothing cancels in the tails (as 1 - tanh^2 would), and
# cosh = inf (|z| above 710 in float64, 89 in float32, half that for tanh) gives exactly 0.
_NP_SIGMOID_PRIME = """@numpy.errstate(over="ignore")
d = numpy.cosh(z, out=out)
d += 1.0
return numpy.divide(0.5, d, out=d)"""
_NP_TANH_PRIME = """@numpy.errstate(over="ignore")
d = numpy.multiply(z, 2.0, out=out)
numpy.cosh(d, out=d)
d += 1.0
return numpy.divide(2.0, d, out=d)"""
# Both from one exponential e = e^-z: sigma = 1/(1 + e) and sigma' = (e sigma) sigma, where
# e sigma = sigma(-z) has no cancellation either. Where e overflows (z below -709 in float64, -88
# in float32), e sigma is inf * 0 = NaN, and fmin, which passes over NaN, gives sigma' = sigma = 0
# there (elsewhere sigma' <= sigma). Two arrays: sigma' takes the one of e.
_NP_SIGMOID_PAIR = """@numpy.errstate(over="ignore", invalid="ignore")
e = numpy.negative(z, out=out)
numpy.exp(e, out=e)
a = e + 1.0
numpy.divide(1.0, a, out=a)
e *= a
e *= a
return a, numpy.fmin(e, a, out=e)"""
# relu'(z) as 1.0 and 0.0 in the dtype of z (a comparison alone gives booleans).
_NP_RELU_PRIME = """if out is None:
    out = numpy.empty_like(z)
return numpy.greater(z, 0.0, out=out)"""

ACTIVATIONS: dict[str, Activation] = {
    row.name: row
    for row in [
        Activation(
            "sigmoid",
            r"\sigma",
            "sigma",
            _sigmoid,
            analytic=True,
            numpy=_NP_SIGMOID,
            numpy_prime=_NP_SIGMOID_PRIME,
            output_prime=lambda a: a * (1 - a),
            numpy_pair=_NP_SIGMOID_PAIR,
        ),
        Activation(
            "tanh",
            r"\tanh",
            "tanh",
            lambda x, a: sp.tanh(x),
            analytic=True,
            numpy="numpy.tanh(z, out=out)",
            numpy_prime=_NP_TANH_PRIME,
            output_prime=lambda a: 1 - a**2,
        ),
        Activation(
            "relu",
            r"\operatorname{relu}",
            "relu",
            _relu,
            analytic=False,
            numpy="numpy.maximum(z, 0.0, out=out)",
            numpy_prime=_NP_RELU_PRIME,
        ),
        Activation(
            "leaky_relu",
            r"\operatorname{lrelu}",
            "lrelu",
            _leaky_relu,
            analytic=False,
            numpy="numpy.where(z > 0, z, {alpha} * z)",
            numpy_prime="numpy.where(z > 0, 1.0, {alpha}).astype(z.dtype)",
        ),
        Activation(
            "softplus",
            r"\operatorname{softplus}",
            "softplus",
            lambda x, a: sp.log(1 + sp.exp(x)),
            analytic=True,
            numpy="numpy.logaddexp(0.0, z, out=out)",
            numpy_prime=_NP_SIGMOID,
        ),
        Activation(
            "identity",
            r"\operatorname{id}",
            "identity",
            lambda x, a: x,
            analytic=True,
            # a new array (or out), not z itself: the generated code reuses z's memory later
            numpy="numpy.positive(z, out=out)",
            numpy_prime="numpy.ones_like(z)",
            output_prime=lambda a: sp.Integer(1),
        ),
    ]
}
"""Elementwise activations by CLI name. Adding an activation is adding a row."""

OUTPUT_ONLY = ("softmax",)
"""Activations that act on the whole output vector; a loss owns them (see ``LOSSES``)."""


def by_symbol() -> dict[str, Activation]:
    """The table keyed by the SymPy function name (``sigma``, ``tanh``, ...)."""
    return {row.symbol: row for row in ACTIVATIONS.values()}


class Softmax(sp.MatrixExpr):
    """Softmax down each column (one column per sample): a_ji = e^(z_ji) / sum_r e^(z_ri)."""

    def __new__(cls, arg: sp.MatrixExpr):
        return sp.Basic.__new__(cls, arg)

    @property
    def arg(self) -> sp.MatrixExpr:
        return self.args[0]

    @property
    def shape(self):
        return self.arg.shape

    def _entry(self, i, j, **kwargs):
        r = sp.Dummy("r", integer=True)
        total = sp.Sum(sp.exp(self.arg[r, j]), (r, 0, self.shape[0] - 1))
        return sp.exp(self.arg[i, j]) / total
