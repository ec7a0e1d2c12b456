"""The Playground driven as a user would: paint, build, train, look, undo."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from tests.gui.conftest import click_data, drag_data, pixel_at

LEFT = QtCore.Qt.MouseButton.LeftButton
CLASS0 = [(-4.0, -3.0), (-3.5, -4.0), (-4.5, -4.2), (-3.0, -3.2), (-4.0, -4.8), (-2.8, -4.4), (-3.6, -2.6),
          (-4.8, -3.4)]
CLASS1 = [(3.5, 3.0), (4.0, 4.2), (3.0, 4.0), (4.6, 3.4), (3.4, 4.8), (2.8, 3.6), (4.2, 2.8), (4.8, 4.4)]


def _paint_two_classes(qtbot, view) -> None:
    qtbot.mouseClick(view.dataset_panel.paint.clear_button, LEFT)
    assert len(view.store) == 0
    for cls, pts in ((0, CLASS0), (1, CLASS1)):
        view.dataset_panel.paint.select_class(cls)
        for x, y in pts:
            click_data(qtbot, view, x, y)
    n = len(CLASS0) + len(CLASS1)
    qtbot.waitUntil(lambda: not view.data_pending and view.session.has_network
                    and view.session.dataset.n_train + view.session.dataset.n_test == n,
                    timeout=3000)


def test_paint_add_layer_train_and_look(qtbot, playground):
    view = playground
    _paint_two_classes(qtbot, view)
    store = view.store
    assert len(store) == len(CLASS0) + len(CLASS1)
    # the clicks landed where they were aimed, with the chosen class
    assert np.allclose(store.X[: len(CLASS0)], CLASS0, atol=0.1)
    assert set(store.y[: len(CLASS0)]) == {0.0} and set(store.y[len(CLASS0):]) == {1.0}
    # every point a test point would leave nothing to train on: make sure both parts exist
    assert (~store.test).sum() >= 2

    layers = len(view.network.hidden)
    qtbot.mouseClick(view.network.add_layer_button, LEFT)
    assert len(view.network.hidden) == layers + 1
    assert len(view.session.snapshot.weights) == layers + 2

    qtbot.mouseClick(view.controls.play_button, LEFT)
    assert view.session.running

    def learned():
        loss = view.curves.buffer.column("train_loss")
        return len(loss) >= 5 and loss[-1] < 0.5 * loss[0]

    qtbot.waitUntil(learned, timeout=20_000)
    qtbot.mouseClick(view.controls.play_button, LEFT)  # pause
    qtbot.waitUntil(lambda: not view.session.running, timeout=5000)
    view.draw_frame()

    img = view.data_plot.image.image
    assert img is not None and img.shape == (200, 200, 3)
    assert img.reshape(-1, 3).std(axis=0).max() > 10, "the decision image is constant"
    c0 = pixel_at(view, -4.0, -4.0)
    c1 = pixel_at(view, 4.0, 4.0)
    # class 0 is orange (red > blue), class 1 blue (blue > red)
    assert c0[0] > c0[2] + 30, c0
    assert c1[2] > c1[0] + 30, c1

    x, y = view.curves.curve_data("train_loss")
    assert len(x) >= 5 and len(x) == len(y)
    assert y[-1] < y[0]
    assert int(view.controls.epoch_label.text().replace(",", "")) == view.session.epoch >= len(x)


def test_undo_and_redo_a_paint(qtbot, playground):
    view = playground
    qtbot.mouseClick(view.dataset_panel.paint.clear_button, LEFT)
    for x, y in [(0, 0), (1, 1), (2, 2)]:
        click_data(qtbot, view, x, y)
    assert len(view.store) == 3
    qtbot.mouseClick(view.dataset_panel.paint.undo_button, LEFT)
    assert len(view.store) == 2
    qtbot.mouseClick(view.dataset_panel.paint.redo_button, LEFT)
    assert len(view.store) == 3
    assert np.allclose(view.store.X[-1], (2, 2), atol=0.1)
    # a click on top of an existing point (painting fast, in one spot) adds another
    click_data(qtbot, view, 2, 2)
    click_data(qtbot, view, 2, 2)
    assert len(view.store) == 5
    view.undo_stack.undo()
    view.undo_stack.undo()
    # undoing the clear brings the preset back
    for _ in range(4):
        view.undo_stack.undo()
    assert len(view.store) == 500


def test_airbrush_erase_and_move_selection(qtbot, playground):
    view = playground
    qtbot.mouseClick(view.dataset_panel.paint.clear_button, LEFT)
    qtbot.mouseClick(view.dataset_panel.paint.tool_buttons["airbrush"], LEFT)
    drag_data(qtbot, view, [(-3 + 0.5 * k, 0.0) for k in range(8)])
    sprayed = len(view.store)
    assert sprayed > 10
    assert np.all(np.abs(view.store.X[:, 1]) <= view.data_plot.brush_radius + 1e-9)
    view.undo_stack.undo()  # one stroke, one undo
    assert len(view.store) == 0
    view.undo_stack.redo()
    assert len(view.store) == sprayed

    qtbot.mouseClick(view.dataset_panel.paint.tool_buttons["select"], LEFT)
    drag_data(qtbot, view, [(-4.0, -1.0), (-2.0, 0.0), (-1.0, 1.0)])
    selected = view.data_plot.selection.copy()
    assert len(selected) > 0
    assert np.all(view.store.X[selected, 0] <= -1.0)
    before = view.store.X[selected].copy()
    px, py = view.store.X[selected[0]]
    drag_data(qtbot, view, [(px, py), (px + 1.0, py + 1.5), (px + 2.0, py + 3.0)])
    assert np.allclose(view.store.X[selected], before + (2.0, 3.0), atol=0.15)
    view.undo_stack.undo()
    assert np.allclose(view.store.X[selected], before)

    qtbot.mouseClick(view.dataset_panel.paint.tool_buttons["erase"], LEFT)
    n = len(view.store)
    drag_data(qtbot, view, [(-3.0, 0.0), (-2.0, 0.0), (-1.0, 0.0)])
    assert len(view.store) < n
    view.undo_stack.undo()
    assert len(view.store) == n


def test_classes_add_remove_rename(qtbot, playground):
    view = playground
    panel = view.dataset_panel
    assert view.store.n_classes == 2
    qtbot.mouseClick(panel.paint.add_class_button, LEFT)
    assert view.store.n_classes == 3
    click_data(qtbot, view, 0.5, 0.5)
    assert view.store.y[-1] == 2.0
    qtbot.waitUntil(lambda: view.session.has_network and view.session.dataset.n_classes == 3,
                    timeout=3000)
    assert view.network.n_outputs == 3
    panel.paint.class_list.item(2).setText("cats")
    assert view.store.class_names[2] == "cats"
    panel.paint.select_class(2)
    qtbot.mouseClick(panel.paint.remove_class_button, LEFT)
    assert view.store.n_classes == 2 and "cats" not in view.store.class_names
    view.undo_stack.undo()
    assert view.store.class_names[2] == "cats"


def test_diverging_learning_rate_shows_the_message(qtbot, playground):
    view = playground
    view.settings_bar.problem_combo.setCurrentIndex(view.settings_bar.problem_combo.findData("regression"))
    view.settings_bar.activation_combo.setCurrentIndex(view.settings_bar.activation_combo.findData("linear"))
    view.settings_bar.optimizer_combo.setCurrentIndex(view.settings_bar.optimizer_combo.findData("sgd"))
    view.settings_bar.lr_combo.setCurrentIndex(view.settings_bar.lr_combo.findData(10.0))
    good = view.data_plot.image.image.copy()
    qtbot.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: view.session.state == "diverged", timeout=20_000)
    assert view.output.error_banner.isVisible()
    assert view.output.error_banner.text() == "diverged: try a smaller learning rate"
    assert not view.session.running
    img = view.data_plot.image.image
    assert img is not None and np.isfinite(img).all()
    assert img.shape == good.shape
    # play refuses to go on from a diverged network; reset starts over
    view.play()
    assert not view.session.running
    view.settings_bar.lr_combo.setCurrentIndex(view.settings_bar.lr_combo.findData(0.001))
    qtbot.mouseClick(view.controls.reset_button, LEFT)
    assert not view.output.error_banner.isVisible()
    assert view.session.snapshot.status == "running"


def test_weight_edit_and_neuron_hover(qtbot, playground):
    view = playground
    edge = view.network.edge(0, 1, 2)
    view.network.weight_edited.emit(0, 1, 2, 2.5)
    assert view.session.snapshot.weights[0]["W"][1, 2] == 2.5
    view.draw_frame()
    assert edge.value == 2.5
    assert "2.5000" in edge.describe()
    assert edge.pen().widthF() > view.network.edge(0, 0, 0).pen().widthF() or abs(
        view.network.edge(0, 0, 0).value) >= 2.5
    view.network.neuron_hovered.emit(1, 0)
    assert view.data_plot.preview_shown
    assert "neuron 1.1" in view.data_plot.caption.textItem.toPlainText()
    view.network.neuron_hovered.emit(-1, -1)
    assert not view.data_plot.preview_shown


def test_step_trains_one_epoch_and_feature_toggle_rebuilds(qtbot, playground):
    view = playground
    qtbot.mouseClick(view.controls.step_button, LEFT)
    qtbot.waitUntil(lambda: view.session.state == "paused", timeout=5000)
    assert view.session.epoch == 1
    view.draw_frame()
    assert view.controls.epoch_label.text() == "000,001"
    n_in = view.session.snapshot.weights[0]["W"].shape[0]
    view.network.toggle_feature("x1^2")
    assert view.session.snapshot.weights[0]["W"].shape[0] == n_in + 1
    assert view.session.epoch == 0


def test_presentation_mode_enlarges_and_hides(qtbot, playground):
    view = playground
    normal = view.controls.epoch_label.fontInfo().pointSizeF()
    view.set_presentation(True)
    assert view.controls.epoch_label.fontInfo().pointSizeF() > normal * 1.3
    assert not view.settings_bar.fine_settings.isVisible() and view.settings_bar.speed.isVisible()
    assert not view.dataset_panel.file_box.isVisible()
    assert view.curves.loss_plot.train_curve.opts["pen"].widthF() >= 3
    view.set_presentation(False)
    assert view.settings_bar.fine_settings.isVisible()


def test_every_control_has_a_tooltip(playground):
    from PySide6 import QtWidgets

    missing = []
    for w in playground.findChildren(QtWidgets.QWidget):
        if isinstance(w, (QtWidgets.QAbstractButton, QtWidgets.QComboBox, QtWidgets.QAbstractSpinBox,
                          QtWidgets.QSlider, QtWidgets.QListWidget)) and w.isVisibleTo(playground):
            # parts of composite widgets (a table's corner button) are not controls of their own
            if not w.toolTip().strip() and not isinstance(w.parent(), (QtWidgets.QAbstractSpinBox,
                                                                       QtWidgets.QAbstractItemView)):
                missing.append(f"{type(w).__name__} {getattr(w, 'text', lambda: '')()!r}")
    assert not missing, missing


def test_changing_the_network_while_training_starts_a_new_one_and_goes_on(qtbot, playground):
    view = playground
    view.play()
    qtbot.waitUntil(lambda: view.session.epoch >= 20, timeout=20_000)
    layers = len(view.session.snapshot.weights)
    qtbot.mouseClick(view.network.add_layer_button, LEFT)
    assert view.session.epoch == 0  # the old network's frames are dropped at once
    qtbot.waitUntil(lambda: view.session.snapshot is not None, timeout=5000)
    assert len(view.session.snapshot.weights) == layers + 1
    assert view.session.running
    qtbot.waitUntil(lambda: view.curves.buffer.n >= 3, timeout=20_000)
    epochs = view.curves.buffer.column("epoch")
    assert epochs[0] == 1 and np.all(np.diff(epochs) > 0)  # the old network's curve is gone
    # a new learning rate while training keeps the network and the epoch count going
    before = view.session.epoch
    view.settings_bar.lr_combo.setCurrentIndex(view.settings_bar.lr_combo.findData(0.01))
    qtbot.waitUntil(lambda: view.session.epoch > before + 5, timeout=20_000)
    assert view.session.spec.train.learning_rate == 0.01
    view.pause()
    qtbot.waitUntil(lambda: not view.session.running, timeout=5000)
    assert view.session.snapshot.spec.train.learning_rate == 0.01
    epochs = view.curves.buffer.column("epoch")
    assert np.all(np.diff(epochs) > 0)


def test_space_plays_and_pauses(qtbot, playground):
    view = playground
    view.controls.play_button.setFocus()
    view.data_plot.setFocus()
    qtbot.keyClick(view.data_plot, QtCore.Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: view.session.running, timeout=2000)
    assert view.controls.play_button.text() == "❚❚"
    qtbot.keyClick(view.data_plot, QtCore.Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not view.session.running, timeout=5000)
    assert view.controls.play_button.text() == "▶"
