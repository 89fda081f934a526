"""``derive --render``: the equations drawn with matplotlib's mathtext, for reading at a glance."""

from __future__ import annotations

import textwrap
from pathlib import Path

import click

from .files import write_atomic

FORMATS = (".png", ".svg", ".pdf")
LINE = 0.8  # inches per equation line; display fractions and sums need the room
HEADING = 0.45


def check_render_path(path: str) -> None:
    """A clear error for a suffix matplotlib will not write, or matplotlib missing."""
    if Path(path).suffix.lower() not in FORMATS:
        raise click.BadParameter(
            f"--render {path!r}: give a file ending in {', '.join(FORMATS)}", param_hint="--render"
        )
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise click.UsageError(
            "--render needs matplotlib: pip install 'bpverify[render]'"
        ) from None


def _items(derivation, form: str, verification) -> list[tuple[str, str]]:
    """(kind, text) pairs: the report's headings (wrapped) and its equations as mathtext."""
    from bpverify.derive import report

    items = []
    for heading, rows in report.sections(derivation, form, verification):
        items += [("heading", part) for part in textwrap.wrap(heading, 120)]
        # Display-style fractions: mathtext's inline \frac is too small to read.
        items += [
            ("equation", "$" + r.replace("&", "").replace(r"\frac", r"\dfrac") + "$") for r in rows
        ]
    return items


def render_equations(derivation, form: str, path: str, verification=None) -> None:
    """Draw every equation of ``derivation`` (as ``derive`` prints them, with ``verification``'s
    summary when given) into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = _items(derivation, form, verification)
    height = sum(LINE if kind == "equation" else HEADING for kind, _ in items) + 0.5
    fig = plt.figure(figsize=(11, height))
    y = height - 0.3
    for kind, text in items:
        if kind == "heading":
            y -= HEADING
            fig.text(0.02, y / height, text, fontsize=11, weight="bold", color="#333366")
        else:
            y -= LINE
            fig.text(0.05, (y + 0.15) / height, text, fontsize=13)
    suffix = Path(path).suffix.lower().lstrip(".")
    try:
        write_atomic(path, lambda tmp: fig.savefig(tmp, format=suffix, dpi=110))
    finally:
        plt.close(fig)
