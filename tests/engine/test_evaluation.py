"""Cross-validation, learning and validation curves: folds, scores against scikit-learn, the CLI,
a stopped run that keeps its folds and --resume."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from sklearn.svm import SVC

from engine.estimators import MODEL_REGISTRY
from engine.evaluation import (CrossValidation, EvaluationError, LearningCurve, ValidationCurve, fold_assignment,
                               load_eval_data, spec_with_value)
from engine.runner import main
from engine.spec import RunSpec, load_spec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def blobs_spec(**train) -> RunSpec:
    return RunSpec.from_dict({
        "dataset": {"kind": "blobs", "n_samples": 150, "noise": 0.4, "seed": 3, "test_fraction": 0.3},
        "model": {"kind": "logistic"},
        "train": {"epochs": 15, "batch_size": 16, "optimizer": "adam", "learning_rate": 0.05, **train},
    })


def write_spec(tmp_path, d: dict, name="spec.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(d))
    return str(path)


@pytest.mark.parametrize("stratified", [False, True])
def test_every_row_is_in_exactly_one_test_fold(stratified):
    rng = np.random.default_rng(0)
    y = rng.choice(3, size=103, p=[0.6, 0.3, 0.1])
    k = 5
    fold = fold_assignment(y, k, stratified, seed=7)
    assert fold.shape == (103,) and set(np.unique(fold)) == set(range(k))
    tests = [np.flatnonzero(fold == f) for f in range(k)]
    covered = np.concatenate(tests)
    assert np.array_equal(np.sort(covered), np.arange(103))  # each row once, none twice
    sizes = np.bincount(fold)
    assert sizes.max() - sizes.min() <= 1
    if stratified:
        for c in range(3):
            per_fold = np.bincount(fold[y == c], minlength=k)
            assert per_fold.max() - per_fold.min() <= 1
    # the same seed gives the same folds, another seed other folds
    assert np.array_equal(fold, fold_assignment(y, k, stratified, seed=7))
    assert not np.array_equal(fold, fold_assignment(y, k, stratified, seed=8))


def test_rows_are_in_the_data_files_order(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,label\n" + "".join(f"{float(a)!r},{float(b)!r},{c}\n" for (a, b), c in zip(X, y)))
    spec = RunSpec.from_dict({"dataset": {"kind": "csv", "path": str(csv), "test_fraction": 0.25, "seed": 5},
                              "model": {"kind": "logistic"}, "train": {"epochs": 2}})
    data = load_eval_data(spec)
    assert np.array_equal(data.X, X)
    assert np.array_equal(data.y, y)


def test_cv_json_against_scikit_learn_svc(tmp_path):
    """Each fold trains on exactly its rows: the test accuracy per fold equals SVC's on the same rows."""
    d = {"dataset": {"kind": "moons", "n_samples": 120, "noise": 0.25, "seed": 2, "test_fraction": 0.2},
         "model": {"kind": "svm", "kernel": "rbf", "C": 1.0, "gamma": 0.5, "tol": 1e-4}}
    spec_path = write_spec(tmp_path, d)
    out = tmp_path / "cv"
    assert main(["cv", spec_path, "--folds", "4", "--stratified", "--out", str(out)]) == 0
    cv = json.loads((out / "cv.json").read_text())
    assert cv["status"] == "completed" and cv["finished_folds"] == 4 and cv["score"] == "accuracy"
    data = load_eval_data(load_spec(spec_path))
    fold = np.array(cv["assignment"])
    assert sum(r["n_test"] for r in cv["per_fold"]) == data.n == len(fold)
    accs = []
    for r in cv["per_fold"]:
        test = fold == r["fold"]
        ref = SVC(kernel="rbf", C=1.0, gamma=0.5, tol=1e-4).fit(data.X[~test], data.y[~test])
        ref_acc = float(np.mean(ref.predict(data.X[test]) == data.y[test]))
        assert r["test_accuracy"] == pytest.approx(ref_acc, abs=1.0 / test.sum() + 1e-12)
        assert 0.5 <= r["test_auc"] <= 1.0
        accs.append(r["test_accuracy"])
    assert cv["mean"]["test_accuracy"] == pytest.approx(np.mean(accs))
    assert cv["std"]["test_accuracy"] == pytest.approx(np.std(accs))


def test_regression_cv_scores_r2(tmp_path):
    d = {"dataset": {"kind": "plane", "n_samples": 80, "noise": 0.1, "seed": 1},
         "model": {"kind": "mlp", "hidden": [8], "activation": "tanh"},
         "train": {"epochs": 20, "batch_size": 8, "optimizer": "adam", "learning_rate": 0.02}}
    spec = RunSpec.from_dict(d)
    study = CrossValidation(spec, 3)
    list(study.run())
    out = study.to_json()
    assert out["score"] == "r2" and set(out["mean"]) >= {"test_r2", "test_mse", "train_r2"}
    with pytest.raises(EvaluationError, match="regression target"):
        CrossValidation(spec, 3, stratified=True)


