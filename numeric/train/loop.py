"""Minibatch training of a generated gradient program, with divergence detection.

``train`` works with any *program* object with the generated program's interface:

* ``program.spec`` — the ``NetworkSpec``;
* ``program.forward(params, X)`` — the output ``a^(L)``, shape (n, n_L), samples as rows;
* ``program.loss(params, X, Y)`` — the mean over samples of the per-sample loss;
* ``program.gradients(params, X, Y)`` — ``{"W1": ..., "b1": ...}``, shaped like ``params``.

Example, with ``program`` from the code generator and data from ``datasets``::

    rng = np.random.default_rng(0)
    params = init_params(program.spec.widths, program.spec.activations, rng)
    history = train(program, params, X, Y, optimizer=make_optimizer("adam", 0.1), epochs=100,
                    batch_size=None, rng=rng, accuracy=datasets.accuracy)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .optim import Optimizer


class GradientModel(Protocol):
    """What ``train`` needs of a model: forward, loss and gradients (``codegen.Program`` is one)."""

    spec: Any

    def forward(self, params: Mapping[str, np.ndarray], X: np.ndarray) -> np.ndarray: ...

    def loss(self, params: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> float: ...

    def gradients(
        self, params: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray
    ) -> dict[str, np.ndarray]: ...


Accuracy = Callable[[np.ndarray, np.ndarray], float]


@dataclass
class History:
    """Per-epoch records of one training run (or of several runs, when resumed).

    ``train_loss`` and ``test_loss`` hold the loss on the whole training and test set after each
    epoch (``test_loss`` stays empty without a test set). The accuracy lists are None when no
    ``accuracy`` function was given, and ``test_accuracy`` is empty without a test set.
    ``epochs`` is the number of epochs completed, counting those before a resume.
    """

    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] | None = None
    test_accuracy: list[float] | None = None
    epochs: int = 0


class TrainingStopped(RuntimeError):
    """Training stopped before its last epoch: a failed run, not bad input."""


class Diverged(TrainingStopped):
    """Training produced a non-finite loss, gradient or parameter; the message names the fix."""


class GradientCheckFailed(TrainingStopped):
    """A gradient check during training failed; ``report`` is the check's ``Report``."""

    def __init__(self, epoch: int, report) -> None:
        problems = {p.tensor or "gradients" for p in report.problems}
        failed = ", ".join(sorted({c.tensor for c in report.failures()} | problems))
        super().__init__(f"gradient check failed at epoch {epoch} ({failed})")
        self.epoch, self.report = epoch, report


