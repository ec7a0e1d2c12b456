"""Scaling sweeps: one spec trained on 1, 2, 4, ... ranks, one ordinary job per run.

A sweep runs its jobs one after another (jobs running side by side would share the cores and
spoil each other's timings) through the normal submit path, so each is a job in the store
like any other. After each job its metrics records are reduced to one throughput figure and
the table is rewritten:

- ``samples_per_s``: training samples per second of the whole job, over every epoch but the
  first (which pays for start-up: page faults, BLAS warm-up, MPI connections) when there are
  at least two; the median over ``--repeat`` runs.
- ``speedup``: ``samples_per_s`` over that of the smallest rank count, times that count
  (with 1 in the list, simply ``rate_N / rate_1``); ``efficiency`` = ``speedup / ranks``.
- ``compute_s``, ``comm_s``, ``wait_s``: seconds per epoch, the mean over ranks (from the
  per-rank lists ``rank_compute_s``, ``rank_comm_s``, ``rank_wait_s`` where the engine writes
  them, else from the record's ``compute_s`` and ``comm_s``; ``wait_s`` is ``None`` then).

Strong scaling keeps the spec's global batch (``train.batch_size``, see
:mod:`engine.parallel`) and splits it over the ranks; weak scaling keeps each rank's share
of it fixed (the spec's batch at the smallest rank count), so the global batch grows with
the ranks.

Everything a sweep knows lives in its folder: ``sweep.json`` (the plan and every run, written
atomically after each change), ``scaling.csv`` and ``scaling.json`` (the table). An
interrupted sweep keeps its finished runs, and :func:`run_sweep` on the same folder runs only
the missing ones.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import statistics
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

from engine.fileio import atomic_write
from engine.spec import MODEL_KINDS, RunSpec, load_spec
from engine.timeline import straggler_summary, straggler_warnings
from remote.backend import Backend
from remote.config import Profile, data_dir
from remote.jobs import JobError, JobOptions, cancel_job, submit_job
from remote.monitor import Monitor
from remote.states import EventKind

STATE_NAME = "sweep.json"
CSV_NAME = "scaling.csv"
JSON_NAME = "scaling.json"
MODES = ("strong", "weak")
STATE_VERSION = 1
#: the columns of ``scaling.csv`` (and the keys of each row of ``scaling.json``), in order
ROW_KEYS = ("ranks", "nodes", "global_batch", "runs", "samples_per_s", "speedup", "efficiency",
            "per_rank_samples_per_s", "compute_s", "comm_s", "wait_s")
#: how the repeats of one rank count are combined into its row
AGGREGATE = "median"
_COUNT_RE = re.compile(r"^\s*\d+\s*$")


class SweepInputError(ValueError):
    """A sweep request that cannot run; ``str(exc)`` is one line naming the problem."""


# ----------------------------------------------------------------------------- the request


def parse_counts(text: str, what: str) -> tuple[int, ...]:
    """``"1,2,4"`` -> ``(1, 2, 4)``.

    Raises
    ------
    SweepInputError
        An item that is not a whole number, a count below 1, a count listed twice.
    """
    items = str(text).split(",")
    if not str(text).strip():
        raise SweepInputError(f"--{what} is empty: give whole numbers separated by commas, e.g. 1,2,4")
    counts = []
    for item in items:
        if not _COUNT_RE.match(item):
            if re.match(r"^\s*-\s*\d+\s*$", item):
                raise SweepInputError(f"--{what}: {item.strip()} is below 1")
            raise SweepInputError(f"--{what}: {item.strip()!r} is not a whole number (expected e.g. 1,2,4)")
        value = int(item)
        if value < 1:
            raise SweepInputError(f"--{what}: {value} is below 1")
        counts.append(value)
    if len(set(counts)) != len(counts) and what == "ranks":
        raise SweepInputError(f"--ranks lists a count twice: {text.strip()}")
    return tuple(counts)


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep runs: the spec, where, which rank counts, on how many nodes, how often."""

    spec_path: str
    spec_sha256: str
    profile: str
    mode: str
    ranks: tuple[int, ...]
    nodes: tuple[int, ...]
    repeat: int
    base_batch: int
    time_limit: str = "00:10:00"

    def global_batch(self, ranks: int) -> int:
        """The global batch of the run on ``ranks`` ranks (strong: the spec's; weak: grows with ranks)."""
        if self.mode == "strong":
            return self.base_batch
        return self.base_batch // min(self.ranks) * ranks

    def points(self) -> list[tuple[int, int, int]]:
        """Every run as ``(ranks, nodes, repeat_index)``, in the order they run."""
        return [(r, n, k) for r, n in zip(self.ranks, self.nodes) for k in range(self.repeat)]

    def to_dict(self) -> dict:
        return {"spec_path": self.spec_path, "spec_sha256": self.spec_sha256, "profile": self.profile,
                "mode": self.mode, "ranks": list(self.ranks), "nodes": list(self.nodes), "repeat": self.repeat,
                "base_batch": self.base_batch, "time_limit": self.time_limit}

    @classmethod
    def from_dict(cls, d: dict) -> "SweepPlan":
        return cls(spec_path=str(d["spec_path"]), spec_sha256=str(d["spec_sha256"]), profile=str(d["profile"]),
                   mode=str(d["mode"]), ranks=tuple(int(r) for r in d["ranks"]),
                   nodes=tuple(int(n) for n in d["nodes"]), repeat=int(d["repeat"]), base_batch=int(d["base_batch"]),
                   time_limit=str(d.get("time_limit", "00:10:00")))


