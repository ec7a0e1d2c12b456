"""The planned SGD step (gradient plan + update as one list) gives the normal path's weights."""

from __future__ import annotations

import numpy as np
import pytest

from engine.spec import RunSpec
from engine.trainer import Trainer


def make_trainer(activation, n_classes, optimizer="sgd", l2=0.0):
    return Trainer(RunSpec.from_dict({
        "dataset": {"kind": "spiral" if n_classes == 2 else "blobs", "n_samples": 230, "noise": 0.1,
                    "seed": 4, "test_fraction": 0.2, **({} if n_classes == 2 else {"n_classes": n_classes})},
        "model": {"kind": "mlp", "hidden": [8, 8], "activation": activation},
        "train": {"epochs": 3, "batch_size": 10, "optimizer": optimizer, "learning_rate": 0.05,
                  "seed": 1, "dtype": "float32", "l2": l2},
    }))


def unplanned(tr):
    """Make ``tr`` run every step through ``train_batch`` and ``optimizer.step``."""
    tr._views = [v[:7] + (None, None) for v in tr._views]
    return tr


def unfused(tr):
    """Keep the gradient plans but update through ``optimizer.step``."""
    tr._fused_for = None
    return tr


@pytest.mark.parametrize("activation,n_classes", [("relu", 2), ("tanh", 3), ("sigmoid", 2)])
def test_fused_sgd_epoch_equals_the_normal_path(activation, n_classes):
    fast = make_trainer(activation, n_classes)
    assert any(v[-1] is not None for v in fast._views)  # the fused plans are really there
    plain = unplanned(make_trainer(activation, n_classes))
    half = unfused(make_trainer(activation, n_classes))
    for _ in range(2):
        records = [strip(tr.train_epoch()) for tr in (fast, plain, half)]
        assert records[0] == records[1] == records[2]
        np.testing.assert_array_equal(fast.model.params, plain.model.params)
        np.testing.assert_array_equal(half.model.params, plain.model.params)
    assert fast.optimizer.t == plain.optimizer.t == fast.step
    assert not np.array_equal(fast.model.params, make_trainer(activation, n_classes).model.params)


def test_learning_rate_change_reaches_the_fused_update():
    fast, plain = make_trainer("relu", 2), unplanned(make_trainer("relu", 2))
    for tr in (fast, plain):
        tr.optimizer.learning_rate = 0.2
        tr.train_epoch()
    np.testing.assert_array_equal(fast.model.params, plain.model.params)


@pytest.mark.parametrize("optimizer,l2", [("sgd", 0.01), ("momentum", 0.0), ("adam", 0.0)])
def test_penalty_or_other_optimizers_fall_back_to_the_normal_path(optimizer, l2):
    fast, plain = make_trainer("relu", 2, optimizer, l2), unplanned(make_trainer("relu", 2, optimizer, l2))
    for tr in (fast, plain):
        tr.train_epoch()
    np.testing.assert_array_equal(fast.model.params, plain.model.params)
    assert fast.optimizer.t == plain.optimizer.t


def strip(rec):
    return {k: v for k, v in rec.items() if k not in {"elapsed_s", "samples_per_s", "compute_s", "comm_s"}}


def test_compile_plan_makes_the_same_calls_in_order():
    from functools import partial

    from engine.model import compile_plan

    calls = []
    a = np.arange(4.0)
    out = np.empty(4)
    ops = [partial(calls.append, "first"), partial(np.add, a, 1.0, out=out), lambda: calls.append("bare"),
           partial(np.multiply, out, out, out), partial(calls.append, "last")]
    compile_plan(ops)()
    assert calls == ["first", "bare", "last"]
    np.testing.assert_array_equal(out, (a + 1.0) ** 2)
    compile_plan([])()  # an empty plan is a no-op
