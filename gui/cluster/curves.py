"""Curves of one or several runs, on a step (epoch or iteration) or wall-time axis.

Any record stream is drawn: one chart per metric *family* present in the records (loss and
accuracy for networks; dual objective, largest KKT violation and support vectors for an SVM;
inertia and centre shift for k-means). Each run is a *series*: for loss and accuracy its
train curve (dashed) and test curve (solid) in one colour, for the others one solid curve;
created once and updated with ``setData``. The job view shows one series, the compare view
many, with a legend naming each run. Lists in records (per-rank timings) are not curves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from gui.widgets.plot_text import TITLE_PT, present_plot

AXES = {"epoch": "epoch", "elapsed_s": "wall time (s)"}


@dataclass(frozen=True)
class MetricFamily:
    """One chart: a title and the record keys drawn in it (``train_``/``test_`` pairs or one key)."""

    key: str
    title: str
    columns: tuple[str, ...]

    @property
    def paired(self) -> bool:
        return len(self.columns) == 2


#: Every metric family a run may write, in the order the charts appear.
FAMILIES: dict[str, MetricFamily] = {f.key: f for f in (
    MetricFamily("loss", "Loss", ("train_loss", "test_loss")),
    MetricFamily("accuracy", "Accuracy", ("train_accuracy", "test_accuracy")),
    MetricFamily("dual_objective", "SVM dual objective", ("dual_objective",)),
    MetricFamily("max_violation", "SVM largest KKT violation", ("max_violation",)),
    MetricFamily("n_support", "SVM support vectors", ("n_support",)),
    MetricFamily("inertia", "k-means inertia", ("inertia",)),
    MetricFamily("shift", "k-means centre shift", ("shift",)),
)}
#: What a run without records shows: the charts of a network.
DEFAULT_FAMILIES = ("loss", "accuracy")


def is_number(v) -> bool:
    """Whether ``v`` is an int or float (not a bool, a list or text)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def step_of(record: dict):
    """A record's step: its ``epoch``, else its ``iteration`` (None for neither)."""
    step = record.get("epoch")
    return record.get("iteration") if step is None else step


def step_name(records: Iterable[dict]) -> str:
    """``"epoch"`` when the records count epochs, ``"iteration"`` when they count iterations."""
    for r in records:
        if isinstance(r, dict) and r.get("epoch") is not None:
            return "epoch"
        if isinstance(r, dict) and r.get("iteration") is not None:
            return "iteration"
    return "epoch"


def families_present(records: Iterable[dict]) -> list[str]:
    """The keys of :data:`FAMILIES` some step record has a number for, in chart order."""
    rows = [r for r in records if isinstance(r, dict) and step_of(r) is not None]
    return [key for key, fam in FAMILIES.items() if any(is_number(r.get(c)) for r in rows for c in fam.columns)]


def records_to_columns(records: Iterable[dict], names: Iterable[str]) -> dict[str, np.ndarray]:
    """Columns of ``records`` as float arrays ``(n,)``; a missing value is NaN.

    Records without a step (``epoch`` or ``iteration``; per-batch records of a long epoch)
    are skipped, so a curve has one point per step. The column ``"epoch"`` is the step: an
    SVM's or k-means' ``iteration`` where there is no epoch.
    """
    rows = [r for r in records if isinstance(r, dict) and step_of(r) is not None]
    out = {}
    for name in names:
        col = np.full(len(rows), np.nan)
        for i, r in enumerate(rows):
            v = step_of(r) if name == "epoch" else r.get(name)
            if is_number(v):
                col[i] = float(v)
        out[name] = col
    return out


class MetricPlot(pg.PlotWidget):
    """One metric family (a key of :data:`FAMILIES`: ``loss``, ``dual_objective``, ...) of any number of runs."""

    def __init__(self, metric: str, title: str, parent: QtWidgets.QWidget | None = None, legend: bool = False):
        super().__init__(parent=parent, background=theme.BACKGROUND)
        # Not "metric": that name would shadow the virtual QWidget.metric() and crash Qt.
        self.metric_name = metric
        self.family = FAMILIES[metric]
        self.step = "epoch"
        self.setMenuEnabled(False)
        pi = self.getPlotItem()
        pi.setTitle(title, color=theme.FOREGROUND, size=f"{round(TITLE_PT)}pt")
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
        present_plot(self, self.legend, on)
        for train, test in self.curves.values():
            for curve, base in ((train, 1.5), (test, 2.0)):
                pen = QtGui.QPen(curve.opts["pen"])
                pen.setWidthF(base * self.pen_scale)
                curve.setPen(pen)

    def set_x_axis(self, axis: str) -> None:
        self.x_axis = axis
        label = self.step if axis == "epoch" else AXES[axis]
        self.getPlotItem().setLabel("bottom", label, color=theme.MUTED)

    def reset_view(self) -> None:
        """Forget the last run's axes: an empty chart shows 0..1, not the previous job's range."""
        pi = self.getPlotItem()
        if self.has_data():
            pi.enableAutoRange()
        else:
            pi.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)

    def ensure_series(self, key: str, label: str, color: str, train_color: str | None = None,
                      symbol: str | None = None, style: QtCore.Qt.PenStyle = QtCore.Qt.PenStyle.SolidLine,
                      ) -> tuple[pg.PlotDataItem, pg.PlotDataItem]:
        """The (train, test) curves of run ``key``, created on first use.

        ``symbol`` (a pyqtgraph marker such as ``"o"``) and ``style`` set the test curve apart
        from another run drawn in the same place.
        """
        if key not in self.curves:
            pi = self.getPlotItem()
            scale = getattr(self, "pen_scale", 1.0)
            train = pi.plot(pen=pg.mkPen(train_color or color, width=1.5 * scale,
                                         style=QtCore.Qt.PenStyle.DashLine))
            extra = dict(symbol=symbol, symbolSize=7, symbolBrush=None, symbolPen=pg.mkPen(color)) if symbol else {}
            test = pi.plot(pen=pg.mkPen(color, width=2.0 * scale, style=style),
                           name=label if self.legend is not None else None, **extra)
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
                    train_color: str | None = None, symbol: str | None = None,
                    style: QtCore.Qt.PenStyle = QtCore.Qt.PenStyle.SolidLine) -> None:
        """Draw run ``key``'s values of this family from ``records``.

        A train/test pair goes to the train (dashed) and test (solid) curves; a single
        column (an SVM's dual objective, ...) to the solid one.
        """
        columns = self.family.columns
        cols = records_to_columns(records, (self.x_axis, *columns))
        step = step_name(records)
        if step != self.step and records:
            self.step = step
            self.set_x_axis(self.x_axis)
        x = cols[self.x_axis]
        train_curve, test_curve = self.ensure_series(key, label, color, train_color, symbol, style)
        pairs = ((train_curve, columns[0]), (test_curve, columns[1])) if self.family.paired else (
            (test_curve, columns[0]),)
        if not self.family.paired:
            train_curve.setData([], [])
        for curve, name in pairs:
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


