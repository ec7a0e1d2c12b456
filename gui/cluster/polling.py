"""Gentle polling of one profile in a worker thread: tracked jobs and the queue table.

A :class:`ProfilePoller` runs ``remote.monitor.Monitor.poll_once`` (one ``squeue`` for all
tracked jobs, metrics tailed by byte offset) plus one ``squeue`` for the queue table in a
worker, then waits the monitor's backoff delay (2 s after a change, growing to 60 s) on a
timer. ``refresh()`` polls at once; ``stop()`` ends it. Results arrive on the GUI thread as
signals. A poll never raises: a failure becomes a ``failed`` signal and a longer wait.
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
from remote.states import ConnectionStatus, EventKind
from remote.store import JobStore

#: Queue-table refresh while no job is tracked (the monitor then has nothing to poll).
IDLE_QUEUE_DELAY_S = 30.0
ERROR_DELAY_S = 15.0
#: Waits between reconnect attempts while the machine cannot be reached: short at first (an
#: sshd restart takes seconds), doubling to a ceiling so a long outage costs little.
RECONNECT_DELAYS_S = (2.0, 4.0, 8.0, 15.0, 30.0)


def reconnect_delay_s(attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...)."""
    return RECONNECT_DELAYS_S[min(max(attempt, 1), len(RECONNECT_DELAYS_S)) - 1]


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

    Each poll is one short worker (the thread pool has few threads: nobody may sleep in
    one); the wait in between is a single-shot timer on the GUI thread.

    Signals
    -------
    events_arrived(object)
        A list of ``remote.monitor.MonitorEvent`` (possibly empty) after each poll.
    queue_arrived(object, float)
        Queue rows (``QueueEntry`` list) and the time they were read.
    failed(str)
        A poll failed (connection, squeue); the poller keeps going.
    connection_changed(str, str, int, float)
        After each poll of an SSH profile: ``("connected", "", 0, 0)`` when it reached the
        machine, ``("reconnecting", message, attempt, next_in_s)`` when the connection was
        lost: the how-manieth poll in a row that failed, and the seconds until the next try.
        The poller is the one part that keeps trying after an outage, so it is what notices
        the recovery.
    """

    events_arrived = QtCore.Signal(object)
    queue_arrived = QtCore.Signal(object, float)
    failed = QtCore.Signal(str)
    connection_changed = QtCore.Signal(str, str, int, float)

    def __init__(self, backend: Backend, store: JobStore, min_delay_s: float = 2.0, max_delay_s: float = 60.0,
                 lock=None):
        super().__init__()
        self.backend = backend
        self.lock = lock if lock is not None else threading.RLock()
        self.store = store
        self.monitor = Monitor(backend, store, min_delay_s=min_delay_s, max_delay_s=max_delay_s)
        self.mine_only = True
        self.queue_wanted = True
        self.polls = 0
        #: Polls in a row that could not reach the machine (0 while it answers).
        self.failed_attempts = 0
        self._stopped = True
        self._in_flight = False
        self._again = False
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._poll)

    @property
    def profile(self) -> str:
        return self.backend.profile.name

    @property
    def running(self) -> bool:
        return not self._stopped

    def start(self) -> None:
        self._stopped = False
        self._timer.start(0)

    def refresh(self) -> None:
        """Poll now (after a submit, a cancel, or the Refresh button)."""
        self.monitor.notify_submitted()
        if self._stopped:
            return
        if self._in_flight:
            self._again = True
        else:
            self._timer.start(0)

    def stop(self) -> None:
        self._stopped = True
        self._timer.stop()

    def _poll(self) -> None:
        if self._stopped or self._in_flight:
            return
        self._in_flight = True
        workers.start_function(self.poll_once, self.mine_only, on_returned=self._on_polled,
                               on_errored=lambda exc: self._on_polled(([], None, time.time(), str(exc), "")),
                               _ignore_errors=True)

    def poll_once(self, mine_only: bool):
        """One poll (the poller runs it in a worker thread): monitor events, then the queue
        table's rows. A poll still running after :meth:`stop` returns nothing if it fails.

        Returns ``(events, queue rows or None, time, error, connection lost message)``.
        """
        events, queue, error, lost = [], None, "", ""
        try:
            with self.lock:
                events = self.monitor.poll_once()
                if self.queue_wanted:
                    queue = queue_snapshot(self.backend, self.store, mine_only)
        except (SshError, JobError, OSError) as exc:
            error = str(exc) or type(exc).__name__
            if isinstance(exc, SshError):
                lost = error
        except Exception:
            if self._stopped:
                # Stopped while this poll ran: the window is closing, and the job store or
                # the connection may be closed under it. Nobody waits for this result.
                return [], None, time.time(), "", ""
            raise
        if not lost:
            lost = next((e.message or "connection lost" for e in events
                         if e.kind == EventKind.CONNECTION and e.state != ConnectionStatus.CONNECTED), "")
        return events, queue, time.time(), error, lost

    def _on_polled(self, result) -> None:
        self._in_flight = False
        self.polls += 1
        events, queue, at, error, lost = result
        if self._stopped:
            return
        self.failed_attempts = self.failed_attempts + 1 if lost else 0
        retry_in = reconnect_delay_s(self.failed_attempts) if lost else 0.0
        if lost and self._again:
            retry_in = 0.0
        if not self.backend.profile.is_local:
            self.connection_changed.emit(ConnectionStatus.RECONNECTING if lost else ConnectionStatus.CONNECTED, lost,
                                         self.failed_attempts, retry_in)
        if events:
            self.events_arrived.emit(events)
        if queue is not None:
            self.queue_arrived.emit(queue, at)
        if error:
            self.failed.emit(error)
        if self._stopped:
            return
        if self._again:
            self._again = False
            delay = 0.0
        else:
            delay = self.monitor.next_delay_s()
            if lost:
                delay = retry_in
            elif error:
                delay = ERROR_DELAY_S
            elif delay is None:
                delay = IDLE_QUEUE_DELAY_S
        self._timer.start(int(delay * 1000))
