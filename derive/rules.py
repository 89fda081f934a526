"""The layer-local rules of backpropagation, each derived once by SymPy on symbolic sizes.

Forward, beside the derivatives the seed takes of it:

    z = W a + b 1^T      d/dW, d/db, d/da of Trace(G^T z)    -> G a^T, G 1, W^T G
    a = f.(z)            d/dz of Trace(H^T f.(z))             -> H (.) f'.(z)
    C = s(n) sum C_0     dC_0/d(out)_k of the per-sample sum  -> elementwise in (out, y)
    + s(n) lambda P(W)   d/dW of P(W) = (1/2) Trace(W^T W)     -> W, for every layer's W

s(n) is 1/n for the mean cost and 1 for the sum (``spec.COSTS``); P is half the squared Frobenius
norm, so the L2 penalty lambda/(2n) sum_l ||W^(l)||_F^2 (mean) adds (lambda/n) W^(l) to dC/dW^(l).

G and H are placeholders for the gradient arriving from above. The rules are derived from these
local forms (differentiating the composed network loss by a matrix is where SymPy's matrix
calculus goes wrong) and chained over depth by ``network.derive_network``.
"""

from __future__ import annotations

from functools import cache

import sympy as sp
from sympy.concrete.delta import deltasummation
from sympy.matrices.expressions import HadamardPower, HadamardProduct, OneMatrix
from sympy.simplify.simplify import factor_sum

from .activations import OUTPUT_ACTIVATIONS, Activation
from .losses import SIMPLEX, Loss, out_k, y_k

# Symbolic sizes of one layer: rows r = n_l, columns c = n_{l-1}, m samples.
_r, _c, _m = sp.symbols("r c m", integer=True, positive=True)
_W = sp.MatrixSymbol("W", _r, _c)
_A = sp.MatrixSymbol("A", _c, _m)
_b = sp.MatrixSymbol("b", _r, 1)
_G = sp.MatrixSymbol("G", _r, _m)
_Z = sp.MatrixSymbol("Z", _r, _m)


@cache
def affine_rules() -> dict[str, sp.MatrixExpr]:
    """dC/dW, dC/db, dC/dA of z = W A + b 1^T, given G = dC/dz; derived by SymPy."""
    local = sp.Trace(_G.T * (_W * _A + _b * OneMatrix(1, _m)))
    return {"W": local.diff(_W), "b": local.diff(_b), "a": local.diff(_A)}


@cache
def activation_rule(act: Activation) -> sp.MatrixExpr:
    """dC/dz of a = f.(z), given H = dC/da (placeholder G); derived by SymPy."""
    return sp.Trace(_G.T * _Z.applyfunc(act.function)).diff(_Z)


@cache
def penalty_rule() -> sp.MatrixExpr:
    """dP/dW of the weight penalty P(W) = (1/2) Trace(W^T W) = (1/2) ||W||_F^2; derived by SymPy."""
    return (sp.Trace(_W.T * _W) / 2).diff(_W)


def penalty(coefficient: sp.Expr, W: sp.MatrixSymbol) -> sp.MatrixExpr:
    """coefficient * dP/dW, the penalty's part of dC/dW, with the placeholder W filled in."""
    r, c = W.shape
    return coefficient * penalty_rule().xreplace({_W: W}).xreplace({_r: r, _c: c})


def affine(quantity: str, G, A, W, b) -> sp.MatrixExpr:
    """The affine rule for ``quantity`` (W, b or a) with the placeholders filled in."""
    r, c = W.shape
    rule = affine_rules()[quantity]
    return rule.xreplace({_G: G, _A: A, _W: W, _b: b}).xreplace({_r: r, _c: c, _m: G.shape[1]})


def activation(act: Activation, H, Z) -> sp.MatrixExpr:
    """The activation rule with H = dC/da and Z = z filled in."""
    r, m = Z.shape
    return activation_rule(act).xreplace({_G: H, _Z: Z}).xreplace({_r: r, _m: m})


