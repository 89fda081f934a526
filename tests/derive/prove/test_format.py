import pytest

from bpverify.derive import NetworkSpec
from bpverify.derive.notation import j
from bpverify.derive.prove.claims import generic_symbols, parse_claim
from bpverify.derive.prove.format import format_claim
from bpverify.derive.prove.proof import vanishes

SPEC = NetworkSpec(layers=3)


def test_names_print_in_the_seeds_notation():
    s = generic_symbols(SPEC)
    assert format_claim(2 * s.layers[1].a[j, 0] - s.y[j, 0]) == "2*a^(1)_j - y_j"
    assert format_claim(s.layers[3].W[j, 0] ** 2) == "w^(3)_j0^2"


@pytest.mark.parametrize(
    "text",
    [
        "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)",
        r"\sum_j w^{(3)}_{jk} \sigma(z^{(3)}_j) (a^{(3)}_j - y_j)^2",
        "b^(1)_j / (1 - a^(1)_j)",
    ],
)
def test_printed_claims_parse_back_to_the_same_expression(text):
    e = parse_claim(SPEC, text)
    again = parse_claim(SPEC, format_claim(e))
    assert vanishes(again - e)


def test_sum_letters_are_kept_apart_from_free_indices_and_each_other():
    text = "sum_j(w^(3)_jk * sigma'(z^(3)_j)) * a^(1)_j^2 + sum_k(w^(3)_jk) / 2"
    e = parse_claim(SPEC, text)
    printed = format_claim(e)
    # j and k are free, so both sums print with i
    assert printed == "a^(1)_j^2*sum_i(sigma'(z^(3)_i)*w^(3)_ik) + sum_i(w^(3)_ji)/2"
    assert format_claim(parse_claim(SPEC, printed)) == printed
    nested = format_claim(parse_claim(SPEC, "sum_j(w^(3)_jk * sum_i(w^(2)_ji))"))
    assert nested == "sum_j(w^(3)_jk*sum_i(w^(2)_ji))"


def test_indicators_and_derived_gradients_print_in_the_claim_language():
    from bpverify.derive.prove.branches import Indicator

    s = generic_symbols(SPEC)
    a, y = s.layers[3].a[j, 0], s.y[j, 0]
    assert format_claim(Indicator(a - y > 1)) == "[a^(3)_j - y_j > 1]"
    assert format_claim(parse_claim(SPEC, "dC_0/da^(2)_j")) == "dC_0/da^(2)_j"
