"""Loss and accuracy curves of one or several runs, on an epoch or wall-time axis.

Each run is a *series*: its train curve (dashed) and test curve (solid) in one colour,
created once and updated with ``setData``. The job view shows one series, the compare
view many, with a legend naming each run.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme

AXES = {"epoch": "epoch", "elapsed_s": "wall time (s)"}


def records_to_columns(records: Iterable[dict], names: Iterable[str]) -> dict[str, np.ndarray]:
    """Columns of ``records`` as float arrays ``(n,)``; a missing value is NaN.

    Records without an ``epoch`` (per-step records of a long epoch) are skipped, so a
    curve has one point per epoch.
    """
    rows = [r for r in records if isinstance(r, dict) and r.get("epoch") is not None]
    out = {}
    for name in names:
        col = np.full(len(rows), np.nan)
        for i, r in enumerate(rows):
            v = r.get(name)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                col[i] = float(v)
        out[name] = col
    return out


class MetricPlot(pg.PlotWidget):
    """One metric (``loss`` or ``accuracy``) of any number of runs."""

    def __init__(self, metric: str, title: str, parent: QtWidgets.QWidget | None = None, legend: bool = False):
        super().__init__(parent=parent, background=theme.BACKGROUND)
        # Not "metric": that name would shadow the virtual QWidget.metric() and crash Qt.
        self.metric_name = metric
        self.setMenuEnabled(False)
        pi = self.getPlotItem()
        pi.setTitle(title, color=theme.FOREGROUND, size="10pt")
        pi.showGrid(x=True, y=True, alpha=theme.GRID_ALPHA)
        for name in ("left", "bottom"):
            pi.getAxis(name).setTextPen(pg.mkPen(theme.MUTED))
            pi.getAxis(name).enableAutoSIPrefix(False)  # seconds stay seconds, no "(x0.001)"
        self.legend = pi.addLegend(offset=(-10, 10), labelTextColor=theme.FOREGROUND) if legend else None
        if self.legend is not None:
            self.legend.setBrush(pg.mkBrush(255, 255, 255, 220))
        self.curves: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self.x_axis = "epoch"
        self.set_x_axis("epoch")

    def set_presentation(self, on: bool) -> None:
        """Thick lines and large tick labels for a projector."""
        self.pen_scale = 2.2 if on else 1.0
        font = QtGui.QFont()
        font.setPointSizeF(9 * (theme.PRESENTATION_SCALE if on else 1.0))
        for name in ("left", "bottom"):
            self.getPlotItem().getAxis(name).setStyle(tickFont=font)
        for train, test in self.curves.values():
            for curve, base in ((train, 1.5), (test, 2.0)):
                pen = QtGui.QPen(curve.opts["pen"])
                pen.setWidthF(base * self.pen_scale)
                curve.setPen(pen)

    def set_x_axis(self, axis: str) -> None:
        self.x_axis = axis
        self.getPlotItem().setLabel("bottom", AXES[axis], color=theme.MUTED)

    def ensure_series(self, key: str, label: str, color: str,
                      train_color: str | None = None) -> tuple[pg.PlotDataItem, pg.PlotDataItem]:
        """The (train, test) curves of run ``key``, created on first use."""
        if key not in self.curves:
            pi = self.getPlotItem()
            scale = getattr(self, "pen_scale", 1.0)
            train = pi.plot(pen=pg.mkPen(train_color or color, width=1.5 * scale,
                                         style=QtCore.Qt.PenStyle.DashLine))
            test = pi.plot(pen=pg.mkPen(color, width=2.0 * scale), name=label if self.legend is not None else None)
            for c in (train, test):
                c.setClipToView(True)
            self.curves[key] = (train, test)
        return self.curves[key]

    def remove_series(self, key: str) -> None:
        curves = self.curves.pop(key, None)
        if curves is None:
            return
        for c in curves:
            if self.legend is not None:
                self.legend.removeItem(c)
            self.getPlotItem().removeItem(c)

    def clear_series(self) -> None:
        for key in list(self.curves):
            self.remove_series(key)

    def show_series(self, key: str, label: str, color: str, records: list[dict],
                    train_color: str | None = None) -> None:
        """Draw run ``key``'s train and test values of this metric from ``records``."""
        cols = records_to_columns(records, (self.x_axis, f"train_{self.metric_name}", f"test_{self.metric_name}"))
        x = cols[self.x_axis]
        train_curve, test_curve = self.ensure_series(key, label, color, train_color)
        for curve, name in ((train_curve, f"train_{self.metric_name}"), (test_curve, f"test_{self.metric_name}")):
            y = cols[name]
            ok = np.isfinite(x) & np.isfinite(y)
            curve.setData(x[ok], y[ok])

    def series_data(self, key: str, which: str = "test") -> tuple[np.ndarray, np.ndarray]:
        """What is drawn for run ``key``: ``which`` is ``"train"`` or ``"test"``."""
        if key not in self.curves:
            return np.zeros(0), np.zeros(0)
        curve = self.curves[key][0 if which == "train" else 1]
        x, y = curve.getData()
        return (np.zeros(0) if x is None else np.asarray(x)), (np.zeros(0) if y is None else np.asarray(y))

    def has_data(self) -> bool:
        return any(len(self.series_data(k, w)[0]) for k in self.curves for w in ("train", "test"))


def finite_range(values: np.ndarray) -> tuple[float, float] | None:
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    return float(values.min()), float(values.max())