def _file_sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def make_plan(spec_path: str | os.PathLike, profile: Profile, ranks: Iterable[int], nodes: Iterable[int] | None = None,
              mode: str = "strong", repeat: int = 1, time_limit: str = "00:10:00") -> SweepPlan:
    """Check a sweep request completely, before anything is submitted.

    Parameters
    ----------
    spec_path : path
        A network spec (``mlp``, ``logistic``, ``perceptron``).
    profile : Profile
    ranks : iterable of int
        The rank counts, each >= 1.
    nodes : iterable of int, optional
        One node count per rank count, or one for all (default 1). Each must divide its rank
        count (the same number of ranks on every node) and the ``local`` profile has one node.
    mode : ``"strong"`` or ``"weak"``
    repeat : int
        Runs per rank count (>= 1).

    Raises
    ------
    SweepInputError, SpecError, OSError
        One line naming the problem.
    """
    ranks = tuple(ranks)
    if not ranks:
        raise SweepInputError("--ranks is empty: give whole numbers separated by commas, e.g. 1,2,4")
    for r in ranks:
        if r < 1:
            raise SweepInputError(f"--ranks: {r} is below 1")
    if mode not in MODES:
        raise SweepInputError(f"--mode {mode!r} is not one of {', '.join(MODES)}")
    if repeat < 1:
        raise SweepInputError(f"--repeat {repeat} is below 1")
    nodes = tuple(nodes) if nodes is not None else (1,)
    if len(nodes) == 1:
        nodes = nodes * len(ranks)
    if len(nodes) != len(ranks):
        raise SweepInputError(f"--nodes gives {len(nodes)} counts for {len(ranks)} rank counts: give one, or one per "
                              "rank count")
    for r, n in zip(ranks, nodes):
        if n < 1:
            raise SweepInputError(f"--nodes: {n} is below 1")
        if n > r:
            raise SweepInputError(f"{n} nodes for {r} rank{'s' if r != 1 else ''}: a node needs at least one rank")
        if r % n:
            raise SweepInputError(f"{r} ranks do not divide evenly over {n} nodes")
        if profile.is_local and n != 1:
            raise SweepInputError(f"the local profile is one computer: {n} nodes cannot run there")
    spec_path = os.path.abspath(os.fspath(spec_path))
    spec = load_spec(spec_path)
    if spec.model.kind not in MODEL_KINDS:
        raise SweepInputError(f"{os.path.basename(spec_path)}: model.kind {spec.model.kind!r} does not train "
                              f"data-parallel; a sweep needs one of {', '.join(MODEL_KINDS)}")
    batch = spec.train.batch_size
    if mode == "strong":
        for r in ranks:
            if batch % r:
                raise SweepInputError(f"strong scaling splits the global batch {batch} (train.batch_size) over the "
                                      f"ranks: {r} ranks do not divide it evenly")
    else:
        if batch % min(ranks):
            raise SweepInputError(f"weak scaling keeps each rank's share of train.batch_size {batch}: "
                                  f"{min(ranks)} ranks do not divide it evenly")
    return SweepPlan(spec_path=spec_path, spec_sha256=_file_sha256(spec_path), profile=profile.name, mode=mode,
                     ranks=ranks, nodes=nodes, repeat=repeat, base_batch=batch, time_limit=time_limit)


