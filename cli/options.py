"""Options shared by the commands, and the network specification built from them."""

from __future__ import annotations

import functools

import click

network_options = [
    click.option(
        "--layers", "-L", type=int, default=None, help="Number of weight layers L (>= 1)."
    ),
    click.option(
        "--widths",
        default=None,
        help="Comma-separated widths n_0,...,n_L, e.g. 2,3,3,1 (default: symbolic n_0 ... n_L).",
    ),
    click.option(
        "--activation",
        default="sigmoid",
        show_default=True,
        help="sigmoid, tanh, relu, leaky_relu, softplus or identity; "
        "one name, or L comma-separated names (one per layer).",
    ),
    click.option(
        "--loss",
        default="squared",
        show_default=True,
        help="squared, cross-entropy or softmax-cross-entropy.",
    ),
    click.option(
        "--leaky-slope",
        default="0.01",
        show_default=True,
        help="Slope of leaky_relu for z <= 0.",
    ),
]


def with_network_options(f):
    """Add the network options to a command."""
    for option in reversed(network_options):
        f = option(f)
    return functools.wraps(f)(f)


def build_spec(layers, widths, activation, loss, leaky_slope):
    """A NetworkSpec from the option values; SpecError names what is wrong."""
    import sympy as sp

    from bpverify.derive import NetworkSpec, SpecError, parse_widths

    parsed = parse_widths(widths) if widths else None
    if layers is None:
        if parsed is None:
            raise SpecError("give the depth with --layers L, or the widths with --widths")
        layers = len(parsed) - 1
    try:
        slope = sp.Rational(leaky_slope)
    except (TypeError, ValueError):
        raise SpecError(
            f"--leaky-slope {leaky_slope!r} is not a number: give e.g. --leaky-slope 0.01"
        ) from None
    return NetworkSpec(layers, parsed, activation, loss, slope)


def output_option(help_text: str):
    """``-o/--output FILE``: where a command writes its result instead of stdout."""
    return click.option(
        "-o", "--output", type=click.Path(dir_okay=False), default=None, help=help_text
    )
