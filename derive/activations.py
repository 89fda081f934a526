"""Activation functions as a table: one row holds everything known about one activation.

Every activation is a SymPy function ``f`` whose derivative is a second function ``f'``; the
derivation differentiates through ``f`` with SymPy's chain rule, exactly as the seed writes
sigma and sigma'. ``Activation.specialise`` then replaces ``f`` and ``f'`` by the definition and
by SymPy's derivative of the definition, so no derivative is ever written by hand. Besides the
definition a row holds what the rest of the package asks of an activation (its flags, its
initialisation, the values it takes, its NumPy spellings), so that adding an activation is
adding a row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp
from sympy.codegen.cfunctions import expm1
from sympy.printing.numpy import NumPyPrinter

x = sp.Symbol("x", real=True)
_slope = sp.Symbol("alpha", nonnegative=True)

LEAKY_SLOPE = sp.Rational(1, 100)
"""The default slope of leaky_relu for z <= 0."""

DEFAULT_ACTIVATION = "sigmoid"
"""The activation of every layer when none is given."""

INITIALISATIONS = {
    "xavier": "Xavier/Glorot normal, std sqrt(2 / (fan_in + fan_out))",
    "he": "He normal, std sqrt(2 / fan_in)",
}
"""The initialisation rules a row may name (``numeric.init`` draws them)."""


def _function(name: str) -> tuple[type[sp.Function], type[sp.Function]]:
    """An undefined function ``name`` whose derivative is the undefined function ``name_prime``."""
    prime = type(f"{name}_prime", (sp.Function,), {"nargs": 1})

    def fdiff(self, argindex=1):
        return prime(self.args[0])

    return type(name, (sp.Function,), {"nargs": 1, "fdiff": fdiff}), prime


def boundaries(expr: sp.Basic) -> tuple[sp.Expr, ...]:
    """Where the branches of every Piecewise in ``expr`` meet: lhs - rhs of each comparison in
    its conditions, an expression whose sign changes there (``x`` for relu's ``x > 0``)."""
    found: dict[sp.Expr, None] = {}
    for piecewise in expr.atoms(sp.Piecewise):
        for _, cond in piecewise.args:
            for rel in cond.atoms(sp.core.relational.Relational):
                found[rel.lhs - rel.rhs] = None
    return tuple(found)


class DefinitionPrinter(NumPyPrinter):
    """NumPy's printer for the table's definitions: a two-branch Piecewise (relu) as
    ``numpy.where`` (``select`` costs ten times as much on small arrays), and the leaky slope
    as the ``{alpha}`` of a spelling."""

    def _print_Piecewise(self, expr):
        if len(expr.args) != 2 or expr.args[1].cond is not sp.true:
            return super()._print_Piecewise(expr)
        (value, cond), (other, _) = expr.args
        return f"numpy.where({self._print(cond)}, {self._print(value)}, {self._print(other)})"

    def _print_Symbol(self, expr):
        return "{alpha}" if expr == _slope else super()._print_Symbol(expr)


def _spelling(expr: sp.Expr) -> str:
    """A spelling printed by SymPy: ``expr`` (in ``x``) as a function body in ``z``. Each branch
    of a Piecewise is computed everywhere, so overflow and NaN in a branch that is not selected
    are silenced; a constant fills an array shaped like z."""
    printer = DefinitionPrinter({"fully_qualified_modules": True})
    text = printer.doprint(expr.xreplace({x: sp.Symbol("z", real=True)}))
    if not expr.has(x):
        text = f"numpy.full_like(z, {text})"
    return f'@numpy.errstate(over="ignore", invalid="ignore")\nreturn {text}'


@dataclass(frozen=True)
class Activation:
    """One row of the activation table.

    ``definition(x, alpha)`` is the SymPy definition (``alpha`` is the leaky slope); ``latex`` is
    the name the seed's notation prints (``\\sigma`` for the sigmoid) and ``symbol`` the name of
    its SymPy function and of the generated code's helpers (``sigma``, ``sigma_prime``).

    What the rest of the package asks of it:

    - ``analytic``: the function is holomorphic, which complex-step differentiation needs.
    - ``kinked``: a derivative of f jumps where the branches of its Piecewise meet (f' at 0 for
      relu and leaky_relu; f'' for elu): a finite difference across such a point mixes the two
      sides, so the check leaves it out (``kinks()`` says where).
    - ``init``: the initialisation rule of a layer with this activation, a key of
      ``INITIALISATIONS``.
    - ``values``: an interval holding every value f takes (a loss that needs outputs in (0, 1)
      accepts the activations whose values lie there).
    - ``rational``: f and f' are rational at rational points, so that the self-check compares
      exactly there.

    ``numpy`` and ``numpy_prime`` spell f(z) and f'(z) in NumPy without overflow or warnings at
    any finite z (``{alpha}`` stands for the slope): an expression, or a function body ending in
    ``return``, in ``z`` and ``out``. ``out`` is None or an array shaped like z (possibly z
    itself) whose values are no longer needed, which the result may be written into; the result
    is a new array or ``out``, never z itself otherwise, since the caller may reuse z's memory.
    Decorator lines (``@numpy.errstate(...)``) may open a body. A row that gives no spelling gets
    SymPy's NumPy printing of the definition and of its derivative (``_spelling``): correct, but
    without the care of a written one in the tails. ``numpy_pair``, where given, spells f(z) and
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
    init: str
    values: sp.Interval
    kinked: bool = False
    rational: bool = False
    numpy: str | None = None
    numpy_prime: str | None = None
    output_prime: Callable[[sp.Expr], sp.Expr] | None = None
    numpy_pair: str | None = None
    function: type[sp.Function] = field(init=False, repr=False, compare=False)
    prime: type[sp.Function] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.init not in INITIALISATIONS:
            raise ValueError(f"{self.name}: init {self.init!r} is none of {list(INITIALISATIONS)}")
        fn, prime = _function(self.symbol)
        object.__setattr__(self, "function", fn)
        object.__setattr__(self, "prime", prime)
        definition = self.definition(x, _slope)
        if self.numpy is None:
            object.__setattr__(self, "numpy", _spelling(definition))
        if self.numpy_prime is None:
            object.__setattr__(self, "numpy_prime", _spelling(sp.diff(definition, x)))

    def kinks(self, slope: sp.Expr = LEAKY_SLOPE) -> tuple[sp.Expr, ...]:
        """Expressions in ``x`` whose sign changes where a derivative of f jumps."""
        return boundaries(self.expression(x, slope))

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


def _gelu(x, a):
    # the tanh form of GELU, x Phi(x) with Phi ~ (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2
    return x / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + sp.Rational(44715, 10**6) * x**3)))


def _silu(x, a):
    return x / (1 + sp.exp(-x))


def _elu(x, a):
    # alpha = 1; expm1 is e^x - 1 without its cancellation near 0, and SymPy prints it as such
    return sp.Piecewise((x, x > 0), (expm1(x), True))


# (1 + tanh u) / 2 = sigma(2u): gelu(z) = z sigma(2u) and gelu'(z) = sigma(2u) + z (2u)'
# sigma'(2u), spelt as the sigmoid's are, with 2u = 1.59... z + 0.0713... z^3 and (2u)' =
# 1.59... + 0.214... z^2 (sqrt(2/pi) and 0.044715 folded in, correctly rounded). e^-2u = inf
# gives gelu = -0 (z below about -21); beyond |z| = 1e4, where z^3 would overflow and gelu' is 0
# or 1 to every digit, gelu' reads z as +-1e4.
_NP_GELU = """@numpy.errstate(over="ignore")
t = numpy.multiply(z, z)
t *= -0.07135481627260025
t -= 1.5957691216057308
t *= z
numpy.exp(t, out=t)
t += 1.0
return numpy.divide(z, t, out=t)"""
_NP_GELU_PRIME = """@numpy.errstate(over="ignore")
z = numpy.clip(z, -1e4, 1e4)
z2 = numpy.multiply(z, z)
s = z2 * 0.07135481627260025
s += 1.5957691216057308
s *= z
d = numpy.cosh(s)
d *= 2.0
d += 2.0
z2 *= 0.21406444881780073
z2 += 1.5957691216057308
z2 *= z
numpy.divide(z2, d, out=z2)
numpy.negative(s, out=s)
numpy.exp(s, out=s)
s += 1.0
numpy.divide(1.0, s, out=s)
return numpy.add(s, z2, out=z2)"""
# silu(z) = z sigma(z) and silu'(z) = sigma(z) + z sigma'(z), with sigma' = 1/(2 + 2 cosh z):
# no cancellation in either tail (e^-z or cosh = inf gives exactly 0).
_NP_SILU = """@numpy.errstate(over="ignore")
e = numpy.negative(z)
numpy.exp(e, out=e)
e += 1.0
return numpy.divide(z, e, out=e)"""
_NP_SILU_PRIME = """@numpy.errstate(over="ignore")
d = numpy.cosh(z)
d *= 2.0
d += 2.0
numpy.divide(z, d, out=d)
e = numpy.negative(z)
numpy.exp(e, out=e)
e += 1.0
numpy.divide(1.0, e, out=e)
return numpy.add(d, e, out=d)"""


ACTIVATIONS: dict[str, Activation] = {
    row.name: row
    for row in [
        Activation(
            "sigmoid",
            r"\sigma",
            "sigma",
            _sigmoid,
            analytic=True,
            init="xavier",
            values=sp.Interval.open(0, 1),
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
            init="xavier",
            values=sp.Interval.open(-1, 1),
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
            init="he",
            values=sp.Interval(0, sp.oo),
            kinked=True,
            rational=True,
            numpy="numpy.maximum(z, 0.0, out=out)",
            numpy_prime=_NP_RELU_PRIME,
        ),
        Activation(
            "leaky_relu",
            r"\operatorname{lrelu}",
            "lrelu",
            _leaky_relu,
            analytic=False,
            init="he",
            values=sp.Reals,
            kinked=True,
            rational=True,
            numpy="numpy.where(z > 0, z, {alpha} * z)",
            numpy_prime="numpy.where(z > 0, 1.0, {alpha}).astype(z.dtype)",
        ),
        Activation(
            "softplus",
            r"\operatorname{softplus}",
            "softplus",
            lambda x, a: sp.log(1 + sp.exp(x)),
            analytic=True,
            init="he",
            values=sp.Interval.open(0, sp.oo),
            numpy="numpy.logaddexp(0.0, z, out=out)",
            numpy_prime=_NP_SIGMOID,
        ),
        Activation(
            "identity",
            r"\operatorname{id}",
            "identity",
            lambda x, a: x,
            analytic=True,
            init="xavier",
            values=sp.Reals,
            rational=True,
            # a new array (or out), not z itself: the generated code reuses z's memory later
            numpy="numpy.positive(z, out=out)",
            numpy_prime="numpy.ones_like(z)",
            output_prime=lambda a: sp.Integer(1),
        ),
        Activation(
            "gelu",
            r"\operatorname{gelu}",
            "gelu",
            _gelu,
            analytic=True,
            init="he",
            # the minimum, -0.170 at z = -0.75, rounded down
            values=sp.Interval(-sp.Rational(171, 1000), sp.oo),
            numpy=_NP_GELU,
            numpy_prime=_NP_GELU_PRIME,
        ),
        Activation(
            "silu",
            r"\operatorname{silu}",
            "silu",
            _silu,
            analytic=True,
            init="he",
            # the minimum, -0.2785 at z = -1.278, rounded down
            values=sp.Interval(-sp.Rational(279, 1000), sp.oo),
            numpy=_NP_SILU,
            numpy_prime=_NP_SILU_PRIME,
        ),
        Activation(
            "elu",
            r"\operatorname{elu}",
            "elu",
            _elu,
            analytic=False,
            init="he",
            values=sp.Interval.open(-1, sp.oo),
            kinked=True,
        ),
    ]
}
"""Elementwise activations by CLI name. Adding an activation is adding a row."""


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


def by_symbol() -> dict[str, Activation]:
    """The table keyed by the SymPy function name (``sigma``, ``tanh``, ...)."""
    return {row.symbol: row for row in ACTIVATIONS.values()}


def _softmax_entry(z: sp.IndexedBase, k: sp.Expr, N: sp.Expr) -> sp.Expr:
    # i as in the loss table's softmax cross-entropy, so that the two sums are the same
    i = sp.Symbol("i", integer=True)
    return sp.exp(z[k]) / sp.Sum(sp.exp(z[i]), (i, 0, N - 1))


@dataclass(frozen=True)
class OutputActivation:
    """One row of the table of activations of the whole output column: a loss that takes the
    logits z^(L) owns one of them (softmax for softmax cross-entropy), which is not elementwise.

    ``entry(z, k, N)`` is output k of the logits z[0], ..., z[N-1] as a SymPy ratio (the loss
    rule writes its derivative in the output by replacing the ratio's numerator); ``matrix``
    is the matrix expression that applies it down each column; ``numpy`` spells that for a
    matrix z with one sample per column, as a function body (the generated code's helper
    ``symbol``); ``init`` and ``rational`` mean what they mean for ``Activation``.
    ``min_width`` is the fewest outputs it takes: a softmax of one output is 1 whatever its
    logit, so a network ending in one would have a constant loss and no gradient to derive.
    """

    name: str
    symbol: str
    entry: Callable[[sp.IndexedBase, sp.Expr, sp.Expr], sp.Expr]
    matrix: type[sp.MatrixExpr]
    numpy: str
    init: str
    rational: bool = False
    min_width: int = 1

    def column(self, z: list[sp.Expr], exp=sp.exp) -> list[sp.Expr]:
        """The outputs of one column of logits ``z`` written out, with ``exp`` for e^u."""
        base, k = sp.IndexedBase("z"), sp.Symbol("k", integer=True)
        entry = self.entry(base, k, len(z)).doit().replace(sp.exp, exp)
        values = {base[r]: v for r, v in enumerate(z)}
        return [entry.xreplace({k: r}).xreplace(values) for r in range(len(z))]


# shifted by the column maximum, so that no exponential overflows
_NP_SOFTMAX = """e = numpy.exp(z - numpy.max(z, axis=0, keepdims=True))
return e / numpy.sum(e, axis=0, keepdims=True)"""

OUTPUT_ACTIVATIONS: dict[str, OutputActivation] = {
    row.name: row
    for row in [
        OutputActivation(
            "softmax",
            "softmax",
            _softmax_entry,
            Softmax,
            numpy=_NP_SOFTMAX,
            init="xavier",
            min_width=2,
        ),
    ]
}
"""Activations of the whole output column by name; a loss owns them (see ``LOSSES``)."""


def output_activation_of(matrix: sp.MatrixExpr) -> OutputActivation:
    """The row whose ``matrix`` ``matrix`` is (``Softmax(z)`` -> softmax)."""
    return next(row for row in OUTPUT_ACTIVATIONS.values() if isinstance(matrix, row.matrix))


def activation_row(name: str) -> Activation | OutputActivation:
    """The row of an activation of either table; KeyError naming the valid ones otherwise."""
    row = ACTIVATIONS.get(name) or OUTPUT_ACTIVATIONS.get(name)
    if row is None:
        valid = ", ".join([*ACTIVATIONS, *OUTPUT_ACTIVATIONS])
        raise KeyError(f"unknown activation {name!r}: choose one of {valid}")
    return row
