"""The Playground's settings model without Qt: spec <-> settings, the model rules, the events.

This module imports no PySide6; ``test_the_settings_import_no_qt`` checks that the
modules under test do not either.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from dataclasses import replace

import pytest

from engine.spec import (
    MODEL_KINDS,
    OPTIMIZERS,
    DatasetSpec,
    ModelSpec,
    RunSpec,
    SpecError,
    TrainSpec,
    model_allows_task,
    model_has_hidden_layers,
    optimizers_for_model,
)
from gui.playground.settings import FIELDS, STARTER_HIDDEN, UNLIMITED_EPOCHS, PlaygroundSettings

PROBLEMS = ("classification", "regression")
DATA = {"classification": DatasetSpec(kind="circle", n_samples=60, seed=3),
        "regression": DatasetSpec(kind="plane", n_samples=60, seed=3)}


def _validated(spec: RunSpec) -> RunSpec:
    return RunSpec.from_dict(spec.to_dict())


def test_the_settings_import_no_qt():
    code = ("import sys; import gui.playground.settings, gui.playground.pacing, gui.playground.frames, "
            "gui.playground.tips; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'shiboken6', 'pyqtgraph', 'superqt')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("spec", [
    RunSpec(dataset=DATA["classification"], features=("x1", "x2", "sin(x1)"),
            model=ModelSpec(kind="mlp", hidden=(8, 6), activation="tanh"),
            train=TrainSpec(epochs=300, batch_size=16, optimizer="adam", learning_rate=0.03, seed=4)),
    RunSpec(dataset=DATA["classification"], features=("x1", "x2"),
            model=ModelSpec(kind="mlp", hidden=(3, 5, 2), activation=("relu", "tanh", "sigmoid")),
            train=TrainSpec(epochs=40, batch_size=7, optimizer="momentum", learning_rate=0.1, l1=0.003,
                            dropout=0.25, patience=12)),
    RunSpec(dataset=DATA["classification"], features=("x1^2", "x2^2"), model=ModelSpec(kind="perceptron", hidden=()),
            train=TrainSpec(epochs=10, batch_size=1, optimizer="sgd", learning_rate=1.0, l2=0.01)),
    RunSpec(dataset=DATA["regression"], features=("x1", "x2"),
            model=ModelSpec(kind="mlp", hidden=(4,), activation="linear"),
            train=TrainSpec(epochs=99, batch_size=32, optimizer="sgd", learning_rate=0.003)),
])
def test_spec_to_settings_and_back_is_the_same_spec(spec):
    settings = PlaygroundSettings()
    task = "regression" if spec.dataset.kind == "plane" else "classification"
    settings.apply_spec(spec.with_(meta={"playground": {"stop_after_epochs": True}}), task)
    again = settings.run_spec(spec.dataset)
    assert again == spec
    assert _validated(again) == again
    # the live run trains without a limit unless "stop at" is ticked
    settings.set(stop_after_epochs=False)
    assert settings.run_spec(spec.dataset, for_session=True).train.epochs == UNLIMITED_EPOCHS
    assert settings.train_spec().epochs == spec.train.epochs


def test_view_settings_travel_in_meta():
    settings = PlaygroundSettings()
    settings.set(discretize=True, show_test=False, speed_index=1, stop_when_stalled=True, patience=7,
                 regularization="l2", reg_rate=0.0)
    meta = {"playground": settings.view_meta()}
    spec = settings.run_spec(DATA["classification"], meta=meta)
    other = PlaygroundSettings()
    other.apply_spec(_validated(spec), "classification")
    assert other.view_meta() == settings.view_meta()
    assert other.speed == 3.0
    # nonsense in a hand-edited file falls back to the defaults instead of failing
    other.apply_spec(spec.with_(train=replace(spec.train, patience=0),
                                meta={"playground": {"speed": 99, "regularization": "l7", "patience": "x"}}),
                     "classification")
    assert other.speed == 10.0 and other.regularization == "none" and other.patience == 20


@pytest.mark.parametrize("problem,kind", list(itertools.product(PROBLEMS, MODEL_KINDS)))
def test_every_model_and_problem_gives_a_spec_the_validator_accepts_unchanged(problem, kind):
    """Choosing a model, then a problem (or the other way round) always ends in a combination the
    rules allow, and the spec it makes is one the validator keeps exactly as it is."""
    for order in (("model_kind", "problem"), ("problem", "model_kind")):
        settings = PlaygroundSettings()
        for optimizer in OPTIMIZERS:
            settings.set(optimizer=optimizer)
            for name in order:
                settings.set(**{name: kind if name == "model_kind" else problem})
            assert model_allows_task(settings.model_kind, settings.problem)
            # the choice made last wins; a classifier chosen for regression data switches to classification
            if order[-1] == "model_kind":
                assert settings.model_kind == kind
            else:
                assert settings.problem == problem
            assert settings.optimizer_choices == optimizers_for_model(settings.model_kind)
            assert settings.has_layers == model_has_hidden_layers(settings.model_kind)
            assert bool(settings.hidden) == settings.has_layers
            spec = settings.run_spec(DATA[settings.problem])
            assert _validated(spec) == spec
            assert spec.train.optimizer in settings.optimizer_choices


def test_the_rules_in_words():
    settings = PlaygroundSettings()
    settings.set(model_kind="perceptron", optimizer="adam")
    assert settings.train_spec().optimizer == "sgd" and settings.optimizer_choices == ("sgd",)
    settings.set(problem="regression")  # the perceptron only classifies: the network returns
    assert settings.model_kind == "mlp" and settings.hidden == STARTER_HIDDEN
    assert settings.train_spec().optimizer == "adam"
    settings.set(model_kind="logistic")  # a classifier chosen: the problem follows it
    assert settings.problem == "classification" and settings.hidden == ()
    with pytest.raises(SpecError, match="needs 'mlp'"):
        RunSpec.from_dict(settings.run_spec(DATA["regression"]).to_dict())


def test_events_name_what_changed_once():
    settings = PlaygroundSettings()
    seen: dict[str, list] = {name: [] for name in FIELDS}
    for name in FIELDS:
        getattr(settings.events, name).connect(seen[name].append)
    batches = []
    settings.events.changed.connect(batches.append)

    assert settings.set(learning_rate=0.03) == frozenset()  # the value it had: nothing to tell
    assert batches == []
    settings.set(learning_rate=0.1, batch_size=8)
    assert seen["learning_rate"] == [0.1] and seen["batch_size"] == [8]
    assert batches == [frozenset({"learning_rate", "batch_size"})]
    settings.set(problem="regression", model_kind="perceptron")  # the problem wins over the model
    assert batches[-1] >= {"problem"} and settings.model_kind == "mlp"
    settings.set(activation="relu")
    assert seen["activations"][-1] == ("relu", "relu") and batches[-1] == {"activation", "activations"}
    with pytest.raises(ValueError, match="model_kind"):
        settings.set(model_kind="forest")
    with pytest.raises(ValueError, match="at least one input feature"):
        settings.set(features=())
    with pytest.raises(AttributeError):
        settings.set(colour="red")
