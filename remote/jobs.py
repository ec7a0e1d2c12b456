"""Submitting, cancelling and fetching jobs, on SLURM or as local processes.

A :class:`Scheduler` hides the one difference between a cluster and this computer: SLURM
(``sbatch``, ``squeue``, ``sacct``/``scontrol``, ``scancel``) versus a local process started
from the same job folder (``bash job.sh``, with ``mpirun -n N`` for N ranks). Everything else
(bundle, job store, monitor, fetch) is shared.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass

from engine.fileio import atomic_write
from engine.spec import RunSpec, SpecError
from remote.backend import Backend
from remote.bundle import (
    SCRIPT_NAME, Bundle, build_bundle, build_script_bundle, job_folder_name, read_spec, upload_bundle, with_data_path,
)
from remote.config import Profile
from remote.slurm import (
    EPOCH_TIME_ENV, AccountingEntry, JobDescription, Partition, QueueEntry, accounting_from_scontrol, job_id_key,
    parse_sacct, parse_sbatch, parse_scontrol_job, parse_sinfo, parse_squeue, render_job_script, sacct_command,
    script_output_name, sinfo_command, squeue_command,
)

METRICS_NAME = "metrics.jsonl"
RESULT_NAME = "result.json"
MODEL_NAME = "model.npz"
#: what a clustering run writes besides: the cluster of every data row
CLUSTERS_NAME = "clusters.csv"
EXIT_STATUS_NAME = "exit_status"
LOCAL_OUTPUT = "job-local.out"
_JOB_ID_RE = re.compile(r"^(?:\d+(?:_\d+)?|L\d+(?:-\d+)?)$")


class JobError(Exception):
    """A job operation failed; ``str(exc)`` is one line for the user."""


class SubmitError(JobError):
    """SLURM (or the local launcher) refused the job; the message is its own text, verbatim."""


class FetchError(JobError):
    """Fetching would overwrite different local files, or nothing could be fetched."""


logger = logging.getLogger(__name__)


def check_job_id(job_id: str) -> str:
    """``job_id`` if it looks like a SLURM (``123``, ``123_4``) or local (``L123``) job id."""
    job_id = str(job_id).strip()
    if not _JOB_ID_RE.match(job_id):
        raise JobError(f"{job_id!r} is not a job id (expected digits such as 1234, or L... for a local job)")
    return job_id


# ----------------------------------------------------------------------------- schedulers


class Scheduler:
    """Submit, list, account for and cancel jobs on one backend."""

    def __init__(self, backend: Backend):
        self.backend = backend

    def submit(self, job_dir: str) -> str:
        raise NotImplementedError

    def queue(self, jobs: dict[str, str], warnings: list[str] | None = None) -> list[QueueEntry]:
        """One listing of the given jobs (``{job_id: job_dir}``), finished ones included if known."""
        raise NotImplementedError

    def user_queue(self, warnings: list[str] | None = None) -> list[QueueEntry]:
        raise NotImplementedError

    def finals(self, jobs: dict[str, str], warnings: list[str] | None = None) -> dict[str, AccountingEntry]:
        """Final state and exit code of finished jobs (``{job_id: job_dir}``)."""
        raise NotImplementedError

    def cancel(self, job_id: str) -> None:
        raise NotImplementedError

    def output_path(self, job_dir: str, desc_output: str, job_id: str) -> str:
        name = desc_output.replace("%j", job_id).replace("%u", "") if desc_output else f"slurm-{job_id}.out"
        return name if name.startswith("/") else f"{job_dir}/{name}"


def _read_exit_status(backend: Backend, job_dir: str) -> int | None:
    if not job_dir:
        return None
    try:
        text = backend.read_bytes(f"{job_dir}/{EXIT_STATUS_NAME}", 0, 64).decode("ascii", "replace").strip()
    except (FileNotFoundError, OSError):
        return None
    return int(text) if text.lstrip("-").isdigit() else None


def _state_from_exit(rc: int | None) -> str:
    if rc is None:
        return "FAILED"
    if rc == 0:
        return "COMPLETED"
    if rc in (143, 130, 137):
        return "CANCELLED"
    return "FAILED"


class SlurmScheduler(Scheduler):
    """SLURM through its command-line tools (over SSH or locally)."""

    def submit(self, job_dir: str) -> str:
        result = self.backend.run(["sbatch", "--parsable", SCRIPT_NAME], timeout_s=120, cwd=job_dir)
        if not result.ok:
            raise SubmitError(result.text or f"sbatch failed with exit status {result.rc}")
        try:
            return parse_sbatch(result.stdout)
        except ValueError as exc:
            raise SubmitError(str(exc)) from None

    def _squeue(self, argv: list[str], warnings: list[str] | None) -> list[QueueEntry]:
        result = self.backend.run(argv, timeout_s=60)
        if not result.ok:
            if "Invalid job id" in result.text:
                return []  # the only job asked for is gone from SLURM's memory
            raise JobError(f"squeue failed: {result.text or result.rc}")
        return parse_squeue(result.stdout, warnings)

    def queue(self, jobs: dict[str, str], warnings: list[str] | None = None) -> list[QueueEntry]:
        if not jobs:
            return []
        return self._squeue(squeue_command(job_ids=sorted(jobs, key=job_id_key)), warnings)

    def user_queue(self, warnings: list[str] | None = None) -> list[QueueEntry]:
        who = self.backend.run(["id", "-un"], timeout_s=30).stdout.strip()
        return self._squeue(squeue_command(user=who or None), warnings)

    def finals(self, jobs: dict[str, str], warnings: list[str] | None = None) -> dict[str, AccountingEntry]:
        if not jobs:
            return {}
        out: dict[str, AccountingEntry] = {}
        result = self.backend.run(sacct_command(sorted(jobs, key=job_id_key)), timeout_s=60)
        if result.ok:
            for entry in parse_sacct(result.stdout, warnings):
                if entry.job_id in jobs:
                    out[entry.job_id] = entry
        # Accounting may be off (no slurmdbd): ask slurmctld, then the job's own record.
        for job_id, job_dir in jobs.items():
            if job_id in out:
                continue
            info = self.backend.run(["env", EPOCH_TIME_ENV, "scontrol", "show", "job", job_id], timeout_s=30)
            entry = accounting_from_scontrol(parse_scontrol_job(info.stdout, warnings)) if info.ok else None
            rc = _read_exit_status(self.backend, job_dir)
            if entry is not None and entry.state and entry.state not in ("PENDING", "RUNNING", "COMPLETING"):
                if entry.exit_code is None and rc is not None:
                    entry = AccountingEntry(**{**entry.__dict__, "exit_code": rc})
                out[job_id] = entry
            elif rc is not None:
                out[job_id] = AccountingEntry(job_id=job_id, name="", state=_state_from_exit(rc), exit_code=rc,
                                              signal=None, start_time="", end_time="", elapsed="",
                                              source="exit_status")
        return out

    def cancel(self, job_id: str) -> None:
        # scancel exits 0 for an unknown or already finished job; only --verbose prints why
        # nothing was cancelled, as "scancel: error: ..." lines.
        result = self.backend.run(["scancel", "--verbose", check_job_id(job_id)], timeout_s=60)
        errors = [ln.strip() for ln in (result.stdout + "\n" + result.stderr).splitlines() if "error:" in ln]
        if not result.ok or errors:
            raise JobError(f"scancel {job_id}: {'; '.join(errors) or result.text}")

    def partitions(self, warnings: list[str] | None = None) -> list[Partition]:
        """The cluster's partitions (``sinfo``); raises :class:`JobError` when sinfo fails."""
        result = self.backend.run(sinfo_command(), timeout_s=30)
        if not result.ok:
            raise JobError(f"sinfo failed: {result.text or result.rc}")
        return parse_sinfo(result.stdout, warnings)

    def look_up(self, job_id: str) -> "ExternalJob":
        """SLURM's facts about any job of this cluster (``scontrol show job``).

        Raises :class:`JobError` when SLURM does not know the job: a wrong id, or a job that
        ended longer ago than the cluster remembers (``MinJobAge``).
        """
        job_id = check_job_id(job_id)
        result = self.backend.run(["scontrol", "show", "job", job_id], timeout_s=30)
        info = parse_scontrol_job(result.stdout) if result.ok else {}
        if not info:
            raise JobError(f"SLURM does not know job {job_id} ({result.text.strip() or 'no such job'})")
        return ExternalJob(job_id=job_id, name=info.get("JobName", ""), state=info.get("JobState", ""),
                           output_path=info.get("StdOut", ""), work_dir=info.get("WorkDir", ""))


