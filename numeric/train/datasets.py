"""Data for training networks: seeded toy sets, the 8x8 digits and CSV or NPZ files.

Every source gives a ``Dataset`` of float64 inputs ``X`` (n, n_in) and targets ``Y`` (n, n_out).
Classification targets follow one convention so that the output layer can be chosen from the
data: two classes give ONE column of 0/1 (sigmoid output), k > 2 classes give k one-hot columns
(softmax output); ``classes`` is 2 or k, and None for regression. ``load`` takes a generated
name, ``"digits"`` or a file path and is what the command line calls; bad data raises
``DataError`` with a one-line message that names the problem and the fix.
"""

from __future__ import annotations

import csv
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bpverify.derive import InputError

__all__ = [
    "DEFAULT_NOISE",
    "DEFAULT_SEED",
    "DEFAULT_SIZES",
    "FILE_SUFFIXES",
    "GENERATED",
    "DataError",
    "Dataset",
    "accuracy",
    "circles",
    "digits",
    "load",
    "load_file",
    "moons",
    "spirals",
    "xor",
]

# A single integer-valued target column with at most this many distinct values is a class label.
MAX_CLASSES = 20
DEFAULT_SEED = 0
FILE_SUFFIXES = (".csv", ".npz")


class DataError(InputError):
    """Bad data or a bad data option; the message is one line naming the problem and the fix."""

    def __init__(self, message: str):
        # The CLI prints the message as one line, so a stray newline must not split it.
        super().__init__(str(message).replace("\r", "\\r").replace("\n", "\\n"))


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """Inputs ``X`` (n, n_in) and targets ``Y`` (n, n_out), both float64.

    ``classes`` is the number of classes (2: ``Y`` is one 0/1 column, k > 2: ``Y`` is k one-hot
    columns) or None for regression. Arrays are converted to 2-D float64 on construction; a 1-D
    ``Y`` becomes one column.
    """

    X: np.ndarray
    Y: np.ndarray
    name: str
    classes: int | None
    feature_names: tuple[str, ...]
    target_names: tuple[str, ...]

    def __post_init__(self):
        X = np.asarray(self.X, dtype=np.float64)
        Y = np.asarray(self.Y, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
            raise ValueError(f"X and Y must be 2-D with equal rows, got {X.shape} and {Y.shape}")
        if len(self.feature_names) != X.shape[1] or len(self.target_names) != Y.shape[1]:
            raise ValueError("feature_names and target_names must name every column of X and Y")
        if self.classes is not None and not (
            self.classes >= 2
            and (Y.shape[1] == self.classes or (self.classes == 2 and Y.shape[1] == 1))
        ):
            raise ValueError(f"{self.classes} classes do not fit targets with {Y.shape[1]} columns")
        # frozen: the conversions have to bypass the dataclass's __setattr__.
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "Y", Y)
        object.__setattr__(self, "feature_names", tuple(self.feature_names))
        object.__setattr__(self, "target_names", tuple(self.target_names))

    @property
    def n_in(self) -> int:
        """Number of input features (columns of ``X``)."""
        return self.X.shape[1]

    @property
    def n_out(self) -> int:
        """Number of target columns (columns of ``Y``)."""
        return self.Y.shape[1]

    def __len__(self) -> int:
        return len(self.X)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, n={len(self)}, n_in={self.n_in}, n_out={self.n_out}, "
            f"classes={self.classes})"
        )

    def split(self, test_fraction: float, rng: np.random.Generator) -> tuple[Dataset, Dataset]:
        """Shuffle and split into (train, test) with ``round(test_fraction * n)`` test samples.

        ``test_fraction`` must be in [0, 1); 0 gives an empty test set. The train set always
        keeps at least one sample.
        Example: ``train, test = ds.split(0.2, np.random.default_rng(0))``.
        """
        if not 0 <= test_fraction < 1:
            raise DataError(
                f"test fraction {test_fraction} is outside [0, 1): give a value such as 0.2"
            )
        n = len(self)
        n_test = min(round(test_fraction * n), max(n - 1, 0))
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
        return self._subset(train, f"{self.name}/train"), self._subset(test, f"{self.name}/test")

    def astype(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        """Copies of ``X`` and ``Y`` as ``dtype``, e.g. ``ds.astype(np.float32)``."""
        return self.X.astype(dtype), self.Y.astype(dtype)

    def _subset(self, rows: np.ndarray, name: str) -> Dataset:
        return Dataset(
            self.X[rows], self.Y[rows], name, self.classes, self.feature_names, self.target_names
        )


def accuracy(Y_true, outputs) -> float:
    """Fraction of samples classified correctly, for the target encodings of ``Dataset``.

    One column: the output thresholded at 0.5 against the 0/1 label. Several columns: the argmax
    of the outputs against the argmax of the one-hot targets. An empty set gives NaN.
    Example: ``accuracy([[0], [1]], [[0.2], [0.4]]) == 0.5``.
    """
    Y_true = np.asarray(Y_true, dtype=np.float64)
    outputs = np.asarray(outputs, dtype=np.float64)
    if Y_true.ndim == 1:
        Y_true = Y_true.reshape(-1, 1)
    if outputs.ndim == 1:
        outputs = outputs.reshape(-1, 1)
    if Y_true.shape != outputs.shape:
        raise ValueError(f"targets {Y_true.shape} and outputs {outputs.shape} differ in shape")
    if len(Y_true) == 0:
        return math.nan
    if Y_true.shape[1] == 1:
        hits = (outputs[:, 0] >= 0.5) == (Y_true[:, 0] >= 0.5)
    else:
        hits = outputs.argmax(axis=1) == Y_true.argmax(axis=1)
    return float(hits.mean())


# --- generated data sets ---------------------------------------------------------------------


def _check_generated(name: str, n: int, noise: float) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise DataError(f"{name}: the sample count {n!r} is not a positive integer: give n >= 1")
    if not (math.isfinite(noise) and noise >= 0):
        raise DataError(f"{name}: the noise {noise!r} is not a number >= 0: give e.g. 0.1")


def _binary(name: str, X: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Dataset:
    # Shuffled so that consecutive samples (mini-batches, a plain head of the data) mix classes.
    order = rng.permutation(len(X))
    return Dataset(X[order], labels[order, None], name, 2, ("x1", "x2"), ("y",))


def _rng(rng) -> np.random.Generator:
    return np.random.default_rng(DEFAULT_SEED if rng is None else rng)


def xor(n: int = 4, rng: np.random.Generator | None = None, noise: float = 0.0) -> Dataset:
    """The XOR corners (0,0), (0,1), (1,0), (1,1) with labels 0, 1, 1, 0, repeated up to ``n``.

    Unlike the other sets the samples keep this cyclic order (the first four are the corners).
    ``noise`` is the standard deviation of Gaussian noise added to the inputs (default none);
    ``rng`` draws it (None: seed ``DEFAULT_SEED``). Example: ``xor().Y[:, 0] == [0, 1, 1, 0]``.
    """
    _check_generated("xor", n, noise)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    rows = np.arange(n) % 4
    X = corners[rows] + _rng(rng).normal(scale=noise, size=(n, 2))
    return Dataset(X, np.array([0.0, 1.0, 1.0, 0.0])[rows, None], "xor", 2, ("x1", "x2"), ("y",))


def moons(n: int = 500, rng: np.random.Generator | None = None, noise: float = 0.1) -> Dataset:
    """Two interleaving half circles (the classic two-moons data), shuffled.

    Class 0 is the upper moon ``(cos t, sin t)``, class 1 the lower ``(1 - cos t, 0.5 - sin t)``
    for t in [0, pi]; ``ceil(n/2)`` and ``floor(n/2)`` samples. Inputs lie in about [-1, 2] x
    [-0.5, 1]; ``noise`` is the standard deviation of the Gaussian noise on both inputs.
    """
    _check_generated("moons", n, noise)
    rng = _rng(rng)
    n0 = (n + 1) // 2
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n - n0)
    X = np.vstack(
        [
            np.column_stack([np.cos(t0), np.sin(t0)]),
            np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)]),
        ]
    )
    X = X + rng.normal(scale=noise, size=X.shape)
    return _binary("moons", X, np.repeat([0.0, 1.0], [n0, n - n0]), rng)


