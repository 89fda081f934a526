"""Generated NumPy code: the derived matrix-form rules, printed as a standalone module.

``generate_source(spec)`` writes a module that imports only NumPy and defines ``forward(params,
X)``, ``loss(params, X, Y)`` and ``gradients(params, X, Y)`` in the public convention (params
{"W1": (n1, n0), "b1": (n1,), ...}, samples as rows). Inside, one column is one sample, as in
the rules, and each function is a ``sympy.codegen.ast`` tree printed by ``BackpropPrinter`` in
the derivation's own names (z1, a1, ..., delta3, dC_dW3, dC_db3, dC_da2, ..., delta1):

- ``_forward`` computes z^(l) and a^(l) once for all three: ``forward`` reads a^(L), ``loss``
  hands a^(L) (or z^(L)) to ``_cost``, and ``_gradients`` backpropagates from what it returns.
  It keeps z^(l) for the backward pass, or f'(z^(l)) where the activation spells f and f'
  together (``numpy_pair``: ``a1, sigma_prime_z1 = sigma_and_prime(z1, out=z1)``), which is
  cheaper than the two apart when backpropagation needs both.
- ``_gradients`` runs the backward pass layer by layer from delta^(L): dC/dW^(l), dC/db^(l),
  then dC/da^(l-1) = W^(l)T delta^(l), computed once, and delta^(l-1) from it.
  ``_gradients_and_inputs`` is the same pass for ``activations=True``, where dC/da^(l) are
  results: they keep their memory and are never freed.

The backward pass plans its memory, since the temporaries of large layers cost page faults on
every call: a quantity that dies in a statement lends its memory to the statement's result
(``delta2 = numpy.multiply(tanh_prime(z2, out=z2), dC_da2, out=dC_da2)``), and the arrays that
are no longer read are freed together, by one ``del`` just before the next statement that makes
a new matrix, which reuses their memory. Nothing the caller passed in is written to. The module
holds only the helpers its functions call.
"""

from __future__ import annotations

import textwrap
from functools import cache

import sympy as sp
from sympy.codegen.ast import (
    AddAugmentedAssignment,
    Assignment,
    FunctionCall,
    FunctionDefinition,
    Return,
    String,
    Variable,
    none,
)
from sympy.matrices.expressions import OneMatrix

from bpverify.derive import ACTIVATIONS, LOSSES, NetworkSpec, derive_network, report
from bpverify.derive import rules as derive_rules
from bpverify.derive.activations import OUTPUT_ACTIVATIONS, Activation, by_symbol
from bpverify.derive.notation import n
from bpverify.derive.spec import DEFAULT_COST

from .printer import (
    LINE_LENGTH,
    BackpropPrinter,
    Docstring,
    Free,
    Into,
    Ones,
    Record,
    SampleRows,
    Unpack,
    Vector,
    WithPrime,
    bracketed,
    helper_name,
)

HELPERS = {
    "log_safe": '''def log_safe(x):
    """log(x), with x below the smallest normal number of its dtype read as that number."""
    return numpy.log(numpy.maximum(x, numpy.finfo(x.dtype).tiny))''',
    "logsumexp": '''def logsumexp(z):
    """log(sum(exp(z))) down each column, shifted by the column maximum so nothing overflows."""
    m = numpy.max(z, axis=0, keepdims=True)
    return m + numpy.log(numpy.sum(numpy.exp(z - m), axis=0, keepdims=True))''',
    **{
        row.symbol: f'def {row.symbol}(z):\n    """{row.name} down each column."""\n'
        + textwrap.indent(row.numpy, "    ")
        for row in OUTPUT_ACTIVATIONS.values()
    },
}
"""The helpers of the losses and of softmax, by name."""

UNUSED = sp.Symbol("_")


