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
    """
    from bpverify.numeric import memory
    from bpverify.numeric.check import config
    from bpverify.numeric.check.options import CheckOptions
    from bpverify.numeric.check.report import to_json, to_junit
    from bpverify.numeric.check.run import check_fits, check_gradients

    check_outputs({"--json": json_path, "--junit": junit_path})
    options = CheckOptions(**settings)
    explicit = given(click.get_current_context())
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
        if not c.spec.symbolic:
            check_fits(c.spec, c.options)
            memory.require_check(c.spec.widths, c.options.batch)
    reports = []
    for c in checks:
        with reporter(" ".join(filter(None, ["bpverify check", c.name]))) as progress:
            report = check_gradients(c.spec, c.grad_fn, c.options, name=c.name, progress=progress)
        reports.append(report)
        click.echo(report.table())
        click.echo()
    if json_path:
        write_text_atomic(json_path, to_json(reports) + "\n")
    if junit_path:
        write_text_atomic(junit_path, to_junit(reports))
    passed = sum(r.passed for r in reports)
    verdict = "PASS" if passed == len(reports) else "FAIL"
    click.echo(f"{verdict}: {passed} of {len(reports)} network(s) passed")
    return exitcodes.passed(passed == len(reports))


NETWORK = ("activation", "loss", "leaky_slope", "cost", "l2")
"""The options that describe the one network of --widths, not a configured network."""