def circles(n: int = 500, rng: np.random.Generator | None = None, noise: float = 0.05) -> Dataset:
    """Two concentric circles, shuffled: class 0 of radius 1, class 1 of radius 0.5.

    ``ceil(n/2)`` and ``floor(n/2)`` samples evenly spaced in angle; ``noise`` is the standard
    deviation of the Gaussian noise on both inputs. Both classes are centred on the origin, so no
    line separates them.
    """
    _check_generated("circles", n, noise)
    rng = _rng(rng)
    n0 = (n + 1) // 2

    def ring(m: int, radius: float) -> np.ndarray:
        angle = np.linspace(0, 2 * np.pi, m, endpoint=False)
        return radius * np.column_stack([np.cos(angle), np.sin(angle)])

    X = np.vstack([ring(n0, 1.0), ring(n - n0, 0.5)])
    X = X + rng.normal(scale=noise, size=X.shape)
    return _binary("circles", X, np.repeat([0.0, 1.0], [n0, n - n0]), rng)


# 1.25 turns with noise 0.05 is learnt to >= 0.99 by a 2-16-16-1 tanh or relu net in a few
# thousand full-batch steps; 1.5 turns or noise 0.1 left plain momentum descent well short.
SPIRAL_TURNS = 1.25


def spirals(n: int = 600, rng: np.random.Generator | None = None, noise: float = 0.05) -> Dataset:
    """Two interleaved spirals of 1.25 turns each, shuffled; inputs in about [-1, 1].

    Class 0 runs from radius 0.1 to 1 starting at angle 0, class 1 is the same arm turned by pi;
    ``ceil(n/2)`` and ``floor(n/2)`` samples. ``noise`` is the standard deviation of the Gaussian
    noise on both inputs (the arms are 0.36 apart radially, so keep it below about 0.08).
    """
    _check_generated("spirals", n, noise)
    rng = _rng(rng)
    n0 = (n + 1) // 2

    def arm(m: int, phase: float) -> np.ndarray:
        t = np.linspace(0, 1, m)
        radius, angle = 0.1 + 0.9 * t, 2 * np.pi * SPIRAL_TURNS * t + phase
        return radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])

    X = np.vstack([arm(n0, 0.0), arm(n - n0, np.pi)])
    X = X + rng.normal(scale=noise, size=X.shape)
    return _binary("spirals", X, np.repeat([0.0, 1.0], [n0, n - n0]), rng)


