"""What a teacher sees after pausing, resetting or importing: the numbers on screen are the run's."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore

from engine.metrics import classification_report, mean_squared_error
from engine.trainer import Trainer
from gui.playground.combo import set_combo_data

LEFT = QtCore.Qt.MouseButton.LeftButton


class _Predictor:
    """The snapshot's network, rebuilt by the engine from its weights (independent of the GUI)."""

    def __init__(self, trainer: Trainer):
        self.trainer = trainer

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.trainer.model.predict(self.trainer.preprocess(X))


def _network_of(snap) -> _Predictor:
    weights = tuple({"W": w["W"].tolist(), "b": w["b"].tolist()} for w in snap.weights)
    return _Predictor(Trainer(snap.spec.with_(weights=weights), snap.dataset))


def _train_then_pause(qtbot, view, epochs: int = 30) -> None:
    qtbot.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: view.session.epoch >= epochs, timeout=20_000)
    qtbot.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: not view.session.running, timeout=5000)
    qtbot.wait(50)


def test_pause_shows_the_epoch_curves_and_scores_it_stopped_at(qtbot, playground):
    view = playground
    # 100 epochs/s: several epochs between two frames, so a pause lands between frames.
    view.settings_bar.speed_slider.setValue(4)
    for _ in range(3):
        _train_then_pause(qtbot, view, view.session.epoch + 15)
        snap = view.session.snapshot
        epoch = view.session.epoch
        assert view.controls.epoch_label.text() == f"{epoch:07,d}"
        epochs = view.curves.buffer.column("epoch")
        assert epochs[-1] == epoch and np.array_equal(epochs, np.arange(1, epoch + 1))
        # the test panel scores the weights training stopped at
        ds = snap.dataset
        pred = _network_of(snap).predict(ds.X_test)
        want = classification_report(ds.y_test, pred, ds.n_classes)
        got = view.session.snapshot.report
        assert np.array_equal(got["confusion"], want["confusion"])
        assert np.asarray(got["confusion"]).sum() == ds.n_test
        acc = float(np.mean(pred == ds.y_test))
        assert f"accuracy {acc:.0%}" in view.output.test_loss_label.text()
        assert view.confusion.summary.text().startswith(f"accuracy {100 * acc:.1f}%")


def test_regression_test_panel_matches_the_paused_network(qtbot, playground):
    view = playground
    set_combo_data(view.settings_bar.problem_combo, "regression")
    qtbot.waitUntil(lambda: view.session.has_network
                    and view.session.dataset.task == "regression", timeout=3000)
    _train_then_pause(qtbot, view, 40)
    snap = view.session.snapshot
    ds = snap.dataset
    mse = mean_squared_error(ds.y_test, _network_of(snap).predict(ds.X_test))
    assert view.session.snapshot.report["mse"] == mse
    # (written to three or four significant digits, in the training loss's notation)
    shown = view.output.test_loss_label.text()
    assert shown.startswith("Test loss ") and float(shown.split()[-1]) == pytest.approx(mse, rel=5e-3)


def test_reset_and_open_clear_the_old_runs_numbers(qtbot, playground, tmp_path):
    view = playground
    _train_then_pause(qtbot, view, 10)
    assert "—" not in view.output.test_loss_label.text()
    qtbot.mouseClick(view.controls.reset_button, LEFT)
    assert view.controls.epoch_label.text() == "000,000"
    assert view.output.test_loss_label.text() == "Test loss —"
    assert view.output.train_loss_label.text() == "Training loss —"
    _train_then_pause(qtbot, view, 10)
    path = str(tmp_path / "pg.json")
    header = view.output.test_loss_label.text()
    view.save(path)
    epoch = view.session.epoch
    qtbot.mouseClick(view.controls.reset_button, LEFT)
    assert view.output.test_loss_label.text() == "Test loss —"
    view.open(path)
    # the trained weights come back with their epoch count, their curves and their last losses
    assert view.session.epoch == epoch and view.controls.epoch_label.text() == f"{epoch:07,d}"
    assert view.output.test_loss_label.text() == header
    _train_then_pause(qtbot, view, epoch + 3)
    epochs = view.curves.buffer.column("epoch")
    assert list(epochs) == list(range(1, view.session.epoch + 1))  # the saved curves, then the new epochs


