"""What the user's code did, told in the report's words: an exception with the line of the
user's code it came from, and a returned value read as an array of real numbers.

Both the worker process (``worker``) and the stages of a function check (``function_sources``)
describe the user's code this way; this module imports NumPy only.
"""

from __future__ import annotations

import sysconfig
import traceback
import warnings
from numbers import Real
from pathlib import Path

import numpy as np

MESSAGE_CHARS = 500
"""An exception's message is cut to this length: a 100 MB message must not become the report."""

_OURS = Path(__file__).resolve().parent
_LIBRARIES = {
    Path(p).resolve()
    for k in ("stdlib", "platstdlib", "purelib", "platlib")
    if (p := sysconfig.get_paths().get(k))
}

memory_note = ""
"""Set in the worker: what a MemoryError there means (its memory limit)."""


def real_array(value) -> tuple[np.ndarray | None, str]:
    """``value`` as a float64 array, or None and what is wrong with it. Complex values are
    refused, not cut to their real parts; so are strings, even "1.5"."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("error")  # a conversion that warns is not a clean one
            raw = np.asarray(value)
            if raw.dtype.kind == "c":
                return None, "complex values: the gradient of a real loss is real"
            if raw.dtype.kind not in "biufO":
                return None, f"not an array of numbers (dtype {raw.dtype})"
            odd = [x for x in raw.flat if not isinstance(x, Real)] if raw.dtype.kind == "O" else []
            if odd:  # NumPy would make None a NaN and "1.5" a number
                return None, f"not an array of numbers (it holds a {type(odd[0]).__name__})"
            return raw.astype(np.float64), ""
    except Exception as e:
        return None, f"not an array of numbers: {_exception(e)}"


def describe(e: BaseException) -> str:
    """What an exception says the user's code did, with the innermost line of user code:
    ``raised ValueError: message (file.py:12)``, ``called sys.exit(0) (file.py:3)``."""
    if isinstance(e, SystemExit):
        code = "" if e.code is None else short(repr(e.code))
        return f"called sys.exit({code}){_at(e)}"
    return f"raised {_exception(e)}"


def _exception(e: BaseException) -> str:
    """``ValueError: message (file.py:12)``."""
    try:
        text = short(str(e))
    except Exception:  # a __str__ that raises
        text = "(its message cannot be printed)"
    note = memory_note if isinstance(e, MemoryError) else ""
    kind = type(e).__name__
    return f"{kind}: {text}{_at(e)}{note}" if text else f"{kind}{_at(e)}{note}"


def _at(e: BaseException) -> str:
    if isinstance(e, SyntaxError) and e.filename:
        return f" ({Path(e.filename).name}:{e.lineno})"
    where = user_frame((f.filename, f.lineno) for f in traceback.extract_tb(e.__traceback__))
    return f" ({where})" if where else ""


def user_frame(frames) -> str:
    """``file.py:12``: the innermost of ``frames`` (file name, line) in the user's own code, not
    in bpverify's check, Python's import machinery or an installed library (NumPy raising
    MemoryError is not where the bomb is); "" when there is none."""
    frames = [(f, n) for f, n in frames if not _ours(f)]
    own = [(f, n) for f, n in frames if not _installed(f)] or frames
    return f"{Path(own[-1][0]).name}:{own[-1][1]}" if own else ""


def _ours(filename: str) -> bool:
    return filename.startswith("<frozen") or Path(filename).resolve().parent == _OURS


def _installed(filename: str) -> bool:
    """A file of the standard library or of site-packages."""
    path = Path(filename).resolve()
    return any(path.is_relative_to(root) for root in _LIBRARIES)


def short(text: str) -> str:
    line = text.strip().split("\n", 1)[0]
    if len(line) > MESSAGE_CHARS:
        line = line[:MESSAGE_CHARS] + "..."
    return line.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates in the report


def checked_array(value, shape: tuple[int, ...] | None = None) -> tuple[np.ndarray | None, str]:
    """``value`` as a finite float64 array of ``shape`` (any shape when None), or None and what
    is wrong with it: not real numbers, the wrong shape, or NaN or an infinity (the first one's
    index and how many)."""
    array, wrong = real_array(value)
    if array is None:
        return None, wrong
    if shape is not None and array.shape != shape:
        return None, f"wrong shape {array.shape}, expected {shape}"
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(array[where]) else "an infinity"
        at = f" at {list(where)}" if where else ""
        return None, f"{kind}{at} ({int(bad.sum())} non-finite)"
    return array, ""
