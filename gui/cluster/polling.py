"""Gentle polling of one profile in a worker thread: tracked jobs and the queue table.

A :class:`ProfilePoller` runs ``remote.monitor.Monitor.poll_once`` (one ``squeue`` for all
tracked jobs, metrics tailed by byte offset) plus one ``squeue`` for the queue table, then
sleeps the monitor's backoff delay (2 s after a change, growing to 60 s). ``refresh()`` wakes
it at once; ``stop()`` ends it at the next wake-up. Results arrive on the GUI thread as
signals. The loop never raises: a failure becomes an ``error`` signal and a longer wait.
"""

from __future__ import annotations

import threading
import time

from PySide6 import QtCore

from gui import workers
from remote.backend import Backend
from remote.jobs import JobError, scheduler_for
from remote.monitor import Monitor
from remote.slurm import parse_squeue, squeue_command
from remote.ssh import SshError
from remote.store import JobStore

#: Queue-table refresh while no job is tracked (the monitor then has nothing to poll).
IDLE_QUEUE_DELAY_S = 30.0
ERROR_DELAY_S = 15.0


def queue_snapshot(backend: Backend, store: JobStore, mine_only: bool) -> list:
    """The queue table's rows: ``squeue`` of the user (or everyone); for ``local``, the tracked jobs."""
    scheduler = scheduler_for(backend)
    if backend.profile.is_local:
        jobs = {j.job_id: j.job_dir for j in store.jobs(backend.profile.name)[:50] if j.job_dir}
        return scheduler.queue(jobs)
    if mine_only:
        return scheduler.user_queue()
    result = backend.run(squeue_command(), timeout_s=60)
    if not result.ok:
        raise JobError(f"squeue failed: {result.text or result.rc}")
    return parse_squeue(result.stdout)


class ProfilePoller(QtCore.QObject):
    """Polls one profile until stopped.

    Signals
    -------
    events_arrived(object)
        A list of ``remote.monitor.MonitorEvent`` (possibly empty) after each poll.
    queue_arrived(object, float)
        Queue rows (``QueueEntry`` list) and the time they were read.
    failed(str)
        A poll failed (connection, squeue); the poller keeps going.
    """

    events_arrived = QtCore.Signal(object)
    queue_arrived = QtCore.Signal(object, float)
    failed = QtCore.Signal(str)

    def __init__(self, backend: Backend, store: JobStore, min_delay_s: float = 2.0, max_delay_s: float = 60.0):
        super().__init__()
        self.backend = backend
        self.store = store
        self.monitor = Monitor(backend, store, min_delay_s=min_delay_s, max_delay_s=max_delay_s)
        self.mine_only = True
        self.queue_wanted = True
        self._wake = threading.Event()
        self._stop = False
        self.worker = None
        self.polls = 0

    @property
    def profile(self) -> str:
        return self.backend.profile.name

    def start(self) -> None:
        self.worker = workers.start_generator(self._loop, on_yielded=self._on_yielded)

    def refresh(self) -> None:
        """Poll now (after a submit, a cancel, or the Refresh button)."""
        self.monitor.notify_submitted()
        self._wake.set()

    def stop(self) -> None:
        self._stop = True
        self._wake.set()
        if self.worker is not None:
            self.worker.quit()

    @property
    def running(self) -> bool:
        return self.worker is not None and not self._stop

    def _loop(self):
        while not self._stop:
            events, queue, error = [], None, ""
            try:
                events = self.monitor.poll_once()
                if self.queue_wanted:
                    queue = queue_snapshot(self.backend, self.store, self.mine_only)
            except (SshError, JobError, OSError) as exc:
                error = str(exc) or type(exc).__name__
            self.polls += 1
            yield ("poll", events, queue, time.time(), error)
            if self._stop:
                return
            delay = self.monitor.next_delay_s()
            if error:
                delay = ERROR_DELAY_S
            elif delay is None:
                delay = IDLE_QUEUE_DELAY_S
            self._wake.wait(delay)
            self._wake.clear()

    def _on_yielded(self, item) -> None:
        _, events, queue, at, error = item
        if events:
            self.events_arrived.emit(events)
        if queue is not None:
            self.queue_arrived.emit(queue, at)
        if error:
            self.failed.emit(error)
