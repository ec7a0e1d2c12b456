"""The Scaling tab's table: one row per rank count, columns sized to what they show."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from gui.scaling import tips
from remote.sweep import AGGREGATE

#: (header, row key, format, tooltip) of the table's columns
COLUMNS = (
    ("Ranks", "ranks", "{}", "MPI ranks (copies of the program) that trained together."),
    ("Nodes", "nodes", "{}", "Computers the ranks were spread over."),
    ("Batch", "global_batch", "{}", "The global batch: all ranks' shares together.\n\n" + tips.MODE),
    ("Runs", "runs", "{}", tips.REPEAT),
    ("Samples/s", "samples_per_s", "{:,.0f}", tips.SAMPLES_PER_S),
    ("Speedup", "speedup", "{:.2f}", tips.SPEEDUP),
    ("Efficiency", "efficiency", "{:.0%}", tips.EFFICIENCY),
    ("Per rank/s", "per_rank_samples_per_s", "{:,.0f}", tips.PER_RANK),
    ("Compute s", "compute_s", "{:.3g}", tips.COMPUTE),
    ("Comm s", "comm_s", "{:.3g}", tips.COMMUNICATION),
    ("Wait s", "wait_s", "{:.3g}", tips.WAIT),
)


def format_cell(value, fmt: str) -> str:
    """A table cell: ``—`` where the figure is missing."""
    return "—" if value is None else fmt.format(value)


class ScalingTable(QtWidgets.QTableWidget):
    """The rows of :func:`remote.sweep.scaling_rows`, one selectable row per rank count.

    Each column is as wide as its header and figures, and the width left over is shared out
    whenever the table's width changes: equal stretched columns would cut "Samples/s" short
    in presentation mode's large type.
    """

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels([c[0] for c in COLUMNS])
        for i, (_, _, _, tip) in enumerate(COLUMNS):
            self.horizontalHeaderItem(i).setToolTip(tip)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.Interactive)
        self.setToolTip("One row per rank count (the " + AGGREGATE + " of its runs). Choose a row to see its "
                        "per-rank times.")

    def show_rows(self, rows: list[dict]) -> None:
        """Fill the table with ``rows`` (the selection is the caller's)."""
        self.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, (_, key, fmt, _) in enumerate(COLUMNS):
                item = QtWidgets.QTableWidgetItem(format_cell(row.get(key), fmt))
                item.setTextAlignment(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
                self.setItem(i, j, item)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Size the columns to their contents, then spread the spare width evenly."""
        self.resizeColumnsToContents()
        n = self.columnCount()
        spare = self.viewport().width() - sum(self.columnWidth(j) for j in range(n))
        if spare > 0:
            for j in range(n):
                self.setColumnWidth(j, self.columnWidth(j) + spare // n)

    def viewportEvent(self, event) -> bool:  # Qt override: the width to share changed
        if event.type() == QtCore.QEvent.Type.Resize:
            self.fit_columns()
        return super().viewportEvent(event)
