"""The numbers the Playground shows: per-class scores, the losses side by side, what the perceptron minimizes."""

from __future__ import annotations

import re

from PySide6 import QtCore
from sklearn.metrics import f1_score

from engine.metrics import classification_report
from gui.playground.confusion import ConfusionPanel
from tests.gui.test_playground_consistency import choose

LEFT = QtCore.Qt.MouseButton.LeftButton


def test_a_class_without_test_points_reads_dash_and_stays_out_of_the_macro_average(qtbot):
    panel = ConfusionPanel()
    qtbot.addWidget(panel)
    panel.resize(500, 400)
    panel.show()
    y_true = [0, 0, 1, 1, 1]
    y_pred = [0, 0, 1, 1, 1]  # every test point right; class 2 has none
    panel.show_report(classification_report(y_true, y_pred, 3), ["A", "B", "C"])
    rows = [[panel.scores.item(i, j).text() for j in range(4)] for i in range(3)]
    assert rows == [["1.00", "1.00", "1.00", "2"], ["1.00", "1.00", "1.00", "3"], ["—", "—", "—", "0"]]
    assert panel.summary.text() == "accuracy 100.0%   macro F1 1.00"
    assert f1_score(y_true, y_pred, labels=[0, 1], average="macro") == 1.0
    tip = panel.summary.toolTip()
    assert "2 classes that have test points" in tip and "1 class without test points left out" in tip
    assert "—" in panel.scores.toolTip()
    # a class with test points that are all missed still reads 0.00: that is a real score
    panel.show_report(classification_report([0, 1, 2], [0, 1, 1], 3), ["A", "B", "C"])
    assert panel.scores.item(2, 2).text() == "0.00"
    assert panel.summary.text().endswith(f"macro F1 {f1_score([0, 1, 2], [0, 1, 1], average='macro'):.2f}")


def test_training_and_test_loss_are_written_alike(playground):
    out = playground.output
    out.show_losses({"train_loss": 0.0, "test_loss": 1.37e-07, "test_accuracy": 1.0})
    assert out.train_loss_label.text() == "Training loss 0.00e+00"
    assert out.test_loss_label.text() == "Test loss 1.37e-07  ·  accuracy 100%"
    out.show_losses({"train_loss": 0.0123, "test_loss": 0.4567})
    assert out.train_loss_label.text() == "Training loss 0.0123"
    assert out.test_loss_label.text() == "Test loss 0.4567"


def test_live_losses_share_the_number_of_decimals(qtbot, playground):
    view = playground
    for n in range(1, 4):
        qtbot.mouseClick(view.controls.step_button, LEFT)
        qtbot.waitUntil(lambda: view.session.epoch == n and not view.session.running, timeout=5000)
    view.draw_frame()
    train = re.search(r"Training loss (\S+)", view.output.train_loss_label.text()).group(1)
    test = re.search(r"Test loss (\S+)", view.output.test_loss_label.text()).group(1)
    assert len(train.split(".")[1]) == len(test.split(".")[1])
    rec = view.session.snapshot.last_record
    assert float(train) == round(rec["train_loss"], len(train.split(".")[1]))


def test_the_perceptron_s_criterion_is_called_what_it_is(qtbot, playground):
    view = playground
    assert view.curves.loss_plot.getPlotItem().titleLabel.text.startswith("Loss (cross-entropy)")
    choose(view.settings_bar.model_combo, "perceptron")
    qtbot.mouseClick(view.controls.step_button, LEFT)
    qtbot.waitUntil(lambda: view.session.epoch == 1 and not view.session.running, timeout=5000)
    view.draw_frame()
    assert view.output.test_loss_label.text().startswith("Test criterion ")
    assert view.output.train_loss_label.text().startswith("Training criterion ")
    assert "loss" not in view.output.test_loss_label.text()
    assert view.curves.loss_plot.getPlotItem().titleLabel.text.startswith("Perceptron criterion")
    assert "Rosenblatt" in view.output.test_loss_label.toolTip()
    choose(view.settings_bar.model_combo, "logistic")
    assert view.output.test_loss_label.text().startswith("Test loss ")
    choose(view.settings_bar.problem_combo, "regression")
    assert view.curves.loss_plot.getPlotItem().titleLabel.text.startswith("Loss (squared error)")


def test_an_svm_and_k_means_chart_what_they_minimize(playground):
    view = playground
    title = view.curves.loss_plot.getPlotItem().titleLabel
    choose(view.settings_bar.model_combo, "svm")
    assert title.text.startswith("Hinge loss") and "hinge loss" in view.output.test_loss_label.toolTip()
    choose(view.settings_bar.model_combo, "kmeans")
    assert title.text.startswith("Inertia per point")
    choose(view.settings_bar.model_combo, "mlp")
    assert title.text.startswith("Loss (cross-entropy)")
