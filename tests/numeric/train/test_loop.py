import numpy as np
import pytest

from bpverify.derive import InputError, NetworkSpec
from bpverify.numeric.init import init_params
from bpverify.numeric.train.loop import Diverged, History, TrainingStopped, train
from bpverify.numeric.train.model_file import load_model, restore_optimizer, restore_rng, save_model
from bpverify.numeric.train.optim import make_optimizer

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def _activation(name, z):
    """The activation and its derivative."""
    if name == "sigmoid":
        a = 0.5 * (1.0 + np.tanh(0.5 * z))  # the logistic function, without overflow
        return a, a * (1.0 - a)
    if name == "identity":
        return z, np.ones_like(z)
    raise ValueError(name)


class ReferenceProgram:
    """Hand-written stand-in for a generated program, used only in these tests.

    Two layers, squared loss C = mean_i sum_j (a_ij - y_ij)^2, backprop written out by hand
    (``test_reference_program_gradients_match_finite_differences`` checks it).
    """

    def __init__(self, widths=(2, 4, 1), activation="sigmoid"):
        self.spec = NetworkSpec(2, widths, activation, "squared")

    def _layers(self, params, X):
        z1 = X @ params["W1"].T + params["b1"]
        a1, d1 = _activation(self.spec.activations[0], z1)
        z2 = a1 @ params["W2"].T + params["b2"]
        a2, d2 = _activation(self.spec.activations[1], z2)
        return a1, d1, a2, d2

    def forward(self, params, X):
        return self._layers(params, X)[2]

    def loss(self, params, X, Y):
        return float(np.mean(np.sum((self.forward(params, X) - Y) ** 2, axis=1)))

    def gradients(self, params, X, Y):
        a1, d1, a2, d2 = self._layers(params, X)
        delta2 = 2 * (a2 - Y) / len(X) * d2
        delta1 = (delta2 @ params["W2"]) * d1
        return {
            "W1": delta1.T @ X,
            "b1": delta1.sum(axis=0),
            "W2": delta2.T @ a1,
            "b2": delta2.sum(axis=0),
        }


class RecordingProgram(ReferenceProgram):
    """Records the inputs of every gradients() call."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches = []

    def gradients(self, params, X, Y):
        self.batches.append(X)
        return super().gradients(params, X, Y)


def threshold_accuracy(Y, outputs):
    return float(np.mean((outputs >= 0.5) == (Y >= 0.5)))


def xor_params(seed=3, dtype=np.float64):
    return init_params((2, 4, 1), "sigmoid", np.random.default_rng(seed), dtype=dtype)


def blobs(n=40, seed=0):
    """Two separable clusters with one 0/1 target, for minibatch runs."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    X = rng.normal(size=(n, 2)) * 0.5 + np.where(labels[:, None] == 1, 1.0, -1.0)
    return X, labels[:, None].astype(np.float64)


def test_reference_program_gradients_match_finite_differences():
    program, params = (
        ReferenceProgram((2, 3, 2)),
        init_params((2, 3, 2), "sigmoid", np.random.default_rng(0)),
    )
    X, Y = np.random.default_rng(1).normal(size=(5, 2)), np.random.default_rng(2).random((5, 2))
    grads, h = program.gradients(params, X, Y), 1e-6
    for key, p in params.items():
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + h
            up = program.loss(params, X, Y)
            p[i] = old - h
            down = program.loss(params, X, Y)
            p[i] = old
            numeric[i] = (up - down) / (2 * h)
        np.testing.assert_allclose(grads[key], numeric, rtol=1e-6, atol=1e-9)


def test_xor_is_learned_full_batch_with_adam():
    params = xor_params()
    history = train(
        ReferenceProgram(),
        params,
        XOR_X,
        XOR_Y,
        optimizer=make_optimizer("adam", 0.1),
        epochs=300,
        batch_size=None,
        rng=np.random.default_rng(0),
        accuracy=threshold_accuracy,
    )
    assert history.epochs == 300
    assert len(history.train_loss) == len(history.train_accuracy) == 300
    assert history.test_loss == [] and history.test_accuracy == []
    assert history.train_accuracy[-1] == 1.0
    assert history.train_loss[-1] < history.train_loss[0] / 100
    # The loss is measured on the trained parameters.
    assert history.train_loss[-1] == ReferenceProgram().loss(params, XOR_X, XOR_Y)


