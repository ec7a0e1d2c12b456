"""A container that keeps its one child square, centred in whatever space it gets."""

from __future__ import annotations

from PySide6 import QtWidgets


class SquareBox(QtWidgets.QWidget):
    """Holds ``child`` at the largest square that fits (plots of the unit box stay undistorted)."""

    def __init__(self, child: QtWidgets.QWidget, parent=None):
        super().__init__(parent)
        self.child = child
        child.setParent(self)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)

    def resizeEvent(self, ev) -> None:  # Qt override
        side = min(self.width(), self.height())
        self.child.setGeometry((self.width() - side) // 2, (self.height() - side) // 2, side, side)
        super().resizeEvent(ev)

    def minimumSizeHint(self):  # Qt override
        return self.child.minimumSizeHint()
