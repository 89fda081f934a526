"""Data for training networks by name: a generated set, ``"digits"`` or a CSV or NPZ file.

``load`` is what the command line calls. The pieces live in their own modules (``dataset``: the
data type; ``metrics``: accuracy; ``generated``: toy sets and digits; ``files``: CSV and NPZ) and
are re-exported here, so that ``datasets.load`` and ``datasets.accuracy`` read as one place.
"""

from __future__ import annotations

from pathlib import Path

from .dataset import DataError, Dataset
from .files import FILE_SUFFIXES, load_file
from .generated import (
    DEFAULT_NOISE,
    DEFAULT_SEED,
    DEFAULT_SIZES,
    GENERATED,
    as_generator,
    circles,
    digits,
    moons,
    spirals,
    xor,
)
from .metrics import accuracy

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
        size = DEFAULT_SIZES[name] if n is None else n
        return GENERATED[name](size, as_generator(rng), **options)
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
