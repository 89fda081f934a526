"""The jobs the worker processes run: each takes a ``NetworkSpec`` and plain values and returns
a JSON-ready dict with the fields of the command's ``--format json`` / ``--json`` output, and
what the page needs beside them (MathML, the LaTeX document).

The library is imported here at the top: the forkserver imports this module once (``warm``), so
every worker starts with SymPy and NumPy loaded. Functions are module-level so that they pickle.
"""

from __future__ import annotations

from bpverify.derive import NetworkSpec, derive_network, latex, report, verify
from bpverify.derive.budget import Worker
from bpverify.derive.prove import ClaimError, parse_claim, prove_within, resolve_wrt
from bpverify.derive.prove.matrix_claims import ShapeMismatch, matrix_wrt, read_claim, read_wrt
from bpverify.numeric import generate_source
from bpverify.numeric.check.options import CheckOptions
from bpverify.numeric.check.report import document
from bpverify.numeric.check.run import check_gradients

from .mathml import mathml

SEED_CLAIM = "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"
"""The seed's dC_0/dw^(3)_jk, the claim the page opens with."""


def derivation(spec: NetworkSpec, form: str, check_rules: bool) -> dict:
    """``bpverify derive --format json``'s record (``report.records``), with ``sections``
    (heading and rows, each row as LaTeX and MathML), ``latex`` (the printed block) and
    ``document`` (the ``-o FILE.tex`` document)."""
    d = derive_network(spec)
    v = verify.verify(d) if check_rules else None
    answer = report.records(d, form, v)
    parts = report.sections(d, form, v)  # once: the block and the document are its layouts
    answer["sections"] = [
        {"heading": heading, "rows": [{"latex": r, "mathml": mathml(r)} for r in rows]}
        for heading, rows in parts
    ]
    answer["latex"] = report.block_of(parts)
    answer["document"] = report.document_of(spec, parts)
    return answer


def proof(worker: Worker, spec: NetworkSpec, wrt: str | None, claim: str, points: int, seed: int):
    """``bpverify prove --json``'s record: the verdict of ``claim``, decided in ``worker``
    under its budget (``prove_within``: past it, UNDECIDED)."""
    return prove_within(worker, spec, wrt, claim, points=points, seed=seed).to_dict()


def preview(spec: NetworkSpec, wrt: str | None, claim: str) -> dict:
    """The claim as read: what it differentiates by, and ``lhs = claim`` as LaTeX and MathML.
    ClaimError (bad input) for a claim the prover cannot read."""
    wrt = resolve_wrt(spec, wrt, claim)
    if matrix_wrt(spec, wrt):
        key, shown = read_wrt(spec, wrt)
        try:
            expr = read_claim(spec, key, claim)
        except ShapeMismatch as e:
            raise ClaimError(f"the claim's shapes do not fit: {e}") from None
        name = shown.replace("delta", r"\delta").replace("^(", "^{(").replace(")", ")}")
        lhs = name if key[0] == "z" else rf"\frac{{\partial C}}{{\partial {name}}}"
    else:
        target = latex(parse_claim(spec, wrt))
        expr = parse_claim(spec, claim)
        lhs = rf"\frac{{\partial C_0}}{{\partial {target}}}"
    text = f"{lhs} = {latex(expr)}"
    return {"wrt": wrt, "latex": text, "mathml": mathml(text)}


def code(spec: NetworkSpec) -> dict:
    """``bpverify generate``'s module, and the name it is saved under."""
    return {"network": spec.describe(), "filename": "grads.py", "source": generate_source(spec)}


def check(spec: NetworkSpec, options: CheckOptions) -> dict:
    """``bpverify check --json``'s document for the generated code of ``spec``: the service
    checks only code it generated, never code sent to it."""
    return document([check_gradients(spec, None, options)])
