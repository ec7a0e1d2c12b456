"""The data plot kept square, with its legend and display options underneath."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from gui.playground.data_plot import DataPlot
from gui.playground.settings import PlaygroundSettings
from gui.playground.tips import LEGEND_TIP, PLOT_PNG_TIP, SHOW_TEST_TIP, TIPS
from gui.widgets.square import SquareBox


class PlotBox(QtWidgets.QWidget):
    """The decision regions and points (:class:`DataPlot`), a colour legend, "show test data",
    "discretize output" (both settings) and a PNG export."""

    error_raised = QtCore.Signal(str)

    def __init__(self, data_plot: DataPlot, settings: PlaygroundSettings, parent: QtWidgets.QWidget | None = None):
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

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.square, 1)
        opts = QtWidgets.QHBoxLayout()
        opts.addWidget(self.legend)
        opts.addStretch(1)
        opts.addWidget(self.show_test_check)
        opts.addWidget(self.discretize_check)
        opts.addWidget(self.png_button)
        lay.addLayout(opts)

        self.show_test_check.toggled.connect(lambda on: settings.set(show_test=on))
        self.discretize_check.toggled.connect(lambda on: settings.set(discretize=on))
        self.png_button.clicked.connect(self._on_export_clicked)
        settings.events.show_test.connect(self._on_show_test_changed)
        settings.events.discretize.connect(self._on_discretize_changed)
        self._on_show_test_changed(settings.show_test)
        self._on_discretize_changed(settings.discretize)
        self._draw_legend()

    def _on_show_test_changed(self, on: bool) -> None:
        with QtCore.QSignalBlocker(self.show_test_check):
            self.show_test_check.setChecked(on)
        self.data_plot.set_show_test(on)

    def _on_discretize_changed(self, on: bool) -> None:
        with QtCore.QSignalBlocker(self.discretize_check):
            self.discretize_check.setChecked(on)

    def _on_export_clicked(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save the plot as PNG", "playground-plot.png",
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