def test_bad_folds_are_one_line_exit_2(tmp_path, capsys):
    spec_path = write_spec(tmp_path, blobs_spec().to_dict())
    for args, words in ((["--folds", "1"], "at least 2"), (["--folds", "151"], "only 150 rows"),
                        (["--folds", "51", "--stratified"], "at most 50 folds")):
        assert main(["cv", spec_path, *args, "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err and "Traceback" not in err
    assert not (tmp_path / "x" / "cv.json").exists()


def test_clustering_kinds_are_refused(monkeypatch):
    spec = blobs_spec()
    monkeypatch.setitem(MODEL_REGISTRY, "logistic", dataclasses.replace(MODEL_REGISTRY["logistic"],
                                                                        output="assignment"))
    with pytest.raises(EvaluationError, match="clustering model"):
        CrossValidation(spec, 3)


def test_learning_curve_sizes_and_scores(tmp_path):
    spec_path = write_spec(tmp_path, blobs_spec().to_dict())
    out = tmp_path / "lc"
    assert main(["curve", spec_path, "--learning", "--sizes", "0.2,1", "--folds", "3", "--stratified",
                 "--out", str(out)]) == 0
    curve = json.loads((out / "curve.json").read_text())
    assert curve["kind"] == "learning" and [p["x"] for p in curve["points"]] == [0.2, 1.0]
    for p in curve["points"]:
        assert p["finished_folds"] == 3
        assert p["n_train"] == [round(p["x"] * 100)] * 3  # 150 rows, 3 folds: 100 training rows each
        assert p["validation_mean"] == pytest.approx(np.mean(p["validation_scores"]))
        assert p["validation_std"] == pytest.approx(np.std(p["validation_scores"]))
        assert p["train_mean"] == pytest.approx(np.mean(p["train_scores"]))


def test_validation_curve_sets_the_field(tmp_path):
    spec = blobs_spec()
    curve = ValidationCurve(spec, 2, param="train.learning_rate", values=(1e-4, 0.1))
    list(curve.run())
    out = curve.to_json()
    assert out["param"] == "train.learning_rate" and [p["x"] for p in out["points"]] == [1e-4, 0.1]
    assert all(p["finished_folds"] == 2 for p in out["points"])
    # 15 epochs at 1e-4 barely move the zero weights of logistic regression; 0.1 learns the blobs
    assert out["points"][1]["validation_mean"] > 0.85
    assert out["points"][1]["train_mean"] > out["points"][0]["train_mean"]
    assert spec_with_value(spec, "train.learning_rate", 0.5).train.learning_rate == 0.5
    assert spec_with_value(spec, "train.epochs", 7).train.epochs == 7
    mlp = spec.with_(model=dataclasses.replace(spec.model, kind="mlp", hidden=(4, 3)))
    assert spec_with_value(mlp, "model.hidden.1", 9).model.hidden == (4, 9)


@pytest.mark.parametrize("param,values,words", [
    ("train.nope", "1", "not a field"), ("model.kind", "1", "not a numeric field"),
    ("train.learning_rate", "0.1,fast", "'fast' is not a number"), ("train.learning_rate", "-1", "out of range"),
    ("train.epochs", "2.5", "whole numbers")])
def test_bad_validation_curve_values_are_one_line(tmp_path, capsys, param, values, words):
    spec_path = write_spec(tmp_path, blobs_spec().to_dict())
    assert main(["curve", spec_path, "--param", param, "--values", values, "--out", str(tmp_path / "v")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err


def test_a_stopped_run_keeps_its_folds_and_resumes(tmp_path):
    """SIGINT after the first finished fold: exit 130, cv.json keeps it; --resume trains the rest only."""
    d = blobs_spec(epochs=600).to_dict()
    d["train"]["batch_size"] = 4
    spec_path = write_spec(tmp_path, d)
    out = tmp_path / "cv"
    proc = subprocess.Popen([sys.executable, "-m", "engine", "cv", spec_path, "--folds", "5", "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    assert first.startswith("fold 1/5")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "--resume" in err
    kept = json.loads((out / "cv.json").read_text())
    assert kept["status"] == "stopped" and 1 <= kept["finished_folds"] < 5
    # the same folder again: refused without --resume or --force
    assert main(["cv", spec_path, "--folds", "5", "--out", str(out)]) == 2
    # another fold count cannot resume this study
    assert main(["cv", spec_path, "--folds", "4", "--resume", "--out", str(out)]) == 2
    d["train"]["epochs"] = 3  # a changed spec cannot resume it either
    assert main(["cv", write_spec(tmp_path, d, "other.json"), "--folds", "5", "--resume", "--out", str(out)]) == 2


def test_resume_trains_only_the_missing_folds(tmp_path):
    spec = blobs_spec()
    spec = spec.with_(model=dataclasses.replace(spec.model, kind="mlp", hidden=(5, 3)), features=("x1", "x2"))
    study = CrossValidation(spec, 4, seed=2)
    for event in study.run():
        if event["event"] == "finished":
            break  # a caller that stops after one fold
    saved = json.loads(json.dumps(study.to_json()))
    assert saved["finished_folds"] == 1
    again = CrossValidation(spec, 4, seed=2)
    assert again.same_setup(saved) is None
    again.load_results(saved)
    started = [e["unit"] for e in again.run() if e["event"] == "started"]
    assert started == [1, 2, 3]
    assert again.to_json()["per_fold"][0] == saved["per_fold"][0]
    assert again.status == "completed"


def test_stop_inside_a_fold_drops_that_fold_only():
    spec = blobs_spec()
    study = LearningCurve(spec, 3, sizes=(0.5, 1.0))
    calls = {"n": 0}

    def stop():  # asked once per epoch by the trainer: stop half-way through the third training
        calls["n"] += 1
        return len(study.results) >= 2 and calls["n"] > 40

    list(study.run(stop))
    assert study.status == "stopped" and len(study.results) == 2
    points = study.to_json()["points"]
    assert points[0]["finished_folds"] == 2 and points[1]["finished_folds"] == 0
