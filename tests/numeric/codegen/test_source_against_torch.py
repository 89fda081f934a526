"""The generated gradients agree with PyTorch's autograd for every row of the tables that PyTorch
has a function for: an outside implementation of the same network, differentiated by other code.

PyTorch is the optional ``bench`` extra, so these tests run under the ``slow`` marker, which
``.ci/run`` runs after installing it; without PyTorch they skip.
"""

import numpy as np
import pytest

from bpverify.derive import ACTIVATIONS, LOSSES, NetworkSpec
from bpverify.numeric.check.run import random_point
from bpverify.numeric.codegen.program import Program

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.slow

TORCH_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "softplus": F.softplus,
    "identity": lambda z: z,
    "gelu": lambda z: F.gelu(z, approximate="tanh"),
    "silu": F.silu,
    "elu": F.elu,
}
"""PyTorch's spelling of each activation row (leaky_relu at the default slope 1/100)."""

TORCH_LOSSES = {
    "squared": lambda out, y: ((out - y) ** 2).sum(1),
    "half-squared": lambda out, y: 0.5 * ((out - y) ** 2).sum(1),
    "huber": lambda out, y: F.huber_loss(out, y, reduction="none", delta=1.0).sum(1),
    "cross-entropy": lambda out, y: F.binary_cross_entropy(out, y, reduction="none").sum(1),
    # the loss owns softmax: out is z^(L) here
    "softmax-cross-entropy": lambda z, y: -(y * F.log_softmax(z, dim=1)).sum(1),
}
"""PyTorch's C_0 of every sample, for each loss row."""


def test_every_row_has_a_torch_spelling():
    assert set(TORCH_ACTIVATIONS) == set(ACTIVATIONS)
    assert set(TORCH_LOSSES) == set(LOSSES)


def _network(activation: str, loss: str) -> NetworkSpec:
    """A 3-layer network with the activation on every layer the loss lets it have: a loss that
    owns its output activation (softmax) puts it there, one that does not accept the outputs
    (cross-entropy after tanh) takes the first activation it accepts."""
    row, acts = LOSSES[loss], activation
    if row.output_activation is None and not row.accepts(ACTIVATIONS[activation]):
        acts = (activation, activation, next(n for n, a in ACTIVATIONS.items() if row.accepts(a)))
    return NetworkSpec(3, (3, 5, 4, 2), acts, loss)


def _torch_gradients(spec: NetworkSpec, params, X, Y) -> dict[str, np.ndarray]:
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    a = torch.tensor(X, dtype=torch.float64)
    for l, name in enumerate(spec.activations, start=1):
        z = F.linear(a, tp[f"W{l}"], tp[f"b{l}"])
        a = z if name not in TORCH_ACTIVATIONS else TORCH_ACTIVATIONS[name](z)
    cost = TORCH_LOSSES[spec.loss](a, torch.tensor(Y, dtype=torch.float64)).mean()
    cost.backward()
    return {k: v.grad.numpy() for k, v in tp.items()}


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_generated_gradients_agree_with_torch(activation, loss):
    spec = _network(activation, loss)
    program = Program(spec)
    rng = np.random.default_rng(7)
    for _ in range(3):
        point = random_point(spec, rng, batch=6)
        if spec.loss == "huber":  # residuals on both sides of |a - y| = 1
            point.Y[:3] += 3.0
        ours = program.gradients(point.params, point.X, point.Y)
        theirs = _torch_gradients(spec, point.params, point.X, point.Y)
        for name, value in theirs.items():
            # both are float64 backprop of the same formulas: they differ by rounding only
            np.testing.assert_allclose(ours[name], value, rtol=1e-9, atol=1e-12, err_msg=name)
