import random
import re
from pathlib import Path

import pytest

from bpverify.derive import NetworkSpec, derive_network
from bpverify.derive.prove import prove
from bpverify.derive.prove.claims import parse_claim, parse_wrt
from bpverify.derive.prove.counterexample import random_probe
from bpverify.derive.prove.hints import MISTAKES, constant_multiple, find_hint, mistakes
from bpverify.derive.prove.truth import proof_task

SQUARED = NetworkSpec(layers=3)
CE = NetworkSpec(layers=3, loss="cross-entropy")
HALF = NetworkSpec(layers=3, loss="half-squared")
OUTPUTS_3 = NetworkSpec(layers=3, widths=(2, 4, 2, 3))

# The seed's formulas of a three-layer network (squared loss), and cross-entropy's.
W3 = "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"
B3 = "sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"
A2 = "sum_j(w^(3)_jk * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j))"
B2 = "sigma'(z^(2)_j) * sum_i(w^(3)_ij * sigma'(z^(3)_i) * 2*(a^(3)_i - y_i))"
W2 = "a^(1)_k * " + B2
CE_W2 = "a^(1)_k * sigma'(z^(2)_j) * sum_i(w^(3)_ij * (a^(3)_i - y_i))"

# (row, network, --wrt, a claim with that mistake, the network and claim its hint leads to)
CASES = [
    ("sigma' missing", SQUARED, "w^(3)_jk", "a^(2)_k * 2*(a^(3)_j - y_j)", SQUARED, W3),
    (
        "sigma' missing",
        SQUARED,
        "w^(2)_jk",
        "a^(1)_k * sum_i(w^(3)_ij * sigma'(z^(3)_i) * 2*(a^(3)_i - y_i))",
        SQUARED,
        W2,
    ),
    ("sigma for sigma'", SQUARED, "b^(3)_j", "sigma(z^(3)_j) * 2*(a^(3)_j - y_j)", SQUARED, B3),
    (
        "sigma for sigma'",
        SQUARED,
        "b^(2)_j",
        "sigma(z^(2)_j) * sum_i(w^(3)_ij * sigma'(z^(3)_i) * 2*(a^(3)_i - y_i))",
        SQUARED,
        B2,
    ),
    (
        "sigma' of the wrong layer",
        SQUARED,
        "b^(2)_j",
        "sigma'(z^(3)_j) * sum_i(w^(3)_ij * sigma'(z^(3)_i) * 2*(a^(3)_i - y_i))",
        SQUARED,
        B2,
    ),
    (
        "sigma' of the wrong layer",
        SQUARED,
        "w^(2)_jk",
        "a^(1)_k * sigma'(z^(2)_j) * sum_i(w^(3)_ij * sigma'(z^(2)_i) * 2*(a^(3)_i - y_i))",
        SQUARED,
        W2,
    ),
    (
        "cross-entropy's sigma' kept",
        CE,
        "b^(3)_j",
        "(a^(3)_j - y_j) * sigma'(z^(3)_j)",
        CE,
        "a^(3)_j - y_j",
    ),
    (
        "cross-entropy's sigma' kept",
        CE,
        "w^(2)_jk",
        "a^(1)_k * sigma'(z^(2)_j) * sum_i(w^(3)_ij * sigma'(z^(3)_i) * (a^(3)_i - y_i))",
        CE,
        CE_W2,
    ),
    (
        "w_kj for w_jk",
        SQUARED,
        "a^(2)_k",
        "sum_j(w^(3)_kj * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j))",
        SQUARED,
        A2,
    ),
    (
        "the wrong layer's W",
        SQUARED,
        "b^(2)_j",
        "sigma'(z^(2)_j) * sum_i(w^(2)_ij * sigma'(z^(3)_i) * 2*(a^(3)_i - y_i))",
        SQUARED,
        B2,
    ),
    (
        # Ng's notation: the sum over j counts the rows of W^[3] (claims.layer_of), the units
        # of layer 3, not those of layer 2 that the correct W^[2] has
        "the wrong layer's W",
        SQUARED,
        "a^(1)_k",
        r"\sum_j W^{[3]}_{jk} dZ^{[2]}_j",
        SQUARED,
        r"\sum_j W^{[2]}_{jk} dZ^{[2]}_j",
    ),
    (
        "j and k swapped",
        SQUARED,
        "w^(3)_jk",
        "a^(2)_j * sigma'(z^(3)_k) * 2*(a^(3)_k - y_k)",
        SQUARED,
        W3,
    ),
    (
        "j and k swapped",
        SQUARED,
        "w^(2)_jk",
        "a^(1)_j * sigma'(z^(2)_k) * sum_i(w^(3)_ik * sigma'(z^(3)_i) * 2*(a^(3)_i - y_i))",
        SQUARED,
        W2,
    ),
    (
        "sum over j missing",
        SQUARED,
        "a^(2)_k",
        "w^(3)_jk * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)",
        SQUARED,
        A2,
    ),
    (
        "sum over j missing",
        SQUARED,
        "a^(2)_k",
        "w^(3)_mk * sigma'(z^(3)_m) * 2*(a^(3)_m - y_m)",
        SQUARED,
        A2,
    ),
    (
        "sum over the wrong layer's units",
        SQUARED,
        "a^(2)_k",
        r"\sum_{j=0}^{n_{L-1}-1} w^{(3)}_{jk} \sigma'(z^{(3)}_j) 2(a^{(3)}_j - y_j)",
        SQUARED,
        A2,
    ),
    (
        "sum over the wrong layer's units",
        NetworkSpec(layers=3, widths=(3, 4, 2, 5)),
        "a^(2)_k",
        r"\sum_{j=0}^{n_{1}-1} w^{(3)}_{jk} \sigma'(z^{(3)}_j) 2(a^{(3)}_j - y_j)",
        NetworkSpec(layers=3, widths=(3, 4, 2, 5)),
        A2,
    ),
    (
        "a^(l) for a^(l-1)",
        SQUARED,
        "w^(3)_jk",
        "a^(3)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)",
        SQUARED,
        W3,
    ),
    ("a^(l-1)_k missing", SQUARED, "w^(3)_jk", B3, SQUARED, W3),
    ("b copied from w", SQUARED, "b^(3)_j", W3, SQUARED, B3),
    ("b copied from w", SQUARED, "b^(2)_j", W2, SQUARED, B2),
    (
        "sign flipped",
        SQUARED,
        "w^(3)_jk",
        "a^(2)_k * sigma'(z^(3)_j) * 2*(y_j - a^(3)_j)",
        SQUARED,
        W3,
    ),
    (
        "sign flipped",
        CE,
        "w^(2)_jk",
        CE_W2.replace("(a^(3)_i - y_i)", "(y_i - a^(3)_i)"),
        CE,
        CE_W2,
    ),
    (
        "factor 2 missing",
        SQUARED,
        "w^(3)_jk",
        "a^(2)_k * sigma'(z^(3)_j) * (a^(3)_j - y_j)",
        HALF,
        "a^(2)_k * sigma'(z^(3)_j) * (a^(3)_j - y_j)",
    ),
    ("factor 2 too many", HALF, "w^(3)_jk", W3, SQUARED, W3),
    (
        "cost undifferentiated",
        SQUARED,
        "w^(3)_jk",
        "a^(2)_k * sigma'(z^(3)_j) * (a^(3)_j - y_j)^2",
        SQUARED,
        W3,
    ),
    (
        "cost undifferentiated",
        SQUARED,
        "a^(1)_k",
        "sum_j(w^(2)_jk * sigma'(z^(2)_j) * sum_i(w^(3)_ij * sigma'(z^(3)_i) * (a^(3)_i - y_i)^2))",
        SQUARED,
        "sum_j(w^(2)_jk * sigma'(z^(2)_j) * sum_i(w^(3)_ij * sigma'(z^(3)_i) * 2*(a^(3)_i - y_i)))",
    ),
    ("sum versus mean", OUTPUTS_3, "w^(3)_jk", W3 + " / 3", OUTPUTS_3, W3),
    ("sum versus mean", OUTPUTS_3, "b^(3)_j", "3 * " + B3, OUTPUTS_3, B3),
]


