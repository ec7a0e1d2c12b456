"""The queue of a profile's cluster: one row per job, filters, sort, refresh and cancel.

Rows are :class:`remote.slurm.QueueEntry` values from ``squeue``; the table never talks to
the cluster itself. It asks for a refresh or a cancel with signals and is given new rows
with :meth:`QueueTable.set_entries`.
"""

from __future__ import annotations

import time

from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from remote.slurm import FINISHED_STATES, QueueEntry, explain_reason, job_id_key, slurm_time_s, time_to_seconds

COLUMNS = ("ID", "Name", "User", "State", "Partition", "Nodes", "Elapsed / limit", "Reason / nodes")
STATE_FILTERS = ("all states", "queued or running", "pending", "running", "finished")
STATE_COLORS = {
    "PENDING": "#8A6D00",
    "RUNNING": theme.CLASS_COLORS[2],
    "COMPLETED": theme.POSITIVE_COLOR,
    "COMPLETING": theme.POSITIVE_COLOR,
    "FAILED": theme.ERROR_COLOR,
    "TIMEOUT": theme.ERROR_COLOR,
    "OUT_OF_MEMORY": theme.ERROR_COLOR,
    "NODE_FAIL": theme.ERROR_COLOR,
    "CANCELLED": theme.MUTED,
}
SORT_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1


def reason_text(entry: QueueEntry) -> str:
    """What the last column says: why a pending job waits (plain words), else its nodes."""
    if entry.state == "PENDING":
        if not entry.reason or entry.reason == "None":
            # squeue shows "(None)" until the scheduler's next pass has looked at a new job.
            return "Just submitted: SLURM has not looked at it yet."
        return explain_reason(entry.reason)
    if entry.reason and entry.state not in ("RUNNING", "COMPLETING"):
        return explain_reason(entry.reason)
    return entry.nodelist


class QueueModel(QtCore.QAbstractTableModel):
    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.entries: list[QueueEntry] = []
        self.id_order: dict[str, int] = {}

    def set_entries(self, entries: list[QueueEntry]) -> None:
        self.beginResetModel()
        self.entries = list(entries)
        # Qt compares plain values: each id's place in remote.slurm's one job-id order.
        ids = sorted({e.job_id for e in self.entries}, key=job_id_key)
        self.id_order = {job_id: i for i, job_id in enumerate(ids)}
        self.endResetModel()

    def rowCount(self, parent=QtCore.QModelIndex()) -> int:  # Qt override
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:  # Qt override
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=QtCore.Qt.ItemDataRole.DisplayRole):  # Qt override
        if role == QtCore.Qt.ItemDataRole.DisplayRole and orientation == QtCore.Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index, role=QtCore.Qt.ItemDataRole.DisplayRole):  # Qt override
        if not index.isValid():
            return None
        e = self.entries[index.row()]
        col = index.column()
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return e.job_id
            if col == 1:
                return e.name
            if col == 2:
                return e.user
            if col == 3:
                return e.state
            if col == 4:
                return e.partition
            if col == 5:
                return "" if e.nodes is None else str(e.nodes)
            if col == 6:
                return f"{e.elapsed} / {e.time_limit}"
            if col == 7:
                return reason_text(e)
        if role == SORT_ROLE:
            if col == 0:
                return self.id_order.get(e.job_id, -1)
            if col == 5:
                return e.nodes or 0
            if col == 6:
                return e.elapsed_s or 0
            return str(self.data(index, QtCore.Qt.ItemDataRole.DisplayRole) or "").lower()
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            if col == 7 and e.reason:
                return f"SLURM reason: {e.reason}\n{explain_reason(e.reason)}"
            if col == 6:
                return f"Running for {e.elapsed} of at most {e.time_limit} (SLURM stops it at the limit)."
            if col == 3:
                return queue_times_text(e)
        if role == QtCore.Qt.ItemDataRole.ForegroundRole and col == 3:
            color = STATE_COLORS.get(e.state)
            return QtGui.QBrush(QtGui.QColor(color)) if color else None
        return None


def _clock_of(seconds: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds)) if seconds else ""


def queue_times_text(e) -> str:
    """SLURM's submit, start (or expected start) and end times of a queue entry, in words."""
    parts = [f"Submitted {_clock_of(e.submit_s) or '?'}"]
    if e.state == "PENDING":
        expected = slurm_time_s(e.start_time)
        parts.append(f"expected to start {_clock_of(expected)} (SLURM's estimate)" if expected
                     else "start not known yet")
    elif e.start_s:
        parts.append(f"started {_clock_of(e.start_s)}")
    elif e.finished:
        parts.append("never started")
    if e.end_s:
        parts.append(f"ended {_clock_of(e.end_s)}")
    return "; ".join(parts)


class QueueFilter(QtCore.QSortFilterProxyModel):
    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.state_filter = "all states"
        self.user: str | None = None
        self.setSortRole(SORT_ROLE)

    def set_state_filter(self, which: str) -> None:
        self._change_filter(lambda: setattr(self, "state_filter", which))

    def set_user(self, user: str | None) -> None:
        self._change_filter(lambda: setattr(self, "user", user or None))

    def _change_filter(self, change) -> None:
        # Qt 6.10 replaced invalidateFilter() with begin/endFilterChange().
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            change()
            self.endFilterChange()
        else:
            change()
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent) -> bool:  # Qt override
        e: QueueEntry = self.sourceModel().entries[row]
        if self.user and e.user != self.user:
            return False
        if self.state_filter == "queued or running":
            return e.state not in FINISHED_STATES
        if self.state_filter == "pending":
            return e.state == "PENDING"
        if self.state_filter == "running":
            return e.state in ("RUNNING", "COMPLETING", "CONFIGURING")
        if self.state_filter == "finished":
            return e.state in FINISHED_STATES
        return True