def activation_helpers(act: Activation, slope: sp.Expr) -> dict[str, str]:
    """The source of each helper of one activation row, by name: f (``tanh``), f'
    (``tanh_prime``) and, where the row spells both together, ``tanh_and_prime``; each a
    function ``(z, out=None)`` whose body is the row's NumPy spelling (``{alpha}`` is the
    leaky slope)."""
    helpers = {
        act.symbol: (act.numpy, f"{act.name}, elementwise; ``out`` may receive it."),
        f"{act.symbol}_prime": (
            act.numpy_prime,
            f"The derivative of {act.name}, elementwise; ``out`` may receive it.",
        ),
        f"{act.symbol}_and_prime": (
            act.numpy_pair,
            f"{act.name} and its derivative together; ``out`` may receive the derivative.",
        ),
    }
    alpha = repr(float(slope))
    out = {}
    for name, (spelling, doc) in helpers.items():
        if spelling is None:  # no pair spelled (f and f' always are, by the row or SymPy)
            continue
        lines = spelling.replace("{alpha}", alpha).splitlines()
        decorators = [line for line in lines if line.startswith("@")]
        code = "\n".join(line for line in lines if not line.startswith("@"))
        code = code if "return" in code else f"return {code}"
        body = textwrap.indent(f'"""{doc}"""\n{code}', "    ")
        out[name] = "\n".join([*decorators, f"def {name}(z, out=None):", body])
    return out


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
    scaled = product * spec.batch_scale(n)  # (a - y)/n for the mean cost, a - y for the sum
    return derive_rules.lift(scaled, {derive_rules.out_k: last.a, derive_rules.y_k: s.y})


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


def _named(name: str, like: sp.MatrixExpr) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(name, *like.shape)