def test_imported_csv_unselects_the_preset(qtbot, playground, tmp_path):
    view = playground
    panel = view.dataset_panel
    assert panel.preset_buttons["spiral"].isChecked()
    path = tmp_path / "pts.csv"
    path.write_text("x1,x2,label\n" + "".join(f"{i % 5},{i % 7},{'ab'[i % 2]}\n" for i in range(40)))
    panel.import_csv(str(path))
    assert len(view.store) == 40
    assert not any(b.isChecked() for b in panel.preset_buttons.values())


def test_importing_regression_data_switches_the_problem_type_and_undo_switches_back(qtbot, playground, tmp_path):
    view = playground
    panel = view.dataset_panel
    set_combo_data(view.settings_bar.model_combo, "logistic")
    path = tmp_path / "values.csv"
    path.write_text("x1,x2,y\n" + "".join(f"{i % 9 - 4},{i % 7 - 3},{0.1 * i}\n" for i in range(60)))
    panel.import_csv(str(path))
    qtbot.waitUntil(lambda: view.session.has_network and view.session.dataset.task == "regression",
                    timeout=3000)
    assert view.settings_bar.problem_combo.currentData() == "regression"
    assert view.settings_bar.model_combo.currentData() == "mlp"  # classifiers only classify
    assert view.curves.acc_plot.isHidden() and not panel.paint.value_spin.isHidden() and panel.paint.class_list.isHidden()
    assert [b.isVisible() for k, b in panel.preset_buttons.items() if k in ("plane", "multigauss")] == [True, True]
    view.undo_stack.undo()
    qtbot.waitUntil(lambda: view.session.has_network
                    and view.session.dataset.task == "classification", timeout=3000)
    assert view.settings_bar.problem_combo.currentData() == "classification"
    assert not view.curves.acc_plot.isHidden() and not panel.paint.class_list.isHidden()
    # the combo works again: choosing regression now really switches
    set_combo_data(view.settings_bar.problem_combo, "regression")
    qtbot.waitUntil(lambda: view.session.dataset.task == "regression", timeout=3000)


def test_presentation_mode_fits_a_1280_pixel_projector(qtbot, playground):
    view = playground
    view.set_presentation(True)
    assert view.minimumSizeHint().width() <= 1260  # the main window's frame and tabs need the rest
    # regularization stays (the overfitting lesson needs it), in the second row
    assert not any(box.isHidden() for box in view.settings_bar.regularization_boxes)
    assert all(view.settings_bar.row2.indexOf(box) >= 0 for box in view.settings_bar.regularization_boxes)
    assert not view.settings_bar.lr_combo.isHidden() and not view.settings_bar.activation_combo.isHidden()
    view.set_presentation(False)
    assert not any(box.isHidden() for box in view.settings_bar.regularization_boxes)
    assert view.minimumSizeHint().width() <= 1260


def test_speed_limit_keeps_its_pace_when_frames_are_slow():
    """At 100 epochs/s a frame (here 30 ms on a fake clock) is longer than an epoch's slot: the
    epochs it delays are trained afterwards, so the run still goes at 100 a second."""
    from gui.playground.pacing import FRAME_RATE_HZ, Pacer

    clock = _FakeClock()
    pacer = Pacer(clock)
    epochs = frames = 0
    while clock.now < 3.0:
        started = clock()
        clock.now += 0.001  # an epoch
        epochs += 1
        wake = pacer.epoch_done(100.0, started)
        if pacer.frame_due(wake, finished=False):
            pacer.take_frame(finished=False)
            frames += 1
            clock.now += 0.030  # drawing the frame
        if wake is not None and wake > clock.now:
            clock.now = wake  # the worker sleeps until the next epoch is due
    rate = epochs / clock.now
    # a slot per epoch gave one frame per epoch here: about 30 epochs a second
    assert 98 <= rate <= 101
    assert frames / clock.now <= FRAME_RATE_HZ


