import pytest
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from bpverify.derive import ACTIVATIONS, NetworkSpec
from bpverify.derive.notation import j, k
from bpverify.derive.prove.claims import (
    ClaimError,
    claim_wrt,
    concrete_widths,
    generic_symbols,
    parse_claim,
    parse_wrt,
    split_claim,
)
from bpverify.derive.prove.grammar import MAX_DEPTH, MAX_LENGTH

SPEC = NetworkSpec(layers=3)
S = generic_symbols(SPEC)


def seed_w3():
    """The seed's dC_0/dw^(3)_jk built by hand from the symbols."""
    sig = ACTIVATIONS["sigmoid"]
    l3 = S.layers[3]
    return S.a(2)[k, 0] * sig.prime(l3.z[j, 0]) * 2 * (l3.a[j, 0] - S.y[j, 0])


@pytest.mark.parametrize(
    "text",
    [
        "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)",
        "a^(L-1)_k * σ'(z^(L)_j) * 2 * (a^(L)_j - y_j)",
        r"a^{(2)}_k \sigma'(z^{(3)}_j) 2(a^{(3)}_j - y_j)",
        r"a_{k}^{(L-1)} \sigma^{\prime}\left(z_{j}^{(L)}\right) 2\left(a_{j}^{(L)}-y_{j}\right)",
        r"2 \cdot a^{(2)}_k \cdot \sigma'(z^{(3)}_j) \cdot (a^{(3)}_j - y_j)",
        r"\frac{4 a^{(2)}_k \sigma'(z^{(3)}_j) (a^{(3)}_j - y_j)}{2}",
    ],
)
def test_plain_and_latex_spellings_of_the_seed_formula_parse_to_the_same_expression(text):
    assert sp.expand(parse_claim(SPEC, text) - seed_w3()) == 0


def test_sum_ranges_over_the_layer_its_index_counts():
    e = parse_claim(SPEC, "sum_j(w^(3)_jk * a^(3)_j)")
    (s,) = e.atoms(sp.Sum)
    assert s.limits[0][1:] == (0, SPEC.widths[3] - 1)
    latex = parse_claim(SPEC, r"\sum_{j=0}^{n_{L}-1} w_{jk}^{(L)} a_{j}^{(L)}")
    (s2,) = latex.atoms(sp.Sum)
    assert s2.limits[0][1:] == s.limits[0][1:]


def test_latex_sum_extends_over_the_product_that_follows():
    e = parse_claim(SPEC, r"2 \sum_j w^{(3)}_{jk} a^{(3)}_j + b^{(2)}_k")
    assert S.layers[2].b[k, 0] in sp.Add.make_args(e)
    (s,) = e.atoms(sp.Sum)
    assert s.function.has(S.layers[3].W) and s.function.has(S.layers[3].a)


def test_powers_take_small_whole_exponents():
    square = (S.layers[3].a[j, 0] - S.y[j, 0]) ** 2
    for text in ["(a^(3)_j - y_j)^2", "(a^(3)_j - y_j)^{2}", "(a^(3)_j - y_j)^(2)"]:
        assert parse_claim(SPEC, text) == square
    assert parse_claim(SPEC, "a^(1)_k^(-1)") == 1 / S.a(1)[k, 0]
    with pytest.raises(ClaimError, match="exponent 99 is too large"):
        parse_claim(SPEC, "2^99")


def test_sigma_is_the_activation_of_the_layer_of_its_argument():
    spec = NetworkSpec(2, activations=("tanh", "sigmoid"))
    e = parse_claim(spec, "sigma'(z^(1)_j) * sigma(z^(2)_j)")
    assert e.has(ACTIVATIONS["tanh"].prime) and e.has(ACTIVATIONS["sigmoid"].function)
    with pytest.raises(ClaimError, match="cannot tell which layer's activation"):
        parse_claim(spec, "sigma(2)")


def test_names_without_indices_need_a_layer_of_width_one():
    one = NetworkSpec(layers=2, widths=(1, 1, 1))
    s = generic_symbols(one)
    expected = (s.a(1)[0, 0] * s.y[0, 0]).xreplace(concrete_widths(one))
    assert parse_claim(one, "a^(L-1) * y") == expected
    with pytest.raises(ClaimError, match="needs an index"):
        parse_claim(SPEC, "a^(2)")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a^(7)_k", "layer 7 does not exist"),
        ("w^(2)_j", "w takes 2 indices"),
        ("a_k", "needs its layer"),
        ("y^(3)_j", "the targets y have no layer"),
        ("b^(0)_j", "b exists for layers 1 to 3"),
        ("sum_j(2)", "indexes nothing"),
        ("1/0", "divides by zero"),
        ("0^(-1)", "divides by zero"),
    ],
)
def test_errors_name_the_problem(text, message):
    with pytest.raises(ClaimError, match=message):
        parse_claim(SPEC, text)


