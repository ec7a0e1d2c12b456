"""The data plot kept square, with its legend and display options underneath."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from gui.playground.data_plot import DEFAULT_BOX, DataPlot
from gui.playground.settings import PlaygroundSettings
from gui.playground.tips import LEGEND_TIP, PLOT_PNG_TIP, SHOW_TEST_TIP, TIPS
from gui.widgets.square import SquareBox


#: the colour bar's height, in pixels (its labels go under it)
BAR_HEIGHT = 10
#: the least side of the data plot, in pixels
MIN_PLOT_PX = 260
PRESENTATION_MIN_PLOT_PX = 240


def box_around(lo: np.ndarray, hi: np.ndarray) -> tuple[float, float, float, float]:
    """The default square when the points ``lo (2,)`` .. ``hi (2,)`` fill a good part of it,
    else a rectangle fitted to them with a margin."""
    d = DEFAULT_BOX
    span = hi - lo
    inside = lo[0] >= d[0] and hi[0] <= d[1] and lo[1] >= d[2] and hi[1] <= d[3]
    if inside and span.max() >= (d[1] - d[0]) / 4:
        return DEFAULT_BOX
    # a single point (or a line of them) still gets an area around it
    span = np.where(span > 0, span, np.maximum(np.abs(hi), 1.0))
    pad = 0.08 * span
    return (float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1]))


class ColourBar(QtWidgets.QWidget):
    """The diverging colour scale (orange negative, white zero, blue positive) with its values
    under it: -1, 0, 1 for neuron outputs and weights, or the regression targets' range."""

    def __init__(self, data_plot: DataPlot, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.data_plot = data_plot
        self.bar_width = 160
        self._lut = np.asarray(theme.diverging_lut(256))
        self._bar_cache = None
        # (a regression's values set the end labels)
        data_plot.store.changed.connect(self.updateGeometry)
        data_plot.store.changed.connect(self.update)

    def set_bar_width(self, width: int) -> None:
        self.bar_width = int(width)
        self.updateGeometry()
        self.update()

    def ticks(self) -> list[tuple[float, str]]:
        """``(position 0..1 along the bar, text)`` of every tick label."""
        scale = self.data_plot.value_scale if self.data_plot.store.task != "classification" else 1.0
        scale = scale if scale and np.isfinite(scale) else 1.0
        return [(0.0, f"{-scale:g}".replace("-", "−")), (0.5, "0"), (1.0, f"{scale:g}")]

    def _margin(self) -> int:
        # room for half of the end labels beyond the bar's ends
        fm = self.fontMetrics()
        return max(fm.horizontalAdvance(text) for _, text in self.ticks()) // 2 + 1

    def sizeHint(self) -> QtCore.QSize:  # Qt override
        fm = self.fontMetrics()
        return QtCore.QSize(self.bar_width + 2 * self._margin(), BAR_HEIGHT + 2 + fm.height())

    def minimumSizeHint(self) -> QtCore.QSize:  # Qt override
        return self.sizeHint()

    def bar_rect(self) -> QtCore.QRect:
        return QtCore.QRect(self._margin(), 0, self.bar_width, BAR_HEIGHT)

    def _bar_image(self, width: int, height: int) -> QtGui.QImage:
        """The colour ramp, ``width`` x ``height`` pixels, made once per size (every frame
        while training repaints the row under the plot)."""
        if self._bar_cache is None or self._bar_cache[0] != (width, height):
            cols = (np.arange(width) * (len(self._lut) - 1) / max(width - 1, 1)).astype(int)
            rgb = np.ascontiguousarray(np.broadcast_to(self._lut[cols, :3].astype(np.uint8), (height, width, 3)))
            image = QtGui.QImage(rgb.data, width, height, 3 * width, QtGui.QImage.Format.Format_RGB888).copy()
            self._bar_cache = ((width, height), image)
        return self._bar_cache[1]

    def paintEvent(self, ev) -> None:  # Qt override
        p = QtGui.QPainter(self)
        bar = self.bar_rect()
        if bar.width() > 0 and bar.height() > 0:
            p.drawImage(bar.topLeft(), self._bar_image(bar.width(), bar.height()))
        p.setPen(QtGui.QColor(theme.MUTED))
        fm = self.fontMetrics()
        for pos, text in self.ticks():
            x = bar.left() + pos * (bar.width() - 1)
            p.drawLine(QtCore.QPointF(x, bar.bottom() - 3), QtCore.QPointF(x, bar.bottom() + 2))
            w = fm.horizontalAdvance(text)
            p.drawText(QtCore.QPointF(x - w / 2, bar.bottom() + 2 + fm.ascent()), text)
        p.end()


class PlotBox(QtCore.QObject):
    """The decision regions and points (:class:`DataPlot`) kept square, and under them a colour
    legend, "show test data", "discretize output" (both settings) and a PNG export.

    Two widgets, which the output panel stacks with the curves between its other rows:
    ``square`` (the plot) and ``options`` (the row under it).
    """

    error_raised = QtCore.Signal(str)

    def __init__(self, data_plot: DataPlot, settings: PlaygroundSettings, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.data_plot = data_plot
        self.settings = settings
        self.presentation = False
        self.square = SquareBox(data_plot)
        self.legend = ColourBar(data_plot)
        self.legend.setToolTip(LEGEND_TIP)
        self.show_test_check = QtWidgets.QCheckBox("Show test data")
        self.show_test_check.setToolTip(SHOW_TEST_TIP)
        self.discretize_check = QtWidgets.QCheckBox("Discretize output")
        self.discretize_check.setToolTip(TIPS["discretize"])
        self.png_button = QtWidgets.QToolButton(text="PNG…")
        self.png_button.setToolTip(PLOT_PNG_TIP)

        self.options = QtWidgets.QWidget()
        opts = QtWidgets.QHBoxLayout(self.options)
        opts.setContentsMargins(0, 0, 0, 0)
        opts.setSpacing(4)  # the output column's spacing
        opts.addWidget(self.legend)
        opts.addStretch(1)
        opts.addWidget(self.show_test_check)
        opts.addWidget(self.discretize_check)
        opts.addWidget(self.png_button)

        self.show_test_check.toggled.connect(lambda on: settings.set(show_test=on))
        self.discretize_check.toggled.connect(lambda on: settings.set(discretize=on))
        self.png_button.clicked.connect(self._on_export_clicked)
        settings.events.show_test.connect(self._on_show_test_changed)
        settings.events.discretize.connect(self._on_discretize_changed)
        self._on_show_test_changed(settings.show_test)
        self._on_discretize_changed(settings.discretize)
        self._draw_legend()

    def fit_box(self, X: np.ndarray, refit: bool = False) -> bool:
        """Choose the plotted rectangle for the points ``X (n, 2)``; whether it changed.

        The default square holds the presets and painting. Data that leaves the shown
        rectangle, and (when ``refit``: another data set arrived) data far smaller than the
        square, get a rectangle fitted to them, so that a file's points fill the plot
        whatever their units. Painting never shrinks the rectangle under the brush.
        """
        box = DEFAULT_BOX if refit else self.data_plot.box
        if len(X):
            lo, hi = X.min(axis=0), X.max(axis=0)
            x0, x1, y0, y1 = box
            outside = lo[0] < x0 or hi[0] > x1 or lo[1] < y0 or hi[1] > y1
            if refit or outside:
                box = box_around(lo, hi)
        if box == self.data_plot.box:
            return False
        self.data_plot.set_box(box)
        return True

    def _on_show_test_changed(self, on: bool) -> None:
        with QtCore.QSignalBlocker(self.show_test_check):
            self.show_test_check.setChecked(on)
        self.data_plot.set_show_test(on)

    def _on_discretize_changed(self, on: bool) -> None:
        with QtCore.QSignalBlocker(self.discretize_check):
            self.discretize_check.setChecked(on)

    def _on_export_clicked(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.options, "Save the plot as PNG", "playground-plot.png",
                                                        "PNG image (*.png)")
        if path:
            try:
                self.data_plot.export_png(path)
            except OSError as exc:
                self.error_raised.emit(f"Could not write {path}: {exc}")

    def _draw_legend(self) -> None:
        # Narrower in presentation mode, where the large check boxes beside it need the room.
        self.legend.set_bar_width(90 if self.presentation else 130)

    def set_presentation(self, on: bool) -> None:
        """Large points and axes, a shorter legend, no PNG button."""
        self.presentation = bool(on)
        self.data_plot.set_presentation(on)
        # the charts under it need their height on a 1280 x 800 projector: the plot gives way
        side = PRESENTATION_MIN_PLOT_PX if on else MIN_PLOT_PX
        self.data_plot.setMinimumSize(side, side)
        # short names, so that the row fits beside the colour bar in large letters
        self.show_test_check.setText("Test data" if on else "Show test data")
        self.discretize_check.setText("Discretize" if on else "Discretize output")
        self.png_button.setVisible(not on)
        self._draw_legend()