class QueueTable(QtWidgets.QWidget):
    """The queue, with "mine / all", a state filter, "last updated", refresh and cancel.

    Signals
    -------
    refresh_requested()
    cancel_requested(str)
        A job id the user confirmed to cancel.
    job_activated(str)
        A job id double-clicked (open it in the job view).
    scope_changed(bool)
        ``True`` for "my jobs", ``False`` for everyone's.
    """

    refresh_requested = QtCore.Signal()
    cancel_requested = QtCore.Signal(str)
    job_activated = QtCore.Signal(str)
    scope_changed = QtCore.Signal(bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.model = QueueModel(self)
        self.proxy = QueueFilter(self)
        self.proxy.setSourceModel(self.model)
        self.view = QtWidgets.QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, QtCore.Qt.SortOrder.DescendingOrder)
        self.view.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.setAlternatingRowColors(True)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(7, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.view.doubleClicked.connect(self._on_double_clicked)
        self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)

        self.scope_combo = QtWidgets.QComboBox()
        self.scope_combo.addItems(["my jobs", "all jobs"])
        self.scope_combo.setToolTip("Show only your own jobs, or everyone's on this cluster.")
        self.scope_combo.currentIndexChanged.connect(self._on_scope_changed)
        self.state_combo = QtWidgets.QComboBox()
        self.state_combo.addItems(STATE_FILTERS)
        self.state_combo.currentTextChanged.connect(self.proxy.set_state_filter)
        self.updated_label = QtWidgets.QLabel("not updated yet")
        self.updated_label.setProperty("role", "hint")
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.refresh_button.setToolTip("Ask the cluster now instead of waiting for the next poll.")
        self.refresh_button.clicked.connect(self.refresh_requested)
        self.cancel_button = QtWidgets.QPushButton("Cancel job…")
        self.cancel_button.setToolTip("scancel the selected job (asks first).")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.error_label = QtWidgets.QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {theme.ERROR_COLOR};")
        self.error_label.setVisible(False)

        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(self.scope_combo)
        bar.addWidget(self.state_combo)
        bar.addStretch(1)
        bar.addWidget(self.updated_label)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.cancel_button)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.error_label)
        lay.addWidget(self.view, 1)
        self._updated_at: float | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._update_age)
        self._timer.start()

    # ------------------------------------------------------------------ data in

    @property
    def mine_only(self) -> bool:
        return self.scope_combo.currentIndex() == 0

    def set_entries(self, entries: list[QueueEntry], updated_at: float | None = None) -> None:
        selected = self.selected_job_id()
        self.model.set_entries(entries)
        self._updated_at = time.time() if updated_at is None else updated_at
        self.error_label.setVisible(False)
        self._update_age()
        if selected:
            self.select_job(selected)
        self._on_selection_changed()

    def set_error(self, message: str) -> None:
        """The last refresh failed: say why, keep the rows already shown."""
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def set_user(self, user: str | None) -> None:
        """Who "my jobs" means (the profile's login); squeue output is filtered by it too."""
        self.proxy.set_user(user if self.mine_only else None)
        self._user = user

    def visible_job_ids(self) -> list[str]:
        return [self.proxy.index(r, 0).data() for r in range(self.proxy.rowCount())]

    def row_of(self, job_id: str) -> int:
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, 0).data() == job_id:
                return r
        return -1

    def cell_text(self, job_id: str, column: int) -> str:
        r = self.row_of(job_id)
        return "" if r < 0 else str(self.proxy.index(r, column).data() or "")

    def select_job(self, job_id: str) -> bool:
        r = self.row_of(job_id)
        if r < 0:
            return False
        self.view.selectRow(r)
        return True

    def selected_job_id(self) -> str | None:
        rows = self.view.selectionModel().selectedRows() if self.view.selectionModel() else []
        if not rows:
            return None
        return self.proxy.index(rows[0].row(), 0).data()

    # ------------------------------------------------------------------ handlers

    def _update_age(self) -> None:
        if self._updated_at is None:
            return
        age = max(0, int(time.time() - self._updated_at))
        stamp = time.strftime("%H:%M:%S", time.localtime(self._updated_at))
        self.updated_label.setText(f"last updated {stamp} ({age} s ago)")

    def _on_scope_changed(self, index: int) -> None:
        self.proxy.set_user(getattr(self, "_user", None) if index == 0 else None)
        self.scope_changed.emit(index == 0)

    def _on_selection_changed(self, *_) -> None:
        job_id = self.selected_job_id()
        entry = next((e for e in self.model.entries if e.job_id == job_id), None)
        self.cancel_button.setEnabled(entry is not None and entry.state not in FINISHED_STATES)

    def _on_double_clicked(self, index) -> None:
        job_id = self.proxy.index(index.row(), 0).data()
        if job_id:
            self.job_activated.emit(job_id)

    def _on_cancel_clicked(self) -> None:
        from gui.cluster.dialogs import confirm

        job_id = self.selected_job_id()
        if not job_id:
            return
        entry = next((e for e in self.model.entries if e.job_id == job_id), None)
        name = f" ({entry.name})" if entry and entry.name else ""
        if confirm(self, "Cancel job", f"Cancel job {job_id}{name}? SLURM stops it at once; "
                   "what it wrote so far stays in its folder.", "Cancel the job"):
            self.cancel_requested.emit(job_id)


def time_limit_seconds(entry: QueueEntry) -> int | None:
    return time_to_seconds(entry.time_limit)
