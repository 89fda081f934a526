"""Trained models as ``.npz`` archives: parameters, network, optimiser state and history.

One archive holds, under these names (all plain arrays, loaded without pickle):

=====================  ===============================================================
``W1``, ``b1``, ...     the parameters, in the dtype they were trained in
``format``, ``version`` ``"bpverify-model"`` and the layout version (1)
``layers``, ``widths``  L and n_0 ... n_L
``activations``         L activation names; ``loss`` the loss name
``leaky_slope``         the exact slope as a string, e.g. ``"1/100"``
``cost``, ``l2``        the cost over samples (``"mean"`` or ``"sum"``) and the exact L2 decay
                        as a string; optional (older files: the mean, no decay)
``epoch``               epochs completed
``optimizer``           the optimiser name, or ``""`` without one
``opt.<key>``           the optimiser's ``state_dict()``
``history.<list>``      ``train_loss``, ``test_loss`` and, for classification,
                        ``train_accuracy``, ``test_accuracy``; ``history.epochs``
``rng_state``           the random generator's state as JSON, for exact resumption
=====================  ===============================================================

``save_model`` writes a temporary file next to the target and renames it over the target, so an
interrupted or failed save leaves any earlier file intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import zipfile
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from bpverify.derive import InputError, NetworkSpec

from .loop import History
from .optim import OPTIMIZERS, Optimizer, make_optimizer

FORMAT = "bpverify-model"
VERSION = 1
_HISTORY_LISTS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy")
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
_REQUIRED = ("layers", "widths", "activations", "loss", "leaky_slope", "epoch", "optimizer")


class ModelFileError(InputError):
    """A model that cannot be saved, or a file that cannot be read as one; the message names the
    fix."""


def save_model(
    path: str | os.PathLike[str],
    spec: NetworkSpec,
    params: dict[str, np.ndarray],
    optimizer: Optimizer | None = None,
    history: History | None = None,
    epoch: int = 0,
    rng: np.random.Generator | None = None,
) -> None:
    """Write the model to ``path`` (the name is used as given; no ``.npz`` is appended).

    ``params`` must match ``spec`` (keys W1, b1, ..., WL, bL with shapes (n_l, n_{l-1}) and
    (n_l,)). ``optimizer``, ``history`` and ``rng`` are optional; store all three, with
    ``epoch`` the number of epochs completed, to resume training exactly.
    """
    path = os.fspath(path)
    if spec.symbolic:
        raise ModelFileError(
            f"cannot save a network with symbolic widths {spec.widths}: give numbers"
        )
    _check_params(params, spec, f"cannot save model to {path}:")
    if isinstance(epoch, bool) or not isinstance(epoch, int | np.integer) or epoch < 0:
        raise ModelFileError(f"epoch must be a whole number >= 0, got {epoch!r}")
    try:
        Fraction(str(spec.leaky_slope))
    except ValueError:
        raise ModelFileError(
            f"leaky slope {spec.leaky_slope} is not a fraction: give a rational slope like 1/100"
        ) from None

    arrays: dict[str, np.ndarray] = {key: np.asarray(value) for key, value in params.items()}
    arrays.update(
        format=np.array(FORMAT),
        version=np.array(VERSION),
        layers=np.array(spec.layers),
        widths=np.array([int(w) for w in spec.widths], dtype=np.int64),
        activations=np.array(spec.activations, dtype=str),
        loss=np.array(spec.loss),
        leaky_slope=np.array(str(spec.leaky_slope)),
        cost=np.array(spec.cost),
        l2=np.array(str(spec.l2)),
        epoch=np.array(int(epoch), dtype=np.int64),
        optimizer=np.array(optimizer.name if optimizer is not None else ""),
    )
    if optimizer is not None:
        for key, value in optimizer.state_dict().items():
            arrays[f"opt.{key}"] = np.asarray(value)
    if history is not None:
        for name in _HISTORY_LISTS:
            values = getattr(history, name)
            if values is not None:
                arrays[f"history.{name}"] = np.asarray(values, dtype=np.float64)
        arrays["history.epochs"] = np.array(int(history.epochs), dtype=np.int64)
    if rng is not None:
        arrays["rng_state"] = np.array(json.dumps(rng.bit_generator.state))
    _write_atomically(path, arrays)


def load_model(path: str | os.PathLike[str]) -> tuple[NetworkSpec, dict[str, np.ndarray], dict]:
    """Read a model written by ``save_model``: ``(spec, params, meta)``.

    ``meta`` holds ``epoch`` (int), ``optimizer`` (name or None), ``optimizer_state`` (the
    ``state_dict()``, empty without optimiser), ``history`` (History or None), ``rng_state``
    (a bit-generator state dict or None) and ``version``. Use ``restore_optimizer(meta)`` and
    ``restore_rng(meta)`` to continue training. Every problem with the file raises
    ModelFileError (an InputError) with a one-line message naming the problem and the fix.
    """
    path = os.fspath(path)
    arrays = _read(path)
    where = f"model file {path}"
    if "format" not in arrays or _text(arrays["format"], "format", where) != FORMAT:
        raise ModelFileError(
            f"{path} is an .npz archive but not a bpverify model (no format '{FORMAT}'): "
            "give a file written by save_model"
        )
    missing = [key for key in ("version", *_REQUIRED) if key not in arrays]
    if missing:
        raise ModelFileError(
            f"{where} lacks {', '.join(missing)}: it is incomplete or damaged; save the model again"
        )
    version = _whole(arrays["version"], "version", where)
    if version > VERSION:
        raise ModelFileError(
            f"{where} has layout version {version}, newer than {VERSION}: upgrade bpverify"
        )

    layers = _whole(arrays["layers"], "layers", where)
    widths = _integers(arrays["widths"], "widths", where)
    activations = arrays["activations"]
    if activations.ndim != 1 or activations.dtype.kind != "U":
        raise ModelFileError(f"{where} has a bad 'activations' entry: save the model again")
    loss = _text(arrays["loss"], "loss", where)
    try:
        slope = Fraction(_text(arrays["leaky_slope"], "leaky_slope", where))
    except ValueError:
        raise ModelFileError(
            f"{where} has a bad 'leaky_slope' entry: save the model again"
        ) from None
    conventions = {}
    if "cost" in arrays:
        conventions["cost"] = _text(arrays["cost"], "cost", where)
    if "l2" in arrays:
        try:
            l2 = Fraction(_text(arrays["l2"], "l2", where))
        except ValueError:
            raise ModelFileError(f"{where} has a bad 'l2' entry: save the model again") from None
        conventions["l2"] = sp.Rational(l2.numerator, l2.denominator)
    try:
        spec = NetworkSpec(
            layers=layers,
            widths=widths,
            activations=tuple(str(a) for a in activations),
            loss=loss,
            leaky_slope=sp.Rational(slope.numerator, slope.denominator),
            **conventions,
        )
    except ValueError as e:
        raise ModelFileError(
            f"{where} holds an invalid network ({e}): save the model again"
        ) from None

    L = spec.layers
    params = {}
    for l in range(1, L + 1):
        for key in (f"W{l}", f"b{l}"):
            if key not in arrays:
                raise ModelFileError(
                    f"{where} lacks parameter array {key!r}: it is incomplete or damaged; "
                    "save the model again"
                )
            params[key] = arrays[key]
    _check_params(params, spec, f"{where}:")
    for key, value in params.items():
        if not np.all(np.isfinite(value)):
            raise ModelFileError(
                f"{where}: parameter {key} holds NaN or infinite values (a damaged file, or one "
                "saved after training diverged): train the model again"
            )

    name = _text(arrays["optimizer"], "optimizer", where) or None
    state = {k.removeprefix("opt."): v for k, v in arrays.items() if k.startswith("opt.")}
    if name is not None:
        if name not in OPTIMIZERS:
            raise ModelFileError(
                f"{where} names unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}"
            )
        try:
            optimizer = make_optimizer(name)
            optimizer.load_state_dict(state)
            optimizer.check_params(params)
        except ValueError as e:
            raise ModelFileError(f"{where} holds a bad optimizer state ({e})") from None

    history = None
    if "history.train_loss" in arrays:
        lists: dict[str, Any] = {}
        for key in _HISTORY_LISTS:
            values = arrays.get(f"history.{key}")
            lists[key] = None if values is None else [float(v) for v in np.atleast_1d(values)]
        if lists["test_loss"] is None:
            lists["test_loss"] = []
        if "history.epochs" not in arrays:
            raise ModelFileError(f"{where} lacks history.epochs: save the model again")
        epochs = _whole(arrays["history.epochs"], "history.epochs", where)
        history = History(**lists, epochs=epochs)

    rng_state = None
    if "rng_state" in arrays:
        try:
            rng_state = json.loads(_text(arrays["rng_state"], "rng_state", where))
        except ValueError:
            raise ModelFileError(
                f"{where} holds a damaged rng_state: save the model again"
            ) from None
        if not isinstance(rng_state, dict) or rng_state.get("bit_generator") not in _BIT_GENERATORS:
            raise ModelFileError(f"{where} holds an unknown rng_state: save the model again")
        try:
            _generator(rng_state)
        except (ValueError, TypeError, KeyError, IndexError, OverflowError):
            raise ModelFileError(
                f"{where} holds a damaged rng_state: save the model again"
            ) from None

    meta: dict[str, Any] = {
        "epoch": _whole(arrays["epoch"], "epoch", where),
        "optimizer": name,
        "optimizer_state": state,
        "history": history,
        "rng_state": rng_state,
        "version": version,
    }
    return spec, params, meta


def restore_optimizer(meta: dict, lr: float | None = None) -> Optimizer | None:
    """The optimiser saved in ``meta`` with its state, or None; ``lr`` overrides the saved lr."""
    if meta.get("optimizer") is None:
        return None
    optimizer = make_optimizer(meta["optimizer"])
    optimizer.load_state_dict(meta["optimizer_state"])
    if lr is not None:
        optimizer.lr = make_optimizer(meta["optimizer"], lr).lr  # validated like a new one
    return optimizer


def restore_rng(meta: dict) -> np.random.Generator | None:
    """A generator continuing exactly where the saved one stopped, or None if none was saved."""
    state = meta.get("rng_state")
    return None if state is None else _generator(state)


def _generator(state: dict) -> np.random.Generator:
    """A generator in ``state``; NumPy's own errors for a state it cannot take."""
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def _check_params(params: dict[str, np.ndarray], spec: NetworkSpec, where: str) -> None:
    n = spec.widths
    expected: dict[str, tuple[int, ...]] = {}
    for l in range(1, spec.layers + 1):
        expected[f"W{l}"] = (int(n[l]), int(n[l - 1]))
        expected[f"b{l}"] = (int(n[l]),)
    extra = sorted(set(params) - set(expected))
    if extra:
        raise ModelFileError(f"{where} parameters {', '.join(extra)} are not in the network")
    for key, shape in expected.items():
        if key not in params:
            raise ModelFileError(f"{where} parameter {key} is missing: give W1, b1, ..., WL, bL")
        value = params[key]
        if np.shape(value) != shape:
            raise ModelFileError(
                f"{where} parameter {key} has shape {np.shape(value)}, the network needs {shape}"
            )
        if not np.issubdtype(np.asarray(value).dtype, np.floating):
            raise ModelFileError(
                f"{where} parameter {key} has dtype {np.asarray(value).dtype}: "
                "parameters must be floating-point"
            )


