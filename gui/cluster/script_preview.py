"""The generated ``job.sh``, shown beside the form, explained line by line, editable.

The form regenerates the script on every change. Once the user types into it the text
is theirs: regeneration stops (a banner says so) until they press "Regenerate", which
throws their edits away. Hovering an ``#SBATCH`` line shows what that option means.
"""

from __future__ import annotations

from typing import Callable, Mapping

from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from remote.slurm import sbatch_option

def explain_line(line: str, directive_help: Mapping[str, str]) -> str | None:
    """The explanation of an ``#SBATCH`` line from ``directive_help``, or ``None``.

    ``directive_help`` may be keyed ``"--ntasks-per-node"`` or ``"ntasks-per-node"``;
    short options (``-N``) are looked up as written.
    """
    parsed = sbatch_option(line)
    if parsed is None:
        return None
    option, value = parsed
    value = value.split(" #", 1)[0].strip()  # the generator's trailing comment
    for key in (option, option.lstrip("-"), option.lstrip("-").replace("-", "_")):
        if key in directive_help:
            text = directive_help[key]
            return f"{option}={value}: {text}" if value else f"{option}: {text}"
    return None


class _Highlighter(QtGui.QSyntaxHighlighter):
    def __init__(self, document: QtGui.QTextDocument):
        super().__init__(document)
        self.sbatch = QtGui.QTextCharFormat()
        self.sbatch.setForeground(QtGui.QColor(theme.POSITIVE_COLOR))
        self.sbatch.setFontWeight(QtGui.QFont.Weight.DemiBold)
        self.comment = QtGui.QTextCharFormat()
        self.comment.setForeground(QtGui.QColor(theme.MUTED))

    def highlightBlock(self, text: str) -> None:  # Qt override
        stripped = text.lstrip()
        if stripped.startswith("#SBATCH"):
            self.setFormat(0, len(text), self.sbatch)
        elif stripped.startswith("#"):
            self.setFormat(0, len(text), self.comment)


class ScriptEditor(QtWidgets.QPlainTextEdit):
    """A plain-text editor that explains the ``#SBATCH`` line under the mouse."""

    def __init__(self, directive_help: Mapping[str, str], parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.directive_help = directive_help
        font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        self.setFont(font)
        self.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        self._highlighter = _Highlighter(self.document())
        self.setMouseTracking(True)

    def explanation_at(self, pos: QtCore.QPoint) -> str | None:
        """The explanation of the line at viewport position ``pos``."""
        block = self.cursorForPosition(pos).block()
        return explain_line(block.text(), self.directive_help)

    def viewportEvent(self, event: QtCore.QEvent) -> bool:  # Qt override
        if event.type() == QtCore.QEvent.Type.ToolTip:
            text = self.explanation_at(event.pos())
            if text:
                QtWidgets.QToolTip.showText(event.globalPos(), text, self.viewport())
            else:
                QtWidgets.QToolTip.hideText()
            return True
        return super().viewportEvent(event)


class ScriptPreview(QtWidgets.QWidget):
    """The job script beside the form: generated live until the user edits it.

    Signals
    -------
    edited_changed(bool)
        The user started editing (``True``) or pressed Regenerate (``False``).
    regenerate_requested()
        The user wants the generated script back.
    """

    edited_changed = QtCore.Signal(bool)
    regenerate_requested = QtCore.Signal()

    def __init__(self, directive_help: Mapping[str, str], parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.editor = ScriptEditor(directive_help)
        self.edited = False
        self._setting = False
        self.banner = QtWidgets.QLabel("Edited by hand: the form no longer changes this script.")
        self.banner.setProperty("role", "hint")
        self.banner.setWordWrap(True)  # in large type the hints wrap instead of widening the window
        self.banner.setVisible(False)
        self.regenerate_button = QtWidgets.QPushButton("Regenerate from form")
        self.regenerate_button.setToolTip("Throw away the edits and show the script the form describes.")
        self.regenerate_button.setEnabled(False)
        self.regenerate_button.clicked.connect(self._on_regenerate_clicked)
        heading = QtWidgets.QLabel("job.sh")
        heading.setProperty("role", "heading")
        hint = QtWidgets.QLabel("Hover an #SBATCH line to see what it asks SLURM for.")
        hint.setProperty("role", "hint")
        hint.setWordWrap(True)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(heading)
        top.addWidget(hint, 1)
        top.addWidget(self.regenerate_button)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.banner)
        lay.addWidget(self.editor, 1)
        self.editor.textChanged.connect(self._on_text_changed)

    def text(self) -> str:
        return self.editor.toPlainText()

    def set_generated(self, text: str) -> bool:
        """Show the generated ``text`` unless the user has edited the script; ``True`` if shown."""
        if self.edited:
            return False
        if text != self.editor.toPlainText():
            self._setting = True
            try:
                bar = self.editor.verticalScrollBar().value()
                self.editor.setPlainText(text)
                self.editor.verticalScrollBar().setValue(bar)
            finally:
                self._setting = False
        return True

    def replace_edited_text(self, old: str, new: str) -> None:
        """Replace ``old`` with ``new`` in a script edited by hand, keeping it the user's (a new job folder)."""
        if not self.edited:
            return
        self._setting = True
        try:
            self.editor.setPlainText(self.text().replace(old, new))
        finally:
            self._setting = False

    def set_error(self, message: str | None) -> None:
        """Show why no script can be generated (a bad form value), or clear that."""
        if message:
            self.banner.setText(message)
            self.banner.setVisible(True)
            self.banner.setProperty("role", "error")
        else:
            self.banner.setProperty("role", "hint")
            self.banner.setText("Edited by hand: the form no longer changes this script.")
            self.banner.setVisible(self.edited)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)

    def _on_text_changed(self) -> None:
        if self._setting or self.edited:
            return
        self.edited = True
        self.banner.setVisible(True)
        self.regenerate_button.setEnabled(True)
        self.edited_changed.emit(True)

    def _on_regenerate_clicked(self) -> None:
        self.edited = False
        self.banner.setVisible(False)
        self.regenerate_button.setEnabled(False)
        self.edited_changed.emit(False)
        self.regenerate_requested.emit()


def explainer(directive_help: Mapping[str, str]) -> Callable[[str], str | None]:
    """``line -> explanation`` bound to one help table (for tests and other widgets)."""
    return lambda line: explain_line(line, directive_help)
