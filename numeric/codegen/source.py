"""Generated NumPy code: the derived matrix-form rules through ``sympy.lambdify``.

``generate_source(spec)`` writes a standalone module that imports only NumPy and defines
``forward(params, X)``, ``loss(params, X, Y)`` and ``gradients(params, X, Y)`` in the public
convention (params {"W1": (n1, n0), "b1": (n1,), ...}, samples as rows). Inside, the functions
come from ``lambdify`` with ``BackpropPrinter``; their common subexpressions are the derivation's
own named quantities (z1, a1, ..., deltaL, dC_dWL, dC_dbL, dC_da(L-1), ..., delta1), handed to
lambdify as its ``cse`` step, so the code reads in the seed's notation and computes each quantity
once.

The same step plans the memory, since the temporaries of large layers cost page faults on every
call: a quantity is deleted after its last use, and a quantity that dies in a statement lends
its memory to the statement's result (``delta2 = numpy.multiply(tanh_prime(z2, out=z2), dC_da2,
out=dC_da2)``); see ``_quantities`` for the order. Where an activation spells f and f' together
(``numpy_pair``), backpropagation computes both at once (``a1, sigma_prime_z1 =
sigma_and_prime(z1, out=z1)``). Nothing the caller passed in is written to.
"""

from __future__ import annotations

import inspect
import textwrap
from functools import cache

import sympy as sp
from sympy.matrices.expressions import OneMatrix

from bpverify.derive import ACTIVATIONS, LOSSES, NetworkSpec, derive_network, report
from bpverify.derive import rules as derive_rules
from bpverify.derive.activations import by_symbol
from bpverify.derive.notation import n

from .printer import BackpropPrinter, Into, Names, Ones, SampleRows, WithPrime, helper_name

HELPERS = '''
def log_safe(x):
    """log(x), with x below the smallest normal number of its dtype read as that number."""
    return numpy.log(numpy.maximum(x, numpy.finfo(x.dtype).tiny))


def logsumexp(z):
    """log(sum(exp(z))) down each column, shifted by the column maximum so nothing overflows."""
    m = numpy.max(z, axis=0, keepdims=True)
    return m + numpy.log(numpy.sum(numpy.exp(z - m), axis=0, keepdims=True))


def softmax(z):
    """exp(z) / sum(exp(z)) down each column, shifted by the column maximum."""
    e = numpy.exp(z - numpy.max(z, axis=0, keepdims=True))
    return e / numpy.sum(e, axis=0, keepdims=True)
'''


def _activation_helpers(spec: NetworkSpec, pairs: set) -> str:
    """The helpers of the activations of ``spec``: f, f' and, for the activations in ``pairs``,
    the helper that computes both."""
    out = []
    alpha = repr(float(spec.leaky_slope))
    for name in dict.fromkeys(spec.activations):
        act = ACTIVATIONS.get(name)
        if act is None:
            continue
        helpers = [
            (act.symbol, act.numpy, f"{name}, elementwise; ``out`` may receive it."),
            (
                f"{act.symbol}_prime",
                act.numpy_prime,
                f"the derivative of {name}, elementwise; ``out`` may receive it.",
            ),
        ]
        if name in pairs:
            doc = f"{name} and its derivative together; ``out`` may receive the derivative."
            helpers.append((f"{act.symbol}_and_prime", act.numpy_pair, doc))
        for fname, body, doc in helpers:
            lines = body.replace("{alpha}", alpha).splitlines()
            decorators = "".join(f"{line}\n" for line in lines if line.startswith("@"))
            code = "\n".join(line for line in lines if not line.startswith("@"))
            code = code if "return" in code else f"return {code}"
            code = textwrap.indent(code, "    ")
            out.append(f'\n\n{decorators}def {fname}(z, out=None):\n    """{doc}"""\n{code}\n')
    return "".join(out)


