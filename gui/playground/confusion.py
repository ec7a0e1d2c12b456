"""The test set's confusion matrix and per-class precision, recall and F1."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from engine.metrics import MISSING, format_class_score
from gui import theme


#: the most height the panel takes from the network drawing above it for many classes
MAX_FORCED_HEIGHT = 440


class ConfusionPanel(QtWidgets.QWidget):
    """Counts of (true class, predicted class) on the test set, and the per-class scores."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QtWidgets.QLabel("TEST SET")
        self.title.setProperty("role", "heading")
        self.matrix = QtWidgets.QTableWidget()
        self.matrix.setToolTip(
            "Confusion matrix of the test set: row = the true class, column = the class the network "
            "predicted. Everything off the diagonal is a mistake, and shows which classes get mixed up.")
        self.scores = QtWidgets.QTableWidget()
        self.scores.setToolTip(
            "Precision: of the points predicted as this class, the share that really are. Recall: of the "
            "points of this class, the share found. F1 combines both (their harmonic mean). A class "
            "without test points has nothing to score: it reads —.")
        for t in (self.matrix, self.scores):
            t.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
            t.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
            t.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            t.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
            t.verticalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.summary = QtWidgets.QLabel("")
        self.summary.setProperty("role", "metric")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.matrix, 3)
        lay.addWidget(self.scores, 2)
        lay.addWidget(self.summary)
        lay.addStretch(0)  # takes the room of the tables when they are hidden (regression)
        self.report: dict | None = None
        self._names: list[str] = []
        self._labels: tuple | None = None
        self.scores_hidden = False  # presentation mode hides the score table
        #: the height the panel keeps to for a few classes; more classes get what their rows need
        self.base_height = 300

    def clear(self) -> None:
        self.report = None
        self._names, self._labels = [], None
        self.matrix.clear()
        self.matrix.setRowCount(0)
        self.matrix.setColumnCount(0)
        self.scores.clear()
        self.scores.setRowCount(0)
        self.scores.setColumnCount(0)
        self.summary.setText("")

    def show_report(self, report: dict, class_names: list[str]) -> None:
        """Fill both tables from ``engine.metrics.classification_report`` output."""
        self.report = report
        self.matrix.setVisible(True)
        self.scores.setVisible(not self.scores_hidden)
        cm = np.asarray(report["confusion"])
        c = cm.shape[0]
        names = list(class_names)[:c] + [str(i) for i in range(len(class_names), c)]
        if self.matrix.rowCount() != c or self.scores.rowCount() != c:
            self.matrix.setRowCount(c)
            self.matrix.setColumnCount(c)
            self.scores.setRowCount(c)
            self.scores.setColumnCount(4)
            self.scores.setHorizontalHeaderLabels(["precision", "recall", "F1", "n"])
            self._labels = None  # new rows: label them again
        self._names = names  # (set every time: a class may have been renamed)
        self.fit_rows(c)
        row_sum = cm.sum(axis=1, keepdims=True)
        frac = np.divide(cm, np.maximum(row_sum, 1))
        for i in range(c):
            for j in range(c):
                item = self.matrix.item(i, j)
                if item is None:
                    item = QtWidgets.QTableWidgetItem()
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                    self.matrix.setItem(i, j, item)
                item.setText(str(int(cm[i, j])))
                base = QtGui.QColor(theme.CLASS_COLORS[1] if i == j else theme.CLASS_COLORS[5])
                alpha = int(200 * frac[i, j])
                base.setAlpha(alpha)
                item.setBackground(base)
                item.setForeground(QtGui.QColor("white" if alpha > 120 else theme.FOREGROUND))
        for i in range(c):
            n = report["support"][i]
            values = [format_class_score(report[key][i], n) for key in ("precision", "recall", "f1")] + [str(n)]
            for j, v in enumerate(values):
                item = self.scores.item(i, j)
                if item is None:
                    item = QtWidgets.QTableWidgetItem()
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                    self.scores.setItem(i, j, item)
                item.setText(v)
        present, macro = report.get("classes_present", c), report["macro_f1"]
        macro_text = MISSING if macro != macro else f"{macro:.2f}"
        self.summary.setText(f"accuracy {report['accuracy']:.1%}   macro F1 {macro_text}")
        left_out = c - present
        self.summary.setToolTip(
            f"Accuracy: the share of test points classified right. Macro F1: the mean of the per-class F1 "
            f"over the {present} classes that have test points"
            + (f" ({left_out} class{'es' if left_out != 1 else ''} without test points left out: "
               "nothing to score there)." if left_out else ", every class counting the same however many "
               "points it has."))

    def set_scored_on(self, which: str) -> None:
        """Say which points the scores are of: ``"test"`` or ``"training"`` (no test points)."""
        self.title.setText("TEST SET" if which == "test" else "TRAINING SET (no test points)")

    def refit(self) -> None:
        """Fit the tables to the panel's height again (after the window was resized)."""
        self.fit_rows(self.matrix.rowCount())

    def set_presentation(self, on: bool) -> None:
        """The matrix only (no per-class score table), in a shorter panel."""
        self.scores_hidden = on
        self.scores.setVisible(not on and not self.matrix.isHidden())
        self.set_base_height(190 if on else 300)

    def set_base_height(self, height: int) -> None:
        self.base_height = height
        self.fit_rows(self.matrix.rowCount())

    def _set_headers(self) -> None:
        """Class names on both tables; numbered columns when "→name" does not fit a column."""
        names = self._names
        c = len(names)
        if not c or self.matrix.columnCount() != c:
            return
        col_w = self.matrix.viewport().width() / c
        fm = self.matrix.horizontalHeader().fontMetrics()
        if all(fm.horizontalAdvance(f"→{n}") + 10 <= col_w for n in names):
            labels = (tuple(f"→{n}" for n in names), tuple(names))
        else:  # crowded (many classes, large fonts): the rows say which number is which class
            labels = (tuple(f"→{i}" for i in range(c)), tuple(f"{i} {n}" for i, n in enumerate(names)))
        # columns as narrow as their numbers, so that the matrix never scrolls sideways
        self.matrix.horizontalHeader().setMinimumSectionSize(fm.horizontalAdvance(f"→{c - 1}") + 10)
        if labels != self._labels:
            self._labels = labels
            self.matrix.setHorizontalHeaderLabels(list(labels[0]))
            self.matrix.setVerticalHeaderLabels(list(labels[1]))
            self.scores.setVerticalHeaderLabels(list(labels[1]))

    def fit_rows(self, n_rows: int) -> None:
        """Make room for ``n_rows`` classes, so that 8 classes show without a scroll bar."""
        row_h = self.matrix.fontMetrics().height() + 6
        for t in (self.matrix, self.scores):
            t.verticalHeader().setMinimumSectionSize(row_h)  # rows as low as the text allows
        tables = 1 if self.scores_hidden else 2
        header_h = self.matrix.horizontalHeader().sizeHint().height()
        needed = (self.title.sizeHint().height() + self.summary.sizeHint().height() + 16
                  + tables * (header_h + n_rows * row_h + 8))
        crowded = needed > self.base_height
        # Many rows: both tables need the same height; few: the matrix gets the larger share.
        self.layout().setStretchFactor(self.matrix, 1 if crowded else 3)
        self.layout().setStretchFactor(self.scores, 1 if crowded else 2)
        # A few classes: each table at least as tall as its rows, so that neither scrolls
        # (the shares alone leave the score table a few pixels short on a 800-pixel screen).
        for t in (self.matrix, self.scores):
            rows_h = header_h + n_rows * row_h + 2 * t.frameWidth() + 2
            t.setMinimumHeight(0 if crowded or not n_rows else rows_h)
        self.setMaximumHeight(max(self.base_height, needed))
        # at most 60 % of the column it shares with the network drawing
        column_h = self.parentWidget().height() if self.parentWidget() is not None else 2 * MAX_FORCED_HEIGHT
        self.setMinimumHeight(min(needed, MAX_FORCED_HEIGHT, int(0.6 * column_h)) if crowded else 0)
        self._set_headers()

    def show_regression(self, mse: float, r2: float, n: int) -> None:
        self.clear()
        self.matrix.setVisible(False)
        self.scores.setVisible(False)
        self.summary.setText(f"MSE {mse:.4g}   R² {r2:.3f}   ({n} points)")
        self.summary.setToolTip("Mean squared error of the predicted values, and R²: the share of the values' "
                                "variance the network explains (1 is perfect, 0 is no better than the mean).")
