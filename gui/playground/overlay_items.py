"""The plot items that show a snapshot's overlays (margins, support vectors, centroids).

:class:`OverlayLayer` keeps one pyqtgraph item per overlay name, created the first time
the name appears and updated in place with ``setData`` afterwards; an item whose name is
missing from the latest frame is hidden. The one-line model status sits in the plot's
lower left corner.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from gui import theme
from gui.playground.overlays import Overlay

#: pens by ``Overlay.style``: (colour, width, dashed)
LINE_STYLES = {
    "boundary": ("#202124", 2.2, False),
    "margin": ("#202124", 1.3, True),
}
RING_STYLES = {
    "support": ("#202124", 1.8),
}


class OverlayLayer:
    """The overlays of the latest snapshot on ``plot`` (a ``pg.PlotWidget``)."""

    def __init__(self, plot: pg.PlotWidget):
        self.plot = plot
        self.items: dict[str, pg.GraphicsObject] = {}
        #: what each shown item draws, by name (read by tests and the drag handlers)
        self.shown: dict[str, Overlay] = {}
        self.point_size = theme.BASE_POINT_SIZE
        self.status = pg.TextItem(color=theme.FOREGROUND, anchor=(0, 1), fill=pg.mkBrush(255, 255, 255, 215))
        self.status.setZValue(25)
        self.status.setVisible(False)
        plot.addItem(self.status, ignoreBounds=True)

    def show(self, overlays: tuple[Overlay, ...], status_line: str = "") -> None:
        """Draw exactly ``overlays`` (and the status line; empty hides it)."""
        names = set()
        for ov in overlays:
            names.add(ov.name)
            item = self.items.get(ov.name)
            if item is None:
                item = self.items[ov.name] = self._make(ov)
                self.plot.addItem(item)
            self._update(item, ov)
            item.setVisible(True)
            self.shown[ov.name] = ov
        for name, item in self.items.items():
            if name not in names:
                item.setVisible(False)
                self.shown.pop(name, None)
        self.status.setText(status_line)
        self.status.setVisible(bool(status_line))
        x0, _x1, y0, _y1 = self.plot.box
        self.status.setPos(x0, y0)

    def set_point_size(self, size: int) -> None:
        self.point_size = int(size)
        for name, ov in list(self.shown.items()):
            self._update(self.items[name], ov)

    # ------------------------------------------------------------------ items
    def _make(self, ov: Overlay) -> pg.GraphicsObject:
        if ov.kind == "segments":
            color, width, dashed = LINE_STYLES.get(ov.style, ("#202124", 1.5, False))
            pen = pg.mkPen(color, width=width, style=QtCore.Qt.PenStyle.DashLine if dashed
                           else QtCore.Qt.PenStyle.SolidLine)
            item = pg.PlotDataItem(pen=pen, connect="pairs")
            item.setZValue(5)
            return item
        item = pg.ScatterPlotItem(pxMode=True)
        item.setZValue(6 if ov.kind == "rings" else 8)
        return item

    def _update(self, item, ov: Overlay) -> None:
        xy = ov.xy
        if ov.kind == "segments":
            item.setData(xy[:, 0], xy[:, 1])
            return
        if ov.kind == "rings":
            color, width = RING_STYLES.get(ov.style, ("#202124", 1.5))
            item.setData(xy[:, 0], xy[:, 1], symbol="o", size=self.point_size + 9, brush=None,
                         pen=pg.mkPen(color, width=width))
            return
        brushes = [pg.mkBrush(*c) for c in ov.colors] if ov.colors is not None else pg.mkBrush("#202124")
        if ov.kind == "markers":
            item.setData(xy[:, 0], xy[:, 1], symbol="+", size=self.point_size + 16, brush=brushes,
                         pen=pg.mkPen("#FFFFFF", width=1.5))
        else:
            item.setData(xy[:, 0], xy[:, 1], symbol="o", size=self.point_size, brush=brushes,
                         pen=pg.mkPen("#FFFFFF", width=1))
