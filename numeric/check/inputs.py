"""The inputs of a function check: given arrays, or shapes to draw at random, and which to check.

An input is written ``NAME=SHAPE[:KIND]`` on the command line (``--input x=8x16``,
``--input labels=8:int5``) and given as an array or a shape in Python. A shape is its sizes
joined by ``x`` ("8x16", "16"; "1" for a vector of one, "()" for a number). ``KINDS`` says how
each kind is drawn: "normal" (the default, standard normal), "uniform" (in (0, 1)),
"positive" (in (0.5, 2), for a variance or a scale) or "intK" (whole numbers 0 to K - 1,
labels: never checked, as no derivative exists). Arrays may also come from an ``.npz`` file.

``wrt`` (the inputs whose gradient is checked) defaults to every floating-point input.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bpverify.derive import InputError

from .. import memory

KINDS: dict[str, Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]] = {
    "normal": lambda rng, shape: rng.standard_normal(shape),
    "uniform": lambda rng, shape: rng.uniform(0.0, 1.0, shape),
    "positive": lambda rng, shape: rng.uniform(0.5, 2.0, shape),
}
"""How a drawn input of each kind is made (and "intK": ``rng.integers(K, size=shape)``)."""

MAX_ENTRIES = 10_000_000
"""Entries an input may have: the check holds several copies of each."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INT = re.compile(r"int([1-9][0-9]{0,8})\Z")


class InputsError(InputError):
    """Inputs that cannot be used; the message names the fix."""


@dataclass(frozen=True)
class Drawn:
    """An input drawn at random at every point: its shape and kind."""

    shape: tuple[int, ...]
    kind: str = "normal"

    @property
    def size(self) -> int:
        """Its entries, as an array's ``size``."""
        return math.prod(self.shape)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        m = _INT.match(self.kind)
        if m:
            return rng.integers(int(m.group(1)), size=self.shape)
        return KINDS[self.kind](rng, self.shape)


def parse_input(text: str) -> tuple[str, Drawn]:
    """``NAME=SHAPE[:KIND]`` (see the module docstring)."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    usage = "write it as NAME=SHAPE[:KIND], e.g. --input x=8x16 or --input labels=8:int5"
    if not sep or not _NAME.match(name):
        raise InputsError(f"--input {text[:100]!r}: {usage}")
    shape_text, _, kind = rest.partition(":")
    kind = kind.strip() or "normal"
    if kind not in KINDS and not _INT.match(kind):
        choices = ", ".join([*KINDS, "intK"])
        raise InputsError(f"--input {name}: unknown kind {kind[:40]!r}; choose {choices}")
    return name, Drawn(parse_shape(shape_text, name), kind)


def parse_shape(text: str, name: str = "") -> tuple[int, ...]:
    text = text.strip()
    if text in ("()", ""):
        if text == "":
            raise InputsError(
                f"--input {name}: no shape; give e.g. {name}=8x16, or () for a number"
            )
        return ()
    parts = text.lower().split("x")
    if not all(p.isascii() and p.isdigit() and len(p) < 10 and int(p) >= 1 for p in parts):
        raise InputsError(
            f"--input {name}: shape {text[:40]!r} is not sizes >= 1 joined by x; e.g. 8x16"
        )
    return tuple(int(p) for p in parts)


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file, checked: real numbers, finite, no pickled objects."""
    path = Path(path)
    if not path.is_file():
        raise InputsError(f"--inputs: no file {str(path)!r}; give an .npz file (numpy.savez)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise InputsError(
            f"--inputs {path}: not a readable .npz file ({str(e)[:100]}); write it with numpy.savez"
        ) from None
    if not arrays:
        raise InputsError(f"--inputs {path}: holds no arrays; write them with numpy.savez")
    for name, a in arrays.items():
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            where = [int(i) for i in np.argwhere(~np.isfinite(a))[0]]
            raise InputsError(
                f"--inputs {path}: array {name!r} holds NaN or infinity at {where}; give finite "
                "numbers"
            )
    return arrays


def resolve(
    inputs: Mapping[str, object], wrt: Sequence[str] | str | None
) -> tuple[dict[str, np.ndarray | Drawn], tuple[str, ...]]:
    """Each input as an array or a ``Drawn``, checked, and the names to check (``wrt``)."""
    if not isinstance(inputs, Mapping) or not inputs:
        raise InputsError("give the function's inputs: a dict of arrays or shapes by name")
    resolved: dict[str, np.ndarray | Drawn] = {}
    for name, value in inputs.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise InputsError(f"input name {name!r} is not a Python identifier")
        resolved[name] = _one(name, value)
    floats = [n for n, v in resolved.items() if _floating(v)]
    if wrt is None:
        chosen = tuple(floats)
    else:
        names = wrt.split(",") if isinstance(wrt, str) else list(wrt)
        chosen = tuple(n.strip() for n in names if n.strip())
    for n in chosen:
        if n not in resolved:
            raise InputsError(f"--wrt {n!r}: no such input; the inputs are {', '.join(resolved)}")
        if n not in floats:
            raise InputsError(
                f"--wrt {n}: a whole-number input has no derivative; leave it out of --wrt"
            )
    if not chosen:
        raise InputsError("no input to check: give a floating-point input, e.g. --input x=8x16")
    nbytes = sum(v.size for v in resolved.values()) * 8 * 16
    memory.require(nbytes, "the function check's inputs", "give smaller inputs")
    return resolved, chosen


def _one(name: str, value) -> np.ndarray | Drawn:
    if isinstance(value, Drawn):
        return value
    if isinstance(value, str):
        return parse_input(f"{name}={value}")[1]
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, tuple) and all(isinstance(d, int) and d >= 1 for d in value):
        if math.prod(value) > MAX_ENTRIES:
            raise InputsError(
                f"input {name}: {math.prod(value):,} entries; at most {MAX_ENTRIES:,}"
            )
        return Drawn(value)
    try:
        array = np.asarray(value)
    except Exception as e:
        raise InputsError(f"input {name}: not an array ({type(e).__name__})") from None
    if array.dtype.kind not in "biuf":
        raise InputsError(f"input {name}: an array of {array.dtype}; give real numbers")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        where = [int(i) for i in np.argwhere(~np.isfinite(array))[0]]
        raise InputsError(f"input {name}: NaN or infinity at {where}; give finite numbers")
    if array.size > MAX_ENTRIES:
        raise InputsError(f"input {name}: {array.size:,} entries; at most {MAX_ENTRIES:,}")
    return array.astype(np.float64) if array.dtype.kind == "f" else array


def _floating(value) -> bool:
    if isinstance(value, Drawn):
        return not _INT.match(value.kind)
    return value.dtype.kind == "f"


def draw(resolved: Mapping[str, np.ndarray | Drawn], rng: np.random.Generator, dtype: str):
    """The inputs of one point: given arrays as they are, drawn ones drawn; floating-point ones
    rounded to ``dtype`` (and held in float64, so every source sees the same numbers)."""
    out = {}
    for name, value in resolved.items():
        a = value.draw(rng) if isinstance(value, Drawn) else value
        out[name] = a.astype(dtype).astype(np.float64) if a.dtype.kind == "f" else a
    return out
