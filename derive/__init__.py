"""Symbolic derivation of backpropagation: the seed's chain rule, done by SymPy for any network.

Example:
    >>> from bpverify.derive import NetworkSpec, derive_network, report, verify
    >>> d = derive_network(NetworkSpec(layers=3))
    >>> v = verify.verify(d)
    >>> print(report.latex_block(d, "matrix", verification=v))  # doctest: +SKIP
"""

from . import report, unrolled, verify
from .activations import ACTIVATIONS, Activation
from .derivation import FORMS, Derivation, Gradient, Key, step_keys
from .errors import InputError
from .losses import LOSSES, Loss
from .network import derive_network
from .printing import latex, pretty
from .spec import NetworkSpec, SpecError, parse_spec, parse_widths
from .verify import Verification

__all__ = [
    "ACTIVATIONS",
    "FORMS",
    "LOSSES",
    "Activation",
    "Derivation",
    "Gradient",
    "InputError",
    "Key",
    "Loss",
    "NetworkSpec",
    "SpecError",
    "Verification",
    "derive_network",
    "latex",
    "parse_spec",
    "parse_widths",
    "pretty",
    "report",
    "step_keys",
    "unrolled",
    "verify",
]