def test_a_slow_computer_is_not_made_to_catch_up_in_a_burst():
    """Epochs that take 20 ms cannot go at 100 a second; once they are fast again the run
    goes on at 100 a second from there, not in a burst to make up for the lost time."""
    from gui.playground.pacing import MAX_CATCH_UP_S, Pacer

    clock = _FakeClock()
    pacer = Pacer(clock)
    done_at = []
    while clock.now < 4.0:
        started = clock()
        clock.now += 0.020 if clock.now < 2.0 else 0.0005
        done_at.append(clock.now)
        wake = pacer.epoch_done(100.0, started)
        if wake is not None and wake > clock.now:
            clock.now = wake
    done_at = np.asarray(done_at)
    slow = np.sum(done_at < 2.0) / 2.0
    assert 49 <= slow <= 51
    after = done_at[(done_at >= 2.0) & (done_at < 2.0 + MAX_CATCH_UP_S + 0.5)]
    # at most the allowed catch-up above the schedule
    assert len(after) <= 100 * (MAX_CATCH_UP_S + 0.5) + 100 * MAX_CATCH_UP_S + 1
    fast = np.sum(done_at >= 3.0) / (clock.now - 3.0)
    assert 98 <= fast <= 102


def test_full_speed_sends_frames_at_the_frame_rate():
    from gui.playground.pacing import FRAME_RATE_HZ, REPORT_INTERVAL_S, Pacer

    clock = _FakeClock()
    pacer = Pacer(clock)
    frames = reports = 0
    while clock.now < 2.0:
        started = clock()
        clock.now += 0.003
        assert pacer.epoch_done(None, started) is None
        if pacer.frame_due(None, finished=False):
            reports += pacer.take_frame(finished=False)
            frames += 1
    # the frame rate, though a frame waits for the epoch that ends after its time: the frames
    # keep to a grid, and a late one does not delay the next (a clock restarted at each frame
    # gave 1 / (16.7 + 1.3 ms) = 55 a second here)
    assert 2.0 * FRAME_RATE_HZ - 2 <= frames <= 2.0 * FRAME_RATE_HZ + 1
    assert abs(reports - 2.0 / REPORT_INTERVAL_S) <= 1
    assert pacer.frame_due(None, finished=True) and pacer.take_frame(finished=True)


class _FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_choosing_another_preset_starts_a_new_run_but_painting_does_not(qtbot, playground):
    view = playground
    _train_then_pause(qtbot, view, 20)
    old_weights = view.session.snapshot.weights
    qtbot.mouseClick(view.dataset_panel.preset_buttons["circle"], LEFT)
    qtbot.waitUntil(lambda: not view.data_pending, timeout=3000)
    assert view.session.epoch == 0 and view.controls.epoch_label.text() == "000,000"
    assert len(view.curves.buffer.column("epoch")) == 0
    # the same seed: the run starts from the weights a fresh network gets, not the trained ones
    new_weights = view.session.snapshot.weights
    assert not np.allclose(new_weights[0]["W"], old_weights[0]["W"])
    _train_then_pause(qtbot, view, 10)
    epoch = view.session.epoch
    view.data_plot.click_at(1.0, 1.0)
    qtbot.waitUntil(lambda: not view.data_pending, timeout=3000)
    assert view.session.epoch == epoch and len(view.curves.buffer.column("epoch")) == epoch
    # an undone preset choice goes back to the old data, with the network as it is
    view.undo_stack.undo()
    view.undo_stack.undo()
    qtbot.waitUntil(lambda: not view.data_pending, timeout=3000)
    assert view.session.epoch == epoch


