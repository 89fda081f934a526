"""``bpverify check``: the three-way gradient check, for one network or every configured one."""

from __future__ import annotations

from pathlib import Path

import click

from . import exitcodes
from .files import check_outputs, write_text_atomic
from .options import LibraryChoice, given, library, network_spec, with_network_options
from .progress import reporter

OPTIONS = "bpverify.numeric.check.options"
"""Where the check's options, their choices and defaults live (``CheckOptions``)."""


@click.command()
@with_network_options
@click.option(
    "--grad-fn",
    default=None,
    metavar="FILE.py:FUNCTION",
    help="Check your own FUNCTION(params, X, Y) -> dict instead of the generated code.",
)
@click.option(
    "--function",
    "function",
    default=None,
    metavar="FILE.py:FUNCTION",
    help="Check --grad-fn as the gradient of this NumPy function of named inputs, instead of a "
    "network (docs/layers.md).",
)
@click.option(
    "--input",
    "input_specs",
    multiple=True,
    metavar="NAME=SHAPE[:KIND]",
    help="An input of --function drawn at random, e.g. x=8x16 or labels=8:int5 (repeat).",
)
@click.option(
    "--inputs",
    "inputs_path",
    default=None,
    metavar="FILE.npz",
    help="Inputs of --function as arrays (numpy.savez), beside or instead of --input.",
)
@click.option(
    "--wrt",
    default=None,
    metavar="NAMES",
    help="The inputs of --function to check, e.g. x,gamma (default: every float input).",
)
@click.option(
    "--every-entry",
    is_flag=True,
    help="With --function: finite differences of every entry, however large the inputs.",
)
@click.option(
    "--dtype",
    type=LibraryChoice(f"{OPTIONS}:DTYPES"),
    default=library(f"{OPTIONS}:CheckOptions.dtype"),
    show_default=True,
    help="Precision of the code under test.",
)
@click.option(
    "--method",
    type=LibraryChoice(f"{OPTIONS}:METHOD_CHOICES"),
    default=library(f"{OPTIONS}:CheckOptions.method"),
    show_default=True,
    help="Finite differences; auto: the complex step when every activation is analytic, "
    "else richardson.",
)
@click.option(
    "--points",
    type=int,
    default=library(f"{OPTIONS}:CheckOptions.points"),
    show_default=True,
    help="Random points to check.",
)
@click.option(
    "--batch",
    type=int,
    default=library(f"{OPTIONS}:CheckOptions.batch"),
    show_default=True,
    help="Samples per point.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=library(f"{OPTIONS}:CheckOptions.seed"),
    show_default=True,
)
@click.option(
    "--sample", type=int, default=None, help="Finite differences of K entries per tensor."
)
@click.option(
    "--projection",
    is_flag=True,
    help="Compare directional derivatives, entry by entry only where they disagree.",
)
@click.option(
    "--avoid-kinks",
    is_flag=True,
    help="Redraw inputs until no relu pre-activation lies within a step of 0.",
)
@click.option(
    "--unrolled",
    is_flag=True,
    help="Also SymPy's derivative of the written-out network (small networks only).",
)
@click.option("--rtol", type=float, default=None, help="Relative tolerance for every pair.")
@click.option("--atol", type=float, default=None, help="Absolute tolerance (times the scale).")
@click.option(
    "--timeout",
    type=float,
    default=library(f"{OPTIONS}:CheckOptions.timeout"),
    show_default=True,
    metavar="SECONDS",
    help="Time for importing --grad-fn's file and for each call; past it the check fails.",
)
@click.option(
    "--memory-limit",
    type=float,
    default=library(f"{OPTIONS}:CheckOptions.memory_limit"),
    show_default=True,
    metavar="GIB",
    help="Memory --grad-fn's worker process may take (0: no limit); past it the check fails.",
)
@click.option(
    "--targets",
    type=LibraryChoice(f"{OPTIONS}:TARGET_CHOICES"),
    default=library(f"{OPTIONS}:CheckOptions.targets"),
    show_default=True,
    help="How targets are drawn: soft (random values of the loss's kind) or one-hot "
    "(one 1 per sample; classification losses).",
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write FILE.json.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), help="Write FILE.xml.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Check the networks of FILE (default without --widths: bpverify.toml or "
    "pyproject.toml [tool.bpverify] here).",
)
def check(
    layers,
    widths,
    activation,
    loss,
    leaky_slope,
    cost,
    l2,
    grad_fn,
    function,
    input_specs,
    inputs_path,
    wrt,
    every_entry,
    json_path,
    junit_path,
    config_path,
    **settings,
):
    """Check gradients three ways: symbolic (34 digits), the code, finite differences.

    \b
    Every tensor (W1, b1, ..., dC_da0, ...) is compared for each pair of sources; the table
    names the worst entry and both values there. Exit code 0 when every comparison passes,
    1 on a mismatch or a problem in the checked code, 2 on bad input.

    \b
    Examples:
      bpverify check --widths 2,3,1 --activation tanh
      bpverify check --widths 4,8,3 --loss softmax-cross-entropy --grad-fn mine.py:grads
      bpverify check            # the networks of [tool.bpverify] in pyproject.toml
      bpverify check --function layer.py:forward --grad-fn layer.py:backward --input x=8x16
    """
    from bpverify.numeric import memory
    from bpverify.numeric.check import config
    from bpverify.numeric.check.options import CheckOptions
    from bpverify.numeric.check.run import check_fits, check_gradients

    check_outputs({"--json": json_path, "--junit": junit_path})
    options = CheckOptions(**settings)
    explicit = given(click.get_current_context())
    function_options = set(FUNCTION_FLAGS) & explicit
    if function is not None:
        refused = sorted((explicit & NOT_FOR_FUNCTIONS) | ({"config_path"} & explicit))
        if refused:
            flags = ", ".join("--" + n.replace("_", "-").replace("-path", "") for n in refused)
            raise click.UsageError(f"{flags}: not for --function, which checks no network")
        if grad_fn is None:
            raise click.UsageError(
                "--function needs --grad-fn FILE.py:FUNCTION: the backward to check"
            )
        report = function_report(
            function, grad_fn, input_specs, inputs_path, wrt, every_entry, options
        )
        return _finish([report], json_path, junit_path, what="function(s)")
    if function_options:
        flags = ", ".join(FUNCTION_FLAGS[n] for n in sorted(function_options))
        raise click.UsageError(f"{flags}: only with --function FILE.py:FUNCTION")
    if widths is None and layers is None:
        path = Path(config_path) if config_path else config.find()
        if path is None:
            raise click.UsageError(
                "no network given: pass --widths n0,...,nL, or list networks under "
                "[tool.bpverify] in pyproject.toml (or in bpverify.toml)"
            )
        network = [n.replace("_", "-") for n in NETWORK if n in explicit]
        if network:
            flags = " and ".join(f"--{n}" for n in network)
            raise click.UsageError(
                f"{flags} {'applies' if len(network) == 1 else 'apply'} to the network of "
                f"--widths; {path} lists its own networks: set {' and '.join(network)} "
                "there, or give --widths"
            )
        checks = config.load_checks(path, options, grad_fn, explicit)
    elif config_path:
        raise click.UsageError("give either --config or a network (--widths), not both")
    else:
        spec = network_spec(layers, widths, activation, loss, leaky_slope, cost, l2)
        checks = [config.ConfiguredCheck("", spec, grad_fn, options)]
    for c in checks:  # every network's options and memory before any network's work
        if c.function is not None:
            function_inputs(c.inputs, c.inputs_file)
        elif c.spec is not None and not c.spec.symbolic:
            check_fits(c.spec, c.options)
            memory.require_check(c.spec.widths, c.options.batch)
    reports = []
    for c in checks:
        if c.function is not None:
            report = function_report(
                c.function, c.grad_fn, c.inputs, c.inputs_file, c.wrt, c.every_entry, c.options
            )
            report.name = c.name
        else:
            with reporter(" ".join(filter(None, ["bpverify check", c.name]))) as progress:
                report = check_gradients(
                    c.spec, c.grad_fn, c.options, name=c.name, progress=progress
                )
        reports.append(report)
        click.echo(report.table())
        click.echo()
    kinds = {c.function is None for c in checks}
    what = {frozenset([True]): "network(s)", frozenset([False]): "function(s)"}.get(
        frozenset(kinds), "check(s)"
    )
    return _finish(reports, json_path, junit_path, echoed=True, what=what)


