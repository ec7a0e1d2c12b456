"""The pace a new Playground trains at, and controls that agree with each other, driven as a user would."""

from __future__ import annotations

import gc

import numpy as np
from PySide6 import QtCore
from PySide6.QtTest import QTest

from gui.playground.pacing import DEFAULT_SPEED_INDEX, SPEEDS, Pacer

LEFT = QtCore.Qt.MouseButton.LeftButton


def choose(combo, data) -> None:
    """Pick the item holding ``data`` with the keyboard, as a user tabbing through the bar would."""
    combo.setFocus()
    target = combo.findData(data)
    assert target >= 0, data
    key = QtCore.Qt.Key.Key_Down if target > combo.currentIndex() else QtCore.Qt.Key.Key_Up
    for _ in range(combo.count()):
        if combo.currentIndex() == target:
            return
        QTest.keyClick(combo, key)
    assert combo.currentIndex() == target


def _scene_pos(view, role) -> QtCore.QPoint:
    pos = next(view.mapFromScene(i.sceneBoundingRect().center()) for i in view.scene().items() if i.data(0) == role)
    gc.collect()
    return pos


def _epochs_in_one_second(speed: float) -> int:
    """Epochs a speed-limited run trains in one second of a fake clock (each epoch 1 ms)."""
    now = [0.0]
    pacer = Pacer(clock=lambda: now[0])
    n = 0
    while now[0] < 1.0:
        started = now[0]
        now[0] += 0.001
        wake = pacer.epoch_done(speed, started)
        n += 1
        now[0] = max(now[0], wake)
    return n


# ---------------------------------------------------------------------------------- pace
def test_a_new_playground_trains_at_a_pace_one_can_talk_over(qtbot, playground):
    view = playground
    bar = view.settings_bar
    assert view.settings.speed == SPEEDS[DEFAULT_SPEED_INDEX] == 10.0
    assert view.session.speed == 10.0  # the worker's pace, not only the label
    assert bar.speed_label.text() == "10 epochs/s"
    assert 10 <= _epochs_in_one_second(view.session.speed) <= 20
    # a run that trained for a while: no more epochs than the pace allows (an upper bound only)
    import time
    t0 = time.perf_counter()
    qtbot.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: view.session.epoch >= 3, timeout=20_000)
    qtbot.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: not view.session.running, timeout=5000)
    assert view.session.epoch <= 10 * (time.perf_counter() - t0) + 2


def test_max_is_one_click_away_and_the_click_back_returns_to_the_pace(qtbot, playground):
    view = playground
    bar = view.settings_bar
    qtbot.mouseClick(bar.speed.max_button, LEFT)
    assert view.session.speed is None and view.settings.speed is None
    assert bar.speed_label.text() == "max" and bar.speed_slider.value() == bar.speed_slider.maximum()
    assert bar.speed.max_button.isChecked()
    qtbot.mouseClick(bar.speed.max_button, LEFT)
    assert view.session.speed == 10.0 and bar.speed_label.text() == "10 epochs/s"
    assert not bar.speed.max_button.isChecked()
    # the slider: Home goes to the slowest pace, which reads in the singular
    bar.speed_slider.setFocus()
    QTest.keyClick(bar.speed_slider, QtCore.Qt.Key.Key_Home)
    assert view.session.speed == 1.0 and bar.speed_label.text() == "1 epoch/s"
    QTest.keyClick(bar.speed_slider, QtCore.Qt.Key.Key_Right)
    assert bar.speed_label.text() == "3 epochs/s"
    # max and back keeps the pace the user chose
    qtbot.mouseClick(bar.speed.max_button, LEFT)
    qtbot.mouseClick(bar.speed.max_button, LEFT)
    assert view.session.speed == 3.0


def test_a_file_without_a_speed_opens_at_the_default_pace(playground):
    view = playground
    view.settings.set(speed_index=len(SPEEDS) - 1)
    spec = view.default_spec()
    assert "playground" not in (spec.meta or {})
    view.load_run_spec(spec)
    assert view.session.speed == 10.0


