"""Networks to check, listed in ``[tool.bpverify]`` of pyproject.toml or in bpverify.toml.

    [tool.bpverify]             # settings here apply to every network below
    points = 3

    [[tool.bpverify.check]]     # one table per network (in bpverify.toml: [[check]])
    name = "two-layer tanh"
    widths = [2, 8, 1]
    activation = "tanh"
    loss = "squared"
    grad-fn = "mynet/grads.py:gradients"   # relative to the file; optional

    [[tool.bpverify.check]]     # a NumPy function instead of a network (check --function)
    name = "layer norm"
    function = "layers/norm.py:forward"
    grad-fn = "layers/norm.py:backward"
    inputs = ["x=8x16", "gamma=16", "beta=16"]   # as --input; inputs-file = "x.npz" as --inputs
    wrt = ["x", "gamma"]                          # optional

Keys are the ``bpverify check`` options without their dashes' leading ``--``. ``load`` reads
the tables as they are written; ``load_checks`` turns them into networks and ``CheckOptions``.
An option given on the command line wins over the file, whose values win over the defaults.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from dataclasses import dataclass, fields, replace
from pathlib import Path

from bpverify.derive import LOSSES, InputError, NetworkSpec, parse_spec

from .options import CheckOptions

FILES = ("bpverify.toml", "pyproject.toml")
"""Where ``bpverify check`` looks, in this order, when no network is given."""

KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "widths": (list, str),
    "activation": (str, list),
    "loss": str,
    "leaky-slope": (int, float, str),
    "cost": str,
    "l2": (int, float, str),
    "grad-fn": str,
    "function": str,
    "inputs": list,
    "inputs-file": str,
    "wrt": (str, list),
    "every-entry": bool,
    "dtype": str,
    "method": str,
    "points": int,
    "batch": int,
    "seed": int,
    "sample": int,
    "projection": bool,
    "avoid-kinks": bool,
    "unrolled": bool,
    "rtol": (int, float),
    "atol": (int, float),
    "timeout": (int, float),
    "memory-limit": (int, float),
    "targets": str,
}
"""The keys a network's table may hold, with their TOML types: the network (widths,
activation, loss, leaky-slope, cost, l2), its label and code (name, grad-fn), a function check's
(function, inputs, inputs-file, wrt, every-entry) and every field of ``CheckOptions`` with
dashes for underscores."""

NETWORK_KEYS = ("widths", "activation", "loss", "leaky-slope", "cost", "l2")
"""The keys that describe a network, which a function check's table does not take."""

PATHS = ("grad-fn", "function", "inputs-file")
"""Keys holding a file name (with ``:function`` for code), relative to the configuration file."""


class ConfigError(InputError):
    """A configuration file that cannot be read as a list of networks."""


@dataclass(frozen=True)
class ConfiguredCheck:
    """One network of a configuration file, with what ``check_gradients`` needs to check it."""

    name: str
    spec: NetworkSpec | None  # None for a function check
    grad_fn: str | None
    options: CheckOptions
    function: str | None = None
    inputs: tuple[str, ...] = ()
    inputs_file: str | None = None
    wrt: str | None = None
    every_entry: bool = False


def find(directory: Path = Path(".")) -> Path | None:
    """The first of ``FILES`` in ``directory`` that lists networks to check."""
    for name in FILES:
        path = directory / name
        if path.is_file() and (name != "pyproject.toml" or _section(path) is not None):
            return path
    return None


