"""Nothing a lecturer made is lost: undo across a problem switch, the split and curves in the file,
the quit prompt, the file dialogs' folder, and the last setup and tab at the next start."""

from __future__ import annotations

import json
import os

import numpy as np
from PySide6 import QtCore, QtWidgets

from gui import app_settings
from tests.gui.conftest import click_data

LEFT = QtCore.Qt.MouseButton.LeftButton


def _window(qtbot):
    from gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1500, 950)
    window.show()
    return window


def _shutdown(window):
    for view in window.views.values():
        if hasattr(view, "shutdown"):
            view.shutdown()


def _train(qtbot, view, epochs: int) -> None:
    view.play()
    qtbot.waitUntil(lambda: view.session.epoch >= epochs, timeout=30_000)
    view.session.stop()
    view.draw_frame()


def _clean_settings():
    store = app_settings.settings()
    store.clear()
    store.sync()
    if os.path.exists(app_settings.last_setup_path()):
        os.remove(app_settings.last_setup_path())


def test_switching_the_problem_type_keeps_painted_points_one_undo_away(qtbot, playground):
    view = playground
    paint = view.dataset_panel.paint
    qtbot.mouseClick(paint.clear_button, LEFT)
    for x, y in ((1.0, 1.0), (-2.0, 0.5), (3.0, -3.0)):
        click_data(qtbot, view, x, y)
    painted = view.store.X.copy()
    view.settings_bar.problem_combo.setCurrentIndex(view.settings_bar.problem_combo.findData("regression"))
    assert view.store.task == "regression" and len(view.store) > 3
    assert paint.undo_button.isEnabled()
    qtbot.mouseClick(paint.undo_button, LEFT)
    qtbot.waitUntil(lambda: view.settings.problem == "classification", timeout=5000)
    assert np.array_equal(view.store.X, painted)
    assert view.settings_bar.problem_combo.currentData() == "classification"


def test_a_saved_setup_reopens_with_its_split_curves_scores_and_header(qtbot, playground, tmp_path):
    from gui.playground.view import PlaygroundView

    view = playground
    click_data(qtbot, view, 0.3, 0.2)  # painted: the data are points now, not the preset
    qtbot.waitUntil(lambda: not view.data_pending, timeout=5000)
    _train(qtbot, view, 40)
    epoch = view.session.epoch
    header = (view.output.test_loss_label.text(), view.output.train_loss_label.text())
    assert "—" not in header[0]
    curves = {k: view.curves.curve_data(k) for k in ("train_loss", "test_loss", "test_accuracy")}
    report = view.session.snapshot.report
    path = str(tmp_path / "lesson.json")
    view.save(path)
    saved = json.loads(open(path).read())
    rows = saved["dataset"]["points"]
    assert len(rows[0]) == 4 and sorted({r[3] for r in rows}) == [0.0, 1.0]
    assert len(saved["meta"]["playground"]["history"]["epoch"]) == epoch

    other = PlaygroundView()
    qtbot.addWidget(other)
    try:
        other.open(path)
        assert np.array_equal(other.store.X, view.store.X)
        assert np.array_equal(other.store.test, view.store.test)  # the same split, point by point
        assert other.session.epoch == epoch
        assert other.controls.epoch_label.text() == view.controls.epoch_label.text()
        assert (other.output.test_loss_label.text(), other.output.train_loss_label.text()) == header
        for key, (x, y) in curves.items():
            x2, y2 = other.curves.curve_data(key)
            np.testing.assert_array_equal(x2, x)
            np.testing.assert_allclose(y2, y)
        again = other.session.snapshot.report
        np.testing.assert_array_equal(np.asarray(again["confusion"]), np.asarray(report["confusion"]))
        assert not other.has_unsaved_changes()
    finally:
        other.shutdown()


def test_closing_with_unsaved_changes_asks_save_discard_or_cancel(qtbot, tmp_path, monkeypatch):
    _clean_settings()
    window = _window(qtbot)
    window.app_session = True
    view = window.views["playground"]
    try:
        assert not view.has_unsaved_changes()
        click_data(qtbot, view, 1.5, 1.5)
        qtbot.waitUntil(lambda: not view.data_pending, timeout=5000)
        assert view.has_unsaved_changes()
        answers = []

        def answer(button):
            def click():
                box = window.unsaved_box
                answers.append(box.text())
                qtbot.mouseClick(box.button(button), LEFT)
            QtCore.QTimer.singleShot(50, click)

        answer(QtWidgets.QMessageBox.StandardButton.Cancel)
        window.close()
        assert window.isVisible() and "not saved" in answers[-1]
        # Save: the file dialog starts in the documents folder, the file gets the changes
        target = str(tmp_path / "class.json")
        asked = []
        monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                            staticmethod(lambda *a, **k: (asked.append(a[2]), (target, ""))[1]))
        answer(QtWidgets.QMessageBox.StandardButton.Save)
        window.close()
        assert not window.isVisible()
        assert os.path.dirname(asked[0]) == app_settings.documents_folder()
        rows = json.loads(open(target).read())["dataset"]["points"]
        assert any(abs(r[0] - 1.5) < 0.05 and abs(r[1] - 1.5) < 0.05 for r in rows)
        # the next start shows that setup, and knows its file
        nxt = _window(qtbot)
        try:
            assert nxt.reopen_last_setup()
            reopened = nxt.views["playground"]
            assert np.array_equal(reopened.store.X, view.store.X)
            assert reopened.file_path == target
        finally:
            _shutdown(nxt)
    finally:
        _shutdown(window)


def test_discarded_changes_are_not_what_the_next_start_shows(qtbot):
    _clean_settings()
    window = _window(qtbot)
    window.app_session = True
    view = window.views["playground"]
    try:
        before = view.store.X.copy()
        click_data(qtbot, view, 2.5, -1.5)
        qtbot.waitUntil(lambda: not view.data_pending, timeout=5000)
        window.show_view("cluster")
        QtCore.QTimer.singleShot(50, lambda: qtbot.mouseClick(
            window.unsaved_box.button(QtWidgets.QMessageBox.StandardButton.Discard), LEFT))
        window.close()
        assert not window.isVisible()
    finally:
        _shutdown(window)
    from gui.main_window import first_view_name

    nxt = _window(qtbot)
    try:
        assert first_view_name(nxt, None, screenshot=False) == "cluster"  # the tab it was closed on
        assert first_view_name(nxt, None, screenshot=True) == "playground"
        assert nxt.reopen_last_setup()
        assert np.array_equal(nxt.views["playground"].store.X, before)
        # the setting, off: the app starts with its default setup
        nxt.reopen_last_action.trigger()
        assert not app_settings.reopen_last()
        assert not nxt.reopen_last_setup()
    finally:
        _shutdown(nxt)
        _clean_settings()


def test_open_dialog_starts_in_documents_then_in_the_last_folder(qtbot, tmp_path, monkeypatch):
    _clean_settings()
    window = _window(qtbot)
    try:
        path = str(tmp_path / "saved.json")
        window.views["playground"].save(path)
        asked = []
        monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName",
                            staticmethod(lambda *a, **k: (asked.append(a[2]), (path, ""))[1]))
        window.open_action.trigger()
        window.open_action.trigger()
        assert asked == [app_settings.documents_folder(), str(tmp_path)]
    finally:
        _shutdown(window)
        _clean_settings()
