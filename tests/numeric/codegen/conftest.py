"""The activation helpers as the generated module defines them, compiled on their own."""

import numpy as np
import pytest

from bpverify.derive import ACTIVATIONS
from bpverify.derive.activations import LEAKY_SLOPE
from bpverify.numeric.codegen.source import activation_helpers


@pytest.fixture
def helper():
    """``helper(activation, name)``: the helper ``name`` (``sigma``, ``sigma_prime``,
    ``sigma_and_prime``, ...) of the activation row, from the source a module would hold; a
    module defines only the helpers its functions call, so these are compiled one by one."""

    def compiled(activation: str, name: str):
        namespace = {"numpy": np}
        exec(activation_helpers(ACTIVATIONS[activation], LEAKY_SLOPE)[name], namespace)
        return namespace[name]

    return compiled
