"""GUI test fixtures: a Playground view, the Cluster view on a local profile, and a guard against leaked worker threads."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from PySide6 import QtCore

from gui import errors, workers

# The app's log file goes to the test scratch folder, never to the user's log folder.
os.environ.setdefault("SCALELAB_LOG_DIR", os.path.join(os.environ["SCALELAB_TEST_SCRATCH"], "logs"))
# ... and its settings (last folder, last setup, last tab) to a folder of its own.
os.environ.setdefault("SCALELAB_CONFIG_DIR", os.path.join(os.environ["SCALELAB_TEST_SCRATCH"], "config"))


def stop_leaked_workers(qapp, grace_ms: int = 3000) -> int:
    """How many thread-pool workers are still running after ``grace_ms``; those are stopped."""
    if workers.active_worker_count() == 0:
        return 0
    # Give a worker that was asked to stop a moment to reach its next yield.
    deadline = QtCore.QDeadlineTimer(grace_ms)
    while workers.active_worker_count() and not deadline.hasExpired():
        qapp.processEvents()
        QtCore.QThread.msleep(10)
    leaked = workers.active_worker_count()
    if leaked:
        # Stop them so that the next test starts clean.
        workers.quit_workers()
        workers.wait_for_workers(10_000)
    return leaked


@pytest.fixture(autouse=True)
def no_leaked_workers(qapp):
    """Fail a test that leaves a thread-pool worker (a training generator) running."""
    yield
    leaked = stop_leaked_workers(qapp)
    if leaked:
        pytest.fail(f"the test left {leaked} worker thread(s) running", pytrace=False)


class UnexpectedErrorShown(UserWarning):
    """A bug reached the unexpected-error message box during a test."""


@pytest.fixture(autouse=True)
def unexpected_errors_are_reported(qapp, request):
    """Close the unexpected-error boxes a test left open and name each bug in a warning.

    The warning (in pytest's summary) keeps such a bug visible without failing a test
    whose own checks passed; a test that provokes a box on purpose asks for the
    ``error_boxes_expected`` fixture and gets no warning.
    """
    before = len(errors.shown_summaries)
    yield
    qapp.processEvents()  # a report from a worker thread arrives as a queued signal
    shown = errors.shown_summaries[before:]
    for box in errors.open_error_boxes():
        box.close()
    if shown and "error_boxes_expected" not in request.fixturenames:
        warnings.warn(UnexpectedErrorShown("unexpected error shown to the user: " + "; ".join(shown)))


@pytest.fixture
def error_boxes_expected():
    """Marks a test that shows unexpected-error message boxes on purpose."""


@pytest.fixture
def playground(qtbot):
    """A shown PlaygroundView, stopped cleanly after the test."""
    from gui.playground.view import PlaygroundView

    view = shown(qtbot, PlaygroundView(), 1500, 950)
    yield view
    view.shutdown()


def shown(qtbot, widget, width: int, height: int):
    """``widget`` at ``width`` x ``height``, on screen (closed with the test)."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def click_data(qtbot, view, x: float, y: float) -> None:
    """A left click on the data plot at data coordinates ``(x, y)``."""
    plot = view.data_plot
    qtbot.mouseClick(plot.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=plot.widget_pos_of(x, y))


def drag_data(qtbot, view, points: list[tuple[float, float]]) -> None:
    """Press at the first point, move through the others with the button held, release at the last."""
    from PySide6 import QtGui, QtWidgets

    plot = view.data_plot
    vp = plot.viewport()
    left = QtCore.Qt.MouseButton.LeftButton
    none = QtCore.Qt.KeyboardModifier.NoModifier

    def send(kind, x, y, button, buttons):
        local = QtCore.QPointF(plot.widget_pos_of(x, y))
        ev = QtGui.QMouseEvent(kind, local, QtCore.QPointF(vp.mapToGlobal(local.toPoint())), button, buttons, none)
        QtWidgets.QApplication.sendEvent(vp, ev)

    x0, y0 = points[0]
    send(QtCore.QEvent.Type.MouseButtonPress, x0, y0, left, left)
    for x, y in points[1:]:
        send(QtCore.QEvent.Type.MouseMove, x, y, QtCore.Qt.MouseButton.NoButton, left)
        qtbot.wait(5)
    xe, ye = points[-1]
    send(QtCore.QEvent.Type.MouseButtonRelease, xe, ye, left, QtCore.Qt.MouseButton.NoButton)


def pixel_at(view, x: float, y: float) -> np.ndarray:
    """The decision-region image's RGB at data position ``(x, y)``."""
    img = view.data_plot.image.image
    x0, x1, y0, y1 = view.data_plot.box
    h, w = img.shape[:2]
    j = int(round((x - x0) / (x1 - x0) * (w - 1)))
    i = int(round((y - y0) / (y1 - y0) * (h - 1)))
    return np.asarray(img[i, j, :3], dtype=float)


# ----------------------------------------------------------------------------- the Cluster view


@pytest.fixture
def cluster_env(tmp_path, monkeypatch):
    """A config file whose ``local`` profile works in ``tmp_path``; data and templates there too."""
    import sys

    config = tmp_path / "config" / "profiles.toml"
    config.parent.mkdir()
    config.write_text(f'[profiles.local]\nworkdir = "{tmp_path / "jobs"}"\npython = "{sys.executable}"\n')
    monkeypatch.setenv("SCALELAB_CONFIG", str(config))
    monkeypatch.setenv("SCALELAB_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture
def view(qtbot, cluster_env):
    """A shown Cluster view on ``cluster_env`` (modules about other views define a ``view`` of their own)."""
    from gui.cluster.view import ClusterView
    from remote.store import JobStore

    store = JobStore(str(cluster_env / "jobs.sqlite"))
    v = ClusterView(config_path=str(cluster_env / "config" / "profiles.toml"), store=store)
    qtbot.addWidget(v)
    v.resize(1400, 900)
    v.show()
    qtbot.waitExposed(v)
    yield v
    v.shutdown()
    store.close()
