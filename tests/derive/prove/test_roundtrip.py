"""Everything ``bpverify derive`` prints for the index and unrolled forms is a claim that
``prove`` PROVES.

For several networks (depths 1 to 3, several activations and losses) ``derive --form index``
runs in each ``--format``, and each of its index-form rules (delta = dC_0/dz, dC_0/dw, dC_0/db,
dC_0/da) is given to ``prove`` verbatim:

- latex: each line of the index-form ``align*`` blocks, as printed (``lhs &= rhs \\\\``), which
  names its quantity by its left-hand side;
- json: each record's ``lhs = latex``, and its ``latex`` alone with the record's left-hand side
  as ``--wrt``;
- text: each rule as printed, ``lhs =`` and the right-hand side below it, one line or drawn
  over several (a sum drawn with ╲ ╱, a fraction over a ─ bar, huber's branches in ⎧ ⎨ ⎩).

The unrolled form (every entry of a concrete network) goes the same way, in each format: its
text with the heading ``layer l, unrolled form:``, exponents drawn above their base (the
softmax's e^z) and rules wider than 80 columns cut into screens (↪).

Matrix-form claims are another step's: ``--form index`` leaves the matrix-form lines out.
"""

import itertools
import json
import re

import pytest
from click.testing import CliRunner

from bpverify.cli.main import main
from bpverify.derive import parse_spec
from bpverify.derive.prove import prove
from bpverify.derive.prove.claims import claim_wrt

NETWORKS = [
    {"layers": "1", "activation": "sigmoid", "loss": "squared"},
    {"layers": "2", "activation": "tanh,sigmoid", "loss": "cross-entropy"},
    {"widths": "2,3,2", "activation": "relu", "loss": "half-squared"},
    {"widths": "2,2,3,2", "activation": "sigmoid", "loss": "softmax-cross-entropy"},
    {"layers": "3", "activation": "softplus,tanh,identity", "loss": "squared"},
    {"widths": "2,2,2", "activation": "softplus", "loss": "huber"},
]


def _spec(net):
    return parse_spec(
        layers=int(net["layers"]) if "layers" in net else None,
        widths=net.get("widths"),
        activation=net["activation"],
        loss=net["loss"],
        leaky_slope=None,
    )


def _derive(net, fmt: str) -> str:
    size = ["--layers", net["layers"]] if "layers" in net else ["--widths", net["widths"]]
    args = ["derive", *size, "--activation", net["activation"], "--loss", net["loss"]]
    result = CliRunner().invoke(main, [*args, "--form", "index", "--format", fmt, "--no-verify"])
    assert result.exit_code == 0, result.output
    return result.output


def latex_claims(net) -> list[tuple[str | None, str]]:
    """Each line of the index-form blocks, verbatim; the quantity is its left-hand side."""
    blocks = re.findall(
        r"% layer \d+, index form.*?\n\\begin\{align\*\}\n(.*?)\\end\{align",
        _derive(net, "latex"),
        re.S,
    )
    return [(None, line) for block in blocks for line in block.splitlines()]


def json_claims(net) -> list[tuple[str | None, str]]:
    """Each record as lhs = latex, and its latex alone with the left-hand side as --wrt."""
    spec = _spec(net)
    found = []
    for g in json.loads(_derive(net, "json"))["gradients"]:
        assert g["form"] == "index"
        found.append((None, f"{g['lhs']} = {g['latex']}"))
        found.append((claim_wrt(spec, None, f"{g['lhs']} = 0"), g["latex"]))
    return found


def text_claims(net) -> list[tuple[str | None, str]]:
    """Each rule as printed: 'lhs =' and the right-hand side below it, drawn as derive draws it."""
    text = _derive(net, "text")
    found = re.findall(r"index form: ([^\n]*=\n.*?)\n(?:\n|\Z)", text, re.S)
    return [(None, claim) for claim in found]


FORMATS = {"latex": latex_claims, "json": json_claims, "text": text_claims}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("net", NETWORKS, ids=lambda net: ",".join(net.values()))
def test_every_index_rule_derive_prints_is_proved_verbatim(net, fmt):
    spec = _spec(net)
    claims = FORMATS[fmt](net)
    assert claims
    for wrt, claim in claims:
        verdict = prove(spec, claim_wrt(spec, wrt, claim), claim, points=4)
        assert verdict.status == "PROVED", (claim, verdict.message)


