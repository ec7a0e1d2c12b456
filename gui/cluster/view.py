"""The Cluster view: compose and submit jobs, watch the queue, follow runs live, compare them.

Everything that touches the network or a job folder runs in a worker thread through
:class:`~gui.cluster.connections.ConnectionManager` (one backend per profile, host-key and
password dialogs on the GUI thread) and :class:`~gui.cluster.polling.ProfilePoller` (the
monitor's gentle polling). The view keeps no job state of its own: tracked jobs, their
states and their records live in ``remote.store.JobStore``, so closing and reopening the
app continues where it was.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace

from PySide6 import QtCore, QtWidgets

from engine.fileio import atomic_write
from engine.spec import RunSpec, SpecError, load_spec
from gui import theme, workers
from gui.cluster.compare import CompareView, Run, run_label
from gui.cluster.connections import ConnectionManager
from gui.cluster.dialogs import confirm
from gui.cluster.job_form import JobForm
from gui.cluster.job_view import JobView
from gui.cluster.polling import ProfilePoller
from gui.cluster.profiles import DoctorDialog, ProfileBar, ProfileEditor
from gui.cluster.queue_table import QueueTable
from gui.cluster.script_preview import ScriptPreview
from gui.cluster.templates import TemplateError, list_templates, save_template
from remote.backend import Backend
from remote.bundle import build_bundle, job_folder_name
from remote.config import (
    LOCAL_PROFILE, ConfigError, Profile, data_dir, load_profiles, local_profile, save_profiles,
)
from remote.jobs import (
    MODEL_NAME,
    FetchError,
    JobError,
    JobOptions,
    SlurmScheduler,
    cancel_job,
    check_job_id,
    describe_job,
    fetch_job,
    submit_bundle,
)
from remote.logparse import parse_metrics_file
from remote.slurm import DIRECTIVE_HELP, JobDescription, SlurmInputError, render_job_script
from remote.store import JobStore, StoreError, StoredJob

# SLURM-only form fields: the local profile runs ``bash job.sh`` and ignores them.
_SLURM_ONLY = ("nodes", "ntasks_per_node", "cpus_per_task", "gpus", "time", "partition", "account",
               "reservation", "qos", "mem", "mail_user", "mail_type")
OUTPUT_TAIL_BYTES = 64 * 1024
OUTPUT_POLL_MS = 3000


def description_for(profile: Profile, job_dir: str, values: dict, spec_name: str = "job") -> JobDescription:
    """The job description for ``profile`` with the job form's ``values`` laid over it.

    ``remote.jobs.describe_job`` decides launcher, Python, setup lines and (for the local
    profile) the ``mpirun`` arguments; the form decides the sbatch options.
    """
    options = JobOptions(
        ntasks=values.get("ntasks") or 1, nodes=values.get("nodes"), time=values.get("time") or "",
        partition=values.get("partition", ""), job_name=values.get("job_name", ""), gpus=values.get("gpus"),
        account=values.get("account", ""), reservation=values.get("reservation", ""), qos=values.get("qos", ""),
        mem=values.get("mem", ""), cpus_per_task=values.get("cpus_per_task"),
    )
    desc = describe_job(profile, job_dir, options, spec_name)
    if not profile.is_local:
        desc = replace(desc, ntasks_per_node=values.get("ntasks_per_node"), mail_user=values.get("mail_user", ""),
                       mail_type=values.get("mail_type", ""))
    return desc


def spec_summary(spec: RunSpec | None, source: str) -> str:
    if spec is None:
        return "No spec yet: use “Run on cluster…” in the Playground, or open a saved spec file."
    m = spec.model
    where = f" ({os.path.basename(source)})" if source else ""
    data = spec.dataset.kind + (f" {os.path.basename(spec.dataset.path)}" if spec.dataset.path else "")
    if not m.is_network:
        gamma = m.gamma if isinstance(m.gamma, str) else f"{m.gamma:g}"
        return f"Spec{where}: {data} data, SVM {m.kernel} kernel, C {m.C:g}, gamma {gamma}, one-vs-one"
    arch = f"{m.kind}" + (f" {list(m.hidden)} {m.activation}" if m.kind == "mlp" else "")
    return (f"Spec{where}: {spec.dataset.kind} data, {arch}, {spec.train.epochs} epochs, "
            f"batch {spec.train.batch_size}, {spec.train.optimizer}")


def default_fetch_dir() -> str:
    return os.path.join(data_dir(), "fetched")


def _remembered_profile_file() -> str:
    return os.path.join(data_dir(), "cluster-view.json")


def read_remembered_profile() -> str:
    """The profile picked when the Cluster view was last used ("" when none or unreadable)."""
    try:
        with open(_remembered_profile_file(), encoding="utf-8") as fh:
            value = json.load(fh).get("profile", "")
    except (OSError, ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def remember_profile(name: str) -> None:
    """Keep ``name`` as the profile to pick next time (a failure to write is no error)."""
    path = _remembered_profile_file()
    try:
        atomic_write(path, json.dumps({"profile": name}), make_dirs=True)
    except OSError:
        pass


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text) or "job"


class WatchJobDialog(QtWidgets.QDialog):
    """Follow any job by id: its state, and curves from its output or metrics file."""

    def __init__(self, profile: str, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Watch a job on {profile}")
        self.id_edit = QtWidgets.QLineEdit()
        self.id_edit.setPlaceholderText("e.g. 123456")
        self.output_edit = QtWidgets.QLineEdit()
        self.output_edit.setPlaceholderText("e.g. ~/runs/slurm-123456.out (optional)")
        self.metrics_edit = QtWidgets.QLineEdit()
        self.metrics_edit.setPlaceholderText("metrics.jsonl, a Keras CSVLogger file… (optional)")
        text = QtWidgets.QLabel("Any job can be followed, also one not submitted from here. Curves are drawn from "
                                "the metrics file, else from the output file when it holds Keras progress lines "
                                "(loss: … - val_loss: …).")
        text.setWordWrap(True)
        self.error_label = QtWidgets.QLabel()
        self.error_label.setStyleSheet(f"color: {theme.ERROR_COLOR};")
        form = QtWidgets.QFormLayout()
        form.addRow("Job id", self.id_edit)
        form.addRow("Output file", self.output_edit)
        form.addRow("Metrics file", self.metrics_edit)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(text)
        lay.addLayout(form)
        lay.addWidget(self.error_label)
        lay.addWidget(buttons)

    def values(self) -> tuple[str, str, str]:
        return self.id_edit.text().strip(), self.output_edit.text().strip(), self.metrics_edit.text().strip()

    def _on_accept(self) -> None:
        job_id, output, metrics = self.values()
        try:
            check_job_id(job_id)
        except JobError as exc:
            self.error_label.setText(str(exc))
            return
        for path in (output, metrics):
            if any(c in path for c in "\n\r\0"):
                self.error_label.setText("a file path must be one line")
                return
        self.accept()


class ClusterView(QtWidgets.QWidget):
    """Compose, submit, watch and compare jobs on the profiles' clusters (and this computer).

    Parameters
    ----------
    parent : QWidget, optional
    config_path : str, optional
        Profile file (default: ``remote.config``'s search order).
    store : JobStore, optional
        The job store (default: the user's ``jobs.sqlite``).

    Signals
    -------
    open_model_requested(str)
        A fetched ``model.npz`` to open in the Playground.
    job_submitted(str, str)
        ``(profile, job_id)`` after a successful submit.
    """

    open_model_requested = QtCore.Signal(str)
    job_submitted = QtCore.Signal(str, str)

    def __init__(self, parent: QtWidgets.QWidget | None = None, config_path: str | None = None,
                 store: JobStore | None = None):
        super().__init__(parent)
        self.config_path = config_path
        self.store_error = ""
        if store is None:
            try:
                store = JobStore()
            except StoreError as exc:
                self.store_error = str(exc)
                store = JobStore(":memory:")
        self.store = store
        self.profiles: dict[str, Profile] = {}
        self.config_error = ""
        # Network operations mostly wait; on a 2-core laptop the shared pool has 2 threads, and a
        # slow login must never keep the Playground's training worker from starting.
        pool = QtCore.QThreadPool.globalInstance()
        pool.setMaxThreadCount(max(pool.maxThreadCount(), 8))
        self.connections = ConnectionManager(self)
        self.pollers: dict[str, ProfilePoller] = {}
        self.workdirs: dict[str, str] = {}
        self.spec: RunSpec | None = None
        self.spec_source = ""
        self.folder_name = job_folder_name("scalelab")
        self._folder_job_name = "scalelab"
        self.shown_job: tuple[str, str] | None = None
        self.output_offsets: dict[tuple[str, str], int] = {}
        self._tail_busy = False
        self.fetch_root = default_fetch_dir()
        self.last_submit_error = ""
        self._closed = False
        self._resumed = False
        self._compare_counts: dict[str, int] = {}
        self._remember_profile = True

        self._build()
        self.setStyleSheet(theme.stylesheet())
        self.connections.state_changed.connect(self._on_connection_state_changed)
        self.reload_profiles()
        remembered = read_remembered_profile()
        if remembered in self.profiles:
            # Someone who opens the app to keep an eye on a cluster finds it picked already.
            self.profile_bar.blockSignals(True)
            self.profile_bar.select(remembered)
            self.profile_bar.blockSignals(False)
        self._refresh_job_list()
        self._on_profile_selected(self.profile_bar.current())
        self._tail_timer = QtCore.QTimer(self)
        self._tail_timer.setInterval(OUTPUT_POLL_MS)
        self._tail_timer.timeout.connect(self._on_tail_timer)
        self._tail_timer.start()
        self._clock = QtCore.QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self.job_view.tick)
        self._clock.start()
        if self.store_error:
            self.status.setText(f"Job store unavailable, nothing is remembered this session: {self.store_error}")

    # ================================================================== layout

    def _build(self) -> None:
        self.profile_bar = ProfileBar()
        self.profile_bar.profile_selected.connect(self._on_profile_selected)
        self.profile_bar.add_requested.connect(self._on_add_profile)
        self.profile_bar.edit_requested.connect(self._on_edit_profile)
        self.profile_bar.delete_requested.connect(self._on_delete_profile)
        self.profile_bar.check_requested.connect(self._on_check_profile)
        self.profile_bar.connect_requested.connect(self.connect_profile)

        # -- left: tracked jobs
        self.job_list = QtWidgets.QTreeWidget()
        self.job_list.setHeaderLabels(["Job", "State", "Profile"])
        self.job_list.setRootIsDecorated(False)
        self.job_list.setUniformRowHeights(True)
        header = self.job_list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.job_list.itemSelectionChanged.connect(self._on_job_list_selection)
        self.watch_button = QtWidgets.QPushButton("Watch a job…")
        self.watch_button.setToolTip("Follow a job by id, also one submitted outside ScaleLab.")
        self.watch_button.clicked.connect(self._on_watch_job)
        self.forget_button = QtWidgets.QPushButton("Forget")
        self.forget_button.setToolTip("Remove the job and its records from this list (the job itself is untouched).")
        self.forget_button.clicked.connect(self._on_forget_job)
        jobs_heading = QtWidgets.QLabel("Jobs")
        jobs_heading.setProperty("role", "heading")
        left = QtWidgets.QWidget()
        left_lay = QtWidgets.QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        left_lay.addWidget(jobs_heading)
        left_lay.addWidget(self.job_list, 1)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.watch_button)
        row.addWidget(self.forget_button)
        left_lay.addLayout(row)

        # -- compose tab
        self.spec_label = QtWidgets.QLabel(spec_summary(None, ""))
        self.spec_label.setWordWrap(True)
        self.open_spec_button = QtWidgets.QPushButton("Open spec file…")
        self.open_spec_button.clicked.connect(self._on_open_spec)
        self.template_combo = QtWidgets.QComboBox()
        self.template_combo.setToolTip("Start the form from a saved template.")
        self.template_combo.activated.connect(self._on_template_chosen)
        self.save_template_button = QtWidgets.QPushButton("Save as template…")
        self.save_template_button.clicked.connect(self._on_save_template)
        self.form = JobForm()
        self.form.describe = self._form_description
        self.form.changed.connect(self._on_form_changed)
        self.preview = ScriptPreview(DIRECTIVE_HELP)
        self.preview.regenerate_requested.connect(self._update_preview)
        self.submit_button = QtWidgets.QPushButton("Submit job")
        self.submit_button.setProperty("role", "primary")
        self.submit_button.setMinimumHeight(34)
        self.submit_button.clicked.connect(self.submit)
        self.submit_result = QtWidgets.QPlainTextEdit()
        self.submit_result.setReadOnly(True)
        self.submit_result.setMaximumHeight(90)
        self.submit_result.setVisible(False)
        spec_row = QtWidgets.QHBoxLayout()
        spec_row.addWidget(self.spec_label, 1)
        spec_row.addWidget(self.open_spec_button)
        spec_row.addWidget(self.template_combo)
        spec_row.addWidget(self.save_template_button)
        form_box = QtWidgets.QWidget()
        form_lay = QtWidgets.QVBoxLayout(form_box)
        form_lay.setContentsMargins(0, 0, 0, 0)
        form_heading = QtWidgets.QLabel("Resources")
        form_heading.setProperty("role", "heading")
        form_lay.addWidget(form_heading)
        form_lay.addWidget(self.form)
        form_lay.addStretch(1)
        form_scroll = QtWidgets.QScrollArea()
        form_scroll.setWidget(form_box)
        form_scroll.setWidgetResizable(True)
        form_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        compose_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        compose_split.addWidget(form_scroll)
        compose_split.addWidget(self.preview)
        compose_split.setStretchFactor(0, 2)
        compose_split.setStretchFactor(1, 3)
        submit_row = QtWidgets.QHBoxLayout()
        submit_row.addWidget(self.submit_result, 1)
        submit_row.addWidget(self.submit_button, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        compose = QtWidgets.QWidget()
        compose_lay = QtWidgets.QVBoxLayout(compose)
        compose_lay.addLayout(spec_row)
        compose_lay.addWidget(compose_split, 1)
        compose_lay.addLayout(submit_row)

        # -- other tabs
        self.queue_table = QueueTable()
        self.queue_table.refresh_requested.connect(self._on_queue_refresh)
        self.queue_table.cancel_requested.connect(lambda job_id: self.cancel(self.profile_bar.current(), job_id))
        self.queue_table.job_activated.connect(self._on_queue_job_activated)
        self.queue_table.scope_changed.connect(self._on_queue_scope_changed)
        self.job_view = JobView()
        self.job_view.fetch_requested.connect(self.fetch)
        self.job_view.cancel_requested.connect(self.cancel)
        self.job_view.open_model_requested.connect(self._on_open_model)
        self.compare = CompareView()

        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(compose, "New job")
        self.tabs.addTab(self.queue_table, "Queue")
        self.tabs.addTab(self.job_view, "Job")
        self.tabs.addTab(self.compare, "Compare")
        self.tabs.currentChanged.connect(self._on_tab_changed)

        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 5)
        split.setSizes([360, 1200])
        self.status = QtWidgets.QLabel()
        self.status.setProperty("role", "hint")
        self.status.setWordWrap(True)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.profile_bar)
        lay.addWidget(split, 1)
        lay.addWidget(self.status)
        self._fill_templates()

    # ================================================================== profiles

    def reload_profiles(self) -> None:
        """Read the profile file again (a broken file leaves only ``local``, with a message)."""
        try:
            self.profiles = load_profiles(self.config_path)
            self.config_error = ""
        except ConfigError as exc:
            self.profiles = {LOCAL_PROFILE: local_profile()}
            self.config_error = str(exc)
            self.status.setText(f"Profile file not usable, only 'local' is available: {exc}")
        self.connections.set_profiles(self.profiles)
        for name, (state, message) in ((n, self.connections.state(n)) for n in self.profiles):
            self.profile_bar.set_state(name, state, message)
        self.profile_bar.set_profiles(self.profiles)
        for name in list(self.pollers):
            if name not in self.profiles or self.pollers[name].backend.profile != self.profiles[name]:
                self.pollers.pop(name).stop()

    @property
    def profile(self) -> Profile:
        return self.profiles[self.profile_bar.current()]

    def select_profile(self, name: str) -> None:
        self.profile_bar.select(name)

    def _save_profiles(self, profiles: dict[str, Profile]) -> bool:
        try:
            save_profiles(profiles, self.config_path)
        except (ConfigError, OSError) as exc:
            QtWidgets.QMessageBox.warning(self, "Profiles not saved", str(exc))
            return False
        return True

    def _on_add_profile(self) -> None:
        editor = ProfileEditor(None, list(self.profiles), self)
        if editor.exec() == QtWidgets.QDialog.DialogCode.Accepted and editor.result_profile is not None:
            profiles = dict(self.profiles)
            profiles[editor.result_profile.name] = editor.result_profile
            if self._save_profiles(profiles):
                self.reload_profiles()
                self.select_profile(editor.result_profile.name)

    def _on_edit_profile(self, name: str) -> None:
        profile = self.profiles.get(name)
        if profile is None or profile.is_local:
            return
        editor = ProfileEditor(profile, list(self.profiles), self)
        if editor.exec() == QtWidgets.QDialog.DialogCode.Accepted and editor.result_profile is not None:
            profiles = dict(self.profiles)
            profiles[name] = editor.result_profile
            if self._save_profiles(profiles):
                self.workdirs.pop(name, None)
                self.reload_profiles()
                self._on_profile_selected(name)

    def _on_delete_profile(self, name: str) -> None:
        if name == LOCAL_PROFILE or name not in self.profiles:
            return
        if not confirm(self, "Delete profile", f"Delete the profile {name!r}? Its tracked jobs stay in the list; "
                       "nothing on the cluster changes.", "Delete"):
            return
        profiles = {k: v for k, v in self.profiles.items() if k != name}
        if self._save_profiles(profiles):
            self.connections.disconnect_profile(name)
            self.reload_profiles()
            self._on_profile_selected(self.profile_bar.current())

    def _on_check_profile(self, name: str) -> None:
        from remote.cli import doctor_checks

        profile = self.profiles.get(name)
        if profile is None:
            return
        dialog = DoctorDialog(name, self)
        dialog.setModal(False)
        dialog.show()
        self._doctor = dialog

        lock = self.connections.op_lock(name)

        def checks(backend: Backend):
            with lock:  # one operation at a time on the profile's connection
                yield from doctor_checks(backend, profile)

        def start(_):
            worker = workers.start_generator(
                checks, self.connections.backend(name),
                on_yielded=lambda item: dialog.add_check(*item),
                on_errored=lambda exc: dialog.finish(str(exc)),
                on_returned=lambda _v: dialog.finish(), _ignore_errors=True)
            self._doctor_worker = worker

        self.connections.run(name, lambda b: None, on_result=start, on_error=lambda msg: (
            dialog.add_check("log in", False, msg), dialog.finish()))

    def _on_connection_state_changed(self, name: str, state: str, message: str) -> None:
        self.profile_bar.set_state(name, state, message)

    def connect_profile(self, name: str) -> None:
        """Log in (dialogs as needed), learn the work folder and partitions, start polling."""
        profile = self.profiles.get(name)
        if profile is None:
            return

        def probe(backend: Backend):
            workdir = backend.expand_path(profile.workdir)
            partitions: list[str] = []
            if not profile.is_local:
                result = backend.run(["sinfo", "--noheader", "--format", "%P"], timeout_s=30)
                if result.ok:
                    partitions = [ln.strip().rstrip("*") for ln in result.stdout.splitlines() if ln.strip()]
            return workdir, partitions

        def done(value):
            workdir, partitions = value
            self.workdirs[name] = workdir
            if name == self.profile_bar.current():
                self.form.set_partitions(partitions)
                self._update_preview()
            self._ensure_poller(name)

        self.connections.run(name, probe, on_result=done,
                             on_error=lambda msg: self._set_status(f"{name}: {msg}", error=True))

    def _ensure_poller(self, name: str) -> ProfilePoller | None:
        if self._closed or name not in self.profiles:
            return None
        poller = self.pollers.get(name)
        if poller is not None and poller.running:
            return poller
        try:
            backend = self.connections.backend(name)
        except KeyError:
            return None
        poller = ProfilePoller(backend, self.store, lock=self.connections.op_lock(name))
        poller.mine_only = self.queue_table.mine_only
        poller.events_arrived.connect(self._on_events)
        poller.queue_arrived.connect(lambda entries, at, n=name: self._on_queue(n, entries, at))
        poller.failed.connect(lambda msg, n=name: self._on_poll_failed(n, msg))
        poller.connection_changed.connect(lambda state, msg, n=name: self.connections.note_state(n, state, msg))
        self.pollers[name] = poller
        poller.start()
        return poller

    def _on_profile_selected(self, name: str) -> None:
        profile = self.profiles.get(name)
        if profile is None:
            return
        if self._remember_profile:
            remember_profile(name)
        self.queue_table.set_entries([], updated_at=None)
        self.queue_table.updated_label.setText("not updated yet")
        self.queue_table.set_user(profile.user or None)
        for field in _SLURM_ONLY:
            self.form.widgets[field].setEnabled(not profile.is_local)
            self.form.labels[field].setEnabled(not profile.is_local)
        # Defaults from the profile for the fields the profile knows.
        values = self.form.values()
        values.update(partition=profile.partition, account=profile.account, reservation=profile.reservation,
                      qos=profile.qos)
        self.form.set_values(values)
        state = self.connections.state(name)[0]
        if profile.is_local:
            self.workdirs.setdefault(name, os.path.abspath(os.path.expanduser(profile.workdir)))
            self._ensure_poller(name)
        elif state in ("connected",):
            self._ensure_poller(name)
        elif state not in ("connecting",) and self.isVisible():
            self.connect_profile(name)
        else:
            self.queue_table.set_error(f"Not connected to {name}: press Connect to see its queue.")
        self._update_preview()

    # ================================================================== composing

    def compose_job(self, spec: RunSpec, source: str = "") -> None:
        """Start composing a job for ``spec`` (the Playground's "Run on cluster…")."""
        self.spec = spec
        self.spec_source = source
        self.spec_label.setText(spec_summary(spec, source))
        values = self.form.values()
        if not values.get("job_name") or values["job_name"] == JobDescription().job_name:
            values["job_name"] = _safe_name(f"scalelab-{spec.dataset.kind}")[:64]
        self.form.set_values(values)
        self._new_folder()
        self.tabs.setCurrentIndex(0)

    def open_spec_file(self, path: str) -> bool:
        try:
            spec = load_spec(path)
        except SpecError as exc:
            self._set_status(str(exc), error=True)
            return False
        self.compose_job(spec, path)
        return True

    def _on_open_spec(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a spec file", "", "Run spec (*.json)")
        if path:
            self.open_spec_file(path)

    def _fill_templates(self) -> None:
        errors: list[str] = []
        self.templates = list_templates(errors)
        self.template_combo.blockSignals(True)
        self.template_combo.clear()
        self.template_combo.addItem("Start from template…")
        for t in self.templates:
            self.template_combo.addItem(("" if t.builtin else "★ ") + t.name)
            self.template_combo.setItemData(self.template_combo.count() - 1, t.description,
                                            QtCore.Qt.ItemDataRole.ToolTipRole)
        self.template_combo.blockSignals(False)
        if errors:
            self._set_status("; ".join(errors), error=True)

    def apply_template(self, name: str) -> bool:
        template = next((t for t in self.templates if t.name == name), None)
        if template is None:
            return False
        if template.spec_path and not self.open_spec_file(template.spec_path):
            return False
        values = self.form.values()
        values.update(template.values)
        self.form.set_values(values)
        self._new_folder()
        return True

    def _on_template_chosen(self, index: int) -> None:
        if index > 0:
            self.apply_template(self.templates[index - 1].name)
        self.template_combo.setCurrentIndex(0)

    def _on_save_template(self) -> None:
        name, ok = QtWidgets.QInputDialog.getText(self, "Save as template", "Template name:")
        if not ok or not name.strip():
            return
        try:
            save_template(name, self.form.values())
        except (TemplateError, OSError) as exc:
            self._set_status(f"Template not saved: {exc}", error=True)
            return
        self._fill_templates()
        self._set_status(f"Saved template {name.strip()!r}.")

    def _planned_job_dir(self, profile: Profile | None = None) -> str:
        profile = profile or self.profile
        workdir = self.workdirs.get(profile.name, profile.workdir).rstrip("/")
        return f"{workdir}/{self.folder_name}"

    def _new_folder(self) -> None:
        """A fresh job folder name (after a submit, or for a new job name)."""
        old = self.folder_name
        self._folder_job_name = self.form.values().get("job_name") or "job"
        self.folder_name = job_folder_name(self._folder_job_name)
        if self.preview.edited:
            # Keep the user's edits, but point them at the new folder.
            text = self.preview.text().replace(old, self.folder_name)
            self.preview._setting = True
            self.preview.editor.setPlainText(text)
            self.preview._setting = False
        self._update_preview()

    def _form_description(self, values: dict | None = None) -> JobDescription:
        values = self.form.values() if values is None else values
        job_dir = self._planned_job_dir()
        if not job_dir.startswith("/"):
            job_dir = "/__home__" + job_dir[1:] if job_dir.startswith("~") else "/" + job_dir
        return description_for(self.profile, job_dir, values, self.spec_source or "job")

    def _on_form_changed(self) -> None:
        name = self.form.values().get("job_name") or "job"
        if name != self._folder_job_name:
            self._new_folder()  # the folder name carries the job name
        else:
            self._update_preview()

    def _update_preview(self) -> None:
        if not hasattr(self, "preview") or not self.profiles:
            return
        values = self.form.values()
        try:
            desc = description_for(self.profile, self._planned_job_dir(), values, self.spec_source or "job")
            text = render_job_script(desc)
        except SlurmInputError as exc:
            self.preview.set_error(f"Fix the form to see the script: {exc.message}")
            self.submit_button.setEnabled(False)
            return
        self.preview.set_error(None)
        self.preview.set_generated(text)
        self.submit_button.setEnabled(self.spec is not None and self.form.is_valid())

    def script_text(self) -> str:
        return self.preview.text()

    # ================================================================== submitting

    def submit(self) -> None:
        """Upload the bundle and sbatch the job (in a worker); SLURM's refusal is shown verbatim."""
        if self.spec is None:
            self._show_submit_result("No spec to run: use “Run on cluster…” in the Playground or open a spec file.",
                                     error=True)
            return
        errors = self.form.errors()
        if errors:
            self._show_submit_result("; ".join(f"{k}: {v}" for k, v in errors.items()), error=True)
            return
        profile = self.profile
        spec = self.spec
        values = self.form.values()
        folder = self.folder_name
        edited = self.preview.edited
        script_text = self.preview.text()
        store = self.store
        spec_name = self.spec_source or "job"

        def do_submit(backend: Backend):
            workdir = backend.expand_path(profile.workdir).rstrip("/")
            desc = description_for(profile, f"{workdir}/{folder}", values, spec_name)
            script = script_text if edited else render_job_script(desc)
            job = submit_bundle(backend, desc, build_bundle(spec, script), store=store)
            return job.job_id, workdir

        def done(value):
            job_id, workdir = value
            self.workdirs[profile.name] = workdir
            self.submit_button.setEnabled(True)
            self._show_submit_result(f"Submitted job {job_id} on {profile.name}.", error=False)
            self._new_folder()
            self._refresh_job_list()
            self.show_job(profile.name, job_id)
            poller = self._ensure_poller(profile.name)
            if poller is not None:
                poller.refresh()
            self.job_submitted.emit(profile.name, job_id)

        def failed(message: str):
            self.submit_button.setEnabled(True)
            self._show_submit_result(message, error=True)

        self.submit_button.setEnabled(False)
        self._show_submit_result(f"Submitting to {profile.name}…", error=False)
        self.connections.run(profile.name, do_submit, on_result=done, on_error=failed)

    def _show_submit_result(self, text: str, error: bool) -> None:
        self.last_submit_error = text if error else ""
        self.submit_result.setPlainText(text)
        self.submit_result.setStyleSheet(f"color: {theme.ERROR_COLOR};" if error else "")
        self.submit_result.setVisible(True)

    # ================================================================== jobs

    def _refresh_job_list(self) -> None:
        selected = self.shown_job
        self.job_list.blockSignals(True)
        self.job_list.clear()
        for job in self.store.jobs():
            label = job.job_id + (f" {job.name}" if job.name else "")
            item = QtWidgets.QTreeWidgetItem([label, job.state, job.profile])
            item.setData(0, QtCore.Qt.ItemDataRole.UserRole, (job.profile, job.job_id))
            ranks = f", {job.ntasks} ranks" if job.ntasks else ""
            item.setToolTip(0, f"{job.kind} job{ranks}\n{job.job_dir or job.output_path}")
            self.job_list.addTopLevelItem(item)
            if selected == (job.profile, job.job_id):
                item.setSelected(True)
        self.job_list.blockSignals(False)
        if self.tabs.currentWidget() is self.compare:
            self._sync_compare_runs()

    def _on_job_list_selection(self) -> None:
        items = self.job_list.selectedItems()
        if items:
            profile, job_id = items[0].data(0, QtCore.Qt.ItemDataRole.UserRole)
            self.show_job(profile, job_id, switch=True)

    def job_records(self, job: StoredJob) -> list[dict]:
        """A job's records so far: our JSON lines, or parsed from a Keras/CSV file it writes."""
        if job.kind == "tracked":
            return self.store.records(job.profile, job.job_id)
        lines = self.store.record_lines(job.profile, job.job_id)
        if not lines:
            return []
        return parse_metrics_file(os.path.basename(job.metrics_path), "\n".join(lines) + "\n")

    def show_job(self, profile: str, job_id: str, switch: bool = True) -> None:
        job = self.store.get(profile, job_id)
        if job is None:
            return
        self.shown_job = (profile, job_id)
        self.job_view.show_job(job, self.job_records(job))
        model = self._fetched_model_path(job)
        if model:
            self.job_view.set_fetched(model, "")
        if switch:
            self.tabs.setCurrentWidget(self.job_view)
        self._tail_output()

    def _fetched_dir(self, job: StoredJob) -> str:
        return os.path.join(self.fetch_root, _safe_name(job.profile), _safe_name(job.job_id))

    def _fetched_model_path(self, job: StoredJob) -> str | None:
        path = os.path.join(self._fetched_dir(job), MODEL_NAME)
        return path if os.path.exists(path) else None

    def _on_events(self, events: list) -> None:
        changed = False
        for event in events:
            if event.kind == "connection":
                continue  # the poller's connection_changed keeps the connection state
            if event.kind == "warning":
                continue
            changed = True
            key = (event.profile, event.job_id)
            if key == self.shown_job:
                job = self.store.get(*key)
                if job is None:
                    continue
                # The poll stored these records before this event reached the GUI thread, so a
                # reload in between (an earlier event of the batch, the user picking the job)
                # already shows them: append only when the plot is exactly one batch behind.
                if (event.kind == "records" and job.kind == "tracked"
                        and len(self.job_view.records) + len(event.records) == job.n_records):
                    self.job_view.update_job(job)
                    self.job_view.add_records(list(event.records))
                else:
                    self.job_view.show_job(job, self.job_records(job))
        if changed:
            self._refresh_job_list()
            if self.shown_job and self.shown_job[0] == events[0].profile:
                self._tail_output()

    def _on_watch_job(self) -> None:
        name = self.profile_bar.current()
        dialog = WatchJobDialog(name, self)
        if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return
        job_id, output, metrics = dialog.values()
        try:
            self.watch_job(name, job_id, output, metrics)
        except JobError as exc:
            self._set_status(str(exc), error=True)

    def watch_job(self, profile: str, job_id: str, output_path: str = "", metrics_path: str = "") -> None:
        """Follow a job not submitted here (asks SLURM about it in a worker first).

        SLURM's ``scontrol show job`` supplies its name, folder and output file when the user
        named none; the output file doubles as the metrics source (Keras lines, JSON lines)
        when no metrics file is given. A job SLURM does not know is refused with its words,
        unless a file to follow was named (a job that ended long ago still has its files).
        """
        if profile in self.profiles and self.profiles[profile].is_local:
            raise JobError("jobs are followed by id on a SLURM cluster; the local profile only knows its own jobs")
        job_id = check_job_id(job_id)

        def look_up(backend: Backend):
            try:
                return SlurmScheduler(backend).look_up(job_id), ""
            except JobError as exc:
                if output_path or metrics_path:
                    return None, str(exc)
                raise

        def done(value):
            found, note = value
            output = output_path or (found.output_path if found else "")
            job = self.store.watch_external(profile, job_id, output_path=output,
                                            metrics_path=metrics_path or output)
            if found is not None and not job.name:
                # Not its folder: "Fetch results" of a job not ours copies just the files it names.
                self.store.update(profile, job_id, name=found.name)
            self._refresh_job_list()
            self.show_job(profile, job_id)
            poller = self._ensure_poller(profile)
            if poller is not None:
                poller.refresh()
            self._set_status(f"Following job {job_id} on {profile}" + (f" ({note})." if note else "."))

        def failed(message: str):
            self._set_status(f"Cannot follow job {job_id} on {profile}: {message}", error=True)

        self._set_status(f"Looking up job {job_id} on {profile}…")
        self.connections.run(profile, look_up, on_result=done, on_error=failed)

    def _on_forget_job(self) -> None:
        if self.shown_job is None:
            return
        profile, job_id = self.shown_job
        if confirm(self, "Forget job", f"Remove job {job_id} ({profile}) and its records from the list? The job "
                   "itself and its files are not touched.", "Forget"):
            self.store.forget(profile, job_id)
            self.compare.remove_run(f"{profile}/{job_id}")
            self._compare_counts.pop(f"{profile}/{job_id}", None)
            self.shown_job = None
            self.job_view.show_job(None)
            self._refresh_job_list()

    def cancel(self, profile: str, job_id: str) -> None:
        """scancel (or stop a local job) in a worker; the confirmation was asked by the caller."""
        store = self.store

        def done(_):
            self._set_status(f"Cancelled job {job_id} on {profile}.")
            poller = self.pollers.get(profile)
            if poller is not None:
                poller.refresh()

        self.connections.run(profile, lambda backend: cancel_job(backend, job_id, store), on_result=done,
                             on_error=lambda msg: self._set_status(f"Cancel {job_id}: {msg}", error=True))

    def fetch(self, profile: str, job_id: str, overwrite: bool = False) -> None:
        """Copy the job's results into the fetch folder (in a worker)."""
        job = self.store.get(profile, job_id)
        if job is None:
            return
        out_dir = self._fetched_dir(job)

        def do_fetch(backend: Backend):
            if job.job_dir:
                return fetch_job(backend, job.job_dir, out_dir, job.output_path, overwrite=overwrite)
            written = []
            os.makedirs(out_dir, exist_ok=True)
            for path in dict.fromkeys(p for p in (job.output_path, job.metrics_path) if p):
                data = backend.read_bytes(path)
                local = os.path.join(out_dir, os.path.basename(path))
                with open(local, "wb") as fh:
                    fh.write(data)
                written.append(local)
            if not written:
                raise FetchError("this job names no output or metrics file to fetch")
            return written

        def done(paths):
            model = os.path.join(out_dir, MODEL_NAME)
            model = model if os.path.exists(model) else None
            names = ", ".join(os.path.basename(p) for p in paths)
            if self.shown_job == (profile, job_id):
                self.job_view.set_fetched(model, f"Fetched {names} into {out_dir}" +
                                          ("" if model else " (no model yet: the job has not saved one)"))

        def failed(message: str):
            if "would overwrite" in message and confirm(
                    self, "Fetch again", f"Results of job {job_id} were fetched before and differ now:\n{message}\n\n"
                    "Replace the earlier copy?", "Replace"):
                self.fetch(profile, job_id, overwrite=True)
                return
            if self.shown_job == (profile, job_id):
                self.job_view.set_message(message, error=True)

        self.connections.run(profile, do_fetch, on_result=done, on_error=failed)

    def _on_open_model(self, path: str) -> None:
        # MainWindow opens it in the Playground and switches tabs.
        self.open_model_requested.emit(path)

    # ================================================================== output tail

    def _on_tail_timer(self) -> None:
        if self.tabs.currentWidget() is self.job_view and self.shown_job is not None:
            job = self.store.get(*self.shown_job)
            if job is not None and not job.finished:
                self._tail_output()

    def _tail_output(self) -> None:
        """Read what the shown job's output file gained since last time (in a worker)."""
        if self.shown_job is None or self._tail_busy:
            return
        job = self.store.get(*self.shown_job)
        if job is None or not job.output_path or job.profile not in self.profiles:
            return
        if job.state in ("", "PENDING"):
            # SLURM creates (or truncates) the output file when the job starts: a file of that
            # name before then is an earlier job's.
            return
        profile = self.profiles[job.profile]
        if not profile.is_local and self.connections.state(job.profile)[0] != "connected":
            return
        key = (job.profile, job.job_id)
        offset = self.output_offsets.get(key)

        def read(backend: Backend):
            start = offset
            size = backend.size(job.output_path)
            if size is None:
                return None, 0 if start is None else start
            if start is None or size < start:
                # First look, or the file was replaced by a shorter one (a requeued job):
                # start again from its last part.
                start = max(0, size - OUTPUT_TAIL_BYTES)
            try:
                data = backend.read_bytes(job.output_path, start, 1024 * 1024)
            except FileNotFoundError:
                return None, start
            # Whole lines while the job runs; once it has ended, its unfinished last line too.
            end = len(data) if job.finished else data.rfind(b"\n") + 1
            return data[:end], start + end

        def done(value):
            self._tail_busy = False
            data, new_offset = value
            if data is None:
                return
            if self.output_offsets.get(key) != offset:
                return
            self.output_offsets[key] = new_offset
            if self.shown_job == key and data:
                self.job_view.append_output(data.decode("utf-8", errors="replace"))
            elif self.shown_job == key and job.finished and new_offset == 0:
                self.job_view.note_output_empty()

        def failed(_message: str):
            self._tail_busy = False

        self._tail_busy = True
        if self.connections.run(job.profile, read, on_result=done, on_error=failed) is None:
            self._tail_busy = False

    # ================================================================== queue

    def _on_queue(self, name: str, entries: list, at: float) -> None:
        if name == self.profile_bar.current():
            self.queue_table.set_entries(entries, updated_at=at)

    def _on_poll_failed(self, name: str, message: str) -> None:
        if name == self.profile_bar.current():
            self.queue_table.set_error(f"Last refresh failed: {message}")

    def _on_queue_refresh(self) -> None:
        name = self.profile_bar.current()
        poller = self.pollers.get(name)
        if poller is not None and poller.running:
            poller.refresh()
        else:
            self.connect_profile(name)

    def _on_queue_scope_changed(self, mine: bool) -> None:
        for poller in self.pollers.values():
            poller.mine_only = mine
        self._on_queue_refresh()

    def _on_queue_job_activated(self, job_id: str) -> None:
        name = self.profile_bar.current()
        if self.store.get(name, job_id) is None:
            if not confirm(self, "Watch job", f"Job {job_id} was not submitted from here. Follow it (its state, "
                           "its output file, and curves when that prints Keras progress lines)?", "Follow"):
                return
            self.watch_job(name, job_id)
        else:
            self.show_job(name, job_id)

    # ================================================================== compare

    def _sync_compare_runs(self) -> None:
        """Offer every job with records in Compare; reload only those that got new records."""
        for job in self.store.jobs():
            if not job.n_records:
                continue
            key = f"{job.profile}/{job.job_id}"
            if self._compare_counts.get(key) == job.n_records:
                continue
            self._compare_counts[key] = job.n_records
            self.compare.set_run(Run(key=key, label=run_label(job.job_id, job.name, job.profile, job.ntasks),
                                     records=self.job_records(job), source=job.job_dir))

    def _on_tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.compare:
            self._sync_compare_runs()
        elif self.tabs.currentWidget() is self.job_view:
            self._tail_output()

    # ================================================================== misc

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {theme.ERROR_COLOR};" if error else "")

    def set_presentation(self, on: bool) -> None:
        """Large fonts and thick curves for a projector (the main window's View menu)."""
        self.setStyleSheet(theme.stylesheet(theme.PRESENTATION_SCALE if on else 1.0))
        for plot in (self.job_view.loss_plot, self.job_view.acc_plot, self.compare.loss_plot, self.compare.acc_plot):
            plot.set_presentation(on)

    def showEvent(self, event) -> None:  # Qt override
        super().showEvent(event)
        self._update_preview()
        if not self._resumed:
            # Jobs tracked in an earlier session: follow them again (this logs in where needed).
            self._resumed = True
            current = self.profile_bar.current()
            for name in sorted({j.profile for j in self.store.jobs(active_only=True)}):
                if name in self.profiles and name != current and not self.profiles[name].is_local:
                    self.connect_profile(name)
            if current in self.profiles and not self.profiles[current].is_local:
                self._on_profile_selected(current)

    def shutdown(self) -> None:
        """Stop polling and close connections (the main window calls this on close)."""
        if self._closed:
            return
        self._closed = True
        self._tail_timer.stop()
        self._clock.stop()
        for poller in self.pollers.values():
            poller.stop()
        # Running operations finish before their connections close under them (see shutdown()).
        self.connections.shutdown(10_000)
        self.cleanup_screenshot()

    # ================================================================== screenshot

    def prepare_screenshot(self) -> None:
        """Run a real tiny job on the ``local`` profile (1 and 2 ranks) and show it.

        Used by ``main.py --screenshot PATH --view cluster``; blocks until both jobs have
        finished (a few seconds). Everything goes to a temporary folder and store.
        """
        from engine.spec import DatasetSpec, ModelSpec, TrainSpec
        from remote.backend import LocalBackend
        from remote.monitor import Monitor

        scratch = tempfile.mkdtemp(prefix="scalelab-shot-")
        self._remember_profile = False  # the picture's choice of profile is not the user's
        self.select_profile(LOCAL_PROFILE)
        # The picture uses its own store: nothing of the user's jobs shows or changes.
        for poller in self.pollers.values():
            poller.stop()
        self.pollers.clear()
        self.store = JobStore(os.path.join(scratch, "jobs.sqlite"))
        self._compare_counts.clear()
        self.fetch_root = os.path.join(scratch, "fetched")
        profile = replace(local_profile(), workdir=os.path.join(scratch, "jobs"), python=sys.executable)
        self.profiles[LOCAL_PROFILE] = profile
        self.connections.set_profiles(self.profiles)
        self.workdirs[LOCAL_PROFILE] = profile.workdir
        spec = RunSpec(
            dataset=DatasetSpec(kind="spiral", n_samples=600, noise=0.1, seed=3),
            model=ModelSpec(kind="mlp", hidden=(16, 16), activation="tanh"),
            train=TrainSpec(epochs=300, batch_size=32, learning_rate=0.01, optimizer="adam"),
        )
        self.compose_job(spec, "spiral.json")
        backend = LocalBackend(profile)
        monitor = Monitor(backend, self.store, min_delay_s=0.2, max_delay_s=0.5)
        job_ids = []
        for ranks in (1, 2):
            folder = job_folder_name(f"spiral-{ranks}rank")
            job_dir = f"{profile.workdir}/{folder}"
            desc = description_for(profile, job_dir, {**self.form.values(), "ntasks": ranks,
                                                      "job_name": f"spiral-{ranks}rank"})
            job_id = submit_bundle(backend, desc, build_bundle(spec, render_job_script(desc)), store=self.store).job_id
            job_ids.append(job_id)
        deadline = time.monotonic() + 120
        while self.store.jobs(LOCAL_PROFILE, active_only=True) and time.monotonic() < deadline:
            monitor.poll_once()
            time.sleep(0.2)
            QtWidgets.QApplication.processEvents()
        self._refresh_job_list()
        job = self.store.get(LOCAL_PROFILE, job_ids[-1])
        self.shown_job = (LOCAL_PROFILE, job.job_id)
        self.job_view.show_job(job, self.job_records(job))
        try:
            with open(job.output_path, "rb") as fh:
                self.job_view.append_output(fh.read()[-OUTPUT_TAIL_BYTES:].decode("utf-8", errors="replace"))
        except OSError:
            pass
        self.job_view.note_output_empty()
        self._sync_compare_runs()
        for job_id in job_ids:
            self.compare.set_checked(f"{LOCAL_PROFILE}/{job_id}", True)
        self.compare.set_axis("elapsed_s")
        self.tabs.setCurrentWidget(self.job_view)
        self._screenshot_scratch = scratch
        QtCore.QTimer.singleShot(0, lambda: None)

    def cleanup_screenshot(self) -> None:
        scratch = getattr(self, "_screenshot_scratch", None)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


__all__ = ["ClusterView", "WatchJobDialog", "description_for",
           "spec_summary"]