def test_history_without_accuracy_and_with_a_test_set():
    X, Y = blobs()
    history = train(
        ReferenceProgram(),
        xor_params(),
        X[:30],
        Y[:30],
        optimizer=make_optimizer("adam", 0.05),
        epochs=4,
        batch_size=8,
        rng=np.random.default_rng(0),
        X_test=X[30:],
        Y_test=Y[30:],
    )
    assert history.train_accuracy is None and history.test_accuracy is None
    assert len(history.train_loss) == len(history.test_loss) == 4
    assert all(isinstance(v, float) for v in history.train_loss + history.test_loss)


def test_test_accuracy_is_recorded():
    X, Y = blobs()
    history = train(
        ReferenceProgram(),
        xor_params(),
        X[:30],
        Y[:30],
        optimizer=make_optimizer("adam", 0.1),
        epochs=30,
        batch_size=10,
        rng=np.random.default_rng(0),
        X_test=X[30:],
        Y_test=Y[30:],
        accuracy=threshold_accuracy,
    )
    assert len(history.test_accuracy) == 30
    assert history.test_accuracy[-1] == 1.0


def test_minibatches_cover_every_sample_once_per_epoch():
    X, Y = blobs(n=10)
    X[:, 0] = np.arange(10)  # the first column names the sample
    program = RecordingProgram()
    train(
        program,
        xor_params(),
        X,
        Y,
        optimizer=make_optimizer("sgd", 0.01),
        epochs=3,
        batch_size=3,
        rng=np.random.default_rng(0),
    )
    assert [len(b) for b in program.batches] == [3, 3, 3, 1] * 3
    orders = []
    for epoch in range(3):
        seen = np.concatenate([b[:, 0] for b in program.batches[4 * epoch : 4 * epoch + 4]])
        assert sorted(seen) == list(range(10))
        orders.append(tuple(seen))
    assert len(set(orders)) == 3  # shuffled afresh each epoch


@pytest.mark.parametrize("batch_size", [None, 4, 100])
def test_full_batch_passes_the_data_itself(batch_size):
    program = RecordingProgram()
    train(
        program,
        xor_params(),
        XOR_X,
        XOR_Y,
        optimizer=make_optimizer("sgd", 0.1),
        epochs=2,
        batch_size=batch_size,
        rng=np.random.default_rng(0),
    )
    assert len(program.batches) == 2
    assert all(b is XOR_X for b in program.batches)


def test_callbacks_get_absolute_epochs():
    calls = []
    train(
        ReferenceProgram(),
        xor_params(),
        XOR_X,
        XOR_Y,
        optimizer=make_optimizer("sgd", 0.1),
        epochs=3,
        batch_size=None,
        rng=np.random.default_rng(0),
        start_epoch=5,
        check=lambda epoch: calls.append(("check", epoch)),
        on_epoch=lambda epoch, history: calls.append(("epoch", epoch, history.epochs)),
    )
    assert calls == [
        ("check", 6),
        ("epoch", 6, 6),
        ("check", 7),
        ("epoch", 7, 7),
        ("check", 8),
        ("epoch", 8, 8),
    ]


def test_a_failing_check_stops_training():
    def check(epoch):
        if epoch == 2:
            raise RuntimeError("gradient check failed")

    seen = []
    with pytest.raises(RuntimeError, match="gradient check failed"):
        train(
            ReferenceProgram(),
            xor_params(),
            XOR_X,
            XOR_Y,
            optimizer=make_optimizer("sgd", 0.1),
            epochs=5,
            batch_size=None,
            rng=np.random.default_rng(0),
            check=check,
            on_epoch=lambda epoch, history: seen.append(epoch),
        )
    assert seen == [1]


def test_keyboard_interrupt_passes_through():
    def on_epoch(epoch, history):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(
            ReferenceProgram(),
            xor_params(),
            XOR_X,
            XOR_Y,
            optimizer=make_optimizer("sgd", 0.1),
            epochs=5,
            batch_size=None,
            rng=np.random.default_rng(0),
            on_epoch=on_epoch,
        )


