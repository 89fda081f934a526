"""The printer's forms: products, in-place results, names assigned together, the ones column."""

import sympy as sp
from sympy.codegen.ast import (
    AddAugmentedAssignment,
    FunctionCall,
    FunctionDefinition,
    Return,
    Variable,
    none,
)

from bpverify.derive import NetworkSpec, derive_network
from bpverify.numeric.codegen.printer import (
    BackpropPrinter,
    Docstring,
    Free,
    Into,
    Ones,
    Record,
    Unpack,
    Vector,
    WithPrime,
    bracketed,
)

P = BackpropPrinter()
n = sp.Symbol("n")
W = sp.MatrixSymbol("W", 3, 2)
a = sp.MatrixSymbol("a", 2, n)
g = sp.MatrixSymbol("g", 3, n)
z = sp.MatrixSymbol("z", 3, n)


def _layer():
    d = derive_network(NetworkSpec(2))
    s = d.symbols
    return d, s.layers[1], d.deltas[s.layers[1].delta]


def test_products_print_as_dot_and_keep_their_order():
    assert P.doprint(W * a) == "W.dot(a)"
    assert P.doprint(W.T * g) == "W.T.dot(g)"
    assert P.doprint(g * a.T * W.T) == "g.dot(a.T).dot(W.T)"
    V = sp.MatrixSymbol("V", 3, 2)
    assert P.doprint((W + V) * a) == "(V + W).dot(a)"


def test_sums_over_samples_and_broadcast_bias_are_unchanged():
    b = sp.MatrixSymbol("b", 3, 1)
    ones_row = sp.OneMatrix(1, n)
    assert P.doprint(W * a + b * ones_row) == "W.dot(a) + b"
    assert P.doprint(g * sp.OneMatrix(n, 1)) == "numpy.sum(g, axis=1, keepdims=True)"


def test_into_writes_a_result_into_the_memory_of_a_dying_array():
    d, ls, delta = _layer()
    prime = next(f for f in delta.args if type(f).__name__ == "ElementwiseApplyFunction")
    assert P.doprint(Into(prime, ls.z)) == "sigma_prime(z1, out=z1)"
    product = sp.HadamardProduct(Into(prime, ls.z), ls.dC_da)
    assert P.doprint(Into(product, ls.dC_da)) == (
        "numpy.multiply(sigma_prime(z1, out=z1), dC_da1, out=dC_da1)"
    )
    # a sum updates its named term, a scalar multiple goes into the target
    bias = sp.MatrixSymbol("b1", *ls.b.shape) * sp.OneMatrix(1, ls.z.shape[1])
    assert P.doprint(Into(sp.MatAdd(ls.z, bias), ls.z)) == "numpy.add(z1, b1, out=z1)"
    assert P.doprint(Into(sp.MatAdd(ls.z, -ls.dC_da), ls.z)) == "numpy.subtract(z1, dC_da1, out=z1)"
    assert P.doprint(Into(2 * ls.dC_da, ls.z)) == "numpy.multiply(dC_da1, 2, out=z1)"
    # anything else ignores the target
    product = d.symbols.layers[2].W.T * d.symbols.layers[2].delta
    assert P.doprint(Into(product, ls.dC_da)) == "W2.T.dot(delta2)"


def test_activation_and_derivative_together_and_the_ones_column():
    d, ls, _ = _layer()
    forward = d.forward[ls.a]
    assert P.doprint(WithPrime(forward)) == "sigma_and_prime(z1)"
    assert P.doprint(Into(WithPrime(forward), ls.z)) == "sigma_and_prime(z1, out=z1)"
    prime = sp.MatrixSymbol("sigma_prime_z1", *ls.z.shape)
    pair = Unpack(sp.Tuple(ls.a, prime), Into(WithPrime(forward), ls.z))
    assert P.doprint(pair) == "a1, sigma_prime_z1 = sigma_and_prime(z1, out=z1)"
    assert P.doprint(Ones(n, a)) == "numpy.ones((n, 1), a.dtype)"


def test_helpers_are_recorded_as_they_are_printed():
    *_, delta = _layer()
    printer = BackpropPrinter()
    printer.doprint(delta)
    assert printer.helpers == {"sigma_prime"}


def test_scalars_and_powers_are_spaced_as_ruff_format_spaces_them():
    assert P.doprint(2 / n * a) == "(2 / n) * a"
    assert P.doprint((2 / n) * (W * a)) == "(2 / n) * W.dot(a)"
    assert P.doprint(sp.HadamardPower(z, 2)) == "z**2"
    assert P.doprint(sp.HadamardPower(z - g, 2)) == "(z - g) ** 2"
    # 1^T M 1: the sum of every entry
    assert P.doprint(sp.OneMatrix(1, 3) * z * sp.OneMatrix(n, 1)) == "numpy.sum(z)"


def test_functions_print_as_ruff_format_lays_them_out():
    b = sp.MatrixSymbol("b", 3, 1)
    body = [
        Docstring("z = W a + b."),
        AddAugmentedAssignment(z, b * sp.OneMatrix(1, n)),
        Free(g, z),
        Return(Record(sp.Tuple(sp.codegen.ast.String("b"), Vector(b)))),
    ]
    f = FunctionDefinition(none, "_f", [Variable(W), Variable(a)], body)
    assert P.doprint(f) == (
        'def _f(W, a):\n    """z = W a + b."""\n    z += b\n    del g, z\n    return {"b": b[:, 0]}'
    )
    # a long call breaks inside its brackets, one line for the arguments where they fit
    args = [sp.MatrixSymbol(f"W{l}", 2, 2) for l in range(1, 22)]
    unpack = Unpack(sp.Tuple(sp.Tuple(a), sp.Tuple(z)), FunctionCall("_forward", args))
    lines = P.doprint(unpack).splitlines()
    assert lines[0] == "(a,), (z,) = _forward(" and lines[-1] == ")" and len(lines) == 3
    assert bracketed("f(", ["x"] * 60, ")", "", explode=False).count("\n") == 61
