"""Hints: the common mistakes of a hand derivation, and the one a refuted claim matches.

``MISTAKES`` is a table, one row per mistake: its hint and the transformation that makes the
mistake in the truth. A refuted claim that equals one of the mistaken truths at every probe of
the counterexample search gets that row's hint; one that equals a constant multiple of the truth
at every probe is told the constant (``constant_multiple``). Adding a mistake = adding a row.

The mistakes of the loss's derivative (the cost left undifferentiated, sigma' kept where it
cancels) replace dC_0/da^(L) inside the truth: y enters the truth only through it, and it is
affine in y for the losses they apply to, so the replacement is a change of y
(``_with_output_gradient``). Entries a mistake brings in (w^(l+1) for w^(l), a^(l)_k for
a^(l-1)_k) are written as ``Indexed``, which the probe looks up by name and which may name a
unit that a network lacks: that probe is then skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache
from itertools import islice

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from ..activations import ACTIVATIONS
from ..losses import LOSSES, out_k, y_k
from ..notation import split_name
from ..rules import loss_rule
from ..spec import width_symbol
from .counterexample import TOLERANCE, OutOfRange, Probe, difference, is_real_value
from .truth import ProofTask

Variant = tuple[sp.Expr, dict[str, str]]
"""One way to make a mistake: the truth with it made, and the words its hint names."""


@dataclass(frozen=True)
class Mistake:
    """One common mistake: ``hint`` names it ({l} and {below} are the layers of the target, l
    and l-1, and a variant may add its own words); ``make`` gives the truth with the mistake
    made, once for each way it can be made (none when the target cannot show it)."""

    hint: str
    make: Callable[[ProofTask], list[Variant]]


def _entry(name: str, i: sp.Expr, j: sp.Expr = sp.S.Zero) -> sp.Indexed:
    """The entry (i, j) of the network's quantity ``name`` (``W3``, ``a2``, ``z1``), which a
    probe looks up by name: it may lie outside the network's units."""
    return sp.IndexedBase(name)[i, j]


def _quantity(e: sp.Basic) -> tuple[str, int] | None:
    """("W", 3) for an entry of W3, ("y", 0) for y; None for anything else."""
    if isinstance(e, MatrixElement):
        name = getattr(e.parent, "name", "")
    elif isinstance(e, sp.Indexed):
        name = str(e.base)
    else:
        return None
    return ("y", 0) if name == "y" else split_name(name)


def _name(e: MatrixElement | sp.Indexed) -> str:
    return e.parent.name if isinstance(e, MatrixElement) else str(e.base)


def _at(e: MatrixElement | sp.Indexed) -> tuple[sp.Expr, sp.Expr]:
    """The row and column of an entry."""
    return (e.i, e.j) if isinstance(e, MatrixElement) else e.indices


def as_entries(expr: sp.Expr) -> sp.Expr:
    """Every matrix entry of ``expr`` written as ``Indexed``: a mistake rebuilds much of the
    truth, and a new matrix entry checks its indices against the matrix's shape (symbolic
    comparisons, about a millisecond each)."""
    entries = {e: _entry(e.parent.name, e.i, e.j) for e in expr.atoms(MatrixElement)}
    return expr.xreplace(entries)


def _entries(expr: sp.Expr) -> set:
    return expr.atoms(MatrixElement, sp.Indexed)


def _layers_of(expr: sp.Expr, letter: str) -> list[int]:
    """The layers of the entries of ``letter`` (W, a, z) in ``expr``, in order."""
    return sorted({q[1] for e in _entries(expr) if (q := _quantity(e)) and q[0] == letter})


def _prime_layer(e: sp.Basic) -> int | None:
    """The layer m of sigma'(z^(m)_i), for a sigma' applied to an entry of z; else None."""
    if type(e) not in _PRIMES or not e.args:
        return None
    q = _quantity(e.args[0])
    return q[1] if q and q[0] == "z" else None


