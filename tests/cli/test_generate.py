import os
import stat

import numpy as np
from click.testing import CliRunner

from bpverify.cli.main import main


def test_generate_writes_a_module(tmp_path):
    out = tmp_path / "grads.py"
    r = CliRunner().invoke(main, ["generate", "--layers", "2", "--widths", "2,4,1", "-o", str(out)])
    assert r.exit_code == 0, r.output
    ns = {}
    exec(out.read_text(), ns)
    params = {"W1": np.ones((4, 2)), "b1": np.zeros(4), "W2": np.ones((1, 4)), "b2": np.zeros(1)}
    assert ns["forward"](params, np.zeros((3, 2))).shape == (3, 1)
    assert "L=2, widths 2,4,1, sigmoid, squared loss" in out.read_text()


def test_generate_prints_without_output():
    r = CliRunner().invoke(main, ["generate", "--layers", "1", "--activation", "relu"])
    assert r.exit_code == 0
    assert r.stdout.startswith('"""Backpropagation for L=1')
    assert "def relu_prime(z, out=None):" in r.stdout


def test_bad_input(tmp_path):
    out = tmp_path / "keep.py"
    out.write_text("precious")
    r = CliRunner().invoke(main, ["generate", "--layers", "2", "--loss", "hinge", "-o", str(out)])
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "unknown loss 'hinge'" in r.stderr
    assert out.read_text() == "precious"


def test_softmax_cross_entropy_writes_a_module_that_runs(tmp_path):
    out = tmp_path / "g.py"
    argv = ["generate", "--widths", "2,3,2", "--loss", "softmax-cross-entropy", "-o", str(out)]
    r = CliRunner().invoke(main, argv)
    assert r.exit_code == 0, r.output
    ns = {}
    exec(compile(out.read_text(), str(out), "exec"), ns)
    params = {"W1": np.ones((3, 2)), "b1": np.zeros(3), "W2": np.ones((2, 3)), "b2": np.zeros(2)}
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert set(ns["gradients"](params, np.zeros((2, 2)), Y)) >= {"W1", "b1", "W2", "b2"}


def _specs():
    """A network for every activation row with every loss row: the activation as one name (on
    every layer, or the hidden one when the loss owns the output's), or on the hidden layer with
    the first output activation the loss takes."""
    from bpverify.derive import ACTIVATIONS, LOSSES, NetworkSpec

    for loss in LOSSES:
        for activation in ACTIVATIONS:
            for acts in (activation, *((activation, o) for o in ACTIVATIONS)):
                try:
                    yield NetworkSpec(2, (2, 3, 2), acts, loss)
                    break
                except ValueError:
                    continue


def test_every_row_of_the_tables_generates_a_module_that_compiles():
    from bpverify.derive import ACTIVATIONS, LOSSES
    from bpverify.numeric import generate_source

    specs = list(_specs())
    assert {s.activations[0] for s in specs} == set(ACTIVATIONS)
    assert {s.loss for s in specs} == set(LOSSES)
    assert len(specs) == len(ACTIVATIONS) * len(LOSSES)
    for spec in specs:
        compile(generate_source(spec), spec.describe(), "exec")  # SyntaxError fails the test


def test_an_unwritable_output_is_one_line_before_the_work(tmp_path, monkeypatch):
    import bpverify.cli.files as files
    import bpverify.numeric as numeric

    real_open = files.os.open

    def refusing(path, flags, *args, **kwargs):
        if flags & files.os.O_CREAT:  # root writes anywhere: the directory's refusal simulated
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    def generated(spec):
        raise AssertionError("the module was generated")

    monkeypatch.setattr(files.os, "open", refusing)
    monkeypatch.setattr(numeric, "generate_source", generated)
    r = CliRunner().invoke(main, ["generate", "--widths", "2,1", "-o", str(tmp_path / "g.py")])
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1, r.output
    assert r.stderr.startswith(
        f"bpverify generate: cannot write -o {tmp_path / 'g.py'}: no permission"
    )


def test_the_module_gets_the_usual_mode_and_an_existing_one_keeps_its_own(tmp_path):
    new, old = tmp_path / "new.py", tmp_path / "old.py"
    old.write_text("# old\n")
    old.chmod(0o755)
    umask = os.umask(0o022)
    try:
        for out in (new, old):
            r = CliRunner().invoke(main, ["generate", "--widths", "2,1", "-o", str(out)])
            assert r.exit_code == 0, r.output
    finally:
        os.umask(umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644
    assert stat.S_IMODE(old.stat().st_mode) == 0o755 and "def gradients" in old.read_text()


def test_generate_refuses_a_network_past_the_limits_and_stops_at_its_budget():
    runner = CliRunner()
    r = runner.invoke(main, ["generate", "--layers", "100000"])
    assert r.exit_code == 2 and "BPVERIFY_MAX_LAYERS=N" in r.stderr
    r = runner.invoke(main, ["generate", "--widths", "1" + "0" * 4000 + ",2"])
    assert r.exit_code == 2 and "--widths: a width of 4001 digits" in r.stderr
    r = runner.invoke(main, ["generate", "--layers", "200", "--timeout", "1"])
    assert r.exit_code == 2
    assert "the code generation did not finish within the 1 s budget (--timeout 1)" in r.stderr
