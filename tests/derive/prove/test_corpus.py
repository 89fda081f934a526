"""A corpus of hand derivations of a three-layer network, as students write them: in the notations
of the standard texts, over the losses and activations, at every layer. Every correct claim is
PROVED; every wrong one is REFUTED and its hint names the mistake (each row of ``MISTAKES`` at
least twice, the constant multiples and the matrix form's mistakes too).

The formulas follow from the chain rule on z^(l) = W^(l) a^(l-1) + b^(l), a^(l) = sigma(z^(l)),
C_0 = sum_j loss(a^(3)_j, y_j):

    delta^(3)_j = sigma'(z^(3)_j) dloss/da^(3)_j
    delta^(l)_j = sigma'(z^(l)_j) sum_i w^(l+1)_ij delta^(l+1)_i
    dC_0/dw^(l)_jk = a^(l-1)_k delta^(l)_j,  dC_0/db^(l)_j = delta^(l)_j,
    dC_0/da^(l-1)_k = sum_j w^(l)_jk delta^(l)_j

with dloss/da = 2(a - y) (squared), a - y (half-squared), (a - y)/(a(1 - a)) (cross-entropy,
so that a sigmoid output's delta^(3) is a - y), and softmax cross-entropy's delta^(3) = a - y.
The whole corpus runs under the slow marker; the checks of its coverage run by default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from bpverify.derive import NetworkSpec
from bpverify.derive.prove import parse_wrt, prove, resolve_wrt
from bpverify.derive.prove.hints import MISTAKES
from bpverify.derive.prove.matrix import matrix_wrt


@dataclass(frozen=True)
class Claim:
    """One row of the corpus: a claim about ``NetworkSpec(layers=3, **spec)`` by ``wrt`` (None:
    the claim's own left-hand side says it). A wrong claim names its ``mistake`` (a row of
    ``MISTAKES``, or one of ``OTHER_MISTAKES``) and a regex its ``hint`` must match."""

    id: str
    wrt: str | None
    text: str
    status: str = "PROVED"
    mistake: str | None = None
    hint: str | None = None
    spec: dict = field(default_factory=dict)


def right(id: str, wrt: str | None, text: str, **spec) -> Claim:
    return Claim(id, wrt, text, spec=spec)


def wrong(id: str, wrt: str | None, text: str, mistake: str, hint: str, **spec) -> Claim:
    return Claim(id, wrt, text, "REFUTED", mistake, hint, spec)


OTHER_MISTAKES = {
    "constant multiple": "a claim c times the derivative, c not a convention of the loss table",
    "matrix: missing transpose": "a product of a matrix claim that fits only transposed",
    "matrix: wrong layer's W": "a matrix claim's W of another layer",
    "matrix: missing 1/n": "a matrix claim of the mean cost without its 1/n",
    "matrix: constant multiple": "a matrix claim that is ½, 2 or -1 times the derivative",
    "matrix: sigma' missing": "a matrix claim without the layer's sigma'",
}
"""The wrong claims' mistakes that are not rows of ``MISTAKES``."""

HALF = {"loss": "half-squared"}
CE = {"loss": "cross-entropy"}
SOFTMAX = {"loss": "softmax-cross-entropy"}
HUBER = {"loss": "huber"}
TANH = {"activations": "tanh"}
RELU = {"activations": ("relu", "relu", "sigmoid")}
NG = {"activations": ("relu", "relu", "sigmoid"), "loss": "cross-entropy"}
ONE = {"widths": (1, 1, 1, 1)}
THREE_OUT = {"widths": (2, 4, 2, 3)}
FIVE_OUT = {"widths": (3, 2, 4, 5)}

# Pieces of the squared loss's recursion in the plain language, each layer's delta written out.
D3 = "sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"
D3_I = "sigma'(z^(3)_i) * 2*(a^(3)_i - y_i)"
D2 = f"sigma'(z^(2)_j) * sum_i(w^(3)_ij * {D3_I})"
D2_M = f"sigma'(z^(2)_m) * sum_i(w^(3)_im * {D3_I})"
D1 = f"sigma'(z^(1)_j) * sum_m(w^(2)_mj * {D2_M})"

