"""``bpverify train``: train a network with its generated gradient code."""

from __future__ import annotations

import json
import sys

import click

from . import exitcodes
from .files import check_outputs, write_atomic
from .options import LibraryChoice, given, library, with_network_options

DATA_DEFAULT = "by data set, see docs/train.md"
"""Where the training defaults are: one row per data set (``numeric/train/defaults.py``)."""


@click.command()
@click.option(
    "--data",
    required=True,
    help="xor, moons, circles, spirals, digits (needs scikit-learn), or FILE.csv / FILE.npz.",
)
@click.option("--target", default=None, help="Label column(s) of a CSV file (default: the last).")
@click.option("--samples", type=int, default=None, help="Samples of a generated data set.")
@click.option("--noise", type=float, default=None, help="Noise of a generated data set.")
@click.option(
    "--test-fraction",
    type=float,
    default=None,
    help="Share held out for testing (default: 0.2 with 50 samples or more, else 0).",
)
@with_network_options
@click.option(
    "--hidden",
    default=None,
    help="Hidden widths, e.g. 16,16: input and output widths come from the data "
    f"(default: {DATA_DEFAULT}; a file needs --hidden or --widths).",
)
@click.option(
    "--optimizer",
    type=LibraryChoice("bpverify.numeric.train.optim:OPTIMIZERS"),
    default=None,
    help=f"The optimiser (default: {DATA_DEFAULT}).",
)
@click.option(
    "--lr",
    type=float,
    default=None,
    help=f"Learning rate (default: {DATA_DEFAULT}, or the optimiser's own). With --cost sum "
    "the gradients are sums over the minibatch, batch-size times the mean's: sgd and momentum "
    "take steps that much larger at the same rate (adam hardly changes).",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=0),
    default=None,
    help=f"Epochs (default: {DATA_DEFAULT}).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=0),
    default=None,
    help=f"Samples per step, 0 for the full batch (default: {DATA_DEFAULT}).",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--dtype",
    type=LibraryChoice("bpverify.numeric.check.options:DTYPES"),
    default=library("bpverify.numeric.check.options:CheckOptions.dtype"),
    show_default=True,
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    default=None,
    help="Loss curves, FILE.png, .svg or .pdf (needs matplotlib).",
)
@click.option("--save", type=click.Path(dir_okay=False), default=None, help="Save to FILE.npz.")
@click.option(
    "--load",
    "load_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Resume from FILE.npz (network, parameters, optimizer state, history).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON, alone on stdout.")
