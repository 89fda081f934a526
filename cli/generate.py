"""``bpverify generate``: the derived gradients as a standalone NumPy module."""

from __future__ import annotations

import click

from .files import check_outputs, write_text_atomic
from .options import (
    network_spec,
    output_option,
    timeout_option,
    with_network_options,
    within_timeout,
)


@click.command()
@with_network_options
@output_option("Write the module to FILE.py (default: print it).")
@timeout_option(
    "bpverify.derive.budget:BUILD_TIMEOUT",
    "Seconds the derivation and code generation may take; past them bpverify stops (exit 2).",
)
def generate(layers, widths, activation, loss, leaky_slope, cost, l2, output, timeout):
    """Write NumPy code for forward, loss and gradients of the network.

    \b
    The module imports only NumPy and defines forward(params, X), loss(params, X, Y) and
    gradients(params, X, Y) with params {"W1": (n1, n0), "b1": (n1,), ...} and one sample
    per row of X (n, n0) and Y (n, nL).

    \b
    Example:
      bpverify generate --layers 2 --widths 2,4,1 -o grads.py
    """
    from bpverify.numeric import generate_source

    spec = network_spec(layers, widths, activation, loss, leaky_slope, cost, l2)
    check_outputs({"-o": output})
    source = within_timeout(timeout, "the code generation", generate_source, spec)
    if output:
        write_text_atomic(output, source)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(source, nl=False)
