"""The shown job's output file, read in a worker as it grows (``remote.output.read_new_output``).

:class:`OutputTail` keeps the byte offset read so far per job, reads on every
:data:`OUTPUT_POLL_MS` while it is active (the Job tab is on show and the job still runs) and
when asked with :meth:`OutputTail.poll`, and hands the new text over with a signal. It waits
until SLURM has started the job: SLURM creates (or truncates) the output file then, so a
file of that name before is an earlier job's.
"""

from __future__ import annotations

from PySide6 import QtCore

from gui.cluster.connections import ConnectionManager
from remote.backend import Backend
from remote.output import OUTPUT_TAIL_BYTES, read_new_output
from remote.states import ConnectionStatus
from remote.store import JobStore

OUTPUT_POLL_MS = 3000


class OutputTail(QtCore.QObject):
    """Follows one job's output file at a time.

    Signals
    -------
    output_arrived(str, str, str)
        ``(profile, job_id, text)``: what the file gained.
    output_empty(str, str)
        The job has ended and its output file is empty.
    """

    output_arrived = QtCore.Signal(str, str, str)
    output_empty = QtCore.Signal(str, str)

    def __init__(self, connections: ConnectionManager, store: JobStore, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.connections = connections
        self.store = store
        self.job_key: tuple[str, str] | None = None
        self.active = False
        self.offsets: dict[tuple[str, str], int] = {}
        self._busy = False
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(OUTPUT_POLL_MS)
        self._timer.timeout.connect(self._on_timer)
        self._timer.start()

    def set_store(self, store: JobStore) -> None:
        self.store = store
        self.offsets.clear()

    def follow(self, profile: str, job_id: str) -> None:
        """Follow this job's output from now on (what was read of it before is not read again)."""
        self.job_key = (profile, job_id)

    def clear(self) -> None:
        self.job_key = None

    def set_active(self, active: bool) -> None:
        """Read on the timer only while someone looks (the Job tab is on show)."""
        self.active = active

    def stop(self) -> None:
        self._timer.stop()

    def _on_timer(self) -> None:
        if self.active and self.job_key is not None:
            job = self.store.get(*self.job_key)
            if job is not None and not job.finished:
                self.poll()

    def poll(self) -> None:
        """Read what the followed job's output file gained since last time (in a worker)."""
        if self.job_key is None or self._busy:
            return
        job = self.store.get(*self.job_key)
        profile = self.connections.profiles.get(job.profile) if job is not None else None
        if job is None or not job.output_path or profile is None:
            return
        if job.state in ("", "PENDING"):
            return  # not started: a file of that name is an earlier job's
        if not profile.is_local and self.connections.state(job.profile)[0] != ConnectionStatus.CONNECTED:
            return
        key = (job.profile, job.job_id)
        offset = self.offsets.get(key)

        def read(backend: Backend):
            # Whole lines while the job runs; once it has ended, its unfinished last line too.
            return read_new_output(backend, job.output_path, offset, whole_lines=not job.finished,
                                   tail_bytes=OUTPUT_TAIL_BYTES)

        def done(piece):
            self._busy = False
            if piece is None or self.offsets.get(key) != offset:
                return
            self.offsets[key] = piece.offset
            if self.job_key != key:
                return
            if piece.data:
                self.output_arrived.emit(*key, piece.data.decode("utf-8", errors="replace"))
            elif job.finished and piece.offset == 0:
                self.output_empty.emit(*key)

        def failed(_message: str):
            self._busy = False

        self._busy = True
        if self.connections.run(job.profile, read, on_result=done, on_error=failed) is None:
            self._busy = False


__all__ = ["OUTPUT_POLL_MS", "OutputTail"]
