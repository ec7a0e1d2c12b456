"""The main plot: decision regions behind the data, and the painting tools on top.

One ``ImageItem`` (the regions, created once and updated with ``setImage``) and two
``ScatterPlotItem`` s (train points with a white rim, test points with a dark rim).
The mouse paints through :class:`PaintViewBox`, which turns clicks and drags into undo
commands on the shared ``QUndoStack``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from gui.playground.overlay_items import OverlayLayer
from gui.playground.painter import (
    BRUSH_TOOLS,
    DEFAULT_INTENSITY,
    AddPointsCommand,
    MovePointsCommand,
    RemovePointsCommand,
    SetPositionsCommand,
    airbrush_count,
    airbrush_points,
    jitter_step,
    magnet_step,
)
from gui.playground.points import PointStore

DEFAULT_BOX = (-6.0, 6.0, -6.0, 6.0)


class _PassiveScatter(pg.ScatterPlotItem):
    """Points that let clicks through: a click on an existing point still paints."""

    def mouseClickEvent(self, ev) -> None:  # pyqtgraph override
        ev.ignore()


class PaintViewBox(pg.ViewBox):
    """A fixed-range view box whose mouse events paint instead of pan and zoom."""

    def __init__(self, plot: "DataPlot"):
        super().__init__(enableMenu=False)
        self._plot = plot
        self.setMouseEnabled(False, False)

    def mouseClickEvent(self, ev) -> None:  # pyqtgraph override
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        p = self.mapToView(ev.pos())
        self._plot.click_at(p.x(), p.y())

    def mouseDragEvent(self, ev, axis=None) -> None:  # pyqtgraph override
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        p = self.mapToView(ev.pos())
        if ev.isStart():
            s = self.mapToView(ev.buttonDownPos())
            self._plot.drag_started(s.x(), s.y())
        self._plot.drag_moved(p.x(), p.y())
        if ev.isFinish():
            self._plot.drag_finished(p.x(), p.y())

    def hoverEvent(self, ev) -> None:  # pyqtgraph override
        if ev.isExit():
            self._plot.hover_at(None)
        else:
            p = self.mapToView(ev.pos())
            self._plot.hover_at((p.x(), p.y()))

    def wheelEvent(self, ev, axis=None) -> None:  # a fixed canvas: no zooming
        ev.ignore()


class DataPlot(pg.PlotWidget):
    """The data plot with the regions image and the painting tools.

    Parameters
    ----------
    store : PointStore
        The points to draw and edit.
    undo_stack : QUndoStack
        Where every edit goes.
    """

    selection_changed = QtCore.Signal(int)
    #: a model's marker (a k-means centroid) dragged: overlay name, index, data x, y
    marker_dragged = QtCore.Signal(str, int, float, float)

    def __init__(self, store: PointStore, undo_stack: QtGui.QUndoStack, parent=None):
        self._vb = PaintViewBox(self)
        super().__init__(parent=parent, viewBox=self._vb, background=theme.BACKGROUND)
        self.store = store
        self.undo_stack = undo_stack
        self.tool = "put"
        self.current_class = 0
        self.paint_value = 1.0
        #: in units of the default square; scaled with the plotted box (see ``brush_r``)
        self.brush_radius = 0.6
        #: how dense the airbrush sprays and how hard jitter and magnet work (1..10)
        self.intensity = DEFAULT_INTENSITY
        self.show_test = True
        self.value_scale = 1.0
        self.point_size = theme.BASE_POINT_SIZE
        self._rng = np.random.default_rng(12345)
        self._stroke: dict | None = None
        #: ``(overlay name, index)`` of the marker being dragged
        self._marker_drag: tuple[str, int] | None = None
        self._selection = np.zeros(0, dtype=np.intp)
        self._selection_revision = -1
        self.box = DEFAULT_BOX

        self.setMenuEnabled(False)
        self.hideButtons()
        pi = self.getPlotItem()
        for name in ("left", "bottom"):
            ax = pi.getAxis(name)
            ax.setPen(pg.mkPen("#9AA0A6"))
            ax.setTextPen(pg.mkPen(theme.MUTED))
            # The axes are repainted with every frame's regions (their box reaches into the
            # plot); from a cached picture that is a copy, not ticks and text drawn again.
            ax.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)

        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.addItem(self.image)
        self.train_scatter = _PassiveScatter(pxMode=True)
        self.test_scatter = _PassiveScatter(pxMode=True)
        self.selected_scatter = _PassiveScatter(
            pxMode=True, symbol="o", brush=None, pen=pg.mkPen("#1A73E8", width=2.5)
        )
        for item in (self.train_scatter, self.test_scatter, self.selected_scatter):
            self.addItem(item)
        # The points change far less often than the regions under them: each frame while
        # training then copies their cached picture instead of drawing every point again.
        for item in (self.train_scatter, self.test_scatter):
            item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.rubber_band = QtWidgets.QGraphicsRectItem()
        self.rubber_band.setPen(pg.mkPen("#1A73E8", width=1.5, style=QtCore.Qt.PenStyle.DashLine))
        self.rubber_band.setBrush(pg.mkBrush(26, 115, 232, 30))
        self.rubber_band.setVisible(False)
        self.addItem(self.rubber_band)
        self.brush_outline = QtWidgets.QGraphicsEllipseItem()
        self.brush_outline.setPen(pg.mkPen("#202124", width=1, style=QtCore.Qt.PenStyle.DotLine))
        self.brush_outline.setVisible(False)
        self.addItem(self.brush_outline)
        self.caption = pg.TextItem(color=theme.FOREGROUND, anchor=(0, 0), fill=pg.mkBrush(255, 255, 255, 210))
        self.caption.setZValue(20)
        self.caption.setVisible(False)
        self.addItem(self.caption, ignoreBounds=True)

        self._image_rect_set = False
        self._image_shape: tuple[int, ...] = ()
        self._preview_active = False
        self._last_boundary: np.ndarray | None = None
        #: a model's margins, support vectors, centroids, ... (``set_overlays``)
        self.overlays = OverlayLayer(self)
        self._make_brushes()
        self.set_box(DEFAULT_BOX)
        store.changed.connect(self._on_store_changed)
        store.classes_changed.connect(self._on_classes_changed)
        self._on_store_changed()

    # ------------------------------------------------------------------ appearance
    def set_box(self, box: tuple[float, float, float, float]) -> None:
        """Show exactly the data rectangle ``(x_min, x_max, y_min, y_max)``."""
        self.box = tuple(float(v) for v in box)
        x0, x1, y0, y1 = self.box
        self._vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0)
        self._vb.disableAutoRange()
        self._image_rect_set = False
        self.caption.setPos(x0, y1)

    @property
    def preview_shown(self) -> bool:
        """Whether a neuron's picture is shown in place of the decision regions."""
        return self._preview_active

    # ------------------------------------------------------------------ what a click does
    def set_tool(self, tool: str) -> None:
        """``put``, ``airbrush``, ``erase`` or ``select``."""
        self.tool = tool
        self.hover_at(None)

    def set_paint_class(self, index: int) -> None:
        self.current_class = max(int(index), 0)

    def set_paint_value(self, value: float) -> None:
        self.paint_value = float(value)

    def set_intensity(self, intensity: int) -> None:
        self.intensity = int(intensity)

    @property
    def airbrush_density(self) -> int:
        """Points sprayed per mouse move."""
        return airbrush_count(self.intensity)

    def set_brush_radius(self, radius: float) -> None:
        self.brush_radius = float(radius)

    def set_presentation(self, on: bool) -> None:
        """Larger points, axis numbers and neuron caption for a projector."""
        self.set_point_size(round(theme.BASE_POINT_SIZE * (1.4 if on else 1.0)))
        f = QtGui.QFont()
        f.setPointSizeF(9 * (theme.PRESENTATION_SCALE if on else 1.0))
        for name in ("left", "bottom"):
            self.getPlotItem().getAxis(name).setStyle(tickFont=f)
        # the name of the neuron shown large
        self.caption.textItem.setFont(f)
        # room for the labels at the ends of the axes ("6" at the top, "6" at the right),
        # which are centred on the plot's edges
        fm = QtGui.QFontMetrics(f)
        self.getPlotItem().layout.setContentsMargins(2, fm.height() // 2 + 2, fm.horizontalAdvance("−6") // 2 + 4, 2)

    def set_point_size(self, size: int) -> None:
        self.point_size = int(size)
        self.overlays.set_point_size(self.point_size)
        self._on_store_changed()

    def set_boundary(self, rgb: np.ndarray | None) -> None:
        """Show the decision regions, ``(H, W, 3)`` uint8 with row 0 at ``y_min``."""
        self._last_boundary = rgb
        if self._preview_active:
            return
        self._show_image(rgb)

    def set_overlays(self, overlays: tuple = (), status_line: str = "", hover_radius: float | None = None) -> None:
        """Draw a model's overlays (:mod:`gui.playground.overlays`), its one-line status and,
        with ``hover_radius``, a circle of that radius under the mouse."""
        self.overlays.show(tuple(overlays), status_line, hover_radius)

    def set_preview(self, rgb: np.ndarray | None, caption: str = "") -> None:
        """Temporarily show another picture (a hovered neuron) instead of the regions."""
        self._preview_active = rgb is not None
        if rgb is None:
            self.caption.setVisible(False)
            self._show_image(self._last_boundary)
        else:
            self.caption.setText(caption)
            self.caption.setVisible(True)
            self._show_image(rgb)

    def _show_image(self, rgb: np.ndarray | None) -> None:
        if rgb is None:
            self.image.clear()
            self._image_rect_set = False
            return
        # uint8 RGB without levels: pyqtgraph wraps the array as it is, no rescaling pass
        # (the same picture as levels 0-255, at every frame while training)
        self.image.setImage(rgb, autoLevels=False, levels=None)
        # setRect only sticks after a setImage, and it scales by the image's size in pixels:
        # set it again whenever that size changes (the regions and a neuron preview differ).
        if not self._image_rect_set or rgb.shape[:2] != self._image_shape:
            x0, x1, y0, y1 = self.box
            self.image.setRect(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
            self._image_rect_set = True
            self._image_shape = rgb.shape[:2]

    def _make_brushes(self) -> None:
        self._class_brushes = self._brushes_of(theme.CLASS_COLORS)
        lut = theme.diverging_lut(65)
        self._value_brushes = np.array([pg.mkBrush(int(r), int(g), int(b)) for r, g, b, _ in lut] + [None],
                                       dtype=object)[:-1]
        self._train_pen = pg.mkPen("#FFFFFF", width=1.2)
        # Regression values near zero are white: a grey rim keeps those points visible.
        self._value_train_pen = pg.mkPen("#9AA0A6", width=1.0)
        self._test_pen = pg.mkPen("#202124", width=1.6)

    @staticmethod
    def _brushes_of(colors) -> np.ndarray:
        return np.array([pg.mkBrush(c) for c in colors] + [None], dtype=object)[:-1]

    def _brushes_for(self, y: np.ndarray) -> np.ndarray:
        if self.store.task == "classification":
            return self._class_brushes[np.clip(y.astype(np.intp), 0, len(self._class_brushes) - 1)]
        t = np.clip(y / (self.value_scale or 1.0), -1, 1)
        return self._value_brushes[np.round((t + 1) * 32).astype(np.intp)]

    def _on_classes_changed(self) -> None:
        self.current_class = min(self.current_class, max(self.store.n_classes - 1, 0))
        # Imported data may have more classes than the eight painting colours.
        colors = theme.class_colors(max(self.store.n_classes, len(theme.CLASS_COLORS)))
        if len(colors) != len(self._class_brushes):
            self._class_brushes = self._brushes_of(colors)

    def _on_store_changed(self) -> None:
        s = self.store
        tr = ~s.test
        train_pen = self._train_pen if s.task == "classification" else self._value_train_pen
        self.train_scatter.setData(
            s.X[tr, 0], s.X[tr, 1], brush=list(self._brushes_for(s.y[tr])), pen=train_pen,
            size=self.point_size, symbol="o",
        )
        te = s.test if self.show_test else np.zeros(len(s), dtype=bool)
        self.test_scatter.setData(
            s.X[te, 0], s.X[te, 1], brush=list(self._brushes_for(s.y[te])), pen=self._test_pen,
            size=self.point_size, symbol="o",
        )
        if s.revision != self._selection_revision and len(self._selection):
            self._set_selection(np.zeros(0, dtype=np.intp))
        self._draw_selection()

    def set_show_test(self, show: bool) -> None:
        self.show_test = bool(show)
        self._on_store_changed()

    # ------------------------------------------------------------------ selection
    @property
    def selection(self) -> np.ndarray:
        return self._selection

    def _set_selection(self, indices: np.ndarray) -> None:
        self._selection = np.asarray(indices, dtype=np.intp)
        self._selection_revision = self.store.revision
        self._draw_selection()
        self.selection_changed.emit(len(self._selection))

    def _draw_selection(self) -> None:
        sel = self._selection
        if len(sel):
            self.selected_scatter.setData(self.store.X[sel, 0], self.store.X[sel, 1],
                                          size=self.point_size + 6)
        else:
            self.selected_scatter.clear()

    def delete_selection(self) -> None:
        if len(self._selection):
            sel = self._selection
            self._set_selection(np.zeros(0, dtype=np.intp))
            self.undo_stack.push(RemovePointsCommand(self.store, indices=sel, text="delete selection"))

    def keyPressEvent(self, ev) -> None:  # Qt override
        if ev.key() in (QtCore.Qt.Key.Key_Delete, QtCore.Qt.Key.Key_Backspace) and len(self._selection):
            self.delete_selection()
            ev.accept()
            return
        super().keyPressEvent(ev)

    # ------------------------------------------------------------------ painting
    def _label(self) -> float:
        return float(self.current_class) if self.store.task == "classification" else float(self.paint_value)

    def _inside(self, x: float, y: float) -> bool:
        x0, x1, y0, y1 = self.box
        return x0 <= x <= x1 and y0 <= y <= y1

    def click_at(self, x: float, y: float) -> None:
        """What a left click at data position ``(x, y)`` does with the current tool."""
        if self.overlays.marker_at(x, y, self._grab_radius() * 1.5) is not None:
            return  # a click on a centroid is the start of a drag that did not move
        if self.tool == "put":
            if self._inside(x, y):
                self.undo_stack.push(AddPointsCommand(
                    self.store, [[x, y]], [self._label()], self.store.draw_test_flags(1), text="put point"))
        elif self.tool == "airbrush":
            pts = self._spray(x, y, self.airbrush_density * 2)
            if len(pts):
                self.undo_stack.push(AddPointsCommand(
                    self.store, pts, np.full(len(pts), self._label()), self.store.draw_test_flags(len(pts)),
                    text="airbrush"))
        elif self.tool == "erase":
            idx = self.store.indices_within((x, y), self.brush_r)
            if len(idx):
                self.undo_stack.push(RemovePointsCommand(self.store, indices=idx, text="erase"))
        elif self.tool == "select":
            self._set_selection(np.zeros(0, dtype=np.intp))
        elif self.tool in ("jitter", "magnet"):
            before = self.store.X.copy()
            self._shift_points(self.tool, x, y)
            self._push_positions(before, self.tool)

    def _shift_points(self, tool: str, x: float, y: float) -> None:
        """One jitter or magnet step at ``(x, y)`` (the store changes live; the stroke's end pushes the undo)."""
        if tool == "jitter":
            idx, new = jitter_step(self.store.X, (x, y), self.brush_r, self.intensity, self._rng, self.box)
        else:
            idx, new = magnet_step(self.store.X, (x, y), self.brush_r, self.intensity)
        self.store.set_positions(idx, new)

    def _push_positions(self, before: np.ndarray, tool: str) -> None:
        if len(before) != len(self.store):
            return  # (the store was replaced meanwhile)
        moved = np.flatnonzero((before != self.store.X).any(axis=1))
        if len(moved):
            self.undo_stack.push(SetPositionsCommand(self.store, moved, before[moved], self.store.X[moved],
                                                     text=tool, applied=True))

    def _spray(self, x: float, y: float, n: int) -> np.ndarray:
        pts = airbrush_points((x, y), self.brush_r, n, self._rng)
        x0, x1, y0, y1 = self.box
        keep = (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)
        return pts[keep]

    def drag_started(self, x: float, y: float) -> None:
        # A model's marker under the mouse is dragged instead of painting.
        self._marker_drag = self.overlays.marker_at(x, y, self._grab_radius() * 1.5)
        if self._marker_drag is not None:
            return
        stroke: dict = {"tool": self.tool, "start": (x, y), "last": (x, y), "count": 0, "removed": []}
        if self.tool == "select":
            sel = self._selection
            near = len(sel) and len(np.intersect1d(sel, self.store.indices_within((x, y), self._grab_radius())))
            stroke["mode"] = "move" if near else "band"
            stroke["indices"] = sel.copy()
        elif self.tool in ("jitter", "magnet"):
            stroke["before"] = self.store.X.copy()
        self._stroke = stroke

    @property
    def brush_r(self) -> float:
        """The brush radius in data units: the same size on screen for a fitted box as for the default."""
        x0, x1, _, _ = self.box
        return self.brush_radius * (x1 - x0) / (DEFAULT_BOX[1] - DEFAULT_BOX[0])

    def _grab_radius(self) -> float:
        # about 1.5 point diameters in data units
        x0, x1, _, _ = self.box
        width_px = max(self._vb.width(), 1.0)
        return 1.5 * self.point_size * (x1 - x0) / width_px

    def _drag_marker(self, x: float, y: float) -> bool:
        if self._marker_drag is None:
            return False
        name, index = self._marker_drag
        x0, x1, y0, y1 = self.box
        x, y = min(max(x, x0), x1), min(max(y, y0), y1)
        self.overlays.move_marker(name, index, x, y)
        self.marker_dragged.emit(name, index, x, y)
        return True

    def drag_moved(self, x: float, y: float) -> None:
        if self._drag_marker(x, y):
            return
        st = self._stroke
        if st is None:
            return
        tool = st["tool"]
        if tool == "airbrush":
            pts = self._spray(x, y, self.airbrush_density)
            if len(pts):
                self.store.append(pts, np.full(len(pts), self._label()), self.store.draw_test_flags(len(pts)))
                st["count"] += len(pts)
        elif tool == "put":
            pass
        elif tool in ("jitter", "magnet"):
            self._shift_points(tool, x, y)
        elif tool == "erase":
            idx = self.store.indices_within((x, y), self.brush_r)
            if len(idx):
                st["removed"].append(self.store.take(idx))
        elif tool == "select":
            if st["mode"] == "move":
                lx, ly = st["last"]
                self.store.move(st["indices"], (x - lx, y - ly))
                self._selection_revision = self.store.revision
                self._draw_selection()
            else:
                sx, sy = st["start"]
                self.rubber_band.setRect(QtCore.QRectF(QtCore.QPointF(sx, sy), QtCore.QPointF(x, y)).normalized())
                self.rubber_band.setVisible(True)
        st["last"] = (x, y)
        self.hover_at((x, y))

    def drag_finished(self, x: float, y: float) -> None:
        if self._drag_marker(x, y):
            self._marker_drag = None
            return
        st, self._stroke = self._stroke, None
        if st is None:
            return
        tool = st["tool"]
        if tool == "airbrush" and st["count"]:
            n = len(self.store)
            k = st["count"]
            self.undo_stack.push(AddPointsCommand(
                self.store, self.store.X[n - k:], self.store.y[n - k:], self.store.test[n - k:],
                text="airbrush", applied=True))
        elif tool == "put":
            self.click_at(x, y)
        elif tool in ("jitter", "magnet"):
            self._push_positions(st["before"], tool)
        elif tool == "erase" and st["removed"]:
            parts = st["removed"]
            removed = tuple(np.concatenate([p[i] for p in parts]) for i in range(3))
            self.undo_stack.push(RemovePointsCommand(self.store, removed=removed, text="erase", applied=True))
        elif tool == "select":
            if st["mode"] == "move":
                sx, sy = st["start"]
                if (x, y) != (sx, sy):
                    self.undo_stack.push(MovePointsCommand(self.store, st["indices"], (x - sx, y - sy),
                                                           text="move selection", applied=True))
                    self._selection_revision = self.store.revision
            else:
                self.rubber_band.setVisible(False)
                sx, sy = st["start"]
                self._set_selection(self.store.indices_in_rect(sx, sy, x, y))

    def hover_at(self, pos: tuple[float, float] | None) -> None:
        self.overlays.hover(pos)
        if pos is None or self.tool not in BRUSH_TOOLS:
            self.brush_outline.setVisible(False)
            return
        r = self.brush_r
        self.brush_outline.setRect(QtCore.QRectF(pos[0] - r, pos[1] - r, 2 * r, 2 * r))
        self.brush_outline.setVisible(True)

    def export_png(self, path: str, width_px: int = 1200) -> None:
        """Save the plot (regions, points, axes) as a PNG ``width_px`` wide."""
        from pyqtgraph.exporters import ImageExporter

        exporter = ImageExporter(self.getPlotItem())
        exporter.parameters()["width"] = int(width_px)
        exporter.export(path)

    # ------------------------------------------------------------------ helpers for tests and tools
    def image_extent(self) -> tuple[float, float, float, float]:
        """Where the shown image lies in data coordinates: ``(x_min, x_max, y_min, y_max)``."""
        r = self.image.mapRectToParent(self.image.boundingRect())
        return r.left(), r.right(), r.top(), r.bottom()

    def scene_pos_of(self, x: float, y: float) -> QtCore.QPointF:
        """Scene position of data point ``(x, y)``."""
        return self._vb.mapViewToScene(QtCore.QPointF(x, y))

    def widget_pos_of(self, x: float, y: float) -> QtCore.QPoint:
        """Position in this widget's viewport of data point ``(x, y)`` (for simulated clicks)."""
        return self.mapFromScene(self.scene_pos_of(x, y))