_PRIMES = {row.prime: row for row in ACTIVATIONS.values()}
"""sigma' of each elementwise activation, to its row."""


def _elementwise(task: ProofTask, layer: int):
    """The activation row of ``layer`` when it acts unit by unit (not a softmax), else None."""
    if not 1 <= layer <= task.spec.layers:
        return None
    return ACTIVATIONS.get(task.spec.activations[layer - 1])


def _neighbours(task: ProofTask, m: int) -> list[int]:
    return [n for n in (m - 1, m + 1) if 1 <= n <= task.spec.layers]


def _each(*exprs: sp.Expr) -> list[Variant]:
    """Variants whose hint needs no words of their own."""
    return [(e, {}) for e in exprs]


def _without_sigma_prime(task: ProofTask) -> list[Variant]:
    """Every sigma' dropped, then (with more than one layer's) the sigma' of one layer at a
    time."""
    layers = _prime_layers(task)
    tried = (None, *(layers if len(layers) > 1 else ()))
    return _each(*(_replace_primes(task.truth, m, lambda e: sp.Integer(1)) for m in tried))


def _prime_layers(task: ProofTask) -> list[int]:
    return sorted({m for e in task.truth.atoms(sp.Function) if (m := _prime_layer(e))})


def _replace_primes(expr: sp.Expr, layer: int | None, new: Callable) -> sp.Expr:
    """sigma'(z^(layer)) replaced by ``new(it)`` (every sigma' when ``layer`` is None)."""

    def hit(e) -> bool:
        m = _prime_layer(e)
        return m is not None and (layer is None or m == layer)

    return expr.replace(hit, new)


def _sigma_for_prime(task: ProofTask) -> list[Variant]:
    """sigma(z) written for sigma'(z): one layer at a time, then everywhere."""
    layers = _prime_layers(task)
    out = [(_replace_primes(task.truth, m, _unprimed), {"m": str(m)}) for m in layers]
    if len(layers) > 1:
        out.append((_replace_primes(task.truth, None, _unprimed), {"m": "l"}))
    return out


def _unprimed(e: sp.Expr) -> sp.Expr:
    return _PRIMES[type(e)].function(*e.args)


def _prime_of_another_layer(task: ProofTask) -> list[Variant]:
    """sigma'(z^(m)_i) written as sigma'(z^(m +- 1)_i), one layer m at a time."""
    out = []
    for m in _prime_layers(task):
        for n in _neighbours(task, m):
            row = _elementwise(task, n)
            if row is None:
                continue

            def moved(e, n=n, row=row):
                return row.prime(_entry(f"z{n}", _at(e.args[0])[0]))

            out.append((_replace_primes(task.truth, m, moved), {"m": str(m), "wrong": str(n)}))
    return out


def _weights_transposed(task: ProofTask) -> list[Variant]:
    """Every w^(m)_ij read as w^(m)_ji; then the weights of one layer at a time."""

    def swap(layer: int | None):
        def hit(e) -> bool:
            q = _quantity(e)
            return q is not None and q[0] == "W" and layer in (None, q[1])

        return task.truth.replace(hit, lambda e: _entry(_name(e), *reversed(_at(e))))

    layers = _layers_of(task.truth, "W")
    return _each(*(swap(m) for m in (None, *(layers if len(layers) > 1 else ()))))


def _weights_of_another_layer(task: ProofTask) -> list[Variant]:
    """w^(m)_ij written as w^(m +- 1)_ij, one layer m at a time; and where that puts w^(n) in
    a sum over its rows, the sum also as a claim's reader takes it, over the units of layer n."""
    out = []
    for m in _layers_of(task.truth, "W"):
        for n in _neighbours(task, m):

            def hit(e, m=m) -> bool:
                return _quantity(e) == ("W", m)

            def moved(e, n=n):
                return _entry(f"W{n}", *_at(e))

            words = {"m": str(m), "wrong": str(n), "below": str(m - 1)}
            mistaken = task.truth.replace(hit, moved)
            out.append((mistaken, words))
            # a claim's sum counts the units of the layer its index names most (ties: the
            # higher; claims.layer_of), so Ng's sum_j W^[3]_jk dZ^[2]_j for dA^[1]_k runs over
            # the rows of w^(3), the units of layer 3
            over_rows = _sums_over_rows(task, mistaken, n)
            if over_rows != mistaken:
                out.append((over_rows, words))
    return out


