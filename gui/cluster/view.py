"""The Cluster view: compose and submit jobs, watch the queue, follow runs live, compare them.

The view lays out and wires its parts; each part owns one thing:
:class:`~gui.cluster.profile_controller.ProfileController` (profiles, connections,
pollers), :class:`~gui.cluster.job_list.JobList` (the store's jobs),
:class:`~gui.cluster.compose.ComposeTab` (the job to submit),
:class:`~gui.cluster.job_actions.JobActions` (submit, follow, cancel, fetch in workers),
:class:`~gui.cluster.output_tail.OutputTail` (the shown job's output), the queue table,
the job view and the compare tab. The view keeps no job state of its own: tracked jobs,
their states and their records live in ``remote.store.JobStore``, so closing and
reopening the app continues where it was.
"""

from __future__ import annotations

import os

from PySide6 import QtCore, QtWidgets

from engine.spec import RunSpec
from gui import theme
from gui.cluster.compare import CompareView, Run, run_label
from gui.cluster.compose import ComposeTab
from gui.cluster.dialogs import WatchJobDialog, confirm
from gui.cluster.job_actions import JobActions
from gui.cluster.job_list import JobList
from gui.cluster.job_view import JobView
from gui.cluster.output_tail import OutputTail
from gui.cluster.profile_controller import ProfileController
from gui.cluster.profiles import ProfileBar
from gui.cluster.queue_table import QueueTable
from gui.cluster.script_job import follows_output
from remote.config import Profile
from remote.jobs import JobError, check_job_id
from remote.logparse import parse_metrics_file
from remote.states import EventKind
from remote.store import JobStore, StoredJob, StoreError


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
        self.store_error = ""
        if store is None:
            try:
                store = JobStore()
            except StoreError as exc:
                self.store_error = str(exc)
                store = JobStore(":memory:")
        self.store = store
        # Network operations mostly wait; on a 2-core laptop the shared pool has 2 threads, and a
        # slow login must never keep the Playground's training worker from starting.
        pool = QtCore.QThreadPool.globalInstance()
        pool.setMaxThreadCount(max(pool.maxThreadCount(), 8))
        self.shown_job: tuple[str, str] | None = None
        self._closed = False
        self._resumed = False
        self._compare_counts: dict[str, int] = {}

        self.profile_bar = ProfileBar()
        self.profiles_control = ProfileController(self.profile_bar, store, config_path, self)
        self.connections = self.profiles_control.connections
        self.job_actions = JobActions(self.connections, store, self)
        self.output_tail = OutputTail(self.connections, store, self)
        self.job_list = JobList(store)
        self.compose = ComposeTab()
        self.queue_table = QueueTable()
        self.job_view = JobView()
        self.compare = CompareView()
        self.status = QtWidgets.QLabel()
        self._build()
        self._wire()
        self.setStyleSheet(theme.stylesheet())
        self.profiles_control.reload_profiles()
        self.profiles_control.select_remembered()
        self.profiles_control.use_current()
        self._clock = QtCore.QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self.job_view.tick)
        self._clock.start()
        if self.store_error:
            self.status.setText(f"Job store unavailable, nothing is remembered this session: {self.store_error}")

    # ================================================================== layout and wiring

    def _build(self) -> None:
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.compose, "New job")
        self.tabs.addTab(self.queue_table, "Queue")
        self.tabs.addTab(self.job_view, "Job")
        self.tabs.addTab(self.compare, "Compare")
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        split.addWidget(self.job_list)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 5)
        split.setSizes([360, 1200])
        self.status.setProperty("role", "hint")
        self.status.setWordWrap(True)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.profile_bar)
        lay.addWidget(split, 1)
        lay.addWidget(self.status)

    def _wire(self) -> None:
        control = self.profiles_control
        control.profile_selected.connect(self._on_profile_selected)
        control.probed.connect(self._on_probed)
        control.events_arrived.connect(self.apply_events)
        control.queue_arrived.connect(self._on_queue)
        control.poll_failed.connect(
            lambda name, msg: self._for_current(name, self.queue_table.set_error, f"Last refresh failed: {msg}"))
        control.queue_unavailable.connect(lambda name, msg: self._for_current(name, self.queue_table.set_error, msg))
        control.message.connect(self.set_status)
        self.compose.submit_requested.connect(self.job_actions.submit)
        self.compose.message.connect(self.set_status)
        self.job_actions.submitted.connect(self._on_submitted)
        self.job_actions.submit_failed.connect(self.compose.submit_failed)
        self.job_actions.followed.connect(self._on_followed)
        self.job_actions.fetched.connect(self._on_fetched)
        self.job_actions.fetch_failed.connect(self._on_fetch_failed)
        self.job_actions.cancelled.connect(lambda profile, _job_id: self._refresh_poller(profile))
        self.job_actions.message.connect(self.set_status)
        self.output_tail.output_arrived.connect(self._on_output)
        self.output_tail.output_empty.connect(self._on_output_empty)
        self.job_list.job_selected.connect(lambda profile, job_id: self.show_job(profile, job_id, switch=True))
        self.job_list.watch_requested.connect(self._on_watch_job)
        self.job_list.forget_requested.connect(self._on_forget_job)
        self.queue_table.refresh_requested.connect(lambda: control.refresh_or_connect(self.profile_bar.current()))
        self.queue_table.cancel_requested.connect(lambda job_id: self.cancel(self.profile_bar.current(), job_id))
        self.queue_table.job_activated.connect(self._on_queue_job_activated)
        self.queue_table.scope_changed.connect(self._on_queue_scope_changed)
        self.job_view.fetch_requested.connect(self.fetch)
        self.job_view.cancel_requested.connect(self.cancel)
        self.job_view.open_model_requested.connect(self.open_model_requested)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.compare.float64_requested.connect(lambda: (self.compose.set_float64(True),
                                                        self.tabs.setCurrentWidget(self.compose)))

    # ================================================================== profiles

    @property
    def profiles(self) -> dict[str, Profile]:
        return self.profiles_control.profiles

    @property
    def profile(self) -> Profile:
        return self.profiles_control.current

    @property
    def pollers(self) -> dict:
        return self.profiles_control.pollers

    def reload_profiles(self) -> None:
        self.profiles_control.reload_profiles()

    def select_profile(self, name: str) -> None:
        self.profiles_control.select(name)

    def _for_current(self, name: str, show, text: str) -> None:
        if name == self.profile_bar.current():
            show(text)

    def _on_profile_selected(self, name: str) -> None:
        profile = self.profiles.get(name)
        if profile is None:
            return
        self.queue_table.set_entries([], updated_at=None)
        self.queue_table.updated_label.setText("not updated yet")
        self.queue_table.set_user(profile.user or None)
        self.compose.set_profile(profile, self.profiles_control.workdir(name))

    def _on_probed(self, name: str, workdir: str, partitions: list) -> None:
        if name == self.profile_bar.current():
            self.compose.set_workdir(workdir, partitions)

    def _refresh_poller(self, profile: str) -> None:
        poller = self.pollers.get(profile)
        if poller is not None:
            poller.refresh()

    # ================================================================== composing and submitting

    def compose_job(self, spec: RunSpec, source: str = "") -> None:
        """Start composing a job for ``spec`` (the Playground's "Run on cluster…")."""
        self.compose.compose_job(spec, source)
        self.tabs.setCurrentWidget(self.compose)

    def open_spec_file(self, path: str) -> bool:
        opened = self.compose.open_spec_file(path)
        if opened:
            self.tabs.setCurrentWidget(self.compose)
        return opened

    def submit(self) -> None:
        self.compose.submit()  # it asks self.job_actions to upload and sbatch in a worker

    def _on_submitted(self, profile: str, job_id: str, workdir: str) -> None:
        self.profiles_control.note_workdir(profile, workdir)
        self.compose.submit_succeeded(profile, job_id, workdir)
        self.job_list.model.update_job(profile, job_id)
        self.show_job(profile, job_id)
        self.set_status(f"Submitted job {job_id} to {profile}; following it.")
        self.profiles_control.refresh(profile)
        self.job_submitted.emit(profile, job_id)

    # ================================================================== jobs

    def job_records(self, job: StoredJob) -> list[dict]:
        """A job's records so far: our JSON lines, or parsed from a Keras/CSV file it writes."""
        if job.kind == "tracked" and not follows_output(job):
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
        self.job_list.select(profile, job_id)
        self.job_view.show_job(job, self.job_records(job))
        model = self.job_actions.fetched_model_path(job)
        if model:
            self.job_view.set_fetched(model, "")
        self.output_tail.follow(profile, job_id)
        if switch:
            self.tabs.setCurrentWidget(self.job_view)
        self.output_tail.poll()

    def apply_events(self, events: list) -> None:
        """A poll's monitor events: update the rows they concern and the job on show."""
        changed = False
        for event in events:
            if event.kind in (EventKind.CONNECTION, EventKind.WARNING):
                continue  # the poller's connection_changed keeps the connection state
            changed = True
            key = (event.profile, event.job_id)
            self.job_list.model.update_job(*key)
            if key != self.shown_job:
                continue
            job = self.store.get(*key)
            if job is None:
                continue
            # The poll stored these records before this event reached the GUI thread, so a
            # reload in between (an earlier event of the batch, the user picking the job)
            # already shows them: append only when the plot is exactly one batch behind.
            if (event.kind == EventKind.RECORDS and job.kind == "tracked"
                    and len(self.job_view.records) + len(event.records) == job.n_records):
                self.job_view.update_job(job)
                self.job_view.add_records(list(event.records))
            else:
                self.job_view.show_job(job, self.job_records(job))
        if changed:
            if self.tabs.currentWidget() is self.compare:
                self.sync_compare_runs()
            if self.shown_job and self.shown_job[0] == events[0].profile:
                self.output_tail.poll()

    def _on_output(self, profile: str, job_id: str, text: str) -> None:
        if self.shown_job == (profile, job_id):
            self.job_view.append_output(text)

    def _on_output_empty(self, profile: str, job_id: str) -> None:
        if self.shown_job == (profile, job_id):
            self.job_view.note_output_empty()

    def _on_watch_job(self) -> None:
        name = self.profile_bar.current()
        dialog = WatchJobDialog(name, self)
        if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return
        job_id, output, metrics = dialog.values()
        try:
            self.watch_job(name, job_id, output, metrics)
        except JobError as exc:
            self.set_status(str(exc), error=True)

    def watch_job(self, profile: str, job_id: str, output_path: str = "", metrics_path: str = "") -> None:
        """Follow a job not submitted here (``remote.jobs.follow_job``, the one ``python -m remote watch`` uses).

        SLURM's ``scontrol show job`` supplies its name, folder and output file; its metrics
        file is the one named, else ``metrics.jsonl`` in its folder. A job SLURM does not
        know is refused with its words, unless a file to follow was named.
        """
        if profile in self.profiles and self.profiles[profile].is_local:
            raise JobError("jobs are followed by id on a SLURM cluster; the local profile only knows its own jobs")
        self.job_actions.follow(profile, check_job_id(job_id), output_path, metrics_path)

    def _on_followed(self, profile: str, job_id: str) -> None:
        self.job_list.model.update_job(profile, job_id)
        self.show_job(profile, job_id)
        self.profiles_control.refresh(profile)

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
            self.output_tail.clear()
            self.job_view.show_job(None)
            self.job_list.model.update_job(profile, job_id)

    def cancel(self, profile: str, job_id: str) -> None:
        """scancel (or stop a local job) in a worker; the confirmation was asked by the caller."""
        self.job_actions.cancel(profile, job_id)

    def fetch(self, profile: str, job_id: str, overwrite: bool = False) -> None:
        """Copy the job's results into the fetch folder (in a worker; asks before replacing files)."""
        self.job_actions.fetch(profile, job_id, overwrite)

    def _on_fetched(self, profile: str, job_id: str, model: str | None, message: str) -> None:
        if self.shown_job == (profile, job_id):
            self.job_view.set_fetched(model, message)

    def _on_fetch_failed(self, profile: str, job_id: str, message: str) -> None:
        if self.shown_job == (profile, job_id):
            self.job_view.set_message(message, error=True)

    # ================================================================== queue and compare

    def _on_queue(self, name: str, entries: list, at: float) -> None:
        if name == self.profile_bar.current():
            self.queue_table.set_entries(entries, updated_at=at)
        user = self.profiles[name].user if name in self.profiles else ""  # followed jobs of the user's own
        self.job_view.set_own_jobs(name, {e.job_id for e in entries if self.profiles_control.mine_only or
                                          (user and e.user == user)})

    def _on_queue_scope_changed(self, mine: bool) -> None:
        self.profiles_control.set_mine_only(mine)
        self.profiles_control.refresh_or_connect(self.profile_bar.current())

    def _on_queue_job_activated(self, job_id: str) -> None:
        name = self.profile_bar.current()
        if self.store.get(name, job_id) is None:
            if not confirm(self, "Watch job", f"Job {job_id} was not submitted from here. Follow it (its state, "
                           "its output file, and curves when that prints Keras progress lines)?", "Follow"):
                return
            self.watch_job(name, job_id)
        else:
            self.show_job(name, job_id)

    def sync_compare_runs(self) -> None:
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
        self.output_tail.set_active(self.tabs.currentWidget() is self.job_view)
        if self.tabs.currentWidget() is self.compare:
            self.sync_compare_runs()
        elif self.tabs.currentWidget() is self.job_view:
            self.output_tail.poll()
        elif self.tabs.currentWidget() is self.compose:  # partitions and their limits change: ask sinfo again
            self.profiles_control.refresh_partitions(self.profile_bar.current())

    # ================================================================== misc

    @property
    def spec(self) -> RunSpec | None:
        """The spec the New job tab composes a job for."""
        return self.compose.spec

    @property
    def form(self):
        return self.compose.form

    @property
    def last_submit_error(self) -> str:
        return self.compose.last_submit_error

    def script_text(self) -> str:
        return self.compose.script_text()

    def use_store(self, store: JobStore, fetch_root: str | None = None) -> None:
        """Show and track the jobs of ``store`` from now on (pollers of the old one stop)."""
        self.store = store
        self.profiles_control.use_store(store)
        self.job_actions.use_store(store, fetch_root)
        self.output_tail.set_store(store)
        self.job_list.model.set_store(store)
        self._compare_counts.clear()

    def set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {theme.ERROR_COLOR};" if error else "")

    def set_presentation(self, on: bool) -> None:
        """Large fonts and thick curves for a projector (the main window's View menu)."""
        self.setStyleSheet(theme.presentation_stylesheet(on))
        self.job_view.set_presentation(on)
        self.compare.set_presentation(on)

    def showEvent(self, event) -> None:  # Qt override
        super().showEvent(event)
        self.compose.update_preview()
        if not self._resumed:
            # Jobs tracked in an earlier session: follow them again (this logs in where needed).
            self._resumed = True
            self.profiles_control.resume()

    def shutdown(self) -> None:
        """Stop polling and close connections (the main window calls this on close)."""
        if self._closed:
            return
        self._closed = True
        self.output_tail.stop()
        self._clock.stop()
        # Running operations finish before their connections close under them.
        self.profiles_control.shutdown()


__all__ = ["ClusterView"]