GENERATED: dict[str, Callable[..., Dataset]] = {
    "xor": xor,
    "moons": moons,
    "circles": circles,
    "spirals": spirals,
}
DEFAULT_SIZES: dict[str, int] = {"xor": 4, "moons": 500, "circles": 500, "spirals": 600}
DEFAULT_NOISE: dict[str, float] = {"xor": 0.0, "moons": 0.1, "circles": 0.05, "spirals": 0.05}


def digits() -> Dataset:
    """The 8x8 handwritten digits of scikit-learn: 1797 samples, 64 pixels in [0, 1], 10 classes.

    Pixels are divided by 16 (their maximum); targets are one-hot over the digits 0-9. Needs the
    optional scikit-learn (``pip install 'bpverify[digits]'``), which ships the data, so nothing
    is downloaded.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError(
            "the digits data set needs scikit-learn: pip install 'bpverify[digits]'"
        ) from None
    bunch = load_digits()
    labels = np.asarray(bunch.target, dtype=np.int64)
    return Dataset(
        np.asarray(bunch.data, dtype=np.float64) / 16.0,
        np.eye(10)[labels],
        "digits",
        10,
        tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8)),
        tuple(str(d) for d in range(10)),
    )


# --- files -----------------------------------------------------------------------------------


def _encode_targets(Y: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, int | None, tuple]:
    """Return (Y, classes, target_names) with classification targets in the ``Dataset`` encoding.

    One column of 2 to ``MAX_CLASSES`` distinct integers is a class label: two values become 0/1
    (in sorted order), more become one-hot columns named by the values. Several columns that are
    one-hot already are classes too. Anything else is regression and stays as it is.
    """
    if Y.shape[1] == 1:
        values = np.unique(Y[:, 0])
        if 2 <= len(values) <= MAX_CLASSES and np.all(values == np.round(values)):
            index = np.searchsorted(values, Y[:, 0])
            if len(values) == 2:
                return index[:, None].astype(np.float64), 2, names
            labels = tuple(str(int(v)) for v in values)
            return np.eye(len(values))[index], len(values), labels
        return Y, None, names
    one_hot = len(Y) > 0 and np.all((Y == 0) | (Y == 1)) and np.all(Y.sum(axis=1) == 1)
    return Y, (Y.shape[1] if one_hot else None), names


def _parse_cell(path: Path, row: int, column: str, cell: str) -> float:
    where = f"{path}: row {row}, column {column!r}"
    text = cell.strip()
    if not text:
        raise DataError(f"{where} is empty: fill in a number or remove the row")
    try:
        value = float(text)
    except ValueError:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise DataError(
            f"{where} is not a number ({shown!r}): fix the cell or remove the row"
        ) from None
    if math.isnan(value):
        raise DataError(f"{where} is NaN: replace it with a number or remove the row")
    if not math.isfinite(value):
        raise DataError(f"{where} is infinite ({text!r}): replace it with a finite number")
    return value


def _read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    """Header and float matrix of a CSV file; rows are numbered as in a spreadsheet (header 1)."""
    try:
        # utf-8-sig: spreadsheet programs often start a CSV with a byte-order mark.
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except UnicodeDecodeError:
        raise DataError(f"{path}: the file is not UTF-8 text: save it as a UTF-8 CSV") from None
    except csv.Error as error:
        raise DataError(f"{path}: not readable as CSV ({error}): fix the quoting") from None
    if not rows:
        raise DataError(f"{path}: the file is empty: add a header row and rows of numbers")
    header = [name.strip() for name in rows[0][1]]
    for i, name in enumerate(header, start=1):
        if not name:
            raise DataError(f"{path}: column {i} has no name in the header: name every column")
        if header.index(name) != i - 1:
            raise DataError(f"{path}: the column name {name!r} repeats: make the names unique")
    if all(_is_number(name) for name in header):
        raise DataError(
            f"{path}: the first row is numbers, not column names: add a header row naming "
            "the columns"
        )
    if len(rows) == 1:
        raise DataError(f"{path}: there are no data rows after the header: add rows of numbers")
    data = []
    for line, cells in rows[1:]:
        if len(cells) != len(header):
            raise DataError(
                f"{path}: row {line} has {len(cells)} cells but the header has {len(header)} "
                f"columns: give every row {len(header)} comma-separated cells"
            )
        data.append(
            [_parse_cell(path, line, c, cell) for c, cell in zip(header, cells, strict=True)]
        )
    return header, np.array(data, dtype=np.float64)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _load_csv(path: Path, target: str | None) -> Dataset:
    header, data = _read_csv(path)
    if target is None:
        targets = [header[-1]]
    else:
        targets = [name.strip() for name in target.split(",")]
        columns = ", ".join(repr(name) for name in header)
        for name in targets:
            if name not in header:
                raise DataError(
                    f"{path}: there is no column {name!r} for the target: choose from {columns}"
                )
        if len(set(targets)) != len(targets):
            raise DataError(f"{path}: the target {target!r} names a column twice: name it once")
    features = [name for name in header if name not in targets]
    if not features:
        raise DataError(
            f"{path}: every column is a target, none is left as input: leave at least one out"
        )
    X = data[:, [header.index(name) for name in features]]
    Y, classes, names = _encode_targets(
        data[:, [header.index(name) for name in targets]], tuple(targets)
    )
    return Dataset(X, Y, path.stem, classes, tuple(features), names)


def _load_npz(path: Path) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            found = {key: arrays[key] for key in arrays.files}
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(
            f"{path}: not a readable .npz file ({reason}): save it with numpy.savez(path, X=X, Y=Y)"
        ) from None
    y_key = "Y" if "Y" in found else "y"
    if "X" not in found or y_key not in found:
        raise DataError(
            f"{path}: needs arrays 'X' and 'Y' (or 'y') but holds {sorted(found) or 'none'}: "
            "save it with numpy.savez(path, X=X, Y=Y)"
        )
    arrays = {}
    for key in ("X", y_key):
        array = found[key]
        if array.ndim == 1:
            array = array.reshape(-1, 1)
        if array.ndim != 2 or not np.issubdtype(array.dtype, np.number):
            raise DataError(
                f"{path}: array {key!r} is {array.dtype} of shape {array.shape}: "
                "give a 1-D or 2-D array of numbers"
            )
        if np.iscomplexobj(array) or not np.all(np.isfinite(array)):
            raise DataError(
                f"{path}: array {key!r} holds NaN, infinite or complex values: "
                "replace them with real numbers"
            )
        arrays[key] = array.astype(np.float64)
    X, Y = arrays["X"], arrays[y_key]
    if len(X) != len(Y) or len(X) == 0:
        raise DataError(
            f"{path}: 'X' has {len(X)} rows and {y_key!r} has {len(Y)}: give both the same "
            "number of rows, at least one"
        )
    target_names = ("y",) if Y.shape[1] == 1 else tuple(f"y{j}" for j in range(1, Y.shape[1] + 1))
    Y, classes, target_names = _encode_targets(Y, target_names)
    features = tuple(f"x{i}" for i in range(1, X.shape[1] + 1))
    return Dataset(X, Y, path.stem, classes, features, target_names)


def load_file(path, target: str | None = None) -> Dataset:
    """Load a ``.csv`` or ``.npz`` file as a ``Dataset`` named by the file's stem.

    CSV: a header row naming the columns, then rows of numbers separated by commas; blank lines
    are skipped. ``target`` is the label column, or several separated by commas (default: the
    last column); the other columns are the inputs. NPZ: arrays ``X`` and ``Y`` (or ``y``), as
    written by ``numpy.savez(path, X=X, Y=Y)``; ``target`` must be None. Targets are encoded as
    described for ``Dataset``: one column of 2 to 20 distinct integers is a class label, several
    one-hot columns are classes, anything else is regression.
    Example: ``load_file("iris.csv", target="species")``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise DataError(
            f"{path}: unknown file type {path.suffix or '(no suffix)'!r}: "
            "give a .csv file with a header row or a .npz file with arrays X and Y"
        )
    if not path.exists():
        raise DataError(f"{path}: the file does not exist: check the path")
    if not path.is_file():
        raise DataError(f"{path}: is not a file: give the path of a .csv or .npz file")
    if suffix == ".csv":
        return _load_csv(path, target)
    if target is not None:
        raise DataError(
            f"{path}: a target column ({target!r}) applies only to .csv files, an .npz file "
            "holds its targets in array 'Y': drop the target"
        )
    return _load_npz(path)