CORRECT = [
    # the seed's and 3Blue1Brown's notation: a^(L-1), σ′, U+2212, · and ⋅
    right("seed w3", "w^(3)_jk", "a^(L−1)_k · σ′(z^(L)_j) · 2(a^(L)_j − y_j)"),
    right("seed b3", "b^(3)_j", "σ′(z^(L)_j) ⋅ 2(a^(L)_j − y_j)"),
    right("seed z3", "z^(3)_j", "2(a^(L)_j − y_j)⋅σ′(z^(L)_j)"),
    right("seed a3", "a^(3)_j", "2(a^(L)_j − y_j)"),
    right("seed a2", "a^(2)_k", "sum_j(w^(L)_jk ⋅ σ′(z^(L)_j) ⋅ 2(a^(L)_j − y_j))"),
    right("seed w2", "w^(2)_jk", "a^(L−2)_k · σ′(z^(L−1)_j) · sum_i(w^(L)_ij · " + D3_I + ")"),
    right("seed b2", "b^(2)_j", D2),
    right("seed z2", "z^(2)_j", D2.replace("*", "·")),
    right("seed a1", "a^(1)_k", f"sum_j(w^(2)_jk * {D2})"),
    right("seed w1", "w^(1)_jk", f"a^(0)_k * {D1}"),
    right("seed b1", "b^(1)_j", D1),
    right("seed z1", "z^(1)_j", D1.replace("sigma'", "σ′")),
    right("seed a0", "a^(0)_k", f"sum_j(w^(1)_jk * {D1})"),
    right("seed one neuron w3", "w^(L)", "2 (a^(L) − y) · σ′(z^(L)) · a^(L−1)", **ONE),
    right("seed one neuron b2", "b^(2)", "σ′(z^(2)) w^(3) σ′(z^(3)) 2(a^(3) − y)", **ONE),
    right(
        "seed latex w3 big",
        "w^(3)_jk",
        r"2 \big(a^{(3)}_j - y_j\big) \cdot \sigma'\left(z^{(3)}_j\right) \cdot a^{(2)}_k",
    ),
    # Nielsen: a^L_j, w^l_{jk}, δ^l_j; BP1-BP4 with the half-squared loss
    right("nielsen BP1 l3", None, r"δ^3_j = ∂C/∂a^L_j σ'(z^L_j)", **HALF),
    right("nielsen BP1 written out", None, r"δ^L_j = (a^L_j - y_j) σ'(z^L_j)", **HALF),
    right("nielsen BP1 nabla", "z^(3)_j", r"(∇_a C)_j ⊙ σ'(z^3_j)", **HALF),
    right("nielsen BP2 l2", None, r"δ^2_j = \sum_k w^3_{kj} δ^3_k σ'(z^2_j)", **HALF),
    right("nielsen BP2 l1", None, r"δ^1_j = σ'(z^1_j) \sum_i w^2_{ij} δ^2_i", **HALF),
    right(
        "nielsen BP2 l2 written out",
        None,
        r"δ^2_j = σ'(z^2_j) \sum_i w^3_{ij} (a^3_i - y_i) σ'(z^3_i)",
        **HALF,
    ),
    right("nielsen BP3 l3", None, r"∂C/∂b^3_j = δ^3_j", **HALF),
    right("nielsen BP3 l1", None, r"∂C/∂b^1_j = δ^1_j", **HALF),
    right("nielsen BP4 l3", None, r"∂C/∂w^3_{jk} = a^2_k δ^3_j", **HALF),
    right("nielsen BP4 l2 braces", None, r"∂C/∂w^{2}_{jk} = δ^{2}_j a^{1}_k", **HALF),
    right("nielsen BP4 l1", None, r"∂C/∂w^1_{jk} = a^0_k δ^1_j", **HALF),
    right("nielsen a2", None, r"∂C/∂a^2_k = \sum_j w^3_{jk} δ^3_j", **HALF),
    right("nielsen w3 written out", "w^(3)_jk", r"a^2_k (a^3_j - y_j) σ'(z^3_j)", **HALF),
    # Ng's course: W^{[l]}, A^{[l]}, dZ^{[l]}, g'; relu hidden layers, sigmoid output, CE
    right("ng dZ3", None, r"dZ^{[3]}_j = A^{[3]}_j - Y_j", **NG),
    right("ng dW3", None, r"dW^{[3]}_{jk} = dZ^{[3]}_j * A^{[2]}_k", **NG),
    right("ng db3", None, r"db^{[3]}_j = dZ^{[3]}_j", **NG),
    right("ng dA2", None, r"dA^{[2]}_k = \sum_j W^{[3]}_{jk} dZ^{[3]}_j", **NG),
    right("ng dZ2", None, r"dZ^{[2]}_j = \sum_i W^{[3]}_{ij} dZ^{[3]}_i * g'(Z^{[2]}_j)", **NG),
    right(
        "ng dW2 written out",
        None,
        r"dW^{[2]}_{jk} = g'(Z^{[2]}_j) \sum_i W^{[3]}_{ij} (A^{[3]}_i - Y_i) * A^{[1]}_k",
        **NG,
    ),
    right("ng dZ1", None, r"dZ^{[1]}_j = g'(Z^{[1]}_j) * \sum_i W^{[2]}_{ij} dZ^{[2]}_i", **NG),
    right("ng dW1", None, r"dW^{[1]}_{jk} = dZ^{[1]}_j * A^{[0]}_k", **NG),
    right("ng db1", None, r"db^{[1]}_j = dZ^{[1]}_j", **NG),
    right("ng dA1", None, r"dA^{[1]}_k = \sum_j W^{[2]}_{jk} dZ^{[2]}_j", **NG),
    # Goodfellow et al.: 1-based sums, \sum\limits, \left( \right), \big(
    right(
        "goodfellow a1 sum limits",
        None,
        r"\frac{\partial C_0}{\partial a^{(1)}_{k}} = \sum\limits_{j=1}^{n_2} w^{(2)}_{jk} "
        r"\sigma'\left(z^{(2)}_j\right) \frac{\partial C_0}{\partial a^{(2)}_{j}}",
    ),
    right(
        "goodfellow a2 one-based",
        "a^(2)_k",
        r"\sum_{i=1}^{n_L} w^{(3)}_{ik} \big( 2 (a^{(3)}_i - y_i) \big) \sigma'(z^{(3)}_i)",
    ),
    right(
        "goodfellow a2 zero-based",
        "a^(2)_k",
        r"\sum_{j=0}^{n_L-1} \left( w^{(3)}_{jk} \sigma'(z^{(3)}_j) \right) 2 (a^{(3)}_j - y_j)",
    ),
    right(
        "goodfellow a1 n_{L-1}",
        "a^(1)_k",
        r"\sum_{j=0}^{n_{L-1}-1} w^{(2)}_{jk} \sigma'(z^{(2)}_j) \frac{\partial C_0}{\partial "
        r"a^{(2)}_{j}}",
    ),
    right(
        "goodfellow b1 big",
        "b^(1)_j",
        r"\sigma'\big(z^{(1)}_j\big) \sum\limits_{i=1}^{n_2} w^{(2)}_{ij} \left( "
        r"\frac{\partial C_0}{\partial a^{(2)}_{i}} \sigma'(z^{(2)}_i) \right)",
    ),
    # pasted left-hand sides, --wrt left out
    right("lhs w3", None, "dC_0/dw^(3)_jk = a^(2)_k σ′(z^(3)_j) 2(a^(3)_j − y_j)"),
    right("lhs b2", None, f"dC_0/db^(2)_j = {D2}"),
    right(
        "lhs frac w1",
        None,
        r"\frac{\partial C_0}{\partial w^{(1)}_{jk}} = a^{(0)}_k \sigma'(z^{(1)}_j) "
        r"\frac{\partial C_0}{\partial a^{(1)}_{j}}",
    ),
    right("lhs a1 step", None, "∂C_0/∂a^(1)_k = sum_j(w^(2)_jk σ′(z^(2)_j) ∂C_0/∂a^(2)_j)"),
    # the losses
    right("cross-entropy z3", "z^(3)_j", "a^(3)_j - y_j", **CE),
    right("cross-entropy a3", "a^(3)_j", "(1 - y_j)/(1 - a^(3)_j) - y_j/a^(3)_j", **CE),
    right("cross-entropy w3", "w^(3)_jk", "a^(2)_k (a^(3)_j - y_j)", **CE),
    right(
        "cross-entropy b2",
        "b^(2)_j",
        "sigma'(z^(2)_j) * sum_i(w^(3)_ij * (a^(3)_i - y_i))",
        **CE,
    ),
    right(
        "cross-entropy b3 via dC/da",
        "b^(3)_j",
        r"\frac{a^{(3)}_j - y_j}{a^{(3)}_j (1 - a^{(3)}_j)} \sigma'(z^{(3)}_j)",
        **CE,
    ),
    right("softmax z3", "z^(3)_j", "a^(3)_j - y_j", **SOFTMAX),
    right("softmax w3", "w^(3)_jk", "(a^(3)_j - y_j) * a^(2)_k", **SOFTMAX),
    right("softmax a2", "a^(2)_k", "sum_j(w^(3)_jk (a^(3)_j - y_j))", **SOFTMAX),
    right(
        "softmax w1",
        "w^(1)_jk",
        "a^(0)_k sigma'(z^(1)_j) sum_m(w^(2)_mj sigma'(z^(2)_m) sum_i(w^(3)_im (a^(3)_i - y_i)))",
        **SOFTMAX,
    ),
    right("huber b3", "b^(3)_j", "sigma'(z^(3)_j) * dC_0/da^(3)_j", **HUBER),
    right(
        "huber a3 cases",
        "a^(3)_j",
        r"\begin{cases} 1 & \text{if} a^{(3)}_j - y_j > 1 \\ -1 & \text{if} a^{(3)}_j - y_j < -1 "
        r"\\ a^{(3)}_j - y_j & \text{otherwise} \end{cases}",
        **HUBER,
    ),
    right("huber w2", "w^(2)_jk", "a^(1)_k σ′(z^(2)_j) dC_0/da^(2)_j", **HUBER),
    # the activations
    right("tanh b3", "b^(3)_j", "(1 - a^(3)_j^2) * 2*(a^(3)_j - y_j)", **TANH),
    right(
        "tanh w2",
        "w^(2)_jk",
        r"a^{(1)}_k \tanh'(z^{(2)}_j) \sum_i w^{(3)}_{ij} "
        r"\tanh'(z^{(3)}_i) 2 (a^{(3)}_i - y_i)",
        **TANH,
    ),
    right("tanh a1", "a^(1)_k", f"sum_j(w^(2)_jk * {D2})", **TANH),
    right(
        "relu b2 cases",
        "b^(2)_j",
        r"\begin{cases} 1 & \text{if} z^{(2)}_j > 0 \\ 0 & \text{otherwise} \end{cases} "
        r"\sum_i w^{(3)}_{ij} \sigma'(z^{(3)}_i) 2(a^{(3)}_i - y_i)",
        **RELU,
    ),
    right(
        "relu w1",
        "w^(1)_jk",
        f"a^(0)_k relu'(z^(1)_j) sum_m(w^(2)_mj relu'(z^(2)_m) sum_i(w^(3)_im {D3_I}))",
        **RELU,
    ),
    right(
        "softplus b2",
        "b^(2)_j",
        "softplus'(z^(2)_j) * sum_i(w^(3)_ij * softplus'(z^(3)_i) * 2*(a^(3)_i - y_i))",
        activations="softplus",
    ),
    right(
        "leaky relu a1",
        "a^(1)_k",
        "sum_j(w^(2)_jk lrelu'(z^(2)_j) sum_i(w^(3)_ij σ′(z^(3)_i) (a^(3)_i - y_i)))",
        activations=("leaky_relu", "leaky_relu", "sigmoid"),
        loss="half-squared",
    ),
    right("gelu w3", "w^(3)_jk", "a^(2)_k gelu'(z^(3)_j) 2(a^(3)_j - y_j)", activations="gelu"),
    right(
        "silu b1",
        "b^(1)_j",
        D1,
        activations="silu",
    ),
    right(
        "tanh hidden cross-entropy b1",
        "b^(1)_j",
        "(1 - a^(1)_j^2) sum_m(w^(2)_mj (1 - a^(2)_m^2) sum_i(w^(3)_im (a^(3)_i - y_i)))",
        activations=("tanh", "tanh", "sigmoid"),
        loss="cross-entropy",
    ),
    right(
        "sigmoid by its output w3",
        "w^(3)_jk",
        "a^(2)_k a^(3)_j (1 - a^(3)_j) 2(a^(3)_j - y_j)",
    ),
    # matrix claims: the gradient of the batch cost, one sample per column
    right("matrix W3", "W^(3)", "delta^(3) a^(2)T"),
    right("matrix W2", "W^(2)", "δ^(2) a^(1)^T"),
    right("matrix W1", "W^(1)", "δ^(1) a^(0)T"),
    right("matrix b3", "b^(3)", "δ^(3) 𝟏"),
    right("matrix delta3", "delta^(3)", r"\frac{2}{n} (a^(3) - y) ⊙ σ'(z^(3))"),
    right("matrix delta2", None, "δ^(2) = (W^(3)T δ^(3)) ⊙ σ'(z^(2))"),
    right("matrix a1", "a^(1)", "W^(2)T δ^(2)"),
    right("matrix W3 written out", "W^(3)", "(2/n (a^(3) - y) ⊙ σ'(z^(3))) a^(2)T"),
    right("matrix delta3 half", "delta^(3)", "1/n (a^(3) - y) ⊙ σ'(z^(3))", **HALF),
    right("matrix delta3 cross-entropy", "delta^(3)", "1/n (a^(3) - y)", **CE),
    right(
        "matrix lhs W2", None, r"\frac{\partial C}{\partial W^{(2)}} = \delta^{(2)} (a^{(1)})^\top"
    ),
]

