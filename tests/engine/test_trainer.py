"""The trainer: records, determinism, stopping, divergence, steps, new data mid-run."""

from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest

from engine.data import Dataset, load_dataset
from engine.spec import RunSpec, SpecError
from engine.trainer import RECORD_KEYS, RunStatus, Trainer, train

TIMING = {"elapsed_s", "samples_per_s", "compute_s", "comm_s", "epoch_time_s", "rank_compute_s", "rank_comm_s",
          "rank_wait_s", "warnings"}


def make_spec(**train_kw):
    t = {"epochs": 5, "batch_size": 16, "optimizer": "adam", "learning_rate": 0.02, "seed": 3}
    t.update(train_kw)
    return RunSpec.from_dict({
        "dataset": {"kind": "circle", "n_samples": 200, "noise": 0.05, "seed": 2, "test_fraction": 0.25},
        "features": ["x1", "x2", "x1^2", "x2^2"],
        "model": {"kind": "mlp", "hidden": [6, 4], "activation": "tanh"},
        "train": t,
    })


def strip(rec):
    return {k: v for k, v in rec.items() if k not in TIMING}


def test_records_have_exactly_the_documented_keys():
    records = list(train(make_spec(epochs=3)))
    assert len(records) == 3
    for i, rec in enumerate(records, start=1):
        assert tuple(rec) == RECORD_KEYS
        assert rec["epoch"] == i
        assert rec["step"] == i * math.ceil(150 / 16)
        assert rec["ranks"] == 1 and rec["comm_s"] == 0.0
        # one rank: a timeline of one entry, all of it compute
        assert rec["rank_compute_s"] == [rec["epoch_time_s"]] == [rec["compute_s"]]
        assert rec["rank_comm_s"] == [0.0] and rec["rank_wait_s"] == [0.0] and rec["warnings"] == []
        assert rec["samples"] == 150
        assert rec["samples_per_s"] == pytest.approx(150 / rec["epoch_time_s"])
        assert rec["samples_per_s"] > 0 and rec["elapsed_s"] > 0
        for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
            assert isinstance(rec[key], float)
        assert 0 <= rec["test_accuracy"] <= 1


def test_test_figures_cover_the_whole_test_set():
    tr = Trainer(make_spec())
    rec = tr.train_epoch()
    ds = tr.dataset
    F = tr.preprocess(ds.X_test)
    proba = tr.model.predict_proba(F)
    assert rec["test_accuracy"] == pytest.approx(np.mean(proba.argmax(axis=1) == ds.y_test))
    p_true = proba[np.arange(len(ds.y_test)), ds.y_test]
    assert rec["test_loss"] == pytest.approx(-np.mean(np.log(p_true)), rel=1e-5)


def test_training_learns_and_completes():
    tr = Trainer(make_spec(epochs=40))
    records = list(tr.run())
    assert tr.status == "completed" and tr.epoch == 40
    assert records[-1]["train_loss"] < 0.5 * records[0]["train_loss"]
    assert records[-1]["test_accuracy"] >= 0.9


def test_same_seed_same_records_and_weights():
    a, b = Trainer(make_spec(dropout=0.2)), Trainer(make_spec(dropout=0.2))
    ra = [strip(r) for r in a.run()]
    rb = [strip(r) for r in b.run()]
    assert ra == rb
    np.testing.assert_array_equal(a.model.params, b.model.params)
    c = Trainer(make_spec(dropout=0.2, seed=4))
    list(c.run())
    assert not np.array_equal(a.model.params, c.model.params)


def test_stop_between_steps_with_an_event_or_a_callable():
    tr = Trainer(make_spec(epochs=100))
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 25  # 10 steps per epoch: 2 epochs and 5 steps

    records = list(tr.run(stop))
    assert tr.status == "stopped"
    assert len(records) == 2
    assert tr.step == 25
    assert "stopped" in tr.message

    event = threading.Event()
    event.set()
    tr2 = Trainer(make_spec())
    assert list(tr2.run(event)) == []
    assert tr2.status == "stopped" and tr2.step == 0


def test_status_is_an_enum_with_the_documented_strings():
    assert [str(s) for s in RunStatus] == ["running", "completed", "diverged", "stopped"]
    tr = Trainer(make_spec(epochs=1))
    assert tr.status is RunStatus.RUNNING
    list(tr.run())
    assert tr.status is RunStatus.COMPLETED and tr.status == "completed"
    assert json.loads(json.dumps({"status": tr.status})) == {"status": "completed"}
    assert f"{tr.status}" == "completed"


def test_diverging_learning_rate_ends_with_status_diverged():
    s = RunSpec.from_dict({"dataset": {"kind": "plane", "n_samples": 100, "seed": 1},
                           "model": {"kind": "mlp", "hidden": [8], "activation": "relu"},
                           "train": {"epochs": 50, "optimizer": "sgd", "learning_rate": 10.0}})
    tr = Trainer(s)
    records = list(tr.run())  # no exception
    assert tr.status == "diverged"
    assert len(records) < 50
    last = records[-1]
    assert not math.isfinite(last["train_loss"])
    assert tr.message.startswith("diverged: the loss became ")
    assert f"at epoch {last['epoch']}; try a smaller learning rate" in tr.message