class _Network:
    """The derivation's quantities in the order the generated code computes them."""

    def __init__(self, spec: NetworkSpec):
        derivation = derive_network(spec)
        self.spec = spec
        self.derivation = derivation
        s = self.symbols = derivation.symbols
        self.L = L = spec.layers
        self.params = [p for ls in s.layers.values() for p in (ls.W, ls.b)]
        deltas = dict(derivation.deltas)
        deltas[s.layers[L].delta] = _output_delta(derivation)
        for l in range(1, L):  # delta^(l) reads dC/da^(l) by its name
            delta = s.layers[l].delta
            deltas[delta] = deltas[delta].xreplace({derivation.matrix[("a", l)]: s.layers[l].dC_da})
        self.deltas = deltas
        # f'(z^(l)) computed with f(z^(l)) in the forward pass, by layer: where the activation
        # spells both together and the backward pass reads f'(z^(l))
        self.primes: dict[int, tuple[sp.MatrixExpr, sp.MatrixSymbol]] = {}
        for l, ls in s.layers.items():
            act = by_symbol().get(helper_name(derivation.forward[ls.a]) or "")
            if act is None or act.numpy_pair is None:
                continue
            reads = [
                node
                for expr in deltas.values()
                for node in sp.preorder_traversal(expr)
                if helper_name(node) == f"{act.symbol}_prime" and node.expr == ls.z
            ]
            if reads:
                self.primes[l] = (reads[0], _named(f"{act.symbol}_prime_{ls.z.name}", ls.z))

    def kept(self, l: int) -> sp.MatrixSymbol:
        """What ``_forward`` keeps of z^(l) for the backward pass: z^(l) or f'(z^(l))."""
        return self.primes[l][1] if l in self.primes else self.symbols.layers[l].z

    def forward(self) -> list:
        """z^(l) = W^(l) a^(l-1), then b^(l) added in place (a new array for the sum would leave
        a hole of one array's size behind the product's), and a^(l) = f(z^(l)) into new memory,
        as z^(l) (or f'(z^(l)) in its memory) is kept."""
        body = []
        for l, ls in self.symbols.layers.items():
            product, bias = sorted(
                self.derivation.forward[ls.z].args, key=lambda m: not _is_product(m)
            )
            if l == self.L:
                # z^(L) with one sample per row in memory, like the caller's Y: a^(L) - y then
                # reads both in order instead of transposing one, and forward() returns rows as
                # they are
                product = SampleRows(product)
            body += [Assignment(ls.z, product), AddAugmentedAssignment(ls.z, bias)]
            a = self.derivation.forward[ls.a]
            if l in self.primes:
                pair = sp.Tuple(ls.a, self.primes[l][1])
                body.append(Unpack(pair, Into(WithPrime(a), ls.z)))
            else:
                body.append(Assignment(ls.a, a))
        return body

    def outputs(self) -> sp.Tuple:
        """What ``_forward`` returns: [a^(1), ..., a^(L)] and what it keeps of each z^(l)."""
        layers = self.symbols.layers
        return sp.Tuple(
            sp.Tuple(*(ls.a for ls in layers.values())), sp.Tuple(*map(self.kept, layers))
        )

    def backward(self, inputs: bool) -> list[tuple[sp.MatrixSymbol, sp.MatrixExpr]]:
        """The backward pass from delta^(L), layer by layer: dC/da^(l-1) = W^(l)T delta^(l) (a
        name, read once by delta^(l-1) and a result with ``inputs``) and delta^(l-1), then
        dC/dW^(l) and dC/db^(l). delta^(l-1) comes first so that f'(z^(l-1)) or dC/da^(l-1),
        which it leaves unread, can make room for dC/dW^(l). Where delta^(L) = f'(z^(L)) * G, G
        is named dC/da^(L)."""
        s, L, matrix = self.symbols, self.L, self.derivation.matrix
        ones = sp.MatrixSymbol("ones", n, 1)
        top = s.layers[L]
        order = []
        delta = self.deltas[top.delta]
        factor = _loss_factor(delta, top.z)
        if factor is not None:
            order.append((top.dC_da, factor))
            delta = sp.HadamardProduct(*(top.dC_da if f == factor else f for f in delta.args))
        order.append((top.delta, delta))
        for l in reversed(s.layers):
            ls = s.layers[l]
            if l > 1:
                below = s.layers[l - 1]
                order.append((below.dC_da, matrix[("a", l - 1)]))
                order.append((below.delta, self.deltas[below.delta]))
            elif inputs:
                order.append((_named("dC_da0", s.a0), matrix[("a", 0)]))
            order.append((_named(f"dC_d{ls.W.name}", ls.W), matrix[("W", l)]))
            if l == L:
                order.append((ones, Ones(n, s.a0)))
            b = matrix[("b", l)].xreplace({OneMatrix(n, 1): ones})
            order.append((_named(f"dC_d{ls.b.name}", ls.b), b))
        paired = {expr: name for expr, name in self.primes.values()}
        return [(m, e.xreplace(paired)) for m, e in order]

    def results(self, inputs: bool) -> Record:
        """The gradients in the public convention: dC/db^(l) as 1-D arrays and dC/da^(l) with
        one row per sample."""
        pairs = []
        for ls in self.symbols.layers.values():
            pairs.append((String(ls.W.name), _named(f"dC_d{ls.W.name}", ls.W)))
            pairs.append((String(ls.b.name), Vector(_named(f"dC_d{ls.b.name}", ls.b))))
        if inputs:
            layers = self.symbols.layers
            upstream = [_named("dC_da0", self.symbols.a0)]
            upstream += [layers[l].dC_da for l in range(1, self.L)]
            pairs += [(String(m.name), sp.Transpose(m)) for m in upstream]
        return Record(*(sp.Tuple(k, v) for k, v in pairs))


def _function(name: str, args, doc: str, body: list) -> FunctionDefinition:
    return FunctionDefinition(none, name, [Variable(a) for a in args], [Docstring(doc), *body])


def _gradients_function(net: _Network, inputs: bool) -> FunctionDefinition:
    """``_gradients`` or ``_gradients_and_inputs``: ``_forward``, then the backward pass with
    its memory planned (``_plan``)."""
    s = net.symbols
    args = [*net.params, s.a0, s.y, n]
    statements = net.backward(inputs)
    results = net.results(inputs)
    read = {m for _, e in statements for m in e.atoms(sp.MatrixSymbol)}
    outputs = net.outputs()
    outputs = outputs.xreplace({m: UNUSED for m in outputs.atoms(sp.MatrixSymbol) if m not in read})
    call = FunctionCall("_forward", [*net.params, s.a0])
    body = [
        Unpack(outputs, call),
        *_plan(statements, kept=set(args) | results.atoms(sp.MatrixSymbol)),
    ]
    body.append(Return(results))
    L = net.L
    if inputs:
        doc = (
            f"As ``_gradients``, with {_span(net, lambda l: f'dC/da{l - 1}')[1:-1]}: results"
            " here, so delta^(l) takes the memory of f'(z^(l)) rather than theirs, and they are"
            " never freed."
        )
        return _function("_gradients_and_inputs", args, doc, body)
    doc = f"dC/dW^(l) and dC/db^(l) of every layer: backpropagation from delta^({L}) down."
    return _function("_gradients", args, doc, body)