def spec_for(plan: SweepPlan, ranks: int) -> RunSpec:
    """The plan's spec with the global batch of a ``ranks``-rank run."""
    spec = load_spec(plan.spec_path)
    return spec.with_(train=replace(spec.train, batch_size=plan.global_batch(ranks)))


# ----------------------------------------------------------------------------- one run's figures


def _epoch_time(rec: dict) -> float | None:
    if isinstance(rec.get("epoch_time_s"), (int, float)):
        return float(rec["epoch_time_s"])
    if isinstance(rec.get("compute_s"), (int, float)) and isinstance(rec.get("comm_s"), (int, float)):
        return float(rec["compute_s"]) + float(rec["comm_s"])
    return None


def _per_rank(records: list[dict], key: str) -> list[float] | None:
    """The mean over ``records`` of the per-rank list ``key``; None when a record lacks it."""
    lists = [rec.get(key) for rec in records]
    if not lists or any(not isinstance(v, list) or not v for v in lists) or len({len(v) for v in lists}) != 1:
        return None
    return [statistics.fmean(float(v[i]) for v in lists) for i in range(len(lists[0]))]


def _numbers(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, (int, float)) for v in value)


def summarize_records(records: list[dict]) -> dict:
    """One run's figures from its metrics records (one per epoch).

    Returns
    -------
    dict
        ``samples_per_s`` (None without usable records), ``epochs`` (how many were counted),
        ``compute_s``, ``comm_s``, ``wait_s`` (seconds per epoch, mean over ranks; ``wait_s``
        None when the records have no ``rank_wait_s``), ``rank_compute_s``, ``rank_comm_s``,
        ``rank_wait_s`` (per-rank seconds per epoch, or None) and ``warnings``: one sentence
        per rank that straggled in any epoch (from the records' ``rank_compute_s``), then
        every other distinct warning the records carry.
    """
    epochs = [r for r in records if isinstance(r, dict) and "epoch" in r and _epoch_time(r) is not None]
    counted = epochs[1:] if len(epochs) >= 2 else epochs
    # Straggler sentences differ from epoch to epoch by their figures: from the per-rank times,
    # one sentence per straggling rank for the whole run; other warnings once each.
    timed = [r["rank_compute_s"] for r in counted if _numbers(r.get("rank_compute_s"))]
    warnings: list[str] = straggler_summary(timed)
    # the per-epoch sentences the summary replaces: what the engine's rule says of each epoch
    replaced = {w for r in epochs if _numbers(r.get("rank_compute_s"))
                for w in straggler_warnings(r["rank_compute_s"])} if timed else set()
    for rec in records:
        listed = rec.get("warnings") if isinstance(rec, dict) else None
        for w in listed if isinstance(listed, list) else ():
            if isinstance(w, str) and w not in warnings and w not in replaced:
                warnings.append(w)
    out = {"samples_per_s": None, "epochs": len(counted), "compute_s": None, "comm_s": None, "wait_s": None,
           "rank_compute_s": None, "rank_comm_s": None, "rank_wait_s": None, "warnings": warnings}
    if not counted:
        return out
    total_time = sum(_epoch_time(r) for r in counted)
    total_samples = 0.0
    for rec in counted:
        if isinstance(rec.get("samples"), (int, float)):
            total_samples += float(rec["samples"])
        else:
            total_samples += float(rec.get("samples_per_s") or 0.0) * _epoch_time(rec)
    out["samples_per_s"] = total_samples / total_time if total_time > 0 else None
    for key in ("compute_s", "comm_s", "wait_s"):
        per_rank = _per_rank(counted, f"rank_{key}")
        out[f"rank_{key}"] = per_rank
        if per_rank is not None:
            out[key] = statistics.fmean(per_rank)
        elif key != "wait_s" and all(isinstance(r.get(key), (int, float)) for r in counted):
            out[key] = statistics.fmean(float(r[key]) for r in counted)
    return out


@dataclass
class SweepRun:
    """One job of a sweep and, once it has ended, its figures."""

    ranks: int
    nodes: int
    repeat: int
    job_id: str = ""
    state: str = "NOT SUBMITTED"
    figures: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, int, int]:
        return self.ranks, self.nodes, self.repeat

    @property
    def done(self) -> bool:
        """Completed with a throughput figure: never run again."""
        return self.state == "COMPLETED" and self.figures.get("samples_per_s") is not None

    def to_dict(self) -> dict:
        return {"ranks": self.ranks, "nodes": self.nodes, "repeat": self.repeat, "job_id": self.job_id,
                "state": self.state, **self.figures}

    @classmethod
    def from_dict(cls, d: dict) -> "SweepRun":
        figures = {k: v for k, v in d.items() if k not in ("ranks", "nodes", "repeat", "job_id", "state")}
        return cls(ranks=int(d["ranks"]), nodes=int(d["nodes"]), repeat=int(d["repeat"]), job_id=str(d.get("job_id", "")),
                   state=str(d.get("state", "NOT SUBMITTED")), figures=figures)


