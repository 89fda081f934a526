"""A derivation written out for people and machines: LaTeX, unicode text, JSON records, a
complete LaTeX document and a Jupyter display, all in the seed's notation and from layer L down
to 1. Each takes the ``Verification`` to report (``verify.verify``), if any, as an argument.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import sympy as sp

from .activations import Softmax
from .derivation import FORMS, Derivation, Gradient, Key
from .losses import LOSSES
from .notation import NetworkSymbols, j, k, n
from .printing import latex, pretty
from .spec import DEFAULT_COST, NetworkSpec
from .unrolled import check_size, unrolled_gradients
from .verify import Verification

FORM_TITLES = {
    "index": "index form: one sample, cost C_0",
    "matrix": "matrix form: n samples as columns, C = (1/n) sum_i C_i",
    "unrolled": "unrolled form: every entry of the concrete network, one sample",
}
"""The heading of each form for the default conventions (``form_title`` for any network)."""


def form_title(spec: NetworkSpec, form: str) -> str:
    """The heading of ``form``: the matrix form names the batch cost it differentiates
    (``spec.conventions``); the per-sample forms say that an L2 penalty is not in C_0."""
    if form == "matrix":
        return f"matrix form: n samples as columns, {spec.conventions}"
    if spec.l2:
        return f"{FORM_TITLES[form]} (the L2 penalty is in the matrix form only)"
    return FORM_TITLES[form]


def conventional(spec: NetworkSpec) -> bool:
    """True when the batch cost is today's default, the mean with no penalty."""
    return spec.cost == DEFAULT_COST and not spec.l2


def cost_latex(spec: NetworkSpec) -> str:
    """The batch cost C in LaTeX: the mean or the sum of the C_i, plus the L2 penalty."""
    scale = spec.batch_scale(n)
    out = rf"C &= {latex(scale) + ' ' if scale != 1 else ''}\sum_{{i=1}}^{{n}} C_{{i}}"
    if spec.l2:
        coefficient = latex(spec.batch_scale(n) * sp.Symbol("lambda") / 2)
        # \| rather than \lVert: matplotlib's mathtext (--render) knows only the former
        norms = rf"\sum_{{l=1}}^{{{spec.layers}}} \left\| W^{{(l)}} \right\|_F^{{2}}"
        out += rf" + {coefficient} {norms}, \quad \lambda = {latex(spec.l2)}"
    return out


FORM_CHOICES = (*FORMS, "all")
"""What ``form`` may be in every function here: one form, or ``all`` (see ``forms_of``)."""


def forms_of(derivation: Derivation, form: str) -> list[str]:
    """The forms ``form`` stands for: ``all`` is index and matrix, plus unrolled when the widths
    are concrete and small enough to unroll."""
    if form != "all":
        return [form]
    forms = ["index", "matrix"]
    try:
        check_size(derivation.spec)
    except ValueError:
        return forms
    return [*forms, "unrolled"]


def collect(derivation: Derivation, forms: Iterable[str]) -> list[Gradient]:
    """Every result of ``forms``, ordered by layer (L first), then form, then quantity."""
    order = {f: i for i, f in enumerate(forms)}
    grads = [
        g
        for f in order
        for g in (
            unrolled_gradients(derivation.spec) if f == "unrolled" else derivation.gradients(f)
        )
    ]
    return sorted(grads, key=lambda g: (-g.layer, order[g.form]))


INDEX_ENTRY = {"z": (j,), "W": (j, k), "b": (j,), "a": (k,)}
"""The entry each index-form result is written for, as the seed writes it: delta^(l)_j,
dC_0/dw^(l)_jk, dC_0/db^(l)_j and dC_0/da^(l-1)_k."""


def _variable(s: NetworkSymbols, key: Key) -> sp.MatrixSymbol:
    q, l = key
    return s.a(l) if q == "a" else {"z": s.layers[l].z, "W": s.layers[l].W, "b": s.layers[l].b}[q]


def lhs(derivation: Derivation, g: Gradient) -> str:
    """The left-hand side of a result in LaTeX: dC_0/dw^(l)_jk, dC/dW^(l), ..."""
    s = derivation.symbols if g.form == "matrix" else derivation.index_symbols
    q, l = g.wrt
    var = _variable(s, g.wrt)
    if g.form == "unrolled":
        var = var[g.entry[0], g.entry[1] if q == "W" else 0]
    elif g.form == "index":
        idx = INDEX_ENTRY[q]
        var = var[idx if len(idx) == 2 else (*idx, 0)]
    cost = "C" if g.form == "matrix" else "C_0"
    out = rf"\frac{{\partial {cost}}}{{\partial {latex(var)}}}"
    if q != "z":
        return out
    delta = s.layers[l].delta
    return rf"{latex(delta if g.form == 'matrix' else delta[j, 0])} = {out}"


