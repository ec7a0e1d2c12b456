"""The Playground's Evaluation tab (cross-validation, learning and validation curves, cancel) and
the test panel's ROC tab, driven by clicks and checked against the engine's own numbers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6 import QtCore
from PySide6.QtTest import QTest
from sklearn.metrics import roc_auc_score

from engine.evaluation import CrossValidation, LearningCurve, ValidationCurve
from engine.spec import RunSpec

LEFT = QtCore.Qt.MouseButton.LeftButton

SMALL = {
    "dataset": {"kind": "xor", "n_samples": 120, "noise": 0.2, "seed": 4, "test_fraction": 0.3},
    "features": ["x1", "x2"],
    "model": {"kind": "mlp", "hidden": [4], "activation": "tanh"},
    "train": {"epochs": 8, "batch_size": 16, "optimizer": "adam", "learning_rate": 0.03},
}


def open_evaluation(qtbot, view, spec: dict):
    view.load_run_spec(RunSpec.from_dict(spec))
    tabs = view.output_tabs
    bar = tabs.tabBar()
    QTest.mouseClick(bar, LEFT, pos=bar.tabRect(1).center())
    assert tabs.tabText(1) == "Evaluation" and view.evaluation.isVisible()
    return view.evaluation


def click(qtbot, button) -> None:
    assert button.isEnabled()
    qtbot.mouseClick(button, LEFT)


def test_cross_validation_bars_are_the_engines_fold_scores(qtbot, playground):
    panel = open_evaluation(qtbot, playground, SMALL)
    panel.folds.setValue(4)
    click(qtbot, panel.cv_button)
    assert panel.running and panel.cancel_button.isEnabled() and not panel.cv_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    assert panel.progress.maximum() == 4 and panel.progress.value() == 4
    spec = playground.evaluation_spec()
    ref = CrossValidation(spec, 4, stratified=True)
    list(ref.run())
    expected = [r["test_accuracy"] for r in ref.to_json()["per_fold"]]
    x, heights = panel.plotted_folds()
    assert list(x) == [1, 2, 3, 4]
    np.testing.assert_allclose(heights, expected)
    assert panel.mean_line.value() == pytest.approx(np.mean(expected))
    lo, hi = panel.spread.getRegion()
    assert (hi - lo) / 2 == pytest.approx(np.std(expected))
    train_x, train_y = panel.train_marks.getData()
    np.testing.assert_allclose(train_y, [r["train_accuracy"] for r in ref.to_json()["per_fold"]])
    assert "done" in panel.status.text() and "4 of 4 folds" in panel.fold_summary.text()


def test_learning_and_validation_curves_plot_mean_and_spread(qtbot, playground):
    panel = open_evaluation(qtbot, playground, SMALL)
    panel.folds.setValue(3)
    click(qtbot, panel.learning_button)
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    spec = playground.evaluation_spec()
    ref = LearningCurve(spec, 3, stratified=True)
    list(ref.run())
    points = ref.to_json()["points"]
    x, y = panel.learning.lines["validation"].getData()
    np.testing.assert_allclose(x, [0.1, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(y, [p["validation_mean"] for p in points])
    lo, hi, _ = panel.learning.bands["validation"]
    np.testing.assert_allclose(hi.getData()[1] - lo.getData()[1], [2 * p["validation_std"] for p in points])
    _, ty = panel.learning.lines["train"].getData()
    np.testing.assert_allclose(ty, [p["train_mean"] for p in points])

    # a validation curve over the learning rate, typed as a user would; 4 decades: log x
    panel.param.setCurrentText("train.learning_rate")
    panel.values.clear()
    QTest.keyClicks(panel.values, "0.001,0.1,3")
    click(qtbot, panel.validation_button)
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    ref = ValidationCurve(spec, 3, stratified=True, param="train.learning_rate", values=(0.001, 0.1, 3))
    list(ref.run())
    x, y = panel.validation.lines["validation"].getData()
    np.testing.assert_allclose(x, np.log10([0.001, 0.1, 3]))
    np.testing.assert_allclose(y, [p["validation_mean"] for p in ref.to_json()["points"]])
    assert panel.validation.log_x and "log scale" in panel.validation_plot.getPlotItem().getAxis("bottom").labelText


def test_bad_values_are_one_line_and_nothing_runs(qtbot, playground):
    panel = open_evaluation(qtbot, playground, SMALL)
    panel.param.setCurrentText("train.nope")
    panel.values.setText("1,2")
    click(qtbot, panel.validation_button)
    qtbot.waitUntil(lambda: panel.error.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    assert "train.nope is not a field" in panel.error.text() and "\n" not in panel.error.text()
    panel.param.setCurrentText("train.learning_rate")
    panel.values.setText("0.1,fast")
    click(qtbot, panel.validation_button)
    assert "'fast' is not a number" in panel.error.text() and not panel.running
    # 60 stratified folds of 120 rows in two classes of 60: fine; 61 is not
    panel.folds.setMaximum(100)
    panel.folds.setValue(61)
    click(qtbot, panel.cv_button)
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    assert "at most 60 folds" in panel.error.text()
    assert panel.plotted_folds()[1].size == 0


def test_cancel_during_the_first_training_keeps_nothing_and_frees_the_panel(qtbot, playground):
    slow = {**SMALL, "train": {**SMALL["train"], "epochs": 100_000}}
    panel = open_evaluation(qtbot, playground, slow)
    panel.folds.setValue(3)
    click(qtbot, panel.learning_button)
    qtbot.waitUntil(lambda: "training 1 of 12" in panel.status.text(), timeout=30_000)
    click(qtbot, panel.cancel_button)
    qtbot.waitUntil(lambda: not panel.running, timeout=30_000)
    assert panel.status.text().startswith("Cancelled: kept the 0 of 12")
    assert panel.learning.lines["validation"].getData()[0] is None or \
        len(panel.learning.lines["validation"].getData()[0]) == 0
    assert panel.cv_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_cancel_after_finished_folds_keeps_them(qtbot, playground, monkeypatch):
    """Folds 1 and 2 finish, fold 3 never would: Cancel stops it and the two bars stay."""
    import engine.evaluation as evaluation

    panel = open_evaluation(qtbot, playground, SMALL)
    original = evaluation.train_and_score
    calls = []

    def third_fold_is_long(spec, data, train, test, stop=None, details=True):
        calls.append(1)
        if len(calls) >= 3:
            spec = spec.with_(train=dataclasses.replace(spec.train, epochs=1_000_000))
        return original(spec, data, train, test, stop, details)

    monkeypatch.setattr(evaluation, "train_and_score", third_fold_is_long)
    panel.folds.setValue(4)
    click(qtbot, panel.cv_button)
    qtbot.waitUntil(lambda: "training 3 of 4" in panel.status.text(), timeout=60_000)
    click(qtbot, panel.cancel_button)
    qtbot.waitUntil(lambda: not panel.running, timeout=30_000)
    x, heights = panel.plotted_folds()
    assert list(x) == [1, 2]
    assert panel.status.text().startswith("Cancelled: kept the 2 of 4 trainings")
    assert panel.progress.value() == 2
    assert "2 of 4 folds" in panel.fold_summary.text()


def test_roc_tab_shows_the_test_sets_curves(qtbot, playground):
    view = playground
    spec = {**SMALL, "dataset": {"kind": "blobs", "n_samples": 150, "noise": 1.0, "seed": 1, "n_classes": 3,
                                 "test_fraction": 0.4}}
    view.load_run_spec(RunSpec.from_dict(spec))
    view.prepare_screenshot(epochs=30)
    bar = view.test_switch
    network_height = view.network.height()
    QTest.mouseClick(bar, LEFT, pos=bar.tabRect(1).center())
    assert view.roc.isVisible() and not view.confusion.isVisible()
    ds = view.session.snapshot.dataset
    roc = view.roc.roc
    assert roc is not None and roc["kind"] == "one-vs-rest" and len(view.roc.curves) == 3
    for item, curve in zip(view.roc.curves, roc["curves"]):
        x, y = item.getData()
        np.testing.assert_allclose(x, curve["fpr"])
        np.testing.assert_allclose(y, curve["tpr"])
    # the AUC shown is scikit-learn's for the probabilities of the weights on screen
    from engine.features import Preprocessor
    from engine.model import Network

    snap = view.session.snapshot
    net = Network.from_spec(snap.spec.with_(weights=snap.weights_as_lists()), 2, 3)
    pre = Preprocessor.for_dataset(snap.spec, ds)
    proba = net.predict_proba(pre(np.asarray(ds.X_test)))
    assert roc["macro_auc"] == pytest.approx(roc_auc_score(ds.y_test, proba, multi_class="ovr"), abs=1e-4)
    assert f"macro AUC {roc['macro_auc']:.3f}" in view.roc.summary.text()
    # the ROC tab keeps to the score tables' height: the network drawing keeps its room
    qtbot.wait(50)
    assert view.network.height() >= network_height - 2
    QTest.mouseClick(bar, LEFT, pos=bar.tabRect(0).center())
    assert view.confusion.isVisible() and not view.roc.isVisible()