def load(
    name_or_path: str,
    target: str | None = None,
    n: int | None = None,
    rng=None,
    noise: float | None = None,
) -> Dataset:
    """Load a generated set, ``"digits"`` or a ``.csv``/``.npz`` file.

    ``n`` (default ``DEFAULT_SIZES[name]``) and ``noise`` (default ``DEFAULT_NOISE[name]``)
    apply only to the generated sets, ``target`` only to CSV files; giving them for another
    source raises ``DataError``. ``rng`` is a ``numpy.random.Generator`` or an integer seed
    (None: seed ``DEFAULT_SEED``). Example: ``load("moons", n=200, rng=1)``.
    """
    name = str(name_or_path).strip()
    if target is not None and name in (*GENERATED, "digits"):
        raise DataError(f"{name}: a target column applies only to .csv files: drop the target")
    if name in GENERATED:
        options = {"noise": noise} if noise is not None else {}
        return GENERATED[name](DEFAULT_SIZES[name] if n is None else n, _rng(rng), **options)
    if n is not None or noise is not None:
        option = "n" if n is not None else "noise"
        raise DataError(
            f"{name}: {option} applies only to the generated sets ({', '.join(GENERATED)}): "
            f"drop {option}"
        )
    if name == "digits":
        return digits()
    path = Path(name)
    if path.suffix.lower() in FILE_SUFFIXES or path.exists():
        return load_file(path, target)
    raise DataError(
        f"unknown data set {name!r}: use one of {', '.join([*GENERATED, 'digits'])} "
        "or a file path ending in .csv or .npz"
    )