@pytest.mark.parametrize("batch_size", [None, 2])
def test_divergence_raises_a_clear_error_that_is_not_bad_input(batch_size):
    program = ReferenceProgram(activation="identity")
    params = init_params((2, 4, 1), "identity", np.random.default_rng(0))
    with pytest.raises(Diverged, match=r"^training diverged at epoch \d+ \(.+\): lower --lr$"):
        train(
            program,
            params,
            XOR_X,
            XOR_Y,
            optimizer=make_optimizer("sgd", 1e6),
            epochs=50,
            batch_size=batch_size,
            rng=np.random.default_rng(0),
        )
    assert issubclass(Diverged, TrainingStopped) and not issubclass(Diverged, InputError)


def test_float32_stays_float32():
    class Float32Program(ReferenceProgram):
        def gradients(self, params, X, Y):
            grads = super().gradients(params, X, Y)
            assert all(g.dtype == np.float32 for g in grads.values())
            return grads

    params = xor_params(dtype=np.float32)
    X, Y = XOR_X.astype(np.float32), XOR_Y.astype(np.float32)
    history = train(
        Float32Program(),
        params,
        X,
        Y,
        optimizer=make_optimizer("adam", 0.1),
        epochs=300,
        batch_size=2,
        rng=np.random.default_rng(0),
        accuracy=threshold_accuracy,
    )
    assert all(p.dtype == np.float32 for p in params.values())
    assert history.train_loss[-1] < history.train_loss[0]


def test_mixed_dtypes_are_refused():
    with pytest.raises(ValueError, match=r"X has dtype float64 but the parameters float32"):
        train(
            ReferenceProgram(),
            xor_params(dtype=np.float32),
            XOR_X,
            XOR_Y.astype(np.float32),
            optimizer=make_optimizer("sgd", 0.1),
            epochs=1,
            batch_size=None,
            rng=np.random.default_rng(0),
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size must be a whole number >= 1 or None"),
        ({"epochs": -1}, "epochs must be a whole number >= 0"),
        ({"Y": XOR_Y[:3]}, "X has 4 samples but Y 3"),
        ({"X": XOR_X[:, 0]}, "X must be a 2-d array"),
        ({"X_test": XOR_X}, "give both X_test and Y_test, or neither"),
        ({"history": History(epochs=2)}, "the history has 2 epochs but start_epoch is 0"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = {"X": XOR_X, "Y": XOR_Y, "epochs": 1, "batch_size": None} | kwargs
    X, Y = args.pop("X"), args.pop("Y")
    with pytest.raises(ValueError, match=message):
        train(
            ReferenceProgram(),
            xor_params(),
            X,
            Y,
            optimizer=make_optimizer("sgd", 0.1),
            rng=np.random.default_rng(0),
            **args,
        )


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_resume_from_a_saved_model_matches_uninterrupted_training(tmp_path, name):
    X, Y = blobs(n=20)
    program = ReferenceProgram()

    def run(params, rng, optimizer, epochs, start_epoch=0, history=None):
        return train(
            program,
            params,
            X[:15],
            Y[:15],
            optimizer=optimizer,
            epochs=epochs,
            batch_size=4,
            rng=rng,
            X_test=X[15:],
            Y_test=Y[15:],
            accuracy=threshold_accuracy,
            start_epoch=start_epoch,
            history=history,
        )

    whole = xor_params()
    whole_history = run(whole, np.random.default_rng(7), make_optimizer(name, 0.05), 6)

    first = xor_params()
    rng, optimizer = np.random.default_rng(7), make_optimizer(name, 0.05)
    history = run(first, rng, optimizer, 3)
    path = tmp_path / "model.npz"
    save_model(path, program.spec, first, optimizer, history, epoch=3, rng=rng)

    spec, params, meta = load_model(path)
    assert spec == program.spec and meta["epoch"] == 3
    resumed_history = run(
        params,
        restore_rng(meta),
        restore_optimizer(meta),
        3,
        start_epoch=meta["epoch"],
        history=meta["history"],
    )
    for key in whole:
        np.testing.assert_array_equal(params[key], whole[key])
    assert resumed_history == whole_history
