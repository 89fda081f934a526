"""``bpverify derive``: the gradients of every layer, derived by SymPy, as LaTeX, text or JSON."""

from __future__ import annotations

import sys

import click

from . import progress
from .files import check_outputs, write_text_atomic
from .options import (
    LibraryChoice,
    network_spec,
    output_option,
    timeout_option,
    with_network_options,
    within_timeout,
)

HINT = (
    "bpverify derive: that is LaTeX source; to read it, --format text prints it as text, "
    "-o gradients.tex writes a document to compile, --render gradients.png draws it"
)
"""Said once on stderr when LaTeX goes to a terminal: the bare blocks do not compile as they are."""


@click.command()
@with_network_options
@click.option(
    "--form",
    type=LibraryChoice("bpverify.derive.report:FORM_CHOICES"),
    default="all",
    show_default=True,
    help="index (the seed's w_jk), matrix, unrolled (concrete widths) or all "
    "(index and matrix, and unrolled when the widths are concrete and small).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["latex", "text", "json"]),
    default="latex",
    show_default=True,
    help="latex, text (unicode) or json (one record per layer, quantity and form).",
)
@output_option("Write to FILE instead of stdout (latex: a complete LaTeX document).")
@click.option(
    "--render",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also draw the equations into FILE.png, .svg or .pdf (needs matplotlib).",
)
@click.option(
    "--verify/--no-verify",
    "check_rules",
    default=True,
    show_default=True,
    help="Check every rule against SymPy's derivative of the unrolled network.",
)
@timeout_option(
    "bpverify.derive.budget:BUILD_TIMEOUT",
    "Seconds the derivation may take; past them bpverify stops it (exit 2).",
)
def derive(
    layers,
    widths,
    activation,
    loss,
    leaky_slope,
    cost,
    l2,
    form,
    fmt,
    output,
    render,
    check_rules,
    timeout,
):
    """Derive dC/dW, dC/db and dC/da^(l-1) of every layer and print them.

    \b
    Example:
      bpverify derive --layers 3
      bpverify derive --widths 2,3,1 --activation tanh --form unrolled --format text
      bpverify derive --layers 2 --cost sum --l2 0.01 --form matrix
    """
    spec = network_spec(layers, widths, activation, loss, leaky_slope, cost, l2)
    check_outputs({"-o": output, "--render": render})
    if render:
        from .render import check_render_path

        check_render_path(render)
    if form == "unrolled":
        from bpverify.derive.unrolled import check_size

        check_size(spec)
    work = (spec, form, fmt, bool(output), check_rules, render)
    text, failed = within_timeout(
        timeout, "the derivation", _outputs, *work, label="bpverify derive"
    )
    if output:
        write_text_atomic(output, text if text.endswith("\n") else text + "\n")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)
        if fmt == "latex" and not render and progress.is_terminal(sys.stdout):
            click.echo(HINT, err=True)
    if render:
        click.echo(f"wrote {render}", err=True)
    if failed:
        click.echo(f"bpverify derive: {failed}", err=True)
        raise click.exceptions.Exit(1)


def _outputs(spec, form, fmt, document, check_rules, render, progress):
    """The symbolic work of ``derive``, run under --timeout: the text to print or write, the
    drawing written to ``render``, and the self-check's failure summary (None when it passed
    or did not run)."""
    from bpverify.derive import derive_network, report, verify

    write = {
        "latex": report.document if document else report.latex_block,
        "text": report.text_block,
        "json": report.to_json,
    }[fmt]
    progress("deriving the rules")
    derivation = derive_network(spec)
    v = verify.verify(derivation, progress=progress) if check_rules else None
    progress(f"writing the {form} form" if form != "all" else "writing every form")
    text = write(derivation, form, verification=v)
    if render:
        from .render import render_equations

        render_equations(derivation, form, render, verification=v)
    return text, (v.summary() if v is not None and not v.ok else None)