def named(spec, wrt, claim):
    """The row whose hint a refuted claim gets, or None."""
    v = prove(spec, wrt, claim)
    assert v.status == "REFUTED", v.message
    layer = parse_wrt(spec, wrt).layer
    rows = [name for name, row in MISTAKES.items() if _fits(row.hint, v.hint, layer)]
    return (rows[0] if rows else v.hint), v.hint


def _fits(template: str, hint: str | None, layer: int) -> bool:
    """``hint`` is ``template`` with its words filled in."""
    if hint is None:
        return False
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(re.escape(p) if n % 2 == 0 else ".+?" for n, p in enumerate(parts))
    return re.fullmatch(pattern, hint) is not None


@pytest.mark.parametrize(("name", "spec", "wrt", "claim", "fixed_spec", "fixed"), CASES)
def test_each_common_mistake_is_named_by_its_row_and_its_fix_is_proved(
    name, spec, wrt, claim, fixed_spec, fixed
):
    row, hint = named(spec, wrt, claim)
    assert row == name, hint
    # what the hint says to do proves the claim: the claim corrected, or the convention named
    assert prove(fixed_spec, wrt, fixed).status == "PROVED"
    if "--loss" in hint:
        assert f"--loss {fixed_spec.loss}" in hint


def test_every_row_of_the_table_is_tested():
    assert {name for name, *_ in CASES} == set(MISTAKES)
    assert len(MISTAKES) >= 12


