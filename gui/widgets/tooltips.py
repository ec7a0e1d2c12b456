"""Tooltips that wrap: every plain-text tooltip of the application is shown at most ``MAX_TIP_PX``
wide, broken between words.

Qt shows a plain-text tooltip on one line, however long (a sentence of explanation
becomes a strip across the screen); rich text it wraps, but at a width of its own choosing.
:class:`TooltipWrapper` is an application-wide event filter: when a widget, a scene item
(network drawing, plots), an item view's row or a menu's action is about to show a tooltip,
it shows the same text with line breaks instead.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

#: the widest a tooltip line gets, in pixels
MAX_TIP_PX = 400


def wrap_tip(text: str, metrics: QtGui.QFontMetrics, max_px: int = MAX_TIP_PX) -> str:
    """``text`` with line breaks between words so that no line is wider than ``max_px``
    (a single longer word keeps its own line). Rich text is returned unchanged."""
    if not text or QtCore.Qt.mightBeRichText(text):
        return text
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and metrics.horizontalAdvance(candidate) > max_px:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return "\n".join(lines)


def _tip_at(obj: QtCore.QObject, pos: QtCore.QPoint) -> str:
    """The tooltip Qt would show for ``obj`` at ``pos`` (its own, or of what lies under ``pos``)."""
    parent = obj.parent()
    if isinstance(parent, QtWidgets.QGraphicsView) and obj is parent.viewport():
        for item in parent.items(pos):
            while item is not None and not item.toolTip():
                item = item.parentItem()
            if item is not None:
                return item.toolTip()
        return ""
    if isinstance(parent, QtWidgets.QAbstractItemView) and obj is parent.viewport():
        tip = parent.indexAt(pos).data(QtCore.Qt.ItemDataRole.ToolTipRole)
        return tip if isinstance(tip, str) else ""
    if isinstance(obj, QtWidgets.QMenu):
        action = obj.actionAt(pos)
        return action.toolTip() if action is not None and obj.toolTipsVisible() else ""
    return obj.toolTip() if isinstance(obj, QtWidgets.QWidget) else ""


class TooltipWrapper(QtCore.QObject):
    """The application-wide event filter; see the module docstring."""

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # Qt override
        if ev.type() != QtCore.QEvent.Type.ToolTip or not isinstance(obj, QtWidgets.QWidget):
            return False
        text = _tip_at(obj, ev.pos())
        wrapped = wrap_tip(text, QtGui.QFontMetrics(QtWidgets.QToolTip.font()))
        if wrapped == text:
            return False  # short, rich or none: Qt shows it as it is
        QtWidgets.QToolTip.showText(ev.globalPos(), wrapped, obj)
        return True


def install(app: QtWidgets.QApplication | None = None) -> TooltipWrapper | None:
    """Install the wrapper on ``app`` (the running application) once; returns it."""
    app = app or QtWidgets.QApplication.instance()
    if app is None:
        return None
    wrapper = app.findChild(TooltipWrapper)
    if wrapper is None:
        wrapper = TooltipWrapper(app)
        app.installEventFilter(wrapper)
    return wrapper
