"""The monitor: one ``squeue`` per poll for all of a profile's tracked jobs, metrics tailed.

Each :meth:`Monitor.poll_once` makes ONE ``squeue`` call for every active job of the profile
(never one per job), reads the new complete lines of each job's metrics file from the byte
offset kept in the :class:`~remote.store.JobStore`, and gives finished jobs one ``sacct`` call
(falling back to ``scontrol show job`` and the job's recorded exit status when accounting is
off). It returns what changed as :class:`MonitorEvent` objects, so a GUI worker thread can
call it and sleep :meth:`Monitor.next_delay_s` in between: ~2 s right after a submit or a
change, growing x1.5 per quiet poll up to ~60 s, and ``None`` (do not poll) while nothing is
tracked. :meth:`Monitor.watch` is the blocking iterator the CLI uses.

A dropped connection is an event (``kind="connection"``), not an exception: the next poll
reconnects, and since the offset and the records move together in one transaction, every
record arrives exactly once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from remote.backend import Backend
from remote.jobs import METRICS_NAME, scheduler_for
from remote.logparse import decode_json_lines
from remote.output import read_new_output
from remote.slurm import FINISHED_STATES, QueueEntry, ran_on_nodes, time_to_seconds
from remote.ssh import ConnectionLostError
from remote.states import ConnectionStatus, EventKind
from remote.store import JobStore, StoreError, StoredJob

logger = logging.getLogger(__name__)

#: Largest piece of a metrics file read in one poll (the rest comes next poll).
MAX_READ_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class MonitorEvent:
    """Something that changed.

    ``kind`` is an :class:`~remote.states.EventKind` (a string given is turned into one):

    - ``"state"``: a job's state (or pending reason) changed; ``state``, ``reason`` set.
    - ``"records"``: new metrics lines arrived; ``records`` holds the decoded JSON objects,
      ``lines`` the raw lines (for non-JSON logs).
    - ``"finished"``: the job ended; ``state`` is final, ``exit_code`` as SLURM reports it.
    - ``"connection"``: the connection state changed; ``state`` is ``connected`` or
      ``reconnecting`` and ``message`` the last error.
    - ``"warning"``: something odd in SLURM's output (skipped, not fatal).
    """

    kind: EventKind
    profile: str
    job_id: str = ""
    state: str = ""
    reason: str = ""
    records: tuple[dict, ...] = ()
    lines: tuple[str, ...] = ()
    exit_code: int | None = None
    message: str = ""

    def __post_init__(self):
        object.__setattr__(self, "kind", EventKind(self.kind))


def complete_lines(data: bytes) -> tuple[list[str], int]:
    """The complete lines in ``data`` and how many bytes they span (a partial last line waits)."""
    end = data.rfind(b"\n")
    if end < 0:
        return [], 0
    chunk = data[: end + 1]
    lines = [ln.decode("utf-8", "replace").rstrip("\r") for ln in chunk.split(b"\n")[:-1]]
    return [ln for ln in lines if ln.strip()], end + 1


@dataclass
class _Backoff:
    min_s: float
    max_s: float
    factor: float
    current_s: float = field(init=False)

    def __post_init__(self):
        self.current_s = self.min_s

    def reset(self) -> None:
        self.current_s = self.min_s

    def grow(self) -> None:
        self.current_s = min(self.current_s * self.factor, self.max_s)


def _end_time(job, final, entry, now: float) -> float:
    """When a finished job ended: its start plus the run time SLURM reports, else ``now``."""
    ran_s = time_to_seconds(final.elapsed) if final is not None and final.elapsed else None
    if ran_s is None and entry is not None:
        ran_s = entry.elapsed_s
    if job is None or job.started_at is None or ran_s is None:
        return now
    return min(now, job.started_at + ran_s)


def _marks(job: StoredJob) -> set[str]:
    return {m for m in (job.slurm_times or "").split(",") if m}


def _never_ran(entry) -> bool:
    """SLURM says the job ended without ever being given nodes (cancelled while pending).

    ``squeue`` leaves a finished job's node list empty then; ``sacct`` writes "None
    assigned" and ``scontrol`` "(null)". An entry that only knows the exit status says nothing.
    """
    if entry is None or entry.state not in FINISHED_STATES:
        return False
    if isinstance(entry, QueueEntry):
        return not ran_on_nodes(entry.nodelist)
    return entry.nodelist.strip() in ("(null)", "None assigned")


def _slurm_time_changes(job: StoredJob, entry, now: float) -> dict:
    """Store changes that put SLURM's submit and start times (``squeue``) in place of poll times.

    A start is taken only from a job SLURM gave nodes to: a pending job's start is SLURM's
    estimate, and a job cancelled while pending has a "start" equal to its cancel. Where
    SLURM gives no time, a running job's start is reckoned from its elapsed time and marked
    as seen (not SLURM's).
    """
    marks = _marks(job)
    changes: dict = {}
    submit_s, start_s = entry.submit_s, entry.start_s
    if submit_s is not None and "submitted" not in marks:
        changes["submitted_at"] = submit_s
        marks.add("submitted")
    if start_s is not None and "started" not in marks:
        changes["started_at"] = start_s
        marks.add("started")
    elif (start_s is None and job.started_at is None and entry.state not in ("PENDING", "UNKNOWN")
          and not (entry.finished and not ran_on_nodes(entry.nodelist))):
        # Polls back off to a minute: SLURM's elapsed time says how long ago it started.
        started_s = now - (entry.elapsed_s or 0)
        # A job of ours cannot start before we submitted it; a job we only watch may have
        # been running long before we began to (its submitted_at is that moment).
        changes["started_at"] = max(job.submitted_at or 0.0, started_s) if job.kind == "tracked" else started_s
    if changes:
        changes["slurm_times"] = ",".join(sorted(marks))
    return changes


def _final_time_changes(job: StoredJob, final, entry, now: float) -> dict:
    """Store changes for a job that ended: SLURM's end (and start) where it says, else the poll's."""
    marks = _marks(job)
    changes: dict = {}
    for source in (final, entry):
        if source is None:
            continue
        if source.submit_s is not None and "submitted" not in marks:
            changes["submitted_at"] = source.submit_s
            marks.add("submitted")
        if source.start_s is not None and "started" not in marks:
            changes["started_at"] = source.start_s
            marks.add("started")
        if source.end_s is not None and "ended" not in marks:
            changes["ended_at"] = source.end_s
            marks.add("ended")
    if _never_ran(final) or _never_ran(entry):
        changes["started_at"] = None  # a start seen by a poll was the cancel, not a start
        marks.discard("started")
    if "ended" not in marks:
        changes["ended_at"] = _end_time(job, final, entry, now)
    changes["slurm_times"] = ",".join(sorted(marks))
    return changes


class Monitor:
    """Polls one profile's tracked jobs; see the module docstring.

    Parameters
    ----------
    backend : Backend
        The profile's backend (its connection is reused for squeue and SFTP).
    store : JobStore
    min_delay_s, max_delay_s, backoff : float
        Poll delay right after a submit or change, its ceiling, and the growth per quiet poll.
    """

    def __init__(self, backend: Backend, store: JobStore, min_delay_s: float = 2.0, max_delay_s: float = 60.0,
                 backoff: float = 1.5):
        self.backend = backend
        self.store = store
        self.profile = backend.profile.name
        self.scheduler = scheduler_for(backend)
        self._delay = _Backoff(min_delay_s, max_delay_s, backoff)
        self._emitted: dict[str, int] = {}
        self._connection = ConnectionStatus.CONNECTED
        self.polls = 0
        self.squeue_calls = 0
        self.warnings: list[str] = []

    # -- scheduling
    def notify_submitted(self) -> None:
        """A job was just submitted: poll again soon (~2 s)."""
        self._delay.reset()

    def next_delay_s(self) -> float | None:
        """Seconds to wait before the next :meth:`poll_once`; ``None`` when nothing is tracked."""
        if not self.store.jobs(self.profile, active_only=True):
            return None
        return self._delay.current_s

    # -- one poll
    def poll_once(self) -> list[MonitorEvent]:
        """Update every active job of the profile once; return what changed."""
        active = self.store.jobs(self.profile, active_only=True)
        if not active:
            return []
        self.polls += 1
        logger.debug("%s: poll %d of %d active job(s)", self.profile, self.polls, len(active))
        events: list[MonitorEvent] = []
        try:
            events += self._poll(active)
        except ConnectionLostError as exc:
            self._delay.grow()
            if self._connection != ConnectionStatus.RECONNECTING:
                self._connection = ConnectionStatus.RECONNECTING
                logger.info("%s: connection lost while polling: %s", self.profile, exc)
            return events + [MonitorEvent(EventKind.CONNECTION, self.profile, state=ConnectionStatus.RECONNECTING,
                                          message=str(exc))]
        if self._connection != ConnectionStatus.CONNECTED:
            self._connection = ConnectionStatus.CONNECTED
            events.insert(0, MonitorEvent(EventKind.CONNECTION, self.profile, state=ConnectionStatus.CONNECTED))
        if any(e.kind in (EventKind.STATE, EventKind.RECORDS, EventKind.FINISHED) for e in events):
            self._delay.reset()
        else:
            self._delay.grow()
        for e in events:
            if e.kind in ("state", "finished", "connection"):
                logger.info("%s: %s %s %s %s", self.profile, e.kind, e.job_id or "-", e.state,
                            e.reason or e.message or ("" if e.exit_code is None else f"exit code {e.exit_code}"))
        logger.debug("%s: %d event(s); next poll in %.0f s", self.profile, len(events), self._delay.current_s)
        return events

    def _poll(self, active: list[StoredJob]) -> list[MonitorEvent]:
        events: list[MonitorEvent] = []
        warnings: list[str] = []
        by_id = {job.job_id: job for job in active}
        for job in active:
            self._emitted.setdefault(job.job_id, job.n_records)
        self.squeue_calls += 1
        entries = {e.job_id: e for e in self.scheduler.queue({j.job_id: j.job_dir for j in active}, warnings)}
        now = time.time()
        finished: list[StoredJob] = []
        for job_id, job in by_id.items():
            entry = entries.get(job_id)
            if entry is None:
                # Gone from squeue: SLURM has forgotten it (or never had it): ask accounting.
                finished.append(job)
                continue
            changes: dict = {}
            if entry.state != job.state or entry.reason != job.reason:
                changes.update(state=entry.state, reason=entry.reason)
                events.append(MonitorEvent(EventKind.STATE, self.profile, job_id, state=entry.state, reason=entry.reason))
            changes.update(_slurm_time_changes(job, entry, now))
            if job.kind == "external" and entry.name and not job.name:
                changes["name"] = entry.name
            if changes:
                self.store.update(self.profile, job_id, **changes)
            if entry.state in FINISHED_STATES:
                finished.append(job)
        # Metrics: after squeue, so a job seen finished has written all it will write.
        for job in active:
            state = entries[job.job_id].state if job.job_id in entries else "GONE"
            if job.metrics_path and state != "PENDING":
                events += self._tail(self._metrics_source(job, state))
        if finished:
            finals = self.scheduler.finals({j.job_id: j.job_dir for j in finished}, warnings)
            for job in finished:
                final = finals.get(job.job_id)
                entry = entries.get(job.job_id)
                if final is not None and final.state in FINISHED_STATES:
                    state, code = final.state, final.exit_code
                elif entry is not None and entry.state in FINISHED_STATES:
                    state, code = entry.state, None
                elif final is None and entry is None:
                    state, code = "UNKNOWN", None
                else:
                    continue  # accounting still says running: look again next poll
                current = self.store.get(self.profile, job.job_id) or job
                self.store.update(self.profile, job.job_id, state=state, exit_code=code, active=False, reason="",
                                  **_final_time_changes(current, final, entry, now))
                events.append(MonitorEvent(EventKind.FINISHED, self.profile, job.job_id, state=state, exit_code=code))
        for w in warnings:
            self.warnings.append(w)
            events.append(MonitorEvent(EventKind.WARNING, self.profile, message=w))
        del self.warnings[:-100]  # keep the latest few for a status line, not a growing log
        return events

    def _skip_long_line(self, job: StoredJob, path: str, offset: int, scanned: int) -> MonitorEvent | None:
        """Step over one metrics line longer than :data:`MAX_READ_BYTES` that starts at ``offset``.

        Reads on (in chunks) to the line's end and moves the stored offset past it; returns the
        warning to show, or ``None`` while the line has no end yet (it is still being written).
        """
        end = offset + scanned
        while True:
            try:
                more = self.backend.read_bytes(path, end, MAX_READ_BYTES)
            except FileNotFoundError:
                return None
            if not more:
                return None
            newline = more.find(b"\n")
            if newline >= 0:
                end += newline + 1
                break
            end += len(more)
        try:
            self.store.append_records(self.profile, job.job_id, [], offset, end)
        except StoreError:
            return None  # another watcher stepped over it first (and said so)
        return MonitorEvent(EventKind.WARNING, self.profile, job.job_id, message=(
            f"job {job.job_id}: skipped a metrics line of {end - offset} bytes at byte {offset} of {path} "
            f"(longer than {MAX_READ_BYTES // (1024 * 1024)} MiB)"))

    def _metrics_source(self, job: StoredJob, state: str) -> StoredJob:
        """The job, reading its output file as metrics when a followed job ended without a metrics file.

        A job followed by id is given its folder's ``metrics.jsonl`` (what a ScaleLab run
        writes); a job that ended without one (a Keras script, say) may have printed its
        progress into its output file instead, which the records then come from.
        """
        if (job.kind != "external" or not job.output_path or job.n_records or job.metrics_offset
                or not job.job_dir or job.metrics_path != f"{job.job_dir}/{METRICS_NAME}"
                or (state not in FINISHED_STATES and state != "GONE")
                or self.backend.size(job.metrics_path) is not None):
            return job
        self.store.update(self.profile, job.job_id, metrics_path=job.output_path)
        return self.store.get(self.profile, job.job_id) or job

    def _tail(self, job: StoredJob) -> list[MonitorEvent]:
        warnings: list[MonitorEvent] = []
        while True:
            current = self.store.get(self.profile, job.job_id) or job
            offset = current.metrics_offset
            try:
                data = self.backend.read_bytes(current.metrics_path, offset, MAX_READ_BYTES)
            except FileNotFoundError:
                data = b""
            lines, used = complete_lines(data)
            if not used and len(data) >= MAX_READ_BYTES:
                # One line fills the whole chunk: without this the offset would never move again.
                warning = self._skip_long_line(current, current.metrics_path, offset, len(data))
                if warning is None:
                    break
                warnings.append(warning)
                continue
            if used:
                try:
                    self.store.append_records(self.profile, job.job_id, lines, offset, offset + used)
                except StoreError:
                    pass  # another watcher stored these lines first; they are in the store
            # A full chunk means there may be more: read on, so a finished job is read to its end.
            if len(data) < MAX_READ_BYTES or not used:
                break
        return warnings + self._stored_records(job.job_id)

    def _stored_records(self, job_id: str) -> list[MonitorEvent]:
        """The records in the store this monitor has not handed out yet (whoever stored them)."""
        start = self._emitted.get(job_id, 0)
        new_lines = self.store.record_lines(self.profile, job_id, start)
        if not new_lines:
            return []
        self._emitted[job_id] = start + len(new_lines)
        return [MonitorEvent(EventKind.RECORDS, self.profile, job_id, records=tuple(decode_json_lines(new_lines)),
                             lines=tuple(new_lines))]

    # -- blocking use (CLI)
    def watch(self, job_id: str, sleep: Callable[[float], None] = time.sleep,
              max_wait_s: float | None = None, from_record: int | None = 0) -> Iterator[MonitorEvent]:
        """Poll until ``job_id`` has finished, yielding the events that concern it.

        Every record from number ``from_record`` on (``None``: only those that arrive from now)
        is yielded exactly once and in order, whoever stored it: another watcher of the same
        job (another process on the same store) may read the file first, or see the job end
        first. The last event is always the job's ``finished`` event, after all its records,
        also when the store already has it finished. Connection events are yielded too (the CLI
        reports them).
        """
        started = time.monotonic()
        job = self.store.get(self.profile, job_id)
        if job is None:
            raise KeyError(f"job {job_id} is not tracked for profile {self.profile}")
        # One count, read once: records stored from here on are ours to hand out.
        self._emitted[job_id] = job.n_records if from_record is None else max(0, from_record)
        yield from self._stored_records(job_id)
        while True:
            job = self.store.get(self.profile, job_id)
            if job is None:
                return
            if not job.active:
                # Someone else saw it end: the store has every record it read before marking it.
                yield from self._stored_records(job_id)
                yield MonitorEvent(EventKind.FINISHED, self.profile, job_id, state=job.state, exit_code=job.exit_code)
                return
            for event in self.poll_once():
                if event.job_id == job_id or event.kind == EventKind.CONNECTION:
                    if event.kind == EventKind.FINISHED and event.job_id == job_id:
                        yield from self._stored_records(job_id)
                        yield event
                        return
                    yield event
            if max_wait_s is not None and time.monotonic() - started > max_wait_s:
                return
            delay = self.next_delay_s()
            if delay is None:
                return
            sleep(delay)


def follow_output(backend: Backend, job: StoredJob, sleep: Callable[[float], None] = time.sleep,
                  min_delay_s: float = 2.0, max_delay_s: float = 60.0, backoff: float = 1.5) -> Iterator[bytes]:
    """Yield a job's output file as it grows (whole lines), until the job has ended.

    Like the monitor, it asks the scheduler about the job ~every ``min_delay_s`` while output
    or state changes, backing off (x ``backoff``) to ``max_delay_s`` while nothing happens.
    After the job ends, the rest of the file (a last line without newline too) comes last.

    Parameters
    ----------
    backend : Backend
    job : StoredJob
        Needs ``output_path`` (and ``job_dir`` for local jobs).
    sleep : callable
        ``sleep(seconds)`` between polls (tests pass their own).
    """
    scheduler = scheduler_for(backend)
    delay = _Backoff(min_delay_s, max_delay_s, backoff)
    offset = 0
    last_state = None
    while True:
        piece = read_new_output(backend, job.output_path, offset, whole_lines=True, max_bytes=None)
        if piece is not None and piece.data:
            yield piece.data
            offset = piece.offset
            delay.reset()
        entries = scheduler.queue({job.job_id: job.job_dir})
        state = entries[0].state if entries else None
        if state is None or state in FINISHED_STATES:
            rest = read_new_output(backend, job.output_path, offset, whole_lines=False, max_bytes=None)
            if rest is not None and rest.data:
                yield rest.data
            return
        if state != last_state:
            last_state = state
            delay.reset()
        sleep(delay.current_s)
        delay.grow()


__all__ = ["MAX_READ_BYTES", "ConnectionStatus", "EventKind", "Monitor", "MonitorEvent", "complete_lines",
           "follow_output"]
