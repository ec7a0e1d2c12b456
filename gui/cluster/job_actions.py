"""What the Cluster view does to jobs, each in a worker: submit, follow, cancel, fetch.

Every operation is the function ``python -m remote`` uses (``remote.jobs.submit_bundle``,
``follow_job``, ``cancel_job``, ``fetch_stored_job``), run through the
:class:`~gui.cluster.connections.ConnectionManager`; results come back as signals on the GUI
thread. Fetching never overwrites a different local file unasked: :class:`JobActions` asks
in its own words first.
"""

from __future__ import annotations

import os

from PySide6 import QtCore, QtWidgets

from gui.cluster.compose import SubmitRequest, description_for, safe_name
from gui.cluster.connections import ConnectionManager
from gui.cluster.dialogs import confirm
from gui.cluster.script_job import job_bundle
from remote.backend import Backend
from remote.config import data_dir
from remote.jobs import (
    MODEL_NAME,
    FetchConflictError,
    cancel_job,
    fetch_stored_job,
    follow_job,
    submit_bundle,
)
from remote.slurm import render_job_script
from remote.store import JobStore, StoredJob


def default_fetch_dir() -> str:
    return os.path.join(data_dir(), "fetched")


class JobActions(QtCore.QObject):
    """Submit, follow, cancel and fetch jobs of the profiles in ``connections``.

    Signals
    -------
    submitted(str, str, str)
        ``(profile, job_id, work folder)``.
    submit_failed(str)
        The refusal, verbatim.
    followed(str, str)
        ``(profile, job_id)`` of a job now followed.
    fetched(str, str, object, str)
        ``(profile, job_id, model path or None, message)``.
    fetch_failed(str, str, str)
        ``(profile, job_id, message)``.
    cancelled(str, str)
    message(str, bool)
        A status line, ``True`` for a problem.
    """

    submitted = QtCore.Signal(str, str, str)
    submit_failed = QtCore.Signal(str)
    followed = QtCore.Signal(str, str)
    fetched = QtCore.Signal(str, str, object, str)
    fetch_failed = QtCore.Signal(str, str, str)
    cancelled = QtCore.Signal(str, str)
    message = QtCore.Signal(str, bool)

    def __init__(self, connections: ConnectionManager, store: JobStore, parent_widget: QtWidgets.QWidget):
        super().__init__(parent_widget)
        self.connections = connections
        self.store = store
        self.parent_widget = parent_widget
        self.fetch_root = default_fetch_dir()

    def use_store(self, store: JobStore, fetch_root: str | None = None) -> None:
        self.store = store
        if fetch_root is not None:
            self.fetch_root = fetch_root

    # ------------------------------------------------------------------ submit

    def submit(self, request: SubmitRequest) -> None:
        """Upload the bundle and sbatch the job (in a worker); SLURM's refusal is reported verbatim."""
        store = self.store

        def do_submit(backend: Backend):
            workdir = backend.expand_path(request.profile.workdir).rstrip("/")
            desc = description_for(request.profile, f"{workdir}/{request.folder}", request.values, request.spec_name)
            script = request.script if request.script is not None else render_job_script(desc)
            bundle = job_bundle(request.spec, request.spec_name, script, key_files=(request.profile.key_file,),
                                allow_outside=request.allow_outside)
            job = submit_bundle(backend, desc, bundle, store=store)
            return job.job_id, workdir

        self.connections.run(request.profile.name, do_submit,
                             on_result=lambda value: self.submitted.emit(request.profile.name, *value),
                             on_error=self.submit_failed.emit)

    # ------------------------------------------------------------------ follow, cancel

    def follow(self, profile: str, job_id: str, output_path: str = "", metrics_path: str = "") -> None:
        """Follow any job by id (``remote.jobs.follow_job``: SLURM is asked about it in a worker)."""
        store = self.store
        self.message.emit(f"Looking up job {job_id} on {profile}…", False)

        def done(job: StoredJob):
            self.message.emit(f"Following job {job.job_id} on {profile}.", False)
            self.followed.emit(profile, job.job_id)

        self.connections.run(profile, lambda backend: follow_job(backend, store, job_id, output_path, metrics_path),
                             on_result=done,
                             on_error=lambda msg: self.message.emit(f"Cannot follow job {job_id} on {profile}: {msg}",
                                                                    True))

    def cancel(self, profile: str, job_id: str) -> None:
        """scancel (or stop a local job) in a worker; the confirmation was asked by the caller."""
        store = self.store

        def done(_):
            self.message.emit(f"Cancelled job {job_id} on {profile}.", False)
            self.cancelled.emit(profile, job_id)

        self.connections.run(profile, lambda backend: cancel_job(backend, job_id, store), on_result=done,
                             on_error=lambda msg: self.message.emit(f"Cancel {job_id}: {msg}", True))

    # ------------------------------------------------------------------ fetch

    def fetched_dir(self, job: StoredJob) -> str:
        """Where a job's results are fetched to: ``<fetch root>/<profile>/<job id>``."""
        return os.path.join(self.fetch_root, safe_name(job.profile), safe_name(job.job_id))

    def fetched_model_path(self, job: StoredJob) -> str | None:
        path = os.path.join(self.fetched_dir(job), MODEL_NAME)
        return path if os.path.exists(path) else None

    def fetch(self, profile: str, job_id: str, overwrite: bool = False) -> None:
        """Copy the job's results into its fetch folder (in a worker), asking before replacing files."""
        job = self.store.get(profile, job_id)
        if job is None:
            return
        out_dir = self.fetched_dir(job)

        def do_fetch(backend: Backend):
            try:
                return fetch_stored_job(backend, job, out_dir, overwrite=overwrite), []
            except FetchConflictError as exc:
                return [], exc.conflicts

        def done(value):
            paths, conflicts = value
            if conflicts:
                if self.confirm_replace(out_dir, conflicts):
                    self.fetch(profile, job_id, overwrite=True)
                else:
                    self.fetch_failed.emit(profile, job_id, "Not fetched: the earlier copy was kept.")
                return
            model = os.path.join(out_dir, MODEL_NAME)
            model = model if os.path.exists(model) else None
            names = ", ".join(os.path.basename(p) for p in paths)
            self.fetched.emit(profile, job_id, model, f"Fetched {names} into {out_dir}" +
                              ("" if model else " (no model yet: the job has not saved one)"))

        self.connections.run(profile, do_fetch, on_result=done,
                             on_error=lambda msg: self.fetch_failed.emit(profile, job_id, msg))

    def confirm_replace(self, folder: str, conflicts: list[str]) -> bool:
        """Ask before fetching over local files that differ from the job's."""
        n = len(conflicts)
        what = f"the {n} files in {folder} that differ" if n != 1 else f"the 1 file in {folder} that differs"
        names = "\n".join(os.path.basename(p) for p in conflicts)
        return confirm(self.parent_widget, "Fetch again", f"Replace {what} from the job's?\n\n{names}", "Replace")


__all__ = ["JobActions", "default_fetch_dir"]
