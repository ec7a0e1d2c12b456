"""Sharing a setup as one line: File > Copy link, File > Open link, ``main.py LINK`` and hidden controls."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from gui.playground.links import LinkError, link_to_spec, spec_to_link
from tests.gui.conftest import click_data

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


def test_copy_link_and_open_link_carry_the_setup_and_its_hidden_controls(qtbot):
    window = _window(qtbot)
    other = _window(qtbot)
    try:
        view = window.views["playground"]
        view.settings_bar.lr_combo.setCurrentIndex(view.settings_bar.lr_combo.findData(0.1))
        view.dataset_panel.noise_slider.setValue(20)
        view.dataset_panel.regenerate_same_seed()
        # an exercise: the network and the learning rate only
        QtCore.QTimer.singleShot(50, lambda: _tick_and_accept(qtbot, window, ("noise", "data", "problem")))
        window.hide_controls_action.trigger()
        assert view.hidden_controls == {"noise", "data", "problem"}
        assert view.dataset_panel.noise_slider.isHidden() and view.dataset_panel.preset_box.isHidden()
        window.copy_link_action.trigger()
        link = QtGui.QGuiApplication.clipboard().text()
        assert link.startswith("scalelab:") and len(link) < 600  # fits a chat message
        assert "Link copied" in window.statusBar().currentMessage()

        assert other.open_link(link[:60] + "\n" + link[60:])  # broken over two lines in a chat
        shown = other.views["playground"]
        a, b = view.current_spec(), shown.current_spec()
        assert a.dataset == b.dataset and a.model == b.model and a.features == b.features
        assert b.train.learning_rate == 0.1 and a.train == b.train
        assert np.array_equal(shown.store.X, view.store.X)
        assert shown.hidden_controls == {"noise", "data", "problem"}
        assert shown.dataset_panel.noise_slider.isHidden()
        assert shown.settings_bar.problem_combo.parentWidget().isHidden()
        assert not shown.settings_bar.lr_combo.parentWidget().isHidden()
        assert shown.file_path is None and shown.session.epoch == 0
    finally:
        _shutdown(window)
        _shutdown(other)


def _tick_and_accept(qtbot, window, names):
    from gui.playground.hidden_controls import HIDEABLE_CONTROLS

    dialog = window.hide_dialog
    for box in dialog.findChildren(QtWidgets.QCheckBox):
        wanted = any(HIDEABLE_CONTROLS[n] == box.text() for n in names)
        if box.isChecked() != wanted:
            qtbot.mouseClick(box, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(5, box.height() // 2))
    dialog.accept()


def test_a_painted_setup_travels_point_by_point_with_its_split(qtbot, playground):
    view = playground
    click_data(qtbot, view, 1.0, 1.0)
    qtbot.waitUntil(lambda: not view.data_pending, timeout=5000)
    spec = link_to_spec(spec_to_link(view.current_spec()))
    assert spec.weights is None and "history" not in spec.meta["playground"]
    assert spec.dataset.points == view.current_spec().dataset.points  # test flags included


def test_a_bad_link_gives_one_clear_message(qtbot, monkeypatch):
    window = _window(qtbot)
    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", staticmethod(lambda *a, **k: shown.append(a[2])))
    try:
        before = window.views["playground"].current_spec()
        good = spec_to_link(before)
        for bad, words in (("scalelab:" + good[9:40], "damaged or cut off"),
                           ("scalelab:", "empty"),
                           ("scalelab:" + good[9:-3] + "!!!", "damaged or cut off")):
            assert not window.open_link(bad)
            assert words in shown[-1] and "\n" not in shown[-1]
        assert window.views["playground"].current_spec().dataset == before.dataset  # nothing changed
    finally:
        _shutdown(window)
    with pytest.raises(LinkError, match="not a ScaleLab link"):
        link_to_spec("https://playground.tensorflow.org/#activation=tanh")


def test_main_py_opens_a_link_and_says_what_is_wrong_with_a_bad_one(tmp_path):
    from gui.playground.view import PlaygroundView

    link = spec_to_link(PlaygroundView.default_spec().with_(features=("x1", "x2")))
    out = tmp_path / "link.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "main.py", link, "--screenshot", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 10_000
    proc = subprocess.run([sys.executable, "main.py", link[:30], "--screenshot", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("scalelab:")]
    assert lines == ["scalelab: the ScaleLab link is damaged or cut off: copy the whole line again"]
    assert "Traceback" not in proc.stderr
