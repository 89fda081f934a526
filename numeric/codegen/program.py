"""A network's generated code, loaded in memory: ``forward``, ``loss`` and ``gradients``."""

from __future__ import annotations

import linecache

import numpy as np

from bpverify.derive import NetworkSpec

from .source import generate_source


class Program:
    """The generated NumPy code of ``spec``, executed from the very source ``generate`` writes,
    so that both give the same results bit for bit.

    Arguments follow the public convention: params {"W1": (n1, n0), "b1": (n1,), ...}; X (n, n0)
    and Y (n, nL), one sample per row. Inputs are read as ``dtype`` (float64 by default; float32
    works too and stays float32).

    Example:
        >>> p = Program(NetworkSpec(2, (2, 3, 1)))
        >>> sorted(p.gradients(params, X, Y))  # doctest: +SKIP
        ['W1', 'W2', 'b1', 'b2']
    """

    def __init__(self, spec: NetworkSpec, dtype=np.float64):
        self.spec = spec
        self.dtype = np.dtype(dtype)
        self.source = generate_source(spec)
        filename = f"<bpverify generated: {spec.describe()}>"
        # Registered with linecache so that inspect.getsource and tracebacks show the code.
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True), filename)
        self._namespace: dict = {}
        exec(compile(self.source, filename, "exec"), self._namespace)

    def _params(self, params: dict) -> dict:
        return {k: np.asarray(v, dtype=self.dtype) for k, v in params.items()}

    def _array(self, a) -> np.ndarray:
        return np.asarray(a, dtype=self.dtype)

    def forward(self, params: dict, X) -> np.ndarray:
        """The output a^(L) for each row of X: shape (n, nL)."""
        return self._namespace["forward"](self._params(params), self._array(X))

    def loss(self, params: dict, X, Y) -> float:
        """C, the mean over samples of the per-sample loss."""
        return self._namespace["loss"](self._params(params), self._array(X), self._array(Y))

    def gradients(self, params: dict, X, Y, activations: bool = False) -> dict:
        """dC/dW1, dC/db1, ... shaped like params; with ``activations`` also dC/da0 ...
        dC/da(L-1) under "dC_da0", ... (n, n_l), one row per sample."""
        return self._namespace["gradients"](
            self._params(params), self._array(X), self._array(Y), activations
        )

    def function(self, name: str):
        """One of the generated functions (``forward``, ``_gradients``, ...), for inspection."""
        return self._namespace[name]
