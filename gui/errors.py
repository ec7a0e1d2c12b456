"""Unexpected errors (bugs): logged with their traceback and shown in a message box with details.

Errors raised on purpose carry a message for the user (a bad spec, a refused login, a job
SLURM rejected, a full disk): the view where they happen shows them in place. Anything else
that escapes a worker (:mod:`gui.workers`) or reaches the Qt event loop (the
``sys.excepthook`` of :func:`excepthook_installed`) is a bug: it is logged with its
traceback and shown in a short message box whose "Show Details..." part holds the
traceback, so that the user can report it, and the app keeps running.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from contextlib import contextmanager
from typing import Iterator

from PySide6 import QtCore, QtWidgets

from gui import logs

logger = logging.getLogger(__name__)

#: Top-level packages whose own exception classes are raised on purpose with a message for
#: the user (``SpecError``, ``SshError``, ``JobError``, ...). paramiko's are network
#: conditions (a reset connection) that ``remote`` passed on unwrapped.
USER_ERROR_PACKAGES = frozenset({"engine", "remote", "gui", "paramiko"})

#: object name of the message boxes this module shows (tests look them up by it)
BOX_NAME = "unexpected-error"


def is_expected_error(exc: BaseException) -> bool:
    """Whether ``exc`` carries a message meant for the user rather than being a bug.

    True for ``OSError`` (files, sockets, timeouts) and for the exception classes of
    :data:`USER_ERROR_PACKAGES`; False for the built-in ones (``TypeError``,
    ``KeyError``, a bare ``ValueError``, ...) that only a mistake in the code raises.
    """
    if isinstance(exc, OSError):
        return True
    return type(exc).__module__.split(".")[0] in USER_ERROR_PACKAGES


class UnexpectedError(Exception):
    """What a view's error callback receives in place of a bug's exception.

    The message box and the log already show the details; the view only has to get back
    to a usable state. ``str()`` is a short line pointing at them; ``original`` is the bug.
    """

    def __init__(self, original: BaseException):
        super().__init__(f"unexpected error ({type(original).__name__}); details in the error message and the log")
        self.original = original


class _BoxPoster(QtCore.QObject):
    """Carries a report to the GUI thread (a queued signal when it comes from a worker)."""

    report = QtCore.Signal(str, str, str)


_poster: _BoxPoster | None = None
_poster_lock = threading.Lock()
_open_boxes: list[QtWidgets.QMessageBox] = []
#: every report's one-line summary since the app started (tests read it)
shown_summaries: list[str] = []


def _box_poster() -> _BoxPoster | None:
    global _poster
    app = QtWidgets.QApplication.instance()
    if app is None:
        return None
    with _poster_lock:
        if _poster is None:
            poster = _BoxPoster()
            if poster.thread() is not app.thread():
                poster.moveToThread(app.thread())
            poster.report.connect(_show_box, QtCore.Qt.ConnectionType.QueuedConnection)
            _poster = poster
    return _poster


def report_unexpected_error(exc: BaseException, where: str) -> None:
    """Log ``exc`` with its traceback and show the message box (from any thread).

    Parameters
    ----------
    exc : BaseException
        The bug; its ``__traceback__`` is what the details show.
    where : str
        What was running, for the log and the box ("in a background task (load_points)").
    """
    summary = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    logger.error("unexpected error %s: %s", where, summary, exc_info=(type(exc), exc, exc.__traceback__))
    poster = _box_poster()
    if poster is not None:
        poster.report.emit(where, summary, details)


def _show_box(where: str, summary: str, details: str) -> None:
    shown_summaries.append(summary)
    # A bug that repeats (a poll every few seconds) keeps one box, not a pile of them.
    if any(box.property("summary") == summary for box in _open_boxes):
        return
    app = QtWidgets.QApplication.instance()
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Critical, "Unexpected error",
                                f"ScaleLab hit an unexpected error {where}.",
                                QtWidgets.QMessageBox.StandardButton.Close, app.activeWindow() if app else None)
    box.setObjectName(BOX_NAME)
    box.setProperty("summary", summary)
    where_logged = logs.log_file()
    box.setInformativeText(summary + "\n\nThe app keeps running. To report the problem, send the details"
                           + (f" or the log file:\n{where_logged}" if where_logged else "."))
    box.setDetailedText(details)
    box.setWindowModality(QtCore.Qt.WindowModality.NonModal)  # never a nested event loop inside a slot
    box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    _open_boxes.append(box)
    box.finished.connect(lambda _result, b=box: _open_boxes.remove(b) if b in _open_boxes else None)
    box.show()


def open_error_boxes() -> list[QtWidgets.QMessageBox]:
    """The unexpected-error message boxes now open."""
    return list(_open_boxes)


@contextmanager
def excepthook_installed() -> Iterator[None]:
    """While the app runs, an exception reaching the event loop is reported, not just printed.

    PySide6 hands an exception that escapes a slot or a Qt override to ``sys.excepthook``;
    a Python thread's to ``threading.excepthook``. Both go to
    :func:`report_unexpected_error`; Ctrl+C in the terminal still stops the app.
    """
    previous_hook, previous_thread_hook = sys.excepthook, threading.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt) or exc is None:
            previous_hook(exc_type, exc, tb)
            return
        report_unexpected_error(exc.with_traceback(tb), "in the window")

    def thread_hook(args):
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            previous_thread_hook(args)
            return
        name = args.thread.name if args.thread is not None else "a thread"
        report_unexpected_error(args.exc_value, f"in a background thread ({name})")

    sys.excepthook, threading.excepthook = hook, thread_hook
    try:
        yield
    finally:
        sys.excepthook, threading.excepthook = previous_hook, previous_thread_hook
