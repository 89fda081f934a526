"""printing: SymPy's LaTeX and unicode printers speak the seed's notation."""

import sympy as sp
from sympy.matrices.expressions import HadamardProduct

from bpverify.derive import ACTIVATIONS, NetworkSpec
from bpverify.derive.notation import j, k, network_symbols
from bpverify.derive.printing import latex, pretty

S = network_symbols(NetworkSpec(3, (2, 3, 3, 1)), batch=1)
L3 = S.layers[3]
SIGMA = ACTIVATIONS["sigmoid"]


def test_layer_matrices_print_with_the_layer_in_parentheses():
    assert latex(L3.W) == "W^{(3)}"
    assert latex(L3.delta) == r"\delta^{(3)}"
    assert latex(L3.W.T) == "W^{(3)T}"
    assert latex(S.layers[2].dC_da) == r"\frac{\partial C}{\partial a^{(2)}}"


def test_entries_use_lower_case_w_and_the_seeds_indices():
    assert latex(L3.W[j, k]) == "w^{(3)}_{jk}"
    assert latex(S.y[j, 0]) == "y_{j}"


def test_activation_and_its_derivative():
    z = L3.z[j, 0]
    assert latex(SIGMA.function(z)) == r"\sigma\left(z^{(3)}_{j}\right)"
    assert latex(SIGMA.prime(z)) == r"\sigma'\left(z^{(3)}_{j}\right)"
    assert "σ'" in pretty(SIGMA.prime(z))


def test_hadamard_product_is_odot():
    assert r"\odot" in latex(HadamardProduct(L3.a, L3.z))


def test_the_seeds_last_layer_rule():
    rule = S.layers[2].a[k, 0] * SIGMA.prime(L3.z[j, 0]) * 2 * (L3.a[j, 0] - S.y[j, 0])
    text = latex(rule)
    for part in ("a^{(2)}_{k}", r"\sigma'\left(z^{(3)}_{j}\right)", "a^{(3)}_{j} - y_{j}"):
        assert part in text
    assert isinstance(sp.sympify(2) * rule, sp.Expr)


def test_a_weight_penalty_prints_after_the_chains_term():
    d = sp.MatrixSymbol("delta2", 3, 1)
    W2 = S.layers[2].W
    rule = sp.MatAdd(d * S.a(1).T, sp.Rational(1, 10) * W2)
    assert latex(rule) == r"\delta^{(2)} a^{(1)T} + \frac{1}{10} W^{(2)}"
    # a - y keeps SymPy's own layout: only a positive multiple of a W^(l) moves
    assert latex(sp.MatAdd(S.a(3), -S.y)) == r"a^{(3)} - y"


def test_a_hadamard_power_of_a_sum_keeps_its_brackets_in_text():
    a = sp.MatrixSymbol("a2", 3, 1)
    text = pretty(sp.HadamardPower(a - sp.OneMatrix(3, 1), -1))
    assert "(-𝟏 + a₂)" in text and "∘(-1)" in text
    assert "∘(-1)" in pretty(sp.HadamardPower(a, -1))


def test_the_unrolled_forms_abstract_exponential_prints_as_e_to_the_power():
    from bpverify.derive.unrolled import AbstractExp

    z = sp.Symbol("z")
    assert latex(AbstractExp(z)) == "e^{z}"
    assert latex(AbstractExp(z) ** 2) == r"\left(e^{z}\right)^{2}"
    assert "AbstractExp" not in pretty(AbstractExp(z) ** 2 / (AbstractExp(z) + 1))
    assert "ℯ" in pretty(AbstractExp(z))