def test_every_layer_and_quantity_is_in_the_round_trip():
    net = NETWORKS[3]
    wrts = {claim_wrt(_spec(net), wrt, claim) for wrt, claim in latex_claims(net)}
    assert len(wrts) == 4 * 3
    drawn = [claim for _, claim in text_claims(net) if "╲" in claim]
    assert len(drawn) == 3 and len(text_claims(net)) == 4 * 3


UNROLLED = [
    {"widths": "2,2,1", "activation": "sigmoid", "loss": "squared"},
    # the exponentials of the softmax, e^{z}, and its targets that sum to 1
    {"widths": "2,2", "activation": "softmax", "loss": "softmax-cross-entropy"},
    {"widths": "2,3,2", "activation": "tanh,sigmoid", "loss": "cross-entropy"},
    {"widths": "2,2,2", "activation": "relu", "loss": "huber"},
    # layer 1's sums written out: lines wider than 80 columns, which the text cuts into screens
    {"widths": "2,3,3,2", "activation": "identity,tanh,sigmoid", "loss": "half-squared"},
    # a softmax over a sigmoid layer: its exponentials hold the hidden layer's sums
    {"widths": "2,2,2", "activation": "sigmoid", "loss": "softmax-cross-entropy"},
]


def _unrolled(net, fmt: str) -> str:
    args = ["derive", "--widths", net["widths"], "--activation", net["activation"]]
    args += ["--loss", net["loss"], "--form", "unrolled", "--format", fmt, "--no-verify"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output


def unrolled_claims(net, fmt: str) -> list[str]:
    """Each rule of the unrolled form as derive prints it in ``fmt``: a LaTeX line, a JSON
    record's lhs = latex, or the text's heading, left-hand side and picture (screens and all)."""
    out = _unrolled(net, fmt)
    if fmt == "latex":
        return re.findall(r"^\\frac.*$", out, re.M)
    if fmt == "json":
        return [f"{g['lhs']} = {g['latex']}" for g in json.loads(out)["gradients"]]
    return [part for part in re.split(r"\n\n(?=layer \d+, )", out) if part.startswith("layer")]


def _parameters(net) -> int:
    widths = [int(w) for w in net["widths"].split(",")]
    return sum(m * (n + 1) for n, m in itertools.pairwise(widths))


ROUND_TRIPS = [
    *((net, "text") for net in UNROLLED),
    *((net, fmt) for net in (UNROLLED[0], UNROLLED[1], UNROLLED[-1]) for fmt in ("latex", "json")),
]
"""The text of every network; the LaTeX and JSON (the same lines as the index form's, another
printer's) of the two smallest and of the softmax over a sigmoid layer. The text of the three
larger networks (a few seconds each) runs under the slow marker; the default suite keeps the
screens and exponents of the largest in the test after this one."""

SLOW_TRIPS = {2, 3, 4}
"""Indices in ``UNROLLED`` of the networks whose text round trip is slow."""


@pytest.mark.parametrize(
    ("net", "fmt"),
    [
        pytest.param(
            net,
            fmt,
            id=f"{','.join(net.values())}-{fmt}",
            marks=[pytest.mark.slow] if fmt == "text" and UNROLLED.index(net) in SLOW_TRIPS else [],
        )
        for net, fmt in ROUND_TRIPS
    ],
)
def test_every_unrolled_rule_derive_prints_is_proved_verbatim(net, fmt):
    """Beyond the index form: each entry of a concrete network, as derive --form unrolled
    prints it, its left-hand side naming the entry. The softmax over a sigmoid layer takes half a
    second a rule, so only its entry 0 of each quantity and layer is tried."""
    spec = _spec(net)
    claims = unrolled_claims(net, fmt)
    assert len(claims) == _parameters(net)
    if net is UNROLLED[-1]:
        claims = [c for c in claims if re.search(r"(?:\[0,0\]|\[0\]|_\{0?0\}\}) (?:&)?=", c)]
        assert len(claims) == 4
    for claim in claims:
        verdict = prove(spec, None, claim, points=2)
        assert verdict.status == "PROVED", (claim, verdict.message)


def test_the_unrolled_text_round_trip_holds_screens_and_exponents():
    """The text pictures the unrolled round trip reads: heading, rules cut into screens (↪),
    exponentials drawn with e under the exponent."""
    wide = unrolled_claims(UNROLLED[4], "text")
    assert all(c.startswith("layer ") for c in wide)
    assert any("↪" in c for c in wide)
    softmax = unrolled_claims(UNROLLED[-1], "text")
    assert any("↪" in c for c in softmax)
    assert all("ℯ" in c for c in softmax)
    assert any(re.search(r"^ *z2\[0\] ", c, re.M) for c in softmax)