def _sums_over_rows(task: ProofTask, expr: sp.Expr, n: int) -> sp.Expr:
    """Each sum of ``expr`` whose index counts the rows of an entry of w^(n) in its body run
    over the units of layer n instead."""

    def rows_of_w(s: sp.Sum) -> bool:
        var = s.limits[0][0]
        return any(_quantity(e) == ("W", n) and _at(e)[0] == var for e in _entries(s.function))

    def over_rows(s: sp.Sum) -> sp.Expr:
        var, lo, _ = s.limits[0]
        return sp.Sum(s.function, (var, lo, task.spec.widths[n] - 1))

    return expr.replace(lambda e: isinstance(e, sp.Sum) and rows_of_w(e), over_rows)


def _without_sum(task: ProofTask) -> list[Variant]:
    """The summand of the outermost sums, their index made free under each letter the claim
    has beyond --wrt's."""
    return [
        (
            # xreplace: a sum inside a replaced one is kept (replace would strip it too)
            task.truth.xreplace(
                {s: s.function.xreplace({s.limits[0][0]: letter}) for s in task.truth.atoms(sp.Sum)}
            ),
            {},
        )
        for letter in sorted(task.extra, key=str)
    ]


def _sum_over_another_layer(task: ProofTask) -> list[Variant]:
    """One sum at a time run over the units of another layer: to n_m - 1 for each layer m whose
    width is not its own (a concrete bound is compared with the widths at each probe)."""
    out = []
    for s in task.truth.atoms(sp.Sum):
        var, lo, hi = s.limits[0]
        for m in range(task.spec.layers + 1):
            bound = width_symbol(m) - 1
            if hi in (bound, task.spec.widths[m] - 1):
                continue
            moved = sp.Sum(s.function, (var, lo, bound))
            out.append((task.truth.xreplace({s: moved}), {"wrong": str(m)}))
    return out


def _indices_swapped(task: ProofTask) -> list[Variant]:
    """For dC_0/dw^(l)_jk: j and k exchanged (a^(l-1)_j sigma'(z^(l)_k) ...)."""
    if task.target.quantity != "W" or not all(s.is_Symbol for s in task.free):
        return []
    j, k = task.free
    return _each(task.truth.xreplace({j: k, k: j}))


def _output_for_input(task: ProofTask) -> list[Variant]:
    """For dC_0/dw^(l): a^(l-1) replaced by a^(l), the layer's output taken for its input."""
    if task.target.quantity != "W":
        return []
    layer = task.target.layer

    def hit(e) -> bool:
        return _quantity(e) == ("a", layer - 1)

    return _each(task.truth.replace(hit, lambda e: _entry(f"a{layer}", _at(e)[0])))


def _input_missing(task: ProofTask) -> list[Variant]:
    """For dC_0/dw^(l)_jk: the factor a^(l-1)_k left out (the bias's formula)."""
    if task.target.quantity != "W":
        return []
    below, k = task.target.layer - 1, task.free[1]
    found = [e for e in _entries(task.truth) if _quantity(e) == ("a", below)]
    return _each(*(task.truth.xreplace({e: sp.Integer(1)}) for e in found if _at(e)[0] == k))


def _input_kept(task: ProofTask) -> list[Variant]:
    """For dC_0/db^(l)_j: the weight's formula copied, with its factor a^(l-1)_k (k a letter
    that --wrt does not name)."""
    if task.target.quantity != "b":
        return []
    below = task.target.layer - 1
    return _each(*(task.truth * _entry(f"a{below}", x) for x in sorted(task.extra, key=str)))


