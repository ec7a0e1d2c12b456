"""The local job store (SQLite): tracked jobs, their states, byte offsets and records.

A restart or a reconnect continues exactly where it was because the store keeps, per job, the
byte offset of the metrics file read so far and every record received; both change in ONE
transaction (:meth:`JobStore.append_records`), so a crash never loses a record nor stores one
twice. The file lives in ``$SCALELAB_DATA_DIR`` when set, else in the platform's data folder
(``platformdirs.user_data_dir("scalelab")``), as ``jobs.sqlite``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass, fields
from typing import Any, Iterable

from remote.config import data_dir
from remote.logparse import decode_json_lines
from remote.slurm import FINISHED_STATES, job_id_key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    profile        TEXT NOT NULL,
    job_id         TEXT NOT NULL,
    name           TEXT NOT NULL DEFAULT '',
    kind           TEXT NOT NULL DEFAULT 'tracked',
    state          TEXT NOT NULL DEFAULT 'PENDING',
    reason         TEXT NOT NULL DEFAULT '',
    job_dir        TEXT NOT NULL DEFAULT '',
    output_path    TEXT NOT NULL DEFAULT '',
    metrics_path   TEXT NOT NULL DEFAULT '',
    metrics_offset INTEGER NOT NULL DEFAULT 0,
    n_records      INTEGER NOT NULL DEFAULT 0,
    exit_code      INTEGER,
    ntasks         INTEGER,
    submitted_at   REAL,
    started_at     REAL,
    ended_at       REAL,
    updated_at     REAL,
    active         INTEGER NOT NULL DEFAULT 1,
    message        TEXT NOT NULL DEFAULT '',
    slurm_times    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (profile, job_id)
);
CREATE TABLE IF NOT EXISTS records (
    profile     TEXT NOT NULL,
    job_id      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    line        TEXT NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (profile, job_id, seq)
);
"""


class StoreError(RuntimeError):
    """The job store cannot be opened, or an update would lose or repeat records."""


@dataclass(frozen=True)
class StoredJob:
    """One job the store knows. ``kind`` is ``tracked`` (submitted here) or ``external``.

    ``active`` is true while the monitor should poll it; times are Unix seconds (or None).
    """

    profile: str
    job_id: str
    name: str
    kind: str
    state: str
    reason: str
    job_dir: str
    output_path: str
    metrics_path: str
    metrics_offset: int
    n_records: int
    exit_code: int | None
    ntasks: int | None
    submitted_at: float | None
    started_at: float | None
    ended_at: float | None
    updated_at: float | None
    active: bool
    message: str
    #: Which of ``submitted``/``started``/``ended`` are SLURM's own times (comma-separated);
    #: the others are when a poll first saw the change.
    slurm_times: str = ""

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    def from_slurm(self, which: str) -> bool:
        """Whether time ``which`` (``submitted``, ``started``, ``ended``) is SLURM's, not a poll's."""
        return which in self.slurm_times.split(",")


_COLUMNS = [f.name for f in fields(StoredJob)]


def default_store_path() -> str:
    """``$SCALELAB_DATA_DIR/jobs.sqlite``, else the platform data folder's ``jobs.sqlite``."""
    return os.path.join(data_dir(), "jobs.sqlite")


