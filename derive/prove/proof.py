"""The symbolic proof: claim - truth reduced to 0, with more definitions at each stage.

The stages, cheapest first (``proof_stages``):

1. as written: a, z, w, b, y and every sigma(...), sigma'(...) independent symbols;
2. sigma' by the output: sigma'(z^(l)_i) replaced by f'(a^(l)_i) where the activation's
   derivative is a function of its output (sigmoid a(1 - a), tanh 1 - a^2);
3. a^(l) = sigma(z^(l)) substituted;
4. sigma written out by its definition.

Stages 2 and 4 prove the claim for that activation only, and say so. Each stage is a zero test
(``vanishes``): sums over the units of a layer are merged, then the rest is put over one
denominator and cancelled, which decides every identity between rational functions of the
symbols and of the applied functions; in stages 3 and 4 only, the functions with a definition
(exp, tanh, a Piecewise: the written-out definitions, the softmax's and the claim's own
exponentials) also get SymPy's ``simplify``. A claim that would expand to more terms than the
``terms`` limit is not tried at all (``too_large``).
"""

from __future__ import annotations

from collections.abc import Iterator
from math import comb

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from ..activations import ACTIVATIONS, OUTPUT_ACTIVATIONS
from ..limits import LIMITS
from ..losses import LOSSES, SIMPLEX
from ..notation import layer_name, split_name
from ..spec import NetworkSpec
from .branches import Indicator, as_indicators
from .truth import ProofTask

_OPAQUE = frozenset(
    {Indicator, *(kind for row in ACTIVATIONS.values() for kind in (row.function, row.prime))}
)
"""sigma and sigma' of every activation (functions without a definition until ``specialise``)
and the indicators of branches: symbols to the zero test, never simplified."""

CHEAP = 2
"""The first stages, rational-function tests of milliseconds, are tried before the counterexample
search; the later ones write out definitions and may take seconds."""


def proof_stages(task: ProofTask) -> Iterator[str | None]:
    """Try to prove claim - truth = 0, substituting more definitions at each step; yields ""
    (proved as written), a note naming the substitution that proved it, or None (not yet)."""
    spec = task.spec
    diff = task.claimed - task.truth
    yield "" if vanishes(diff, rational=True) else None
    by_output, used = _primes_by_output(spec, diff)
    if used and vanishes(by_output, rational=True):
        formulas = "; ".join(f"{n}: sigma' = {_show(ACTIVATIONS[n].output_prime)}" for n in used)
        only = ", ".join(used)
        yield f"with sigma' written by the output ({formulas}): this proof holds for {only} only"
    else:
        yield None
    diff = _activations_of_z(spec, _column_sums_written_out(spec, diff))
    on_simplex = _on_the_simplex(spec, diff)
    said = " and the targets summing to 1" if on_simplex != diff else ""
    diff = on_simplex
    yield f"with a^(l) = sigma(z^(l)) substituted{said}" if vanishes(diff) else None
    names = sorted(set(spec.activations) & set(ACTIVATIONS))
    for name in names:
        diff = _specialise(name, spec, diff)
    if vanishes(diff):
        only = ", ".join(names)
        yield f"with sigma written out by its definition: this proof holds for {only} only"


def too_large(task: ProofTask) -> str | None:
    """Why the symbolic proof is not tried (the claim would expand beyond the ``terms``
    limit), or None."""
    row = LIMITS["terms"]
    terms = expanded_terms(task.claimed)
    if terms <= row.value():
        return None
    return "the symbolic proof was not tried: " + row.refusal(
        f"the claim written out, about {float(terms):.2g} terms,"
    )


def expanded_terms(expr: sp.Basic, written_out: bool = False) -> int:
    """About how many terms ``expr`` has once expanded, estimated without expanding it: a sum
    of t terms to the power e has C(t + e - 1, e); the argument of a function counts on its
    own. Sums over a symbolic range count as their summand; with ``written_out``, a sum over
    a concrete range counts as its summand times the range."""
    seen: dict[sp.Basic, int] = {}
    worst = 0

    def terms(e: sp.Basic) -> int:
        nonlocal worst
        if e in seen:
            return seen[e]
        if isinstance(e, sp.Add):
            n = sum(terms(a) for a in e.args)
        elif isinstance(e, sp.Mul):
            n = 1
            for a in e.args:
                n *= terms(a)
        elif isinstance(e, sp.Pow) and e.exp.is_Integer:
            p = abs(int(e.exp))
            n = comb(terms(e.base) + p - 1, p)
        elif isinstance(e, sp.Sum):
            n = terms(e.function)
            lo, hi = e.limits[0][1:]
            if written_out and (hi - lo).is_Integer:
                n *= max(int(hi - lo) + 1, 1)
        else:
            # an atom, or a function whose arguments are expanded on their own
            n = 1
            if isinstance(e, sp.Function):
                worst = max(worst, *(terms(a) for a in e.args))
        seen[e] = n
        return n

    return max(terms(expr), worst)