# ----------------------------------------------------------------------------- the table


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _median_lists(lists: list[list[float]]) -> list[float] | None:
    lists = [v for v in lists if v]
    if not lists or len({len(v) for v in lists}) != 1:
        return None
    return [statistics.median(v[i] for v in lists) for i in range(len(lists[0]))]


def scaling_rows(plan: SweepPlan, runs: Iterable[SweepRun]) -> list[dict]:
    """The table: one row per rank count that has at least one finished run, in the plan's order.

    Each row has the keys of :data:`ROW_KEYS` (the median over its finished repeats) plus
    ``rank_compute_s``, ``rank_comm_s``, ``rank_wait_s``, ``warnings`` and ``job_ids``.
    ``speedup`` and ``efficiency`` are None until the smallest rank count has a figure.
    """
    by_point: dict[tuple[int, int], list[SweepRun]] = {}
    for run in runs:
        if run.done:
            by_point.setdefault((run.ranks, run.nodes), []).append(run)
    rows = []
    for r, n in zip(plan.ranks, plan.nodes):
        done = by_point.get((r, n), [])
        if not done:
            continue
        fig = [run.figures for run in done]
        rate = _median([f["samples_per_s"] for f in fig])
        row = {"ranks": r, "nodes": n, "global_batch": plan.global_batch(r), "runs": len(done), "samples_per_s": rate,
               "speedup": None, "efficiency": None, "per_rank_samples_per_s": rate / r}
        for key in ("compute_s", "comm_s", "wait_s"):
            row[key] = _median([f[key] for f in fig if f.get(key) is not None])
        for key in ("rank_compute_s", "rank_comm_s", "rank_wait_s"):
            row[key] = _median_lists([f.get(key) for f in fig])
        warnings: list[str] = []
        for f in fig:
            warnings += [w for w in f.get("warnings") or () if w not in warnings]
        row["warnings"] = warnings
        row["job_ids"] = [run.job_id for run in done]
        rows.append(row)
    base_ranks = min(plan.ranks)
    base = next((row for row in rows if row["ranks"] == base_ranks), None)
    if base is not None and base["samples_per_s"]:
        for row in rows:
            row["speedup"] = base_ranks * row["samples_per_s"] / base["samples_per_s"]
            row["efficiency"] = row["speedup"] / row["ranks"]
    return rows


def amdahl_speedup(serial_fraction: float, ranks):
    """Amdahl's law: the speedup on ``ranks`` workers when ``serial_fraction`` of the work cannot be split.

    ``S(N) = 1 / (f + (1 - f) / N)``; ``ranks`` may be a number or a NumPy array.
    """
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / ranks)


def fit_serial_fraction(ranks: Iterable[float], speedups: Iterable[float]) -> float | None:
    """The serial fraction ``f`` of Amdahl's law that best fits measured speedups.

    ``1/S = f (1 - 1/N) + 1/N`` is linear in ``f``: least squares on ``1/S - 1/N`` against
    ``1 - 1/N`` over the points with ``N > 1``, clipped to ``[0, 1]``. None with no such point.
    """
    xs, ys = [], []
    for n, s in zip(ranks, speedups):
        if n is None or s is None or n <= 1 or not s > 0 or not math.isfinite(s):
            continue
        xs.append(1.0 - 1.0 / n)
        ys.append(1.0 / s - 1.0 / n)
    den = sum(x * x for x in xs)
    if den == 0:
        return None
    return min(1.0, max(0.0, sum(x * y for x, y in zip(xs, ys)) / den))


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def format_table(rows: list[dict]) -> str:
    """The table as aligned text (``—`` where a figure is missing)."""
    heads = ("ranks", "nodes", "batch", "runs", "samples/s", "speedup", "efficiency", "per rank/s", "compute s",
             "comm s", "wait s")
    keys = ROW_KEYS
    cells = [[_fmt(row.get(k)) if k != "efficiency" or row.get(k) is None else f"{100 * row[k]:.0f}%" for k in keys]
             for row in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(heads)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(heads, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(cell, widths)) for cell in cells]
    return "\n".join(lines)


