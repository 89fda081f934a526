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
