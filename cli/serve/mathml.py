"""LaTeX as MathML, which browsers render natively: the page shows mathematics without a
script, a font download or a request leaving the machine.

The LaTeX is the one ``derive`` prints (``report.sections``), so the page and the command line
show the same formulas; ``latex2mathml`` (the ``serve`` extra) converts it.
"""

from __future__ import annotations

from html import escape


def mathml(latex: str) -> str:
    """One formula (an ``align*`` row ``lhs &= rhs`` or a bare expression) as a block
    ``<math>`` element carrying its LaTeX as the annotation screen readers and copy use; a
    formula the converter cannot read is shown as its LaTeX text."""
    from latex2mathml.converter import convert

    text = latex.replace("&=", "=").replace("&", "")
    try:
        return convert(text, display="block")
    except Exception:  # the converter's own errors are of many kinds; the LaTeX is still right
        return f'<math display="block"><mtext>{escape(text)}</mtext></math>'
