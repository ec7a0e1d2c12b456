"""The data plot kept square, with its legend and display options underneath."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from gui.playground.data_plot import DEFAULT_BOX, DataPlot
from gui.playground.settings import PlaygroundSettings
from gui.playground.tips import LEGEND_TIP, PLOT_PNG_TIP, SHOW_TEST_TIP, TIPS
from gui.widgets.square import SquareBox


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
        self.legend = QtWidgets.QLabel()
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
        width = 72 if self.presentation else 160
        pm = QtGui.QPixmap(width, 16)
        p = QtGui.QPainter(pm)
        lut = theme.diverging_lut(width)
        for x in range(width):
            p.setPen(QtGui.QColor(int(lut[x, 0]), int(lut[x, 1]), int(lut[x, 2])))
            p.drawLine(x, 0, x, 16)
        p.end()
        self.legend.setPixmap(pm)

    def set_presentation(self, on: bool) -> None:
        """Large points and axes, a shorter legend, no PNG button."""
        self.presentation = bool(on)
        self.data_plot.set_presentation(on)
        self.png_button.setVisible(not on)
        self._draw_legend()
