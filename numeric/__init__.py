"""The numbers: generated NumPy code for the derived gradients, training, gradient checks.

Names are imported on first use, so that loading the pytest plugin (``numeric.pytest_plugin``)
does not import SymPy into every test session.
"""

from importlib import import_module

_EXPORTS = {
    "Program": "program",
    "generate_source": "codegen",
    "check_gradients": "check",
    "assert_gradients_close": "check",
    "Report": "report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