def forward_latex(derivation: Derivation) -> list[str]:
    """The forward equations z^(l) = W^(l) a^(l-1) + b^(l), a^(l) = f(z^(l)) and the cost."""
    s = derivation.symbols
    out = []
    for ls in s.layers.values():
        z = derivation.forward[ls.z]
        out.append(rf"{latex(ls.z)} &= {latex(z)}")
        out.append(rf"{latex(ls.a)} &= {latex(derivation.forward[ls.a])}")
    s1 = derivation.index_symbols
    out_sym = s1.layers[derivation.spec.layers]
    loss = LOSSES[derivation.spec.loss]
    out_vec = _Column(out_sym.z if loss.output_activation else out_sym.a)
    c0 = loss.per_sample(out_vec, _Column(s1.y), j, out_vec.rows)
    out.append(rf"C_0 &= {latex(c0)}")
    if loss.output_activation:
        out.append(rf"{latex(out_sym.a[j, 0])} &= {latex(Softmax(out_sym.z)[j, 0])}")
    if not conventional(derivation.spec):
        out.append(cost_latex(derivation.spec))
    return out


class _Column:
    """A column vector read with one index, v[j] = v[j, 0], as the loss table's sums expect."""

    def __init__(self, m):
        self.m, self.rows = m, m.shape[0]

    def __getitem__(self, j):
        return self.m[j, 0]


def sections(
    derivation: Derivation, form: str = "all", verification: Verification | None = None
) -> list[tuple[str, list[str]]]:
    """The results as (heading, rows) pairs, each row ``lhs &= rhs`` in LaTeX: the network, the
    forward pass, then layer L down to 1 in each form, then the verification's summary (no rows)
    when one is given. Every LaTeX-like output (block, document, notebook, picture) is one
    layout of these."""
    spec = derivation.spec
    out = [(spec.describe(), []), ("forward pass", forward_latex(derivation))]
    forms = forms_of(derivation, form)
    grads = collect(derivation, forms)
    for layer in range(spec.layers, 0, -1):
        for f in forms:
            rows = [g for g in grads if g.layer == layer and g.form == f]
            if rows:
                body = [rf"{lhs(derivation, g)} &= {latex(g.expr)}" for g in rows]
                out.append((f"layer {layer}, {form_title(spec, f)}", body))
    if verification is not None:
        out.append((verification.summary(), []))
    return out


def latex_block(
    derivation: Derivation, form: str = "all", verification: Verification | None = None
) -> str:
    """The results as LaTeX: a comment line per heading, then an ``align*`` of its rows.

    Example:
        >>> from bpverify.derive import NetworkSpec, derive_network
        >>> print(latex_block(derive_network(NetworkSpec(1)), "matrix"))  # doctest: +SKIP
    """
    return block_of(sections(derivation, form, verification))


def block_of(parts: list[tuple[str, list[str]]]) -> str:
    """``latex_block``'s layout of ``sections``' (heading, rows) pairs."""
    lines = []
    for heading, rows in parts:
        lines.append(f"% {heading}")
        if rows:
            lines += [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]
    return "\n".join(lines)


def notebook_latex(
    derivation: Derivation, form: str = "all", verification: Verification | None = None
) -> str:
    """One ``aligned`` block in $$ ... $$ for MathJax (Jupyter): headings as \\text rows."""
    rows = []
    for heading, body in sections(derivation, form, verification):
        rows += [rf"&\text{{{heading.replace('_', ' ')}}}", *body]
    return "$$\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}$$"


def text_block(
    derivation: Derivation, form: str = "all", verification: Verification | None = None
) -> str:
    """The results as unicode text (SymPy's pretty printer), layer L first."""
    spec = derivation.spec
    out = [spec.describe(), ""]
    if not conventional(spec):
        out[1:1] = [spec.conventions + _PER_SAMPLE * bool(spec.l2)]
    forms = forms_of(derivation, form)
    for g in collect(derivation, forms):
        name = _name(g)
        out.append(f"layer {g.layer}, {g.form} form: {name} =")
        out.append(pretty(g.expr))
        out.append("")
    if verification is not None:
        out.append(verification.summary())
    return "\n".join(out)