def test_a_diverged_run_shows_no_scores_of_earlier_weights(qtbot, playground):
    view = playground
    set_combo_data(view.settings_bar.problem_combo, "regression")
    set_combo_data(view.settings_bar.activation_combo, "linear")
    set_combo_data(view.settings_bar.optimizer_combo, "sgd")
    set_combo_data(view.settings_bar.lr_combo, 10.0)
    assert view.confusion.summary.text().startswith("MSE")  # the untrained network's scores
    qtbot.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: view.session.state == "diverged", timeout=20_000)
    qtbot.wait(50)
    assert view.session.snapshot.report is None
    assert view.confusion.summary.text() == ""
    assert view.output.test_loss_label.text() == "Test loss —"


def test_seconds_axis_fits_the_training_time(qtbot, playground):
    view = playground
    _train_then_pause(qtbot, view, 20)
    view.curves.axis_combo.setCurrentIndex(1)  # seconds
    x, _y = view.curves.curve_data("test_loss")
    elapsed = view.curves.buffer.column("elapsed_s")
    assert np.allclose(x, elapsed) and x[-1] > 0
    lo, hi = view.curves.loss_plot.getPlotItem().vb.viewRange()[0]
    assert lo <= x[0] and hi >= x[-1]
    assert hi - lo <= 1.3 * (x[-1] - x[0]) + 2e-3  # the curve fills the plot's width
    view.curves.axis_combo.setCurrentIndex(0)  # back to epochs
    lo, hi = view.curves.loss_plot.getPlotItem().vb.viewRange()[0]
    assert lo <= 1 and 20 <= hi <= 1.3 * view.session.epoch


def test_the_network_drawing_grows_to_fill_a_large_window(qtbot, playground):
    from gui.playground.network_editor import MAX_ZOOM

    view = playground
    view.resize(1920, 1200)
    qtbot.wait(50)
    zoom = view.network.view.transform().m11()
    assert 1.0 < zoom <= MAX_ZOOM
    view.resize(1280, 800)
    qtbot.wait(50)
    assert view.network.view.transform().m11() < zoom


def test_the_plot_fits_a_files_points_whatever_their_range(qtbot, playground, tmp_path):
    view = playground
    panel = view.dataset_panel
    rng = np.random.default_rng(0)

    def import_points(name, X):
        path = tmp_path / name
        path.write_text("x1,x2,label\n" + "".join(f"{a},{b},{'ab'[i % 2]}\n" for i, (a, b) in enumerate(X)))
        panel.import_csv(str(path))
        qtbot.waitUntil(lambda: not view.data_pending, timeout=3000)

    def assert_fills(X):
        x0, x1, y0, y1 = view.data_plot.box
        lo, hi = X.min(axis=0), X.max(axis=0)
        assert x0 < lo[0] and hi[0] < x1 and y0 < lo[1] and hi[1] < y1
        assert (hi[0] - lo[0]) > 0.8 * (x1 - x0) and (hi[1] - lo[1]) > 0.8 * (y1 - y0)
        assert view.session.render_options.box == view.data_plot.box  # the regions are drawn over the same area

    small = rng.uniform(0.0, 0.01, (40, 2))  # e.g. measurements in metres of something small
    import_points("small.csv", small)
    assert_fills(small)
    # painting inside a fitted plot keeps it (no jumping under the brush)
    box = view.data_plot.box
    view.data_plot.click_at(0.005, 0.005)
    qtbot.waitUntil(lambda: not view.data_pending, timeout=3000)
    assert view.data_plot.box == box and len(view.store) == 41
    large = rng.uniform(100.0, 400.0, (40, 2))
    import_points("large.csv", large)
    assert_fills(large)
    # back to a preset: the usual square
    qtbot.mouseClick(panel.preset_buttons["xor"], LEFT)
    qtbot.waitUntil(lambda: not view.data_pending, timeout=3000)
    assert view.data_plot.box == (-6.0, 6.0, -6.0, 6.0)
    import_points("large2.csv", large)
    set_combo_data(view.settings_bar.problem_combo, "regression")
    assert view.data_plot.box == (-6.0, 6.0, -6.0, 6.0)