def train(
    program: GradientModel,
    params: dict[str, np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    *,
    optimizer: Optimizer,
    epochs: int,
    batch_size: int | None,
    rng: np.random.Generator,
    X_test: np.ndarray | None = None,
    Y_test: np.ndarray | None = None,
    accuracy: Accuracy | None = None,
    on_epoch: Callable[[int, History], None] | None = None,
    check: Callable[[int], None] | None = None,
    start_epoch: int = 0,
    history: History | None = None,
) -> History:
    """Train ``params`` in place for ``epochs`` more epochs and return the history.

    Each epoch visits every training sample once: in a fresh ``rng`` permutation split into
    batches of ``batch_size`` (the last batch takes the remainder), or as one full batch in the
    given order when ``batch_size`` is None or >= n (no random numbers are drawn then). After
    each epoch the loss, and ``accuracy(Y, outputs)`` if given (e.g. ``datasets.accuracy``), is
    measured on the whole training set and on the test set if given and appended to the
    history; then ``check(epoch)`` and ``on_epoch(epoch, history)`` are called. Epochs are
    numbered from ``start_epoch + 1`` to ``start_epoch + epochs``. To resume, pass the epoch and
    the ``history`` saved with the model (the history is extended in place and returned).

    Arrays are used as given: ``X``, ``Y``, the test set and every parameter must share one
    floating dtype, so float32 training stays float32.

    Raises ``Diverged`` when a gradient, parameter or loss is not finite; the parameters then
    hold the last finite values if the gradient was the first to overflow. ``check`` stops
    training by raising (``GradientCheckFailed``); both are ``TrainingStopped``.
    Floating-point warnings of the program and of the optimiser step are silenced, since every
    result they could spoil is checked for finiteness. KeyboardInterrupt passes through.
    """
    n = _check_data(params, X, Y, "X", "Y")
    has_test = X_test is not None or Y_test is not None
    if has_test:
        if X_test is None or Y_test is None:
            raise ValueError("give both X_test and Y_test, or neither")
        _check_data(params, X_test, Y_test, "X_test", "Y_test")
    if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 0:
        raise ValueError(f"epochs must be a whole number >= 0, got {epochs!r}")
    if isinstance(start_epoch, bool) or not isinstance(start_epoch, int | np.integer):
        raise ValueError(f"start_epoch must be a whole number >= 0, got {start_epoch!r}")
    if start_epoch < 0:
        raise ValueError(f"start_epoch must be a whole number >= 0, got {start_epoch!r}")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer)
    ):
        raise ValueError(f"batch_size must be a whole number >= 1 or None, got {batch_size!r}")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1 or None, got {batch_size!r}")
    step = n if batch_size is None else int(batch_size)
    full_batch = step >= n

    if history is None:
        history = History(epochs=int(start_epoch))
    elif history.epochs != start_epoch:
        raise ValueError(
            f"the history has {history.epochs} epochs but start_epoch is {start_epoch}: "
            "pass start_epoch=history.epochs to resume"
        )
    train_accuracy: list[float] = []
    test_accuracy: list[float] = []
    if accuracy is not None:
        if history.train_accuracy is None:
            history.train_accuracy = []
        if history.test_accuracy is None:
            history.test_accuracy = []
        train_accuracy, test_accuracy = history.train_accuracy, history.test_accuracy

    for epoch in range(int(start_epoch) + 1, int(start_epoch) + int(epochs) + 1):
        if full_batch:
            _step(program, params, X, Y, optimizer, epoch)
        else:
            order = rng.permutation(n)
            for start in range(0, n, step):
                batch = order[start : start + step]
                _step(program, params, X[batch], Y[batch], optimizer, epoch)

        history.train_loss.append(_loss(program, params, X, Y, epoch, "loss"))
        if X_test is not None and Y_test is not None:
            history.test_loss.append(_loss(program, params, X_test, Y_test, epoch, "test loss"))
        if accuracy is not None:
            train_accuracy.append(float(accuracy(Y, _forward(program, params, X))))
            if X_test is not None and Y_test is not None:
                outputs = _forward(program, params, X_test)
                test_accuracy.append(float(accuracy(Y_test, outputs)))
        history.epochs = epoch
        if check is not None:
            check(epoch)
        if on_epoch is not None:
            on_epoch(epoch, history)
    return history


def _check_data(params, X, Y, x_name: str, y_name: str) -> int:
    dtypes = {np.asarray(p).dtype for p in params.values()}
    if len(dtypes) != 1:
        names = ", ".join(sorted(str(d) for d in dtypes))
        raise ValueError(f"parameters mix dtypes {names}: give every parameter one dtype")
    (dtype,) = dtypes
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(f"parameters have dtype {dtype}: give floating-point parameters")
    for name, a in ((x_name, X), (y_name, Y)):
        if not isinstance(a, np.ndarray) or a.ndim != 2:
            raise ValueError(f"{name} must be a 2-d array with samples as rows, got {_shape(a)}")
        if a.dtype != dtype:
            raise ValueError(
                f"{name} has dtype {a.dtype} but the parameters {dtype}: "
                f"convert it with {name}.astype(np.{dtype})"
            )
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"{x_name} has {X.shape[0]} samples but {y_name} {Y.shape[0]}")
    if X.shape[0] == 0:
        raise ValueError(f"{x_name} has no samples: give at least one row")
    return X.shape[0]


def _shape(a) -> str:
    return f"shape {np.shape(a)}" if hasattr(a, "shape") else type(a).__name__


def _diverged(epoch: int, what: str) -> Diverged:
    return Diverged(f"training diverged at epoch {epoch} ({what}): lower --lr")


def _step(program, params, X, Y, optimizer: Optimizer, epoch: int) -> None:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        grads = program.gradients(params, X, Y)
    for key in params:
        g = grads.get(key)
        if g is not None and not np.all(np.isfinite(g)):
            raise _diverged(epoch, f"gradient {key} not finite")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        optimizer.step(params, grads)
    for key, p in params.items():
        if not np.all(np.isfinite(p)):
            raise _diverged(epoch, f"parameter {key} not finite")


def _loss(program, params, X, Y, epoch: int, what: str) -> float:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value = float(program.loss(params, X, Y))
    if not np.isfinite(value):
        raise _diverged(epoch, f"{what} {value}")
    return value


def _forward(program, params, X) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return program.forward(params, X)
