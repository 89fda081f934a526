import numpy as np
import pytest

from bpverify.numeric.train.optim import (
    DEFAULT_LR,
    OPTIMIZERS,
    SGD,
    Adam,
    Momentum,
    OptimizerError,
    make_optimizer,
)

TARGET = {"p": np.array([1.0, -2.0, 3.0]), "q": np.array([[0.5], [-0.25]])}


def quadratic_grads(params):
    """Gradient of sum over arrays of ||p - t||^2."""
    return {key: 2.0 * (params[key] - TARGET[key]) for key in params}


def start(dtype=np.float64):
    return {"p": np.zeros(3, dtype=dtype), "q": np.array([[2.0], [1.0]], dtype=dtype)}


def test_table_and_defaults():
    assert list(OPTIMIZERS.items()) == [("sgd", SGD), ("momentum", Momentum), ("adam", Adam)]
    assert set(DEFAULT_LR) == set(OPTIMIZERS)
    for name, cls in OPTIMIZERS.items():
        optimizer = make_optimizer(name, 0.3)
        assert type(optimizer) is cls and optimizer.name == name and optimizer.lr == 0.3
        assert make_optimizer(name).lr == DEFAULT_LR[name]
    assert make_optimizer("momentum", 0.1).momentum == 0.9
    adam = make_optimizer("adam", 0.1)
    assert adam.betas == (0.9, 0.999) and adam.eps == 1e-8


@pytest.mark.parametrize(("name", "lr", "steps"), [("sgd", 0.1, 100), ("momentum", 0.05, 300)])
def test_converges_on_a_quadratic(name, lr, steps):
    params, optimizer = start(), make_optimizer(name, lr)
    for _ in range(steps):
        optimizer.step(params, quadratic_grads(params))
    for key in params:
        np.testing.assert_allclose(params[key], TARGET[key], atol=1e-5)


def test_adam_converges_on_a_quadratic():
    params, optimizer = start(), make_optimizer("adam", 0.05)
    for _ in range(1000):
        optimizer.step(params, quadratic_grads(params))
    for key in params:
        np.testing.assert_allclose(params[key], TARGET[key], atol=1e-5)


def test_sgd_step_is_p_minus_lr_g():
    params, optimizer = start(), make_optimizer("sgd", 0.1)
    p0 = {k: v.copy() for k, v in params.items()}
    g0 = quadratic_grads(params)
    optimizer.step(params, g0)
    for key in params:
        np.testing.assert_array_equal(params[key], p0[key] - 0.1 * g0[key])


def test_momentum_first_two_steps_by_hand():
    lr, mu = 0.1, 0.9
    params, optimizer = start(), make_optimizer("momentum", lr)
    p0 = {k: v.copy() for k, v in params.items()}
    g0 = quadratic_grads(params)
    optimizer.step(params, g0)
    p1 = {k: p0[k] - lr * g0[k] for k in p0}  # v1 = g0: the first step is SGD's
    for key in params:
        np.testing.assert_allclose(params[key], p1[key], rtol=1e-15, atol=0)
    g1 = quadratic_grads(params)
    optimizer.step(params, g1)
    for key in params:
        v2 = mu * g0[key] + g1[key]
        np.testing.assert_allclose(params[key], p1[key] - lr * v2, rtol=1e-15, atol=1e-16)


def test_adam_first_step_is_lr_sign_g():
    lr, eps = 0.01, 1e-8
    params, optimizer = start(), make_optimizer("adam", lr)
    p0 = {k: v.copy() for k, v in params.items()}
    g0 = quadratic_grads(params)
    optimizer.step(params, g0)
    for key in params:
        # Bias correction turns m = 0.1 g, v = 0.001 g^2 into g and g^2: the step is
        # lr g / (|g| + eps), lr sign(g) up to a relative eps / |g| (|g| >= 1 here).
        np.testing.assert_allclose(
            params[key], p0[key] - lr * g0[key] / (np.abs(g0[key]) + eps), rtol=1e-15, atol=1e-17
        )
        np.testing.assert_allclose(params[key] - p0[key], -lr * np.sign(g0[key]), rtol=1e-7, atol=0)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_dict_round_trip_resumes_identically(name):
    params, optimizer = start(), make_optimizer(name, 0.05)
    for _ in range(5):
        optimizer.step(params, quadratic_grads(params))
    state = optimizer.state_dict()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    assert int(state["t"]) == 5

    resumed_params = {k: v.copy() for k, v in params.items()}
    resumed = make_optimizer(name, 99.0)  # the state brings back the saved lr
    resumed.load_state_dict(state)
    assert resumed.lr == 0.05
    for _ in range(5):
        optimizer.step(params, quadratic_grads(params))
        resumed.step(resumed_params, quadratic_grads(resumed_params))
    for key in params:
        np.testing.assert_array_equal(resumed_params[key], params[key])


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_dict_holds_copies(name):
    params, optimizer = start(), make_optimizer(name, 0.05)
    optimizer.step(params, quadratic_grads(params))
    state = optimizer.state_dict()
    before = {k: v.copy() for k, v in optimizer.state_dict().items()}
    for value in state.values():
        value[...] = 7
    for key, value in optimizer.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_float32_stays_float32(name):
    params, optimizer = start(np.float32), make_optimizer(name, 0.05)
    for _ in range(3):
        grads = {k: v.astype(np.float32) for k, v in quadratic_grads(params).items()}
        optimizer.step(params, grads)
    assert all(p.dtype == np.float32 for p in params.values())
    buffers = {k: v for k, v in optimizer.state_dict().items() if "." in k}
    assert all(v.dtype == np.float32 for v in buffers.values())


def test_unknown_optimizer_names_the_choices():
    with pytest.raises(ValueError) as info:
        make_optimizer("rmsprop", 0.1)
    assert str(info.value) == "unknown optimizer 'rmsprop': choose one of sgd, momentum, adam"


@pytest.mark.parametrize("lr", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_learning_rate(lr):
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        make_optimizer("sgd", lr)


def test_state_of_another_optimizer_is_refused():
    sgd = make_optimizer("sgd", 0.1)
    with pytest.raises(ValueError, match="adam optimizer state lacks beta1, beta2, eps"):
        make_optimizer("adam", 0.1).load_state_dict(sgd.state_dict())


def test_state_for_another_network_is_refused():
    params, optimizer = start(), make_optimizer("momentum", 0.1)
    optimizer.step(params, quadratic_grads(params))
    other = {"p": np.zeros(4), "q": np.zeros((2, 1))}
    with pytest.raises(ValueError, match="velocity for 'p' has shape"):
        optimizer.step(other, quadratic_grads(params) | {"p": np.ones(4)})


def test_missing_gradient_is_refused():
    params = start()
    with pytest.raises(ValueError, match="no gradient for parameter 'q'"):
        make_optimizer("sgd", 0.1).step(params, {"p": np.ones(3)})


@pytest.mark.parametrize("bad", [np.nan, np.inf, "text"])
def test_a_buffer_that_is_not_finite_numbers_is_refused(bad):
    params, optimizer = start(), make_optimizer("adam", 0.05)
    optimizer.step(params, quadratic_grads(params))
    state = optimizer.state_dict()
    state["m.p"] = np.full(3, bad)
    with pytest.raises(OptimizerError, match=r"buffer 'm\.p' is not finite floating-point"):
        make_optimizer("adam").load_state_dict(state)
