import doctest

import sympy as sp

from bpverify.derive.prove import branches
from bpverify.derive.prove.branches import Indicator, as_indicators

x = sp.Symbol("x", real=True)
i = sp.Symbol("i", integer=True)
n = sp.Symbol("n", integer=True, positive=True)
u = sp.IndexedBase("u")


def test_an_indicator_is_one_or_zero_once_its_condition_is_decided():
    assert Indicator(sp.true) == 1 and Indicator(sp.false) == 0
    assert Indicator(x > 1).subs(x, 2) == 1 and Indicator(x > 1).subs(x, 0) == 0
    assert isinstance(Indicator(x > 1), Indicator)


def test_each_branch_holds_where_no_earlier_one_does():
    huber = sp.Piecewise((1, x > 1), (-1, x < -1), (x, True))
    written = as_indicators(huber)
    assert not written.has(sp.Piecewise)
    for value in (-3, -1, 0, sp.Rational(1, 2), 1, 5):
        assert written.subs(x, value) == huber.subs(x, value)


def test_a_sum_of_a_sum_of_branches_keeps_each_branch_inside_its_sum():
    # SymPy folds a Piecewise out of the inner sum, naming i outside the sum over i
    inner = sp.Sum(sp.Piecewise((u[i], u[i] > 1), (0, True)), (i, 0, n))
    outer = sp.Sum(u[i] * as_indicators(inner), (i, 0, n))
    assert not outer.has(sp.Piecewise)
    values = {u[k]: v for k, v in enumerate((2, 0, 3))}
    expected = sum(values[u[k]] for k in range(3)) * (2 + 3)
    assert outer.subs(n, 2).doit().xreplace(values) == expected


def test_the_docstring_example_runs():
    failures, tried = doctest.testmod(branches)
    assert failures == 0 and tried > 0
