"""The Vectorization view's picture: a real measurement from 10^3 to 10^7, run to the end."""

from __future__ import annotations

from PySide6 import QtCore

DEADLINE_MS = 300_000


def stage(view):
    """Press Run and wait (with a deadline) until every size, and the MPI ranks, reported."""
    loop = QtCore.QEventLoop()
    deadline = QtCore.QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    poll = QtCore.QTimer()
    poll.timeout.connect(lambda: None if view.running else loop.quit())
    view.run_button.click()
    deadline.start(DEADLINE_MS)
    poll.start(100)
    loop.exec()
    poll.stop()
    return view.stop
