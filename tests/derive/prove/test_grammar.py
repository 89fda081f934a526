import re

import pytest

from bpverify.derive.prove.grammar import (
    MAX_DEPTH,
    MAX_LENGTH,
    ClaimError,
    Name,
    is_name,
    parse_tree,
    read_derivative,
    read_name,
)


@pytest.mark.parametrize(
    "text",
    [
        "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)",
        r"a_{k}^{(L-1)} \sigma^{\prime}\left(z_{j}^{(L)}\right) 2\left(a_{j}^{(L)}-y_{j}\right)",
        r"\frac{4 a^{(2)}_k}{2} \cdot \sum_{j=0}^{n_{L}-1} w_{jk}^{(L)} a_{j}^{(L)}",
        "sum_j(w^(3)_jk) × 2 · (a^(3)_j - y_j)^2",
    ],
)
def test_plain_and_latex_spellings_parse(text):
    assert parse_tree(text).data is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a^(2)_k +", "ends too early"),
        ("(a^(2)_k", "ends too early"),
        ("a^(2)_k ** 2", r"unexpected '\*' at column 10"),
        ("cos(a^(2)_k)", "cannot read 'cos"),
        ("a^(2)_k.__class__", "cannot read '.__class__"),
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_syntax_errors_name_the_column_or_what_is_missing(text, message):
    with pytest.raises(ClaimError, match=message):
        parse_tree(text)


def test_size_limits():
    with pytest.raises(ClaimError, match=f"more than the {MAX_LENGTH}"):
        parse_tree("1+" * MAX_LENGTH + "1")
    with pytest.raises(ClaimError, match=f"nests brackets {MAX_DEPTH + 1} deep"):
        parse_tree("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))
    parse_tree("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # 9^(10^10) would be an integer of ten thousand million digits
        (
            "((((((((((9)^10)^10)^10)^10)^10)^10)^10)^10)^10)^10",
            "powers of powers whose exponents multiply to 10000000000 is more than the 100",
        ),
        ("((a^(2)_k^10)^10)^2", "exponents multiply to 200"),
        ("sigma'(" * 20 + "z^(3)_j" + ")" * 20, "sigma(...) nested 20 deep is more than the 10"),
        # an exponential tower e^(e^(...)) is nesting of functions too
        ("exp(" * 20 + "z^(3)_j" + ")" * 20, "nested 20 deep is more than the 10"),
        ("e^{" * 20 + "z^(3)_j" + "}" * 20, "nested 20 deep is more than the 10"),
        ("1" * 101, "a number of 101 digits is more than the 100"),
        ("a^(2)_k^11", "exponent 11 is too large: powers up to 10"),
        ("a^(2)_k^" + "9" * 1500, "exponent of 1500 digits is too large"),
    ],
)
def test_sizes_the_tree_shows_are_refused_before_sympy_sees_them(text, message):
    with pytest.raises(ClaimError, match=re.escape(message)):
        parse_tree(text)


def test_within_the_limits_the_tree_parses():
    parse_tree("(a^(2)_k^10)^10 * " + "sigma(" * 10 + "z^(1)_j" + ")" * 10 + " * " + "9" * 100)


def test_a_limit_follows_its_environment_variable(monkeypatch):
    monkeypatch.setenv("BPVERIFY_MAX_CLAIM_CALLS", "25")
    parse_tree("sigma'(" * 20 + "z^(3)_j" + ")" * 20)
    monkeypatch.setenv("BPVERIFY_MAX_CLAIM_LENGTH", "5")
    with pytest.raises(ClaimError, match="BPVERIFY_MAX_CLAIM_LENGTH=N"):
        parse_tree("a^(2)_k")


def test_the_derived_gradient_by_an_activation_is_one_name():
    for text in ("dC_0/da^(2)_k", "dC/da^(L)_j", "∂C_0/∂a^(2)_k", "d C_{0} / d a_k^{(1)}"):
        assert parse_tree(text).data == "grad", text


def test_claim_error_is_a_value_error():
    assert issubclass(ClaimError, ValueError)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("w^(3)_jk", Name("w", 3, ("j", "k"))),
        ("w^{(L)}_{jk}", Name("w", 3, ("j", "k"))),
        ("a_k^{(L-1)}", Name("a", 2, ("k",))),
        ("b^(1)_{j}", Name("b", 1, ("j",))),
        ("y_j", Name("y", None, ("j",))),
        ("z^(L)", Name("z", 3, ())),
        ("w^(2)_10", Name("w", 2, ("1", "0"))),
    ],
)
def test_a_name_token_splits_into_letter_layer_and_indices(text, name):
    assert is_name(text)
    assert read_name(text, 3) == name