SIGMA_MISSING = r"^looks like sigma' is missing"
WRONG = [
    wrong(
        "seed w3 no sigma'",
        "w^(3)_jk",
        "a^(L−1)_k · 2(a^(L)_j − y_j)",
        "sigma' missing",
        SIGMA_MISSING,
    ),
    wrong(
        "nielsen BP2 no sigma'",
        None,
        r"δ^2_j = \sum_k w^3_{kj} δ^3_k",
        "sigma' missing",
        SIGMA_MISSING,
        **HALF,
    ),
    wrong(
        "tanh b1 no sigma'",
        "b^(1)_j",
        "sum_m(w^(2)_mj * " + D2_M + ")",
        "sigma' missing",
        SIGMA_MISSING,
        **TANH,
    ),
    wrong(
        "ng dZ2 g for g'",
        None,
        r"dZ^{[2]}_j = \sum_i W^{[3]}_{ij} dZ^{[3]}_i * g(Z^{[2]}_j)",
        "sigma for sigma'",
        r"sigma\(z\^\(2\)\) is written where sigma'\(z\^\(2\)\)",
        **NG,
    ),
    wrong(
        "seed b3 sigma for sigma'",
        "b^(3)_j",
        "σ(z^(L)_j) ⋅ 2(a^(L)_j − y_j)",
        "sigma for sigma'",
        r"sigma\(z\^\(3\)\) is written where sigma'\(z\^\(3\)\)",
        **TANH,
    ),
    wrong(
        "w1 sigma for sigma'",
        "w^(1)_jk",
        "a^(0)_k " + D1.replace("sigma'(z^(1)", "sigma(z^(1)"),
        "sigma for sigma'",
        r"sigma\(z\^\(1\)\) is written where sigma'\(z\^\(1\)\)",
    ),
    wrong(
        "b1 sigma' of layer 2",
        "b^(1)_j",
        D1.replace("sigma'(z^(1)_j)", "sigma'(z^(2)_j)"),
        "sigma' of the wrong layer",
        r"sigma'\(z\^\(2\)\) is written where sigma'\(z\^\(1\)\)",
    ),
    wrong(
        "goodfellow a1 sigma' of layer 3",
        "a^(1)_k",
        r"\sum_{j=1}^{n_2} w^{(2)}_{jk} \sigma'(z^{(3)}_j) \sum_{i=1}^{n_3} w^{(3)}_{ij} "
        r"\sigma'(z^{(3)}_i) 2 (a^{(3)}_i - y_i)",
        "sigma' of the wrong layer",
        r"sigma'\(z\^\(3\)\) is written where sigma'\(z\^\(2\)\)",
    ),
    wrong(
        "ng dZ3 g' kept",
        None,
        r"dZ^{[3]}_j = (A^{[3]}_j - Y_j) g'(Z^{[3]}_j)",
        "cross-entropy's sigma' kept",
        r"--loss cross-entropy and a sigmoid output",
        **NG,
    ),
    wrong(
        "cross-entropy w3 sigma' kept",
        "w^(3)_jk",
        "(a^(3)_j - y_j) σ′(z^(3)_j) a^(2)_k",
        "cross-entropy's sigma' kept",
        r"sigma'\(z\^\(L\)\) is kept where it cancels",
        **CE,
    ),
    wrong(
        "cross-entropy a1 sigma' kept",
        "a^(1)_k",
        "sum_j(w^(2)_jk σ′(z^(2)_j) sum_i(w^(3)_ij σ′(z^(3)_i) (a^(3)_i - y_i)))",
        "cross-entropy's sigma' kept",
        r"is kept where it cancels",
        **CE,
    ),
    wrong(
        "a2 w_kj",
        "a^(2)_k",
        f"sum_j(w^(3)_kj * {D3})",
        "w_kj for w_jk",
        r"w_kj is written for w_jk",
    ),
    wrong(
        "nielsen BP2 w_jk",
        None,
        r"δ^2_j = \sum_k w^3_{jk} δ^3_k σ'(z^2_j)",
        "w_kj for w_jk",
        r"w_kj is written for w_jk",
        **HALF,
    ),
    wrong(
        "a1 w_kj",
        "a^(1)_k",
        f"sum_j(w^(2)_kj * {D2})",
        "w_kj for w_jk",
        r"w_kj is written for w_jk",
        **TANH,
    ),
    wrong(
        "b2 w of layer 2",
        "b^(2)_j",
        D2.replace("w^(3)_ij", "w^(2)_ij"),
        "the wrong layer's W",
        r"w\^\(2\) is written where w\^\(3\) belongs",
    ),
    wrong(
        "ng dA1 W of layer 3",
        None,
        # with g'(Z^{[2]}_j) written: beside only W^{[3]}_{jk} and dZ^{[2]}_j the sum would
        # run over W^{[3]}'s rows, n_3 units, and the claim match no mistake
        r"dA^{[1]}_k = \sum_j W^{[3]}_{jk} g'(Z^{[2]}_j) dA^{[2]}_j",
        "the wrong layer's W",
        r"w\^\(3\) is written where w\^\(2\) belongs",
        **NG,
    ),
    wrong(
        "a1 w of layer 1",
        "a^(1)_k",
        f"sum_j(w^(1)_jk * {D2})",
        "the wrong layer's W",
        r"w\^\(1\) is written where w\^\(2\) belongs",
    ),
    wrong(
        "nielsen BP4 l3 j and k",
        None,
        r"∂C/∂w^3_{jk} = a^2_j δ^3_k",
        "j and k swapped",
        r"j and k are swapped: in dC_0/dw\^\(3\)_jk",
        **HALF,
    ),
    wrong(
        "ng dW1 j and k",
        None,
        r"dW^{[1]}_{jk} = dZ^{[1]}_k * A^{[0]}_j",
        "j and k swapped",
        r"j and k are swapped: in dC_0/dw\^\(1\)_jk",
        **NG,
    ),
    wrong(
        "seed a2 no sum",
        "a^(2)_k",
        "w^(L)_jk ⋅ σ′(z^(L)_j) ⋅ 2(a^(L)_j − y_j)",
        "sum over j missing",
        r"the sum over j is missing",
    ),
    wrong(
        "goodfellow a1 no sum",
        "a^(1)_k",
        r"w^{(2)}_{jk} \sigma'\left(z^{(2)}_j\right) \frac{\partial C_0}{\partial a^{(2)}_{j}}",
        "sum over j missing",
        r"the sum over j is missing",
        **CE,
    ),
    wrong(
        "cross-entropy a2 no sum",
        "a^(2)_k",
        r"w^{(3)}_{jk} \left(a^{(3)}_j - y_j\right)",
        "sum over j missing",
        r"the sum over j is missing",
        **CE,
    ),
    wrong(
        "goodfellow a1 sum to n_L",
        "a^(1)_k",
        r"\sum_{j=0}^{n_L-1} w^{(2)}_{jk} \sigma'(z^{(2)}_j) \frac{\partial C_0}{\partial "
        r"a^{(2)}_{j}}",
        "sum over the wrong layer's units",
        r"a sum runs over the units of layer 3",
    ),
    wrong(
        "goodfellow a2 one-based to n_1",
        "a^(2)_k",
        r"\sum_{j=1}^{n_1} w^{(3)}_{jk} \sigma'(z^{(3)}_j) 2 (a^{(3)}_j - y_j)",
        "sum over the wrong layer's units",
        r"a sum runs over the units of layer 1",
    ),
    wrong(
        "nielsen BP4 l2 a^2",
        None,
        r"∂C/∂w^2_{jk} = a^2_k δ^2_j",
        "a^(l) for a^(l-1)",
        r"a\^\(2\) is written where a\^\(1\) belongs",
        **HALF,
    ),
    wrong(
        "ng dW1 A1",
        None,
        r"dW^{[1]}_{jk} = dZ^{[1]}_j * A^{[1]}_k",
        "a^(l) for a^(l-1)",
        r"a\^\(1\) is written where a\^\(0\) belongs",
        **NG,
    ),
    wrong(
        "nielsen BP4 l2 no a",
        None,
        r"∂C/∂w^2_{jk} = δ^2_j",
        "a^(l-1)_k missing",
        r"the factor a\^\(1\)_k is missing",
        **HALF,
    ),
    wrong(
        "seed w1 no a",
        "w^(1)_jk",
        D1.replace("*", "·"),
        "a^(l-1)_k missing",
        r"the factor a\^\(0\)_k is missing",
    ),
    wrong(
        "nielsen BP3 l2 from BP4",
        None,
        r"∂C/∂b^2_j = a^1_k δ^2_j",
        "b copied from w",
        r"dC_0/dw\^\(2\)_jk is copied for the bias",
        **HALF,
    ),
    wrong(
        "ng db3 from dW3",
        None,
        r"db^{[3]}_j = dZ^{[3]}_j * A^{[2]}_k",
        "b copied from w",
        r"dC_0/dw\^\(3\)_jk is copied for the bias",
        **NG,
    ),
    wrong(
        "cross-entropy w3 y - a",
        "w^(3)_jk",
        "a^(2)_k (y_j - a^(3)_j)",
        "sign flipped",
        r"^your expression is -1 times the derivative: the sign is flipped",
        **CE,
    ),
    wrong(
        "softmax z3 y - a",
        "z^(3)_j",
        "y_j - a^(3)_j",
        "sign flipped",
        r"^your expression is -1 times the derivative",
        **SOFTMAX,
    ),
    wrong(
        "seed a1 y - a",
        "a^(1)_k",
        f"sum_j(w^(2)_jk * {D2})".replace("(a^(3)_i - y_i)", "(y_i − a^(3)_i)"),
        "sign flipped",
        r"the sign is flipped",
    ),
    wrong(
        "w2 no factor 2",
        "w^(2)_jk",
        "a^(1)_k " + D2.replace("2*(", "("),
        "factor 2 missing",
        r"^your expression is exactly ½ of the derivative.*give --loss half-squared",
    ),
    wrong(
        "seed b1 no factor 2",
        "b^(1)_j",
        D1.replace("2*(", "(").replace("*", "·"),
        "factor 2 missing",
        r"exactly ½ of the derivative.*--loss half-squared",
    ),
    wrong(
        "nielsen BP1 factor 2",
        None,
        r"δ^3_j = 2(a^3_j - y_j) σ'(z^3_j)",
        "factor 2 too many",
        r"^your expression is exactly 2 times the derivative.*give --loss squared",
        **HALF,
    ),
    wrong(
        "half-squared w1 factor 2",
        "w^(1)_jk",
        f"a^(0)_k * {D1}",
        "factor 2 too many",
        r"exactly 2 times the derivative: --loss half-squared is the ½ convention",
        **HALF,
    ),
    wrong(
        "b3 loss itself",
        "b^(3)_j",
        "σ′(z^(3)_j) (a^(3)_j − y_j)^2",
        "cost undifferentiated",
        r"the loss itself is written where its derivative belongs",
    ),
    wrong(
        "half-squared a3 loss itself",
        "a^(3)_j",
        "(a^(3)_j - y_j)^2 / 2",
        "cost undifferentiated",
        r"the loss itself is written where its derivative belongs",
        **HALF,
    ),
    wrong(
        "mean over outputs b3",
        "b^(3)_j",
        f"{D3} / 3",
        "sum versus mean",
        r"exactly 1/n_L of the derivative",
        **THREE_OUT,
    ),
    wrong(
        "mean over outputs w2",
        "w^(2)_jk",
        f"5 a^(1)_k * {D2}",
        "sum versus mean",
        r"exactly n_L times the derivative",
        **FIVE_OUT,
    ),
    # constant multiples that no convention explains
    wrong(
        "cross-entropy b2 half",
        "b^(2)_j",
        "sigma'(z^(2)_j) * sum_i(w^(3)_ij * (a^(3)_i - y_i)) / 2",
        "constant multiple",
        r"^your expression is exactly ½ of the derivative$",
        **CE,
    ),
    wrong(
        "squared w3 factor 4",
        "w^(3)_jk",
        "4 (a^(3)_j - y_j) σ′(z^(3)_j) a^(2)_k",
        "constant multiple",
        r"^your expression is exactly 2 times the derivative$",
    ),
    wrong(
        "huber b3 negated",
        "b^(3)_j",
        "-sigma'(z^(3)_j) * dC_0/da^(3)_j",
        "constant multiple",
        r"-1 times the derivative",
        **HUBER,
    ),
    wrong(
        "softmax w3 times 3",
        "w^(3)_jk",
        "3 (a^(3)_j - y_j) a^(2)_k",
        "constant multiple",
        r"^your expression is exactly 3 times the derivative$",
        **SOFTMAX,
    ),
    # matrix claims
    wrong(
        "matrix W3 no transpose",
        "W^(3)",
        "delta^(3) a^(2)",
        "matrix: missing transpose",
        r"a transpose is missing: a\^\(2\) is n_2 x n",
    ),
    wrong(
        "matrix a1 no transpose",
        "a^(1)",
        "W^(2) δ^(2)",
        "matrix: missing transpose",
        r"a transpose is missing: W\^\(2\) is n_2 x n_1",
    ),
    wrong(
        "matrix a1 W of layer 3",
        "a^(1)",
        "W^(3)T δ^(2)",
        "matrix: wrong layer's W",
        r"carried by W\^\(2\), not W\^\(3\)",
    ),
    wrong(
        "matrix a2 W of layer 2",
        "a^(2)",
        "W^(2)T δ^(3)",
        "matrix: wrong layer's W",
        r"carried by W\^\(3\), not W\^\(2\)",
    ),
    wrong(
        "matrix delta3 no 1/n",
        "delta^(3)",
        "2 (a^(3) - y) ⊙ σ'(z^(3))",
        "matrix: missing 1/n",
        r"a 1/n is missing",
    ),
    wrong(
        "matrix W3 no 1/n",
        "W^(3)",
        "(2 (a^(3) - y) ⊙ σ'(z^(3))) a^(2)T",
        "matrix: missing 1/n",
        r"a 1/n is missing",
    ),
    wrong(
        "matrix delta3 halved",
        "delta^(3)",
        "1/n (a^(3) - y) ⊙ σ'(z^(3))",
        "matrix: constant multiple",
        r"exactly 1/2 of the derivative",
    ),
    wrong(
        "matrix delta3 double",
        "delta^(3)",
        "2/n (a^(3) - y) ⊙ σ'(z^(3))",
        "matrix: constant multiple",
        r"exactly 2 times the derivative",
        **HALF,
    ),
    wrong(
        "matrix W2 negated",
        "W^(2)",
        "-δ^(2) a^(1)T",
        "matrix: constant multiple",
        r"the sign is flipped",
    ),
    wrong(
        "matrix delta2 no sigma'",
        "delta^(2)",
        "W^(3)T δ^(3)",
        "matrix: sigma' missing",
        r"sigma'\(z\^\(2\)\) is missing",
    ),
    wrong(
        "matrix W1 no sigma'",
        "W^(1)",
        "(W^(2)T δ^(2)) a^(0)T",
        "matrix: sigma' missing",
        r"sigma'\(z\^\(1\)\) is missing",
        **TANH,
    ),
]