@cache
def loss_rule(loss: Loss) -> sp.Expr:
    """dC_0/d(out)_k as a scalar expression of ``out_k`` and ``y_k``, for any output width N.

    SymPy differentiates the sum C_0 over j = 0 ... N-1 by out_k. Two kinds of Piecewise come
    back: the sum collapsed to its term j = k, which holds for 0 <= k <= N-1 (``_in_range``
    keeps that branch, since k is an output unit), and the derivative of a Piecewise inside the
    loss (huber), whose branches and conditions are the loss's own and are all kept. For a loss
    that owns its output activation (softmax) the result is written in its output a_k, and for
    targets that sum to 1 that assumption is applied.
    """
    N = sp.Symbol("N", integer=True, positive=True)
    j, k = sp.symbols("j k", integer=True)
    out, y = sp.IndexedBase("out", real=True), sp.IndexedBase("y", real=True)
    d = sp.diff(loss.per_sample(out, y, j, N), out[k])
    d = d.replace(lambda e: isinstance(e, sp.Sum) and e.function.has(sp.Piecewise), _collapse)
    d = d.doit()
    d = _in_range(d, k, N)
    if loss.output_activation is not None:
        a_k = sp.Dummy("a_k")
        entry = OUTPUT_ACTIVATIONS[loss.output_activation].entry(out, k, N)
        numerator, denominator = sp.fraction(entry)
        d = d.subs(numerator, a_k * denominator)
        d = d.replace(lambda e: isinstance(e, sp.Sum), factor_sum)
        if loss.targets == SIMPLEX:
            d = d.subs(sp.Sum(y[j], (j, 0, N - 1)), 1)
        if d.has(sp.Sum):
            raise AssertionError(f"{loss.name} rule did not reduce to a_k and y_k: {d}")
        d = d.xreplace({a_k: out[k]})
    return sp.factor(d.xreplace({out[k]: out_k, y[k]: y_k}))


def _collapse(total: sp.Sum) -> sp.Expr:
    """A sum over j of terms with a Piecewise: SymPy's differentiation leaves the Kronecker
    delta of d out_j / d out_k inside each branch, where the sum cannot see it (and ``Sum``
    folds it back in); taken out of the branches, the sum collapses to its term j = k."""
    term = total.function.replace(lambda e: isinstance(e, sp.Piecewise), _delta_outside)
    return deltasummation(term, total.limits[0]) if len(total.limits) == 1 else total


def _delta_outside(piecewise: sp.Piecewise) -> sp.Expr:
    """Piecewise((e_1 delta_jk, c_1), ...) as delta_jk Piecewise((e_1, c_1), ...)."""
    found = [set(e.atoms(sp.KroneckerDelta)) for e, _ in piecewise.args if e != 0]
    for delta in set.intersection(*found) if found else ():
        branches = []
        for e, cond in piecewise.args:
            rest, factor = sp.factor_terms(e).as_independent(delta, as_Add=False)
            if e != 0 and factor != delta:
                break
            branches.append((rest if e != 0 else e, cond))
        else:
            return delta * sp.Piecewise(*branches)
    return piecewise


def _in_range(expr: sp.Expr, k: sp.Symbol, N: sp.Symbol) -> sp.Expr:
    """Each Piecewise whose conditions speak of k and N only (SymPy's 0 <= k <= N-1 for the term
    j = k of a sum) replaced by its branch that holds for every output unit k; any other
    Piecewise (the loss's own) is left whole."""
    kk, m = sp.symbols("k m", integer=True, nonnegative=True)
    unit = {k: kk, N: kk + 1 + m}  # 0 <= k <= N - 1

    def resolve(p: sp.Piecewise) -> sp.Expr:
        if not all(cond.free_symbols <= {k, N} for _, cond in p.args):
            return p
        for e, cond in p.args:
            if cond.xreplace(unit) is sp.true:
                return e
        raise AssertionError(f"no branch of {p} holds for 0 <= k <= N-1")

    return expr.replace(lambda e: isinstance(e, sp.Piecewise), resolve)


def _summand(
    loss: Loss, out: sp.MatrixExpr, y: sp.MatrixExpr, compose=None
) -> tuple[sp.Expr, sp.MatrixExpr]:
    """C_0 = coeff * (sum over outputs of T) with T read elementwise: (coeff, T).

    The summand of C_0's sum over j is read elementwise (``lift``); a sum over all outputs
    inside it (softmax's normaliser) becomes a column sum broadcast to every row. For softmax the
    logarithm is expanded first, so that the cost reads z - log(sum exp z) (a log-sum-exp).
    """
    N, j = sp.Symbol("N", integer=True, positive=True), sp.Symbol("j", integer=True)
    o, t = sp.IndexedBase("o"), sp.IndexedBase("t")
    c0 = loss.per_sample(o, t, j, N)
    coeff, total = c0.as_independent(sp.Sum, as_Add=False)
    summand = sp.expand_log(total.function, force=True).xreplace({o[j]: out_k, t[j]: y_k})
    if compose is not None:
        summand = sp.simplify(summand.xreplace({out_k: compose(out_k)}))
    return coeff, lift(summand, {out_k: out, y_k: y}, o)