def test_the_brush_scales_with_a_fitted_plot(qtbot, playground, tmp_path):
    view = playground
    path = tmp_path / "small.csv"
    path.write_text("x1,x2,label\n" + "".join(f"{(i % 8) * 0.001},{(i // 8) * 0.001},{'ab'[i % 2]}\n"
                                              for i in range(64)))
    view.dataset_panel.import_csv(str(path))
    qtbot.waitUntil(lambda: not view.data_pending, timeout=3000)
    x0, x1, _, _ = view.data_plot.box
    assert view.data_plot.brush_r == view.data_plot.brush_radius * (x1 - x0) / 12.0
    # an erase click with a large brush takes the few points around it, not all 64
    view.dataset_panel.paint.radius_slider.setValue(20)
    assert view.data_plot.brush_radius == 2.0
    view.dataset_panel.paint.set_tool("erase")
    view.data_plot.click_at(0.003, 0.003)
    assert 0 < 64 - len(view.store) < 16


def test_presentation_mode_says_why_play_does_nothing(qtbot, playground):
    view = playground
    view.set_presentation(True)
    view.settings_bar.stop_epochs_check.setChecked(True)
    view.settings_bar.stop_epochs_spin.setValue(3)
    qtbot.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: not view.session.running and view.session.state == "completed", timeout=10_000)
    assert view.output.status_label.isVisible() and "completed" in view.output.status_label.text()
    qtbot.mouseClick(view.controls.play_button, LEFT)  # at the limit: nothing to do, and it says so
    assert not view.session.running
    assert view.output.status_label.isVisible() and "Reached the limit of 3 epochs" in view.output.status_label.text()


def test_a_small_loss_is_not_shown_as_zero(playground):
    view = playground
    view.output.show_losses({"test_loss": 0.000412, "test_accuracy": 0.97, "train_loss": 0.0})
    # (beside a loss of 0, in the same notation)
    assert view.output.test_loss_label.text() == "Test loss 4.12e-04  ·  accuracy 97%"
    assert view.output.train_loss_label.text() == "Training loss 0.00e+00"


def test_eight_classes_fit_the_test_panel_without_scrolling(qtbot, playground):
    view = playground
    panel = view.dataset_panel
    qtbot.mouseClick(panel.preset_buttons["blobs"], LEFT)
    panel.classes_spin.setValue(8)
    qtbot.waitUntil(lambda: view.session.has_network and view.session.dataset.n_classes == 8,
                    timeout=3000)
    _train_then_pause(qtbot, view, 3)
    qtbot.wait(50)
    matrix = view.confusion.matrix
    assert matrix.rowCount() == 8
    assert matrix.verticalScrollBar().maximum() == 0 and view.confusion.scores.verticalScrollBar().maximum() == 0
    cm = np.array([[int(matrix.item(i, j).text()) for j in range(8)] for i in range(8)])
    assert cm.sum() == view.session.dataset.n_test
    # on a small screen the network drawing keeps at least 40 % of the column
    view.resize(1280, 800)
    qtbot.wait(50)
    assert 0 < view.confusion.minimumHeight() <= 0.6 * view.confusion.parentWidget().height()
    # back to two classes: the panel gives the room back to the network drawing
    qtbot.mouseClick(panel.preset_buttons["xor"], LEFT)
    qtbot.waitUntil(lambda: view.confusion.matrix.rowCount() == 2, timeout=3000)
    assert view.confusion.minimumHeight() == 0


