"""Generated NumPy code: the derived matrix-form rules through ``sympy.lambdify``.

``generate_source(spec)`` writes a standalone module that imports only NumPy and defines
``forward(params, X)``, ``loss(params, X, Y)`` and ``gradients(params, X, Y)`` in the public
convention (params {"W1": (n1, n0), "b1": (n1,), ...}, samples as rows). Inside, three functions
come from ``lambdify`` with ``BackpropPrinter``; their common subexpressions are the derivation's
own named quantities (z1, a1, ..., deltaL, ..., delta1), handed to lambdify as its ``cse`` step,
so the code reads in the seed's notation and computes each quantity once.
"""

from __future__ import annotations

import inspect
import textwrap
from functools import cache

import sympy as sp

from bpverify.derive import ACTIVATIONS, LOSSES, NetworkSpec, derive_network, report
from bpverify.derive import rules as derive_rules
from bpverify.derive.notation import n

from .printer import BackpropPrinter

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


def _activation_helpers(spec: NetworkSpec) -> str:
    out = []
    alpha = repr(float(spec.leaky_slope))
    for name in dict.fromkeys(spec.activations):
        act = ACTIVATIONS.get(name)
        if act is None:
            continue
        for fname, body, what in (
            (act.symbol, act.numpy, name),
            (f"{act.symbol}_prime", act.numpy_prime, f"the derivative of {name}"),
        ):
            code = body.replace("{alpha}", alpha)
            code = code if "return" in code else f"return {code}"
            code = textwrap.indent(code, "    ")
            out.append(f'\n\ndef {fname}(z):\n    """{what}, elementwise."""\n{code}\n')
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


def _named_cse(derivation, deltas):
    """A ``cse`` for lambdify: the derivation's named quantities, in the order they are computed,
    limited to those the expressions need. dC/da^(l) = W^(l+1)T delta^(l+1) is named too
    (``dC_da{l}``), so that it is computed once for delta^(l) and for the result."""
    s = derivation.symbols
    order = []
    for ls in s.layers.values():
        order += [(ls.z, derivation.forward[ls.z]), (ls.a, derivation.forward[ls.a])]
    for l in reversed(s.layers):
        delta = s.layers[l].delta
        order.append((delta, deltas[delta]))
        upstream = s.layers[l - 1].dC_da if l > 1 else _input_gradient(s)
        order.append((upstream, derivation.matrix[(l, "a")]))

    def cse(exprs):
        single = not isinstance(exprs, list | tuple)
        exprs = [exprs] if single else list(exprs)
        needed = set()
        frontier = [m for e in exprs for m in e.atoms(sp.MatrixSymbol)]
        definitions = dict(order)
        while frontier:
            m = frontier.pop()
            if m in definitions and m not in needed:
                needed.add(m)
                frontier += list(definitions[m].atoms(sp.MatrixSymbol))
        return [(m, e) for m, e in order if m in needed], exprs[0] if single else exprs

    return cse


def _input_gradient(s) -> sp.MatrixSymbol:
    """dC/da^(0), named like the other dC/da^(l)."""
    return sp.MatrixSymbol("dC_da0", *s.a0.shape)


@cache
def generate_source(spec: NetworkSpec) -> str:
    """The source of a standalone NumPy module for ``spec`` (see the module docstring)."""
    derivation = derive_network(spec, verify=False)
    s = derivation.symbols
    L = spec.layers
    deltas = dict(derivation.deltas)
    deltas[s.layers[L].delta] = _output_delta(derivation)
    for l in range(1, L):  # delta^(l) reads dC/da^(l) by its name
        delta = s.layers[l].delta
        deltas[delta] = deltas[delta].xreplace({derivation.matrix[(l + 1, "a")]: s.layers[l].dC_da})
    cse = _named_cse(derivation, deltas)
    printer = BackpropPrinter({"fully_qualified_modules": True, "inline": True})
    params = [p for ls in s.layers.values() for p in (ls.W, ls.b)]
    grads = [derivation.matrix[(l, q)] for l in s.layers for q in ("W", "b")]
    upstream = [_input_gradient(s), *(s.layers[l].dC_da for l in range(1, L))]

    def lambdified(name, args, expr):
        f = sp.lambdify(args, expr, modules="numpy", printer=printer, cse=cse, docstring_limit=0)
        code = inspect.getsource(f)
        return code.replace("def _lambdifygenerated(", f"def {name}(", 1)

    body = [
        lambdified("_forward", [*params, s.a0], s.layers[L].a),
        lambdified("_loss", [*params, s.a0, s.y, n], derivation.cost),
        lambdified("_gradients", [*params, s.a0, s.y, n], grads),
        lambdified("_gradients_and_inputs", [*params, s.a0, s.y, n], grads + upstream),
    ]
    return _module(derivation, body)


def _module(derivation, body: list[str]) -> str:
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
    act_items = [f'"a{l - 1}": g[{2 * L + l - 1}].T' for l in range(1, L + 1)]
    public = f'''

def forward(params, X):
    """The network output a^({L}) for each row of X: shape (n, n_{L})."""
    return _forward({unpack}, X.T).T


def loss(params, X, Y):
    """C: the mean over the rows of X and Y of the per-sample loss."""
    return float(_loss({unpack}, X.T, numpy.ascontiguousarray(Y.T), X.shape[0])[0, 0])


def gradients(params, X, Y, activations=False):
    """dC/dW1, dC/db1, ... as a dict shaped like params; with ``activations`` also dC/da0, ...,
    dC/da{L - 1} (keys "a0", ...), one row per sample."""
    f = _gradients_and_inputs if activations else _gradients
    # y contiguous: a - y with a strided y costs ten times a contiguous one
    g = f({unpack}, X.T, numpy.ascontiguousarray(Y.T), X.shape[0])
    out = {{{", ".join(grad_items)}}}
    if activations:
        out.update({{{", ".join(act_items)}}})
    return out
'''
    doc = (
        f'"""Backpropagation for {spec.describe()}: generated NumPy code.\n\n'
        f"Parameters {', '.join(names)} and b1, ... in the public convention; X (n, n_0) and\n"
        f'Y (n, n_{L}) hold one sample per row. Only NumPy is needed.\n"""'
    )
    parts = [
        doc,
        "\n".join(header),
        "import numpy",
        HELPERS + _activation_helpers(spec),
        *body,
        public,
    ]
    text = "\n\n".join(p.strip("\n") for p in parts[:3]) + "\n\n\n" + parts[3].strip("\n")
    text += "\n\n\n" + "\n\n\n".join(textwrap.dedent(b).strip("\n") for b in body) + "\n"
    return text + public
