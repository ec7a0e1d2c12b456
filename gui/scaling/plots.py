"""The Scaling tab's three pictures: speedup (with ideal line, Amdahl fit, reference), efficiency, per-rank times.

Each takes the table rows of :func:`remote.sweep.scaling_rows` and nothing else, so what is
drawn is exactly what ``scaling.csv`` holds.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from gui import theme
from gui.scaling import tips
from gui.scaling.reference import ReferenceSeries
from gui.widgets.plot_text import TITLE_PT, present_plot
from remote.sweep import amdahl_speedup

MEASURED_COLOR = theme.CLASS_COLORS[1]
AMDAHL_COLOR = theme.CLASS_COLORS[0]
REFERENCE_COLOR = theme.CLASS_COLORS[2]
IDEAL_COLOR = "#9AA0A6"
COMPUTE_COLOR = theme.CLASS_COLORS[1]
COMM_COLOR = theme.CLASS_COLORS[0]
WAIT_COLOR = theme.CLASS_COLORS[5]


def power_of_two_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """Ticks at 1/8, 1/4, ..., 1, 2, 4, ... covering ``[low, high]``, placed for a log10 axis."""
    first = int(np.floor(np.log2(max(low, 1e-3))))
    last = int(np.ceil(np.log2(max(high, low, 1e-3))))
    ticks = []
    for k in range(first, last + 1):
        value = 2.0 ** k
        ticks.append((float(np.log10(value)), f"{value:g}" if k >= 0 else f"1/{2 ** -k}"))
    return ticks


#: the rank counts an empty speedup plot spans (1 to this), before the first row
EMPTY_RANKS = 4
#: up to this many ranks each bar is labelled "rank i"; beyond, every k-th bar by its number,
#: at most MAX_NUMBERED_TICKS numbers
MAX_NAMED_RANKS = 4
MAX_NUMBERED_TICKS = 12


def _plot_widget(title: str, tooltip: str) -> pg.PlotWidget:
    w = pg.PlotWidget(background=theme.BACKGROUND)
    w.setMenuEnabled(False)
    w.hideButtons()
    w.setMouseEnabled(False, False)
    pi = w.getPlotItem()
    pi.setTitle(title, color=theme.FOREGROUND, size=f"{round(TITLE_PT)}pt")
    for name in ("left", "bottom"):
        pi.getAxis(name).setTextPen(pg.mkPen(theme.MUTED))
    w.setToolTip(tooltip)
    return w


class SpeedupPlot(QtCore.QObject):
    """Speedup against ranks on log-log axes: measured points, ideal line, Amdahl's law fitted, reference."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.widget = _plot_widget("Speedup", tips.SPEEDUP + "\n\n" + tips.SERIAL_FRACTION)
        pi = self.widget.getPlotItem()
        pi.setLogMode(x=True, y=True)
        pi.setLabel("bottom", "ranks", color=theme.MUTED)
        pi.setLabel("left", "speedup", color=theme.MUTED)
        self.legend = pi.addLegend(offset=(8, 4), labelTextColor=theme.FOREGROUND)
        self.ideal = pi.plot(pen=pg.mkPen(IDEAL_COLOR, width=1.5, style=QtCore.Qt.DashLine), name="ideal")
        self.amdahl = pi.plot(pen=pg.mkPen(AMDAHL_COLOR, width=1.5), name="Amdahl fit")
        # Not in the plot (nor its legend) until it is asked for.
        self.reference = pg.PlotDataItem(pen=pg.mkPen(REFERENCE_COLOR, width=1.5), symbol="s", symbolSize=6,
                                         symbolBrush=REFERENCE_COLOR, symbolPen=None, name="course (GPUs)")
        self.measured = pi.plot(pen=pg.mkPen(MEASURED_COLOR, width=2), symbol="o", symbolSize=9,
                                symbolBrush=MEASURED_COLOR, symbolPen=None, name="measured")
        self.serial_fraction: float | None = None
        self._reference: ReferenceSeries | None = None
        self._rows: list[dict] = []
        self.set_rows([], None)  # the empty frame: ranks 1, 2, 4 and the ideal line to come

    def set_presentation(self, on: bool) -> None:
        """Large texts and thick lines for a projector."""
        scale = present_plot(self.widget, self.legend, on)
        for item, width in ((self.ideal, 1.5), (self.amdahl, 1.5), (self.reference, 1.5), (self.measured, 2.0)):
            pen = QtGui.QPen(item.opts["pen"])
            pen.setWidthF(width * scale)
            item.setPen(pen)
        self.measured.setSymbolSize(9 * scale)
        self.reference.setSymbolSize(6 * scale)

    def set_reference(self, series: ReferenceSeries | None) -> None:
        """Overlay ``series`` normalized to its own first figure (None: hide it)."""
        pi = self.widget.getPlotItem()
        if series is not None and self._reference is None:
            pi.addItem(self.reference)
        elif series is None and self._reference is not None:
            pi.removeItem(self.reference)
            self.legend.removeItem(self.reference)
        self._reference = series
        self.set_rows(self._rows, self.serial_fraction)

    def set_rows(self, rows: list[dict], serial_fraction: float | None) -> None:
        self._rows = list(rows)
        self.serial_fraction = serial_fraction
        pts = [(r["ranks"], r["speedup"]) for r in rows if r.get("speedup")]
        xs = np.array([p[0] for p in pts], float)
        ys = np.array([p[1] for p in pts], float)
        self.measured.setData(xs, ys)
        top = max([1.0, *xs.tolist()]) if len(xs) else float(EMPTY_RANKS)
        if self._reference is not None:
            self.reference.setData(self._reference.ranks, self._reference.speedup)
            top = max(top, float(self._reference.ranks.max()))
        else:
            self.reference.setData([], [])
        line = np.geomspace(1.0, max(top, 2.0), 60)
        self.ideal.setData(line, line)
        if serial_fraction is not None:
            self.amdahl.setData(line, amdahl_speedup(serial_fraction, line))
            limit = "∞" if serial_fraction == 0 else f"{1 / serial_fraction:.3g}x"
            label = f"Amdahl, serial {serial_fraction:.3f} (max {limit})"
        else:
            self.amdahl.setData([], [])
            label = "Amdahl fit"
        # the fitted fraction in the legend: in the plot (and its PNG) without covering a curve
        self.legend.getLabel(self.amdahl).setText(label)
        self.legend.updateSize()
        pi = self.widget.getPlotItem()
        values = [1.0, top, *ys.tolist()]
        pi.getAxis("bottom").setTicks([power_of_two_ticks(1.0, top)])
        pi.getAxis("left").setTicks([power_of_two_ticks(min(values), max(values))])
        pi.enableAutoRange()
        # log10 axes: some room beyond the first and last rank counts, so that their points
        # (drawn around them) are not cut in half by the plot's edges
        pi.setXRange(-0.08, float(np.log10(max(top, 2.0))) + 0.08, padding=0)