_PER_SAMPLE = "; the index and unrolled forms are of one sample's C_0, which has no penalty"


def _name(g: Gradient) -> str:
    """The result's name in plain text: dC/dW2, delta2[j] = dC_0/dz2[j], dC_0/dW2[0,1], ..."""
    cost = "C" if g.form == "matrix" else "C_0"
    q, l = g.wrt
    if g.form == "unrolled":
        return f"d{cost}/d{q}{l}[{','.join(str(i) for i in g.entry)}]"
    sub = f"[{','.join(str(i) for i in INDEX_ENTRY[q])}]" if g.form == "index" else ""
    head = f"delta{l}{sub} = " if q == "z" else ""
    return f"{head}d{cost}/d{q}{l}{sub}"


def records(
    derivation: Derivation, form: str = "all", verification: Verification | None = None
) -> dict:
    """A JSON-ready object: the network, one record per layer, quantity and form, and the
    verification (null without one)."""
    spec = derivation.spec
    v = verification
    return {
        "network": {
            "layers": spec.layers,
            "widths": [str(w) for w in spec.widths],
            "activations": list(spec.activations),
            "loss": spec.loss,
            **({} if conventional(spec) else {"cost": spec.cost, "l2": str(spec.l2)}),
        },
        "gradients": [
            {
                # The record names a result by the backward step that gives it, as it always
                # has: layer l's "a" is dC/da^(l-1), and "delta" is dC/dz^(l).
                "layer": g.layer,
                "quantity": "delta" if g.wrt[0] == "z" else g.wrt[0],
                "form": g.form,
                **({"entry": list(g.entry)} if g.entry else {}),
                "name": _name(g),
                "lhs": lhs(derivation, g),
                "latex": latex(g.expr),
                "sympy": str(g.expr),
            }
            for g in collect(derivation, forms_of(derivation, form))
        ],
        "verification": None
        if v is None
        else {"ok": v.ok, "summary": v.summary(), "entries": v.entries, "failures": v.failures},
    }


def to_json(
    derivation: Derivation, form: str = "all", verification: Verification | None = None
) -> str:
    """``records`` as indented JSON text."""
    return json.dumps(records(derivation, form, verification), indent=2)


def document(
    derivation: Derivation, form: str = "all", verification: Verification | None = None
) -> str:
    """A complete LaTeX document (article, amsmath): a subsection per heading with rows."""
    return document_of(derivation.spec, sections(derivation, form, verification))


def document_of(spec: NetworkSpec, parts: list[tuple[str, list[str]]]) -> str:
    """``document``'s layout of ``sections``' (heading, rows) pairs for the network ``spec``."""
    body = []
    for heading, rows in parts:
        if rows:
            body.append(rf"\subsection*{{{_tex_escape(heading)}}}")
            body += [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]
        else:
            body.append(rf"\noindent {_tex_escape(heading)}\par")
    title = _tex_escape(spec.describe())
    return "\n".join(
        [
            r"\documentclass{article}",
            r"\usepackage{amsmath}",
            r"\allowdisplaybreaks",
            r"\begin{document}",
            rf"\section*{{Backpropagation: {title}}}",
            *body,
            r"\end{document}",
            "",
        ]
    )


def _tex_escape(text: str) -> str:
    for a, b in [
        ("\\", r"\textbackslash{}"),
        ("_", r"\_"),
        ("%", r"\%"),
        ("&", r"\&"),
        ("#", r"\#"),
    ]:
        text = text.replace(a, b)
    return text


@dataclass(frozen=True)
class Shown:
    """A derivation as Jupyter displays it: ``notebook_latex`` through ``_repr_latex_``."""

    derivation: Derivation
    form: str = "all"
    verification: Verification | None = None

    def _repr_latex_(self) -> str:
        return notebook_latex(self.derivation, self.form, self.verification)


def show(
    derivation: Derivation, form: str = "all", verification: Verification | None = None
) -> Shown:
    """An object that Jupyter renders as the derivation's equations (MathJax).

    Example:
        >>> from bpverify.derive import NetworkSpec, derive_network
        >>> show(derive_network(NetworkSpec(1)), "matrix")  # a notebook cell shows the equations
        ... # doctest: +SKIP
    """
    return Shown(derivation, form, verification)
