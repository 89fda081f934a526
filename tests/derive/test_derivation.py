"""derive.derivation: the Derivation as data, its keys and the substitutions it makes."""

import pytest
import sympy as sp

from bpverify.derive import NetworkSpec, derive_network
from bpverify.derive.derivation import Gradient, step_keys, step_of


@pytest.fixture(scope="module")
def seed():
    """The seed's three-layer sigmoid network with squared loss and symbolic widths."""
    return derive_network(NetworkSpec(layers=3))


def names(expr) -> set[str]:
    return {m.name for m in expr.atoms(sp.MatrixSymbol)}


def test_a_step_gives_delta_the_weights_the_biases_and_the_layer_below():
    assert step_keys(3) == [("z", 3), ("W", 3), ("b", 3), ("a", 2)]
    # dC/da^(l-1) belongs to layer l's step: W^(l) carries delta^(l) down to it.
    assert [step_of(key) for key in step_keys(3)] == [3, 3, 3, 3]
    assert Gradient(("a", 1), "matrix", sp.Integer(0)).layer == 2


@pytest.mark.parametrize("form", ["matrix", "index"])
def test_gradients_run_from_layer_L_down_to_1(seed, form):
    grads = seed.gradients(form)
    assert [g.wrt for g in grads] == [*step_keys(3), *step_keys(2), *step_keys(1)]
    table = seed.matrix if form == "matrix" else seed.index
    assert all(g.form == form and g.expr == table[g.wrt] for g in grads)


def test_expand_reaches_the_inputs(seed):
    full = seed.expand(seed.matrix[("W", 1)])
    assert names(full) == {"W1", "W2", "W3", "b1", "b2", "b3", "a0", "y"}


def test_expand_from_a_free_activation_or_pre_activation(seed):
    # What lies upstream of the free point stays out: C from a^(1) needs no W1, b1 or a0.
    assert names(seed.expand(seed.cost, layer=1)) == {"a1", "W2", "W3", "b2", "b3", "y"}
    assert names(seed.expand(seed.cost, layer=2, kind="z")) == {"z2", "W3", "b3", "y"}
    # delta^(2) is substituted; a^(1), upstream of the free z^(2), is left as it is.
    w2 = seed.expand(seed.matrix[("W", 2)], layer=2, kind="z")
    assert names(w2) == {"a1", "z2", "W3", "b3", "y"}