def _negated(task: ProofTask) -> list[Variant]:
    return _each(-task.truth)


def _per_output_mean(task: ProofTask) -> list[Variant]:
    """The truth divided by n_L, the number of outputs (the loss averaged over them), and
    multiplied by it."""
    n = width_symbol(task.spec.layers)
    return [(task.truth / n, {"times": "1/n_L of"}), (task.truth * n, {"times": "n_L times"})]


def _factor(task: ProofTask, c: sp.Rational) -> list[Variant]:
    """The truth times ``c`` where another row of the loss table is ``c`` times this loss (the
    truth of that loss): the claim is right in that row's convention."""
    return [(task.truth * c, words) for words in _conventions(task.spec.loss, c)]


def _half(task: ProofTask) -> list[Variant]:
    return _factor(task, sp.Rational(1, 2))


def _double(task: ProofTask) -> list[Variant]:
    return _factor(task, sp.Integer(2))


@cache
def _conventions(loss: str, c: sp.Expr) -> list[dict[str, str]]:
    """The losses of the table whose C_0 is ``c`` times ``loss``'s, each named with its term
    and this loss's term."""
    mine = LOSSES[loss].summand
    return [
        {"loss": name, "term": _term(row.summand), "mine": _term(mine), "current": loss}
        for name, row in LOSSES.items()
        if name != loss and sp.expand(row.summand - c * mine) == 0
    ]


def _term(summand: sp.Expr) -> str:
    """One output's term of C_0, in the claim language (a^(L)_j, y_j)."""
    named = summand.xreplace({out_k: sp.Symbol("a^(L)_j"), y_k: sp.Symbol("y_j")})
    return sp.sstr(named).replace("**", "^")


def _undifferentiated(task: ProofTask) -> list[Variant]:
    """dC_0/da^(L)_j replaced by C_0's own term for output j (the loss not differentiated)."""
    summand = LOSSES[task.spec.loss].summand
    return [(e, {"term": _term(summand)}) for e in _with_output_gradient(task, summand)]


def _prime_kept(task: ProofTask) -> list[Variant]:
    """Where the output layer's sigma' cancels against the denominator of dC_0/da^(L) (sigmoid
    and cross-entropy: delta^(L) = a - y), that cancelled form taken for dC_0/da^(L), so that
    sigma' is kept: (a - y) sigma'(z^(L))."""
    L = task.spec.layers
    row = _elementwise(task, L)
    if row is None or row.output_prime is None:
        return []
    rule = loss_rule(LOSSES[task.spec.loss])
    cancelled = sp.cancel(rule * row.output_prime(out_k))
    if not sp.denom(sp.together(rule)).has(out_k) or sp.denom(cancelled).has(out_k):
        return []
    words = {
        "loss": task.spec.loss,
        "activation": row.name,
        "prime": sp.sstr(row.output_prime(sp.Symbol("a"))).replace("**", "^"),
    }
    return [(e, words) for e in _with_output_gradient(task, cancelled)]


def _with_output_gradient(task: ProofTask, new: sp.Expr) -> list[sp.Expr]:
    """The truth with dC_0/da^(L)_i = g(a^(L)_i, y_i) replaced by ``new`` (in ``out_k`` and
    ``y_k``): each y_i becomes the y' with g(a, y') = new(a, y), which needs g affine in y
    (none for a loss of z^(L), or a Piecewise like huber's)."""
    loss = LOSSES[task.spec.loss]
    if loss.output_activation is not None:
        return []
    g = loss_rule(loss)
    slope = sp.diff(g, y_k)
    if g.has(sp.Piecewise) or slope.has(y_k) or slope == 0:
        return []
    y_new = sp.cancel((new - g.xreplace({y_k: 0})) / slope)
    L = task.spec.layers

    def hit(e) -> bool:
        return _quantity(e) == ("y", 0)

    def changed(e):
        return y_new.xreplace({out_k: _entry(f"a{L}", _at(e)[0]), y_k: e})

    return [task.truth.replace(hit, changed)]


