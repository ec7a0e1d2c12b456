"""The network's structure, weights API, initialisation, perceptron rule and optimizers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.model import Network
from engine.optim import SGD, Adam, Momentum, make_optimizer
from engine.spec import RunSpec, SpecError


def spec(**model):
    return RunSpec.from_dict({"model": {"kind": "mlp", "hidden": [4, 3], "activation": ["relu", "tanh"], **model}})


def test_layers_are_views_into_one_flat_vector():
    net = Network.from_spec(spec(), 5, 3, seed=1)
    assert [layer.W.shape for layer in net.layers] == [(5, 4), (4, 3), (3, 3)]
    assert net.n_parameters == 5 * 4 + 4 * 3 + 3 * 3 + 4 + 3 + 3
    for layer in net.layers:
        for arr, flat in ((layer.W, net.params), (layer.b, net.params), (layer.gW, net.grads), (layer.gb, net.grads)):
            assert np.shares_memory(arr, flat)
    # weights first (one slice for L1/L2), then biases
    net.params[: net.n_weights] = 1.0
    net.params[net.n_weights:] = 2.0
    assert all(np.all(layer.W == 1.0) and np.all(layer.b == 2.0) for layer in net.layers)


def test_initialisation_he_for_relu_glorot_otherwise_and_zero_biases():
    net = Network.from_spec(spec(hidden=[200, 100], activation=["relu", "tanh"]), 50, 2, seed=3)
    w0, w1 = net.layers[0].W, net.layers[1].W
    assert np.abs(w0).max() <= math.sqrt(6 / 50)
    assert np.abs(w0).max() > 0.9 * math.sqrt(6 / 50)
    assert np.abs(w1).max() <= math.sqrt(6 / 300)
    assert np.all(net.params[net.n_weights:] == 0)
    again = Network.from_spec(spec(hidden=[200, 100], activation=["relu", "tanh"]), 50, 2, seed=3)
    np.testing.assert_array_equal(net.params, again.params)


@pytest.mark.parametrize("kind", ["logistic", "perceptron"])
def test_linear_models_start_at_zero(kind):
    net = Network.from_spec(RunSpec.from_dict({"model": {"kind": kind}}), 3, 2)
    assert len(net.layers) == 1
    assert np.all(net.params == 0)


def test_get_set_weights_round_trip_and_set_weight():
    net = Network.from_spec(spec(), 2, 2, seed=0)
    weights = net.get_weights()
    assert [np.array(w["W"]).shape for w in weights] == [(2, 4), (4, 3), (3, 2)]
    other = Network.from_spec(spec(), 2, 2, seed=9)
    other.set_weights(weights)
    np.testing.assert_array_equal(other.params, net.params)
    other.set_weight(1, 2, 0, 0.25)
    assert other.layers[1].W[2, 0] == 0.25
    assert other.params[2 * 4 + 2 * 3 + 0] == 0.25


def test_spec_weights_are_the_starting_point():
    net = Network.from_spec(spec(), 2, 2, seed=0)
    s = RunSpec.from_dict({**spec().to_dict(), "weights": net.get_weights()})
    again = Network.from_spec(s, 2, 2, seed=123)
    np.testing.assert_allclose(again.params, net.params)


def test_spec_weights_of_the_wrong_shape_name_the_field():
    net = Network.from_spec(spec(), 2, 2, seed=0)
    weights = net.get_weights()
    weights[1]["W"] = [[0.0] * 3] * 5
    s = RunSpec.from_dict({**spec().to_dict(), "weights": weights})
    with pytest.raises(SpecError) as err:
        Network.from_spec(s, 2, 2)
    assert err.value.field == "weights[1].W"
    assert "(5, 3)" in str(err.value) and "(4, 3)" in str(err.value)
    with pytest.raises(SpecError) as err:
        net.set_weights(weights[:2])
    assert err.value.field == "weights"


def test_predictions_and_hidden_outputs():
    net = Network.from_spec(spec(), 2, 3, seed=0)
    F = np.random.default_rng(0).normal(size=(10, 2)).astype(np.float32)
    proba = net.predict_proba(F)
    assert proba.shape == (10, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(net.predict(F), proba.argmax(axis=1))
    h1, h2 = net.hidden_outputs(F)
    np.testing.assert_allclose(h1, np.maximum(F @ net.layers[0].W + net.layers[0].b, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h2, np.tanh(h1 @ net.layers[1].W + net.layers[1].b), rtol=1e-5, atol=1e-6)


def test_regression_outputs_values():
    net = Network.from_spec(spec(), 2, 1, seed=0)
    F = np.ones((4, 2), np.float32)
    assert net.predict_proba(F).shape == (4,)
    assert net.task == "regression"
    with pytest.raises(SpecError) as err:
        Network.from_spec(RunSpec.from_dict({"model": {"kind": "logistic"}}), 2, 1)
    assert err.value.field == "model.kind"


def _step(net, x, y, lr):
    """One SGD step of batch size 1 through the training path."""
    opt = SGD(net.params, net.grads, lr)
    x = np.asarray([x], net.dtype)
    y = np.asarray([y])
    t = net.loss.targets(y, net.n_classes, net.dtype)
    k = net.n_outputs
    fi = (np.arange(1) * k + y).reshape(-1, 1) if k > 1 else None
    st = np.empty((net.loss.n_stats, 1, 1), net.dtype)
    net.train_batch(x, t, fi, 1.0, st, net.workspace(1, True))
    opt.step()


def test_perceptron_is_rosenblatts_rule():
    net = Network(2, (), (), 2, "perceptron", dtype=np.float64)
    # w = 0, s = 0: a mistake for both labels (y s <= 0) -> w += lr y x, b += lr y
    _step(net, [1.0, 2.0], 1, lr=0.5)
    np.testing.assert_allclose(net.layers[0].W[:, 0], [0.5, 1.0])
    assert net.layers[0].b[0] == pytest.approx(0.5)
    # now s = 0.5 + 2 + 0.5 > 0 for class 1: right, no change
    before = net.params.copy()
    _step(net, [1.0, 1.0], 1, lr=0.5)
    np.testing.assert_array_equal(net.params, before)
    # class 0 (y = -1) with s > 0: a mistake -> w -= lr x
    _step(net, [2.0, 0.0], 0, lr=0.5)
    np.testing.assert_allclose(net.layers[0].W[:, 0], [-0.5, 1.0])
    assert net.layers[0].b[0] == pytest.approx(0.0)
    assert net.predict(np.array([[0.0, 1.0], [1.0, 0.0]])).tolist() == [1, 0]


def test_multiclass_perceptron_rule():
    net = Network(2, (), (), 3, "perceptron", dtype=np.float64)
    net.layers[0].W[:, 0] = [1.0, 0.0]  # class 0 wins for x = (1, 0)
    _step(net, [1.0, 0.0], 2, lr=1.0)  # true class 2: W[:,2] += x, W[:,0] -= x
    np.testing.assert_allclose(net.layers[0].W, [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(net.layers[0].b, [-1.0, 0.0, 1.0])
    before = net.params.copy()
    _step(net, [1.0, 0.0], 2, lr=1.0)  # now right: unchanged
    np.testing.assert_array_equal(net.params, before)


# ----------------------------------------------------------------------------- optimizers


def _vectors():
    p = np.array([1.0, -2.0, 0.5])
    g = np.array([0.5, 0.25, -1.0])
    return p, g


def test_sgd_step():
    p, g = _vectors()
    opt = make_optimizer("sgd", p, g, 0.1)
    opt.step()
    np.testing.assert_allclose(p, [0.95, -2.025, 0.6])
    opt.learning_rate = 1.0
    opt.step()
    np.testing.assert_allclose(p, [0.45, -2.275, 1.6])


def test_momentum_steps():
    p, g = _vectors()
    opt = Momentum(p, g, 0.1, momentum=0.9)
    opt.step()  # v = -0.1 g
    np.testing.assert_allclose(p, [0.95, -2.025, 0.6])
    opt.step()  # v = 0.9 (-0.1 g) - 0.1 g = -0.19 g
    np.testing.assert_allclose(p, [0.95 - 0.095, -2.025 - 0.0475, 0.6 + 0.19])


def test_adam_steps_match_the_formula():
    p, g = _vectors()
    opt = Adam(p, g, 0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    ref = np.array([1.0, -2.0, 0.5])
    m = np.zeros(3)
    v = np.zeros(3)
    for t in (1, 2, 3):
        g[:] = [0.5 * t, 0.25, -1.0 / t]
        opt.step()
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        m_hat = m / (1 - 0.9**t)
        v_hat = v / (1 - 0.999**t)
        ref -= 0.01 * m_hat / (np.sqrt(v_hat) + 1e-8)
        np.testing.assert_allclose(p, ref, rtol=1e-12, atol=1e-15)
    # first step of Adam moves every parameter by ~lr against the gradient's sign
    p2, g2 = _vectors()
    Adam(p2, g2, 0.01).step()
    np.testing.assert_allclose(p2, [0.99, -2.01, 0.51], rtol=1e-6)
