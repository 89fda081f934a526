"""The user's own gradient function: loaded from ``path/to/file.py:function`` and called safely.

Whatever the function does (raises, returns the wrong keys, shapes or NaN) becomes a
``Problem`` that names it; nothing the user's code does can crash the check.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from bpverify.derive import InputError

from .report import Problem


class GradFnError(InputError):
    """A ``--grad-fn`` that cannot be found: bad input, not a finding about the user's code."""


def load(ref: str) -> Callable:
    """The function ``name`` of ``path/to/file.py:name``."""
    path_text, sep, name = ref.rpartition(":")
    if not sep or not path_text or not name:
        raise GradFnError(f"--grad-fn {ref!r}: write it as path/to/file.py:function")
    path = Path(path_text)
    if not path.is_file():
        raise GradFnError(f"--grad-fn: no file {path_text!r}; give the path of a .py file")
    module_name = f"_bpverify_user_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise GradFnError(f"--grad-fn: cannot import {path_text!r} as Python; is it a .py file?")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[module_name]
        raise GradFnError(f"--grad-fn: importing {path_text} raised {_describe(e, path)}") from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise GradFnError(f"--grad-fn: {path_text} defines no function {name!r}")
    return fn


def _describe(e: BaseException, path: Path | None = None) -> str:
    """``ValueError: message (file.py:12)``: the exception and the innermost line of user code."""
    where = ""
    frames = traceback.extract_tb(e.__traceback__)
    if isinstance(e, SyntaxError) and e.filename:
        where = f" ({Path(e.filename).name}:{e.lineno})"
    elif frames:
        ours = Path(__file__).resolve().parent
        user = [f for f in frames if Path(f.filename).resolve().parent != ours]
        f = (user or frames)[-1]
        where = f" ({Path(f.filename).name}:{f.lineno})"
    text = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {text}{where}" if text else f"{type(e).__name__}{where}"


def call(
    fn: Callable, params: dict, X: np.ndarray, Y: np.ndarray, expected: dict[str, tuple], point: int
) -> tuple[dict[str, np.ndarray], list[Problem]]:
    """Call ``fn(params, X, Y)`` on copies, and check what it returns against ``expected``
    (name -> shape; W and b keys are required, dC/da keys "dC_da0", ... are checked when
    present)."""
    args = ({k: v.copy() for k, v in params.items()}, X.copy(), Y.copy())
    try:
        with np.errstate(all="ignore"):
            out = fn(*args)
    except Exception as e:
        return {}, [Problem(None, f"the function raised {_describe(e)}", point)]
    if not isinstance(out, Mapping):
        kind = type(out).__name__
        return {}, [
            Problem(None, f"the function returned a {kind}, not a dict of gradients", point)
        ]
    grads, problems = {}, []
    for name, shape in expected.items():
        if name not in out:
            if not name.startswith("dC_da"):
                problems.append(Problem(name, f"missing key {name!r} in the returned dict", point))
            continue
        try:
            value = np.asarray(out[name], dtype=np.float64)
        except (TypeError, ValueError) as e:
            problems.append(Problem(name, f"not an array of numbers: {_describe(e)}", point))
            continue
        if value.shape != shape:
            like = "" if name.startswith("dC_da") else " (as params)"
            message = f"wrong shape {value.shape}, expected {shape}{like}"
            problems.append(Problem(name, message, point))
            continue
        bad = ~np.isfinite(value)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            kind = "NaN" if np.isnan(value[where]) else "an infinity"
            count = int(bad.sum())
            problems.append(Problem(name, f"{kind} at {list(where)} ({count} non-finite)", point))
            continue
        grads[name] = value
    return grads, problems
