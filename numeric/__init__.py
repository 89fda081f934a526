"""The numbers: generated NumPy code for the derived gradients, gradient checks, training.

Three jobs, three subpackages: ``codegen`` (SymPy rules -> a NumPy module), ``check`` (symbolic,
generated and finite-difference gradients compared), ``train`` (data, optimisers, the loop).
``init`` draws the parameters all three use. Names are imported on first use, so that loading
the pytest plugin (``numeric.check.pytest_plugin``) does not import SymPy into every test session.
"""

from importlib import import_module

_EXPORTS = {
    "Program": "codegen.program",
    "generate_source": "codegen.source",
    "check_gradients": "check.run",
    "assert_gradients_close": "check.run",
    "check_function": "check.function",
    "assert_function_close": "check.function",
    "Report": "check.report",
    "train": "train.loop",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