# ---------------------------------------------------------------------------------- consistency
def test_a_new_layer_takes_the_activation_box_s_activation(qtbot, playground):
    view = playground
    net = view.network
    choose(view.settings_bar.activation_combo, "relu")
    assert net.activations == ["relu", "relu"]
    # one layer on its own activation: the box still decides what a new layer gets
    QTest.mouseClick(net.view.viewport(), LEFT, pos=_scene_pos(net.view, ("caption", 1)))
    qtbot.waitUntil(lambda: net.view.activation_menu.isVisible(), timeout=2000)
    menu = net.view.activation_menu
    sigmoid = next(a for a in menu.actions() if a.text() == "sigmoid")
    QTest.mouseClick(menu, LEFT, pos=menu.actionGeometry(sigmoid).center())
    qtbot.waitUntil(lambda: net.activations == ["relu", "sigmoid"], timeout=2000)
    qtbot.mouseClick(net.add_layer_button, LEFT)
    assert net.activations == ["relu", "sigmoid", "relu"]
    assert view.session.spec.model.activations == ("relu", "sigmoid", "relu")


def test_perceptron_and_back_keeps_the_users_network(qtbot, playground):
    view = playground
    net = view.network
    QTest.mouseClick(net.view.viewport(), LEFT, pos=_scene_pos(net.view, ("neurons", 1, -1)))
    qtbot.waitUntil(lambda: net.hidden == [8, 5], timeout=2000)
    qtbot.mouseClick(net.add_layer_button, LEFT)
    built = (list(net.hidden), list(net.activations))
    assert built == ([8, 5, 5], ["tanh", "tanh", "tanh"])
    choose(view.settings_bar.model_combo, "perceptron")
    assert net.hidden == [] and view.session.spec.model.hidden == ()
    choose(view.settings_bar.model_combo, "logistic")
    choose(view.settings_bar.model_combo, "mlp")
    assert (net.hidden, net.activations) == built
    assert view.session.spec.model.hidden == (8, 5, 5)
    assert view.session.snapshot.weights[1]["W"].shape == (8, 5)
    # and through a problem switch that needs the network (perceptron -> regression)
    choose(view.settings_bar.model_combo, "perceptron")
    choose(view.settings_bar.problem_combo, "regression")
    qtbot.waitUntil(lambda: view.session.has_network and view.session.dataset.task == "regression", timeout=3000)
    assert view.settings.model_kind == "mlp" and net.hidden == built[0]


def test_a_feature_turned_off_drops_its_picture_from_the_output_plot(qtbot, playground):
    view = playground
    net = view.network
    unit = net.all_features.index("x1")
    pos = net.view.mapFromScene(net.nodes[0][unit].item.sceneBoundingRect().center())
    QTest.mouseMove(net.view.viewport(), pos)
    qtbot.waitUntil(lambda: view.data_plot.preview_shown, timeout=2000)
    assert view.data_plot.caption.textItem.toPlainText() == "x1"
    QTest.mouseClick(net.view.viewport(), LEFT, pos=pos)
    qtbot.waitUntil(lambda: "x1" not in net.features, timeout=2000)
    assert not view.data_plot.preview_shown
    assert view.data_plot.image.image.shape[:2] == (200, 200)  # the decision regions again
    # moving on over the (now unused) input brings no picture back
    QTest.mouseMove(net.view.viewport(), pos + QtCore.QPoint(1, 1))
    qtbot.wait(50)
    assert not view.data_plot.preview_shown


def test_after_a_reset_the_empty_charts_start_from_fresh_axes(qtbot, playground):
    view = playground
    qtbot.mouseClick(view.settings_bar.speed.max_button, LEFT)
    qtbot.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: view.session.epoch >= 40, timeout=20_000)
    qtbot.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: not view.session.running, timeout=5000)
    view.draw_frame()
    (x0, x1), _ = view.curves.loss_plot.viewRange()
    assert x1 >= 40
    qtbot.mouseClick(view.controls.reset_button, LEFT)
    assert view.session.epoch == 0
    for plot in (view.curves.loss_plot, view.curves.acc_plot):
        (x0, x1), (y0, y1) = plot.viewRange()
        assert np.allclose([x0, x1, y0, y1], [0, 10, 0, 1])
    x, y = view.curves.curve_data("test_loss")
    assert len(x) == 0
