"""Live loss and accuracy curves, TensorBoard style.

Records arrive in batches from the training worker and go into :class:`MetricsBuffer`
(preallocated arrays that double when full). The plots are redrawn by the view's frame
timer with ``setData`` on curves created once, with thin pens and ranges set by hand
(no auto-range), which keeps a redraw to a fraction of a millisecond.
"""

from __future__ import annotations

import csv
import functools
import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme

#: the least height of a chart on a projector, in pixels
PRESENTATION_CHART_HEIGHT = 160
#: the x axis of an empty chart, in epochs (or milliseconds of training)
EMPTY_X_SPAN = 10.0
COLUMNS = ("epoch", "elapsed_s", "train_loss", "test_loss", "train_accuracy", "test_accuracy")


class MetricsBuffer:
    """Growing columns of metrics; ``column(name)`` returns a view of the filled part."""

    def __init__(self, capacity: int = 1024):
        self._data = {c: np.full(capacity, np.nan) for c in COLUMNS}
        self.n = 0

    def clear(self) -> None:
        self.n = 0

    def append(self, records: list[dict]) -> None:
        need = self.n + len(records)
        cap = len(self._data["epoch"])
        if need > cap:
            new_cap = max(need, 2 * cap)
            for c in COLUMNS:
                grown = np.full(new_cap, np.nan)
                grown[: self.n] = self._data[c][: self.n]
                self._data[c] = grown
        for c in COLUMNS:
            values = [rec.get(c) for rec in records]
            self._data[c][self.n:need] = [np.nan if v is None else v for v in values]
        self.n = need

    def column(self, name: str) -> np.ndarray:
        return self._data[name][: self.n]

    def rows(self) -> list[list[float]]:
        return [[float(self._data[c][i]) for c in COLUMNS] for i in range(self.n)]


#: values smoothed per matrix product in :func:`ema`
_EMA_BLOCK = 512


