"""--cost and --l2, the network options of the cost's conventions, in every command that takes
the network options: derive shows them, generate writes them, check compares under them, prove
takes them in matrix claims, train trains with them (tests/cli/test_train.py)."""

import pytest
import sympy as sp
from click.testing import CliRunner

from bpverify.cli.main import main
from bpverify.cli.options import network_spec


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_network_spec_reads_cost_and_l2_exactly():
    spec = network_spec(None, "2,3,1", None, None, None, "sum", "0.1")
    assert (spec.cost, spec.l2) == ("sum", sp.Rational(1, 10))
    assert (
        network_spec(None, "2,1", None, None, None).cost,
        network_spec(2, None, None, None, None).l2,
    ) == ("mean", 0)


def test_derive_shows_the_convention_in_the_forms_it_changes():
    r = run(
        "derive",
        "--layers",
        "2",
        "--cost",
        "sum",
        "--l2",
        "0.5",
        "--form",
        "matrix",
        "--format",
        "text",
    )
    assert r.exit_code == 0, r.output
    assert "C = sum_i C_i + lambda/2 sum_l ||W^(l)||_F^2 (lambda = 1/2)" in r.output
    assert "1/2⋅W₂" in r.output and "verified against" in r.output and "MISMATCH" not in r.output


def test_bad_l2_and_cost_are_one_line_exit_2():
    for args, text in [
        (("--l2", "-1"), "--l2 -1 is negative: give a decay >= 0, e.g. --l2 0.01"),
        (("--l2", "x"), "--l2 'x' is not a number: give e.g. --l2 0.01"),
        (("--cost", "avg"), "'avg' is not one of 'mean', 'sum'"),
    ]:
        r = run("derive", "--layers", "1", *args)
        assert r.exit_code == 2 and text in r.output and len(r.output.strip().splitlines()) == 1


def test_generate_writes_the_convention_and_check_passes_it(tmp_path):
    r = run("generate", "--widths", "2,3,1", "--cost", "sum", "--l2", "0.1")
    assert r.exit_code == 0 and "+ (1 / 10) * W2" in r.output
    for args in (("--cost", "sum"), ("--l2", "0.1"), ("--cost", "sum", "--l2", "1/3")):
        r = run("check", "--widths", "3,4,2", "--activation", "tanh", "--points", "1", *args)
        assert r.exit_code == 0 and "PASS: 1 of 1" in r.output, r.output


def test_code_for_the_mean_fails_a_check_under_the_sum(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("generate", "--widths", "2,3,1", "-o", "mean.py").exit_code == 0
    plain = run("check", "--widths", "2,3,1", "--grad-fn", "mean.py:gradients", "--points", "1")
    assert plain.exit_code == 0, plain.output
    summed = ("check", "--widths", "2,3,1", "--grad-fn", "mean.py:gradients", "--points", "1")
    r = run(*summed, "--cost", "sum")
    assert r.exit_code == 1 and "FAIL: 0 of 1" in r.output


def test_a_configured_network_takes_cost_and_l2_and_refuses_them_on_the_command_line(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bpverify.toml").write_text('[[check]]\nwidths = "2,3,1"\ncost = "sum"\nl2 = 0.1\n')
    r = run("check", "--points", "1")
    assert r.exit_code == 0 and "sum over samples, l2 1/10" in r.output, r.output
    r = run("check", "--cost", "sum")
    assert r.exit_code == 2 and "--cost applies to the network of --widths" in r.output


def test_prove_takes_the_convention_in_matrix_claims():
    claim = ("prove", "--layers", "2", "--wrt", "W^(2)", "--claim", "delta^(2) a^(1)T + 1/10 W^(2)")
    assert run(*claim, "--cost", "sum", "--l2", "0.1").exit_code == 0
    assert run(*claim).exit_code == 1  # without the penalty the claim is wrong
    # one sample's C_0 has neither: an index claim is the same under every convention
    index = (
        "prove",
        "--layers",
        "2",
        "--wrt",
        "w^(2)_jk",
        "--claim",
        "2 (a^(2)_j - y_j) sigma'(z^(2)_j) a^(1)_k",
    )
    assert run(*index, "--cost", "sum", "--l2", "0.1").exit_code == 0


def test_the_cost_row_renders(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "c.png"
    r = run(
        "derive",
        "--layers",
        "2",
        "--l2",
        "0.1",
        "--form",
        "matrix",
        "--render",
        str(out),
        "--no-verify",
    )
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 0
