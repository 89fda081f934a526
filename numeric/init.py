"""Initial weights by activation: Xavier/Glorot or He normal, as the activation's row says.

Layer l maps n_{l-1} inputs to n_l outputs, so ``W^(l)`` has shape ``(n_l, n_{l-1})``,
fan_in = n_{l-1} and fan_out = n_l. Each layer is initialised by the rule its activation's row
names (``init``, see ``bpverify.derive.activations``); ``INIT_RULES`` gives each rule its
standard deviation:

==========  ==========================================
rule        standard deviation of ``W^(l)``
==========  ==========================================
xavier      Xavier/Glorot: sqrt(2 / (fan_in + fan_out))
he          He: sqrt(2 / fan_in)
==========  ==========================================

Example:
    >>> import numpy as np
    >>> p = init_params((2, 4, 1), ("sigmoid", "sigmoid"), np.random.default_rng(0))
    >>> sorted(p), p["W1"].shape, p["b2"].tolist()
    (['W1', 'W2', 'b1', 'b2'], (4, 2), [0.0])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import DTypeLike

from bpverify.derive.activations import activation_row


def xavier_std(fan_in: int, fan_out: int) -> float:
    """Xavier/Glorot normal: keeps the variance of activations and gradients about equal."""
    return math.sqrt(2.0 / (fan_in + fan_out))


def he_std(fan_in: int, fan_out: int) -> float:
    """He normal: doubles the variance to make up for the half of ReLU's inputs it zeroes."""
    return math.sqrt(2.0 / fan_in)


INIT_RULES: dict[str, Callable[[int, int], float]] = {
    "xavier": xavier_std,
    "he": he_std,
}
"""The standard deviation of ``W^(l)`` by the rule of layer l's activation
(``bpverify.derive.activations.INITIALISATIONS`` lists the rules)."""


def init_params(
    widths: Sequence[int],
    activations: Sequence[str] | str,
    rng: np.random.Generator,
    dtype: DTypeLike = np.float64,
) -> dict[str, np.ndarray]:
    """Draw ``{"W1": (n_1, n_0), "b1": (n_1,), ..., "WL", "bL"}`` for widths n_0 ... n_L.

    ``activations`` holds one name per layer (or one name for all layers); weights are normal
    with the standard deviation of ``INIT_RULES`` for the rule of that layer's activation,
    biases are zero.
    The draws are made in float64 and then cast to ``dtype``, so a float32 network starts from
    the float64 network's values rounded to float32. The same ``rng`` state gives the same
    parameters.
    """
    widths = tuple(widths)
    L = len(widths) - 1
    if L < 1:
        raise ValueError(f"{len(widths)} widths give no layer: give n_0,...,n_L with L >= 1")
    for l, n in enumerate(widths):
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"width n_{l} must be a whole number >= 1, got {n!r}")
    names = (activations,) * L if isinstance(activations, str) else tuple(activations)
    if len(names) != L:
        raise ValueError(f"{len(names)} activations given for {L} layers: give one per layer")
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(f"dtype must be a floating type such as float64 or float32, got {dtype}")
    params: dict[str, np.ndarray] = {}
    for l, name in enumerate(names, start=1):
        try:
            rule = activation_row(name).init
        except KeyError as e:
            raise ValueError(e.args[0]) from None
        fan_in, fan_out = int(widths[l - 1]), int(widths[l])
        std = INIT_RULES[rule](fan_in, fan_out)
        params[f"W{l}"] = (rng.standard_normal((fan_out, fan_in)) * std).astype(dtype)
        params[f"b{l}"] = np.zeros(fan_out, dtype=dtype)
    return params