def table_csv(rows: list[dict]) -> str:
    """``scaling.csv``: the :data:`ROW_KEYS` columns, empty cells where a figure is missing."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ROW_KEYS)
    for row in rows:
        writer.writerow(["" if row.get(k) is None else (repr(row[k]) if isinstance(row[k], float) else row[k])
                         for k in ROW_KEYS])
    return buf.getvalue()


# ----------------------------------------------------------------------------- the folder


class SweepState:
    """A sweep's folder: its plan, every run, and the table files."""

    def __init__(self, folder: str, plan: SweepPlan, runs: list[SweepRun] | None = None):
        self.folder = folder
        self.plan = plan
        known = {run.key: run for run in runs or ()}
        self.runs = [known.get(p) or SweepRun(*p) for p in plan.points()]

    @classmethod
    def create(cls, plan: SweepPlan, folder: str | None = None, root: str | None = None) -> "SweepState":
        """A new sweep folder with its state written.

        ``folder`` defaults to ``<root>/<spec>-<mode>-<time>``, ``root`` to the data folder's ``sweeps``.
        """
        if folder is None:
            stem = re.sub(r"[^A-Za-z0-9_.+-]", "_", os.path.splitext(os.path.basename(plan.spec_path))[0])[:40]
            root = root or os.path.join(data_dir(), "sweeps")
            base = os.path.join(root, f"{stem}-{plan.mode}-{time.strftime('%Y%m%d-%H%M%S')}")
            folder, i = base, 1
            while os.path.exists(folder):
                i += 1
                folder = f"{base}-{i}"
        folder = os.path.abspath(folder)
        if os.path.exists(os.path.join(folder, STATE_NAME)):
            raise SweepInputError(f"{folder} already holds a sweep: finish it with --resume {folder}, or choose another "
                                  "--out folder")
        os.makedirs(folder, exist_ok=True)
        state = cls(folder, plan)
        state.save()
        return state

    @classmethod
    def load(cls, folder: str) -> "SweepState":
        """The sweep in ``folder``; its spec must be unchanged since it started.

        Raises
        ------
        SweepInputError
            No sweep there, an unreadable state file, or a changed spec.
        """
        folder = os.path.abspath(folder)
        path = os.path.join(folder, STATE_NAME)
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            plan = SweepPlan.from_dict(data["plan"])
            runs = [SweepRun.from_dict(r) for r in data.get("runs", [])]
        except FileNotFoundError:
            raise SweepInputError(f"{folder} holds no sweep ({STATE_NAME} is missing)") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SweepInputError(f"{path} cannot be read as a sweep: {exc}") from None
        try:
            changed = _file_sha256(plan.spec_path) != plan.spec_sha256
        except OSError as exc:
            raise SweepInputError(f"the sweep's spec {plan.spec_path} cannot be read: {exc.strerror or exc}") from None
        if changed:
            raise SweepInputError(f"the spec {plan.spec_path} changed since the sweep started: its figures would not "
                                  "compare; start a new sweep")
        return cls(folder, plan, runs)

    @property
    def rows(self) -> list[dict]:
        return scaling_rows(self.plan, self.runs)

    @property
    def pending(self) -> list[SweepRun]:
        """The runs still to do (not completed with a figure), in order."""
        return [run for run in self.runs if not run.done]

    def save(self) -> None:
        """Write ``sweep.json``, ``scaling.csv`` and ``scaling.json`` (each atomically)."""
        state = {"version": STATE_VERSION, "plan": self.plan.to_dict(), "runs": [r.to_dict() for r in self.runs]}
        atomic_write(os.path.join(self.folder, STATE_NAME), json.dumps(state, indent=1) + "\n")
        rows = self.rows
        fraction = fit_serial_fraction([r["ranks"] for r in rows], [r["speedup"] for r in rows])
        table = {"mode": self.plan.mode, "aggregate": AGGREGATE, "spec": self.plan.spec_path,
                 "profile": self.plan.profile, "serial_fraction": fraction, "rows": rows}
        atomic_write(os.path.join(self.folder, JSON_NAME), json.dumps(table, indent=1) + "\n")
        atomic_write(os.path.join(self.folder, CSV_NAME), table_csv(rows))


# ----------------------------------------------------------------------------- running


