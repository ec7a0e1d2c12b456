"""Running a sweep off the GUI thread: :func:`remote.sweep.run_sweep` in a worker, its events as Qt signals."""

from __future__ import annotations

import threading

from PySide6 import QtCore

from gui.workers import start_function
from remote.backend import SshBackend, open_backend
from remote.config import Profile
from remote.store import JobStore
from remote.sweep import SweepEvent, SweepState, fit_serial_fraction, run_sweep


def snapshot(sweep: SweepState, event: SweepEvent | None = None) -> dict:
    """What the view shows, copied (the worker keeps changing ``sweep``): every run, the rows, the fit."""
    rows = sweep.rows
    return {
        "kind": event.kind if event is not None else "loaded",
        "message": event.message if event is not None else "",
        "run": event.run.to_dict() if event is not None and event.run is not None else None,
        "runs": [run.to_dict() for run in sweep.runs],
        "rows": rows,
        "serial_fraction": fit_serial_fraction([r["ranks"] for r in rows], [r["speedup"] for r in rows]),
    }


class SweepRunner(QtCore.QObject):
    """One sweep at a time in a worker thread; ``progress`` carries :func:`snapshot` dicts.

    ``finished`` carries True when every run completed, False when stopped or a job did not
    complete; ``failed`` carries an error for the user (the folder keeps what was done).
    """

    progress = QtCore.Signal(object)
    finished = QtCore.Signal(bool)
    failed = QtCore.Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._stop = threading.Event()
        self._done = threading.Event()
        self._done.set()
        self.worker = None

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def start(self, profile: Profile, sweep: SweepState, store_path: str | None) -> None:
        """Run ``sweep``'s pending runs on ``profile``, with jobs recorded in the store at ``store_path``."""
        if self.running:
            raise RuntimeError("a sweep is already running")
        self._stop.clear()
        self._done.clear()
        self.worker = start_function(self._work, profile, sweep, store_path,
                                     on_returned=self.finished.emit, on_errored=self.failed.emit)

    def _work(self, profile: Profile, sweep: SweepState, store_path: str | None) -> bool:
        try:
            backend = open_backend(profile)
            try:
                if isinstance(backend, SshBackend):
                    backend.connect()
                with JobStore(store_path) as store:
                    return run_sweep(backend, store, sweep, lambda e: self.progress.emit(snapshot(sweep, e)),
                                     stop=self._stop.is_set)
            finally:
                backend.close()
        finally:
            self.progress.emit(snapshot(sweep))
            self._done.set()  # here, in the worker: a GUI thread waiting in stop() cannot run queued calls

    def stop(self, wait_s: float = 0.0) -> None:
        """Ask the sweep to stop (the job in flight is cancelled); wait up to ``wait_s`` for it."""
        self._stop.set()
        if wait_s > 0:
            self._done.wait(wait_s)
