"""explicit: a matrix expression evaluated node by node equals SymPy's own as_explicit."""

import pytest
import sympy as sp
from sympy.matrices.expressions import HadamardPower, HadamardProduct, OneMatrix

from bpverify.derive.activations import Softmax
from bpverify.derive.explicit import RULES, explicit

A = sp.MatrixSymbol("A", 2, 3)
B = sp.MatrixSymbol("B", 3, 2)
C = sp.MatrixSymbol("C", 2, 3)


@pytest.mark.parametrize(
    "expr",
    [
        A * B,
        A + 2 * C,
        HadamardProduct(A, C),
        HadamardPower(A, 2),
        A.T,
        OneMatrix(2, 3) + A,
        A.applyfunc(sp.exp),
        (A * B) * C - 3 * HadamardProduct(A, C),
    ],
    ids=["matmul", "matadd", "hadamard", "power", "transpose", "ones", "applyfunc", "nested"],
)
def test_agrees_with_as_explicit(expr):
    assert sp.simplify(explicit(expr) - expr.as_explicit()) == sp.zeros(*expr.shape)


def test_symbols_in_env_take_their_values():
    value = sp.ImmutableMatrix([[1, 2, 3], [4, 5, 6]])
    assert explicit(A + C, {A: value}) == value + C.as_explicit()


def test_softmax_columns_sum_to_one():
    out = explicit(Softmax(A))
    for c in range(3):
        assert sp.simplify(sum(out.col(c))) == 1
    assert out[0, 1] == sp.exp(A[0, 1]) / (sp.exp(A[0, 1]) + sp.exp(A[1, 1]))


def test_an_unknown_node_is_an_error_not_a_guess():
    assert sp.Inverse not in RULES
    with pytest.raises(KeyError):
        explicit(sp.Inverse(sp.MatrixSymbol("S", 2, 2)))