@dataclass(frozen=True)
class SweepEvent:
    """Progress of a running sweep.

    ``kind``: ``"submitted"`` (``run`` has its job id), ``"state"`` (its job's state changed),
    ``"records"`` (``records`` arrived for it), ``"finished"`` (its job ended; the table in
    the folder is updated), ``"message"`` (``message`` for the user: connection trouble, a
    refused job).
    """

    kind: str
    run: SweepRun | None = None
    state: str = ""
    records: tuple[dict, ...] = ()
    message: str = ""


def run_sweep(backend: Backend, store, sweep: SweepState, on_event: Callable[[SweepEvent], None] = lambda e: None,
              stop: Callable[[], bool] = lambda: False, poll_s: float = 0.5) -> bool:
    """Run every pending run of ``sweep``, one job at a time; True when all have completed.

    A run whose job does not complete keeps its state and the sweep goes on with the next one.
    When ``stop()`` turns true (or on KeyboardInterrupt) the job in flight is cancelled and
    recorded as ``CANCELLED``, and the function returns (KeyboardInterrupt is raised again);
    the folder keeps every finished run either way.

    Raises
    ------
    SpecError, JobError, ...
        Submitting failed (the run is marked ``FAILED`` first).
    """
    monitor = Monitor(backend, store, min_delay_s=poll_s, max_delay_s=max(poll_s, 2.0), backoff=1.3)
    plan = sweep.plan
    stem = re.sub(r"[^A-Za-z0-9_.+-]", "_", os.path.splitext(os.path.basename(plan.spec_path))[0])[:30].strip("_")
    for run in sweep.pending:
        if stop():
            break
        options = JobOptions(ntasks=run.ranks, nodes=run.nodes, time=plan.time_limit,
                             ntasks_per_node=run.ranks // run.nodes if not backend.profile.is_local else None,
                             job_name=f"sweep-{stem or 'spec'}-{run.ranks}r{run.nodes}n")
        run.figures = {}
        try:
            job = submit_job(backend, spec_for(plan, run.ranks), options, store=store)
        except BaseException:
            run.state = "FAILED"
            sweep.save()
            raise
        records: list[dict] = []
        try:  # at once: from here on an interrupt must cancel this job
            run.job_id, run.state = job.job_id, "PENDING"
            sweep.save()
            on_event(SweepEvent("submitted", run, state=run.state))
            monitor.notify_submitted()
            for event in monitor.watch(job.job_id, sleep=_stoppable_sleep(stop)):
                if stop():
                    raise _Stopped
                if event.kind == EventKind.RECORDS:
                    new = [r for r in event.records if isinstance(r, dict)]
                    records += new
                    on_event(SweepEvent("records", run, records=tuple(new)))
                elif event.kind in (EventKind.STATE, EventKind.FINISHED):
                    if event.state and event.state != run.state:
                        run.state = event.state
                        if event.kind == EventKind.STATE:
                            on_event(SweepEvent("state", run, state=run.state))
                elif event.kind == EventKind.CONNECTION:
                    on_event(SweepEvent("message", run, message=f"connection {event.state}"
                                                                f"{': ' + event.message if event.message else ''}"))
            if stop():
                raise _Stopped
        except (KeyboardInterrupt, _Stopped) as exc:
            _cancel_quietly(backend, store, run)
            sweep.save()
            on_event(SweepEvent("finished", run, state=run.state))
            if isinstance(exc, KeyboardInterrupt):
                raise
            break
        run.figures = summarize_records(records or store.records(backend.profile.name, job.job_id))
        sweep.save()
        on_event(SweepEvent("finished", run, state=run.state))
    return not sweep.pending


class _Stopped(Exception):
    pass


def _stoppable_sleep(stop: Callable[[], bool]) -> Callable[[float], None]:
    def sleep(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not stop():
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))
    return sleep


def _cancel_quietly(backend: Backend, store, run: SweepRun) -> None:
    try:
        cancel_job(backend, run.job_id, store=store)
    except (JobError, OSError):
        pass  # it may have ended on its own meanwhile
    run.state = "CANCELLED"


__all__ = ["AGGREGATE", "CSV_NAME", "JSON_NAME", "MODES", "ROW_KEYS", "STATE_NAME", "SweepEvent",
           "SweepInputError", "SweepPlan", "SweepRun", "SweepState", "amdahl_speedup", "fit_serial_fraction",
           "format_table", "make_plan", "parse_counts", "run_sweep", "scaling_rows", "spec_for", "summarize_records",
           "table_csv"]