def _read(path: str) -> dict[str, np.ndarray]:
    if not os.path.exists(path):
        raise ModelFileError(
            f"no model file at {path}: check the path, or save a model there first"
        )
    if os.path.isdir(path):
        raise ModelFileError(
            f"{path} is a directory, not a model file: give the .npz file inside it"
        )
    not_npz = ModelFileError(
        f"{path} is not a bpverify model file (not an .npz archive): give a file written by "
        "save_model"
    )
    try:
        # An open file rather than the path: np.load leaks its own file if the zip is damaged.
        with open(path, "rb") as f:
            try:
                archive = np.load(f, allow_pickle=False)
            except (ValueError, EOFError, zipfile.BadZipFile):
                raise not_npz from None
            if not hasattr(archive, "files"):  # a single .npy array
                raise not_npz
            try:
                with archive:
                    return {key: archive[key] for key in archive.files}
            except (ValueError, EOFError, zipfile.BadZipFile, KeyError):
                raise ModelFileError(
                    f"model file {path} is damaged (an array cannot be read): save the model again"
                ) from None
    except OSError as e:
        raise ModelFileError(
            f"cannot read model file {path} ({e.strerror or e}): check its permissions"
        ) from None


def _write_atomically(path: str, arrays: dict[str, np.ndarray]) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    if not base or os.path.isdir(path):
        raise ModelFileError(f"cannot write model file {path}: it is a directory; give a file name")
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        # /dev/null, a pipe: written into; a rename would put a file in the device's place
        try:
            with open(path, "wb") as f:
                np.savez(f, **arrays)  # type: ignore[arg-type]
            return
        except OSError as e:
            raise ModelFileError(
                f"cannot write model file {path} ({e.strerror or e}): choose another path"
            ) from None
    try:
        while True:
            tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            try:
                fd = os.open(tmp, flags, 0o666)  # the umask applies, as for any new file
                break
            except FileExistsError:
                continue
    except OSError as e:
        raise ModelFileError(
            f"cannot write model file {path} ({e.strerror}): check that {directory} exists and "
            "is writable"
        ) from None
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as bool
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))  # keep an existing file's mode
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError):
            raise ModelFileError(
                f"cannot write model file {path} ({e.strerror or e}): check the disk and "
                "permissions; any earlier file is unchanged"
            ) from e
        raise


def _text(value: np.ndarray, key: str, where: str) -> str:
    if value.ndim != 0 or value.dtype.kind != "U":
        raise ModelFileError(f"{where} has a bad {key!r} entry (not text): save the model again")
    return str(value.item())


def _whole(value: np.ndarray, key: str, where: str) -> int:
    if value.ndim != 0 or value.dtype.kind not in "iu" or value < 0:
        raise ModelFileError(
            f"{where} has a bad {key!r} entry (not a whole number >= 0): save the model again"
        )
    return int(value)


def _integers(value: np.ndarray, key: str, where: str) -> tuple[int, ...]:
    if value.ndim != 1 or value.dtype.kind not in "iu":
        raise ModelFileError(
            f"{where} has a bad {key!r} entry (not whole numbers): save the model again"
        )
    return tuple(int(v) for v in value)
