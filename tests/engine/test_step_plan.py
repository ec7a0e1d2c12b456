"""The step plan (the trainer's fast path for small batches) gives bit for bit the plain step's weights.

The plan is ``Network.batch_plan``: the plain step's NumPy calls bound once to fixed buffers,
with two changes that each pay on the benchmark (``np.dot``/``np.copyto`` without their
array-function dispatch, and biases spread over full-size buffers), plus the loss's own plan
(``SoftmaxCrossEntropy._plan_two`` for two classes). Each is checked here against the plain
path: ``Network.train_batch`` / ``Loss.batch`` and ``optimizer.step``.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.losses import SoftmaxCrossEntropy
from engine.spec import RunSpec
from engine.trainer import Trainer
from tests.engine.test_trainer import TIMING


def make_trainer(activation, n_classes, optimizer="sgd", l2=0.0, kind="mlp", hidden=(8, 8)):
    if n_classes == 1:
        dataset = {"kind": "plane", "n_samples": 230, "noise": 0.1, "seed": 4, "test_fraction": 0.2}
    else:
        dataset = {"kind": "spiral" if n_classes == 2 else "blobs", "n_samples": 230, "noise": 0.1,
                   "seed": 4, "test_fraction": 0.2, **({} if n_classes == 2 else {"n_classes": n_classes})}
    model = {"kind": kind}
    if kind == "mlp":
        model.update(hidden=list(hidden), activation=activation)
    return Trainer(RunSpec.from_dict({
        "dataset": dataset, "model": model,
        "train": {"epochs": 3, "batch_size": 10, "optimizer": optimizer, "learning_rate": 0.05,
                  "seed": 1, "dtype": "float32", "l2": l2},
    }))


def unplanned(tr):
    """Make ``tr`` run every step through ``train_batch`` and ``optimizer.step``."""
    tr._views = [v._replace(plan=None) for v in tr._views]
    return tr


def strip(rec):
    return {k: v for k, v in rec.items() if k not in TIMING}


@pytest.mark.parametrize("activation,n_classes,optimizer,l2,kind", [
    ("relu", 2, "sgd", 0.0, "mlp"),          # the two-class loss plan
    ("tanh", 3, "sgd", 0.0, "mlp"),          # the general softmax plan
    ("sigmoid", 2, "momentum", 0.0, "mlp"),
    ("leaky_relu", 4, "adam", 0.01, "mlp"),  # penalty added between plan and update
    ("relu", 1, "adam", 0.0, "mlp"),         # squared error (regression)
    ("linear", 2, "sgd", 0.0, "perceptron"),
    ("linear", 3, "sgd", 0.0, "logistic"),
])
def test_planned_epochs_equal_the_plain_step(activation, n_classes, optimizer, l2, kind):
    fast = make_trainer(activation, n_classes, optimizer, l2, kind)
    assert all(v.plan is not None for v in fast._views)  # the plans are really there
    plain = unplanned(make_trainer(activation, n_classes, optimizer, l2, kind))
    for _ in range(2):
        assert strip(fast.train_epoch()) == strip(plain.train_epoch())
        np.testing.assert_array_equal(fast.model.params, plain.model.params)
    assert fast.optimizer.t == plain.optimizer.t == fast.step
    assert not np.array_equal(fast.model.params, make_trainer(activation, n_classes, optimizer, l2, kind).model.params)


def test_learning_rate_change_reaches_planned_steps():
    fast, plain = make_trainer("relu", 2), unplanned(make_trainer("relu", 2))
    for tr in (fast, plain):
        tr.optimizer.learning_rate = 0.2
        tr.train_epoch()
    np.testing.assert_array_equal(fast.model.params, plain.model.params)
    untouched = make_trainer("relu", 2)
    untouched.train_epoch()
    assert not np.array_equal(fast.model.params, untouched.model.params)


def test_dropout_has_no_plan():
    tr = Trainer(RunSpec.from_dict({
        "dataset": {"kind": "xor", "n_samples": 60, "seed": 1},
        "model": {"kind": "mlp", "hidden": [4], "activation": "relu"},
        "train": {"epochs": 1, "batch_size": 10, "dropout": 0.2}}))
    assert all(v.plan is None for v in tr._views)


@pytest.mark.parametrize("n_classes,contiguous", [(2, True), (2, False), (5, True)])
def test_softmax_plan_equals_the_plain_loss(n_classes, contiguous):
    # Two contiguous columns take the two-class plan; the others the general one.
    rng = np.random.default_rng(3)
    n = 9
    z0 = (rng.normal(size=(n, n_classes + 1)) * 4).astype(np.float32)
    y = rng.integers(0, n_classes, n)
    loss = SoftmaxCrossEntropy()
    t = loss.targets(y, n_classes, np.float32)
    flat = (np.arange(n) * n_classes + y).reshape(-1, 1)
    results = []
    for planned in (False, True):
        z = np.array(z0) if not contiguous else np.ascontiguousarray(z0[:, :n_classes])
        if not contiguous:
            z = z[:, :n_classes]  # a view with row stride n_classes + 1
        assert z.flags.c_contiguous == contiguous
        stats = np.empty((loss.n_stats, n, 1), np.float32)
        bufs = loss.buffers(n, n_classes, np.float32)
        if planned:
            for op in loss.plan(z, t, flat, 1 / 7, stats, bufs):
                op()
        else:
            loss.batch(z, t, flat, 1 / 7, stats, bufs)
        results.append((np.array(z), stats))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    p = np.exp(z0[:, :n_classes] - z0[:, :n_classes].max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(results[1][0], (p - t) / 7, atol=1e-6)
