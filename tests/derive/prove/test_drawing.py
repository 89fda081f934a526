import pytest
import sympy as sp

from bpverify.derive import NetworkSpec
from bpverify.derive.limits import limit
from bpverify.derive.notation import j, k
from bpverify.derive.printing import NotationPrettyPrinter, pretty
from bpverify.derive.prove.claims import generic_symbols, parse_claim
from bpverify.derive.prove.drawing import is_drawing, one_line
from bpverify.derive.prove.grammar import DRAWN_SCALE, ClaimError
from bpverify.derive.unrolled import unrolled_gradients

SPEC = NetworkSpec(layers=2)
S = generic_symbols(SPEC)
A2, Y, W2 = S.layers[2].a, S.y, S.layers[2].W


def _read_back(expr: sp.Expr) -> sp.Expr:
    drawn = pretty(expr)
    assert is_drawing(drawn), drawn
    return parse_claim(SPEC, drawn)


def _same(a: sp.Expr, b: sp.Expr) -> bool:
    return sp.simplify((a - b).doit()) == 0


def test_a_drawn_sum_reads_as_one_with_its_limits():
    body = (A2[j, 0] - Y[j, 0]) * W2[j, k]
    expr = 2 * sp.Sum(body, (j, 0, 1))
    assert _same(_read_back(expr), expr)
    assert one_line(pretty(expr)).startswith("2⋅ \\sum_{j=0}^{1} (")


def test_a_drawn_fraction_reads_as_numerator_over_denominator():
    expr = -(A2[j, 0] - Y[j, 0]) / ((A2[j, 0] - 1) * A2[j, 0])
    assert _same(_read_back(expr), expr)


def test_a_sum_of_fractions_with_a_sign_in_front():
    expr = -sp.Sum(W2[j, k] / (A2[j, 0] - 1), (j, 0, 1))
    assert _same(_read_back(expr), expr)


def test_a_symbolic_upper_limit_keeps_its_width():
    assert "^{n_{2} - 1}" in one_line(
        "  n₂ - 1\n   ___\n   ╲\n    ╲\n    ╱   y[j]\n   ╱\n   ‾‾‾\n  j = 0"
    )


def test_tall_brackets_read_as_brackets():
    drawn = "⎛  1  ⎞     \n⎜─────⎟⋅a2[j]\n⎝y[j] ⎠     "
    assert one_line(drawn) == "(((1)/(y[j]))) ⋅a2[j]"


def test_the_lines_before_a_drawing_that_end_with_equals_are_its_left_hand_side():
    drawn = "dC_0/db2[j] =\n  1  \n─────\ny[j] "
    assert one_line(drawn) == "dC_0/db2[j] = ((1)/(y[j]))"


def test_one_line_is_left_alone():
    for text in ["a^(2)_k * y_j", "dC_0/dW2[j,k] =\n2⋅a1[k]"]:
        assert not is_drawing(text)
        assert one_line(text) == text


def test_drawn_cases_read_as_latex_cases():
    expr = sp.Piecewise((1, A2[j, 0] - Y[j, 0] > 1), (A2[j, 0] - Y[j, 0], True))
    line = one_line(pretty(expr))
    assert line.startswith("\\begin{cases} 1 & \\text{for} a2[j] - y[j] > 1 \\\\ ")
    claim = parse_claim(SPEC, pretty(expr))
    for a, y in [(3, 1), (1, 1)]:
        point = {A2[j, 0]: a, Y[j, 0]: y}
        assert claim.xreplace(point) == expr.xreplace(point)


def test_unknown_drawings_are_refused_with_the_fix():
    with pytest.raises(ClaimError, match="branch"):
        one_line("⎧1  when x\n⎨\n⎩0  otherwise")
    with pytest.raises(ClaimError, match="--format latex"):
        one_line("   2\ny[j] ─")


def test_a_drawing_nested_past_the_depth_limit_is_refused():
    with pytest.raises(ClaimError, match="more than 50 deep"):
        one_line("x\n─\n" * 60 + "x")
    one_line("x\n─\n" * 20 + "x")


Z2, A1 = S.layers[2].z, S.layers[1].a
SOFTMAX = NetworkSpec(2, (2, 2, 2), loss="softmax-cross-entropy")


