"""The unrolled network: every z^(l)_j written out for concrete widths and differentiated entry by
entry. It is the oracle the matrix rules are checked against, and the ``unrolled`` form.

Differentiation uses symengine when it is installed (``pip install bpverify[fast]``), which is
about a thousand times faster than SymPy on these expressions and gives the same results.
``unrolled_derivatives`` differentiates networks of up to ``UNROLLED_DERIVATIVES_LIMIT``
parameters with symengine (``UNROLLED_LIMIT_SYMPY`` without); printing them as SymPy expressions
costs more than differentiating, so the unrolled *form* stops at ``UNROLLED_PRINT_LIMIT``.
Beyond these limits the matrix form is the way (``--form matrix``).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.matexpr import MatrixElement

from .activations import ACTIVATIONS, OUTPUT_ACTIVATIONS, by_symbol
from .derivation import Gradient
from .losses import LOSSES
from .notation import NetworkSymbols, network_symbols
from .spec import NetworkSpec, SpecError

UNROLLED_DERIVATIVES_LIMIT = 500
"""Most parameters ``unrolled_derivatives`` differentiates with symengine installed."""

UNROLLED_PRINT_LIMIT = 200
"""Most parameters of the unrolled form (derivatives as printable SymPy expressions) with
symengine; converting back to SymPy takes about 20 ms per parameter at this size."""

UNROLLED_LIMIT_SYMPY = 60
"""Most parameters for either with plain SymPy (about 0.06 s per parameter here)."""


def symengine_available() -> bool:
    """True when symengine can be imported."""
    try:
        import symengine  # noqa: F401
    except ImportError:
        return False
    return True


def check_size(spec: NetworkSpec, backend: str | None = None, printed: bool = True) -> str:
    """The backend to differentiate ``spec`` with; SpecError when it is too large to unroll
    (to print, when ``printed``)."""
    if spec.symbolic:
        raise SpecError(
            "the unrolled form needs concrete widths: give --widths, e.g. --widths 2,3,1"
        )
    backend = backend or ("symengine" if symengine_available() else "sympy")
    limit = UNROLLED_PRINT_LIMIT if printed else UNROLLED_DERIVATIVES_LIMIT
    limit = limit if backend == "symengine" else UNROLLED_LIMIT_SYMPY
    count = spec.parameter_count
    if count > limit:
        more = UNROLLED_PRINT_LIMIT if printed else UNROLLED_DERIVATIVES_LIMIT
        hint = "" if backend == "symengine" else f" (or install bpverify[fast] for up to {more})"
        raise SpecError(
            f"the network has {count} parameters, more than the unrolled form handles "
            f"({limit}): use --form matrix, whose rules hold for every width{hint}"
        )
    return backend


def forward(
    spec: NetworkSpec,
    s: NetworkSymbols,
    start: int = 0,
    kind: str = "a",
    generic: bool = True,
    per_sample: bool = False,
) -> tuple[sp.Expr, dict[sp.Basic, sp.Expr]]:
    """The cost C of the unrolled network as one scalar expression: C = (1/n) sum_i C_i for the
    mean cost, sum_i C_i for the sum, plus the L2 penalty lambda/(2n) (or lambda/2) times the sum
    of every weight's square (``spec.cost``, ``spec.l2``); with ``per_sample`` (one sample) C_0
    alone, which neither convention changes.

    The network is entered at a free a^(start) (kind "a") or z^(start) (kind "z"); the
    entries of that matrix are the variables. ``generic`` keeps each activation as the function
    f whose derivative is f' (the seed's sigma); otherwise its definition is written out.
    Returns the cost and the expression of every z and a entry downstream (for abbreviating).
    """
    batch = s.batch
    values: dict[sp.Basic, sp.Expr] = {}
    entry = s.a(start) if kind == "a" else s.layers[start].z
    rows = entry.shape[0]
    cols = [[entry[r, i] for r in range(rows)] for i in range(batch)]
    cost = sp.Integer(0)
    for i, col in enumerate(cols):
        out = col
        for l in range(start + (kind == "a"), spec.layers + 1):
            ls = s.layers[l]
            if l > start or kind == "a":
                W, b = ls.W, ls.b
                out = [
                    sp.Add(*(W[r, c] * out[c] for c in range(W.shape[1])), b[r, 0])
                    for r in range(W.shape[0])
                ]
                values.update({ls.z[r, i]: v for r, v in enumerate(out)})
            logits = out
            out = _activate(spec, l, out, generic)
            values.update({ls.a[r, i]: v for r, v in enumerate(out)})
        loss = LOSSES[spec.loss]
        target = [s.y[r, i] for r in range(s.y.shape[0])]
        c0 = _per_sample(loss, logits if loss.output_activation else out, target)
        cost += c0.replace(sp.exp, AbstractExp) if generic else c0
    if per_sample:
        return cost, values
    weights = [ls.W for ls in s.layers.values()]
    squares = sp.Add(*(W[idx] ** 2 for W in weights for idx in _cells(W)))
    return spec.batch_scale(batch) * (cost + spec.l2 / 2 * squares), values


class AbstractExp(sp.Function):
    """The exponential kept abstract (E' = E), so that SymPy does not merge e^u e^v into e^(u+v)
    and every e^(z_j) stays recognisable in terms of z_j."""

    nargs = 1

    def fdiff(self, argindex=1):
        return self


def _activate(spec: NetworkSpec, l: int, z: list[sp.Expr], generic: bool) -> list[sp.Expr]:
    name = spec.activations[l - 1]
    if name in OUTPUT_ACTIVATIONS:  # a function of the whole column (softmax)
        return OUTPUT_ACTIVATIONS[name].column(z, AbstractExp if generic else sp.exp)
    act = ACTIVATIONS[name]
    if generic:
        return [act.function(v) for v in z]
    return [act.expression(v, spec.leaky_slope) for v in z]


def _per_sample(loss, out: list[sp.Expr], target: list[sp.Expr]) -> sp.Expr:
    """C_0 from the loss table's own sum, written out over the concrete width."""
    c0, o, t = _written_out_loss(loss, len(out))
    return c0.xreplace(dict(zip(o, out, strict=True)) | dict(zip(t, target, strict=True)))


@cache
def _written_out_loss(loss, width: int):
    o, t, j = sp.IndexedBase("o"), sp.IndexedBase("t"), sp.Symbol("j", integer=True)
    c0 = loss.per_sample(o, t, j, width).doit()
    c0 = c0.replace(lambda e: isinstance(e, sp.Sum), lambda e: e.doit())
    return c0, [o[r] for r in range(width)], [t[r] for r in range(width)]


class Flat:
    """Expressions for a differentiation backend, and back again.

    Matrix entries become plain symbols named as they print (``W1[0, 1]``). For symengine the
    activations become its own undefined functions, so that it differentiates them natively; it
    writes d/dx f(g(x)) as Subs(Derivative(f(u), u), u, g(x)), which ``back`` (and
    ``abbreviations``, for comparisons inside symengine) turn into the activation's f'.
    """

    def __init__(self, backend: str = "sympy"):
        self.backend = backend
        self.names: dict[sp.Basic, sp.Symbol] = {}

    def __call__(self, expr: sp.Expr):
        rename = {e: self._name(e) for e in expr.atoms(MatrixElement)}
        flat = expr.xreplace(rename)
        if self.backend != "symengine":
            return flat
        import symengine as se

        for cls, name in _native_names():
            if flat.has(cls):
                flat = flat.replace(cls, sp.Function(name))
        try:
            return se.sympify(flat)
        except se.SympifyError:
            # symengine has no nested-Piecewise conditions (relu of relu): SymPy it is.
            return flat

    def _name(self, e: MatrixElement) -> sp.Symbol:
        if e not in self.names:
            self.names[e] = sp.Symbol(str(e))
        return self.names[e]

    def abbreviations(self, spec: NetworkSpec, values: dict[sp.Basic, sp.Expr]):
        """A function writing backend expressions back in the seed's names: each written-out z
        and a entry becomes its name and (symengine) Derivative(f(z), z) at a named z becomes
        f'(z). The derivatives go first, before a name replaces the f(z) inside them, and again
        after: symengine folds Subs(.., u, z) into Derivative(f(z), z) once the point is a name."""
        # softmax's a^(L) stays written out in z^(L): the rules use it as softmax(z^(L)).
        owned = LOSSES[spec.loss].output_activation is not None
        kept = {
            k: v for k, v in values.items() if not (owned and k.parent.name == f"a{spec.layers}")
        }
        names = {self(v): self(k) for k, v in kept.items()}
        if self.backend != "symengine":
            return lambda e: e.xreplace(names)
        import symengine as se

        primes = {}
        for k in list(self.names):
            if not k.parent.name.startswith("z"):
                continue
            z, name = self(k), spec.activations[int(k.parent.name[1:]) - 1]
            if name in OUTPUT_ACTIVATIONS:  # written with AbstractExp, E' = E
                f = se.Function(AbstractExp.__name__)
                primes[se.Derivative(f(z), z)] = f(z)
            else:
                symbol = ACTIVATIONS[name].symbol
                f = se.Function(symbol)
                primes[se.Derivative(f(z), z)] = se.Function(f"{symbol}_prime")(z)
        return lambda e: e.xreplace(primes).xreplace(names).xreplace(primes)

    def back(self, expr) -> sp.Expr:
        return _ours(sp.sympify(expr)).xreplace({v: k for k, v in self.names.items()})

    def is_zero(self, expr) -> bool:
        """True when ``expr`` (a rational function of its atoms) vanishes identically: the
        numerator over a common denominator expands to 0."""
        if self.backend == "symengine":
            import symengine as se

            if se.expand(expr) == 0:
                return True
            num, _ = expr.as_numer_denom()
            return se.expand(num) == 0
        if sp.expand(expr, power_exp=False, power_base=False, log=False) == 0:
            return True
        num, _ = sp.together(expr).as_numer_denom()
        return sp.expand(num, power_exp=False, power_base=False, log=False) == 0


def differentiate(expr: sp.Expr, wrt: Iterable[sp.Basic], backend: str = "sympy") -> list[sp.Expr]:
    """d expr / d v for each v in ``wrt`` (matrix entries or symbols), with SymPy or symengine."""
    flat = Flat(backend)
    f = flat(expr)
    return [flat.back(f.diff(flat(v))) for v in wrt]


def _native_names() -> list[tuple[type[sp.Function], str]]:
    """Our function classes and the names symengine knows them by."""
    pairs = [(AbstractExp, AbstractExp.__name__)]
    for row in ACTIVATIONS.values():
        pairs += [(row.function, row.symbol), (row.prime, f"{row.symbol}_prime")]
    return pairs


def _ours(expr: sp.Expr) -> sp.Expr:
    """Undefined functions named like an activation become that activation's classes again, and
    SymPy's Subs(Derivative(f(u), u), u, p) and Derivative(f(x), x) become f'(p) and f'(x)."""
    rows = by_symbol()

    def row_of(e):
        return rows.get(getattr(getattr(e, "func", None), "__name__", ""))

    def prime_of_subs(s):
        d, (var,), (point,) = s.args
        if isinstance(d, sp.Derivative) and d.variables == (var,) and row_of(d.expr):
            return row_of(d.expr).prime(point)
        return s

    def prime_of_derivative(d):
        (var,) = d.variables if len(d.variables) == 1 else (None,)
        if row_of(d.expr) and d.expr.args == (var,):
            return row_of(d.expr).prime(var)
        return d

    if expr.has(sp.Subs):
        expr = expr.replace(lambda e: isinstance(e, sp.Subs), prime_of_subs)
    if expr.has(sp.Derivative):
        expr = expr.replace(lambda e: isinstance(e, sp.Derivative), prime_of_derivative)
    classes = {name: cls for cls, name in _native_names()}
    undefined = [f for f in expr.atoms(AppliedUndef) if f.func.__name__ in classes]
    return expr.xreplace({f: classes[f.func.__name__](*f.args) for f in undefined})


def unrolled_derivatives(spec: NetworkSpec, backend: str | None = None) -> dict:
    """dC_0/dv for every weight and bias entry v of one sample, as backend expressions (symengine
    when installed): the ground truth of small networks, keyed by the SymPy matrix entry."""
    flat = Flat(check_size(spec, backend, printed=False))
    s = network_symbols(spec, batch=1)
    cost = flat(forward(spec, s, per_sample=True)[0])
    return {p[idx]: cost.diff(flat(p[idx])) for p in s.parameters for idx in _cells(p)}


def _cells(m) -> list[tuple[int, int]]:
    return [(r, c) for r in range(m.shape[0]) for c in range(m.shape[1])]


def unrolled_gradients(spec: NetworkSpec, backend: str | None = None) -> list[Gradient]:
    """dC_0/dw^(l)_jk and dC_0/db^(l)_j of every entry, for one sample, layer L down to 1.

    Each is SymPy's derivative of the written-out network, shown in the seed's names (z, a and
    sigma'), like the seed's dC_0/dw^(L) = a^(L-1) sigma'(z^(L)) 2 (a^(L) - y) for width 1.
    """
    flat = Flat(check_size(spec, backend))
    s = network_symbols(spec, batch=1)
    cost, values = forward(spec, s, per_sample=True)
    cost, names = flat(cost), flat.abbreviations(spec, values)
    out = []
    for l in range(spec.layers, 0, -1):
        W, b = s.layers[l].W, s.layers[l].b
        for m, idx in [(W, i) for i in _cells(W)] + [(b, i) for i in _cells(b)]:
            g = flat.back(names(cost.diff(flat(m[idx]))))
            q = "W" if m is W else "b"
            out.append(Gradient((q, l), "unrolled", g, idx if q == "W" else idx[:1]))
    return out