def _specialise(name: str, spec: NetworkSpec, expr: sp.Expr) -> sp.Expr:
    """``Activation.specialise`` with a Piecewise definition (relu) as indicators, which the
    sums around it cannot fold."""
    row, slope = ACTIVATIONS[name], spec.leaky_slope
    expr = expr.replace(row.function, lambda u: as_indicators(row.expression(u, slope)))
    return expr.replace(row.prime, lambda u: as_indicators(row.derivative(u, slope)))


def _show(output_prime) -> str:
    return sp.sstr(output_prime(sp.Symbol("a"))).replace("**", "^")


def _primes_by_output(spec: NetworkSpec, expr: sp.Expr) -> tuple[sp.Expr, list[str]]:
    """sigma'(z^(l)_i) -> f'(a^(l)_i) wherever layer l's activation f has ``output_prime``;
    the result and the names of the activations so written."""
    used: set[str] = set()

    def layer(e) -> int | None:
        arg = e.args[0]
        if not isinstance(arg, MatrixElement):
            return None
        parts = split_name(getattr(arg.parent, "name", ""))
        return parts[1] if parts and parts[0] == "z" else None

    def by_output(e) -> sp.Expr:
        l = layer(e)
        assert l is not None  # writable(e) found it
        name = spec.activations[l - 1]
        used.add(name)
        z = e.args[0]
        a = sp.MatrixSymbol(f"a{l}", *z.parent.shape)[z.i, z.j]
        return ACTIVATIONS[name].output_prime(a)  # type: ignore[misc]

    def writable(e) -> bool:
        if type(e) not in _OPAQUE or (l := layer(e)) is None:
            return False
        row = ACTIVATIONS.get(spec.activations[l - 1])
        return row is not None and type(e) is row.prime and row.output_prime is not None

    return expr.replace(writable, by_output), sorted(used)


def _activations_of_z(spec: NetworkSpec, expr: sp.Expr) -> sp.Expr:
    """a^(l)_i -> sigma_l(z^(l)_i) for every layer l >= 1 with an elementwise activation, and
    for an output activation of the whole column (softmax) its entry written out over the
    column's z, where the width is a number."""

    def definition(e: MatrixElement) -> sp.Expr:
        (_, l) = layer_name(e.parent.name)
        name = spec.activations[l - 1]
        z = sp.MatrixSymbol(f"z{l}", *e.parent.shape)
        if name in OUTPUT_ACTIVATIONS:
            column = [z[r, e.j] for r in range(e.parent.shape[0])]
            return OUTPUT_ACTIVATIONS[name].column(column)[e.i]
        return ACTIVATIONS[name].function(z[e.i, e.j])

    def is_activation(e) -> bool:
        if not isinstance(e, MatrixElement):
            return False
        parts = split_name(getattr(e.parent, "name", ""))
        if parts is None or parts[0] != "a" or parts[1] < 1:
            return False
        if spec.activations[parts[1] - 1] in ACTIVATIONS:
            return True
        return e.parent.shape[0].is_Integer and e.i.is_Integer

    return expr.replace(is_activation, definition)


def _column_sums_written_out(spec: NetworkSpec, expr: sp.Expr) -> sp.Expr:
    """With an output activation of the whole column (softmax) and concrete widths, the sums
    over a range of numbers written out, so that each a^(L)_i they hold has a number for its
    unit and ``_activations_of_z`` can write it over the column's z (a^(L)_i of a summation
    index i is no entry it can write). A sum past the ``terms`` limit, or one that runs past
    the units of a layer, is left as it is."""
    if spec.activations[-1] not in OUTPUT_ACTIVATIONS or not expr.has(sp.Sum):
        return expr
    if _too_long_written_out(expr):
        return expr
    try:
        return expr.replace(_over_numbers, sp.Sum.doit)
    except IndexError:  # a sum whose bound names another layer
        return expr


def _over_numbers(e: sp.Basic) -> bool:
    """A sum over a range of numbers (a concrete width), which can be written out."""
    return isinstance(e, sp.Sum) and e.limits[0][2].is_Integer


def _too_long_written_out(expr: sp.Expr) -> bool:
    """Whether writing out ``expr``'s concrete sums passes the ``terms`` limit."""
    return expanded_terms(expr, written_out=True) > LIMITS["terms"].value()


def _on_the_simplex(spec: NetworkSpec, expr: sp.Expr) -> sp.Expr:
    """With targets that sum to 1 (the loss's assumption) and a number of outputs, the last
    target of a column written as 1 minus the others: a rule derived under the assumption and
    one written without it (the unrolled form) then agree symbolically."""
    if LOSSES[spec.loss].targets != SIMPLEX:
        return expr
    ys = {e for e in expr.atoms(MatrixElement) if getattr(e.parent, "name", "") == "y"}
    if not ys or not next(iter(ys)).parent.shape[0].is_Integer:
        return expr
    y = next(iter(ys)).parent
    last = y.shape[0] - 1
    columns = {e.j for e in ys}
    return expr.xreplace({y[last, c]: 1 - sp.Add(*(y[r, c] for r in range(last))) for c in columns})


