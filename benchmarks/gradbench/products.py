"""The matrix products the generated code computes, read from its source, with their operands:
the GEMM roofline and the parts of the breakdown are timed on them."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from bpverify.numeric.codegen.program import Program
from gradbench.baselines import DEPTH

ALL_PRODUCTS = ("needed", "input", "repeat")
PUBLIC = ("forward", "loss", "gradients")


def _product_operands(node) -> tuple | None:
    """The two operands of a matrix product written ``A @ B`` or ``A.dot(B)``, else None."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return node.left, node.right
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "dot"
        and len(node.args) == 1
    ):
        return node.func.value, node.args[0]
    return None


def _targets(stmt) -> list[str]:
    """The names a statement assigns, including those of (nested) tuple targets."""
    if not isinstance(stmt, ast.Assign):
        return []
    return [t.id for target in stmt.targets for t in ast.walk(target) if isinstance(t, ast.Name)]


class GeneratedProducts:
    """The matrix products of one gradient evaluation (``_forward``, then the backward pass of
    ``_gradients``), read from their source, with their operands: the statements are run one by
    one on the arguments ``gradients`` passes (``X.T``, ``b[:, None]``, ...), so each product
    gets the very arrays (and memory layouts) it multiplies in the generated code."""

    def __init__(self, prog: Program, params: dict, X: np.ndarray, Y: np.ndarray):
        functions = [prog.function(name) for name in ("_forward", "_gradients")]
        if "_forward(" not in inspect.getsource(functions[1]):
            # code generated before _forward was shared: _gradients computes its own forward
            functions = functions[1:]
        self.source = "\n\n".join(textwrap.dedent(inspect.getsource(f)) for f in functions)
        *forwards, backward = ast.parse(self.source).body
        # The module's helpers that the two call (sigma_and_prime, tanh_prime, ...), in the
        # order they are first called.
        calls = [
            node
            for fdef in (*forwards, backward)
            for node in ast.walk(fdef)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and not node.func.id.startswith("_")
            and node.func.id not in PUBLIC
            and callable(functions[0].__globals__.get(node.func.id))
        ]
        calls.sort(key=lambda node: (node.lineno, node.col_offset))
        self.helper_names = list(dict.fromkeys(node.func.id for node in calls))
        self.helpers = "\n\n\n".join(
            textwrap.dedent(inspect.getsource(prog.function(name))).strip()
            for name in self.helper_names
        )
        args = []
        for l in range(1, DEPTH + 1):
            args += [params[f"W{l}"], params[f"b{l}"][:, None]]
        args += [X.T, Y.T, X.shape[0]]
        self.args = args
        ns = dict(functions[0].__globals__)
        ns.update(zip((a.arg for a in backward.args.args), args, strict=True))
        self.namespace = ns
        # The statements run one by one, those of _forward first; each product's operands are
        # taken just before the statement that multiplies them, since later statements may
        # reuse their buffers in place or delete their names. ``values`` keeps every quantity as
        # it was assigned (z1, a1, delta1, ...; a copy where a later statement overwrites it in
        # place). The backward pass then calls _forward itself, for fresh arrays.
        self.values: dict = {}
        nodes, self.operands = [], []
        for fdef in (*forwards, backward):
            for stmt in fdef.body[:-1]:  # the last returns
                for node in self._products(stmt):
                    A, B = (self._eval(side) for side in _product_operands(node))
                    # A product with one column of ones is the sum over samples (dC/db), not a
                    # GEMM.
                    if B.ndim == 2 and B.shape[1] > 1:
                        nodes.append(node)
                        self.operands.append((A, B))
                self._run(stmt, record=not forwards or fdef is forwards[0])
        self.texts = [ast.unparse(node) for node in nodes]
        # The input gradient dC/da0 is the product W1.T delta1, which only
        # ``gradients(..., activations=True)`` computes (in ``_gradients_and_inputs``).
        seen: Counter = Counter()
        self.roles = []
        for text in self.texts:
            seen[text] += 1
            self.roles.append("repeat" if seen[text] > 1 else "needed")
        self.input_operands = [(ns["W1"].T, self.values["delta1"])]

    @staticmethod
    def _products(stmt) -> list:
        products = [node for node in ast.walk(stmt) if _product_operands(node)]
        return sorted(products, key=lambda node: (node.lineno, node.col_offset))

    def _run(self, stmt, record: bool) -> None:
        ns = self.namespace
        targets = _targets(stmt)
        for name in targets:
            if record and name.startswith("a") and name[1:].isdigit():
                # a^(l) = f(z^(l)): z^(l) is final here, and the statement may reuse its
                # memory.
                self.values[f"z{name[1:]}"] = ns[f"z{name[1:]}"].copy()
        exec(compile(ast.fix_missing_locations(ast.Module([stmt], [])), "<gen>", "exec"), ns)
        for name in targets:
            if name != "_":
                # a copy of a^(l), which a later statement may overwrite in place
                copy = name.startswith("a") and name[1:].isdigit()
                self.values[name] = ns[name].copy() if copy else ns[name]

    def _eval(self, node):
        return eval(compile(ast.Expression(node), "<gen>", "eval"), self.namespace)

    def runner(self, roles: Sequence[str]) -> Callable[[], None]:
        """Runs the products of the given roles; ``("input",)`` runs dC/da0's product, which
        ``_gradients`` does not compute."""
        if tuple(roles) == ("input",):
            ops = self.input_operands
        else:
            ops = [ab for ab, role in zip(self.operands, self.roles, strict=True) if role in roles]

        def run() -> None:
            for A, B in ops:
                A @ B

        return run

    def count(self, roles: Sequence[str]) -> int:
        return sum(role in roles for role in self.roles)