def _section(path: Path) -> dict | None:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e}); fix the file") from None
    except RecursionError:  # tomllib reads nested arrays and tables recursively
        raise ConfigError(
            f"{path}: arrays or tables nested too deeply to read; write the file flat"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot be read ({e})") from None
    if path.name != "pyproject.toml":
        return doc
    tool = doc.get("tool", {})
    section = tool.get("bpverify") if isinstance(tool, dict) else None
    if section is not None and not isinstance(section, dict):
        raise ConfigError(f"{path}: [tool.bpverify] must be a table of settings and checks")
    return section


def load(path: str | Path) -> list[dict]:
    """The networks of a configuration file, each a dict of option keys (dashes as in the file),
    the file's top-level settings filled in and ``grad-fn`` paths made relative to the file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"no configuration file {str(path)!r}: give an existing file")
    if not path.is_file():
        raise ConfigError(
            f"configuration {str(path)!r} is not a regular file: give a TOML file such as "
            "bpverify.toml"
        )
    section = _section(path)
    where = "[tool.bpverify]" if path.name == "pyproject.toml" else "the file"
    if section is None:
        raise ConfigError(f"{path}: no [tool.bpverify] table; add one with [[tool.bpverify.check]]")
    prefix = "tool.bpverify." if path.name == "pyproject.toml" else ""
    networks = section.get("check")
    if not isinstance(networks, list) or not networks:
        raise ConfigError(
            f"{path}: {where} lists no networks; add a [[{prefix}check]] table with widths"
        )
    defaults = {k: v for k, v in section.items() if k != "check"}
    _validate(path, defaults, f"[{prefix.rstrip('.')}]" if prefix else "top level")
    out = []
    for i, table in enumerate(networks, start=1):
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [[{prefix}check]] entry {i} is not a table")
        _validate(path, table, f"[[{prefix}check]] entry {i}")
        merged = {**defaults, **table}
        if "function" in merged:
            network = [k for k in NETWORK_KEYS if k in table]
            if network:
                raise ConfigError(
                    f"{path}: [[{prefix}check]] entry {i} checks a function: it takes no "
                    f"{', '.join(network)}"
                )
        elif "widths" not in merged:
            raise ConfigError(
                f"{path}: [[{prefix}check]] entry {i} has no widths; add widths = [...] "
                '(or function = "file.py:forward" with inputs)'
            )
        merged.setdefault("name", f"{'function' if 'function' in merged else 'network'} {i}")
        for key in PATHS:
            if key in merged:
                file, sep, fn = (
                    merged[key].rpartition(":") if key != "inputs-file" else (merged[key], "", "")
                )
                if file and not Path(file).is_absolute():
                    merged[key] = f"{path.parent / file}{sep}{fn}"
        out.append(merged)
    return out


def _validate(path: Path, table: dict, where: str) -> None:
    for key, value in table.items():
        if key not in KEYS:
            known = ", ".join(KEYS)
            raise ConfigError(f"{path}: {where}: unknown key {key!r}; known keys: {known}")
        if isinstance(value, bool) and KEYS[key] is not bool and bool not in _tuple(KEYS[key]):
            raise ConfigError(f"{path}: {where}: {key} = {value!r} is not a {_name(KEYS[key])}")
        if not isinstance(value, KEYS[key]):
            raise ConfigError(f"{path}: {where}: {key} = {value!r} is not a {_name(KEYS[key])}")


def _tuple(t) -> tuple:
    return t if isinstance(t, tuple) else (t,)


def _name(t) -> str:
    names = {list: "list", str: "string", int: "whole number", float: "number", bool: "boolean"}
    return " or ".join(names[x] for x in _tuple(t))


def load_checks(
    path: str | Path,
    base: CheckOptions | None = None,
    grad_fn: str | None = None,
    given: Collection[str] = (),
) -> list[ConfiguredCheck]:
    """The networks of a configuration file, each with its options and code.

    Precedence is that of pytest and pip: a setting ``given`` explicitly (the names of fields of
    ``base``, and ``"grad_fn"``; the command line's flags) wins over the file, whose values win
    over the rest of ``base`` (default: ``CheckOptions()``) and ``grad_fn`` (default: the
    generated code). A value that cannot be used raises ConfigError naming the file and the
    network.
    """
    base = base or CheckOptions()
    option_keys = {f.name.replace("_", "-") for f in fields(CheckOptions)}
    out = []
    for entry in load(path):
        settings = {
            k.replace("-", "_"): v
            for k, v in entry.items()
            if k in option_keys and k.replace("-", "_") not in given
        }
        if "function" in entry:
            out.append(_function_check(path, entry, base, settings, grad_fn, given))
            continue
        try:
            spec = parse_spec(
                widths=entry["widths"],
                activation=entry.get("activation"),
                loss=entry.get("loss"),
                leaky_slope=entry.get("leaky-slope"),
                cost=entry.get("cost"),
                l2=entry.get("l2"),
            )
            options = replace(base, **settings)
            options.check_targets(spec.loss, LOSSES[spec.loss].targets)
        except InputError as e:
            raise ConfigError(f"{path}: {entry['name']}: {e}") from None
        code = grad_fn if "grad_fn" in given else entry.get("grad-fn", grad_fn)
        out.append(ConfiguredCheck(entry["name"], spec, code, options))
    return out


def _function_check(path, entry, base, settings, grad_fn, given) -> ConfiguredCheck:
    """A table with ``function``: a function check (``check --function``)."""
    inputs = entry.get("inputs", [])
    if not all(isinstance(x, str) for x in inputs):
        raise ConfigError(f'{path}: {entry["name"]}: inputs must be strings such as "x=8x16"')
    if not inputs and "inputs-file" not in entry:
        raise ConfigError(
            f'{path}: {entry["name"]}: no inputs; add inputs = ["x=8x16", ...] or inputs-file'
        )
    wrt = entry.get("wrt")
    if isinstance(wrt, list):
        if not all(isinstance(x, str) for x in wrt):
            raise ConfigError(f"{path}: {entry['name']}: wrt must list input names")
        wrt = ",".join(wrt)
    try:
        options = replace(base, **settings)
    except InputError as e:
        raise ConfigError(f"{path}: {entry['name']}: {e}") from None
    code = grad_fn if "grad_fn" in given else entry.get("grad-fn", grad_fn)
    if code is None:
        raise ConfigError(f"{path}: {entry['name']}: a function check needs grad-fn")
    return ConfiguredCheck(
        entry["name"],
        None,
        code,
        options,
        function=entry["function"],
        inputs=tuple(inputs),
        inputs_file=entry.get("inputs-file"),
        wrt=wrt,
        every_entry=bool(entry.get("every-entry", False)),
    )