class JobStore:
    """SQLite-backed memory of jobs and their metrics records; safe to share between threads.

    Parameters
    ----------
    path : str, optional
        Database file (``":memory:"`` works for tests); default :func:`default_store_path`.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = os.fspath(path) if path is not None else default_store_path()
        if self.path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(self.path)) or ".", mode=0o700, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
            if "slurm_times" not in columns:  # a store written before SLURM's times were kept
                self._db.execute("ALTER TABLE jobs ADD COLUMN slurm_times TEXT NOT NULL DEFAULT ''")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the job store {self.path}: {exc}") from None
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- jobs
    def add_job(self, profile: str, job_id: str, *, name: str = "", job_dir: str = "", output_path: str = "",
                metrics_path: str = "", kind: str = "tracked", ntasks: int | None = None,
                submitted_at: float | None = None, state: str = "PENDING", replace: bool = False) -> StoredJob:
        """Start tracking a job.

        An existing entry with the same id is kept as it is, unless ``replace`` (a fresh
        submit that got an id SLURM handed out before, e.g. after a cluster was reset): then
        the old entry and its records are dropped in the same transaction.
        """
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if replace:
                    self._db.execute("DELETE FROM records WHERE profile=? AND job_id=?", (profile, str(job_id)))
                    self._db.execute("DELETE FROM jobs WHERE profile=? AND job_id=?", (profile, str(job_id)))
                self._db.execute(
                    "INSERT OR IGNORE INTO jobs (profile, job_id, name, kind, state, job_dir, output_path,"
                    " metrics_path, ntasks, submitted_at, updated_at, active) VALUES (?,?,?,?,?,?,?,?,?,?,?,1)",
                    (profile, str(job_id), name, kind, state, job_dir, output_path, metrics_path, ntasks,
                     submitted_at if submitted_at is not None else now, now),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        job = self.get(profile, job_id)
        assert job is not None
        return job

    def watch_external(self, profile: str, job_id: str, output_path: str = "", metrics_path: str = "") -> StoredJob:
        """Follow any job (not submitted here): its state, and its output/metrics file if given."""
        job = self.add_job(profile, job_id, output_path=output_path, metrics_path=metrics_path, kind="external",
                           state="UNKNOWN")
        if not job.active:
            self.update(profile, job_id, active=True)
        return self.get(profile, job_id)  # type: ignore[return-value]

    def get(self, profile: str, job_id: str) -> StoredJob | None:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE profile=? AND job_id=?",
                                   (profile, str(job_id))).fetchone()
        return _job(row) if row else None

    def jobs(self, profile: str | None = None, active_only: bool = False) -> list[StoredJob]:
        """Jobs (of one profile), newest first."""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM jobs"
        where, args = [], []
        if profile is not None:
            where.append("profile=?")
            args.append(profile)
        if active_only:
            where.append("active=1")
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        jobs = sorted((_job(r) for r in rows), key=lambda j: job_id_key(j.job_id), reverse=True)
        return sorted(jobs, key=lambda j: j.submitted_at or 0.0, reverse=True)  # stable: ids break ties

    def update(self, profile: str, job_id: str, **values: Any) -> None:
        """Set some columns of a job (``state=``, ``reason=``, ``started_at=``, ``active=``, ...)."""
        allowed = set(_COLUMNS) - {"profile", "job_id", "metrics_offset", "n_records"}
        bad = set(values) - allowed
        if bad:
            raise StoreError(f"cannot set {', '.join(sorted(bad))} (metrics offsets change only with records)")
        if not values:
            return
        values["updated_at"] = time.time()
        cols = ", ".join(f"{k}=?" for k in values)
        args = [int(v) if isinstance(v, bool) else v for v in values.values()]
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {cols} WHERE profile=? AND job_id=?", (*args, profile, str(job_id)))

    def forget(self, profile: str, job_id: str) -> None:
        """Remove a job and its records."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM records WHERE profile=? AND job_id=?", (profile, str(job_id)))
                self._db.execute("DELETE FROM jobs WHERE profile=? AND job_id=?", (profile, str(job_id)))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # -- records
    def append_records(self, profile: str, job_id: str, lines: Iterable[str], expected_offset: int,
                       new_offset: int) -> int:
        """Store new metrics lines and move the byte offset, in one transaction.

        ``expected_offset`` must be the offset the lines were read from; if another watcher
        moved it meanwhile nothing is written and :class:`StoreError` is raised, so a record
        is never stored twice. Returns the number of records stored.
        """
        lines = list(lines)
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT metrics_offset, n_records FROM jobs WHERE profile=? AND job_id=?",
                                       (profile, str(job_id))).fetchone()
                if row is None:
                    raise StoreError(f"job {job_id} of profile {profile} is not in the store")
                offset, n = row
                if offset != expected_offset:
                    raise StoreError(
                        f"job {job_id}: metrics offset is {offset}, not {expected_offset} (another watcher read it)")
                self._db.executemany(
                    "INSERT INTO records (profile, job_id, seq, line, received_at) VALUES (?,?,?,?,?)",
                    [(profile, str(job_id), n + i, line, now) for i, line in enumerate(lines)],
                )
                self._db.execute(
                    "UPDATE jobs SET metrics_offset=?, n_records=?, updated_at=? WHERE profile=? AND job_id=?",
                    (new_offset, n + len(lines), now, profile, str(job_id)),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(lines)

    def record_lines(self, profile: str, job_id: str, start: int = 0) -> list[str]:
        """The stored metrics lines of a job from number ``start`` on, in arrival order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT line FROM records WHERE profile=? AND job_id=? AND seq>=? ORDER BY seq",
                (profile, str(job_id), start)).fetchall()
        return [r[0] for r in rows]

    def records(self, profile: str, job_id: str, start: int = 0) -> list[dict]:
        """The stored metrics records (decoded JSON objects) from number ``start`` on."""
        return decode_json_lines(self.record_lines(profile, job_id, start))


def _job(row) -> StoredJob:
    d = dict(zip(_COLUMNS, row))
    d["active"] = bool(d["active"])
    return StoredJob(**d)


__all__ = ["JobStore", "StoreError", "StoredJob", "default_store_path"]
