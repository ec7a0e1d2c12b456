"""The Scaling tab: choose a spec, a profile, rank counts and a mode; run the sweep; watch the table and plots fill in.

The sweep itself is :mod:`remote.sweep` (the same code as ``python -m remote sweep``), run by
:class:`gui.scaling.runner.SweepRunner` off the GUI thread. Its jobs are ordinary jobs in the
job store, so the Cluster view lists them too. Every sweep has a folder (``sweep.json``,
``scaling.csv``, ``scaling.json``); "Open sweep…" shows an earlier one and "Resume" finishes
an interrupted one.
"""

from __future__ import annotations

import os
import time

from PySide6 import QtCore, QtWidgets

from engine.spec import FILE_KINDS, RunSpec, SpecError, save_spec
from gui import theme
from gui.errors import UnexpectedError
from gui.scaling import tips
from gui.scaling.plots import EfficiencyBars, RankTimeline, SpeedupPlot
from gui.scaling.reference import course_reference
from gui.scaling.runner import SweepRunner, snapshot
from gui.scaling.table import ScalingTable
from gui.widgets.elided import ElidedLabel
from remote.config import ConfigError, data_dir, load_profiles
from remote.sweep import (
    CSV_NAME, MODES, SweepInputError, SweepState, make_plan, parse_counts, table_csv,
)

RUN_COLUMNS = ("Ranks", "Nodes", "Run", "Job", "State", "Samples/s")