@dataclass(frozen=True)
class ExternalJob:
    """What SLURM says about a job submitted anywhere: its name, state, output file and folder."""

    job_id: str
    name: str
    state: str
    output_path: str
    work_dir: str


# Local jobs started by this process: reaped so they do not linger as zombies.
_LOCAL_CHILDREN: dict[int, subprocess.Popen] = {}


def _proc_start_ticks(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            rest = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if rest[0] in ("Z", "X"):
        return None
    return rest[19]  # field 22 (starttime): tells a reused pid from ours


def _pid_running(pid: int, ticks: str | None) -> bool:
    child = _LOCAL_CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        _LOCAL_CHILDREN.pop(pid, None)
        return False
    if os.path.exists(f"/proc/{pid}"):
        return ticks is None or _proc_start_ticks(pid) == ticks
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LocalScheduler(Scheduler):
    """Jobs as local processes: ``bash job.sh`` in the job folder, detached from this process.

    Job ids are ``L<pid>-<start ticks>``; the pid (and its start time, so a reused pid is not mistaken for
    the job) is kept in the job folder's ``local.pid``.
    """

    def submit(self, job_dir: str) -> str:
        job_dir = self.backend.expand_path(job_dir)
        out_path = os.path.join(job_dir, LOCAL_OUTPUT)
        env = dict(os.environ)
        # Open MPI leaves session folders in TMPDIR: keep them inside the job folder.
        env["TMPDIR"] = os.path.join(job_dir, "tmp")
        os.makedirs(env["TMPDIR"], mode=0o700, exist_ok=True)
        with open(out_path, "ab") as out:
            try:
                proc = subprocess.Popen(["bash", SCRIPT_NAME], cwd=job_dir, stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True, env=env)
            except OSError as exc:
                raise SubmitError(f"cannot start bash {SCRIPT_NAME}: {exc.strerror or exc}") from None
        _LOCAL_CHILDREN[proc.pid] = proc
        ticks = _proc_start_ticks(proc.pid) or ""
        with open(os.path.join(job_dir, "local.pid"), "w") as fh:
            fh.write(f"{proc.pid} {ticks}\n")
        # The start time keeps ids unique when the system reuses a pid.
        return f"L{proc.pid}-{ticks}" if ticks else f"L{proc.pid}"

    def _pid_info(self, job_dir: str) -> tuple[int, str | None] | None:
        try:
            with open(os.path.join(self.backend.expand_path(job_dir), "local.pid")) as fh:
                parts = fh.read().split()
            return int(parts[0]), (parts[1] if len(parts) > 1 else None)
        except (OSError, ValueError, IndexError):
            return None

    def _entry(self, job_id: str, job_dir: str) -> QueueEntry:
        rc = _read_exit_status(self.backend, job_dir)
        info = self._pid_info(job_dir)
        if rc is not None:
            state = _state_from_exit(rc)
        elif info is not None and _pid_running(*info):
            state = "RUNNING"
        else:
            state = "FAILED"
        return QueueEntry(job_id=job_id, name=os.path.basename(job_dir), user=os.environ.get("USER", ""),
                          state=state, partition="local", nodes=1, elapsed="", time_limit="", reason="",
                          nodelist="localhost", submit_time="", start_time="")

    def queue(self, jobs: dict[str, str], warnings: list[str] | None = None) -> list[QueueEntry]:
        return [self._entry(job_id, job_dir) for job_id, job_dir in jobs.items() if job_dir]

    def user_queue(self, warnings: list[str] | None = None) -> list[QueueEntry]:
        return []

    def finals(self, jobs: dict[str, str], warnings: list[str] | None = None) -> dict[str, AccountingEntry]:
        out = {}
        for job_id, job_dir in jobs.items():
            rc = _read_exit_status(self.backend, job_dir)
            out[job_id] = AccountingEntry(job_id=job_id, name="", state=_state_from_exit(rc), exit_code=rc,
                                          signal=None, start_time="", end_time="", elapsed="", source="exit_status")
        return out

    def cancel_local(self, job_id: str, job_dir: str) -> None:
        info = self._pid_info(job_dir)
        if info is None or not _pid_running(*info):
            raise JobError(f"job {job_id} is not running")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(info[0], signal.SIGTERM)

    def output_path(self, job_dir: str, desc_output: str, job_id: str) -> str:
        return os.path.join(job_dir, LOCAL_OUTPUT)


def scheduler_for(backend: Backend) -> Scheduler:
    """:class:`LocalScheduler` for the ``local`` profile, else :class:`SlurmScheduler`."""
    if backend.profile.is_local:
        return LocalScheduler(backend)
    return SlurmScheduler(backend)


# ----------------------------------------------------------------------------- submit


@dataclass(frozen=True)
class JobOptions:
    """What ``submit`` may change about the job (None: take the profile's value)."""

    ntasks: int = 1
    nodes: int | None = None
    ntasks_per_node: int | None = None
    time: str = "00:10:00"
    partition: str | None = None
    job_name: str | None = None
    gpus: str | int | None = None
    account: str | None = None
    reservation: str | None = None
    qos: str | None = None
    mem: str = ""
    cpus_per_task: int | None = 1


def describe_job(profile: Profile, job_dir: str, options: JobOptions, spec_name: str = "job") -> JobDescription:
    """The :class:`JobDescription` for running a bundle in ``job_dir`` under ``profile``."""
    name = options.job_name if options.job_name is not None else _default_job_name(spec_name)
    nodes = options.nodes if options.nodes is not None else 1
    if profile.is_local:
        as_root = os.geteuid() == 0
        launcher = "mpirun" if options.ntasks > 1 else "none"
        return JobDescription(
            job_name=name, nodes=1, ntasks=options.ntasks, cpus_per_task=None, time="", output=LOCAL_OUTPUT,
            setup=profile.setup, launcher=launcher, mpi_plugin="",
            mpirun_args=(("--allow-run-as-root",) if as_root else ()) + ("--oversubscribe",),
            python=profile.python, job_dir=job_dir,
        )
    return JobDescription(
        job_name=name, nodes=nodes, ntasks=options.ntasks, ntasks_per_node=options.ntasks_per_node,
        cpus_per_task=options.cpus_per_task, time=options.time,
        partition=options.partition if options.partition is not None else profile.partition,
        account=options.account if options.account is not None else profile.account,
        reservation=options.reservation if options.reservation is not None else profile.reservation,
        qos=options.qos if options.qos is not None else profile.qos,
        gpus=options.gpus, mem=options.mem, setup=profile.setup, launcher=profile.launcher,
        mpi_plugin=profile.mpi_plugin if profile.launcher == "srun" else "", python=profile.python, job_dir=job_dir,
    )


def _default_job_name(spec_name: str) -> str:
    base = os.path.splitext(os.path.basename(spec_name))[0]
    safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", base)[:48].strip("_")
    return f"scalelab-{safe}" if safe else "scalelab"


@dataclass(frozen=True)
class PreparedJob:
    """A job ready to upload: where it goes, its description, script and files."""

    job_dir: str
    description: JobDescription
    script: str
    spec: RunSpec
    files: dict[str, bytes]

    def bundle(self, script: str | None = None) -> Bundle:
        """The files to upload, with ``script`` (an edited ``job.sh``) replacing the rendered one."""
        files = dict(self.files)
        if script is not None:
            files[SCRIPT_NAME] = script.encode("utf-8")
        return Bundle(files=files, spec=self.spec)


def prepare_job(profile: Profile, spec: RunSpec | str | os.PathLike, options: JobOptions,
                workdir: str | None = None, allow_outside=(), data_path: str | None = None) -> PreparedJob:
    """Validate everything and render ``job.sh``, without touching the cluster.

    ``workdir`` is the profile's work folder, already expanded on the cluster when known
    (``~/...`` is kept as ``"$HOME"/...`` in the script otherwise, e.g. for ``--dry-run``).
    ``allow_outside`` lists data files outside the spec's folder the user agreed to upload;
    ``data_path`` replaces the spec's data file and is allowed by being named.

    Raises
    ------
    SpecError, SlurmInputError, BundleError
        Naming the bad field or file.
    """
    spec_name = "job"
    if not isinstance(spec, RunSpec):
        spec_name = os.fspath(spec)
        spec = read_spec(spec)
    if data_path:
        spec = with_data_path(spec, data_path)
        allow_outside = (*allow_outside, data_path)
    desc0 = describe_job(profile, "/", options, spec_name)
    desc0.validate()  # the name is checked before it reaches a folder name
    base = (workdir or profile.workdir).rstrip("/") or "/"
    job_dir = f"{base}/{job_folder_name(desc0.job_name)}"
    desc = desc0.with_(job_dir=job_dir)
    script = render_job_script(desc)
    bundle = build_bundle(spec, script, key_files=(profile.key_file,), allow_outside=allow_outside)
    return PreparedJob(job_dir=job_dir, description=desc, script=script, spec=bundle.spec, files=bundle.files)


@dataclass(frozen=True)
class SubmittedJob:
    """A submitted job: its id, folder, output file and metrics file (paths on the cluster)."""

    profile: str
    job_id: str
    job_dir: str
    name: str
    output_path: str
    metrics_path: str
    script: str


def submit_job(backend: Backend, spec: RunSpec | str | os.PathLike, options: JobOptions = JobOptions(),
               store=None, script: str | None = None, allow_outside=(), data_path: str | None = None) -> SubmittedJob:
    """Bundle ``spec``, upload it into a new job folder and submit it.

    Parameters
    ----------
    backend : Backend
        Where the job runs (its profile decides SLURM or local).
    spec : RunSpec or path
    options : JobOptions
    store : JobStore, optional
        The job is recorded (tracked) there at once.
    script : str, optional
        A ``job.sh`` text the user edited; used instead of the rendered one.
    allow_outside : iterable of str
        Data files outside the spec's folder the user agreed to upload.
    data_path : str, optional
        A data file to upload instead of the one the spec names (``submit --data``).

    Raises
    ------
    SubmitError
        SLURM refused the job (its text verbatim).
    SpecError, SlurmInputError, BundleError, SshError
        Bad input or no connection.
    """
    workdir = backend.expand_path(backend.profile.workdir)
    prepared = prepare_job(backend.profile, spec, options, workdir, allow_outside, data_path)
    return submit_bundle(backend, prepared.description, prepared.bundle(script), store=store)


def prepare_script_job(profile: Profile, script_path: str | os.PathLike, options: JobOptions,
                       workdir: str | None = None) -> tuple[JobDescription, Bundle]:
    """The description and files of a job that runs a Python script (an exported Keras script).

    The script and the files it reads from beside it (see
    :func:`remote.bundle.build_script_bundle`) go into the job folder; ``job.sh`` runs it as
    one unbuffered process, and its output file is the job's metrics source.

    Raises
    ------
    SlurmInputError, BundleError
        Naming the bad field or file.
    """
    script_path = os.fspath(script_path)
    name = os.path.basename(script_path)
    desc0 = describe_job(profile, "/", options, name).with_(program=name)
    desc0.validate()
    base = (workdir or profile.workdir).rstrip("/") or "/"
    desc = desc0.with_(job_dir=f"{base}/{job_folder_name(desc0.job_name)}")
    return desc, build_script_bundle(script_path, render_job_script(desc))


def submit_script_job(backend: Backend, script_path: str | os.PathLike, options: JobOptions = JobOptions(),
                      store=None) -> SubmittedJob:
    """Upload a Python script with its data into a new job folder and submit it (one process)."""
    workdir = backend.expand_path(backend.profile.workdir)
    desc, bundle = prepare_script_job(backend.profile, script_path, options, workdir)
    return submit_bundle(backend, desc, bundle, store=store)


def submit_bundle(backend: Backend, description: JobDescription, bundle: Bundle, *, store=None) -> SubmittedJob:
    """Upload ``bundle`` into ``description.job_dir`` and submit its ``job.sh``.

    This is the one place a job is submitted: :func:`submit_job` (the CLI) and the GUI's job
    form both end here. The bundle's ``job.sh`` may have been edited by the user; its
    ``#SBATCH --output`` line decides where the job's output file is looked for.
    """
    description.validate()
    script = bundle.files[SCRIPT_NAME].decode("utf-8")
    job_dir = description.job_dir
    existed = backend.exists(job_dir)
    upload_bundle(backend, job_dir, bundle)
    scheduler = scheduler_for(backend)
    try:
        job_id = scheduler.submit(job_dir)
    except SubmitError:
        # SLURM refused the job: take back the folder this submit made, not one that was there.
        if not existed and job_dir.rstrip("/") and job_dir.strip("/"):
            backend.run(["rm", "-rf", "--", job_dir], timeout_s=120)
            logger.info("removed %s after the refused submit", job_dir)
        raise
    logger.info("submitted job %s on %s from %s", job_id, backend.profile.name, job_dir)
    output_path = scheduler.output_path(job_dir, script_output_name(script, description.output), job_id)
    # A script job writes no metrics.jsonl: its curves come from the Keras lines in its output.
    metrics_path = output_path if description.program else f"{job_dir}/{METRICS_NAME}"
    if store is not None:
        store.add_job(backend.profile.name, job_id, name=description.job_name, job_dir=job_dir,
                      output_path=output_path, metrics_path=metrics_path, ntasks=description.ntasks,
                      submitted_at=time.time(), replace=True)
    return SubmittedJob(profile=backend.profile.name, job_id=job_id, job_dir=job_dir,
                        name=description.job_name, output_path=output_path, metrics_path=metrics_path,
                        script=script)


def cancel_job(backend: Backend, job_id: str, store=None) -> None:
    """Cancel a job (``scancel``, or SIGTERM to a local job's process group)."""
    job_id = check_job_id(job_id)
    logger.info("cancelling job %s on %s", job_id, backend.profile.name)
    scheduler = scheduler_for(backend)
    if isinstance(scheduler, LocalScheduler):
        job = store.get(backend.profile.name, job_id) if store is not None else None
        if job is None or not job.job_dir:
            raise JobError(f"local job {job_id} is not in the job store")
        scheduler.cancel_local(job_id, job.job_dir)
    else:
        scheduler.cancel(job_id)


# ----------------------------------------------------------------------------- fetch


class FetchConflictError(FetchError):
    """Fetching would replace local files whose content differs from the job's.

    ``conflicts`` are those local paths, ``out_dir`` the folder; the message names them
    without telling how to go on, which each caller says in its own words.
    """

    def __init__(self, out_dir: str, conflicts: list[str]):
        super().__init__(f"would overwrite {', '.join(conflicts)} (different content)")
        self.out_dir = out_dir
        self.conflicts = list(conflicts)


def fetch_job(backend: Backend, job_dir: str, out_dir: str | os.PathLike, output_path: str = "",
              overwrite: bool = False, also: tuple[str, ...] | list[str] = ()) -> list[str]:
    """Copy a job's results into ``out_dir``: metrics, model, result (and a clustering's
    ``clusters.csv``) and the job's output.

    ``job_dir`` may be empty (a followed job SLURM no longer knows): then only
    ``output_path`` and the files in ``also`` (e.g. a metrics file the user named) are
    copied. Files already in ``out_dir`` with the same content are left alone; different
    ones are never overwritten silently (:class:`FetchConflictError` lists them) unless
    ``overwrite``; every file is written atomically. Files the job has not written are
    skipped. Returns the local paths written or already equal.
    """
    out_dir = os.fspath(out_dir)
    wanted = [f"{job_dir}/{name}" for name in (METRICS_NAME, MODEL_NAME, RESULT_NAME, CLUSTERS_NAME)] if job_dir else []
    wanted += [p for p in (output_path, *also) if p]
    contents: dict[str, bytes] = {}
    for remote_path in dict.fromkeys(wanted):
        name = os.path.basename(remote_path)
        if name in contents:
            continue
        try:
            contents[name] = backend.read_bytes(remote_path)
        except FileNotFoundError:
            continue
    if not contents:
        where = job_dir or ", ".join(p for p in (output_path, *also) if p) or "this job"
        raise FetchError(f"nothing to fetch yet in {where} (no metrics, model, result or output file)")
    conflicts = []
    for name, data in contents.items():
        local = os.path.join(out_dir, name)
        if os.path.exists(local):
            with open(local, "rb") as fh:
                if fh.read() != data:
                    conflicts.append(local)
    if conflicts and not overwrite:
        raise FetchConflictError(out_dir, conflicts)
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name, data in contents.items():
        local = os.path.join(out_dir, name)
        atomic_write(local, data)
        written.append(local)
    return written


def fetch_stored_job(backend: Backend, job, out_dir: str | os.PathLike, overwrite: bool = False) -> list[str]:
    """:func:`fetch_job` for a job of the store: its folder, output file and metrics file."""
    if not (job.job_dir or job.output_path or job.metrics_path):
        raise FetchError(f"job {job.job_id} names no job folder, output or metrics file to fetch from")
    return fetch_job(backend, job.job_dir, out_dir, job.output_path, overwrite=overwrite,
                     also=(job.metrics_path,) if job.metrics_path else ())


# ----------------------------------------------------------------------------- follow


def follow_job(backend: Backend, store, job_id: str, output_path: str = "", metrics_path: str = ""):
    """Start following a job submitted anywhere; returns its :class:`~remote.store.StoredJob`.

    A job the store knows already is returned as it is. Otherwise SLURM (``scontrol show
    job``) is asked for its name, folder and output file, and the store records it as an
    external job with its folder, its output file (``output_path`` when given) and as
    metrics file ``metrics_path`` when given, else the ``metrics.jsonl`` a ScaleLab run
    writes in its folder (tailing a missing file is harmless; the monitor reads the output
    file instead when the job ends without one). A job SLURM does not know is refused
    with SLURM's words (:class:`JobError`), unless a file to follow was named: a job that
    ended long ago still has its files.
    """
    job_id = check_job_id(job_id)
    profile = backend.profile
    job = store.get(profile.name, job_id)
    if job is not None:
        return job
    if profile.is_local:
        raise JobError(f"local job {job_id} is not in the job store (the local profile knows only its own jobs)")
    try:
        found = SlurmScheduler(backend).look_up(job_id)
    except JobError:
        if not (output_path or metrics_path):
            raise
        found = None
    work_dir = found.work_dir if found is not None else ""
    output = output_path or (found.output_path if found is not None else "")
    metrics = metrics_path or (f"{work_dir}/{METRICS_NAME}" if work_dir else output)
    store.watch_external(profile.name, job_id, output_path=output, metrics_path=metrics)
    if found is not None:
        store.update(profile.name, job_id, job_dir=work_dir, name=found.name)
    return store.get(profile.name, job_id)


__all__ = [
    "ExternalJob", "FetchConflictError", "FetchError", "JobError", "JobOptions", "LocalScheduler", "PreparedJob",
    "Scheduler", "SlurmScheduler", "SpecError", "SubmitError", "SubmittedJob", "cancel_job", "check_job_id",
    "describe_job", "fetch_job", "fetch_stored_job", "follow_job", "prepare_job", "prepare_script_job",
    "scheduler_for", "submit_bundle", "submit_job", "submit_script_job",
]