def sample_costs(loss: Loss, out: sp.MatrixExpr, y: sp.MatrixExpr, compose=None) -> sp.MatrixExpr:
    """C_0 of every sample: a 1 x n row, one entry per column of ``out`` and ``y``.

    With ``compose`` (a function f of one scalar) the loss is written in z, out = f(z), and
    SymPy simplifies the composition: cross-entropy after a sigmoid becomes -y z + log(e^z + 1),
    with no 1 - sigma(z) left to cancel.
    """
    coeff, terms = _summand(loss, out, y, compose)
    return coeff * (OneMatrix(1, out.shape[0]) * terms)


def cost(
    loss: Loss,
    out: sp.MatrixExpr,
    y: sp.MatrixExpr,
    scale: sp.Expr,
    decay: sp.Expr = sp.S.Zero,
    weights: tuple[sp.MatrixSymbol, ...] = (),
) -> sp.MatrixExpr:
    """C = scale * (sum over samples and outputs of the loss table's summand, plus ``decay``
    times P(W) = (1/2) ||W||_F^2 of each of ``weights``), as a 1x1 matrix."""
    coeff, terms = _summand(loss, out, y)
    rows, cols = out.shape
    total = (coeff * scale) * (OneMatrix(1, rows) * terms * OneMatrix(cols, 1))
    if not decay:
        return total
    squares = [
        OneMatrix(1, W.shape[0]) * HadamardPower(W, 2) * OneMatrix(W.shape[1], 1) for W in weights
    ]
    return sp.MatAdd(total, (scale * decay / 2) * sp.MatAdd(*squares))


def lift(expr: sp.Expr, mapping: dict[sp.Symbol, sp.MatrixExpr], base=None) -> sp.MatrixExpr:
    """Read a scalar expression elementwise over matrices: sums stay sums, products become
    Hadamard products, powers Hadamard powers, constants multiples of the ones matrix."""
    shape = next(iter(mapping.values())).shape

    def varies(e) -> bool:
        return bool(e.free_symbols & set(mapping)) or (base is not None and e.has(base))

    if expr in mapping:
        return mapping[expr]
    if not varies(expr):
        return expr * OneMatrix(*shape)
    if isinstance(expr, sp.Add):
        return sp.MatAdd(*(lift(t, mapping, base) for t in expr.args))
    if isinstance(expr, sp.Mul):
        coeff = sp.Mul(*(f for f in expr.args if not varies(f)))
        factors = [f for f in expr.args if varies(f)]
        parts = [lift(f, mapping, base) for f in factors]
        product = parts[0] if len(parts) == 1 else HadamardProduct(*parts)
        return product if coeff == 1 else sp.MatMul(coeff, product)
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer:
        return HadamardPower(lift(expr.base, mapping, base), expr.exp)
    if isinstance(expr, sp.Sum) and base is not None:
        # a sum over every output unit i of f(o[i]): the column sum, repeated on every row
        (i, *_), out = expr.limits[0], next(iter(mapping.values()))
        inner = lift(expr.function.xreplace({base[i]: out_k}), mapping, base)
        return OneMatrix(out.shape[0], out.shape[0]) * inner
    if isinstance(expr, sp.Piecewise):
        # a function of one quantity u (huber's residual out - y), applied elementwise to it
        u = _argument(expr, varies)
        body = expr.subs(u, _u)
        return lift(u, mapping, base).applyfunc(sp.Lambda(_u, body))
    if isinstance(expr, sp.Function) and len(expr.args) == 1:
        d = sp.Dummy("d")
        return lift(expr.args[0], mapping, base).applyfunc(sp.Lambda(d, expr.func(d)))
    raise NotImplementedError(f"cannot read {expr} elementwise")


_u = sp.Symbol("u", real=True)


def _argument(expr: sp.Piecewise, varies) -> sp.Expr:
    """The one varying quantity u of which ``expr`` is a function (its conditions included)."""
    # smallest first: out - y rather than the out - y - 1/2 that subs would also accept
    candidates = {u for u in sp.preorder_traversal(expr) if isinstance(u, sp.Expr) and varies(u)}
    for u in sorted(candidates - {expr}, key=lambda u: (sp.count_ops(u), sp.default_sort_key(u))):
        if not varies(expr.subs(u, _u)):
            return u
    raise NotImplementedError(
        f"cannot read {expr} elementwise: write its branches and conditions in one quantity, "
        "such as out - y"
    )
