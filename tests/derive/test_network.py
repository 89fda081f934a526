"""The derived rules against the seed's formulas, compared as SymPy expressions."""

import pytest
import sympy as sp

from bpverify.derive import ACTIVATIONS, NetworkSpec, derive_network
from bpverify.derive.explicit import explicit
from bpverify.derive.notation import j, k, n

sigma = ACTIVATIONS["sigmoid"]


@pytest.fixture(scope="module")
def seed():
    """The seed's three-layer sigmoid network with squared loss and symbolic widths."""
    return derive_network(NetworkSpec(layers=3))


def _entries(d, l):
    s = d.index_symbols
    ls = s.layers[l]
    return ls, s.a(l - 1), s.y


def test_last_layer_weight_is_the_seeds_formula(seed):
    # dC_0/dw_jk^(L) = a_k^(L-1) sigma'(z_j^(L)) 2 (a_j^(L) - y_j)
    ls, prev, y = _entries(seed, 3)
    want = prev[k, 0] * sigma.prime(ls.z[j, 0]) * 2 * (ls.a[j, 0] - y[j, 0])
    assert sp.expand(seed.index[("W", 3)] - want) == 0


def test_last_layer_activation_gradient_sums_over_j(seed):
    # dC_0/da_k^(L-1) = sum_j w_jk^(L) sigma'(z_j^(L)) 2 (a_j^(L) - y_j)
    ls, _, y = _entries(seed, 3)
    want = sp.Sum(
        ls.W[j, k] * sigma.prime(ls.z[j, 0]) * 2 * (ls.a[j, 0] - y[j, 0]), (j, 0, ls.W.shape[0] - 1)
    )
    got = seed.index[("a", 2)]
    assert got.has(sp.Sum)
    n3 = ls.W.shape[0]
    for width in (1, 2, 3):  # the sums agree term by term for every width
        assert sp.expand((got - want).subs(n3, width).doit()) == 0


def test_bias_and_delta_of_the_last_layer(seed):
    ls, _, y = _entries(seed, 3)
    want = sigma.prime(ls.z[j, 0]) * 2 * (ls.a[j, 0] - y[j, 0])
    assert sp.expand(seed.index[("b", 3)] - want) == 0
    assert sp.expand(seed.index[("z", 3)] - want) == 0


def test_hidden_layers_recurse_through_dC_da(seed):
    ls, prev, _ = _entries(seed, 2)
    want = prev[k, 0] * sigma.prime(ls.z[j, 0]) * ls.dC_da[j, 0]
    assert sp.expand(seed.index[("W", 2)] - want) == 0


def test_matrix_form(seed):
    s = seed.symbols
    l3, l2 = s.layers[3], s.layers[2]
    assert seed.matrix[("W", 3)] == l3.delta * s.a(2).T
    assert seed.matrix[("a", 1)] == l2.W.T * l2.delta
    assert seed.matrix[("b", 2)] == l2.delta * sp.OneMatrix(n, 1)


def test_hidden_delta_is_w_transpose_delta_times_sigma_prime():
    # delta^(2) = (W^(3)T delta^(3)) (.) sigma'(z^(2)), entrywise at concrete sizes.
    d = derive_network(NetworkSpec(3, (2, 2, 3, 2)))
    s = d.symbols
    l2, l3 = s.layers[2], s.layers[3]
    got = explicit(d.deltas[l2.delta].xreplace({n: 2}))
    W3, d3, z2 = l3.W, l3.delta.xreplace({n: 2}), l2.z.xreplace({n: 2})
    for r in range(3):
        for c in range(2):
            want = sigma.prime(z2[r, c]) * sum(W3[i, r] * d3[i, c] for i in range(2))
            assert sp.expand(got[r, c] - want) == 0


def test_matrix_form_of_the_last_delta_scales_by_one_over_n():
    # Batch of n columns: delta^(L) = sigma'(z^(L)) (.) (2/n)(a^(L) - y); check entrywise at n = 2.
    d = derive_network(NetworkSpec(1, (2, 2)))
    s = d.symbols
    ls = s.layers[1]
    got = explicit(d.deltas[ls.delta].xreplace({n: 2}))
    z, a, y = ls.z.xreplace({n: 2}), ls.a.xreplace({n: 2}), s.y.xreplace({n: 2})
    for r in range(2):
        for c in range(2):
            want = sigma.prime(z[r, c]) * sp.Rational(2, 2) * (a[r, c] - y[r, c])
            assert sp.expand(got[r, c] - want) == 0


