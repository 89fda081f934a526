"""The notations of the standard texts: every row of the table in docs/prove.md ("Notations")
is proved as written, through the command line; and the four standard equations in Nielsen's
notation are proved at every layer, each on its own."""

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from bpverify.cli.main import main
from bpverify.derive import NetworkSpec
from bpverify.derive.prove import prove
from bpverify.derive.prove.claims import claim_wrt

DOCS = Path(__file__).resolve().parents[3] / "docs" / "prove.md"


def table_rows() -> list[tuple[str, str, str]]:
    """(text, options, claim) of each row of the Notations table."""
    section = DOCS.read_text().split("## Notations\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[3].startswith("`"):
            rows.append((cells[0], cells[2].strip("`"), cells[3][1:-1]))
    return rows


def test_the_table_has_a_row_per_text():
    texts = " ".join(text for text, _, _ in table_rows())
    for name in ("seed", "3Blue1Brown", "Nielsen", "Ng", "Goodfellow", "derive"):
        assert name in texts


@pytest.mark.parametrize(("text", "options", "claim"), table_rows(), ids=lambda v: v[:30])
def test_each_rows_example_is_proved_as_written(text, options, claim):
    args = ["prove", "--layers", "3", "--timeout", "0", *shlex.split(options), "--claim", claim]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("PROVED")


HALF = NetworkSpec(layers=3, loss="half-squared")


@pytest.mark.parametrize("l", [1, 2, 3])
def test_bp4_and_bp3_in_nielsens_notation_at_every_layer(l):
    for claim in [
        f"w^({l})_jk: a^({l - 1})_k δ^({l})_j",
        f"∂C/∂w^{l}_{{jk}} = a^{{{l - 1}}}_k δ^{l}_j",
        f"∂C/∂b^{l}_j = δ^{l}_j",
        f"b^{{[{l}]}}_j: dZ^{{[{l}]}}_j",
    ]:
        wrt, _, text = claim.partition(": ") if ": " in claim else (None, "", claim)
        verdict = prove(HALF, claim_wrt(HALF, wrt, text), text)
        assert verdict.status == "PROVED", (claim, verdict.message)


@pytest.mark.parametrize("l", [1, 2])
def test_bp2_in_nielsens_notation_below_the_output_layer(l):
    claim = f"δ^{l}_j = \\sum_k w^{l + 1}_{{kj}} δ^{l + 1}_k σ'(z^{l}_j)"
    assert prove(HALF, claim_wrt(HALF, None, claim), claim).status == "PROVED"


def test_bp1_in_nielsens_notation():
    for claim in ["δ^L_j = ∂C/∂a^L_j σ'(z^L_j)", "δ^L_j = (∇_a C)_j ⊙ σ'(z^L_j)"]:
        assert prove(HALF, claim_wrt(HALF, None, claim), claim).status == "PROVED"
    # the same with the squared loss's own gradient written out
    claim = "δ^L_j = (a^L_j - y_j) σ'(z^L_j)"
    assert prove(HALF, claim_wrt(HALF, None, claim), claim).status == "PROVED"


def test_a_wrong_step_in_nielsens_notation_is_refuted():
    claim = "∂C/∂w^2_{jk} = a^{1}_j δ^{2}_k"
    assert prove(HALF, claim_wrt(HALF, None, claim), claim).status == "REFUTED"


def test_the_seeds_readme_formula_with_its_unicode_signs_is_proved():
    spec = NetworkSpec(layers=3)
    claim = "a^(2)_k σ′(z^(3)_j) 2(a^(3)_j − y_j)"
    assert prove(spec, "w^(3)_jk", claim).status == "PROVED"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--wrt", "b^(3)_j", "--claim", "dC/dw^(3)_jk = δ^(3)_j"], "--wrt 'b^(3)_j' and"),
        (["--claim", "δ^(3)_j"], "give the quantity with --wrt"),
        (["--claim", "dC/dw^l_{jk} = 1"], "write the layer as a number"),
    ],
)
def test_bad_left_hand_sides_are_bad_input(args, message):
    result = CliRunner().invoke(main, ["prove", "--layers", "3", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_a_claim_file_line_may_carry_its_left_hand_side(tmp_path):
    path = tmp_path / "claims.txt"
    path.write_text("dC_0/db^(3)_j = δ^(3)_j\nw^(3)_jk: a^(2)_k δ^(3)_j\nδ^(3)_j\n")
    result = CliRunner().invoke(
        main, ["prove", "--layers", "3", "--timeout", "0", "--claim-file", str(path)]
    )
    assert re.findall(r"line (\d): (\S+)", result.output) == [
        ("1", "PROVED"),
        ("2", "PROVED"),
        ("3", "BAD"),
    ]


def test_n_l_minus_1_is_not_the_width_of_layer_l_minus_1():
    spec = NetworkSpec(3, (3, 4, 4, 2))
    good = r"\sum_{j=0}^{n_L-1} w^{(3)}_{jk} \delta^{(3)}_{j}"
    assert prove(spec, "a^(2)_k", good).status == "PROVED"
    one_based = r"\sum_{j=1}^{n_L} w^{(3)}_{jk} \delta^{(3)}_{j}"
    assert prove(spec, "a^(2)_k", one_based).status == "PROVED"
    other_layer = r"\sum_{j=0}^{n_{L-1}-1} w^{(3)}_{jk} \delta^{(3)}_{j}"
    assert prove(spec, "a^(2)_k", other_layer).status != "PROVED"


def test_a_power_with_a_unicode_minus():
    spec = NetworkSpec(layers=3)
    assert prove(spec, "b^(3)_j", "δ^(3)_j a^(1)_1^(−1) a^(1)_1").status == "PROVED"


def test_a_claim_with_its_left_hand_side_is_shown_as_written():
    claim = "dC_0/db^(3)_j = δ^(3)_j"
    result = CliRunner().invoke(
        main, ["prove", "--layers", "3", "--timeout", "0", "--claim", claim]
    )
    assert result.output.splitlines()[0] == f"PROVED  {claim}"


def test_the_readme_formula_pasted_whole_is_proved():
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    (formula,) = re.findall(r"`(∂C_0/∂w_jk\^\(L\) = [^`]*)`", readme)
    spec = NetworkSpec(layers=3)
    assert prove(spec, claim_wrt(spec, None, formula), formula).status == "PROVED"


def test_3blue1browns_one_neuron_per_layer_needs_no_indices():
    spec = NetworkSpec(3, (1, 1, 1, 1))
    claim = "∂C_0/∂w^(L) = a^(L−1) σ′(z^(L)) 2(a^(L) − y)"
    assert prove(spec, claim_wrt(spec, None, claim), claim).status == "PROVED"
