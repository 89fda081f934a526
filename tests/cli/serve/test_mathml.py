import pytest

pytest.importorskip("latex2mathml")

from bpverify.cli.serve.mathml import mathml


def test_an_aligned_row_becomes_a_block_math_element():
    out = mathml(r"\frac{\partial C_0}{\partial b^{(3)}_{j}} &= 2 \left(a^{(3)}_{j} - y_{j}\right)")
    assert out.startswith("<math") and 'display="block"' in out
    assert "<mfrac>" in out and "&amp;" not in out


def test_what_the_converter_cannot_read_is_shown_as_its_latex():
    out = mathml(r"\begin{unknown} x < y")
    assert out.startswith("<math") and "x &lt; y" in out