def test_a_unit_the_concrete_network_lacks_is_refused():
    with pytest.raises(ClaimError, match="does not have"):
        parse_claim(NetworkSpec(2, (2, 3, 2)), "a^(1)_5")


def test_long_flat_chains_are_walked_in_a_loop_not_by_recursion():
    assert parse_claim(SPEC, "+".join(["a^(1)_k"] * 240)) == 240 * S.a(1)[k, 0]
    assert parse_claim(SPEC, "-" * 1500 + "1") == 1
    with pytest.raises(ClaimError, match=f"more than the {MAX_LENGTH}"):
        parse_claim(SPEC, "1+" * MAX_LENGTH + "1")
    with pytest.raises(ClaimError, match=f"more than the {MAX_DEPTH}"):
        parse_claim(SPEC, "(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))


def test_wrt_names_quantity_layer_and_index_letters():
    t = parse_wrt(SPEC, "w^(L)_pq")
    assert (t.quantity, t.layer, t.indices, t.text) == ("W", 3, ("p", "q"), "w^(L)_pq")
    assert parse_wrt(SPEC, r"a^{(2)}_{k}").quantity == "a"
    assert parse_wrt(SPEC, "z^(2)_j").quantity == "z"
    assert parse_wrt(SPEC, "b_j^(1)").layer == 1
    assert parse_wrt(NetworkSpec(2, (1, 1, 1)), "w^(2)").indices == ("0", "0")
    for bad in ["y_j", "w^(0)_jk", "sigma(z)", "a_k", "x" * 200]:
        with pytest.raises(ClaimError, match="--wrt"):
            parse_wrt(SPEC, bad)


def test_the_derived_gradient_by_an_activation_is_an_entry_of_dc_da():
    e = parse_claim(SPEC, "sigma'(z^(3)_j) * dC_0/da^(3)_j")
    (entry,) = [m for m in e.atoms(MatrixElement) if m.parent.name.startswith("dC")]
    assert entry.parent.name == "dC_da3" and entry.i == j
    assert parse_claim(SPEC, "∂C_0/∂a^(0)_k").parent.name == "dC_da0"
    with pytest.raises(ClaimError, match="needs its layer"):
        parse_claim(SPEC, "dC_0/da_k")


def test_sigma_of_a_softmax_output_is_refused_and_the_hidden_sigma_is_read():
    spec = NetworkSpec(layers=2, loss="softmax-cross-entropy")
    with pytest.raises(ClaimError, match="softmax is not applied unit by unit"):
        parse_claim(spec, "sigma(z^(2)_j)")
    e = parse_claim(spec, "sigma'(z^(1)_j)")
    assert type(e) is ACTIVATIONS["sigmoid"].prime


def test_a_long_wrt_is_not_echoed_whole():
    with pytest.raises(ClaimError) as e:
        parse_wrt(SPEC, "q" * 100_000)
    assert len(str(e.value)) < 200


def _range(spec, text):
    (s,) = parse_claim(spec, text).atoms(sp.Sum)
    return s.limits[0][1:]


def test_n_l_minus_1_is_the_width_of_layer_l_less_one_and_braces_name_a_layer():
    spec = NetworkSpec(3, (3, 4, 4, 2))
    assert _range(spec, r"\sum_{j=0}^{n_L-1} w^{(3)}_{jk} a^{(3)}_j") == (0, 1)
    assert _range(spec, r"\sum_{j=0}^{n_{L-1}-1} w^{(2)}_{jk} a^{(2)}_j") == (0, 3)
    assert _range(spec, r"\sum_{j=0}^{n_{1} - 1} w^{(1)}_{jk} a^{(1)}_j") == (0, 3)
    generic = _range(SPEC, r"\sum_{j=0}^{n_L-1} w^{(3)}_{jk} a^{(3)}_j")
    assert generic == (0, SPEC.widths[3] - 1)


def test_a_sum_from_1_counts_the_same_units_and_a_number_is_a_bound():
    spec = NetworkSpec(3, (3, 4, 4, 2))
    assert _range(spec, r"\sum_{j=1}^{n_L} w^{(3)}_{jk} a^{(3)}_j") == (0, 1)
    assert _range(SPEC, r"\sum\limits_{j=1}^{n_L} y_j") == (0, SPEC.widths[3] - 1)
    assert _range(spec, r"\sum_{j=0}^{1} y_j") == (0, 1)
    assert _range(spec, r"\sum_{j=1}^{3} y_j") == (0, 2)


def test_delta_and_the_derivative_by_z_are_entries_of_delta():
    for text in ["δ^(3)_j", "δ^3_j", r"\delta^{(L)}_{j}", "delta3[j]", "∂C/∂z^L_j", "dZ^{[3]}_j"]:
        e = parse_claim(SPEC, text)
        assert e.parent.name == "delta3" and e.i == j, text
    with pytest.raises(ClaimError, match="layers 1 to 3"):
        parse_claim(SPEC, "δ^(0)_j")


def test_nabla_and_the_texts_derivatives_by_a_are_entries_of_dc_da():
    for text in ["(∇_a C)_j", r"\frac{\partial C}{\partial a^{L}_{j}}", "dC_0/da3[j]"]:
        e = parse_claim(SPEC, text)
        assert e.parent.name == "dC_da3" and e.i == j, text


def test_a_derivative_by_a_weight_or_bias_belongs_on_the_left():
    with pytest.raises(ClaimError, match="on the left of '='"):
        parse_claim(SPEC, "2 * dC/dw^(3)_jk")


def test_an_activation_named_by_its_own_name_must_be_the_layers():
    spec = NetworkSpec(2, activations=("tanh", "sigmoid"))
    assert parse_claim(spec, r"\tanh'(z^{(1)}_j)") == parse_claim(spec, "sigma'(z^(1)_j)")
    assert parse_claim(spec, "g'(Z^{[1]}_j)") == parse_claim(spec, "sigma'(z^(1)_j)")
    with pytest.raises(ClaimError, match="activation of that layer is sigmoid, not tanh"):
        parse_claim(spec, "tanh(z^(2)_j)")


def test_a_pasted_left_hand_side_is_read_and_checked():
    rhs = "a^(2)_k sigma'(z^(3)_j) 2(a^(3)_j - y_j)"
    for lhs in ["dC_0/dw^(3)_jk", r"\frac{\partial C_0}{\partial w^{(3)}_{jk}}", "dW^{[3]}_{jk}"]:
        assert claim_wrt(SPEC, None, f"{lhs} = {rhs}") == "w^(3)_jk"
        assert parse_claim(SPEC, f"{lhs} = {rhs}") == parse_claim(SPEC, rhs)
    two = r"\delta^{(3)}_{j} = \frac{\partial C_0}{\partial z^{(3)}_{j}} &= 1 \\"
    assert claim_wrt(SPEC, None, two) == "z^(3)_j"
    assert claim_wrt(SPEC, "w^{(3)}_{jk}", f"dC/dw^(3)_jk = {rhs}") == "w^{(3)}_{jk}"
    assert claim_wrt(SPEC, "b^(3)_j", rhs) == "b^(3)_j"
    assert split_claim(r"\sum_{j=0}^{1} y_j") == ([], r"\sum_{j=0}^{1} y_j")


@pytest.mark.parametrize(
    ("wrt", "text", "message"),
    [
        ("b^(3)_j", "dC/dw^(3)_jk = 1", "--wrt 'b\\^\\(3\\)_j' and the claim's left-hand side"),
        ("w^(3)_kj", "dC/dw^(3)_jk = 1", "differ"),
        (None, "a^(2)_k = 1", "is not a derivative of the cost"),
        (None, "dC/db^(2)_j = dC/db^(3)_j = 1", "name two quantities"),
        (None, "1", "give the quantity with --wrt"),
        (None, "dC/dy_j = 1", "give a weight, bias or activation"),
    ],
)
def test_a_left_hand_side_that_disagrees_or_is_not_a_derivative_is_bad_input(wrt, text, message):
    with pytest.raises(ClaimError, match=message):
        claim_wrt(SPEC, wrt, text)


def test_cases_are_indicators_and_align_marks_are_skipped():
    a, y = S.layers[3].a[j, 0], S.y[j, 0]
    text = (
        r"\begin{cases} 1 & \text{for}\: a^{(3)}_{j} - y_{j} > 1 \\ "
        r"a^{(3)}_{j} & \text{otherwise} \end{cases}"
    )
    e = parse_claim(SPEC, text)
    assert e.xreplace({a: 3, y: 1}) == 1 and e.xreplace({a: 2, y: 1}) == 2
    no_otherwise = parse_claim(SPEC, r"\begin{cases} 1 & \text{for} a^{(3)}_{j} \leq 0 \end{cases}")
    assert no_otherwise.xreplace({a: 1}) == 0
    assert split_claim(r"dC/db^(3)_j &= y_j \\") == (["dC/db^(3)_j "], " y_j ")
    assert split_claim("a^(3)_j >= 1") == ([], "a^(3)_j >= 1")


@pytest.mark.parametrize(
    "text",
    [
        "exp(z^(3)_j) / (1 + exp(z^(3)_j))",
        r"\exp(z^{(3)}_j) / (1 + e^{z^{(3)}_j})",
        "ℯ^(z^(3)_j) / (1 + e^(z^(3)_j))",
    ],
)
def test_exponentials_are_read_in_every_spelling(text):
    z = S.layers[3].z[j, 0]
    assert sp.simplify(parse_claim(SPEC, text) - sp.exp(z) / (1 + sp.exp(z))) == 0


def test_logarithms_are_read():
    a = S.layers[3].a[j, 0]
    for text in ("log(a^(3)_j)", r"\log{\left(a^{(3)}_{j} \right)}", r"\ln(a^(3)_j)"):
        assert parse_claim(SPEC, text) == sp.log(a)
