"""The Vectorization view, driven as a user: pick sizes, press Run, read the plot and the table."""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest
from PySide6 import QtCore
from PySide6.QtTest import QTest

from engine.vectorize import vectors
from gui.vectorize.view import VectorizeView
from tests.conftest import require


@pytest.fixture
def view(qtbot):
    v = VectorizeView()
    qtbot.addWidget(v)
    v.resize(1400, 900)
    v.show()
    yield v
    v.shutdown()
    qtbot.waitUntil(lambda: not v.running, timeout=60_000)


def _choose_smallest_max_n(qtbot, view):
    view.max_n_combo.setFocus()
    QTest.keyClick(view.max_n_combo, QtCore.Qt.Key.Key_Home)
    assert view.max_n_combo.currentData() == 10_000


def _xy(curve):
    """The data a curve plots (pyqtgraph keeps None for an empty curve)."""
    x, y = curve.xData, curve.yData
    return (np.zeros(0) if x is None else x), (np.zeros(0) if y is None else y)


def _untick_mpi(view):
    if view.mpi_check.isChecked():
        QTest.mouseClick(view.mpi_check, QtCore.Qt.MouseButton.LeftButton)
    assert not view.mpi_check.isChecked()


def _set_limit(view, text):
    view.limit_spin.setFocus()
    view.limit_spin.selectAll()
    QTest.keyClicks(view.limit_spin, text)
    QTest.keyClick(view.limit_spin, QtCore.Qt.Key.Key_Return)


def test_run_measures_and_plots_every_size(qtbot, view):
    require(shutil.which("mpirun") is not None and importlib.util.find_spec("mpi4py") is not None,
            "needs mpirun (Open MPI) and mpi4py")
    _choose_smallest_max_n(qtbot, view)
    assert view.mpi_check.isChecked() and view.mpi_check.isEnabled()
    QTest.mouseClick(view.run_button, QtCore.Qt.MouseButton.LeftButton)
    assert view.running and not view.run_button.isEnabled() and view.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not view.running, timeout=120_000)
    sizes = [1_000, 3_000, 10_000]
    loop_x, loop_y = view.loop_curve.xData, view.loop_curve.yData
    np.testing.assert_array_equal(loop_x, sizes)
    np.testing.assert_array_equal(view.numpy_curve.xData, sizes)
    np.testing.assert_array_equal(view.mpi_curve.xData, sizes)
    assert np.all(loop_y > 0) and np.all(view.numpy_curve.yData > 0) and np.all(view.mpi_curve.yData > 0)
    assert view.time_plot.getPlotItem().ctrl.logXCheck.isChecked() and view.time_plot.getPlotItem().ctrl.logYCheck.isChecked()
    # the speedup curve is the loop's time over np.dot's, point by point
    np.testing.assert_allclose(view.speedup_curve.yData, loop_y / view.numpy_curve.yData)
    np.testing.assert_allclose(view.mpi_speedup_curve.yData, view.numpy_curve.yData / view.mpi_curve.yData)
    assert len(_xy(view.estimate_curve)[0]) == 0  # nothing skipped
    # the table says the same, and the three ways computed the same sum
    assert view.table.rowCount() == 3
    assert [view.table.item(i, 0).text() for i in range(3)] == ["1,000", "3,000", "10,000"]
    for n in sizes:
        row = view.rows[n]
        a, b = vectors(n)
        for key in ("loop_value", "numpy_value", "mpi_value"):
            assert row[key] == pytest.approx(float(np.dot(a, b)), rel=1e-12)
    assert "Done: 3 size(s)" in view.status.text() and view.run_button.isEnabled()


def test_a_tiny_loop_limit_skips_the_loop_and_plots_the_prediction(qtbot, view):
    _choose_smallest_max_n(qtbot, view)
    _set_limit(view, "0.001")
    assert view.limit_spin.value() == pytest.approx(0.001)
    _untick_mpi(view)
    QTest.mouseClick(view.run_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.running, timeout=120_000)
    measured = [n for n in (1_000, 3_000, 10_000) if view.rows[n]["loop_s"] is not None]
    skipped = [n for n in (1_000, 3_000, 10_000) if view.rows[n]["loop_s"] is None]
    assert measured and measured[0] == 1_000 and skipped and skipped[-1] == 10_000
    assert measured + skipped == [1_000, 3_000, 10_000][: len(measured) + len(skipped)]
    # the dashed prediction starts at the last measured point and scales it by n
    est_x, est_y = _xy(view.estimate_curve)
    last_n, last_s = measured[-1], view.rows[measured[-1]]["loop_s"]
    np.testing.assert_array_equal(est_x, [last_n] + skipped)
    np.testing.assert_allclose(est_y, [last_s] + [last_s * n / last_n for n in skipped])
    assert np.all(est_y[1:] > 0.001)
    row = [view.rows[n] for n in sorted(view.rows)].index(view.rows[skipped[0]])
    assert view.table.item(row, 1).text().startswith("skipped: would take ~")
    assert len(_xy(view.mpi_curve)[0]) == 0 and view.table.item(0, 3).text() == "-"


def test_stop_ends_a_run_early(qtbot, view):
    _untick_mpi(view)
    QTest.mouseClick(view.run_button, QtCore.Qt.MouseButton.LeftButton)  # up to 10^7
    qtbot.waitUntil(lambda: len(view.rows) >= 1, timeout=60_000)
    QTest.mouseClick(view.stop_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.running, timeout=60_000)
    assert 1 <= len(view.rows) < 9 and view.status.text().startswith("Stopped after")
    assert view.run_button.isEnabled() and not view.stop_button.isEnabled()


def test_presentation_mode_enlarges_the_plots_texts_and_curves(view):
    plots = (view.time_plot, view.speed_plot)
    view.set_presentation(True)
    for plot, legend in zip(plots, (view.time_legend, view.speed_legend)):
        pi = plot.getPlotItem()
        assert "font-size:16pt" in pi.titleLabel.item.toHtml()
        assert pi.getAxis("bottom").style["tickFont"].pointSizeF() == pytest.approx(9.0 * 1.6)
        assert all("font-size:14pt" in label.item.toHtml() for _, label in legend.items)
    assert view.numpy_curve.opts["pen"].widthF() == pytest.approx(3.2)
    assert view.estimate_curve.opts["pen"].style() == QtCore.Qt.PenStyle.DashLine  # still dashed
    view.set_presentation(False)
    assert "font-size:10pt" in view.time_plot.getPlotItem().titleLabel.item.toHtml()
    assert view.numpy_curve.opts["pen"].widthF() == pytest.approx(2.0)
    assert view.mpi_curve.opts["symbolSize"] == pytest.approx(10)
