"""The run the worker trains and the snapshots it hands to the GUI, without Qt."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import numpy as np
import pytest

from engine.data import load_dataset
from engine.spec import DatasetSpec, ModelSpec, RunSpec, TrainSpec
from engine.trainer import Trainer
from gui.playground.frames import RenderOptions
from gui.playground.training_run import Controls, TrainingRun

SPEC = RunSpec(dataset=DatasetSpec(kind="xor", n_samples=120, seed=5, test_fraction=0.25), features=("x1", "x2"),
               model=ModelSpec(kind="mlp", hidden=(5,), activation="tanh"),
               train=TrainSpec(epochs=12, batch_size=16, optimizer="adam", learning_rate=0.05, seed=2))


def _run(epoch: int = 0) -> TrainingRun:
    return TrainingRun(SPEC, load_dataset(SPEC), generation=1, epoch=epoch)


def test_a_snapshot_is_immutable_and_matches_the_network_it_was_taken_of():
    run = _run()
    for _ in range(3):
        run.train_epoch()
    snap = run.snapshot(RenderOptions(), with_report=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.epoch = 5
    with pytest.raises(ValueError):
        snap.weights[0]["W"][0, 0] = 1.0
    assert snap.epoch == 3 and [r["epoch"] for r in snap.records] == [1, 2, 3]
    assert snap.last_record is snap.records[-1]
    # the scores are those of the weights in the snapshot, as the engine computes them
    trainer = Trainer(SPEC.with_(weights=tuple(snap.weights_as_lists())), snap.dataset)
    pred = trainer.model.predict(trainer.preprocess(snap.dataset.X_test))
    assert np.array_equal(np.asarray(snap.report["confusion"]).diagonal().sum(), np.sum(pred == snap.dataset.y_test))
    # training on does not change a snapshot already handed over
    W = snap.weights[0]["W"].copy()
    run.train_epoch()
    assert np.array_equal(snap.weights[0]["W"], W) and snap.epoch == 3
    assert run.snapshot(RenderOptions(), with_report=False).records[0]["epoch"] == 4


def test_one_epoch_count_across_new_settings_and_up_to_the_runs_limit():
    run = _run(epoch=4)  # weights reopened from a file, trained 4 epochs already
    run.train_epoch()
    run.apply(None, SPEC.with_(train=replace(SPEC.train, learning_rate=0.01)), [])
    assert run.trainer.spec.train.learning_rate == 0.01 and run.epoch == 5
    while run.status == "running":
        run.train_epoch()
    records = run.snapshot(RenderOptions(neurons=False), with_report=False).records
    assert [r["epoch"] for r in records] == list(range(5, 13))
    assert run.epoch == SPEC.train.epochs and run.status == "completed" and not run.can_train
    assert run.message() == "completed 12 epochs"


def test_controls_hand_over_edits_once_and_a_reset_drops_the_older_ones():
    controls = Controls()
    controls.put(edit=(0, 0, 0, 1.5))
    controls.put(spec=SPEC)
    new_run = _run()
    assert controls.take() == (None, None, SPEC, [(0, 0, 0, 1.5)])
    assert controls.take() == (None, None, None, [])
    controls.put(edit=(0, 1, 1, 2.0))
    controls.put(reset=new_run)
    controls.put(edit=(0, 0, 1, -1.0))
    assert controls.take() == (new_run, None, None, [(0, 0, 1, -1.0)])
    new_run.apply(None, None, [(0, 0, 1, -1.0)])
    assert new_run.trainer.model.layers[0].W[0, 1] == -1.0
