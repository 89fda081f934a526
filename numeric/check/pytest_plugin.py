"""A pytest plugin (entry point ``pytest11``): the ``gradient_check`` fixture.

    def test_my_layer_gradients(gradient_check):
        gradient_check((4, 8, 3), my_gradients, activation="tanh")

``gradient_check(...)`` takes the arguments of ``check_gradients`` and fails the test with the
per-tensor table when any comparison fails; it returns the report otherwise. The check modules
(and SymPy) are imported only when a test asks for the fixture.
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