def _output_delta(derivation):
    """delta^(L) for the generated code. Where the loss derivative divides by what the output
    activation's derivative multiplies (cross-entropy after a sigmoid), SymPy cancels the product
    first, so that saturated outputs give (a - y)/n instead of 0/0."""
    spec = derivation.spec
    s = derivation.symbols
    last = s.layers[spec.layers]
    act = ACTIVATIONS.get(spec.activations[-1])
    rule = derive_rules.loss_rule(LOSSES[spec.loss])
    if act is None or act.output_prime is None or sp.denom(sp.together(rule)) == 1:
        return derivation.deltas[last.delta]
    product = sp.cancel(rule * act.output_prime(derive_rules.out_k))
    if sp.denom(product).has(derive_rules.out_k):
        return derivation.deltas[last.delta]
    return derive_rules.lift(product / n, {derive_rules.out_k: last.a, derive_rules.y_k: s.y})


def _quantities(derivation, deltas) -> list[tuple[sp.MatrixSymbol, sp.MatrixExpr]]:
    """The derivation's named quantities, in the order the code computes them. Besides z, a and
    delta: dC/da^(l) = W^(l+1)T delta^(l+1) (``dC_da{l}``, computed once for delta^(l) and for
    the result), dC/da^(L) where delta^(L) = f'(z^(L)) * dC/da^(L), the gradients (``dC_dW{l}``,
    ``dC_db{l}``) and the column of ones that sums delta^(l) over the samples.

    The order keeps the arrays alive at any one time few: z^(l) = W^(l) a^(l-1), then b^(l)
    added in place (a new array for the sum would leave a hole of one array's size behind the
    product's), and delta^(l-1) before dC/dW^(l), so that f'(z^(l-1)) and dC/da^(l-1) have made
    room for it. A name may be defined twice (z^(l))."""
    s = derivation.symbols
    L = derivation.spec.layers
    ones = sp.MatrixSymbol("ones", n, 1)
    order = []
    for l, ls in s.layers.items():
        product, bias = sorted(derivation.forward[ls.z].args, key=lambda m: not _is_product(m))
        if l == L:
            # z^(L) with one sample per row in memory, like the caller's Y: a^(L) - y then reads
            # both in order instead of transposing one, and forward() returns rows as they are
            product = SampleRows(product)
        order += [
            (ls.z, product),
            (ls.z, Into(sp.MatAdd(ls.z, bias), ls.z)),
            (ls.a, derivation.forward[ls.a]),
        ]
    delta = deltas[s.layers[L].delta]
    factor = _loss_factor(delta, s.layers[L].z)
    if factor is not None:
        order.append((s.layers[L].dC_da, factor))
        named = (s.layers[L].dC_da if f == factor else f for f in delta.args)
        delta = sp.HadamardProduct(*named)
    order.append((s.layers[L].delta, delta))
    for l in reversed(s.layers):
        ls = s.layers[l]
        if l > 1:
            below = s.layers[l - 1]
            order.append((below.dC_da, derivation.matrix[("a", l - 1)]))
            order.append((below.delta, deltas[below.delta]))
        else:
            order.append((_input_gradient(s), derivation.matrix[("a", 0)]))
        order.append((_gradient(ls.W), derivation.matrix[("W", l)]))
        if l == L:
            order.append((ones, Ones(n, s.a0)))
        b = derivation.matrix[("b", l)].xreplace({OneMatrix(n, 1): ones})
        order.append((_gradient(ls.b), b))
    return order


def _is_product(m) -> bool:
    """W a, as opposed to b 1^T."""
    return isinstance(m, sp.MatMul) and not any(isinstance(f, OneMatrix) for f in m.args)


def _loss_factor(delta, z) -> sp.MatrixExpr | None:
    """G where delta^(L) = f'(z^(L)) * G and G is not a name yet, else None."""
    if not isinstance(delta, sp.HadamardProduct) or len(delta.args) != 2:
        return None
    prime = [f for f in delta.args if helper_name(f) is not None and f.expr == z]
    rest = [f for f in delta.args if f not in prime]
    if len(prime) != 1 or len(rest) != 1 or isinstance(rest[0], sp.MatrixSymbol):
        return None
    return rest[0]


def _gradient(param: sp.MatrixSymbol) -> sp.MatrixSymbol:
    """dC/dW{l} or dC/db{l}, named like the parameter."""
    return sp.MatrixSymbol(f"dC_d{param.name}", *param.shape)


