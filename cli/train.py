"""``bpverify train``: train a network with its generated gradient code."""

from __future__ import annotations

import json
import sys

import click

from .files import check_writable, write_atomic
from .options import build_spec, with_network_options


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
    help="Hidden widths, e.g. 16,16: input and output widths come from the data.",
)
@click.option(
    "--optimizer",
    type=click.Choice(["sgd", "momentum", "adam"]),
    default="adam",
    show_default=True,
)
@click.option("--lr", type=float, default=None, help="Learning rate (default: by optimizer).")
@click.option("--epochs", type=int, default=200, show_default=True)
@click.option("--batch-size", type=int, default=32, show_default=True, help="0: full batch.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--dtype", type=click.Choice(["float64", "float32"]), default="float64", show_default=True
)
@click.option(
    "--plot", type=click.Path(dir_okay=False), default=None, help="Loss curves, FILE.png."
)
@click.option("--save", type=click.Path(dir_okay=False), default=None, help="Save to FILE.npz.")
@click.option(
    "--load",
    "load_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Resume from FILE.npz (network, parameters, optimizer state, history).",
)
@click.option("--json", "as_json", is_flag=True, help="End with a JSON summary line on stdout.")
@click.option(
    "--check-every",
    type=int,
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
    Example:
      bpverify train --data xor --widths 2,4,1 --lr 0.1 --epochs 500 --batch-size 0
      bpverify train --data moons --hidden 16,16 --activation tanh --epochs 100
    """
    import numpy as np

    from bpverify.numeric.codegen.program import Program
    from bpverify.numeric.train import datasets, model_file
    from bpverify.numeric.init import init_params
    from bpverify.numeric.train.optim import make_optimizer
    from bpverify.numeric.train.loop import train as run

    for path in (plot, save):
        if path:
            check_writable(path)
    if plot:
        _need_matplotlib()
    if epochs < 0 or batch_size < 0:
        raise click.BadParameter("--epochs and --batch-size must be >= 0")
    if check_every is not None and check_every < 1:
        raise click.BadParameter("--check-every must be >= 1 (epochs between checks)")
    rng = np.random.default_rng(seed)
    dataset = datasets.load(data, target=target, n=samples, rng=rng, noise=noise)
    fraction = test_fraction if test_fraction is not None else (0.2 if len(dataset) >= 50 else 0.0)
    train_set, test_set = dataset.split(fraction, rng)

    meta = None
    if load_path:
        spec, params, meta = model_file.load_model(load_path)
    else:
        spec = _spec_for(dataset, layers, widths, hidden, activation, loss, leaky_slope)
        params = init_params(spec.widths, spec.activations, rng)
    _check_fits(spec, dataset)
    params = {k: v.astype(dtype) for k, v in params.items()}
    opt = model_file.restore_optimizer(meta, lr=lr) if meta else None
    opt = opt or make_optimizer(optimizer, lr)
    rng = (model_file.restore_rng(meta) if meta else None) or rng
    program = Program(spec, dtype=dtype)
    X, Y = train_set.astype(dtype)
    X_test, Y_test = test_set.astype(dtype) if len(test_set) else (None, None)
    score = datasets.accuracy if dataset.classes else None

    start = meta["epoch"] if meta else 0
    check = None
    if check_every:
        check = _gradient_check(spec, params, X, Y, dtype, check_every)
        try:
            check(start)
        except GradientCheckFailed as e:
            _stop(e)
    with click.progressbar(
        length=epochs,
        label=f"training {spec.describe()}",
        file=sys.stderr,
        item_show_func=lambda text: text,
    ) as bar:

        def on_epoch(epoch, history):
            bar.update(1, f"epoch {epoch} loss {history.train_loss[-1]:.4g}")

        try:
            history = run(
                program,
                params,
                X,
                Y,
                optimizer=opt,
                epochs=epochs,
                batch_size=batch_size or None,
                rng=rng,
                X_test=X_test,
                Y_test=Y_test,
                accuracy=score,
                on_epoch=on_epoch,
                check=check,
                start_epoch=start,
                history=meta["history"] if meta else None,
            )
        except KeyboardInterrupt:
            click.echo("\nbpverify train: interrupted; nothing was saved", err=True)
            raise click.exceptions.Exit(130) from None
        except GradientCheckFailed as e:
            _stop(e)

    if save:
        model_file.save_model(save, spec, params, opt, history, epoch=history.epochs, rng=rng)
    if plot:
        _plot(history, plot)
    summary = _summary(history, spec)
    click.echo(_line(summary))
    if as_json:
        click.echo(json.dumps(summary))


CHECK_SAMPLES = 8
"""Training samples (the first ones) at which --check-every checks the gradients."""
CHECK_ENTRIES = 5
"""Entries per tensor whose finite differences --check-every compares."""


class GradientCheckFailed(Exception):
    def __init__(self, epoch, report):
        problems = {p.tensor or "gradients" for p in report.problems}
        worst = ", ".join(sorted({c.tensor for c in report.failures()} | problems))
        super().__init__(f"gradient check failed at epoch {epoch} ({worst})")
        self.report = report


def _stop(e: GradientCheckFailed):
    click.echo(f"\n{e.report.table()}", err=True)
    click.echo(f"bpverify train: {e}; stopped, nothing was saved", err=True)
    raise click.exceptions.Exit(1) from None


def _gradient_check(spec, params, X, Y, dtype, every):
    """``check(epoch)`` for the training loop: the generated gradients at the current
    parameters, on the first training samples, against the symbolic values and sampled finite
    differences."""
    from bpverify.numeric.check.run import Point, check_gradients

    count = min(CHECK_SAMPLES, len(X))

    def check(epoch):
        if epoch % every:
            return
        at = Point(dict(params), X[:count], Y[:count])
        report = check_gradients(spec, dtype=dtype, sample=CHECK_ENTRIES, at=at)
        if not report.passed:
            raise GradientCheckFailed(epoch, report)

    return check


def _spec_for(dataset, layers, widths, hidden, activation, loss, leaky_slope):
    """The network: --widths/--layers as given, or --hidden between the data's own widths."""
    if hidden and widths:
        raise click.UsageError("give --widths or --hidden, not both")
    if hidden:
        inner = [w.strip() for w in hidden.split(",") if w.strip()]
        widths = ",".join([str(dataset.n_in), *inner, str(dataset.n_out)])
    elif not widths and layers is None:
        raise click.UsageError(
            "give the network with --hidden 16,16 (widths from the data) or --widths"
        )
    elif not widths:
        raise click.UsageError("training needs concrete widths: give --widths or --hidden")
    return build_spec(layers, widths, activation, loss, leaky_slope)


def _check_fits(spec, dataset) -> None:
    n_in, n_out = spec.widths[0], spec.widths[-1]
    if (n_in, n_out) != (dataset.n_in, dataset.n_out):
        widths = ",".join(str(w) for w in spec.widths)
        raise click.UsageError(
            f"widths {widths} do not fit the data: {dataset.name} has {dataset.n_in} inputs and "
            f"{dataset.n_out} outputs; use --widths {dataset.n_in},...,{dataset.n_out} or --hidden"
        )


def _summary(history, spec) -> dict:
    def last(values):
        return float(values[-1]) if values else None

    return {
        "network": spec.describe(),
        "epochs": history.epochs,
        "train_loss": last(history.train_loss),
        "test_loss": last(history.test_loss),
        "train_accuracy": last(history.train_accuracy),
        "test_accuracy": last(history.test_accuracy),
    }


def _line(summary: dict) -> str:
    parts = [f"epochs {summary['epochs']}"]
    for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
        if summary[key] is not None:
            parts.append(f"{key.replace('_', ' ')} {summary[key]:.4g}")
    return ", ".join(parts)


def _need_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise click.UsageError("--plot needs matplotlib: pip install 'bpverify[render]'") from None


def _plot(history, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = range(history.epochs - len(history.train_loss) + 1, history.epochs + 1)
    ax.plot(epochs, history.train_loss, label="train")
    if history.test_loss:
        ax.plot(epochs, history.test_loss, label="test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss C")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    try:
        write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    finally:
        plt.close(fig)