@functools.lru_cache(maxsize=4)
def _ema_powers(weight: float) -> tuple[np.ndarray, np.ndarray]:
    """``weight ** (i - j)`` below the diagonal (0 above), and ``weight ** (i + 1)``."""
    k = np.arange(_EMA_BLOCK)
    lower = k[:, None] >= k[None, :]
    return np.where(lower, weight ** np.where(lower, k[:, None] - k[None, :], 0), 0.0), weight ** (k + 1.0)


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average (``weight`` 0 = no smoothing).

    ``s_k = weight * s_(k-1) + (1 - weight) * v_k`` over the finite values (the others are
    kept as they are and skip a turn), divided by ``1 - weight**k``. Computed a block of
    ``_EMA_BLOCK`` values at a time, each block one product with the matrix of the powers of
    ``weight`` plus what the block before carries over: the curves are smoothed again at
    every redraw, and a loop over ten thousand epochs took milliseconds of the window's time.
    """
    values = np.asarray(values)
    if weight <= 0 or len(values) == 0:
        return values
    finite = np.isfinite(values)
    v = values[finite].astype(np.float64)
    m = len(v)
    smooth = np.empty(m)
    powers, carry_powers = _ema_powers(float(weight))
    carry = 0.0
    for start in range(0, m, _EMA_BLOCK):
        block = v[start:start + _EMA_BLOCK]
        n = len(block)
        out = (1.0 - weight) * (powers[:n, :n] @ block) + carry * carry_powers[:n]
        smooth[start:start + n] = out
        carry = out[-1]
    smooth /= 1.0 - weight ** np.arange(1.0, m + 1.0)
    result = values.astype(np.result_type(values.dtype, np.float64), copy=True)
    result[finite] = smooth
    return result


#: epochs per pixel column beyond which the curves are thinned out (in min/max pairs)
CURVE_POINTS_PER_PIXEL = 0.5
#: when the data leave the y range, the new range reaches this share of its span further
Y_HEADROOM = 0.2

TRAIN_COLOR = "#5F6368"
TEST_COLOR = theme.CLASS_COLORS[5]


#: the key of both charts' curves, shown above them: inside a chart it would sit on a curve
#: (a loss can come back up, an accuracy can drop)
CURVE_KEY = (f"<span style='color:{TRAIN_COLOR}'>━━</span> train&nbsp;&nbsp;&nbsp;"
             f"<span style='color:{TEST_COLOR}'>━━</span> test")


class SparseAxis(pg.AxisItem):
    """An axis whose labels never crowd: on a short plot with large (presentation) fonts
    pyqtgraph would put four labels in 50 pixels, one over the other, and on a narrow one
    "500", "1000" and "1500" ran into each other. Each label gets its own height (a value
    axis) or the width of the widest number (the epoch axis), and as much again as a gap."""

    def tickSpacing(self, minVal, maxVal, size):  # pyqtgraph override
        levels = super().tickSpacing(minVal, maxVal, size)
        span = abs(maxVal - minVal)
        if not levels or span == 0 or not math.isfinite(span) or self.logMode:
            return levels  # (a log axis labels whole decades by its own rules)
        metrics = QtGui.QFontMetrics(self.style.get("tickFont") or self.font())
        if self.orientation in ("left", "right"):
            extent = 1.8 * metrics.height()
        else:
            widest = max(abs(minVal), abs(maxVal))
            extent = 1.5 * metrics.horizontalAdvance(f"-{widest:.4g}" if min(minVal, maxVal) < 0 else f"{widest:.4g}")
        most = max(size / extent, 1.5)  # labels that fit with a gap between them
        kept = [(spacing, offset) for spacing, offset in levels if span / spacing <= most + 1]
        if kept:
            return kept
        # a 1-2-5 step wide enough for ``most`` labels
        step = span / most
        unit = 10 ** math.floor(math.log10(step))
        for k in (1, 2, 5, 10):
            if k * unit >= step:
                return [(k * unit, 0)]
        return [(10 * unit, 0)]


class CurvePlot(pg.PlotWidget):
    """One metric (train and test) against epochs or seconds, with a hover readout."""

    def __init__(self, title: str, value_format: str = "{:.4f}", parent=None):
        super().__init__(parent=parent, background=theme.BACKGROUND, axisItems={"left": SparseAxis("left"), "bottom": SparseAxis("bottom")})
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setMouseEnabled(False, False)
        pi = self.getPlotItem()
        self.title = self.short_title = title
        self.title_size = "10pt"
        self.presentation = False
        self._show_title()
        # No grid: pyqtgraph draws it with the axes, whose bounding box then covers the
        # whole plot, so every curve update would repaint (and re-lay out) the axes too.
        for name in ("left", "bottom"):
            pi.getAxis(name).setTextPen(pg.mkPen(theme.MUTED))
            # repainted with the curves: from a cached picture until the range changes
            pi.getAxis(name).setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # About one drawn point per pixel column (each pair of columns gets the lowest and
        # the highest value of its epochs, so a spike stays visible): pyqtgraph's default
        # keeps five per pixel, and a wide pen's segments are what a frame's curves cost.
        self.train_curve = pi.plot(pen=pg.mkPen(TRAIN_COLOR, width=1), name="train", connect="finite", antialias=True,
                                   autoDownsampleFactor=CURVE_POINTS_PER_PIXEL)
        self.test_curve = pi.plot(pen=pg.mkPen(TEST_COLOR, width=1), name="test", connect="finite", antialias=True,
                                  autoDownsampleFactor=CURVE_POINTS_PER_PIXEL)
        for c in (self.train_curve, self.test_curve):
            c.setClipToView(True)
            c.setDownsampling(auto=True, method="peak")
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen("#9AA0A6", width=1))
        self.cursor.setVisible(False)
        pi.addItem(self.cursor, ignoreBounds=True)
        self.readout = pg.TextItem(color=theme.FOREGROUND, anchor=(0, 0), fill=pg.mkBrush(255, 255, 255, 220))
        self.readout.setVisible(False)
        pi.addItem(self.readout, ignoreBounds=True)
        pi.disableAutoRange()
        self.log_y = False
        self._x_range: tuple[float, float] | None = None
        #: the narrowest x axis: one epoch, or a millisecond of training time
        self.min_x_span = 1.0
        self._y_range: tuple[float, float] | None = None
        self._y_changed_at = 0.0
        self._data: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        #: how the hover readout writes a value
        self.value_format = value_format
        self._raw: tuple[np.ndarray, np.ndarray] | None = None
        self._x_unit = "epoch"
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def _show_title(self) -> None:
        self.getPlotItem().setTitle(self.short_title if self.presentation else self.title, color=theme.FOREGROUND, size=self.title_size)

    def set_pen_width(self, width: float) -> None:
        self.train_curve.setPen(pg.mkPen(TRAIN_COLOR, width=width))
        self.test_curve.setPen(pg.mkPen(TEST_COLOR, width=width))

    def set_draft(self, on: bool) -> None:
        """While training, thick (presentation) curves are drawn without antialiasing: a
        wide smoothed line costs Qt three times as much to paint, twenty times a second."""
        smooth = not (on and self.presentation)
        for c in (self.train_curve, self.test_curve):
            if c.opts["antialias"] != smooth:
                c.opts["antialias"] = c.curve.opts["antialias"] = smooth
                c.curve.update()

    def set_presentation(self, on: bool) -> None:
        """Thick curves and large axis, title and legend text for a projector."""
        scale = theme.PRESENTATION_SCALE if on else 1.0
        self.presentation = bool(on)
        self.set_pen_width(3.5 if on else 1)
        pi = self.getPlotItem()
        f = QtGui.QFont()
        f.setPointSizeF(9 * scale)
        for name in ("left", "bottom"):
            pi.getAxis(name).setStyle(tickFont=f)
        self.readout.textItem.setFont(f)
        self.title_size = f"{round(10 * scale)}pt"
        self._show_title()

    def set_title(self, title: str, short: str | None = None) -> None:
        self.title, self.short_title = title, short or title
        self._show_title()

    def set_x_unit(self, min_span: float) -> None:
        """Another x quantity: fit the x axis to it from scratch (its range only grows otherwise)."""
        self.min_x_span = min_span
        self._x_range = None

    def set_log(self, log_y: bool) -> None:
        self.log_y = bool(log_y)
        self._y_range = None
        self.getPlotItem().setLogMode(False, self.log_y)

    def show_data(self, x: np.ndarray, train: np.ndarray, test: np.ndarray,
                  raw: tuple[np.ndarray, np.ndarray] | None = None, x_unit: str = "epoch") -> None:
        """Draw ``train`` and ``test`` (both ``(n,)``) against ``x`` ``(n,)``.

        ``raw`` holds the unsmoothed ``(train, test)`` when the drawn curves are smoothed: the
        hover readout gives those exact values too. ``x_unit`` is "epoch" or "s".
        """
        self._data = (x, train, test)
        self._raw = raw
        self._x_unit = x_unit
        self.train_curve.setData(x, train)
        if np.isfinite(test).any():
            self.test_curve.setData(x, test)
        else:
            self.test_curve.setData([], [])
        if len(x) == 0:
            # an empty chart (a new run) starts from the ranges of a new chart, not the old run's
            self._x_range = self._y_range = None
            self.setXRange(0.0, EMPTY_X_SPAN * self.min_x_span, padding=0.0)
            self.setYRange(*((-2.0, 0.0) if self.log_y else (0.0, 1.0)), padding=0.0)
            return
        both = np.concatenate([train, test])
        both = both[np.isfinite(both)]
        if self.log_y:
            both = both[both > 0]
        if not len(both):
            return
        lo, hi = float(both.min()), float(both.max())
        if self.log_y:
            lo, hi = math.log10(lo), math.log10(hi)
            pad = max((hi - lo) * 0.05, 0.05)
        else:
            lo = min(lo, 0.0)
            pad = max((hi - lo) * 0.05, 1e-3)
        self._fit_ranges(float(x[0]), float(x[-1]), lo, hi + pad)

    def _fit_ranges(self, x0: float, x1: float, y0: float, y1: float) -> None:
        """Change the axes only when the data leaves them (or, at most once a second, when it
        fills far less than them): every range change re-lays out the axes, which costs far
        more than drawing the curves."""
        now = time.perf_counter()
        xr, yr = self._x_range, self._y_range
        changed = False
        if xr is None or x1 > xr[1] or x0 < xr[0]:
            span = max(x1 - x0, self.min_x_span)
            self._x_range = (x0, x0 + span * (1.25 if xr is not None else 1.0))
            self.setXRange(*self._x_range, padding=0.0)
            changed = True
        shrink = yr is not None and (y1 - y0) < 0.6 * (yr[1] - yr[0]) and now - self._y_changed_at > 1.0
        if yr is None or y0 < yr[0] or y1 > yr[1] or shrink:
            if yr is not None and not shrink:
                # data left the range: room beyond it on that side, so that a curve creeping
                # up (accuracy) or down (a log loss) does not change the axis every frame
                room = Y_HEADROOM * (y1 - y0)
                y0, y1 = (y0 - room if y0 < yr[0] else yr[0]), (y1 + room if y1 > yr[1] else yr[1])
            self._y_range = (y0, y1)
            self._y_changed_at = now
            self.setYRange(y0, y1, padding=0.0)
            changed = True
        if changed:
            # The new transform and the axes it invalidates, now: left to the paint, they
            # asked for a second paint of the whole plot right after the first.
            self.getPlotItem().vb.prepareForPaint()

    def _on_mouse_moved(self, scene_pos) -> None:
        vb = self.getPlotItem().vb
        if self._data is None or not len(self._data[0]) or not vb.sceneBoundingRect().contains(scene_pos):
            self.cursor.setVisible(False)
            self.readout.setVisible(False)
            return
        x, train, test = self._data
        px = vb.mapSceneToView(scene_pos).x()
        i = int(np.clip(np.searchsorted(x, px), 0, len(x) - 1))
        if i > 0 and abs(x[i - 1] - px) < abs(x[i] - px):
            i -= 1
        self.cursor.setPos(float(x[i]))
        self.cursor.setVisible(True)
        text = f"epoch {x[i]:g}" if self._x_unit == "epoch" else f"{x[i]:.3g} s"
        for name, drawn, k in (("train", train, 0), ("test ", test, 1)):
            if not math.isfinite(drawn[i]) and name == "test ":
                continue
            if self._raw is None:
                text += f"\n{name} {self.value_format.format(drawn[i])}"
            else:  # the exact value, and the smoothed one the curve shows
                fmt = self.value_format
                text += f"\n{name} {fmt.format(self._raw[k][i])}  (smoothed {fmt.format(drawn[i])})"
        self.readout.setText(text)
        (x0, x1), (y0, y1) = vb.viewRange()
        self.readout.setPos(x0 + (x1 - x0) * (0.02 if px > (x0 + x1) / 2 else 0.6), y1)
        self.readout.setVisible(True)


class CurvesPanel(QtWidgets.QWidget):
    """Loss and accuracy curves with smoothing, log scale, x axis choice and export."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.buffer = MetricsBuffer()
        self.smoothing = 0.0
        self.x_axis = "epoch"
        self._dirty = False
        #: plots with new data not drawn yet (``redraw_next`` draws them in turns)
        self._waiting: list[tuple] = []
        self._task = "classification"
        self.loss_plot = CurvePlot("Loss")
        self.acc_plot = CurvePlot("Accuracy", value_format="{:.1%}")

        self.smoothing_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setValue(0)
        self.smoothing_slider.setToolTip(
            "Smoothing averages each point with the ones before it, so the trend shows through the noise "
            "of mini-batch training. 0 shows the raw values.")
        self.smoothing_slider.valueChanged.connect(self._on_smoothing_changed)
        self.log_check = QtWidgets.QCheckBox("log scale")
        self.log_check.setToolTip("A logarithmic loss axis shows progress when the loss gets very small: "
                                  "each grid step is ten times smaller.")
        self.log_check.toggled.connect(self._on_log_toggled)
        self.axis_combo = QtWidgets.QComboBox()
        self.axis_combo.addItems(["epochs", "seconds"])
        self.axis_combo.setToolTip("Plot against epochs (passes over the training data) or seconds spent "
                                   "training, without pauses (what a faster computer or more parallel ranks "
                                   "improve).")
        self.axis_combo.currentIndexChanged.connect(self._on_axis_changed)
        self.csv_button = QtWidgets.QToolButton(text="CSV…")
        self.csv_button.setToolTip("Save the curves' numbers (one row per epoch) as a CSV file.")
        self.csv_button.clicked.connect(self._on_export_csv)
        self.png_button = QtWidgets.QToolButton(text="PNG…")
        self.png_button.setToolTip("Save a picture of the loss and accuracy plots.")
        self.png_button.clicked.connect(self._on_export_png)

        self.controls = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(self.controls)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QtWidgets.QLabel("smooth"))
        row.addWidget(self.smoothing_slider, 1)
        row.addWidget(self.log_check)
        row.addWidget(self.axis_combo)
        row.addWidget(self.csv_button)
        row.addWidget(self.png_button)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        # one under the other, or side by side in presentation mode (each tall enough to read)
        self.plots_row = QtWidgets.QBoxLayout(QtWidgets.QBoxLayout.Direction.TopToBottom)
        self.plots_row.setSpacing(2)
        self.plots_row.addWidget(self.loss_plot, 1)
        self.plots_row.addWidget(self.acc_plot, 1)
        self.key = QtWidgets.QLabel(CURVE_KEY)
        self.key.setToolTip("Training points (grey) and test points (red), in both charts.")
        lay.addWidget(self.key, 0, QtCore.Qt.AlignmentFlag.AlignRight)
        lay.addLayout(self.plots_row, 1)
        lay.addWidget(self.controls)

    # ------------------------------------------------------------------ view settings
    def view_settings(self) -> dict:
        """Smoothing, log scale and x axis, as a saved playground keeps them."""
        return {"smoothing": self.smoothing_slider.value(), "log_scale": self.log_check.isChecked(),
                "x_axis": self.axis_combo.currentIndex()}

    def apply_view_settings(self, meta) -> None:
        """Show the :meth:`view_settings` of a saved playground (missing ones: the defaults)."""
        self.smoothing_slider.setValue(int(meta.get("smoothing", 0)))
        self.log_check.setChecked(bool(meta.get("log_scale", False)))
        self.axis_combo.setCurrentIndex(int(meta.get("x_axis", 0)))

    # ------------------------------------------------------------------ data
    def set_draft(self, on: bool) -> None:
        """Thick curves without antialiasing while training (:meth:`CurvePlot.set_draft`)."""
        for plot in (self.loss_plot, self.acc_plot):
            plot.set_draft(on)

    def set_presentation(self, on: bool) -> None:
        """Both plots large and thick; the smoothing, scale and export controls hidden."""
        for plot in (self.loss_plot, self.acc_plot):
            plot.set_presentation(on)
            plot.setMinimumHeight(PRESENTATION_CHART_HEIGHT if on else 0)
        self.plots_row.setDirection(QtWidgets.QBoxLayout.Direction.LeftToRight if on
                                    else QtWidgets.QBoxLayout.Direction.TopToBottom)
        self.plots_row.setSpacing(10 if on else 2)
        self.controls.setVisible(not on)

    def set_loss_title(self, title: str, short: str | None = None) -> None:
        """Name what the loss plot shows ("Loss (cross-entropy)", "Perceptron criterion"); ``short``
        in presentation mode, where the charts stand side by side."""
        self.loss_plot.set_title(title, short)

    def set_task(self, task: str) -> None:
        self._task = task
        self.acc_plot.setVisible(task == "classification")

    def clear(self) -> None:
        self.buffer.clear()
        self._smoothed_cache = None
        self._dirty = True
        self.redraw()

    def add_records(self, records: list[dict]) -> None:
        if records:
            self.buffer.append(records)
            self._dirty = True

    def redraw(self, force: bool = False) -> bool:
        """Redraw if new data arrived since the last redraw; returns whether it drew."""
        if not (self._dirty or force or self._waiting):
            return False
        self._dirty = False
        self._waiting = []
        for entry in self._plots():
            self._draw_plot(*entry)
        return True

    def redraw_next(self) -> bool:
        """Draw ONE plot that has new data, the one waiting longest; True while another waits.

        While training, the plots are drawn in turns, each in a pass of the event loop of its
        own: a plot's update and paint are one stretch the window cannot answer in, and two
        of them back to back make it twice as long.
        """
        if self._dirty:
            self._dirty = False
            for entry in self._plots():
                if entry not in self._waiting:
                    self._waiting.append(entry)
        if self._waiting:
            self._draw_plot(*self._waiting.pop(0))
        return bool(self._waiting)

    def _plots(self) -> list[tuple]:
        plots = [(self.loss_plot, "train_loss", "test_loss")]
        if self._task == "classification":
            plots.append((self.acc_plot, "train_accuracy", "test_accuracy"))
        return plots

    def _draw_plot(self, plot: CurvePlot, train_key: str, test_key: str) -> None:
        b = self.buffer
        x = b.column("epoch" if self.x_axis == "epoch" else "elapsed_s")
        w = self.smoothing
        train, test = b.column(train_key), b.column(test_key)
        plot.show_data(x, ema(train, w), ema(test, w), raw=(train, test) if w > 0 else None,
                       x_unit="epoch" if self.x_axis == "epoch" else "s")

    def curve_data(self, which: str = "test_loss") -> tuple[np.ndarray, np.ndarray]:
        """What is drawn right now for ``train_loss``, ``test_loss``, ``train_accuracy``, ``test_accuracy``."""
        plot = self.loss_plot if which.endswith("loss") else self.acc_plot
        curve = plot.train_curve if which.startswith("train") else plot.test_curve
        x, y = curve.getData()
        return (np.zeros(0) if x is None else np.asarray(x)), (np.zeros(0) if y is None else np.asarray(y))

    # ------------------------------------------------------------------ controls
    def _on_smoothing_changed(self, value: int) -> None:
        self.smoothing = value / 100.0
        self.redraw(force=True)

    def _on_log_toggled(self, on: bool) -> None:
        self.loss_plot.set_log(on)
        self.redraw(force=True)

    def _on_axis_changed(self, index: int) -> None:
        self.x_axis = "epoch" if index == 0 else "time"
        for plot in (self.loss_plot, self.acc_plot):
            plot.set_x_unit(1.0 if self.x_axis == "epoch" else 1e-3)
        self.redraw(force=True)

    def export_csv(self, path: str) -> None:
        """Write one row per recorded epoch with every metric column."""
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(COLUMNS)
            for row in self.buffer.rows():
                w.writerow(["" if math.isnan(v) else f"{v:.6g}" for v in row])

    def export_png(self, path: str) -> bool:
        """Save a picture of both plots (as shown) to ``path``."""
        return self.grab().save(path)

    def _on_export_csv(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export curves as CSV", "curves.csv", "CSV (*.csv)")
        if path:
            try:
                self.export_csv(path)
            except OSError as exc:
                QtWidgets.QMessageBox.warning(self, "Export failed", f"Could not write {path}: {exc.strerror}")

    def _on_export_png(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export curves as PNG", "curves.png", "PNG (*.png)")
        if path and not self.export_png(path):
            QtWidgets.QMessageBox.warning(self, "Export failed", f"Could not write {path}")
