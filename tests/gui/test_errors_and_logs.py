"""Bugs are logged and shown with their traceback; the log file rotates; Help opens its folder."""

from __future__ import annotations

import logging
import os

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from engine.spec import SpecError
from gui import errors, logs, workers


@pytest.fixture
def log_dir(tmp_path, monkeypatch):
    """The app's file logging, set up in a fresh folder and taken down after the test."""
    folder = tmp_path / "logs"
    monkeypatch.setenv(logs.LOG_DIR_ENV, str(folder))
    levels = logging.getLogger().level, logging.getLogger("paramiko").level
    path = logs.setup_logging()
    assert path == str(folder / logs.LOG_FILE_NAME)
    yield folder
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_scalelab", False):
            root.removeHandler(handler)
            handler.close()
    logs._file_handler = None
    root.setLevel(levels[0])
    logging.getLogger("paramiko").setLevel(levels[1])


def _read_log(folder) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return (folder / logs.LOG_FILE_NAME).read_text(encoding="utf-8")


def _wait_for_box(qtbot) -> QtWidgets.QMessageBox:
    qtbot.waitUntil(lambda: len(errors.open_error_boxes()) == 1, timeout=10000)
    return errors.open_error_boxes()[0]


def _points_with_a_bug(n):
    yield n
    yield {"x": 1}["y"]  # a bug: KeyError


def test_a_worker_bug_shows_a_message_with_details_and_is_logged(qtbot, log_dir, error_boxes_expected):
    got, yielded, finished = [], [], []
    workers.start_generator(_points_with_a_bug, 3, on_yielded=yielded.append, on_errored=got.append,
                            on_finished=lambda: finished.append(True))
    box = _wait_for_box(qtbot)
    qtbot.waitUntil(lambda: bool(finished), timeout=5000)
    assert yielded == [3]
    # The view's callback gets a short stand-in so that it can recover, not the bug's text.
    assert len(got) == 1 and isinstance(got[0], errors.UnexpectedError)
    assert isinstance(got[0].original, KeyError)
    assert "details" in str(got[0]) and "'y'" not in str(got[0])

    assert box.windowTitle() == "Unexpected error"
    assert "_points_with_a_bug" in box.text()
    assert "KeyError: 'y'" in box.informativeText()
    assert str(log_dir / logs.LOG_FILE_NAME) in box.informativeText()
    details = box.detailedText()
    assert details.startswith("Traceback (most recent call last):")
    assert 'yield {"x": 1}["y"]' in details and details.rstrip().endswith("KeyError: 'y'")
    # The user opens the details with the box's own button and reads the traceback there.
    show = next(b for b in box.buttons() if "Details" in b.text())
    qtbot.mouseClick(show, QtCore.Qt.MouseButton.LeftButton)
    text_edit = box.findChild(QtWidgets.QTextEdit)
    qtbot.waitUntil(text_edit.isVisible, timeout=5000)
    assert text_edit.toPlainText() == details

    log = _read_log(log_dir)
    assert "ERROR gui.errors" in log and "_points_with_a_bug" in log
    assert 'yield {"x": 1}["y"]' in log and "KeyError: 'y'" in log
    close = box.button(QtWidgets.QMessageBox.StandardButton.Close)
    qtbot.mouseClick(close, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not errors.open_error_boxes(), timeout=5000)


def _load(path):
    raise SpecError("dataset.path", f"{path} does not exist")


def test_an_expected_error_goes_to_the_view_unchanged(qtbot, log_dir):
    got = []
    workers.start_function(_load, "/nowhere.csv", on_errored=got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=10000)
    assert isinstance(got[0], SpecError) and "/nowhere.csv does not exist" in str(got[0])
    qtbot.wait(50)
    assert errors.open_error_boxes() == []
    assert "Traceback" not in _read_log(log_dir)


def test_the_same_bug_repeating_keeps_one_box(qtbot, log_dir, error_boxes_expected):
    got = []
    for _ in range(3):
        workers.start_function(int, "not a number", on_errored=got.append)
    qtbot.waitUntil(lambda: len(got) == 3, timeout=10000)
    qtbot.wait(50)
    assert len(errors.open_error_boxes()) == 1
    assert _read_log(log_dir).count("unexpected error in a background task (int)") == 3  # each one logged


def test_an_exception_reaching_the_event_loop_is_shown_and_logged(qtbot, log_dir, error_boxes_expected):
    button = QtWidgets.QPushButton("Break")
    qtbot.addWidget(button)
    button.show()

    def broken_slot():
        return 1 / 0

    button.clicked.connect(broken_slot)
    with errors.excepthook_installed():
        qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
        box = _wait_for_box(qtbot)
    assert "in the window" in box.text()
    assert "ZeroDivisionError: division by zero" in box.informativeText()
    assert "return 1 / 0" in box.detailedText()
    assert "return 1 / 0" in _read_log(log_dir)


def test_the_log_file_rotates_at_about_a_megabyte_keeping_three(log_dir):
    log = logging.getLogger("tests.rotation")
    line = "x" * 1000
    for i in range(5000):  # about 5 MB of records
        log.info("%d %s", i, line)
    names = sorted(os.listdir(log_dir))
    assert names == ["scalelab.log", "scalelab.log.1", "scalelab.log.2", "scalelab.log.3"]
    sizes = [os.path.getsize(log_dir / n) for n in names]
    assert all(size <= logs.MAX_LOG_BYTES for size in sizes)
    assert all(size > 0.9 * logs.MAX_LOG_BYTES for size in sizes[1:])
    assert "4999 " + line in _read_log(log_dir)  # the newest record is in the current file


def test_no_usable_log_folder_means_no_log_file_not_a_crash(tmp_path, monkeypatch, capfd):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(logs.LOG_DIR_ENV, str(blocker / "logs"))  # a folder inside a file
    try:
        assert logs.setup_logging() is None
        assert logs.log_file() is None
        assert "no log file: cannot write to" in capfd.readouterr().err
    finally:
        logs._file_handler = None


def test_help_menu_opens_the_log_folder(qtbot, tmp_path, monkeypatch):
    from gui import main_window

    monkeypatch.setattr(main_window, "VIEWS", {})  # the menus alone: no view needs to start
    folder = tmp_path / "the logs"
    monkeypatch.setenv(logs.LOG_DIR_ENV, str(folder))
    opened = []
    monkeypatch.setattr(QtGui.QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url) or True))
    window = main_window.MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    bar = window.menuBar()
    help_menu = next(a.menu() for a in bar.actions() if a.text() == "&Help")
    action = window.open_log_folder_action
    assert action in help_menu.actions() and action.text() == "Open &log folder"
    assert str(folder) in action.toolTip()
    # Open the menu with a click on "Help", then click the item, as a user does.
    qtbot.mouseClick(bar, QtCore.Qt.MouseButton.LeftButton, pos=bar.actionGeometry(help_menu.menuAction()).center())
    qtbot.waitUntil(help_menu.isVisible, timeout=5000)
    qtbot.mouseClick(help_menu, QtCore.Qt.MouseButton.LeftButton, pos=help_menu.actionGeometry(action).center())
    qtbot.waitUntil(lambda: bool(opened), timeout=5000)
    assert opened[0].isLocalFile() and opened[0].toLocalFile() == str(folder)
    assert folder.is_dir()  # created so that the file manager has something to show