def _span(net: _Network, name) -> str:
    """[x1, ..., xL] for ``name(l)`` (a name, or a string)."""
    first, last = (str(name(l)) for l in (1, net.L))
    return {1: f"[{first}]", 2: f"[{first}, {last}]"}.get(net.L, f"[{first}, ..., {last}]")


def _plan(statements, kept: set) -> list:
    """The statements with their memory planned: each that allocates may write into the memory
    of a quantity that dies in it instead (``_into``), and the arrays no longer read are freed
    (``Free``) together, just before the next statement that makes a new matrix (dC/da^(l) or
    dC/dW^(l); not a column), which can then reuse their memory. Freeing them only when they
    are needed keeps the C allocator from handing a large free block back to the system, whose
    pages would fault again on the next call. Arguments and results are never written to or
    freed."""
    last = {}
    for i, (_, e) in enumerate(statements):
        for m in e.atoms(sp.MatrixSymbol):
            last[m] = i
    owner: dict = {}  # name -> the name whose memory it holds, where that is another's

    def memory(m):
        return owner.get(m, m)

    dead: list = []  # names no longer read, in the order they died
    planned: list = []
    for i, (m, e) in enumerate(statements):
        dying = sorted(
            (d for d in e.atoms(sp.MatrixSymbol) if last[d] == i and d not in kept),
            key=lambda d: d.name,
        )
        e = _into(e, dying)
        new = not isinstance(e, Into)
        if new and m.shape[1] != 1:
            # a memory is freed when the last of its names goes
            holders = [*owner, *dead]
            freed = [d for d in dead if all(x in dead for x in holders if memory(x) == memory(d))]
            if freed:
                planned.append(Free(*freed))
                dead = [d for d in dead if d not in freed]
        planned.append(Assignment(m, e))
        if not new:
            owner[m] = memory(e.target)
        dead += dying
    return planned


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


@cache
def generate_source(spec: NetworkSpec) -> str:
    """The source of a standalone NumPy module for ``spec`` (see the module docstring)."""
    net = _Network(spec)
    s, L = net.symbols, net.L
    printer = BackpropPrinter()
    top = s.layers[L]
    cost = net.derivation.cost
    cost_args = [m for m in (top.a, top.z) if cost.has(m)]
    decayed = [ls.W for ls in s.layers.values() if cost.has(ls.W)]  # the L2 penalty's weights
    forward_doc = (
        f"Every layer's z^(l) and a^(l): returns {_span(net, lambda l: s.layers[l].a)} and, for"
        f" backpropagation, {_span(net, net.kept)}."
    )
    functions = [
        _function(
            "_forward", [*net.params, s.a0], forward_doc, [*net.forward(), Return(net.outputs())]
        ),
        _function(
            "_cost",
            [*cost_args, s.y, n, *decayed],
            _cost_doc(spec),
            _cost_body(cost, decayed),
        ),
        _gradients_function(net, inputs=False),
        _gradients_function(net, inputs=True),
    ]
    printed = [printer.doprint(f) for f in functions]
    return _module(net, printed, printer.helpers, cost_args, decayed)


def _cost_body(cost: sp.MatrixExpr, decayed: list) -> list:
    """``return C``; with an L2 penalty, C summed a term a line (the loss's, then each weight's
    squares), which keeps every line short at any depth."""
    if not decayed:
        return [Return(cost)]
    terms = [
        part
        for term in sp.MatAdd.make_args(cost)
        for part in (sp.MatAdd.make_args(sp.expand(term)) if term.has(*decayed) else (term,))
    ]
    terms.sort(key=lambda t: t.has(*decayed))
    total = sp.MatrixSymbol("C", 1, 1)
    rest = [AddAugmentedAssignment(total, t) for t in terms[1:]]
    return [Assignment(total, terms[0]), *rest, Return(total)]