def _named_cse(order, args, pairs: set):
    """A ``cse`` for lambdify: the quantities of ``order`` the expressions need, each deleted
    after its last use (``del`` statements), and each that dies in a statement lending its
    memory to that statement's result (see ``_into``). Arguments and results are never deleted
    or written to. Activations computed together with their derivative (``_paired``) are added
    to ``pairs``."""

    def cse(exprs):
        single = not isinstance(exprs, list | tuple)
        exprs = [exprs] if single else list(exprs)
        needed = set()
        frontier = [m for e in exprs for m in e.atoms(sp.MatrixSymbol)]
        reads: dict = {}
        for m, e in order:
            reads.setdefault(m, set()).update(e.atoms(sp.MatrixSymbol))
        while frontier:
            m = frontier.pop()
            if m in reads and m not in needed:
                needed.add(m)
                frontier += list(reads[m])
        statements = _paired([(m, e) for m, e in order if m in needed], pairs)
        defined = dict.fromkeys(
            d for m, _ in statements for d in (m.args if isinstance(m, Names) else (m,))
        )
        last = {}
        for i, (_, e) in enumerate(statements):
            for m in e.atoms(sp.MatrixSymbol):
                last[m] = i
        kept = set(args) | {m for e in exprs for m in e.atoms(sp.MatrixSymbol)}
        planned = []
        for i, (m, e) in enumerate(statements):
            dying = [d for d in defined if last.get(d) == i and d not in kept]
            planned.append((m, _into(e, dying)))
            if i + 1 < len(statements):  # the return frees the last ones anyway
                planned += [(d, None) for d in dying]
        return planned, exprs[0] if single else exprs

    return cse


def _paired(statements, pairs: set) -> list:
    """``a = f(Z)`` and a later f'(Z) become ``a, f_prime_Z = f_and_prime(Z)`` and a read of
    the name, where the activation spells both together (``numpy_pair``)."""
    statements = list(statements)
    for i, (m, e) in enumerate(statements):
        name = helper_name(e)
        act = by_symbol().get(name)
        if act is None or act.numpy_pair is None:
            continue
        z = e.expr
        later = [
            node
            for _, f in statements[i + 1 :]
            for node in sp.preorder_traversal(f)
            if helper_name(node) == f"{name}_prime" and node.expr == z
        ]
        if not later:
            continue
        prime = sp.MatrixSymbol(f"{name}_prime_{z.name}", *z.shape)
        statements[i] = (Names(m, prime), WithPrime(e))
        for j in range(i + 1, len(statements)):
            target, f = statements[j]
            statements[j] = (target, f.xreplace({later[0]: prime}))
        pairs.add(act.name)
    return statements


def _into(expr, dying: list) -> sp.MatrixExpr:
    """``expr`` computed in the memory of quantities that die in it: f(Z) into Z, A + B into a
    dying A, c (A + B) likewise, and a Hadamard product into a dying factor, or else into Z of a
    factor f'(Z) computed in place. A name lends its memory only where the expression reads it
    nowhere else."""

    def lent(f):
        z = getattr(f, "expr", None)
        return helper_name(f) is not None and z in dying and _count(expr, z) == 1

    if lent(expr):
        return Into(expr, expr.expr)
    if isinstance(expr, sp.MatAdd) and len(expr.args) == 2:
        names = [t for t in expr.args if t in dying and _count(expr, t) == 1]
        if names:
            return Into(expr, names[0])
    if isinstance(expr, sp.MatMul):
        mats = [m for m in expr.args if m.is_Matrix]
        inner = _into(mats[0], dying) if len(mats) == 1 else mats[0]
        if isinstance(inner, Into):
            scalars = [m for m in expr.args if not m.is_Matrix]
            return Into(sp.MatMul(*scalars, inner), inner.target)
    if isinstance(expr, sp.HadamardProduct):
        factors = [Into(f, f.expr) if lent(f) else f for f in expr.args]
        targets = [f for f in expr.args if f in dying and _count(expr, f) == 1]
        targets += [f.target for f in factors if isinstance(f, Into)]
        if targets:
            return Into(sp.HadamardProduct(*factors), targets[0])
    return expr


def _count(expr, m) -> int:
    """How often the name ``m`` occurs in ``expr``."""
    return sum(1 for node in sp.preorder_traversal(expr) if node == m)


def _input_gradient(s) -> sp.MatrixSymbol:
    """dC/da^(0), named like the other dC/da^(l)."""
    return sp.MatrixSymbol("dC_da0", *s.a0.shape)


