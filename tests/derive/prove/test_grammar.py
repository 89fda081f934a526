import pytest

from bpverify.derive.prove.grammar import (
    MAX_DEPTH,
    MAX_LENGTH,
    ClaimError,
    Name,
    is_name,
    parse_tree,
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
        ("exp(a^(2)_k)", "cannot read 'exp"),
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
