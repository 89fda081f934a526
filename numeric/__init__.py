"""The numbers: generated NumPy code for the derived gradients, training, gradient checks."""

from .codegen import generate_source
from .program import Program

__all__ = ["Program", "generate_source"]