class ScalingView(QtWidgets.QWidget):
    """The Scaling tab (see the module docstring).

    ``spec_provider`` (set by the main window) returns the Playground's current spec;
    ``store_path`` and ``sweeps_dir`` default to the app's job store and data folder.
    """

    def __init__(self, parent=None, config_path: str | None = None, store_path: str | None = None,
                 sweeps_dir: str | None = None):
        super().__init__(parent)
        self.config_path = config_path
        self.store_path = store_path
        self.sweeps_dir = sweeps_dir
        self.spec_provider = None
        self.sweep: SweepState | None = None
        self.rows: list[dict] = []
        self.serial_fraction: float | None = None
        # True from Run until the runner's finished or failed signal: the buttons follow this,
        # not the worker thread's own flag, which drops before those signals arrive.
        self.sweeping = False
        self.runner = SweepRunner(self)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self._build()
        self.reload_profiles()
        self._update_buttons()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        controls = QtWidgets.QGroupBox("Sweep")
        form = QtWidgets.QFormLayout(controls)
        self.spec_edit = QtWidgets.QLineEdit()
        self.spec_edit.setPlaceholderText("a run spec (.json) of a network")
        self.browse_button = QtWidgets.QPushButton("Browse…")
        self.browse_button.clicked.connect(self._on_browse)
        spec_row = QtWidgets.QHBoxLayout()
        spec_row.addWidget(self.spec_edit, 1)
        spec_row.addWidget(self.browse_button)
        form.addRow("Spec", spec_row)
        self.playground_button = QtWidgets.QPushButton("Use the Playground's spec")
        self.playground_button.setToolTip("Save what the Playground shows (data, network, settings) as the sweep's spec.")
        self.playground_button.clicked.connect(self._on_use_playground)
        form.addRow("", self.playground_button)
        self.profile_combo = QtWidgets.QComboBox()
        self.profile_combo.setToolTip("Where the jobs run: this computer (local, with mpirun) or a SLURM cluster.")
        form.addRow("Profile", self.profile_combo)
        self.ranks_edit = QtWidgets.QLineEdit("1,2")
        self.ranks_edit.setToolTip("Rank counts, separated by commas: one job each (e.g. 1,2,4).")
        form.addRow("Ranks", self.ranks_edit)
        self.nodes_edit = QtWidgets.QLineEdit("1")
        self.nodes_edit.setToolTip("Nodes: one count for all rank counts, or one per rank count (e.g. 1,1,2).\n"
                                   "Each must divide its rank count; the local profile has one node.")
        form.addRow("Nodes", self.nodes_edit)
        self.mode_combo = QtWidgets.QComboBox()
        self.mode_combo.addItems(MODES)
        self.mode_combo.setToolTip(tips.MODE)
        for i, tip in enumerate((tips.STRONG, tips.WEAK)):
            self.mode_combo.setItemData(i, tip, QtCore.Qt.ToolTipRole)
        form.addRow("Mode", self.mode_combo)
        self.repeat_spin = QtWidgets.QSpinBox()
        self.repeat_spin.setRange(1, 20)
        self.repeat_spin.setToolTip(tips.REPEAT)
        form.addRow("Runs each", self.repeat_spin)
        buttons = QtWidgets.QGridLayout()
        self.run_button = QtWidgets.QPushButton("Run sweep")
        self.run_button.clicked.connect(self._on_run)
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.stop_button.setToolTip("Stop the sweep: the job in flight is cancelled; finished runs are kept.")
        self.stop_button.clicked.connect(self._on_stop)
        self.open_button = QtWidgets.QPushButton("Open sweep…")
        self.open_button.setToolTip("Show an earlier sweep from its folder (sweep.json).")
        self.open_button.clicked.connect(self._on_open_folder)
        self.resume_button = QtWidgets.QPushButton("Resume")
        self.resume_button.setToolTip("Run the missing runs of the sweep shown; finished runs are not run again.")
        self.resume_button.clicked.connect(self._on_resume)
        buttons.addWidget(self.run_button, 0, 0)
        buttons.addWidget(self.stop_button, 0, 1)
        buttons.addWidget(self.open_button, 1, 0)
        buttons.addWidget(self.resume_button, 1, 1)
        form.addRow(buttons)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        form.addRow(self.status)

        self.runs_table = QtWidgets.QTableWidget(0, len(RUN_COLUMNS))
        self.runs_table.setHorizontalHeaderLabels(RUN_COLUMNS)
        self.runs_table.verticalHeader().setVisible(False)
        self.runs_table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.runs_table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeToContents)
        self.runs_table.setToolTip("Every job of the sweep, one after another (they would spoil each other's "
                                   "timings side by side). They are ordinary jobs: the Cluster view lists them too.")
        left = QtWidgets.QVBoxLayout()
        left.addWidget(controls)
        left.addWidget(QtWidgets.QLabel("Jobs"))
        left.addWidget(self.runs_table, 1)
        left_widget = self.controls_widget = QtWidgets.QWidget()
        left_widget.setLayout(left)
        left_widget.setMinimumWidth(360)
        left_widget.setMaximumWidth(440)

        self.table = ScalingTable()
        self.table.itemSelectionChanged.connect(self._on_row_chosen)

        self.speedup = SpeedupPlot(self)
        self.efficiency = EfficiencyBars(self)
        self.timeline = RankTimeline(self)
        plots = QtWidgets.QHBoxLayout()
        for w in (self.speedup.widget, self.efficiency.widget, self.timeline.widget):
            w.setMinimumHeight(260)
            plots.addWidget(w, 1)
        self.plots_widget = QtWidgets.QWidget()
        self.plots_widget.setLayout(plots)

        self.fraction_label = QtWidgets.QLabel("Serial fraction: —")
        self.fraction_label.setWordWrap(True)
        self.fraction_label.setToolTip(tips.SERIAL_FRACTION)
        self.reference_check = QtWidgets.QCheckBox("Show the course's table (GPUs 1–128)")
        self.reference_check.setToolTip(tips.REFERENCE)
        self.reference_check.toggled.connect(self._on_reference)
        self.export_csv_button = QtWidgets.QPushButton("Export table CSV…")
        self.export_csv_button.clicked.connect(self._on_export_csv)
        self.export_png_button = QtWidgets.QPushButton("Export plots PNG…")
        self.export_png_button.clicked.connect(self._on_export_png)
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(self.fraction_label, 1)
        bar.addSpacing(16)
        bar.addWidget(self.reference_check)
        self.warnings_label = QtWidgets.QLabel("")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setToolTip(tips.STRAGGLER)
        self.warnings_label.setStyleSheet("color: #B3261E;")

        right = QtWidgets.QVBoxLayout()
        # A sweep's folder can be a long path: shortened in the middle, whole in its tooltip,
        # so that it never makes the window wider than a projector's 1280 pixels.
        self.folder_label = ElidedLabel("No sweep yet.")
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.folder_label, 1)
        top.addWidget(self.export_csv_button)
        top.addWidget(self.export_png_button)
        right.addLayout(top)
        right.addWidget(self.table, 2)
        right.addLayout(bar)
        right.addWidget(self.warnings_label)
        right.addWidget(self.plots_widget, 3)
        layout = QtWidgets.QHBoxLayout(self)
        layout.addWidget(left_widget)
        layout.addLayout(right, 1)

    def set_presentation(self, on: bool) -> None:
        """The results for a projector (the main window's View menu): the table and the plots
        fill the tab in large type and thick lines; the sweep's controls and job list are
        hidden until presentation mode ends (a sweep started before goes on filling the table)."""
        self.setStyleSheet(theme.presentation_stylesheet(on))
        self.controls_widget.setVisible(not on)
        for plot in (self.speedup, self.efficiency, self.timeline):
            plot.set_presentation(on)
        # the new type size and width are in place once the layout has run
        QtCore.QTimer.singleShot(0, self.table.fit_columns)

    # ------------------------------------------------------------------ profiles and spec
    def reload_profiles(self) -> None:
        """Fill the profile list from the profile file (``local`` always first)."""
        current = self.profile_combo.currentText()
        try:
            self.profiles = load_profiles(self.config_path)
        except ConfigError as exc:
            self.profiles = {}
            self._say(str(exc), error=True)
        names = sorted(self.profiles, key=lambda n: (n != "local", n))
        self.profile_combo.clear()
        self.profile_combo.addItems(names)
        if current in names:
            self.profile_combo.setCurrentText(current)

    def showEvent(self, event) -> None:  # Qt override
        # Profiles may have been added or changed in the Cluster view meanwhile.
        if not self.sweeping:
            self.reload_profiles()
        super().showEvent(event)

    def _sweeps_dir(self) -> str:
        return self.sweeps_dir or os.path.join(data_dir(), "sweeps")

    def _on_browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Spec to sweep", "", "Run spec (*.json);;All files (*)")
        if path:
            self.spec_edit.setText(path)

    def use_spec(self, spec: RunSpec) -> str:
        """Save ``spec`` (e.g. the Playground's) where sweeps keep their specs and choose it; returns its path."""
        if spec.dataset.kind in FILE_KINDS and spec.dataset.path:
            # The copy lives elsewhere: its data path must not depend on the folder it came from.
            path = os.path.abspath(spec.dataset.resolve_path(spec.base_dir))
            spec = spec.with_(dataset=type(spec.dataset).from_dict({**spec.dataset.to_dict(), "path": path}))
        folder = os.path.join(self._sweeps_dir(), "specs")
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, f"playground-{time.strftime('%Y%m%d-%H%M%S')}.json")
        save_spec(spec, target)
        self.spec_edit.setText(target)
        return target

    def _on_use_playground(self) -> None:
        if self.spec_provider is None:
            self._say("The Playground is not available.", error=True)
            return
        try:
            path = self.use_spec(self.spec_provider())
        except (SpecError, OSError) as exc:
            self._say(f"The Playground's spec cannot be used: {exc}", error=True)
            return
        self._say(f"Using the Playground's spec, saved as {path}.")

    # ------------------------------------------------------------------ running
    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #B3261E;" if error else "")

    def _update_buttons(self) -> None:
        running = self.sweeping
        for w in (self.run_button, self.open_button, self.browse_button, self.playground_button):
            w.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.resume_button.setEnabled(not running and self.sweep is not None and bool(self.sweep.pending))
        self.export_csv_button.setEnabled(bool(self.rows))
        self.export_png_button.setEnabled(bool(self.rows))

    def _on_run(self) -> None:
        """Check the request completely (one line when it cannot run), create its folder, start it."""
        name = self.profile_combo.currentText()
        try:
            spec_path = self.spec_edit.text().strip()
            if not spec_path:
                raise SweepInputError("Choose a spec file first (or use the Playground's).")
            if name not in self.profiles:
                raise SweepInputError("Choose a profile first.")
            ranks = parse_counts(self.ranks_edit.text(), "ranks")
            nodes = parse_counts(self.nodes_edit.text(), "nodes")
            plan = make_plan(spec_path, self.profiles[name], ranks, nodes, mode=self.mode_combo.currentText(),
                             repeat=self.repeat_spin.value())
            sweep = SweepState.create(plan, root=self._sweeps_dir())
        except (SweepInputError, SpecError, OSError) as exc:
            self._say(str(exc) if not isinstance(exc, OSError) else f"{exc.filename or ''}: {exc.strerror or exc}",
                      error=True)
            return
        self._start(sweep)

    def _start(self, sweep: SweepState) -> None:
        self.sweep = sweep
        self.folder_label.setText(f"Sweep folder: {sweep.folder}")
        self._show(snapshot(sweep))
        self._say(f"Running {len(sweep.pending)} job(s) on {sweep.plan.profile}…")
        self.sweeping = True
        self.runner.start(self.profiles[sweep.plan.profile], sweep, self.store_path)
        self._update_buttons()

    def _on_stop(self) -> None:
        self._say("Stopping: cancelling the job in flight…")
        self.runner.stop()

    def _on_open_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Sweep folder", self._sweeps_dir())
        if folder:
            self.open_sweep(folder)

    def open_sweep(self, folder: str) -> bool:
        """Show the sweep in ``folder`` (its table and plots); False with the reason shown when it cannot be read."""
        try:
            sweep = SweepState.load(folder)
        except SweepInputError as exc:
            self._say(str(exc), error=True)
            return False
        self.sweep = sweep
        self.folder_label.setText(f"Sweep folder: {sweep.folder}")
        self.spec_edit.setText(sweep.plan.spec_path)
        self._show(snapshot(sweep))
        left = len(sweep.pending)
        self._say(f"{len(sweep.runs) - left} of {len(sweep.runs)} runs finished" + (": Resume runs the rest."
                                                                                      if left else "."))
        self._update_buttons()
        return True

    def _on_resume(self) -> None:
        if self.sweep is None:
            return
        if self.sweep.plan.profile not in self.profiles:
            self._say(f"The sweep runs on profile {self.sweep.plan.profile!r}, which no longer exists.", error=True)
            return
        try:
            sweep = SweepState.load(self.sweep.folder)  # the spec must be unchanged
        except SweepInputError as exc:
            self._say(str(exc), error=True)
            return
        self._start(sweep)

    # ------------------------------------------------------------------ progress
    def _on_progress(self, snap: dict) -> None:
        self._show(snap)
        run = snap.get("run")
        if run is not None and snap["kind"] in ("submitted", "state", "finished"):
            self._say(f"Job {run['job_id']} ({run['ranks']} ranks, {run['nodes']} node"
                      f"{'s' if run['nodes'] != 1 else ''}): {run['state']}")
        elif snap["kind"] == "message":
            self._say(snap["message"])

    def _on_finished(self, complete: bool) -> None:
        self.sweeping = False
        self._update_buttons()
        if self.sweep is None:
            return
        if complete:
            self._say(f"Done: every job completed. {CSV_NAME} is in {self.sweep.folder}")
        else:
            states = ", ".join(f"{r.ranks} ranks: {r.state}" for r in self.sweep.pending)
            self._say(f"Not every job completed ({states}). The finished runs are kept: Resume runs the rest.",
                      error=True)

    def _on_failed(self, exc: BaseException) -> None:
        self.sweeping = False
        self._update_buttons()
        if isinstance(exc, UnexpectedError):
            self._say("The sweep stopped on an unexpected error (see the message box); finished runs are kept.",
                      error=True)
        else:
            self._say(f"{exc}. The finished runs are kept: Resume runs the rest.", error=True)

    def _show(self, snap: dict) -> None:
        """Fill the jobs table, the scaling table and every plot from one snapshot."""
        runs = snap["runs"]
        self.runs_table.setRowCount(len(runs))
        for i, run in enumerate(runs):
            rate = run.get("samples_per_s")
            values = (run["ranks"], run["nodes"], run["repeat"] + 1, run["job_id"] or "—", run["state"],
                      "—" if rate is None else f"{rate:,.0f}")
            for j, v in enumerate(values):
                self.runs_table.setItem(i, j, QtWidgets.QTableWidgetItem(str(v)))
        chosen = self.table.currentRow()
        # Follow the newest row unless the user chose an earlier one.
        following = chosen < 0 or chosen == len(self.rows) - 1
        self.rows = snap["rows"]
        self.serial_fraction = snap["serial_fraction"]
        self.table.show_rows(self.rows)
        self.speedup.set_rows(self.rows, self.serial_fraction)
        self.efficiency.set_rows(self.rows)
        f = self.serial_fraction
        self.fraction_label.setText("Serial fraction: —" if f is None else
                                    f"Serial fraction (Amdahl fit): {f:.3f}, so at most "
                                    f"{'unlimited' if f == 0 else f'{1 / f:.3g}x'} speedup")
        warnings = [f"{row['ranks']} ranks: {w}" for row in self.rows for w in row.get("warnings", ())]
        self.warnings_label.setText("Straggler warnings: " + "; ".join(warnings) if warnings else "")
        if self.rows:
            self.table.selectRow(len(self.rows) - 1 if following or chosen >= len(self.rows) else chosen)
        self._on_row_chosen()
        self._update_buttons()

    def _on_row_chosen(self) -> None:
        i = self.table.currentRow()
        self.timeline.set_row(self.rows[i] if 0 <= i < len(self.rows) else None)

    def _on_reference(self, on: bool) -> None:
        self.speedup.set_reference(course_reference() if on else None)

    # ------------------------------------------------------------------ export
    def _on_export_csv(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export scaling table", "scaling.csv", "CSV (*.csv)")
        if not path:
            return
        try:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(table_csv(self.rows))
        except OSError as exc:
            self._say(f"{path}: {exc.strerror or exc}", error=True)
            return
        self._say(f"Table written to {path}")

    def _on_export_png(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export plots", "scaling.png", "PNG image (*.png)")
        if not path:
            return
        if not self.plots_widget.grab().save(path, "PNG"):
            self._say(f"{path}: the picture could not be written", error=True)
            return
        self._say(f"Plots written to {path}")

    def shutdown(self) -> None:
        """Closing the window stops the sweep: the job in flight is cancelled, finished runs are kept."""
        if self.runner.running:
            self.runner.stop(wait_s=10.0)
