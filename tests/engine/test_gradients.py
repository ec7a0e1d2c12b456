"""Float64 central-difference checks of every backward pass against its forward.

Each check perturbs every parameter by +-h, evaluates the full objective (data loss +
L1/L2 penalty) and compares with the analytic gradient the training step computes.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.layers import ACTIVATION_CLASSES, Dense, make_activation
from engine.losses import PerceptronCriterion, SoftmaxCrossEntropy, SquaredError
from engine.model import Network

H = 1e-6


def numeric_gradient(net: Network, F, y, masks=None) -> np.ndarray:
    p0 = net.params.copy()
    num = np.zeros_like(p0)
    for i in range(p0.size):
        net.params[:] = p0
        net.params[i] += H
        fp, _ = net.objective_and_gradient(F, y, masks=masks)
        net.params[:] = p0
        net.params[i] -= H
        fm, _ = net.objective_and_gradient(F, y, masks=masks)
        num[i] = (fp - fm) / (2 * H)
    net.params[:] = p0
    return num


def check(net: Network, F, y, masks=None, tol=1e-6) -> None:
    _, analytic = net.objective_and_gradient(F, y, masks=masks)
    num = numeric_gradient(net, F, y, masks=masks)
    scale = max(1.0, np.abs(num).max())
    assert np.abs(analytic - num).max() <= tol * scale, (analytic, num)
    assert np.abs(analytic).max() > 1e-4  # the check is not vacuous


def random_net(hidden, acts, n_classes, kind="mlp", seed=0, **kw) -> Network:
    net = Network(3, hidden, acts, n_classes, kind, dtype=np.float64, seed=seed, **kw)
    rng = np.random.default_rng(seed + 100)
    net.params[:] = rng.normal(0.0, 0.7, net.params.size)
    return net


def data(n_classes, n=9, seed=1):
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(n, 3))
    y = rng.normal(size=n) if n_classes == 1 else rng.integers(0, n_classes, n)
    return F, y


@pytest.mark.parametrize("activation", sorted(ACTIVATION_CLASSES))
def test_every_activation_in_a_hidden_layer(activation):
    net = random_net((5, 4), (activation, "tanh"), 3)
    check(net, *data(3))


@pytest.mark.parametrize("activation", sorted(ACTIVATION_CLASSES))
def test_activation_backward_matches_its_derivative(activation):
    act = make_activation(activation)
    rng = np.random.default_rng(3)
    z = rng.normal(size=(6, 4))
    z[np.abs(z) < 1e-3] = 0.5  # keep away from the ReLU kink
    a = act.forward(z.copy())
    grad = np.ones_like(z)
    act.backward(a, grad, np.empty_like(z))
    num = (act.forward(z + H) - act.forward(z - H)) / (2 * H)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8)


def test_dense_layer_backward():
    rng = np.random.default_rng(4)
    layer = Dense(3, 2, make_activation("linear"))
    params = rng.normal(size=layer.size)
    grads = np.zeros_like(params)
    layer.bind(params, grads, 0, 6)
    x = rng.normal(size=(5, 3))
    dz = rng.normal(size=(5, 2))
    dx = np.empty((5, 3))
    layer.backward(x, dz, np.ones(5), dx)
    # d(sum(dz * (xW + b)))/dW = x^T dz, /db = sum dz, /dx = dz W^T
    np.testing.assert_allclose(layer.gW, x.T @ dz)
    np.testing.assert_allclose(layer.gb, dz.sum(axis=0))
    np.testing.assert_allclose(dx, dz @ layer.W.T)
    out = np.empty((5, 2))
    np.testing.assert_allclose(layer.forward(x, out), x @ layer.W + layer.b)


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_softmax_cross_entropy(n_classes):
    check(random_net((4,), ("tanh",), n_classes), *data(n_classes))


def test_softmax_cross_entropy_value_is_minus_log_p():
    z = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    y = np.array([1, 0])
    loss, grad = SoftmaxCrossEntropy().value_and_grad(z, y, 3)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[[0, 1], y])))
    onehot = np.eye(3)[y]
    np.testing.assert_allclose(grad, (p - onehot) / 2)


def test_softmax_cross_entropy_is_finite_for_huge_logits():
    z = np.array([[1000.0, -1000.0]], dtype=np.float32)
    loss, grad = SoftmaxCrossEntropy().value_and_grad(z, np.array([1]), 2)
    assert loss == pytest.approx(2000.0)
    assert np.all(np.isfinite(grad))


def test_squared_error_regression():
    check(random_net((5,), ("tanh",), 1), *data(1))
    z = np.array([[1.0], [3.0]])
    loss, grad = SquaredError().value_and_grad(z, np.array([0.0, 1.0]), 1)
    assert loss == pytest.approx((1 + 4) / 2)
    np.testing.assert_allclose(grad, [[1.0], [2.0]])  # 2 (z - y) / n


@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_regression(n_classes):
    check(random_net((), (), n_classes, kind="logistic"), *data(n_classes))


@pytest.mark.parametrize("n_classes", [2, 4])
def test_perceptron_criterion(n_classes):
    # Piecewise linear: check it where no sample sits on a kink.
    net = random_net((), (), n_classes, kind="perceptron", seed=5)
    F, y = data(n_classes, n=12, seed=6)
    scores = net.scores(F)
    if n_classes == 2:
        assert np.abs(scores[:, 0]).min() > 1e-3
    check(net, F, y)


def test_perceptron_criterion_value():
    # two classes: mean of max(0, -y s) with y in {-1, +1}
    z = np.array([[2.0], [-1.0], [0.5]])
    loss, grad = PerceptronCriterion(2).value_and_grad(z, np.array([1, 1, 0]), 2)
    assert loss == pytest.approx((0 + 1 + 0.5) / 3)
    np.testing.assert_allclose(grad, [[0.0], [-1 / 3], [1 / 3]])


@pytest.mark.parametrize("l1, l2", [(0.05, 0.0), (0.0, 0.3), (0.02, 0.1)])
def test_l1_and_l2_penalties(l1, l2):
    net = random_net((4, 3), ("relu", "sigmoid"), 2, l1=l1, l2=l2)
    check(net, *data(2))
    w = net.params[: net.n_weights]
    assert net.penalty() == pytest.approx(l1 * np.abs(w).sum() + 0.5 * l2 * (w**2).sum())


def test_dropout_with_a_fixed_mask():
    net = random_net((6, 5), ("tanh", "relu"), 3, dropout=0.4)
    F, y = data(3)
    rng = np.random.default_rng(8)
    masks = [(rng.random((F.shape[0], w)) >= 0.4) / 0.6 for w in (6, 5)]
    check(net, F, y, masks=masks)
    # The mask really acts: another mask gives another objective.
    f1, _ = net.objective_and_gradient(F, y, masks=masks)
    f2, _ = net.objective_and_gradient(F, y, masks=[np.ones_like(m) for m in masks])
    assert f1 != pytest.approx(f2)


def test_step_plan_computes_the_same_gradient():
    # The prebuilt plan the trainer runs for small batches must equal train_batch.
    for acts, n_classes in [(("tanh", "relu"), 3), (("sigmoid", "leaky_relu"), 2), (("relu", "linear"), 1)]:
        net = random_net((5, 4), acts, n_classes)
        F, y = data(n_classes)
        n = F.shape[0]
        t = net.loss.targets(y, n_classes, net.dtype)
        k = net.n_outputs
        fi = (np.arange(n) * k + y.astype(int)).reshape(-1, 1) if n_classes > 1 else None
        ws = net.workspace(n, True)
        st1 = np.empty((net.loss.n_stats, n, 1))
        net.train_batch(F, t, fi, 1 / n, st1, ws)
        g1 = net.grads.copy()
        net.grads.fill(0)
        st2 = np.empty_like(st1)
        for op in net.batch_plan(F, t, fi, 1 / n, st2, ws):
            op()
        np.testing.assert_array_equal(net.grads, g1)
        np.testing.assert_array_equal(st2, st1)
