"""The model rules (which task, optimizer and loss each model kind allows) and the validator agree."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.losses import make_loss
from engine.spec import (
    MODEL_KINDS,
    MODEL_RULES,
    OPTIMIZERS,
    RunSpec,
    SpecError,
    check_model_for_task,
    loss_for_model,
    model_allows_task,
    models_for_task,
    optimizer_for_model,
    optimizers_for_model,
)
from engine.trainer import Trainer

TASKS = ("classification", "regression")
PRESET_OF = {"classification": "circle", "regression": "plane"}


def _spec_dict(kind: str, task: str, optimizer: str) -> dict:
    model = {"kind": kind}
    if MODEL_RULES[kind].hidden_layers:
        model.update(hidden=[3], activation="tanh")
    return {"dataset": {"kind": PRESET_OF[task], "n_samples": 40, "seed": 2},
            "features": ["x1", "x2"], "model": model,
            "train": {"epochs": 2, "batch_size": 8, "optimizer": optimizer, "learning_rate": 0.05}}


def test_every_model_kind_has_rules():
    assert set(MODEL_RULES) == set(MODEL_KINDS)
    for kind, rules in MODEL_RULES.items():
        assert rules.tasks and set(rules.tasks) <= set(TASKS)
        assert rules.optimizers and set(rules.optimizers) <= set(OPTIMIZERS)
        assert set(rules.losses) == set(rules.tasks)


def test_regression_needs_the_neural_network_and_the_perceptron_trains_with_sgd():
    assert models_for_task("regression") == ("mlp",)
    assert models_for_task("classification") == MODEL_KINDS
    assert models_for_task("auto") == MODEL_KINDS
    assert optimizers_for_model("perceptron") == ("sgd",)
    assert optimizers_for_model("mlp") == OPTIMIZERS
    assert optimizer_for_model("perceptron", "adam") == "sgd"
    assert optimizer_for_model("logistic", "momentum") == "momentum"
    with pytest.raises(SpecError) as err:
        check_model_for_task("perceptron", "regression")
    assert err.value.field == "model.kind"
    assert str(err.value) == "model.kind: 'perceptron' is a classifier; a regression data set needs 'mlp'"


@pytest.mark.parametrize("kind,task,optimizer", list(itertools.product(MODEL_KINDS, TASKS, OPTIMIZERS)))
def test_the_validator_follows_the_rules(kind, task, optimizer):
    d = _spec_dict(kind, task, optimizer)
    if not model_allows_task(kind, task):
        with pytest.raises(SpecError, match="a regression data set needs 'mlp'"):
            RunSpec.from_dict(d)
        return
    spec = RunSpec.from_dict(d)
    # an optimizer the model does not allow becomes the model's own, silently (old files)
    assert spec.train.optimizer == optimizer_for_model(kind, optimizer)
    assert spec.train.optimizer in optimizers_for_model(kind)
    # the loss the table names is the loss the engine trains with
    trainer = Trainer(spec)
    assert trainer.model.loss.name == loss_for_model(kind, task)
    rec = trainer.train_epoch()
    assert np.isfinite(rec["train_loss"])


def test_the_loss_table_matches_the_engines_losses():
    for kind, rules in MODEL_RULES.items():
        for task in rules.tasks:
            assert make_loss(kind, task, 3).name == rules.losses[task]
    with pytest.raises(SpecError):
        loss_for_model("logistic", "regression")