def test_a_hint_names_the_layers_and_the_convention():
    _, hint = named(SQUARED, "w^(3)_jk", "a^(3)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)")
    assert re.search(r"a\^\(3\) is written where a\^\(2\) belongs", hint)
    _, hint = named(SQUARED, "b^(3)_j", "sigma'(z^(3)_j) * (a^(3)_j - y_j)")
    assert hint.startswith("your expression is exactly ½ of the derivative")
    assert "C_0 = sum_j (a^(L)_j - y_j)^2/2: for that, give --loss half-squared" in hint
    _, hint = named(CE, "b^(3)_j", "(a^(3)_j - y_j) * sigma'(z^(3)_j)")
    assert "--loss cross-entropy and a sigmoid output" in hint and "a*(1 - a)" in hint


@pytest.mark.parametrize(
    ("spec", "claim", "said"),
    [
        (SQUARED, "3 * " + W3, "your expression is exactly 3 times the derivative"),
        (CE, "a^(2)_k * (a^(3)_j - y_j) / 2", "your expression is exactly ½ of the derivative"),
        (
            CE,
            "a^(2)_k * (a^(3)_j - y_j) * 2/3",
            "your expression is exactly 2/3 times the derivative",
        ),
    ],
)
def test_a_constant_multiple_of_the_truth_is_named_with_its_constant(spec, claim, said):
    assert prove(spec, "w^(3)_jk", claim).hint == said


def test_a_constant_is_named_only_where_it_holds_at_several_points():
    t = task(CE, "w^(3)_jk", "a^(2)_k * (a^(3)_j - y_j) / 2")
    rng = random.Random(0)
    probes = [random_probe(t, rng) for _ in range(3)]
    values = [(p, p.evaluate(t.claimed), p.evaluate(t.truth)) for p in probes]
    assert constant_multiple(t, values) == "your expression is exactly ½ of the derivative"
    assert constant_multiple(t, values[:1]) is None  # one point: any ratio is a constant
    # a ratio that changes between the points is no constant
    mixed = [values[0], (values[1][0], 3 * values[1][1], values[1][2])]
    assert constant_multiple(t, mixed) is None


def test_an_unrelated_mistake_gets_no_hint():
    assert prove(SQUARED, "b^(3)_j", "sigma'(z^(3)_j) * 3*(a^(3)_j - y_j) + 1").hint is None


def task(spec, wrt, claim):
    return proof_task(derive_network(spec), parse_wrt(spec, wrt), parse_claim(spec, claim))