def _cost_doc(spec: NetworkSpec) -> str:
    """The docstring of ``_cost``: today's sentence for the mean cost, the batch cost else."""
    if spec.cost == DEFAULT_COST and not spec.l2:
        return "C, the mean over the samples (columns) of the per-sample loss C_0."
    return f"{spec.conventions}: C_i the per-sample loss of column i."


def _module(net: _Network, functions: list[str], helpers: set[str], cost_args, decayed=()) -> str:
    spec, L = net.spec, net.L
    header = []
    for line in report.latex_block(net.derivation, "matrix").splitlines():
        text = line[2:] if line.startswith("%") else line
        # LaTeX reads a line break as a space: long rows continue on the next comment line
        header += textwrap.wrap(
            text, LINE_LENGTH - 2, subsequent_indent="    ", break_on_hyphens=False
        ) or [""]
    paragraphs = [
        f"Backpropagation for {spec.describe()}: generated NumPy code.",
        f"Parameters W1, b1, ..., W{L}, b{L} in the public convention; X (n, n_0) and Y (n, n_{L})"
        " hold one sample per row. Only NumPy is needed.",
        "Inside, matrices hold one sample per column, as in the rules below; z^(L) is computed as"
        " (a^(L-1)T W^(L)T)T, which lays it out in memory with one sample per row, as Y is."
        " _forward computes every layer once, for forward, loss and gradients alike.",
    ]
    doc = '"""' + "\n\n".join(textwrap.fill(p, LINE_LENGTH - 3) for p in paragraphs) + '\n"""'
    acts = [ACTIVATIONS[a] for a in dict.fromkeys(spec.activations) if a in ACTIVATIONS]
    available = dict(HELPERS)
    for act in acts:
        available.update(activation_helpers(act, spec.leaky_slope))
    used = [source for name, source in available.items() if name in helpers]
    items = []
    for l in range(1, L + 1):
        items += [f'params["W{l}"]', f'params["b{l}"][:, None]']
    unpack = bracketed("return (", items, ")", "    ", explode=True)
    if len(f"    return {', '.join(items)}") <= LINE_LENGTH:
        unpack = f"    return {', '.join(items)}"
    top = net.symbols.layers[L]
    a, z = ("a" if top.a in cost_args else "_"), ("z" if top.z in cost_args else "_")
    cost_call = ", ".join(f"{m.name[0]}[-1]" for m in cost_args)
    weights = ", *_parameters(params)[::2]" if decayed else ""  # W1, ..., WL: every W decays
    summary = f"the {spec.cost}"
    penalty = ", plus the L2 penalty" if spec.l2 else ""
    public = f'''def _parameters(params):
    """W1, b1, ..., W{L}, b{L} as the rules read them: each b^(l) as a column."""
{unpack}


def forward(params, X):
    """The network output a^({L}) for each row of X: shape (n, n_{L})."""
    a, _ = _forward(*_parameters(params), X.T)
    return a[-1].T


def loss(params, X, Y):
    """C: {summary} over the rows of X and Y of the per-sample loss{penalty}."""
    {a}, {z} = _forward(*_parameters(params), X.T)
    return float(_cost({cost_call}, Y.T, X.shape[0]{weights}))


def gradients(params, X, Y, activations=False):
    """dC/dW1, dC/db1, ... as a dict shaped like params; with ``activations`` also dC/da0, ...,
    dC/da{L - 1} (keys "dC_da0", ...), one row per sample."""
    backprop = _gradients_and_inputs if activations else _gradients
    return backprop(*_parameters(params), X.T, Y.T, X.shape[0])
'''
    parts = [doc, "\n".join(f"# {h}".rstrip() for h in header), "import numpy", *used]
    return "\n\n".join(parts[:3]) + "\n\n\n" + "\n\n\n".join([*parts[3:], *functions, public])