CORPUS = CORRECT + WRONG


def _spec(case: Claim) -> NetworkSpec:
    return NetworkSpec(layers=3, **case.spec)


def _fits(template: str, hint: str) -> bool:
    """``hint`` is ``template`` with its words filled in."""
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(re.escape(p) if n % 2 == 0 else ".+?" for n, p in enumerate(parts))
    return re.fullmatch(pattern, hint, re.S) is not None


@pytest.mark.slow
@pytest.mark.parametrize("case", CORPUS, ids=lambda c: f"{c.status} {c.id}")
def test_each_claim_is_decided_and_each_mistake_named(case):
    v = prove(_spec(case), case.wrt, case.text)
    assert v.status == case.status, v.message
    if case.status == "PROVED":
        return
    assert v.hint is not None and re.search(case.hint, v.hint), v.hint
    if case.mistake in MISTAKES:
        assert _fits(MISTAKES[case.mistake].hint, v.hint), v.hint


def test_the_corpus_is_large_and_its_rows_are_distinct():
    assert len(CORPUS) >= 100
    assert len(CORRECT) >= 60 and len(WRONG) >= 40
    assert len({c.id for c in CORPUS}) == len(CORPUS)
    assert len({(c.wrt, c.text, tuple(sorted(c.spec.items()))) for c in CORPUS}) == len(CORPUS)
    assert all(c.status == "PROVED" and c.hint is None for c in CORRECT)
    assert all(c.status == "REFUTED" and c.hint for c in WRONG)