def test_mistakes_that_change_nothing_are_left_out():
    # dC_0/da^(3)_j = 2(a^(3)_j - y_j): no sigma', no weight, no sum, no input a^(2)
    rows = {name for name, _, _ in mistakes(task(SQUARED, "a^(3)_j", "1"))}
    assert rows == {
        "sign flipped",
        "factor 2 missing",
        "cost undifferentiated",
        "sum versus mean",
    }
    # cross-entropy has no ½ convention in the loss table; its sigma' cancels at b^(3)
    rows = {name for name, _, _ in mistakes(task(CE, "b^(3)_j", "1"))}
    assert "factor 2 missing" not in rows and "cross-entropy's sigma' kept" in rows
    # the sigmoid output is what cancels, whatever the hidden layers are; the squared loss's
    # derivative has no denominator to cancel
    tanh = NetworkSpec(layers=3, activations=("tanh", "tanh", "sigmoid"), loss="cross-entropy")
    assert "cross-entropy's sigma' kept" in {n for n, _, _ in mistakes(task(tanh, "b^(3)_j", "1"))}
    assert "cross-entropy's sigma' kept" not in rows_of(SQUARED)


def rows_of(spec):
    return {name for name, _, _ in mistakes(task(spec, "b^(3)_j", "1"))}


def test_the_hint_needs_the_claim_to_differ_at_the_first_point():
    t = task(SQUARED, "w^(3)_jk", W3)  # the truth itself
    probe = random_probe(t, random.Random(0))
    assert find_hint(t, [probe]) is None


def test_a_mistake_that_names_a_missing_unit_at_a_point_is_skipped_there():
    # w^(2) for w^(3) names units of layer 2 that layer 3 may lack: such points are skipped,
    # and the hint still comes from the points where both have a value
    claim = "sigma'(z^(2)_j) * sum_i(w^(2)_ij * sigma'(z^(3)_i) * 2*(a^(3)_i - y_i))"
    for seed in range(3):
        v = prove(SQUARED, "b^(2)_j", claim, seed=seed)
        assert v.hint.startswith("looks like w^(2) is written where w^(3) belongs"), v.hint


def test_the_output_layers_words_are_not_the_derived_gradient():
    # a hint never prints the derived gradient (graded feedback shows the hint)
    for name, spec, wrt, claim, *_ in CASES:
        v = prove(spec, wrt, claim)
        assert v.truth not in v.hint, name


def documented_mistakes():
    """The rows of docs/prove.md's table of mistakes: (options, --wrt, claim, the hint's words)."""
    text = (Path(__file__).resolve().parents[3] / "docs" / "prove.md").read_text()
    section = text[text.index("### Mistakes") : text.index("### A whole derivation")]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]  # no header
    out = []
    for row in rows:
        _, example, said = (cell.strip() for cell in row.strip("|").split(" | "))
        *options, wrt, claim = re.findall(r"`([^`]+)`", example)
        out.append(pytest.param(options, wrt.rstrip(":"), claim, said, id=wrt + " " + claim))
    return out


@pytest.mark.parametrize(("options", "wrt", "claim", "said"), documented_mistakes())
def test_each_documented_mistake_gets_the_hint_the_docs_show(options, wrt, claim, said):
    settings = dict(option.split() for option in options)
    widths = settings.get("--widths")
    spec = NetworkSpec(
        layers=3,
        widths=tuple(map(int, widths.split(","))) if widths else None,
        loss=settings.get("--loss", "squared"),
    )
    hint = prove(spec, wrt, claim).hint
    first, *more = said.split(" ... ")
    assert hint.startswith(first) and all(part in hint for part in more), hint


def test_the_docs_show_every_row():
    assert len(documented_mistakes()) == len(MISTAKES)


def test_the_mistakes_tried_are_bounded(monkeypatch):
    from bpverify.derive.prove import hints

    claim = "a^(2)_k * sigma'(z^(3)_j) * 2*(y_j - a^(3)_j)"  # the sign, a late row
    assert prove(SQUARED, "w^(3)_jk", claim).hint.startswith("your expression is -1 times")
    monkeypatch.setattr(hints, "MOST_MISTAKES", 3)
    # past the bound the row is not tried; the constant factor still is
    assert prove(SQUARED, "w^(3)_jk", claim).hint == (
        "your expression is exactly -1 times the derivative: the sign is flipped"
    )
