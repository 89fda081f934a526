"""bpverify train: the results that must hold with fixed seeds, files, and bad input."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from bpverify.cli.main import main


def run(*args):
    return CliRunner().invoke(main, ["train", *args])


def summary(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_xor_reaches_train_accuracy_one():
    s = summary(
        run(
            "--data",
            "xor",
            "--widths",
            "2,4,1",
            "--lr",
            "0.1",
            "--epochs",
            "500",
            "--batch-size",
            "0",
            "--json",
        )
    )
    assert s["train_accuracy"] == 1.0
    assert s["test_accuracy"] is None and s["epochs"] == 500


@pytest.mark.parametrize(
    ("data", "activation", "epochs"), [("moons", "tanh", 100), ("spirals", "tanh", 200)]
)
def test_moons_and_spirals_reach_097_on_held_out_data(data, activation, epochs):
    s = summary(
        run(
            "--data",
            data,
            "--hidden",
            "16,16",
            "--activation",
            activation,
            "--epochs",
            str(epochs),
            "--batch-size",
            "32",
            "--lr",
            "0.01",
            "--json",
        )
    )
    assert s["test_accuracy"] >= 0.97


def test_moons_with_relu():
    s = summary(
        run(
            "--data",
            "moons",
            "--hidden",
            "16,16",
            "--activation",
            "relu,relu,sigmoid",
            "--epochs",
            "100",
            "--json",
        )
    )
    assert s["test_accuracy"] >= 0.97


def test_digits_reaches_095():
    pytest.importorskip("sklearn")
    s = summary(
        run(
            "--data",
            "digits",
            "--hidden",
            "32",
            "--activation",
            "tanh",
            "--loss",
            "softmax-cross-entropy",
            "--epochs",
            "30",
            "--json",
        )
    )
    assert s["test_accuracy"] >= 0.95


def test_with_json_stdout_is_the_json_object_alone_and_the_summary_goes_to_stderr(tmp_path):
    r = run("--data", "circles", "--hidden", "8", "--activation", "tanh", "--epochs", "5", "--json")
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("epochs 5, train loss ")
    assert "test accuracy" in line
    assert set(json.loads(r.stdout)) >= {
        "epochs",
        "train_loss",
        "test_loss",
        "train_accuracy",
        "test_accuracy",
    }


def test_float32_training():
    s = summary(
        run(
            "--data",
            "moons",
            "--hidden",
            "8",
            "--activation",
            "tanh",
            "--epochs",
            "20",
            "--dtype",
            "float32",
            "--json",
        )
    )
    assert s["train_accuracy"] > 0.8


def test_save_load_resumes(tmp_path):
    model = tmp_path / "m.npz"
    args = ["--data", "moons", "--hidden", "8", "--activation", "tanh", "--seed", "3"]
    whole = summary(run(*args, "--epochs", "10", "--json"))
    summary(run(*args, "--epochs", "4", "--save", str(model), "--json"))
    resumed = summary(
        run(
            "--data",
            "moons",
            "--seed",
            "3",
            "--load",
            str(model),
            "--epochs",
            "6",
            "--save",
            str(model),
            "--json",
        )
    )
    assert resumed["epochs"] == 10
    assert resumed["train_loss"] == pytest.approx(whole["train_loss"], rel=1e-12)
    with np.load(model) as f:
        assert "W1" in f.files


def test_plot(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "loss.png"
    summary(
        run("--data", "xor", "--widths", "2,3,1", "--epochs", "5", "--plot", str(out), "--json")
    )
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_interrupt_leaves_the_saved_model_intact(tmp_path, monkeypatch):
    import bpverify.numeric.train.loop as engine

    model = tmp_path / "m.npz"
    summary(
        run("--data", "xor", "--widths", "2,3,1", "--epochs", "2", "--save", str(model), "--json")
    )
    before = model.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "train", interrupted)
    r = run("--data", "xor", "--widths", "2,3,1", "--epochs", "5", "--save", str(model))
    assert r.exit_code == 130
    assert "nothing was saved" in r.stderr
    assert model.read_bytes() == before


def _csv(tmp_path, text):
    path = tmp_path / "d.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "nope.csv", "--hidden", "4"], "does not exist: check the path"),
        (["--data", "moons", "--widths", "3,4,1"], "widths 3,4,1 do not fit the data"),
        (["--data", "moons", "--hidden", "4", "--widths", "2,4,1"], "not both"),
        (["--data", "bogus", "--hidden", "4"], "unknown data set"),
        (["--data", "xor", "--widths", "2,4,1", "--activation", "swish"], "unknown activation"),
        (["--data", "xor", "--widths", "2,4,1", "--epochs", "-1"], "not in the range x>=0"),
        (["--data", "xor", "--load", "missing.npz"], "missing.npz"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, message):
    r = run(*args)
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr


@pytest.mark.parametrize(
    ("text", "extra", "message"),
    [
        ("a,b,y\n1,2,0\n3,x,1\n", [], "row 3, column 'b' is not a number"),
        ("a,b,y\n1,2,0\n3,nan,1\n", [], "row 3, column 'b' is NaN"),
        ("a,b,y\n1,2,0\n3,4,1\n", ["--target", "label"], "label"),
    ],
)
def test_bad_csv(tmp_path, text, extra, message):
    r = run("--data", _csv(tmp_path, text), "--hidden", "3", *extra)
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr


def test_divergence_is_a_failed_run_with_exit_code_1_not_bad_input(tmp_path):
    model = tmp_path / "m.npz"
    r = run(
        "--data",
        "xor",
        "--widths",
        "2,4,1",
        "--activation",
        "identity",
        "--optimizer",
        "sgd",
        "--lr",
        "1e6",
        "--epochs",
        "50",
        "--save",
        str(model),
    )
    assert r.exit_code == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("bpverify train: training diverged at epoch ")
    assert "lower --lr; stopped, nothing was saved" in last
    assert "Traceback" not in r.output and not model.exists()


def test_check_every_passes_on_the_generated_code():
    result = run(
        "--data",
        "moons",
        "--hidden",
        "8",
        "--activation",
        "tanh",
        "--epochs",
        "4",
        "--check-every",
        "2",
        "--json",
    )
    assert summary(result)["epochs"] == 4


def test_check_every_stops_training_when_the_gradients_are_wrong(monkeypatch, tmp_path):
    from bpverify.numeric.codegen.program import Program

    right = Program.gradients

    def wrong(self, params, X, Y, activations=False):
        grads = right(self, params, X, Y, activations)
        grads["W2"] = grads["W2"] * 1.01
        return grads

    monkeypatch.setattr(Program, "gradients", wrong)
    save = tmp_path / "model.npz"
    result = run(
        "--data",
        "xor",
        "--widths",
        "2,4,1",
        "--epochs",
        "10",
        "--check-every",
        "5",
        "--save",
        str(save),
    )
    assert result.exit_code == 1
    assert "gradient check failed at epoch 0 (W2)" in result.stderr
    assert "W2      symbolic-generated" in result.stderr
    assert "Traceback" not in result.output and not save.exists()


def test_check_every_must_be_positive():
    result = run("--data", "xor", "--widths", "2,4,1", "--check-every", "0")
    assert result.exit_code == 2 and "--check-every" in result.stderr


# -- refused before training: options that cannot apply, outputs, memory --------------------------


def _bad(r, *fragments):
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.output, r.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "training L=" not in r.output  # nothing trained


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "m.npz"
    summary(run("--data", "xor", "--epochs", "1", "--save", str(path), "--json"))
    return str(path)


@pytest.mark.parametrize(
    ("extra", "flags"),
    [
        (["--widths", "2,5,1"], "--widths"),
        (["--activation", "tanh"], "--activation"),
        (["--hidden", "8", "--loss", "cross-entropy"], "--hidden and --loss"),
        (["--layers", "2", "--leaky-slope", "0.1"], "--layers and --leaky-slope"),
    ],
)
def test_options_describing_the_network_are_refused_with_load(model, extra, flags):
    _bad(run("--data", "xor", "--load", model, *extra), f"{flags} cannot apply with --load")


def test_an_optimizer_is_refused_with_a_model_that_resumes_its_own(model):
    _bad(run("--data", "xor", "--load", model, "--optimizer", "sgd"), "resumes its own adam")
    summary(run("--data", "xor", "--load", model, "--lr", "0.01", "--epochs", "1", "--json"))


@pytest.mark.parametrize(
    ("suffix", "head"), [("svg", b"<?xml"), ("pdf", b"%PDF"), ("PNG", b"\x89PNG")]
)
def test_the_plot_format_follows_the_suffix(tmp_path, suffix, head):
    pytest.importorskip("matplotlib")
    out = tmp_path / f"loss.{suffix}"
    summary(run("--data", "xor", "--epochs", "2", "--plot", str(out), "--json"))
    assert out.read_bytes().startswith(head)


def test_a_plot_suffix_without_a_format_is_refused_before_training(tmp_path):
    _bad(run("--data", "xor", "--plot", str(tmp_path / "loss.txt")), "loss.txt", ".svg or .pdf")


def test_save_and_plot_on_one_path_are_refused(tmp_path):
    same = str(tmp_path / "out.npz")
    _bad(run("--data", "xor", "--save", same, "--plot", same), "--save and --plot both write")


def test_a_negative_seed_names_the_option():
    _bad(run("--data", "xor", "--seed", "-1"), "'--seed'", "x>=0")


@pytest.mark.parametrize(
    ("args", "fix"),
    [
        (["--data", "xor", "--samples", "1000000000"], "give fewer --samples"),
        (["--data", "moons", "--samples", "1000000", "--hidden", "2000"], "smaller network"),
    ],
    ids=["samples", "hidden"],
)
def test_a_run_too_large_for_the_memory_limit_is_refused_before_it_allocates(args, fix):
    _bad(run(*args), "MiB, more than the 4096 MiB accepted", fix, "BPVERIFY_MAX_MEMORY=MIB")


def test_nan_weights_in_a_model_are_named_not_blamed_on_the_learning_rate(model):
    with np.load(model) as f:
        arrays = dict(f)
    arrays["W1"] = np.full_like(arrays["W1"], np.nan)
    np.savez(model, **arrays)
    r = run("--data", "xor", "--load", model)
    _bad(r, "parameter W1 holds NaN", "train the model again")
    assert "--lr" not in r.stderr


def test_l2_decays_the_weights_and_the_summary_names_the_convention(tmp_path):
    args = ["--data", "xor", "--epochs", "200", "--seed", "1", "--json"]
    norms = {}
    for l2 in ("0", "1"):
        result = run(*args, "--l2", l2, "--save", str(tmp_path / f"{l2}.npz"))
        s = summary(result)
        assert ("l2 1" in s["network"]) == (l2 == "1")
        with np.load(tmp_path / f"{l2}.npz") as model:
            norms[l2] = sum(float(np.sum(model[k] ** 2)) for k in model.files if k[:1] == "W")
    assert norms["1"] < 0.5 * norms["0"]


def test_the_sum_cost_trains_and_is_refused_beside_load(tmp_path):
    s = summary(run("--data", "xor", "--epochs", "50", "--cost", "sum", "--lr", "0.01", "--json"))
    assert "sum over samples" in s["network"]
    run("--data", "xor", "--epochs", "1", "--save", str(tmp_path / "m.npz"))
    refused = run("--data", "xor", "--load", str(tmp_path / "m.npz"), "--cost", "sum")
    assert refused.exit_code == 2 and "--cost cannot apply with --load" in refused.output
