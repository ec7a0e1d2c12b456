"""A one-line label that shortens its text in the middle instead of widening the window."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


class ElidedLabel(QtWidgets.QLabel):
    """Shows as much of its text as fits, with "…" in the middle (a long path keeps its start
    and its last folder) or, with ``mode=Qt.ElideRight``, at the end (a title keeps its
    start); the whole text is its tooltip and ``text()``.

    A plain QLabel's minimum width is its whole text: one long path could make the window
    wider than the screen.
    """

    MIN_WIDTH = 120

    def __init__(self, text: str = "", parent=None,
                 mode: QtCore.Qt.TextElideMode = QtCore.Qt.TextElideMode.ElideMiddle):
        super().__init__(parent)
        self._full = ""
        self._mode = mode
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # Qt override: keep the whole text
        self._full = text
        self.setToolTip(text)
        self._elide()

    def text(self) -> str:  # Qt override: the whole text, not what fits
        return self._full

    def shown_text(self) -> str:
        """What is drawn now (the text, or its middle replaced by "…")."""
        return super().text()

    def minimumSizeHint(self) -> QtCore.QSize:  # Qt override
        hint = super().minimumSizeHint()
        return QtCore.QSize(min(hint.width(), self.MIN_WIDTH), hint.height())

    def sizeHint(self) -> QtCore.QSize:  # Qt override: the whole text's width, when there is room
        return QtCore.QSize(self.fontMetrics().horizontalAdvance(self._full) + 4, super().sizeHint().height())

    def resizeEvent(self, ev) -> None:  # Qt override
        super().resizeEvent(ev)
        self._elide()

    def changeEvent(self, ev) -> None:  # Qt override: a new font changes what fits
        super().changeEvent(ev)
        if ev.type() == QtCore.QEvent.Type.FontChange:
            self._elide()

    def _elide(self) -> None:
        width = max(self.contentsRect().width(), 0)
        shown = self.fontMetrics().elidedText(self._full, self._mode, width)
        if shown != super().text():
            super().setText(shown)