def vanishes(expr: sp.Expr, rational: bool = False) -> bool:
    """True when ``expr`` reduces to 0. Sums over the units of a layer are merged first (same
    range, one index name per nesting depth), since SymPy compares Sum(f, (i, ...)) and
    Sum(f, (j, ...)) by their index names; sums over a small concrete range are then written out
    (a width-1 layer's sum is its one term). ``rational``: the test of rational functions only,
    never SymPy's ``simplify`` (the cheap stages, where the exponentials a softmax claim writes
    cannot meet the a^(L) of the truth yet)."""
    if _merge_sums(expr, 0, rational) == 0:
        return True
    if not any(_over_numbers(s) for s in expr.atoms(sp.Sum)) or _too_long_written_out(expr):
        return False
    try:
        written = expr.doit()
    except IndexError:  # a sum runs past the units of a layer (its bound names another layer)
        return False
    return _zero(written, rational)


def _normal_arguments(expr: sp.Expr) -> sp.Expr:
    """Every function argument in one normal form, so that sigma'(2*(a + b)) and
    sigma'(2*a + 2*b) are one generator of the rational function."""
    return expr.replace(
        lambda e: isinstance(e, sp.Function) and bool(e.args),
        lambda e: e.func(*(sp.cancel(a) if isinstance(a, sp.Expr) else a for a in e.args)),
    )


def _zero(expr: sp.Expr, rational: bool = False) -> bool:
    """True when ``expr`` is 0: put over one denominator and cancelled (exact for rational
    functions of its atoms); a Piecewise (huber's derivative, relu written out) is 0 when each
    branch is; exp and tanh, which only the written-out definitions bring, are simplified."""
    if expr == 0:
        return True
    expr = _normal_arguments(expr)
    try:
        if sp.cancel(sp.together(expr)) == 0:
            return True
    except sp.PolynomialError:
        pass
    if expr.has(sp.Piecewise):
        folded = sp.piecewise_fold(expr)
        return isinstance(folded, sp.Piecewise) and all(
            not value.has(sp.Piecewise) and _zero(value, rational) for value, _ in folded.args
        )
    defined = [f for f in expr.atoms(sp.Function) if type(f) not in _OPAQUE]
    return bool(defined) and not rational and sp.simplify(expr) == 0


def _merge_sums(expr: sp.Expr, depth: int, rational: bool = False) -> sp.Expr:
    """The terms of ``expr`` that hold one sum, gathered into one sum per range (their factors
    moved inside), and the summands merged the same way, down the nesting; 0 when every part
    vanishes. Only the brackets around sums are multiplied out (``_products``): the rest is the
    zero test's, which cancels without expanding, where expanding every bracket at every level
    of a deep network took a minute (the sigma' by the output, a(1 - a), of eight layers)."""
    groups: dict[tuple, list[sp.Expr]] = {}
    rest = []
    var = sp.Symbol(f"_s{depth}", integer=True, nonnegative=True)
    for coeff, sums in _products(expr):
        if len(sums) != 1 or len(sums[0].limits) != 1:
            # no sum, or a product of sums: expanded as it stands, sums and all
            term = coeff * sp.Mul(*sums)
            rest.append(sp.expand(term) if term.has(sp.Sum) else term)
            continue
        (s,) = sums
        i, lo, hi = s.limits[0]
        groups.setdefault((lo, hi), []).append(coeff * s.function.xreplace({i: var}))
    total = sp.Add(*rest)
    total = sp.Integer(0) if _zero(total, rational) else total
    for (lo, hi), terms in groups.items():
        body = _merge_sums(sp.Add(*terms), depth + 1, rational)
        if body != 0:
            total += sp.Sum(body, (var, lo, hi))
    return total


def _products(expr: sp.Expr) -> list[tuple[sp.Expr, tuple[sp.Sum, ...]]]:
    """``expr`` as a sum of products, each a factor without sums times the sums that are its
    factors; only brackets that hold a sum are multiplied out. A sum inside a function's
    argument, or under a division, is part of a factor."""
    if isinstance(expr, sp.Sum):
        return [(sp.Integer(1), (expr,))]
    if not expr.has(sp.Sum):
        return [(expr, ())]
    if isinstance(expr, sp.Add):
        return [term for a in expr.args for term in _products(a)]
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp > 0:
        return _products(sp.Mul(*[expr.base] * int(expr.exp), evaluate=False))
    if isinstance(expr, sp.Mul):
        out: list[tuple[sp.Expr, tuple[sp.Sum, ...]]] = [(sp.Integer(1), ())]
        for factor in expr.args:
            out = [(c * d, s + t) for c, s in out for d, t in _products(factor)]
        return out
    return [(expr, ())]