def test_single_steps():
    tr = Trainer(make_spec())
    steps_per_epoch = math.ceil(150 / 16)
    rec = tr.train_step()
    assert rec["step"] == 1 and rec["epoch"] == 0
    assert tuple(rec) == RECORD_KEYS
    for _ in range(steps_per_epoch - 1):
        rec = tr.train_step()
    assert rec["epoch"] == 1 and rec["step"] == steps_per_epoch
    # a step-by-step epoch gives the same weights as a whole epoch
    whole = Trainer(make_spec())
    whole.train_epoch()
    np.testing.assert_array_equal(whole.model.params, tr.model.params)
    # mixing: a few steps, then finish the epoch
    rec = tr.train_step()
    rec = tr.train_epoch()
    assert rec["epoch"] == 2 and rec["step"] == 2 * steps_per_epoch


def test_evaluate_scores_the_whole_sets():
    tr = Trainer(make_spec())
    rec = tr.evaluate()
    assert rec["step"] == 0 and rec["epoch"] == 0
    F = tr.preprocess(tr.dataset.X_train)
    assert rec["train_accuracy"] == pytest.approx(np.mean(tr.model.predict(F) == tr.dataset.y_train))


def test_set_dataset_mid_run_is_used_from_the_next_epoch():
    s = make_spec(epochs=4)
    tr = Trainer(s)
    first = tr.dataset
    tr.train_step()  # mid-epoch
    more = load_dataset(RunSpec.from_dict({**s.to_dict(), "dataset": {
        "kind": "circle", "n_samples": 400, "noise": 0.05, "seed": 5, "test_fraction": 0.25}}))
    tr.set_dataset(more)
    assert tr.dataset is first  # the current epoch finishes on the old data
    rec = tr.train_epoch()
    assert rec["step"] == math.ceil(150 / 16)
    rec = tr.train_epoch()
    assert tr.dataset is more
    assert rec["step"] == math.ceil(150 / 16) + math.ceil(300 / 16)


def test_set_dataset_that_needs_another_network_is_refused():
    tr = Trainer(make_spec())
    blobs = load_dataset(RunSpec.from_dict({"dataset": {"kind": "blobs", "n_classes": 3, "n_samples": 90}}))
    with pytest.raises(SpecError, match="3 classes"):
        tr.set_dataset(blobs)


def test_patience_stops_early():
    tr = Trainer(make_spec(epochs=500, patience=3, learning_rate=0.5, optimizer="sgd"))
    list(tr.run())
    assert tr.status == "completed"
    assert tr.epoch < 500
    assert "not improved for 3 epochs" in tr.message


def test_regression_records_have_no_accuracy():
    s = RunSpec.from_dict({"dataset": {"kind": "plane", "n_samples": 100, "seed": 1},
                           "model": {"kind": "mlp", "hidden": [4]}, "train": {"epochs": 2}})
    records = list(train(s))
    assert "train_accuracy" not in records[0] and "test_accuracy" not in records[0]
    assert records[-1]["test_loss"] >= 0


def test_no_test_set_gives_null_test_figures():
    s = make_spec(epochs=1)
    s = s.with_(dataset=RunSpec.from_dict({"dataset": {"kind": "xor", "n_samples": 60, "test_fraction": 0.0}}).dataset)
    rec = next(train(s))
    assert rec["test_loss"] is None and rec["test_accuracy"] is None
    assert isinstance(rec["train_loss"], float)


def test_given_dataset_object_and_batch_larger_than_the_data():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]] * 5)
    y = np.array([0, 0, 1, 1] * 5)
    ds = Dataset(X, y, X[:4], y[:4], "classification", 2, ("a", "b"))
    s = make_spec(batch_size=1000, epochs=2)
    s = s.with_(features=("x1", "x2", "x1*x2"))
    tr = Trainer(s, dataset=ds)
    rec = tr.train_epoch()
    assert rec["step"] == 1


@pytest.mark.parametrize("kind", ["logistic", "perceptron"])
def test_linear_models_train(kind):
    s = RunSpec.from_dict({"dataset": {"kind": "gauss", "n_samples": 200, "noise": 0.1, "seed": 1},
                           "model": {"kind": kind},
                           "train": {"epochs": 10, "batch_size": 1 if kind == "perceptron" else 8,
                                     "optimizer": "sgd", "learning_rate": 0.1}})
    tr = Trainer(s)
    records = list(tr.run())
    assert tr.status == "completed"
    assert records[-1]["test_accuracy"] >= 0.9


def test_run_resumes_after_a_stop():
    tr = Trainer(make_spec(epochs=3))
    event = threading.Event()
    calls = []

    def stop():
        calls.append(1)
        return len(calls) == 4

    assert list(tr.run(stop)) == []
    assert tr.status == "stopped" and tr.step == 3
    records = list(tr.run())
    assert tr.status == "completed" and [r["epoch"] for r in records] == [1, 2, 3]
    whole = Trainer(make_spec(epochs=3))
    list(whole.run(event))
    np.testing.assert_array_equal(whole.model.params, tr.model.params)
