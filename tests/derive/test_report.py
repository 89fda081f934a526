import json
import shutil
import subprocess

import pytest
import sympy as sp

from bpverify.derive import NetworkSpec, derive_network, report
from bpverify.derive.verify import verify


@pytest.fixture(scope="module")
def small():
    return derive_network(NetworkSpec(2, (2, 2, 1)))


@pytest.fixture(scope="module")
def checked(small):
    return verify(small)


def test_all_means_index_and_matrix_plus_unrolled_when_possible(small):
    assert report.forms_of(small, "all") == ["index", "matrix", "unrolled"]
    symbolic = derive_network(NetworkSpec(2))
    assert report.forms_of(symbolic, "all") == ["index", "matrix"]


def test_results_run_from_layer_L_down(small):
    layers = [g.layer for g in report.collect(small, ["index", "matrix"])]
    assert layers == sorted(layers, reverse=True)


def test_json_records(small, checked):
    data = json.loads(report.to_json(small, "index", verification=checked))
    assert data["network"] == {
        "layers": 2,
        "widths": ["2", "2", "1"],
        "activations": ["sigmoid", "sigmoid"],
        "loss": "squared",
    }
    first = data["gradients"][0]
    assert first["name"] == "delta2[j] = dC_0/dz2[j]"
    assert first["lhs"].startswith(r"\delta^{(2)}_{j} = \frac{\partial C_0}")
    assert data["verification"]["ok"] and data["verification"]["entries"] == 23
    assert json.loads(report.to_json(small, "index"))["verification"] is None


def test_the_verification_summary_is_printed_only_when_given(small, checked):
    assert checked.summary() not in report.text_block(small, "matrix")
    assert report.text_block(small, "matrix", verification=checked).endswith(checked.summary())
    assert report.latex_block(small, "matrix", verification=checked).endswith(
        f"% {checked.summary()}"
    )


def _compiles(tex: str, tmp_path) -> None:
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    (tmp_path / "t.tex").write_text(tex)
    p = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stdout[-2000:]


def test_document_compiles_with_every_form(small, tmp_path):
    _compiles(report.document(small, "all"), tmp_path)


def test_notebook_latex_is_one_aligned_block_that_compiles(small, checked, tmp_path):
    tex = report.show(small, verification=checked)._repr_latex_()
    assert tex.startswith("$$\\begin{aligned}") and tex.endswith("\\end{aligned}$$")
    assert "%" not in tex
    doc = "\\documentclass{article}\\usepackage{amsmath}\\begin{document}\n" + tex
    _compiles(doc + "\n\\end{document}\n", tmp_path)


@pytest.fixture(scope="module")
def decayed():
    return derive_network(NetworkSpec(2, (2, 2, 1), cost="sum", l2=sp.Rational(1, 10)))


def test_the_default_cost_adds_no_row_and_keeps_the_titles(small):
    text = report.latex_block(small)
    assert r"C &=" not in text and "lambda" not in text
    assert "matrix form: n samples as columns, C = (1/n) sum_i C_i\n" in text


def test_the_forward_pass_states_the_batch_cost_with_its_penalty(decayed):
    text = report.latex_block(decayed, "matrix")
    row = (
        r"C &= \sum_{i=1}^{n} C_{i} + \frac{\lambda}{2} \sum_{l=1}^{2} "
        r"\left\| W^{(l)} \right\|_F^{2}, \quad \lambda = \frac{1}{10}"
    )
    assert row in text
    assert (
        r"\frac{\partial C}{\partial W^{(2)}} &= \delta^{(2)} a^{(1)T} + \frac{1}{10} W^{(2)}"
        in text
    )
    assert r"\frac{\partial C}{\partial b^{(2)}} &= \delta^{(2)} \mathbf{1}" in text
    mean = report.latex_block(derive_network(NetworkSpec(1, (2, 1), l2=sp.Rational(1, 10))))
    assert r"\frac{1}{n} \sum_{i=1}^{n} C_{i} + \frac{\lambda}{2 n}" in mean
    assert r"\delta^{(1)} a^{(0)T} + \frac{1}{10 n} W^{(1)}" in mean


def test_every_format_names_the_convention_and_where_the_penalty_is(decayed):
    text = report.text_block(decayed, "all")
    assert text.splitlines()[1] == (
        "C = sum_i C_i + lambda/2 sum_l ||W^(l)||_F^2 (lambda = 1/10); the index and unrolled "
        "forms are of one sample's C_0, which has no penalty"
    )
    latex = report.latex_block(decayed, "all")
    assert "index form: one sample, cost C_0 (the L2 penalty is in the matrix form only)" in latex
    network = json.loads(report.to_json(decayed, "matrix"))["network"]
    assert (network["cost"], network["l2"]) == ("sum", "1/10")
    assert "cost" not in json.loads(report.to_json(derive_network(NetworkSpec(1))))["network"]