def test_a_layer_outside_the_network_is_refused():
    with pytest.raises(ClaimError, match="layer 7 does not exist"):
        read_name("a^(7)_k", 3)
    with pytest.raises(ClaimError, match="layer L-4 does not exist"):
        read_name("a^(L-4)_k", 3)


def test_is_name_takes_one_whole_name_only():
    for text in ["x_j", "sigma(z)", "a^(2)_k + 1", "w^(3)_jk)"]:
        assert not is_name(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("a^L_j", Name("a", 3, ("j",))),
        ("a^{L}_j", Name("a", 3, ("j",))),
        ("a^{L-1}_{k}", Name("a", 2, ("k",))),
        ("w^2_{jk}", Name("w", 2, ("j", "k"))),
        ("W^{[2]}_{jk}", Name("w", 2, ("j", "k"))),
        ("Z^{[L]}_j", Name("z", 3, ("j",))),
        ("a_j^L", Name("a", 3, ("j",))),
        ("W2[j,k]", Name("w", 2, ("j", "k"))),
        ("y[j]", Name("y", None, ("j",))),
    ],
)
def test_the_standard_texts_spell_a_name_many_ways(text, name):
    assert is_name(text)
    assert read_name(text, 3) == name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("δ^2_j", Name("delta", 2, ("j",))),
        (r"\delta^{(L)}_{j}", Name("delta", 3, ("j",))),
        ("delta^(1)_k", Name("delta", 1, ("k",))),
        ("delta2[j]", Name("delta", 2, ("j",))),
    ],
)
def test_delta_is_one_name(text, name):
    (token,) = parse_tree(text).children
    assert parse_tree(text).data == "delta"
    assert read_name(str(token), 3) == name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (r"\frac{\partial C_0}{\partial a^{(1)}_{j}}", Name("a", 1, ("j",))),
        (r"\frac{\partial C}{\partial w^{(3)}_{jk}}", Name("w", 3, ("j", "k"))),
        ("∂C/∂z^L_j", Name("z", 3, ("j",))),
        ("dC_0/da1[j]", Name("a", 1, ("j",))),
        ("dZ^{[2]}_j", Name("z", 2, ("j",))),
        ("dW^{[2]}_{jk}", Name("w", 2, ("j", "k"))),
        ("(∇_a C)_k", Name("a", 3, ("k",))),
        (r"\nabla_a C", Name("a", 3, ("j",))),
    ],
)
def test_a_derivative_of_the_cost_names_what_it_differentiates_by(text, name):
    tree = parse_tree(text)
    assert tree.data == "grad"
    assert read_derivative(str(tree.children[0]), 3) == name


def test_a_bare_superscript_after_the_index_is_a_power():
    assert parse_tree("y_j^2").data == "pow"
    assert parse_tree("a^2_j").data == "var"


def test_a_letter_layer_is_refused_with_the_fix():
    with pytest.raises(ClaimError, match="write the layer as a number"):
        read_name("w^l_{jk}", 3)


@pytest.mark.parametrize(
    "text",
    [
        "a^(2)_k σ′(z^(3)_j) 2(a^(3)_j − y_j)",
        "a^(2)_k · σ'(z^(3)_j) ⋅ 2 ⊙ (a^(3)_j - y_j)",
        r"a^{(2)}_k \odot \big( a^L_j \big) \Big( y_j \Big) \left[ y_j \right] \bigl( y_j \bigr)",
        r"\sum\limits_{j=1}^{n_L} w^L_{jk}",
        r"\begin{cases} 1 & \text{for}\: a^{(2)}_{j} > 1 \\-1 & \text{otherwise} \end{cases}",
        r"\operatorname{relu}'\left(z^{(1)}_{j}\right) \tanh'(z1[j]) g'(Z^{[2]}_j)",
    ],
)
def test_the_standard_texts_symbols_parse(text):
    assert parse_tree(text).data is not None


@pytest.mark.parametrize(
    "bounds", ["_{j=0}^{n_L-1}", "_{j=0}^{n_{L-1}-1}", "_{j=1}^{n_L}", "_{j=0}^{2}", "_j", "_{j}"]
)
def test_a_sums_bounds_are_one_token(bounds):
    tree = parse_tree(rf"\sum{bounds} y_j")
    assert str(tree.children[0]).endswith(bounds)