@cache
def generate_source(spec: NetworkSpec) -> str:
    """The source of a standalone NumPy module for ``spec`` (see the module docstring)."""
    derivation = derive_network(spec)
    s = derivation.symbols
    L = spec.layers
    deltas = dict(derivation.deltas)
    deltas[s.layers[L].delta] = _output_delta(derivation)
    for l in range(1, L):  # delta^(l) reads dC/da^(l) by its name
        delta = s.layers[l].delta
        deltas[delta] = deltas[delta].xreplace({derivation.matrix[("a", l)]: s.layers[l].dC_da})
    order = _quantities(derivation, deltas)
    printer = BackpropPrinter({"fully_qualified_modules": True, "inline": True})
    params = [p for ls in s.layers.values() for p in (ls.W, ls.b)]
    grads = [_gradient(p) for ls in s.layers.values() for p in (ls.W, ls.b)]
    upstream = [_input_gradient(s), *(s.layers[l].dC_da for l in range(1, L))]

    pairs: set = set()

    def lambdified(name, args, expr):
        cse = _named_cse(order, args, pairs)
        f = sp.lambdify(args, expr, modules="numpy", printer=printer, cse=cse, docstring_limit=0)
        code = inspect.getsource(f)
        return code.replace("def _lambdifygenerated(", f"def {name}(", 1)

    body = [
        lambdified("_forward", [*params, s.a0], s.layers[L].a),
        lambdified("_loss", [*params, s.a0, s.y, n], derivation.cost),
        lambdified("_gradients", [*params, s.a0, s.y, n], grads),
        lambdified("_gradients_and_inputs", [*params, s.a0, s.y, n], grads + upstream),
    ]
    return _module(derivation, body, pairs)


def _module(derivation, body: list[str], pairs: set) -> str:
    spec = derivation.spec
    L = spec.layers
    rules = report.latex_block(derivation, "matrix").splitlines()
    header = [f"# {line}" if not line.startswith("%") else f"# {line[2:]}" for line in rules]
    unpack = ", ".join(f'params["W{l}"], params["b{l}"][:, None]' for l in range(1, L + 1))
    names = [f"W{l}" for l in range(1, L + 1)]
    grad_items = []
    for i, l in enumerate(range(1, L + 1)):
        grad_items.append(f'"W{l}": g[{2 * i}]')
        grad_items.append(f'"b{l}": g[{2 * i + 1}][:, 0]')
    act_items = [f'"dC_da{l - 1}": g[{2 * L + l - 1}].T' for l in range(1, L + 1)]
    public = f'''

def forward(params, X):
    """The network output a^({L}) for each row of X: shape (n, n_{L})."""
    return _forward({unpack}, X.T).T


def loss(params, X, Y):
    """C: the mean over the rows of X and Y of the per-sample loss."""
    return float(_loss({unpack}, X.T, Y.T, X.shape[0])[0, 0])


def gradients(params, X, Y, activations=False):
    """dC/dW1, dC/db1, ... as a dict shaped like params; with ``activations`` also dC/da0, ...,
    dC/da{L - 1} (keys "dC_da0", ...), one row per sample."""
    f = _gradients_and_inputs if activations else _gradients
    g = f({unpack}, X.T, Y.T, X.shape[0])
    out = {{{", ".join(grad_items)}}}
    if activations:
        out.update({{{", ".join(act_items)}}})
    return out
'''
    doc = (
        f'"""Backpropagation for {spec.describe()}: generated NumPy code.\n\n'
        f"Parameters {', '.join(names)} and b1, ... in the public convention; X (n, n_0) and\n"
        f"Y (n, n_{L}) hold one sample per row. Only NumPy is needed.\n\n"
        "Inside, matrices hold one sample per column, as in the rules below; z^(L) is computed\n"
        "as (a^(L-1)T W^(L)T)T, which lays it out in memory with one sample per row, as Y is.\n"
        '"""'
    )
    parts = [
        doc,
        "\n".join(header),
        "import numpy",
        HELPERS + _activation_helpers(spec, pairs),
        *body,
        public,
    ]
    text = "\n\n".join(p.strip("\n") for p in parts[:3]) + "\n\n\n" + parts[3].strip("\n")
    text += "\n\n\n" + "\n\n\n".join(textwrap.dedent(b).strip("\n") for b in body) + "\n"
    return text + public
