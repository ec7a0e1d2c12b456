"""Sizes of a plot's texts, and presentation mode's larger ones (shared by the views' plots)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtGui

from gui import theme

#: point sizes of a plot's title, tick labels and legend; presentation mode multiplies them
TITLE_PT, TICK_PT, LEGEND_PT = 10.0, 9.0, 9.0


def present_plot(widget: pg.PlotWidget, legend: pg.LegendItem | None, on: bool) -> float:
    """Large title, tick labels, axis labels and legend for a projector (normal sizes when
    ``on`` is False); returns the scale, for the plot's own pens and texts."""
    scale = theme.PRESENTATION_SCALE if on else 1.0
    pi = widget.getPlotItem()
    pi.setTitle(pi.titleLabel.text, color=theme.FOREGROUND, size=f"{round(TITLE_PT * scale)}pt")
    font = QtGui.QFont()
    font.setPointSizeF(TICK_PT * scale)
    for name in ("left", "bottom"):
        axis = pi.getAxis(name)
        axis.setStyle(tickFont=font)
        axis.label.setFont(font)
    if legend is not None:
        legend.setLabelTextSize(f"{round(LEGEND_PT * scale)}pt")
        for _, label in legend.items:
            label.setText(label.text)  # the size is applied when the text is set
        legend.updateSize()
    return scale
