"""The plot items that show a snapshot's overlays (margins, support vectors, centroids).

:class:`OverlayLayer` keeps one pyqtgraph item per overlay name, created the first time
the name appears and updated in place with ``setData`` afterwards; an item whose name is
missing from the latest frame is hidden. The one-line model status sits in the plot's
lower left corner.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

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
#: ``dots`` by style: (symbol, size added to the point size, pen). DBSCAN's core points are
#: full, its border points smaller with a dark rim, noise a small grey cross
DOT_STYLES = {
    "cluster": ("o", 0, pg.mkPen("#FFFFFF", width=1)),
    "blank": ("o", 1, pg.mkPen("#FFFFFF", width=1)),
    "core": ("o", 1, pg.mkPen("#FFFFFF", width=1)),
    "border": ("o", -3, pg.mkPen("#202124", width=1.2)),
    "noise": ("x", -2, pg.mkPen("#5F6368", width=1)),
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
        #: a circle that follows the mouse (DBSCAN's eps), in data units; None: no circle
        self.hover_radius: float | None = None
        self.hover_circle = QtWidgets.QGraphicsEllipseItem()
        self.hover_circle.setPen(pg.mkPen("#202124", width=1.5, style=QtCore.Qt.PenStyle.DashLine))
        self.hover_circle.setBrush(pg.mkBrush(32, 33, 36, 18))
        self.hover_circle.setZValue(22)
        self.hover_circle.setVisible(False)
        plot.addItem(self.hover_circle, ignoreBounds=True)

    def show(self, overlays: tuple[Overlay, ...], status_line: str = "", hover_radius: float | None = None) -> None:
        """Draw exactly ``overlays``, the status line (empty hides it) and, with ``hover_radius``,
        a circle of that radius under the mouse."""
        self.hover_radius = hover_radius
        if hover_radius is None:
            self.hover_circle.setVisible(False)
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

    def hover(self, pos: tuple[float, float] | None) -> None:
        """The mouse is at ``pos`` (data units) or left the plot (None)."""
        r = self.hover_radius
        if pos is None or r is None:
            self.hover_circle.setVisible(False)
            return
        self.hover_circle.setRect(QtCore.QRectF(pos[0] - r, pos[1] - r, 2 * r, 2 * r))
        self.hover_circle.setVisible(True)

    def marker_at(self, x: float, y: float, radius: float) -> tuple[str, int] | None:
        """The shown marker (a centroid) nearest ``(x, y)`` within ``radius``: ``(name, index)``."""
        best = None
        for name, ov in self.shown.items():
            if ov.kind != "markers" or not len(ov.xy):
                continue
            d = np.hypot(ov.xy[:, 0] - x, ov.xy[:, 1] - y)
            i = int(np.argmin(d))
            if d[i] <= radius and (best is None or d[i] < best[0]):
                best = (float(d[i]), name, i)
        return None if best is None else (best[1], best[2])

    def move_marker(self, name: str, index: int, x: float, y: float) -> None:
        """Draw marker ``index`` of ``name`` at ``(x, y)`` now (the model's next frame confirms it)."""
        ov = self.shown.get(name)
        if ov is None or not 0 <= index < len(ov.xy):
            return
        xy = ov.xy.copy()
        xy[index] = (x, y)
        moved = Overlay(ov.name, ov.kind, xy, ov.style, ov.colors)
        self.shown[name] = moved
        self._update(self.items[name], moved)

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
        # dots cover the class-coloured points (labels hidden); markers above them
        item.setZValue({"rings": 6, "dots": 7, "markers": 9}[ov.kind] - (0.5 if ov.style == "blank" else 0.0))
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
            item.setData(xy[:, 0], xy[:, 1], symbol="star", size=self.point_size + 14, brush=brushes,
                         pen=pg.mkPen("#202124", width=1.5))
            return
        symbol, grow, pen = DOT_STYLES.get(ov.style, ("o", 0, pg.mkPen("#FFFFFF", width=1)))
        item.setData(xy[:, 0], xy[:, 1], symbol=symbol, size=max(self.point_size + grow, 3), brush=brushes, pen=pen)
