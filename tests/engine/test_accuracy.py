"""Real learning: scikit-learn's breast-cancer data and a playground-sized spiral."""

from __future__ import annotations

import importlib.util

import numpy as np

from engine.loaders import write_csv
from engine.spec import RunSpec
from engine.trainer import Trainer
from tests.conftest import require


def test_breast_cancer_from_a_csv_file(tmp_path):
    require(importlib.util.find_spec("sklearn") is not None, "needs scikit-learn (its bundled breast-cancer data)")
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    names = tuple(str(n) for n in data.target_names)
    write_csv(tmp_path / "cancer.csv", data.data, data.target, class_names=names,
              header=[f"f{i}" for i in range(data.data.shape[1])] + ["diagnosis"])
    spec = RunSpec.from_dict({
        "dataset": {"kind": "csv", "path": "cancer.csv", "standardize": True, "test_fraction": 0.3, "seed": 0},
        "model": {"kind": "mlp", "hidden": [16], "activation": "relu"},
        "train": {"epochs": 30, "batch_size": 16, "optimizer": "adam", "learning_rate": 0.005, "seed": 0},
    }, base_dir=str(tmp_path))
    tr = Trainer(spec)
    assert tr.dataset.n_features_raw == 30 and tr.dataset.n_classes == 2
    records = list(tr.run())
    assert tr.status == "completed"
    assert records[-1]["test_accuracy"] >= 0.93, records[-1]


def test_logistic_regression_on_breast_cancer(tmp_path):
    require(importlib.util.find_spec("sklearn") is not None, "needs scikit-learn (its bundled breast-cancer data)")
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    np.savez(tmp_path / "cancer.npz", X=data.data, y=data.target)
    spec = RunSpec.from_dict({
        "dataset": {"kind": "npz", "path": str(tmp_path / "cancer.npz"), "standardize": True, "seed": 1},
        "model": {"kind": "logistic"},
        "train": {"epochs": 20, "batch_size": 32, "optimizer": "sgd", "learning_rate": 0.1},
    })
    records = list(Trainer(spec).run())
    assert records[-1]["test_accuracy"] >= 0.93, records[-1]


def test_playground_spiral_is_learnt():
    spec = RunSpec.from_dict({
        "dataset": {"kind": "spiral", "n_samples": 500, "noise": 0.1, "seed": 1, "test_fraction": 0.3},
        "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"],
        "model": {"kind": "mlp", "hidden": [8, 8], "activation": "tanh"},
        "train": {"epochs": 200, "batch_size": 16, "optimizer": "adam", "learning_rate": 0.01, "seed": 0},
    })
    tr = Trainer(spec)
    records = list(tr.run())
    assert tr.status == "completed" and len(records) == 200
    assert records[-1]["test_accuracy"] >= 0.9, records[-1]
    assert records[-1]["train_loss"] < 0.3
