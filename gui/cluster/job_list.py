"""The list of jobs the store knows: a table model over ``remote.store.JobStore`` and its panel.

:class:`JobListModel` holds one row per stored job, in the store's order (newest first).
A monitor event changes one job: :meth:`JobListModel.update_job` re-reads that row and
tells the view which cells changed (or inserts the row where the store's order puts it),
so the list is never rebuilt while the user looks at it and the selection stays put.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from remote.store import JobStore, StoredJob

COLUMNS = ("Job", "State", "Profile")
KEY_ROLE = QtCore.Qt.ItemDataRole.UserRole


def job_label(job: StoredJob) -> str:
    return job.job_id + (f" {job.name}" if job.name else "")


class JobListModel(QtCore.QAbstractTableModel):
    """The store's jobs as rows ``Job | State | Profile``; ``KEY_ROLE`` gives ``(profile, job_id)``."""

    def __init__(self, store: JobStore, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.store = store
        self.jobs: list[StoredJob] = []
        self.reload()

    # ------------------------------------------------------------------ data in

    def set_store(self, store: JobStore) -> None:
        self.store = store
        self.reload()

    def reload(self) -> None:
        """Read every job again (on start, or for another store)."""
        self.beginResetModel()
        self.jobs = self.store.jobs()
        self.endResetModel()

    def row_of(self, profile: str, job_id: str) -> int:
        return next((i for i, j in enumerate(self.jobs) if (j.profile, j.job_id) == (profile, job_id)), -1)

    def update_job(self, profile: str, job_id: str) -> None:
        """Re-read one job: its changed cells are redrawn, a new job is inserted, a forgotten one removed."""
        job = self.store.get(profile, job_id)
        row = self.row_of(profile, job_id)
        if job is None:
            if row >= 0:
                self.beginRemoveRows(QtCore.QModelIndex(), row, row)
                del self.jobs[row]
                self.endRemoveRows()
            return
        if row >= 0:
            self.jobs[row] = job
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
            return
        order = [(j.profile, j.job_id) for j in self.store.jobs()]
        position = order.index((profile, job_id)) if (profile, job_id) in order else 0
        before = {key for key in order[:position]}
        row = sum(1 for j in self.jobs if (j.profile, j.job_id) in before)
        self.beginInsertRows(QtCore.QModelIndex(), row, row)
        self.jobs.insert(row, job)
        self.endInsertRows()

    # ------------------------------------------------------------------ Qt model

    def rowCount(self, parent=QtCore.QModelIndex()) -> int:  # Qt override
        return 0 if parent.isValid() else len(self.jobs)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:  # Qt override
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=QtCore.Qt.ItemDataRole.DisplayRole):  # Qt override
        if role == QtCore.Qt.ItemDataRole.DisplayRole and orientation == QtCore.Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index, role=QtCore.Qt.ItemDataRole.DisplayRole):  # Qt override
        if not index.isValid():
            return None
        job = self.jobs[index.row()]
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return (job_label(job), job.state, job.profile)[index.column()]
        if role == KEY_ROLE:
            return (job.profile, job.job_id)
        if role == QtCore.Qt.ItemDataRole.ToolTipRole and index.column() == 0:
            ranks = f", {job.ntasks} ranks" if job.ntasks else ""
            return f"{job.kind} job{ranks}\n{job.job_dir or job.output_path}"
        return None


class JobList(QtWidgets.QWidget):
    """The "Jobs" panel: the list, "Watch a job…" and "Forget".

    Signals
    -------
    job_selected(str, str)
        ``(profile, job_id)`` the user picked.
    watch_requested()
    forget_requested()
    """

    job_selected = QtCore.Signal(str, str)
    watch_requested = QtCore.Signal()
    forget_requested = QtCore.Signal()

    def __init__(self, store: JobStore, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.model = JobListModel(store, self)
        self.view = QtWidgets.QTreeView()
        self.view.setModel(self.model)
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        self.view.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._quiet = False
        self.watch_button = QtWidgets.QPushButton("Watch a job…")
        self.watch_button.setToolTip("Follow a job by id, also one submitted outside ScaleLab.")
        self.watch_button.clicked.connect(self.watch_requested)
        self.forget_button = QtWidgets.QPushButton("Forget")
        self.forget_button.setToolTip("Remove the job and its records from this list (the job itself is untouched).")
        self.forget_button.clicked.connect(self.forget_requested)
        heading = QtWidgets.QLabel("Jobs")
        heading.setProperty("role", "heading")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(heading)
        lay.addWidget(self.view, 1)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.watch_button)
        row.addWidget(self.forget_button)
        lay.addLayout(row)

    def row_texts(self) -> list[tuple[str, str, str]]:
        """What each row shows, top to bottom: ``(job, state, profile)``."""
        return [tuple(self.model.index(r, c).data() for c in range(len(COLUMNS)))
                for r in range(self.model.rowCount())]

    def select(self, profile: str, job_id: str) -> None:
        """Mark the job shown elsewhere as selected, without asking to show it again."""
        row = self.model.row_of(profile, job_id)
        self._quiet = True
        try:
            if row < 0:
                self.view.clearSelection()
            else:
                self.view.setCurrentIndex(self.model.index(row, 0))
        finally:
            self._quiet = False

    def clear_selection(self) -> None:
        self.view.clearSelection()

    def _on_selection_changed(self, *_) -> None:
        rows = self.view.selectionModel().selectedRows()
        if rows and not self._quiet:
            self.job_selected.emit(*rows[0].data(KEY_ROLE))


__all__ = ["COLUMNS", "JobList", "JobListModel", "job_label"]
