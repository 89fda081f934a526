"""Gradient-descent optimisers as a table: SGD, momentum and Adam, with resumable state.

Every optimiser updates a parameter dict in place with ``step(params, grads)``, and
``state_dict()`` returns everything needed to continue exactly where it stopped — the
hyperparameters, the step count and one buffer per parameter — as a flat ``dict[str, ndarray]``
that ``numpy.savez`` can store. ``load_state_dict`` restores it into an optimiser of the same kind.

Buffers take the dtype of their parameter, so a float32 network is trained in float32.

Default learning rates (``DEFAULT_LR``) were chosen for the squared loss of this project
(``C = mean over samples of sum_j (a_j - y_j)^2``, no factor 1/2) on small sigmoid networks;
with them a Xavier-initialised 2-4-1 sigmoid network learns XOR (full batch) in about 150
(adam) to 1000 (sgd) epochs for most seeds:

* ``sgd`` 1.0: plain descent needs a large step, since sigmoid gradients are small;
* ``momentum`` 0.1: momentum 0.9 multiplies the effective step by about 1 / (1 - 0.9) = 10,
  so this matches sgd 1.0 once the velocity has built up;
* ``adam`` 0.01: Adam's steps have size about lr whatever the scale of the gradient.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from bpverify.derive import InputError

Arrays = dict[str, np.ndarray]


class OptimizerError(InputError):
    """An optimiser, hyperparameter or saved optimiser state that cannot be used."""


class Optimizer:
    """Base class: the learning rate, the step count and named per-parameter buffers."""

    name = ""
    hyperparameters: tuple[str, ...] = ("lr",)
    buffers: tuple[str, ...] = ()

    def __init__(self, lr: float) -> None:
        self.lr = _positive("lr", lr)
        self.t = 0
        self.state: dict[str, Arrays] = {b: {} for b in self.buffers}

    def __repr__(self) -> str:
        hyper = ", ".join(f"{h}={getattr(self, h)!r}" for h in self.hyperparameters)
        return f"{type(self).__name__}({hyper})"

    def step(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place from the gradient of the same name."""
        for key, p in params.items():
            if key not in grads:
                raise ValueError(f"no gradient for parameter {key!r}: give one gradient per param")
            if np.shape(grads[key]) != p.shape:
                raise ValueError(
                    f"gradient {key!r} has shape {np.shape(grads[key])}, parameter {p.shape}"
                )
        self.check_params(params)
        self.t += 1
        for key, p in params.items():
            self._update(key, p, grads[key])

    def _update(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def check_params(self, params: Mapping[str, np.ndarray]) -> None:
        """Raise OptimizerError unless the buffers fit ``params``: one per parameter, after a
        step."""
        afresh = "it belongs to another network; start the optimizer afresh"
        for name, buffers in self.state.items():
            extra = sorted(set(buffers) - set(params))
            if extra:
                raise OptimizerError(
                    f"{self.name} optimizer has {name} for unknown parameters "
                    f"{', '.join(extra)}: {afresh}"
                )
            for key, p in params.items():
                if key not in buffers:
                    if self.t > 0:
                        raise OptimizerError(
                            f"{self.name} optimizer state has no {name} for parameter {key!r}: "
                            f"{afresh}"
                        )
                elif buffers[key].shape != np.shape(p):
                    raise OptimizerError(
                        f"{self.name} optimizer {name} for {key!r} has shape "
                        f"{buffers[key].shape}, parameter {np.shape(p)}: {afresh}"
                    )

    def _buffer(self, name: str, key: str, p: np.ndarray) -> np.ndarray:
        buffers = self.state[name]
        if key not in buffers:
            buffers[key] = np.zeros_like(p)
        return buffers[key]

    def state_dict(self) -> Arrays:
        """Hyperparameters, step count ``t`` and buffers ``<buffer>.<param>``, as copies."""
        out: Arrays = {h: np.asarray(float(getattr(self, h))) for h in self.hyperparameters}
        out["t"] = np.asarray(self.t, dtype=np.int64)
        for name, buffers in self.state.items():
            for key, value in buffers.items():
                out[f"{name}.{key}"] = value.copy()
        return out

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore a ``state_dict()``: hyperparameters, step count and buffers (copied)."""
        missing = [k for k in (*self.hyperparameters, "t") if k not in state]
        if missing:
            raise OptimizerError(
                f"{self.name} optimizer state lacks {', '.join(missing)}: "
                f"give the state_dict() of a {self.name} optimizer"
            )
        hyper = {h: _CHECKS[h](h, state[h]) for h in self.hyperparameters}
        t = state["t"]
        if np.ndim(t) != 0 or not np.issubdtype(np.asarray(t).dtype, np.integer) or t < 0:
            raise OptimizerError(f"optimizer step count t must be a whole number >= 0, got {t!r}")
        buffers: dict[str, Arrays] = {b: {} for b in self.buffers}
        for key, value in state.items():
            name, dot, param = key.partition(".")
            if not dot:
                if key not in hyper and key != "t":
                    raise OptimizerError(f"unknown entry {key!r} in {self.name} optimizer state")
                continue
            if name not in buffers:
                raise OptimizerError(f"unknown buffer {key!r} in {self.name} optimizer state")
            array = np.array(value, copy=True)
            if array.dtype.kind != "f" or not np.all(np.isfinite(array)):
                # else a NaN moment would surface as divergence, blamed on the learning rate
                raise OptimizerError(
                    f"{self.name} optimizer buffer {key!r} is not finite floating-point numbers: "
                    "start the optimizer afresh"
                )
            buffers[name][param] = array
        for h, setting in hyper.items():
            setattr(self, h, setting)
        self.t = int(t)
        self.state = buffers


class SGD(Optimizer):
    """Plain gradient descent: ``p <- p - lr g``."""

    name = "sgd"

    def _update(self, key, p, g):
        p -= self.lr * g


class Momentum(Optimizer):
    """Heavy-ball momentum: ``v <- momentum v + g``, ``p <- p - lr v`` (v starts at 0).

    The first step equals SGD's; the velocity ``v`` is kept in gradient units, so changing
    ``lr`` between runs does not rescale the accumulated velocity.
    """

    name = "momentum"
    hyperparameters = ("lr", "momentum")
    buffers = ("velocity",)

    def __init__(self, lr: float, momentum: float = 0.9) -> None:
        super().__init__(lr)
        self.momentum = _fraction("momentum", momentum)

    def _update(self, key, p, g):
        v = self._buffer("velocity", key, p)
        v *= self.momentum
        v += g
        p -= self.lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba): bias-corrected moving averages m, v of g and g^2.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)``. The first step is
    ``lr g / (|g| + eps)``, about ``lr sign(g)``.
    """

    name = "adam"
    hyperparameters = ("lr", "beta1", "beta2", "eps")
    buffers = ("m", "v")

    def __init__(
        self, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ) -> None:
        super().__init__(lr)
        self.beta1 = _fraction("beta1", betas[0])
        self.beta2 = _fraction("beta2", betas[1])
        self.eps = _positive("eps", eps)

    @property
    def betas(self) -> tuple[float, float]:
        return (self.beta1, self.beta2)

    def _update(self, key, p, g):
        m = self._buffer("m", key, p)
        v = self._buffer("v", key, p)
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        v += (1.0 - self.beta2) * (g * g)
        m_hat = m / (1.0 - self.beta1**self.t)
        v_hat = v / (1.0 - self.beta2**self.t)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
"""Optimisers by CLI name. Adding an optimiser is adding a row (and a ``DEFAULT_LR``)."""

DEFAULT_LR: dict[str, float] = {"sgd": 1.0, "momentum": 0.1, "adam": 0.01}
"""Learning rates that train the small squared-loss sigmoid networks of this project."""


def make_optimizer(name: str, lr: float | None = None) -> Optimizer:
    """The optimiser ``name`` with learning rate ``lr`` (``DEFAULT_LR[name]`` when None)."""
    if name not in OPTIMIZERS:
        raise OptimizerError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](DEFAULT_LR[name] if lr is None else lr)


def _number(name: str, value) -> float:
    if np.ndim(value) != 0:
        raise OptimizerError(
            f"optimizer {name} must be a single number, got shape {np.shape(value)}"
        )
    try:
        return float(value)
    except (TypeError, ValueError):
        raise OptimizerError(f"optimizer {name} must be a number, got {value!r}") from None


def _positive(name: str, value) -> float:
    value = _number(name, value)
    if not (math.isfinite(value) and value > 0):
        raise OptimizerError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def _fraction(name: str, value) -> float:
    value = _number(name, value)
    if not 0 <= value < 1:
        raise OptimizerError(f"{name} must be a number in [0, 1), got {value!r}")
    return value


_CHECKS = {
    "lr": _positive,
    "momentum": _fraction,
    "beta1": _fraction,
    "beta2": _fraction,
    "eps": _positive,
}