def test_an_exponent_drawn_above_its_base_reads_as_a_power():
    e0, e1 = sp.exp(Z2[0, 0]), sp.exp(Z2[1, 0])
    expr = e0 * A1[k, 0] / (e0 + e1) - e0**2 * A1[k, 0] / (e0 + e1) ** 2
    assert "ℯ^(z2[0])" in one_line(pretty(expr))
    assert "(ℯ^(z2[0]) + ℯ^(z2[1]))^(2)" in one_line(pretty(expr))
    assert _same(_read_back(expr), expr)


def test_a_power_of_a_tall_bracket_reads_with_its_bracket():
    expr = A2[j, 0] * (1 / Y[j, 0] + 1) ** 2
    assert _same(_read_back(expr), expr)


def test_screens_cut_at_the_terminal_width_are_joined():
    expr = sum(sp.exp(Z2[i, 0]) * W2[i, k] / (1 + sp.exp(Z2[i, 0])) for i in range(6))
    drawn = NotationPrettyPrinter({"use_unicode": True, "num_columns": 40}).doprint(expr)
    assert drawn.count("\n\n") >= 2 and "↪" in drawn
    assert _same(parse_claim(SPEC, drawn), expr)
    # as pasted from a terminal, with the spaces at the ends of the lines dropped
    stripped = "\n".join(line.rstrip() for line in drawn.split("\n"))
    assert _same(parse_claim(SPEC, stripped), expr)


def test_a_power_drawn_with_no_other_sign_is_a_drawing():
    drawn = pretty(A2[j, 0] ** 2 * Y[j, 0])
    assert "─" not in drawn and is_drawing(drawn)
    assert _same(parse_claim(SPEC, drawn), A2[j, 0] ** 2 * Y[j, 0])
    # lines of a claim written over several, one beside the other's blanks, stay text
    assert not is_drawing("a2[j]⋅\ny[j]") and not is_drawing("\\frac{1}{2}\n    + 1")


def test_derives_heading_is_dropped():
    rule = "layer 2, unrolled form: dC_0/db2[0] =\n2⋅(a2[0] - y[0])⋅σ'(z2[0])"
    assert one_line(rule) == "dC_0/db2[0] =\n2⋅(a2[0] - y[0])⋅σ'(z2[0])"
    drawn = "layer 1, index form: dC_0/db1[j] =\n  1  \n─────\ny[j] "
    assert one_line(drawn) == "dC_0/db1[j] = ((1)/(y[j]))"


@pytest.mark.parametrize(
    "drawn",
    [
        " q  \n⎛a⎞ \n⎝b⎠ ⋅y[j]",  # something above a bracket, in its columns
        "⎛ 1  ⎞ 2\n⎜────⎟\n⎝y[j]⎠ x",  # two characters in one column, neither beside a base
        "ℯ ↪\n\n↪ x\n↪ y",  # screens of different heights
    ],
)
def test_a_drawing_with_a_character_left_unexplained_is_refused(drawn):
    with pytest.raises(ClaimError, match="cannot"):
        parse_claim(SPEC, drawn)


def test_a_drawn_claim_may_be_longer_than_the_line_it_is_read_into():
    (rule,) = [g for g in unrolled_gradients(SOFTMAX) if g.wrt == ("b", 1) and g.entry == (0,)]
    drawn = pretty(rule.expr)
    assert len(drawn) > limit("claim_length") > len(one_line(drawn))
    assert parse_claim(SOFTMAX, drawn).has(sp.exp)
    with pytest.raises(ClaimError, match="the drawn claim has"):
        parse_claim(SOFTMAX, drawn + " " * DRAWN_SCALE * limit("claim_length"))


def test_screens_whose_lines_lack_their_marks_are_refused():
    expr = sum(sp.exp(Z2[i, 0]) * W2[i, k] / (1 + sp.exp(Z2[i, 0])) for i in range(6))
    drawn = NotationPrettyPrinter({"use_unicode": True, "num_columns": 40}).doprint(expr)
    for broken in (drawn.replace(" ↪\n", "\n", 1), drawn.replace("\n↪ ", "\n  ", 1)):
        with pytest.raises(ClaimError, match="cannot join the screens"):
            parse_claim(SPEC, broken)


def test_characters_off_the_baseline_that_are_no_exponent_are_refused():
    # 'a' stands a row above y[j] at the start: it raises nothing, and no base is below it
    with pytest.raises(ClaimError, match="cannot read"):
        one_line("a        \n ⎛1⎞     \n ⎜─⎟⋅y[j]\n ⎝2⎠     ")
    assert one_line("         \n ⎛1⎞     \n ⎜─⎟⋅y[j]\n ⎝2⎠     ") == "(((1)/(2))) ⋅y[j]"
