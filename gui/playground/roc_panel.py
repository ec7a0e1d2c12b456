"""The test set's ROC curves and their AUC (the test panel's ROC tab).

The curves come ready-made in the test report (``report["roc"]``, from
:func:`engine.metrics.roc_report`, computed off the GUI thread with the confusion matrix):
one curve for two classes, one per class against the rest for more, each in its class's
colour, the chance diagonal, and the AUC per class and their macro average.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from gui import theme

TIP = ("ROC curve of the test set: every threshold on the model's score for a class gives one point, the share "
       "of that class found (true positive rate) against the share of the other points wrongly taken for it "
       "(false positive rate). The area under the curve (AUC) is the chance that a random point of the class "
       "scores higher than a random other point: 1 is perfect, 0.5 (the diagonal) is guessing.")


class RocPanel(QtWidgets.QWidget):
    """ROC curves of the latest test report; empty (with a word why) for regression."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setToolTip(TIP)
        self.plot = pg.PlotWidget(background=theme.BACKGROUND)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(False, False)
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=theme.GRID_ALPHA)
        for name in ("left", "bottom"):
            item.getAxis(name).setTextPen(pg.mkPen(theme.MUTED))
        item.setLabel("bottom", "false positive rate", color=theme.MUTED)
        item.setLabel("left", "true positive rate", color=theme.MUTED)
        item.setXRange(0, 1, padding=0.02)
        item.setYRange(0, 1, padding=0.02)
        self.diagonal = item.plot([0, 1], [0, 1], pen=pg.mkPen(theme.MUTED, width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
        #: one PlotDataItem per drawn curve, in the report's order
        self.curves: list[pg.PlotDataItem] = []
        self.summary = QtWidgets.QLabel("")
        self.summary.setProperty("role", "metric")
        self.summary.setWordWrap(True)
        self.title = QtWidgets.QLabel("TEST SET  ·  ROC")
        self.title.setProperty("role", "heading")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.summary)
        self.roc: dict | None = None
        self._pending: tuple | None = None
        self._pen_width = 2

    def sizeHint(self) -> QtCore.QSize:  # Qt override: a plot's own hint would take the network's room
        return QtCore.QSize(300, 200)

    def set_presentation(self, on: bool) -> None:
        """Thicker curves for a projector."""
        self._pen_width = 3 if on else 2
        for item in self.curves:
            item.setPen(pg.mkPen(item.opts["pen"].color(), width=self._pen_width))

    def clear(self) -> None:
        self.roc = None
        self._pending = None
        for c in self.curves:
            self.plot.removeItem(c)
        self.curves = []
        self.summary.setText("")

    def show_report(self, report: dict | None, class_names: list[str] | None = None) -> None:
        """Draw ``report["roc"]``; a regression report (no ROC) clears the plot and says why.

        While the panel is hidden (the scores tab is showing) the report waits and is drawn
        when the panel is shown: replacing a hidden plot's curves costs what a visible
        one's does, twice a second while training.
        """
        if not self.isVisible():
            self._pending = (report, class_names)
            return
        self._pending = None
        self._draw(report, class_names)

    def showEvent(self, event) -> None:  # Qt override: draw the report that waited
        super().showEvent(event)
        if self._pending is not None:
            report, names = self._pending
            self._pending = None
            self._draw(report, names)

    def _draw(self, report: dict | None, class_names: list[str] | None) -> None:
        roc = (report or {}).get("roc")
        if roc is self.roc and roc is not None:
            return
        if roc is None:
            self.clear()
            if report is not None and "confusion" not in report:
                self.summary.setText("ROC curves are for classes; this is a regression.")
            return
        self.roc = roc
        names = list(class_names or roc["classes"])
        parts = []
        # the curve items stay and take the new numbers (creating items costs more than drawing them)
        items, self.curves = self.curves, []
        for i, curve in enumerate(roc["curves"]):
            c = 1 if roc["kind"] == "binary" else i
            name = names[c] if c < len(names) else roc["classes"][c]
            if curve is None:
                parts.append(f"{name}: —")
                continue
            pen = pg.mkPen(theme.class_colors(max(len(roc["classes"]), 2))[c], width=self._pen_width)
            if items:
                item = items.pop(0)
                item.setData(curve["fpr"], curve["tpr"])
                item.setPen(pen)
            else:
                item = self.plot.plot(curve["fpr"], curve["tpr"], pen=pen)
            self.curves.append(item)
            parts.append(f"{name} {curve['auc']:.3f}")
        for item in items:
            self.plot.removeItem(item)
        if roc["kind"] == "binary":
            text = f"AUC {roc['auc']:.3f}  ({names[1] if len(names) > 1 else 'class 1'} against the rest)" \
                if roc["auc"] is not None else "AUC —"
        else:
            macro = "—" if roc["macro_auc"] is None else f"{roc['macro_auc']:.3f}"
            text = f"macro AUC {macro}  ·  one-vs-rest: " + ", ".join(parts)
        self.summary.setText(text)