def test_the_epoch_limit_message_counts_the_whole_run(qtbot, playground):
    view = playground
    _train_then_pause(qtbot, view, 10)
    view.settings_bar.lr_combo.setCurrentIndex(view.settings_bar.lr_combo.findData(0.01))  # a new setting: a new trainer, same run
    view.settings_bar.stop_epochs_check.setChecked(True)
    view.settings_bar.stop_epochs_spin.setValue(view.session.epoch + 5)
    qtbot.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: view.session.state == "completed", timeout=10_000)
    epoch = view.session.epoch
    assert epoch == view.settings_bar.stop_epochs_spin.value()
    assert view.output.status_label.text() == f"completed {epoch:,} epochs"


def test_confusion_headers_follow_a_rename_and_number_crowded_columns(qtbot, playground):
    view = playground
    panel = view.dataset_panel
    item = panel.paint.class_list.item(1)
    item.setText("plums")
    qtbot.waitUntil(lambda: view.confusion.matrix.horizontalHeaderItem(1) is not None
                    and view.confusion.matrix.horizontalHeaderItem(1).text() == "→plums", timeout=3000)
    assert view.confusion.scores.verticalHeaderItem(1).text() == "plums"
    assert view.confusion.scores.verticalHeaderItem(0).text() == "class 0"
    qtbot.mouseClick(panel.preset_buttons["blobs"], LEFT)
    panel.classes_spin.setValue(8)
    view.set_presentation(True)
    view.resize(1280, 800)
    qtbot.waitUntil(lambda: view.confusion.matrix.columnCount() == 8, timeout=3000)
    qtbot.wait(50)
    matrix = view.confusion.matrix
    fm = matrix.horizontalHeader().fontMetrics()
    labels = [matrix.horizontalHeaderItem(j).text() for j in range(8)]
    assert all(fm.horizontalAdvance(t) < matrix.columnWidth(j) for j, t in enumerate(labels))
    assert labels[3] == "→3" and matrix.verticalHeaderItem(3).text() == "3 class 3"
    assert view.confusion.scores.verticalHeaderItem(3).text() == "3 class 3"
    assert matrix.horizontalScrollBar().maximum() == 0


def test_curve_value_labels_do_not_crowd_a_short_presentation_plot(qtbot, playground):
    from PySide6 import QtGui

    view = playground
    _train_then_pause(qtbot, view, 5)
    view.set_presentation(True)
    axis = view.curves.loss_plot.getPlotItem().getAxis("left")
    text_h = QtGui.QFontMetrics(axis.style["tickFont"]).height()
    for height_px in (49, 80, 200):
        labelled = [v for _spacing, values in axis.tickValues(0.0, 0.7, height_px) for v in values]
        assert 2 <= len(labelled) and (len(labelled) - 1) * 1.8 * text_h <= height_px + 1.8 * text_h
    # the epoch axis: numbers of four digits on a narrow plot, each with room of its own
    epochs = view.curves.acc_plot.getPlotItem().getAxis("bottom")
    width = QtGui.QFontMetrics(epochs.style["tickFont"]).horizontalAdvance("1500")
    for width_px in (150, 200, 400):
        labelled = sorted(v for _spacing, values in epochs.tickValues(0.0, 1900.0, width_px) for v in values)
        assert 2 <= len(labelled) and len(labelled) * 1.5 * width <= width_px + 1.5 * width, (width_px, labelled)
    view.set_presentation(False)
    # with small fonts and room, pyqtgraph's own choice stays
    assert [v for _s, vals in axis.tickValues(0.0, 0.7, 100) for v in vals] == pytest.approx([0.0, 0.2, 0.4, 0.6])
    assert list(epochs.tickValues(0.0, 100.0, 500)[0][1]) == \
        list(pg.AxisItem("bottom").tickValues(0.0, 100.0, 500)[0][1]) == [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]


def test_the_score_table_names_its_classes_from_the_start(qtbot, playground):
    view = playground
    scores = view.confusion.scores
    assert scores.rowCount() == 2
    assert [scores.verticalHeaderItem(i).text() for i in range(2)] == ["class 0", "class 1"]
    assert [view.confusion.matrix.horizontalHeaderItem(j).text() for j in range(2)] == ["→class 0", "→class 1"]
