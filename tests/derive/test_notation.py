"""notation: one name per quantity, with the shapes of the seed's z = W a + b."""

import pytest
import sympy as sp

from bpverify.derive import NetworkSpec
from bpverify.derive.notation import n, network_symbols, split_name


def test_shapes_follow_the_widths():
    s = network_symbols(NetworkSpec(2, (4, 3, 2)), batch=5)
    assert s.a0.shape == (4, 5) and s.y.shape == (2, 5)
    assert s.layers[1].W.shape == (3, 4) and s.layers[1].b.shape == (3, 1)
    assert s.layers[2].W.shape == (2, 3)
    for q in ("z", "a", "delta", "dC_da"):
        assert getattr(s.layers[2], q).shape == (2, 5)


def test_names_are_the_generated_code_names():
    s = network_symbols(NetworkSpec(2, (4, 3, 2)))
    assert [p.name for p in s.parameters] == ["W1", "b1", "W2", "b2"]
    assert s.a(0) is s.a0 and s.a(2).name == "a2"
    assert s.layers[1].delta.name == "delta1"
    assert s.batch == n


def test_symbolic_widths_are_symbols():
    s = network_symbols(NetworkSpec(2))
    assert s.layers[2].W.shape == (sp.Symbol("n_2", integer=True, positive=True),) * 1 + (
        sp.Symbol("n_1", integer=True, positive=True),
    )


@pytest.mark.parametrize(
    "name, parts",
    [
        ("W3", ("W", 3)),
        ("delta12", ("delta", 12)),
        ("dC_da0", ("dC_da", 0)),
        ("y", None),
        ("Wx", None),
        ("a", None),
    ],
)
def test_split_name(name, parts):
    assert split_name(name) == parts