@click.option(
    "--check-every",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Before training and every N epochs, a sampled three-way gradient check of the "
    "generated code; stop if it fails.",
)
def train(
    data,
    target,
    samples,
    noise,
    test_fraction,
    layers,
    widths,
    activation,
    loss,
    leaky_slope,
    cost,
    l2,
    hidden,
    optimizer,
    lr,
    epochs,
    batch_size,
    seed,
    dtype,
    plot,
    save,
    load_path,
    as_json,
    check_every,
):
    """Train a network on a data set with the generated NumPy gradients.

    \b
    Exit codes: 0 trained, 1 stopped (the loss diverged, or --check-every found wrong
    gradients; nothing is saved), 2 bad input.

    \b
    Each bundled data set has its own defaults for the network and the training, which the
    summary line names; every option given wins over them. --l2 LAMBDA adds weight decay
    (lambda W^(l)/n to each weight gradient with the mean cost).

    \b
    Example:
      bpverify train --data xor
      bpverify train --data moons --hidden 16,16 --activation tanh --epochs 100
    """
    import numpy as np

    from bpverify.numeric.codegen.program import Program
    from bpverify.numeric.init import init_params
    from bpverify.numeric.train import datasets, defaults, model_file, session
    from bpverify.numeric.train.loop import GradientCheckFailed, TrainingStopped
    from bpverify.numeric.train.loop import train as run
    from bpverify.numeric.train.optim import make_optimizer
    from bpverify.numeric.train.plot import plot_format, plot_losses, require_matplotlib

    if load_path:
        _refuse_with_load(given(click.get_current_context()))
    check_outputs({"--save": save, "--plot": plot})
    if plot:
        plot_format(plot)
        require_matplotlib()
    rng = np.random.default_rng(seed)
    dataset = datasets.load(data, target=target, n=samples, rng=rng, noise=noise)
    train_set, test_set = dataset.split(session.test_fraction(len(dataset), test_fraction), rng)

    fixed = ["hidden"] if widths or layers or load_path else []
    settings = defaults.choose(
        data,
        fixed=[*fixed, "optimizer", "lr"] if load_path else fixed,
        hidden=hidden,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        optimizer=optimizer,
    )
    meta = None
    if load_path:
        spec, params, meta = model_file.load_model(load_path)
        if optimizer and meta["optimizer"]:
            raise click.UsageError(
                f"--optimizer: {load_path} resumes its own {meta['optimizer']} with its state; "
                "drop --optimizer (--lr still applies)"
            )
        session.check_fits(spec, dataset)
    else:
        spec = session.network_for(
            dataset,
            hidden=settings.hidden,
            layers=layers,
            widths=widths,
            activation=activation,
            loss=loss,
            leaky_slope=leaky_slope,
            cost=cost,
            l2=l2,
        )
        params = init_params(spec.widths, spec.activations, rng)
    params = {k: v.astype(dtype) for k, v in params.items()}
    opt = (model_file.restore_optimizer(meta, lr=lr) if meta else None) or make_optimizer(
        settings.optimizer or settings.defaults.optimizer, settings.lr
    )
    rng = (model_file.restore_rng(meta) if meta else None) or rng
    X, Y = train_set.astype(dtype)
    X_test, Y_test = test_set.astype(dtype) if len(test_set) else (None, None)
    start = meta["epoch"] if meta else 0
    check = session.gradient_check(spec, params, X, Y, dtype, check_every) if check_every else None

    try:
        if check:
            check(start)
        with click.progressbar(
            length=settings.epochs,
            label=f"training {spec.describe()}",
            file=sys.stderr,
            item_show_func=lambda text: text,
        ) as bar:
            history = run(
                Program(spec, dtype=dtype),
                params,
                X,
                Y,
                optimizer=opt,
                epochs=settings.epochs,
                batch_size=settings.batch_size,
                rng=rng,
                X_test=X_test,
                Y_test=Y_test,
                accuracy=datasets.accuracy if dataset.classes else None,
                on_epoch=lambda epoch, h: bar.update(
                    1, f"epoch {epoch} loss {h.train_loss[-1]:.4g}"
                ),
                check=check,
                start_epoch=start,
                history=meta["history"] if meta else None,
            )
    except KeyboardInterrupt:
        click.echo("\nbpverify train: interrupted; nothing was saved", err=True)
        raise click.exceptions.Exit(exitcodes.INTERRUPTED) from None
    except TrainingStopped as e:
        if isinstance(e, GradientCheckFailed):
            click.echo(f"\n{e.report.table()}", err=True)
        click.echo(f"\nbpverify train: {e}; stopped, nothing was saved", err=True)
        raise click.exceptions.Exit(exitcodes.FAIL) from None

    if save:
        model_file.save_model(save, spec, params, opt, history, epoch=history.epochs, rng=rng)
    if plot:
        write_atomic(plot, lambda tmp: plot_losses(history, tmp, plot_format(plot)))
    summary = session.summary(history, spec)
    # with --json, stdout is the JSON object alone (a pipe into a JSON reader), the line for
    # people goes to stderr
    click.echo(_line(summary, settings.describe()), err=as_json)
    if as_json:
        click.echo(json.dumps(summary))


FROM_MODEL = ("layers", "widths", "hidden", "activation", "loss", "leaky_slope", "cost", "l2")
"""The options that describe the network, which a model file given by --load holds."""


def _refuse_with_load(explicit: set[str]) -> None:
    """--load trains the network of its file: an option describing another one is refused,
    not ignored."""
    flags = [f"--{name.replace('_', '-')}" for name in FROM_MODEL if name in explicit]
    if flags:
        raise click.UsageError(
            f"{' and '.join(flags)} cannot apply with --load: the model file holds its network; "
            f"drop {' and '.join(flags)}, or train a new network without --load"
        )


def _line(summary: dict, defaults: str) -> str:
    """The summary as one line: epochs, then each loss and accuracy that was measured, then the
    defaults used (as options, so that a reader can change one and run again)."""
    parts = [f"epochs {summary['epochs']}"]
    for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
        if summary[key] is not None:
            parts.append(f"{key.replace('_', ' ')} {summary[key]:.4g}")
    return ", ".join(parts) + (f"; {defaults}" if defaults else "")
