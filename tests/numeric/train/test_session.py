"""numeric.train.session: the network for a data set, the test split, the gradient check
during training and the summary."""

from types import SimpleNamespace

import numpy as np
import pytest

from bpverify.derive import InputError, SpecError
from bpverify.derive.limits import LimitError
from bpverify.numeric.init import init_params
from bpverify.numeric.train import datasets, session
from bpverify.numeric.train.datasets import DataError
from bpverify.numeric.train.loop import GradientCheckFailed, History, TrainingStopped

MOONS = datasets.load("moons", n=60, rng=0)


@pytest.mark.parametrize(
    ("samples", "given", "expected"), [(49, None, 0.0), (50, None, 0.2), (4, 0.5, 0.5)]
)
def test_the_test_fraction(samples, given, expected):
    assert session.test_fraction(samples, given) == expected


def test_hidden_widths_sit_between_the_data_widths():
    spec = session.network_for(MOONS, hidden="16, 8", activation="tanh")
    assert spec.widths == (2, 16, 8, 1) and spec.activations == ("tanh",) * 3
    assert session.network_for(MOONS, hidden=[4]).widths == (2, 4, 1)


def test_widths_are_taken_as_given_when_they_fit():
    assert session.network_for(MOONS, widths="2,3,1").widths == (2, 3, 1)


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"widths": "3,4,1"}, DataError, "widths 3,4,1 do not fit the data: moons has 2 inputs"),
        ({"hidden": "4", "widths": "2,4,1"}, SpecError, "give --widths or --hidden, not both"),
        ({}, SpecError, "give the network with --hidden 16,16"),
        ({"layers": 2}, SpecError, "training needs concrete widths"),
        # named as typed: not as the --widths 2,²,1 the data's widths complete
        ({"hidden": "²,3"}, SpecError, "--hidden: width '²' in '²,3' is not a whole number"),
        ({"hidden": "8,0"}, SpecError, "--hidden: width '0' in '8,0' is not a whole number"),
    ],
)
def test_a_network_that_cannot_train_on_the_data(settings, error, message):
    with pytest.raises(error, match=message) as e:
        session.network_for(MOONS, **settings)
    assert isinstance(e.value, InputError)


def test_the_gradient_check_runs_every_n_epochs_and_raises_when_it_fails(monkeypatch):
    spec = session.network_for(MOONS, hidden="3", activation="tanh")
    params = init_params(spec.widths, spec.activations, np.random.default_rng(0))
    X, Y = MOONS.astype("float64")
    check = session.gradient_check(spec, params, X, Y, "float64", every=2)
    check(0)  # the generated gradients pass

    seen = []
    failed = SimpleNamespace(
        passed=False, problems=[], failures=lambda: [SimpleNamespace(tensor="W2")]
    )

    def check_gradients(spec, options, at):
        seen.append(at.params)
        return failed

    monkeypatch.setattr(session, "check_gradients", check_gradients)
    check(1)  # not a checking epoch
    assert seen == []
    params["W1"] += 1.0  # training updates the dict in place: the check sees the new values
    with pytest.raises(GradientCheckFailed, match=r"gradient check failed at epoch 2 \(W2\)") as e:
        check(2)
    assert isinstance(e.value, TrainingStopped) and not isinstance(e.value, InputError)
    assert e.value.report is failed and e.value.epoch == 2
    assert np.array_equal(seen[0]["W1"], params["W1"]) and len(seen[0]["W1"]) == 3


def test_the_summary_holds_the_last_values_or_none():
    spec = session.network_for(MOONS, hidden="3")
    history = History(train_loss=[0.5, 0.25], train_accuracy=[0.5, 0.75], epochs=2)
    assert session.summary(history, spec) == {
        "network": "L=2, widths 2,3,1, sigmoid, squared loss",
        "epochs": 2,
        "train_loss": 0.25,
        "test_loss": None,
        "train_accuracy": 0.75,
        "test_accuracy": None,
    }


def test_a_network_too_large_to_train_in_the_memory_limit(monkeypatch):
    monkeypatch.setenv("BPVERIFY_MAX_MEMORY", "1")  # MiB
    with pytest.raises(LimitError, match="training widths 2,1000,1 on 60 samples needs about"):
        session.network_for(MOONS, hidden="1000")
    assert session.network_for(MOONS, hidden="4").widths == (2, 4, 1)
