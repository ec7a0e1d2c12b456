"""A scroll area that scrolls up and down only."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


class VerticalScrollArea(QtWidgets.QScrollArea):
    """At least as wide as its widget's minimum width, so that it never scrolls sideways
    (a form's fields stay whole; what is beside it gives way instead)."""

    def minimumSizeHint(self) -> QtCore.QSize:  # Qt override
        hint = super().minimumSizeHint()
        inner = self.widget()
        if inner is not None:
            hint.setWidth(inner.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
                          + 2 * self.frameWidth())
        return hint
