import sympy as sp

from bpverify.derive import NetworkSpec, derive_network
from bpverify.derive.prove.claims import generic_symbols, parse_claim, parse_wrt
from bpverify.derive.prove.proof import proof_stages, vanishes
from bpverify.derive.prove.truth import proof_task

SPEC = NetworkSpec(layers=3)
S = generic_symbols(SPEC)
D = derive_network(SPEC)
W3 = "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"


def stages(wrt, claim):
    """Every stage's outcome: "" or a note when it proves the claim, None when it does not."""
    return list(proof_stages(proof_task(D, parse_wrt(SPEC, wrt), parse_claim(SPEC, claim))))


def test_sums_that_differ_only_in_their_index_name_cancel():
    i, m = (sp.Dummy(c, integer=True, nonnegative=True) for c in "im")
    n3 = SPEC.widths[3]
    a = S.layers[3].a
    assert vanishes(sp.Sum(a[i, 0], (i, 0, n3 - 1)) - sp.Sum(a[m, 0], (m, 0, n3 - 1)))
    assert vanishes(2 * sp.Sum(a[i, 0], (i, 0, n3 - 1)) - sp.Sum(2 * a[m, 0], (m, 0, n3 - 1)))
    assert not vanishes(sp.Sum(a[i, 0], (i, 0, n3 - 1)) - sp.Sum(a[m, 0], (m, 0, n3 - 2)))


def test_concrete_widths_write_the_sums_out():
    spec = NetworkSpec(2, (2, 3, 2))
    e = parse_claim(spec, "sum_j(w^(2)_jk * a^(2)_j)")
    written = parse_claim(spec, "w^(2)_0k * a^(2)_0 + w^(2)_1k * a^(2)_1")
    assert vanishes(e - written)
    assert not vanishes(e - parse_claim(spec, "w^(2)_0k * a^(2)_0"))


def test_a_claim_as_written_is_proved_at_the_first_stage():
    assert stages("w^(3)_jk", W3)[0] == ""


def test_a_sigma_of_z_is_proved_once_a_is_substituted():
    claim = "a^(2)_k * sigma'(z^(3)_j) * 2*(sigma(z^(3)_j) - y_j)"
    assert stages("w^(3)_jk", claim)[:2] == [None, "with a^(l) = sigma(z^(l)) substituted"]


def test_sigma_written_out_is_proved_for_that_activation_only():
    claim = "a^(2)_k * a^(3)_j*(1 - a^(3)_j) * 2*(a^(3)_j - y_j)"
    *early, last = stages("w^(3)_jk", claim)
    assert early == [None, None]
    assert last.endswith("this proof holds for sigmoid only")


def test_a_wrong_claim_is_proved_at_no_stage():
    assert stages("w^(3)_jk", "a^(2)_k * sigma'(z^(3)_j) * (a^(3)_j - y_j)") == [None, None]