def test_every_mistake_has_two_claims_in_different_places():
    """A new row of MISTAKES needs claims here; a claim's mistake is a row or a listed other."""
    named = {c.mistake for c in WRONG}
    assert named <= set(MISTAKES) | set(OTHER_MISTAKES), named - set(MISTAKES)
    for name in [*MISTAKES, *OTHER_MISTAKES]:
        places = {(c.wrt, tuple(sorted(c.spec.items()))) for c in WRONG if c.mistake == name}
        assert len(places) >= 2, f"{name}: {len(places)} claims; write two"


def _target(case: Claim) -> tuple[str, int] | None:
    """(quantity, layer) of an entry claim, None for a matrix claim."""
    spec = _spec(case)
    wrt = resolve_wrt(spec, case.wrt, case.text)
    if matrix_wrt(spec, wrt):
        return None
    target = parse_wrt(spec, wrt)
    return target.quantity, target.layer


def test_every_layer_is_proved_for_w_b_a_and_z():
    proved = {_target(c) for c in CORRECT}
    for quantity in ("W", "b", "a", "z"):
        for layer in (1, 2, 3):
            assert (quantity, layer) in proved, (quantity, layer)


def test_the_corpus_covers_the_losses_activations_and_notations():
    specs = [_spec(c) for c in CORRECT]
    assert {s.loss for s in specs} >= {
        "squared",
        "half-squared",
        "cross-entropy",
        "softmax-cross-entropy",
        "huber",
    }
    used = {name for s in specs for name in s.activations}
    assert used >= {"sigmoid", "tanh", "relu", "softplus", "leaky_relu", "gelu", "silu"}
    texts = " ".join(c.text for c in CORRECT)
    for mark in (
        "−",
        "σ′",
        "·",
        "⋅",
        "a^L_j",
        "w^3_{",
        "δ^",
        "W^{[",
        "dZ^{[",
        "g'",
        r"\sum\limits",
        "_{j=1}^{n_",
        r"\left(",
        r"\big(",
        "a^(2)T",
    ):
        assert mark in texts, mark
    assert sum(c.wrt is None for c in CORRECT) >= 10
