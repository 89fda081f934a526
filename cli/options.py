"""Options shared by the commands, and library values (defaults, choices) read when needed.

Importing the library imports SymPy, which ``bpverify --help`` must not wait for; so an option's
default or choices name the library value (``library("bpverify.derive:NetworkSpec.loss")``) and
click reads it when the command runs or shows its own help. The CLI types no library default.
"""

from __future__ import annotations

import functools
import inspect
from importlib import import_module

import click
from click.core import ParameterSource


class LibraryValue:
    """A library value named ``"module:attribute.attribute"``, imported when first called; with
    ``parameter``, the default of that parameter of the named function.

    As a click ``default`` it is called when the option is not given; ``--help`` prints it
    (through ``str``) as the default.
    """

    def __init__(self, ref: str, parameter: str | None = None) -> None:
        self.ref, self.parameter = ref, parameter

    def __call__(self):
        module, _, path = self.ref.partition(":")
        value = import_module(module)
        for name in path.split("."):
            value = getattr(value, name)
        if self.parameter is not None:
            return inspect.signature(value).parameters[self.parameter].default
        return value

    def __str__(self) -> str:
        return str(self())

    def __repr__(self) -> str:
        return f"library({self.ref!r}, {self.parameter!r})"


def library(ref: str, parameter: str | None = None) -> LibraryValue:
    """The library value ``ref`` (``"module:attribute"``), or the default of its ``parameter``,
    read when first needed."""
    return LibraryValue(ref, parameter)


class LibraryChoice(click.Choice):
    """``click.Choice`` over names the library lists, read when first needed."""

    def __init__(self, ref: str, case_sensitive: bool = True) -> None:
        self.names = library(ref)
        self.case_sensitive = case_sensitive

    @functools.cached_property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self.names())


class LibraryNames(click.ParamType):
    """Names of a library table (activations, losses), listed in ``--help`` from the table when
    help is shown; the library checks the value (its message names the fix)."""

    name = "name"

    def __init__(self, ref: str, per_layer: bool = False) -> None:
        self.names = library(ref)
        self.per_layer = per_layer

    def get_metavar(self, param, ctx) -> str:
        listed = f"[{'|'.join(self.names())}]"
        return f"{listed}[,...]" if self.per_layer else listed

    def convert(self, value, param, ctx):
        return value


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
        type=LibraryNames("bpverify.derive:ACTIVATIONS", per_layer=True),
        default=library("bpverify.derive:NetworkSpec.activations"),
        show_default=True,
        help="One activation for every layer, or L comma-separated names (one per layer).",
    ),
    click.option(
        "--loss",
        type=LibraryNames("bpverify.derive:LOSSES"),
        default=library("bpverify.derive:NetworkSpec.loss"),
        show_default=True,
        help="The loss C_0 of one sample.",
    ),
    click.option(
        "--leaky-slope",
        default=library("bpverify.derive:NetworkSpec.leaky_slope"),
        show_default=True,
        help="Slope of leaky_relu for z <= 0.",
    ),
    click.option(
        "--cost",
        type=LibraryChoice("bpverify.derive.spec:COSTS"),
        default=library("bpverify.derive:NetworkSpec.cost"),
        show_default=True,
        help="The cost over the n samples: mean C = (1/n) sum_i C_i, or sum C = sum_i C_i.",
    ),
    click.option(
        "--l2",
        default=library("bpverify.derive:NetworkSpec.l2"),
        show_default=True,
        metavar="LAMBDA",
        help="L2 weight decay: C gains lambda/(2n) sum_l ||W^(l)||_F^2 (lambda/2 with --cost "
        "sum); biases are not decayed. 0: none.",
    ),
]


def with_network_options(f):
    """Add the network options to a command."""
    for option in reversed(network_options):
        f = option(f)
    return functools.wraps(f)(f)


def network_spec(layers, widths, activation, loss, leaky_slope, cost=None, l2=None):
    """The ``NetworkSpec`` of the network options (``derive.parse_spec``)."""
    from bpverify.derive import parse_spec

    return parse_spec(
        layers=layers,
        widths=widths,
        activation=activation,
        loss=loss,
        leaky_slope=leaky_slope,
        cost=cost,
        l2=l2,
    )


def given(ctx: click.Context) -> set[str]:
    """The parameters of ``ctx`` given explicitly (on the command line), not left at a default:
    they win over a configuration file, and must not be ignored."""
    defaults = (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
    return {name for name in ctx.params if ctx.get_parameter_source(name) not in defaults}


class Seconds(click.ParamType):
    """A number of seconds >= 0 (0: no budget); NaN, infinities and negatives are refused."""

    name = "seconds"

    def convert(self, value, param, ctx):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = float("nan")
        if not 0 <= seconds < float("inf"):
            self.fail(f"{str(value)[:20]!r} is not a number of seconds >= 0: give e.g. 60", param)
        return seconds


def timeout_option(default: str, help_text: str):
    """``--timeout SECONDS``: the wall-clock budget of a command's symbolic work, its default
    the library value ``default`` names; 0 runs the work in the command's own process, without
    a budget."""
    return click.option(
        "--timeout",
        type=Seconds(),
        default=library(default),
        show_default=True,
        metavar="SECONDS",
        help=help_text + " 0: no budget.",
    )


def within_timeout(seconds: float, what: str, fn, *args, label: str | None = None):
    """``fn(*args)`` in a worker process stopped after ``seconds`` (``derive.budget``; 0: here,
    without a budget); with ``label``, ``fn`` also gets a ``progress`` callback shown under
    that label at a terminal. A spent budget raises BudgetError, bad input (exit 2) naming
    --timeout."""
    from bpverify.derive.budget import Worker

    from .progress import reporter

    if not seconds:
        if label is None:
            return fn(*args)
        with reporter(label) as say:
            return fn(*args, progress=say)
    # made before the progress timer's thread starts: a one-thread process may fork
    with Worker(seconds, what=what) as worker:
        if label is None:
            return worker.call(fn, *args)
        with reporter(label) as say:
            return worker.call(fn, *args, progress=say)


def output_option(help_text: str):
    """``-o/--output FILE``: where a command writes its result instead of stdout."""
    return click.option(
        "-o", "--output", type=click.Path(dir_okay=False), default=None, help=help_text
    )