MISTAKES: dict[str, Mistake] = {
    "sigma' missing": Mistake(
        "looks like sigma' is missing: a^(l) = sigma(z^(l)) puts the factor "
        "da/dz = sigma'(z^(l)) into every gradient below it",
        _without_sigma_prime,
    ),
    "sigma for sigma'": Mistake(
        "looks like sigma(z^({m})) is written where sigma'(z^({m})) belongs: a^({m}) = "
        "sigma(z^({m})) brings its derivative into the chain rule, not itself",
        _sigma_for_prime,
    ),
    "sigma' of the wrong layer": Mistake(
        "looks like sigma'(z^({wrong})) is written where sigma'(z^({m})) belongs: each unit's "
        "sigma' is taken at its own layer's z",
        _prime_of_another_layer,
    ),
    "cross-entropy's sigma' kept": Mistake(
        "looks like sigma'(z^(L)) is kept where it cancels: with --loss {loss} and a {activation} "
        "output, dC_0/da^(L)_j divides by sigma' = {prime}, so delta^(L)_j = dC_0/dz^(L)_j has "
        "no sigma' left",
        _prime_kept,
    ),
    "w_kj for w_jk": Mistake(
        "looks like w_kj is written for w_jk: w^(l)_jk joins unit k of layer l-1 to "
        "unit j of layer l",
        _weights_transposed,
    ),
    "the wrong layer's W": Mistake(
        "looks like w^({wrong}) is written where w^({m}) belongs: dz^({m})_i/da^({below})_k = "
        "w^({m})_ik carries the gradient from layer {m} down to layer {below}",
        _weights_of_another_layer,
    ),
    "j and k swapped": Mistake(
        "looks like j and k are swapped: in dC_0/dw^({l})_jk, j counts the units of layer {l} "
        "(z^({l})_j, b^({l})_j) and k those of layer {below} (a^({below})_k)",
        _indices_swapped,
    ),
    "sum over j missing": Mistake(
        "looks like the sum over j is missing: a^(l-1)_k feeds every unit j of layer "
        "l, so dC_0/da^(l-1)_k adds up the paths through all of them",
        _without_sum,
    ),
    "sum over the wrong layer's units": Mistake(
        "looks like a sum runs over the units of layer {wrong} (to n_{wrong} - 1) where another "
        "layer's belong: a sum over an index counts the units of the layer that index names "
        "inside it",
        _sum_over_another_layer,
    ),
    "a^(l) for a^(l-1)": Mistake(
        "looks like a^({l}) is written where a^({below}) belongs: "
        "dz^({l})_j/dw^({l})_jk = a^({below})_k, the input of the layer",
        _output_for_input,
    ),
    "a^(l-1)_k missing": Mistake(
        "looks like the factor a^({below})_k is missing: dz^({l})_j/dw^({l})_jk = "
        "a^({below})_k, the input the weight multiplies",
        _input_missing,
    ),
    "b copied from w": Mistake(
        "looks like the formula of dC_0/dw^({l})_jk is copied for the bias: "
        "dz^({l})_j/db^({l})_j = 1, so dC_0/db^({l})_j has no factor a^({below})_k",
        _input_kept,
    ),
    "sign flipped": Mistake(
        "your expression is -1 times the derivative: the sign is flipped (y - a written where "
        "a - y belongs?); dC_0/da^(L)_j grows with a^(L)_j - y_j",
        _negated,
    ),
    "factor 2 missing": Mistake(
        "your expression is exactly ½ of the derivative: the factor 2 of the square's "
        "derivative is missing, or you use the ½ convention, C_0 = sum_j {term}: for that, "
        "give --loss {loss}",
        _half,
    ),
    "factor 2 too many": Mistake(
        "your expression is exactly 2 times the derivative: --loss {current} is the ½ "
        "convention, C_0 = sum_j {mine}; for C_0 = sum_j {term}, give --loss {loss}",
        _double,
    ),
    "cost undifferentiated": Mistake(
        "looks like the loss itself is written where its derivative belongs: {term} is C_0's "
        "term for output j, and dC_0/da^(L)_j is its derivative by a^(L)_j",
        _undifferentiated,
    ),
    "sum versus mean": Mistake(
        "your expression is exactly {times} the derivative, n_L the number of outputs: C_0 "
        "sums the loss over the outputs j, and a mean over them divides by n_L (the mean over "
        "the samples, --cost, is no part of dC_0, the loss of one sample)",
        _per_output_mean,
    ),
}
"""The common mistakes, in the order they are tried: the first one the claim matches wins."""


