"""Symbolic derivation of backpropagation: the seed's chain rule, done by SymPy for any network.

Example:
    >>> from bpverify.derive import NetworkSpec, derive_network
    >>> d = derive_network(NetworkSpec(layers=3))
    >>> print(d.latex("matrix"))  # doctest: +SKIP
"""

from . import report
from .activations import ACTIVATIONS, Activation
from .losses import LOSSES, Loss
from .network import FORMS, QUANTITIES, Derivation, Gradient, derive_network
from .printing import latex, pretty
from .spec import NetworkSpec, SpecError, parse_widths
from .verify import Verification

__all__ = [
    "ACTIVATIONS",
    "FORMS",
    "LOSSES",
    "QUANTITIES",
    "Activation",
    "Derivation",
    "Gradient",
    "Loss",
    "NetworkSpec",
    "SpecError",
    "Verification",
    "derive_network",
    "latex",
    "parse_widths",
    "pretty",
    "report",
]