class EfficiencyBars(QtCore.QObject):
    """Efficiency (%) per rank count as bars, with the 100% line."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.widget = _plot_widget("Efficiency", tips.EFFICIENCY)
        pi = self.widget.getPlotItem()
        for name in ("left", "bottom"):
            pi.getAxis(name).enableAutoSIPrefix(False)  # rank counts and percentages as they are
        pi.setLabel("bottom", "ranks", color=theme.MUTED)
        pi.setLabel("left", "efficiency %", color=theme.MUTED)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=MEASURED_COLOR, pen=None)
        pi.addItem(self.bars)
        self.limit_line = pg.InfiniteLine(pos=100, angle=0, pen=pg.mkPen(IDEAL_COLOR, width=1, style=QtCore.Qt.DashLine))
        pi.addItem(self.limit_line)
        self.heights = np.zeros(0)
        self.ranks: list[int] = []
        self.set_rows([])  # the empty frame: 0-110%, no rank counts yet

    def set_presentation(self, on: bool) -> None:
        """Large texts and a thicker 100% line for a projector."""
        scale = present_plot(self.widget, None, on)
        pen = QtGui.QPen(self.limit_line.pen)
        pen.setWidthF(scale)
        self.limit_line.setPen(pen)

    def set_rows(self, rows: list[dict]) -> None:
        shown = [r for r in rows if r.get("efficiency") is not None]
        self.ranks = [r["ranks"] for r in shown]
        self.heights = np.array([100.0 * r["efficiency"] for r in shown], float)
        x = np.arange(len(shown), dtype=float)
        self.bars.setOpts(x=x, height=self.heights, width=0.6)
        self.widget.getPlotItem().getAxis("bottom").setTicks([[(float(i), str(r)) for i, r in enumerate(self.ranks)]])
        self.widget.getPlotItem().setYRange(0, max(110.0, float(self.heights.max(initial=0)) * 1.05))
        self.widget.getPlotItem().setXRange(-0.6, max(len(shown), 1) - 0.4)


class RankTimeline(QtCore.QObject):
    """The chosen row's seconds per epoch for each rank: compute, communication and wait stacked."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.widget = _plot_widget("Per-rank time per epoch", tips.TIMELINE)
        pi = self.widget.getPlotItem()
        pi.setLabel("left", "seconds", color=theme.MUTED)
        for name in ("left", "bottom"):
            pi.getAxis(name).enableAutoSIPrefix(False)
        self.legend = pi.addLegend(offset=(8, 4), labelTextColor=theme.FOREGROUND, colCount=3)
        self.compute = pg.BarGraphItem(x=[], height=[], width=0.6, brush=COMPUTE_COLOR, pen=None, name="compute")
        self.comm = pg.BarGraphItem(x=[], height=[], width=0.6, brush=COMM_COLOR, pen=None, name="comm")
        self.wait = pg.BarGraphItem(x=[], height=[], width=0.6, brush=WAIT_COLOR, pen=None, name="wait")
        for item in (self.compute, self.comm, self.wait):
            pi.addItem(item)  # named items join the legend by themselves
        self.values: dict[str, np.ndarray] = {}
        self.labels: list[str] = []
        self.note = ""
        self._top = 0.0
        pi.vb.sigResized.connect(self._fit_legend)
        self.set_row(None)  # the empty frame: no ranks yet

    def set_presentation(self, on: bool) -> None:
        """Large texts for a projector."""
        present_plot(self.widget, self.legend, on)
        self._fit_legend()

    def _fit_legend(self, *_) -> None:
        """The legend in one row when that fits in the plot, else one entry per row; the
        y range leaves room above the bars for as many rows."""
        legend, vb = self.legend, self.widget.getPlotItem().vb
        legend.setColumnCount(len(legend.items))  # lays itself out again only when this changes
        if legend.width() + 16 > vb.width():  # its offset and a margin
            legend.setColumnCount(1)
        self._set_y_range()

    def _set_y_range(self) -> None:
        rows = math.ceil(len(self.legend.items) / self.legend.columnCount)
        room = 1.35 if rows == 1 else 1.8  # room for the legend above the bars
        self.widget.getPlotItem().setYRange(0, self._top * room if self._top > 0 else 1.0)

    def set_row(self, row: dict | None) -> None:
        """Show ``row``'s per-rank lists; a row without them shows its mean over ranks as one bar."""
        compute = comm = wait = None
        if row is not None:
            compute, comm, wait = row.get("rank_compute_s"), row.get("rank_comm_s"), row.get("rank_wait_s")
        if row is None:
            self.labels, self.note = [], ""
            compute, comm, wait = [], [], []
        elif compute and comm:
            nodes = f"{row['nodes']} node{'s' if row['nodes'] != 1 else ''}"
            if len(compute) <= MAX_NAMED_RANKS:
                self.labels = [f"rank {i}" for i in range(len(compute))]
                self.note = f"{row['ranks']} ranks, {nodes}"
            else:
                # "rank 12" side by side would overlap: numbers, every k-th one
                step = -(-len(compute) // MAX_NUMBERED_TICKS)
                self.labels = [str(i) if i % step == 0 else "" for i in range(len(compute))]
                self.note = f"rank (of {row['ranks']}, {nodes})"
            wait = wait or [0.0] * len(compute)
        else:
            # The engine did not record per-rank times: the mean over ranks is all there is.
            compute, comm, wait = [row.get("compute_s") or 0.0], [row.get("comm_s") or 0.0], [row.get("wait_s") or 0.0]
            self.labels = ["rank 0" if row["ranks"] == 1 else f"mean of {row['ranks']} ranks"]
            self.note = "per-rank times not recorded by this run"
        c, m, w = (np.asarray(v, float) for v in (compute, comm, wait))
        self.values = {"compute": c, "comm": m, "wait": w}
        x = np.arange(len(c), dtype=float)
        self.compute.setOpts(x=x, y0=np.zeros_like(c), height=c, width=0.6)
        self.comm.setOpts(x=x, y0=c, height=m, width=0.6)
        self.wait.setOpts(x=x, y0=c + m, height=w, width=0.6)
        pi = self.widget.getPlotItem()
        pi.getAxis("bottom").setTicks([[(float(i), label) for i, label in enumerate(self.labels) if label]])
        pi.setLabel("bottom", self.note, color=theme.MUTED)
        self._top = float((c + m + w).max(initial=0.0))
        self._set_y_range()
        pi.setXRange(-0.6, max(len(c), 1) - 0.4)