def mistakes(task: ProofTask) -> Iterator[tuple[str, str, sp.Expr]]:
    """The mistakes the target can show, each as (its row's name, its hint, the truth with the
    mistake made), made one row at a time (the search stops at the first that matches)."""
    l = task.target.layer
    for name, row in MISTAKES.items():
        for mistaken, words in row.make(task):
            if mistaken != task.truth:
                yield name, row.hint.format(**{"l": l, "below": l - 1, **words}), mistaken


MOST_MISTAKES = 250
"""At most this many mistaken truths are tried, in the table's order, so that the search stays
a small part of a refutation's time: a 3-layer network has about 35, a 12-layer one 230."""


def find_hint(task: ProofTask, points: list[Probe]) -> str | None:
    """The first mistake that the claim equals at every one of ``points`` where both have a
    value (at least at ``points[0]``, where the claim and the truth differ), else the constant
    the claim is a multiple of the truth by (``constant_multiple``), else None."""
    values = []
    for p in points:
        try:
            values.append((p, p.evaluate(task.claimed), p.evaluate(task.truth)))
        except OutOfRange:
            continue
    if not values or difference(values[0][1], values[0][2]) <= TOLERANCE:
        return None
    tried = mistakes(replace(task, truth=as_entries(task.truth)))
    for _, hint, mistaken in islice(tried, MOST_MISTAKES):
        if _matches(mistaken, values):
            return hint
    return constant_multiple(task, values)


def _matches(mistaken: sp.Expr, values: list[tuple[Probe, sp.Expr, sp.Expr]]) -> bool:
    """The mistaken truth equals the claim at the first point and wherever else it has a value."""
    for n, (p, c, _) in enumerate(values):
        try:
            m = p.evaluate(mistaken)
        except OutOfRange:
            if n == 0:
                return False
            continue
        if difference(c, m) > TOLERANCE:
            return False
    return True


MULTIPLE_POINTS = 2
"""A constant factor is named when it holds at this many points at least where the truth is
not 0 (at one point, the ratio of two unrelated rationals would be a constant too)."""


def constant_multiple(task: ProofTask, values: list[tuple[Probe, sp.Expr, sp.Expr]]) -> str | None:
    """ "your expression is exactly c times the derivative" when claim = c * truth at every point
    of ``values`` (probe, claim, truth), c a small fraction; with the loss of the table whose
    convention that is, if any."""
    ratios = [c / t for _, c, t in values if abs(t) > TOLERANCE]
    if len(ratios) < MULTIPLE_POINTS or not all(is_real_value(r) for r in ratios):
        # a ratio that is not a finite real number (the claim undefined there) is no multiple
        return None
    c = sp.Rational(sp.Rational(str(ratios[0])).limit_denominator(100))
    if c in (0, 1) or any(difference(r, c) > TOLERANCE for r in ratios):
        return None
    if c == sp.Rational(1, 2):
        said = "your expression is exactly ½ of the derivative"
    else:
        said = f"your expression is exactly {c} times the derivative"
    if c == -1:
        return said + ": the sign is flipped"
    for words in _conventions(task.spec.loss, c):
        return said + f": the convention C_0 = sum_j {words['term']}; give --loss {words['loss']}"
    return said
