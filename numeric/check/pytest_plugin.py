"""A pytest plugin (entry point ``pytest11``): the ``gradient_check`` and ``function_check``
fixtures.

    def test_my_network_gradients(gradient_check):
        gradient_check((4, 8, 3), my_gradients, activation="tanh")

    def test_my_layer_backward(function_check):
        function_check(layer_norm, layer_norm_backward, {"x": (8, 16), "gamma": 16})

``gradient_check(...)`` takes the arguments of ``check_gradients``, ``function_check(...)``
those of ``check_function``; each fails the test with the table when any comparison fails and
returns the report otherwise. The check modules (and SymPy) are imported only when a test asks
for a fixture.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def gradient_check():
    """``assert_gradients_close``: check a network's gradients three ways, or fail the test."""
    from bpverify.numeric.check.run import assert_gradients_close

    __tracebackhide__ = True

    def run(*args, **kwargs):
        __tracebackhide__ = True
        return assert_gradients_close(*args, **kwargs)

    return run


@pytest.fixture
def function_check():
    """``assert_function_close``: check a NumPy function's backward three ways, or fail."""
    from bpverify.numeric.check.function import assert_function_close

    __tracebackhide__ = True

    def run(*args, **kwargs):
        __tracebackhide__ = True
        return assert_function_close(*args, **kwargs)

    return run
