"""The scene items the network drawing is made of: edges (weights), neurons, round buttons.

Every scene item is a plain Qt item, never a Python subclass: for each virtual call
(paint, boundingRect, ...) on a Python-derived item the binding must take the GIL, and
while training runs in a worker thread each such call waits for the worker. Hover and
clicks are handled once, by the editor's view.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme

def rgb_to_pixmap(rgb: np.ndarray, size: int) -> QtGui.QPixmap:
    """An ``(h, w, 3)`` uint8 picture with row 0 at the bottom, scaled to ``size`` pixels."""
    img = np.ascontiguousarray(rgb[::-1])
    h, w, _ = img.shape
    qimg = QtGui.QImage(img.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()
    return QtGui.QPixmap.fromImage(qimg).scaled(size, size, QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                                                QtCore.Qt.TransformationMode.FastTransformation)


ROLE = 0  # QGraphicsItem.data key holding what an item is: ("neuron", c, u), ("edge", key), ...

#: points along each edge's curve that hit testing measures the distance to (a long steep edge
#: in a tall drawing still has them under 10 pixels apart)
EDGE_SAMPLES = 96
_T = np.linspace(0.0, 1.0, EDGE_SAMPLES)[:, None]
#: the cubic Bezier curve's Bernstein weights at those points: samples = _BEZIER @ (4 x 2 points)
_BEZIER = np.hstack([(1 - _T) ** 3, 3 * (1 - _T) ** 2 * _T, 3 * (1 - _T) * _T ** 2, _T ** 3])


class Edge:
    """One weight: a curve from neuron ``i`` of column ``layer`` to neuron ``j`` of the next."""

    def __init__(self, editor, layer: int, i: int, j: int, p0: QtCore.QPointF,
                 p1: QtCore.QPointF):
        self.editor, self.layer, self.i, self.j = editor, layer, i, j
        path = QtGui.QPainterPath(p0)
        x0, y0, x1, y1 = p0.x(), p0.y(), p1.x(), p1.y()
        dx = (x1 - x0) * 0.5
        path.cubicTo(x0 + dx, y0, x1 - dx, y1, x1, y1)
        self.item = QtWidgets.QGraphicsPathItem(path)
        self.item.setData(ROLE, ("edge", layer, i, j))
        self.item.setZValue(0)
        # Points along the curve, for hit testing by distance (the item's own shape is the
        # filled hull between the curve and its chord): the curve's own formula at evenly
        # spaced parameters, one small product (asking the path for each point took most of
        # the time of laying the drawing out again)
        self.samples = _BEZIER @ np.array([[x0, y0], [x0 + dx, y0], [x1 - dx, y1], [x1, y1]])
        self.value = 0.0

    def set_value(self, value: float, width_scale: float = 1.0) -> None:
        self.value = float(value)
        mag = min(abs(self.value), 3.0)
        r, g, b = theme.diverging_color(self.value, 1.0)
        pen = QtGui.QPen(QtGui.QColor(r, g, b, 230), (0.4 + 1.6 * mag) * width_scale)
        pen.setCapStyle(QtCore.Qt.PenCapStyle.FlatCap)
        self.item.setPen(pen)

    def pen(self) -> QtGui.QPen:
        return self.item.pen()

    def describe(self) -> str:
        return f"weight {self.editor.node_name(self.layer, self.i)} → {self.editor.node_name(self.layer + 1, self.j)}"\
               f" = {self.value:.4f}\nclick to type a new value"


class Neuron:
    """A neuron (or input feature): a framed thumbnail of its output over the plane."""

    def __init__(self, column: int, unit: int, size: float, enabled: bool = True):
        self.column, self.unit, self.size, self.enabled = column, unit, size, enabled
        self.item = QtWidgets.QGraphicsRectItem(0, 0, size, size)
        self.item.setData(ROLE, ("neuron", column, unit))
        self.item.setBrush(QtGui.QColor("#F1F3F4"))
        self.item.setZValue(2)
        self.item.setOpacity(1.0 if enabled else 0.35)
        self.pixmap_item = QtWidgets.QGraphicsPixmapItem(self.item)
        self.pixmap_item.setPos(1, 1)
        self.set_highlight(False)

    def set_highlight(self, on: bool) -> None:
        color = "#1A73E8" if on else ("#202124" if self.enabled else "#BDBDBD")
        self.item.setPen(QtGui.QPen(QtGui.QColor(color), 2.5 if on else 1.2))

    def set_picture(self, rgb: np.ndarray) -> None:
        self.pixmap_item.setPixmap(rgb_to_pixmap(rgb, int(self.size) - 2))


def round_button(text: str, radius: float, enabled: bool, tip: str, role: tuple,
                 text_px: int | None = None) -> QtWidgets.QGraphicsEllipseItem:
    """A round ``+`` / ``-`` button drawn in the scene; ``role`` is what a click on it means,
    ``text_px`` the glyph's pixel size in scene units (by default in proportion to ``radius``)."""
    item = QtWidgets.QGraphicsEllipseItem(-radius, -radius, 2 * radius, 2 * radius)
    item.setPen(QtGui.QPen(QtGui.QColor("#BDBDBD"), 1))
    item.setBrush(QtGui.QColor("white"))
    item.setToolTip(tip)
    item.setData(ROLE, role if enabled else ("disabled",))
    item.setOpacity(1.0 if enabled else 0.3)
    label = QtWidgets.QGraphicsSimpleTextItem(text, item)
    f = label.font()
    f.setPixelSize(max(1, round(text_px if text_px else radius * 1.27)))
    f.setBold(True)
    label.setFont(f)
    br = label.boundingRect()
    label.setPos(-br.width() / 2, -br.height() / 2)
    return item