def test_width_does_not_change_the_rules():
    small = derive_network(NetworkSpec(3, (8, 8, 8, 8)))
    large = derive_network(NetworkSpec(3, (4096,) * 4))
    for key in small.matrix:
        assert small.matrix[key].xreplace({sp.Integer(8): sp.Integer(4096)}) == large.matrix[key]


def test_deep_networks_derive_layer_by_layer():
    d = derive_network(NetworkSpec(50))
    assert len(d.matrix) == 50 * 4
    assert d.matrix[("W", 1)] == d.symbols.layers[1].delta * d.symbols.a0.T


def test_softmax_cross_entropy_last_delta_is_a_minus_y_over_n():
    d = derive_network(NetworkSpec(2, loss="softmax-cross-entropy"))
    s = d.symbols
    got = explicit(d.deltas[s.layers[2].delta].xreplace({n: 2}).subs(d.spec.widths[2], 3))
    a2, y = (m.xreplace({n: 2}).subs(d.spec.widths[2], 3) for m in (s.layers[2].a, s.y))
    assert got == (a2.as_explicit() - y.as_explicit()) / 2
    assert (
        sp.expand(d.index[("z", 2)] - (d.index_symbols.layers[2].a[j, 0] - d.index_symbols.y[j, 0]))
        == 0
    )


def test_index_sums_keep_concrete_bounds_unevaluated():
    d = derive_network(NetworkSpec(2, (2, 3, 2)))
    got = d.index[("a", 1)]
    assert got.has(sp.Sum)
    assert sp.Integer(1) in got.atoms(sp.Sum).pop().limits[0]


@pytest.mark.parametrize("loss", ["squared", "cross-entropy", "softmax-cross-entropy"])
def test_cost_is_the_mean_of_the_tables_per_sample_loss(loss):
    from bpverify.derive.notation import network_symbols
    from bpverify.derive.unrolled import forward

    spec = NetworkSpec(1, (2, 3), "sigmoid", loss)
    d = derive_network(spec)
    s2 = network_symbols(spec, batch=2)
    got = explicit(d.expand(d.cost).xreplace({n: 2}))[0, 0]
    want, _ = forward(spec, s2, generic=False)
    from sympy.matrices.expressions.matexpr import MatrixElement

    entries = sorted(want.atoms(MatrixElement), key=str)
    point = {e: sp.Rational(k + 1, 7) for k, e in enumerate(entries)}
    act = ACTIVATIONS["sigmoid"]
    values = [act.specialise(e.xreplace(point)).evalf(30) for e in (got, want)]
    # sums of logs at 30 digits: agreement to 1e-25 leaves room for rounding
    assert abs(values[0] - values[1]) < 1e-25


def test_the_sum_over_samples_is_n_times_the_mean():
    mean = derive_network(NetworkSpec(2, (2, 3, 1)))
    total = derive_network(NetworkSpec(2, (2, 3, 1), cost="sum"))

    def values(d):  # every rule at a batch of 2, each delta written out
        env = {}
        for l in (2, 1):
            delta = d.symbols.layers[l].delta
            env[delta.xreplace({n: 2})] = explicit(d.deltas[delta].xreplace({n: 2}), env)
        return {key: explicit(e.xreplace({n: 2}), env) for key, e in d.matrix.items()}

    got, want = values(total), values(mean)
    for key in got:
        assert sp.expand(got[key] - 2 * want[key]) == sp.zeros(*got[key].shape), key


@pytest.mark.parametrize(
    "cost, factor", [("mean", sp.Rational(1, 10) / n), ("sum", sp.Rational(1, 10))]
)
def test_l2_adds_lambda_w_to_the_weight_gradients_only(cost, factor):
    plain = derive_network(NetworkSpec(2, (2, 3, 1), cost=cost))
    decayed = derive_network(NetworkSpec(2, (2, 3, 1), cost=cost, l2=sp.Rational(1, 10)))
    for l in (1, 2):
        W = decayed.symbols.layers[l].W
        terms = set(sp.MatAdd.make_args(decayed.matrix[("W", l)]))
        assert terms == {plain.matrix[("W", l)], factor * W}
        assert decayed.matrix[("b", l)] == plain.matrix[("b", l)]
        assert decayed.deltas == plain.deltas
    # the index form is one sample's C_0, which neither convention changes
    assert decayed.index == derive_network(NetworkSpec(2, (2, 3, 1))).index


def test_the_penalty_is_part_of_the_cost_the_rules_differentiate():
    d = derive_network(NetworkSpec(1, (2, 1), cost="sum", l2=sp.Rational(1, 3)))
    W = d.symbols.layers[1].W
    assert d.cost.has(W) and not derive_network(NetworkSpec(1, (2, 1))).cost.has(W)