def _finish(reports, json_path, junit_path, echoed=False, what="network(s)"):
    """The reports' tables (unless ``echoed``), their files and the exit code."""
    from bpverify.numeric.check.report import to_json, to_junit

    if not echoed:
        for report in reports:
            click.echo(report.table())
            click.echo()
    if json_path:
        write_text_atomic(json_path, to_json(reports) + "\n")
    if junit_path:
        write_text_atomic(junit_path, to_junit(reports))
    passed = sum(r.passed for r in reports)
    verdict = "PASS" if passed == len(reports) else "FAIL"
    click.echo(f"{verdict}: {passed} of {len(reports)} {what} passed")
    return exitcodes.passed(passed == len(reports))


NETWORK = ("activation", "loss", "leaky_slope", "cost", "l2")
"""The options that describe the one network of --widths, not a configured network."""

NOT_FOR_FUNCTIONS = {
    "layers",
    "widths",
    *NETWORK,
    "batch",
    "targets",
    "avoid_kinks",
    "unrolled",
}
"""Options about a network, refused beside --function."""

FUNCTION_FLAGS = {
    "input_specs": "--input",
    "inputs_path": "--inputs",
    "wrt": "--wrt",
    "every_entry": "--every-entry",
}
"""The options of --function, refused without it."""


def function_inputs(input_specs, inputs_path) -> dict:
    """The inputs of --inputs and --input, read and checked (``numeric.check.inputs``)."""
    from bpverify.numeric.check.inputs import InputsError, load_npz, parse_input

    inputs: dict = load_npz(inputs_path) if inputs_path else {}
    for text in input_specs:
        name, drawn = parse_input(text)
        if name in inputs:
            raise InputsError(f"--input {name}: given twice (or also in --inputs); give it once")
        inputs[name] = drawn
    if not inputs:
        raise click.UsageError(
            "--function needs its inputs: --input NAME=SHAPE (e.g. --input x=8x16) or "
            "--inputs FILE.npz"
        )
    return inputs


def function_report(function, grad_fn, input_specs, inputs_path, wrt, every_entry, options):
    """``check_function`` on the inputs of --inputs and --input (``numeric.check.inputs``)."""
    from bpverify.numeric.check.function import check_function

    inputs = function_inputs(input_specs, inputs_path)
    mode = "entries" if every_entry else "auto"
    with reporter("bpverify check --function") as progress:
        return check_function(
            function, grad_fn, inputs, wrt=wrt, options=options, mode=mode, progress=progress
        )
