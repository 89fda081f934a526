"""Data files: CSV with a header row, or NPZ with arrays X and Y, read as a ``Dataset``.

Bad files raise ``DataError`` with a one-line message that names the problem and the fix.
"""

from __future__ import annotations

import csv
import math
import zipfile
from pathlib import Path

import numpy as np

from .dataset import DataError, Dataset

# A single integer-valued target column with at most this many distinct values is a class label.
MAX_CLASSES = 20
FILE_SUFFIXES = (".csv", ".npz")


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
    except OSError as error:
        raise DataError(_unreadable(path, error)) from None
    except csv.Error as error:
        raise DataError(f"{path}: not readable as CSV ({error}): fix the quoting") from None
    if not rows:
        raise DataError(f"{path}: the file is empty: add a header row and rows of numbers")
    header = [name.strip() for name in rows[0][1]]
    # before the names' own checks: a row of numbers such as 0,0,1 is no header at all
    if all(_is_number(name) for name in header if name):
        raise DataError(
            f"{path}: the first row is numbers, not column names: add a header row naming "
            "the columns"
        )
    for i, name in enumerate(header, start=1):
        if not name:
            raise DataError(f"{path}: column {i} has no name in the header: name every column")
        if header.index(name) != i - 1:
            raise DataError(f"{path}: the column name {name!r} repeats: make the names unique")
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


def _unreadable(path: Path, error: OSError) -> str:
    return f"{path}: cannot be read ({error.strerror or error}): check its permissions"


ZIP_STARTS = (b"PK\x03\x04", b"PK\x05\x06")
"""How a zip archive, and so an .npz file, begins (an empty archive: the second)."""


def _load_npz(path: Path) -> Dataset:
    try:
        # an open file rather than the path: np.load leaks its own file if the zip is damaged
        with path.open("rb") as handle:
            if handle.read(4) not in ZIP_STARTS:
                found = None
            else:
                handle.seek(0)
                with np.load(handle, allow_pickle=False) as arrays:
                    found = {key: arrays[key] for key in arrays.files}
    except (zipfile.BadZipFile, ValueError, EOFError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(
            f"{path}: not a readable .npz file ({reason}): save it with numpy.savez(path, X=X, Y=Y)"
        ) from None
    except OSError as error:
        raise DataError(_unreadable(path, error)) from None
    if found is None:
        raise DataError(
            f"{path}: not an .npz file (an .npz file is a zip archive of arrays): "
            "save it with numpy.savez(path, X=X, Y=Y)"
        )
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
