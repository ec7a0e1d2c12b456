"""SLURM job scripts and the parsers of SLURM's command output.

Everything here is a pure function of its arguments: :func:`render_job_script` turns a
:class:`JobDescription` into ``job.sh`` text (tested against golden files), and the parsers
turn ``sbatch --parsable``, ``squeue``, ``sacct -P`` and ``scontrol show job`` output into small
frozen records. A line a parser cannot read is skipped and described in the ``warnings``
list the caller passes in; parsers never raise on garbage (except :func:`parse_sbatch`, whose
whole output is one job id).
"""

from __future__ import annotations

import re
import time
import shlex
from dataclasses import dataclass, fields, replace
from typing import Any

LAUNCHERS = ("srun", "mpirun", "none")
MAIL_TYPES = ("NONE", "BEGIN", "END", "FAIL", "REQUEUE", "ALL", "INVALID_DEPEND", "STAGE_OUT",
              "TIME_LIMIT", "TIME_LIMIT_90", "TIME_LIMIT_80", "TIME_LIMIT_50", "ARRAY_TASKS")

#: Job states after which a job never runs again.
FINISHED_STATES = frozenset({
    "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY",
    "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT", "REVOKED", "LOST",
})
#: Job states of a job that is queued or running.
ACTIVE_STATES = frozenset({
    "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_FED",
    "REQUEUE_HOLD", "RESIZING", "STOPPED", "SIGNALING", "STAGE_OUT", "RESV_DEL_HOLD",
})

#: One sentence per sbatch option, for learners (the GUI shows these as hover help).
DIRECTIVE_HELP: dict[str, str] = {
    "--job-name": "The name squeue and the accounting show for this job.",
    "--nodes": "How many computers (nodes) the job's ranks are spread over.",
    "--ntasks": "How many tasks (MPI ranks: copies of the program) run in total.",
    "--ntasks-per-node": "How many of those tasks run on each node.",
    "--cpus-per-task": "How many CPU cores each task gets (for threads inside one rank).",
    "--time": "The wall-clock limit; SLURM stops the job when it runs out ([D-]HH:MM:SS).",
    "--partition": "Which queue (group of nodes) the job waits in.",
    "--account": "The project whose compute budget pays for the job.",
    "--reservation": "A block of nodes booked in advance (for a course, say) to run in.",
    "--qos": "Quality of service: a class of jobs with its own limits and priority.",
    "--gpus": "How many GPUs the job gets in total.",
    "--mem": "Memory per node (such as 4G or 500M); the job is stopped if it uses more.",
    "--mail-user": "Where SLURM sends e-mail about the job.",
    "--mail-type": "Which events send e-mail (BEGIN, END, FAIL, ALL, ...).",
    "--output": "File that receives the job's standard output; %j becomes the job id.",
    "--error": "File that receives the job's error output; %j becomes the job id.",
}

_SBATCH_HELP_SHORT: dict[str, str] = {
    "--job-name": "name shown by squeue",
    "--nodes": "number of computers (nodes)",
    "--ntasks": "number of MPI ranks in total",
    "--ntasks-per-node": "MPI ranks on each node",
    "--cpus-per-task": "CPU cores for each rank",
    "--time": "wall-clock limit; the job is stopped after it",
    "--partition": "the queue to wait in",
    "--account": "the budget the job is billed to",
    "--reservation": "run inside this booked block of nodes",
    "--qos": "quality of service (limits and priority)",
    "--gpus": "GPUs for the whole job",
    "--mem": "memory per node",
    "--mail-user": "e-mail address for notifications",
    "--mail-type": "which events send e-mail",
    "--output": "standard output file (%j = job id)",
    "--error": "error output file (%j = job id)",
}

_REASONS: dict[str, str] = {
    "None": "No reason: the job is not waiting for anything.",
    "Priority": "Other jobs with a higher priority are ahead of this one in the queue.",
    "Resources": "The job is next, but not enough nodes or cores are free yet.",
    "Dependency": "The job waits for another job it depends on to finish.",
    "DependencyNeverSatisfied": "A job this one depends on failed, so it can never start; cancel it.",
    "QOSMaxJobsPerUserLimit": "You already run as many jobs as your quality of service allows.",
    "QOSMaxSubmitJobPerUserLimit": "You already have as many jobs queued as your quality of service allows.",
    "AssocMaxJobsLimit": "Your account already runs as many jobs as it is allowed.",
    "AssocGrpCPULimit": "Your account's group already uses all the CPUs it may use at once.",
    "AssocGrpNodeLimit": "Your account's group already uses all the nodes it may use at once.",
    "AssocGrpCpuLimit": "Your account's group already uses all the CPUs it may use at once.",
    "AssocGrpGRES": "Your account's group already uses all the GPUs (or other devices) it may use.",
    "AssocGrpBillingMinutes": "Your account's compute budget is used up.",
    "ReqNodeNotAvail": "A node the job needs is down, drained or reserved.",
    "BeginTime": "The job was told not to start before a certain time.",
    "JobHeldUser": "You put the job on hold; `scontrol release JOBID` lets it run.",
    "JobHeldAdmin": "An administrator put the job on hold.",
    "PartitionDown": "The partition (queue) is down; the job waits until it is up again.",
    "PartitionNodeLimit": "The job asks for more nodes than the partition allows.",
    "PartitionTimeLimit": "The job's time limit is longer than the partition allows.",
    "PartitionConfig": "The job asks for something the partition is not set up for.",
    "NodeDown": "A node the job needs is down.",
    "InvalidAccount": "The account given is unknown or you may not use it.",
    "InvalidQOS": "The quality of service given is unknown or you may not use it.",
    "ReqNodeNotAvail,_UnavailableNodes": "A node the job needs is down, drained or reserved.",
    "Reservation": "The job waits for its reservation to start.",
    "Licenses": "The job waits for a software license to be free.",
    "MaxGRESPerAccount": "Your account already uses all the GPUs it may use.",
    "BadConstraints": "The job's requirements can never be met on this cluster.",
    "launch failed requeued held": "Starting the job failed; it was put back in the queue and held.",
    "NonZeroExitCode": "The job ended with a non-zero exit code.",
    "TimeLimit": "The job ran out of time.",
    "Prolog": "The job's node is running its start-up (prolog) script.",
    "Cleaning": "The job's nodes are being cleaned up after a previous job.",
}


class SlurmInputError(ValueError):
    """A value for the job script is not acceptable.

    Parameters
    ----------
    field : str
        The :class:`JobDescription` field, e.g. ``"job_name"``.
    message : str
        What is wrong and what is allowed.
    """

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class SlurmOutputError(ValueError):
    """Output of a SLURM command could not be understood at all."""


# ----------------------------------------------------------------------------- job description

_NAME_RE = re.compile(r"^[A-Za-z0-9_.+-]{1,64}$")
_IDENT_RE = re.compile(r"^[A-Za-z0-9_.+-]{1,128}$")
_TIME_RE = re.compile(
    r"^(?:(\d+)-(\d{1,2})(?::(\d{1,2})(?::(\d{1,2}))?)?"  # D-HH, D-HH:MM, D-HH:MM:SS
    r"|(\d+)(?::(\d{1,2})(?::(\d{1,2}))?)?)$"  # MM, MM:SS, HH:MM:SS
)
_MEM_RE = re.compile(r"^[1-9][0-9]{0,9}[KMGT]?$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_FILE_RE = re.compile(r"^[A-Za-z0-9_.%/+-]{1,255}$")
_PROGRAM_RE = re.compile(r"^[A-Za-z0-9_+-][A-Za-z0-9_.+-]{0,127}\.py$")
_GPUS_RE = re.compile(r"^(?:[A-Za-z0-9_-]{1,32}:)?[0-9]{1,4}$")
_MPI_PLUGINS = ("pmix", "pmix_v4", "pmi2", "none", "cray_shasta", "")


@dataclass(frozen=True)
class JobDescription:
    """Everything ``job.sh`` is made of.

    Empty strings and ``None`` mean "leave it to the cluster's default" (no ``#SBATCH`` line).
    ``launcher`` is ``srun`` (with ``--mpi=<mpi_plugin>``), ``mpirun`` (``-n ntasks``) or
    ``none`` (one plain process). ``job_dir`` is the job folder's absolute path on the machine
    that runs it; ``setup`` lines are run as written before the launch (module loads, venvs).
    """

    job_name: str = "scalelab"
    nodes: int | None = 1
    ntasks: int = 1
    ntasks_per_node: int | None = None
    cpus_per_task: int | None = 1
    time: str = "00:10:00"
    partition: str = ""
    account: str = ""
    reservation: str = ""
    qos: str = ""
    gpus: str | int | None = None
    mem: str = ""
    mail_user: str = ""
    mail_type: str = ""
    output: str = "slurm-%j.out"
    error: str = ""
    setup: tuple[str, ...] = ()
    launcher: str = "srun"
    mpi_plugin: str = "pmix"
    mpirun_args: tuple[str, ...] = ()
    python: str = "python3"
    spec: str = "spec.json"
    out: str = "."
    job_dir: str = ""
    #: A Python script in the job folder run instead of ``-m engine train`` (an exported Keras script).
    program: str = ""

    def validate(self) -> "JobDescription":
        """Check every field; returns self so calls can be chained.

        Raises
        ------
        SlurmInputError
            For the first bad field: newlines, shell syntax in names, a malformed time,
            memory or e-mail, counts below one, ...
        """
        for f in fields(self):
            value = getattr(self, f.name)
            items = value if isinstance(value, tuple) else (value,)
            for item in items:
                if isinstance(item, str) and any(c in item for c in "\n\r\0"):
                    raise SlurmInputError(f.name, "must be a single line (no line breaks)")
        if not _NAME_RE.match(self.job_name):
            raise SlurmInputError(
                "job_name", f"{self.job_name!r} is not allowed: use 1 to 64 letters, digits, '_', '.', '+' or '-'")
        for name in ("partition", "account", "reservation", "qos"):
            value = getattr(self, name)
            if value and not _IDENT_RE.match(value):
                raise SlurmInputError(name, f"{value!r} is not allowed: use letters, digits, '_', '.', '+' or '-'")
        for name, lo in (("nodes", 1), ("ntasks", 1), ("ntasks_per_node", 1), ("cpus_per_task", 1)):
            value = getattr(self, name)
            if value is None and name != "ntasks":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= 1_000_000:
                raise SlurmInputError(name, f"expected a whole number >= {lo}, got {value!r}")
        if self.nodes is not None and self.nodes > self.ntasks:
            raise SlurmInputError("nodes", f"{self.nodes} nodes need at least as many tasks, got ntasks={self.ntasks}")
        if self.time and not valid_time(self.time):
            raise SlurmInputError(
                "time", f"{self.time!r} is not a SLURM time: use HH:MM:SS, MM:SS, MM or D-HH:MM:SS")
        if self.gpus not in (None, "", 0) and not _GPUS_RE.match(str(self.gpus)):
            raise SlurmInputError("gpus", f"{self.gpus!r} is not a GPU count (e.g. 2 or a100:2)")
        if isinstance(self.gpus, int) and (isinstance(self.gpus, bool) or self.gpus < 0):
            raise SlurmInputError("gpus", f"expected a count >= 0, got {self.gpus!r}")
        if self.mem and not _MEM_RE.match(self.mem):
            raise SlurmInputError("mem", f"{self.mem!r} is not a memory size: use a number with K, M, G or T (e.g. 4G)")
        if self.mail_user and not _EMAIL_RE.match(self.mail_user):
            raise SlurmInputError("mail_user", f"{self.mail_user!r} is not an e-mail address")
        if self.mail_type:
            for part in self.mail_type.split(","):
                if part not in MAIL_TYPES:
                    raise SlurmInputError("mail_type", f"{part!r} is not one of {', '.join(MAIL_TYPES)}")
        for name in ("output", "error"):
            value = getattr(self, name)
            if value and (not _FILE_RE.match(value) or ".." in value.split("/")):
                raise SlurmInputError(
                    name, f"{value!r} is not allowed: a file name of letters, digits, '_', '.', '%', '/', '+', '-'")
        if self.launcher not in LAUNCHERS:
            raise SlurmInputError("launcher", f"{self.launcher!r} is not one of {', '.join(LAUNCHERS)}")
        if self.mpi_plugin not in _MPI_PLUGINS:
            raise SlurmInputError("mpi_plugin", f"{self.mpi_plugin!r} is not one of {', '.join(p for p in _MPI_PLUGINS if p)}")
        if self.launcher == "none" and self.ntasks != 1:
            raise SlurmInputError("launcher", "launcher 'none' runs one process; use srun or mpirun for more ranks")
        if not self.python.strip():
            raise SlurmInputError("python", "the cluster's Python command is empty")
        if not (self.job_dir.startswith("/") or self.job_dir.startswith("~/")):
            raise SlurmInputError("job_dir", f"must be an absolute path (or start with ~/), got {self.job_dir!r}")
        for name in ("spec", "out"):
            if not getattr(self, name):
                raise SlurmInputError(name, "must not be empty")
        if self.program:
            if not _PROGRAM_RE.match(self.program):
                raise SlurmInputError("program", f"{self.program!r} is not allowed: a .py file name of letters, "
                                                 "digits, '_', '.', '+' or '-'")
            if self.ntasks != 1:
                raise SlurmInputError("ntasks", "a script job runs one process: set the tasks to 1")
        return self

    def with_(self, **changes: Any) -> "JobDescription":
        return replace(self, **changes)


def valid_time(text: str) -> bool:
    """True for SLURM time formats: ``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH[:MM[:SS]]``."""
    m = _TIME_RE.match(text)
    if not m:
        return False
    if m.group(1) is not None:  # D-HH...
        hh, mm, ss = m.group(2), m.group(3), m.group(4)
        return int(hh) < 24 and (mm is None or int(mm) < 60) and (ss is None or int(ss) < 60)
    first, second, third = m.group(5), m.group(6), m.group(7)
    if third is not None:  # HH:MM:SS
        return int(second) < 60 and int(third) < 60
    if second is not None:  # MM:SS
        return int(second) < 60
    return int(first) > 0  # minutes


def time_to_seconds(text: str) -> int | None:
    """Seconds in a SLURM duration (``1-02:03:04``, ``03:04``, ``UNLIMITED`` -> None)."""
    text = text.strip()
    if not text or text.upper() in ("UNLIMITED", "INFINITE", "N/A", "NOT_SET", "INVALID"):
        return None
    days = 0
    if "-" in text:
        d, text = text.split("-", 1)
        if not d.isdigit():
            return None
        days = int(d)
    parts = text.split(":")
    if not all(p.isdigit() for p in parts) or not 1 <= len(parts) <= 3:
        return None
    nums = [int(p) for p in parts]
    if len(nums) == 3:
        h, m, s = nums
    elif len(nums) == 2:
        h, m, s = (nums[0], nums[1], 0) if days else (0, nums[0], nums[1])
    else:
        h, m, s = (nums[0], 0, 0) if days else (0, nums[0], 0)
    return ((days * 24 + h) * 60 + m) * 60 + s


_SBATCH_LINE_RE = re.compile(r"^\s*#SBATCH\s+(--?[A-Za-z][\w-]*)(?:[= ]\s*(.*))?$")


def sbatch_option(line: str) -> tuple[str, str] | None:
    """``("--ntasks-per-node", "2")`` for ``#SBATCH --ntasks-per-node=2``; ``None`` otherwise."""
    m = _SBATCH_LINE_RE.match(line)
    if m is None:
        return None
    return m.group(1), (m.group(2) or "").strip()


def script_output_name(script: str, default: str) -> str:
    """The ``#SBATCH --output`` file of a (possibly hand-edited) job script, else ``default``."""
    for line in script.splitlines():
        parsed = sbatch_option(line)
        if parsed and parsed[0] in ("--output", "-o"):
            return parsed[1].split(" #", 1)[0].strip() or default
    return default


def shell_word(text: str) -> str:
    """Quote ``text`` for bash, keeping a leading ``~/`` meaning the home folder."""
    if text == "~":
        return '"$HOME"'
    if text.startswith("~/"):
        return '"$HOME"/' + shlex.quote(text[2:])
    return shlex.quote(text)


def _directive(option: str, value: Any) -> str:
    text = f"#SBATCH {option}={value}"
    return f"{text:<40s} # {_SBATCH_HELP_SHORT[option]}"


def sbatch_directives(desc: JobDescription) -> list[str]:
    """The ``#SBATCH`` lines of ``desc`` (each with its comment), in a fixed order."""
    d = desc
    out = [_directive("--job-name", d.job_name)]
    if d.nodes is not None:
        out.append(_directive("--nodes", d.nodes))
    out.append(_directive("--ntasks", d.ntasks))
    if d.ntasks_per_node is not None:
        out.append(_directive("--ntasks-per-node", d.ntasks_per_node))
    if d.cpus_per_task is not None:
        out.append(_directive("--cpus-per-task", d.cpus_per_task))
    if d.time:
        out.append(_directive("--time", d.time))
    for option, value in (("--partition", d.partition), ("--account", d.account),
                          ("--reservation", d.reservation), ("--qos", d.qos)):
        if value:
            out.append(_directive(option, value))
    if d.gpus not in (None, "", 0, "0"):
        out.append(_directive("--gpus", d.gpus))
    if d.mem:
        out.append(_directive("--mem", d.mem))
    if d.mail_user:
        out.append(_directive("--mail-user", d.mail_user))
    if d.mail_type:
        out.append(_directive("--mail-type", d.mail_type))
    if d.output:
        out.append(_directive("--output", d.output))
    if d.error:
        out.append(_directive("--error", d.error))
    return out


def launch_line(desc: JobDescription) -> tuple[str, str]:
    """The command that starts the training, and a comment explaining it."""
    if desc.program:
        # -u: unbuffered, so that each progress line reaches the output file (and the live curves) at once.
        return (f"{shell_word(desc.python)} -u {shlex.quote(desc.program)}",
                f"One process runs {desc.program} (no MPI); its progress lines are this job's output.")
    program = f"{shell_word(desc.python)} -m engine train {shlex.quote(desc.spec)} --out {shlex.quote(desc.out)}"
    if desc.launcher == "srun":
        mpi = f" --mpi={desc.mpi_plugin}" if desc.mpi_plugin else ""
        return (
            f"srun{mpi} {program}",
            "srun starts one copy of the program per task (--ntasks); "
            + (f"--mpi={desc.mpi_plugin} lets the copies find each other as one MPI world."
               if desc.mpi_plugin else "the cluster's default MPI plugin connects them."),
        )
    if desc.launcher == "mpirun":
        extra = "".join(f" {shlex.quote(a)}" for a in desc.mpirun_args)
        return (
            f"mpirun{extra} -n {desc.ntasks} {program}",
            f"mpirun starts {desc.ntasks} copies of the program (MPI ranks) that train together.",
        )
    return program, "One process trains the model (no MPI)."


def render_job_script(desc: JobDescription) -> str:
    """The text of ``job.sh`` for ``desc`` (validated first).

    A pure function: the same description always gives the same text. Every ``#SBATCH``
    directive carries a short comment for learners; the script records its exit status in
    ``exit_status`` in the job folder, even when it fails or is cancelled.

    Raises
    ------
    SlurmInputError
        When ``desc`` has a bad value (see :meth:`JobDescription.validate`).
    """
    desc.validate()
    launch, why = launch_line(desc)
    lines = [
        "#!/bin/bash",
        "# job.sh: a SLURM batch script written by ScaleLab.",
        "# `sbatch job.sh` reads the #SBATCH lines before the job starts (to bash they are",
        "# comments), waits in the queue until the resources are free, then runs the rest on",
        "# the first node of the allocation.",
        "",
        *sbatch_directives(desc),
        "",
        "# Stop at the first command that fails.",
        "set -e",
        "",
        f"JOB_DIR={shell_word(desc.job_dir)}",
        "# Write the script's exit status into the job folder when it ends, however it ends,",
        "# so the outcome is known even after SLURM has forgotten the job.",
        "trap 'echo $? > \"$JOB_DIR/exit_status\"' EXIT",
        "# scancel sends SIGTERM: leave through the EXIT trap above with status 143.",
        "trap 'exit 143' TERM",
        'cd "$JOB_DIR"',
        "",
        *(("# The script and the data files it reads were copied into the job folder.",) if desc.program
          else ("# The engine's source was copied into the job folder: make it importable.",
                'export PYTHONPATH="$JOB_DIR${PYTHONPATH:+:$PYTHONPATH}"')),
        "# One BLAS thread per core given to each rank, so ranks do not fight over cores.",
        "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}",
    ]
    if desc.setup:
        lines += ["", "# Environment setup (modules, virtual environments) from the profile."]
        lines += list(desc.setup)
    ranks = f"{desc.ntasks} rank{'s' if desc.ntasks != 1 else ''}"
    lines += [
        "",
        "# A first line in the output file, so it shows at once where and when the job started.",
        f'echo "ScaleLab job${{SLURM_JOB_ID:+ $SLURM_JOB_ID}} on $(hostname): {ranks}, started $(date \'+%F %T\')"',
        "",
        f"# {why}",
        launch,
        ('echo "Finished $(date \'+%F %T\')"' if desc.program else
         'echo "Finished $(date \'+%F %T\'): metrics.jsonl, model.npz and result.json are in $JOB_DIR"'),
        "",
    ]
    return "\n".join(lines)


def explain_reason(reason: str) -> str:
    """Plain words for a SLURM pending reason (``Priority``, ``Resources``, ...)."""
    r = (reason or "").strip().strip("()")
    if not r or r == "None":
        return _REASONS["None"]
    if r in _REASONS:
        return _REASONS[r]
    head = re.split(r"[,(: ]", r, maxsplit=1)[0]
    if head in _REASONS:
        return _REASONS[head]
    if head.startswith("QOS"):
        return "A limit of your quality of service (QOS) holds the job back: " + head + "."
    if head.startswith("Assoc"):
        return "A limit on your account (association) holds the job back: " + head + "."
    return f"SLURM says: {r}."


#: Pending reasons that are limits on one job: waiting does not help, the request must change.
_NEVER_AS_ASKED = {
    "PartitionTimeLimit": "lower the time limit to at most the partition's",
    "PartitionNodeLimit": "ask for fewer (or more) nodes, within the partition's limits",
    "PartitionConfig": "ask for what the partition offers (or pick another partition)",
    "InvalidAccount": "give an account you may use",
    "InvalidQOS": "give a QOS you may use",
    "BadConstraints": "drop or change the constraints",
    "DependencyNeverSatisfied": "cancel it; the job it depends on failed",
}


def reason_needs_change(reason: str) -> str:
    """What to change when a pending reason means the job can never start as asked, else ``""``.

    Limits per job (partition time or node limits, a QOS's or account's per-job maximum) are
    not waited out: the job must be cancelled, changed and submitted again. Limits on all
    of a user's or group's jobs together pass as other jobs end, so they give ``""``.
    """
    r = (reason or "").strip().strip("()")
    head = re.split(r"[,(: ]", r, maxsplit=1)[0]
    if head in _NEVER_AS_ASKED:
        return _NEVER_AS_ASKED[head]
    if re.match(r"^(QOS|Assoc)(Max|Min)\w*PerJob\w*$", head) or re.match(r"^QOSMin\w*NotSatisfied$", head):
        return "ask for less (time, CPUs, nodes or memory) than the limit named"
    return ""


# ----------------------------------------------------------------------------- parsers


def parse_sbatch(text: str) -> str:
    """The job id from ``sbatch --parsable`` output (``"123"`` or ``"123;cluster"``).

    Raises
    ------
    SlurmOutputError
        When no line is a job id.
    """
    for line in reversed((text or "").strip().splitlines()):
        m = re.match(r"^\s*(\d+)(?:_\d+)?(?:;[A-Za-z0-9_.-]+)?\s*$", line)
        if m:
            return m.group(1)
    raise SlurmOutputError(f"sbatch printed no job id: {text.strip()[:200]!r}")


#: Environment that makes ``squeue``, ``sacct`` and ``scontrol`` print times as Unix seconds:
#: no guessing of the cluster's time zone.
EPOCH_TIME_ENV = "SLURM_TIME_FORMAT=%s"


def slurm_time_s(text: str) -> float | None:
    """Unix seconds of a SLURM time stamp; ``None`` for ``N/A``, ``Unknown``, ``None`` or empty.

    Takes what :data:`EPOCH_TIME_ENV` makes SLURM print (``1795952618``) and, for output
    made without it, ISO text (``2026-11-29T11:43:38``), read in this computer's time zone.
    """
    text = (text or "").strip()
    if text.isdigit():
        value = float(text)
        return value if value > 0 else None
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)$", text)
    if not m:
        return None
    return float(time.mktime(tuple(int(g) for g in m.groups()) + (0, 0, -1)))


def ran_on_nodes(nodelist: str) -> bool:
    """Whether a job was given nodes (``(null)``/``None assigned``: it never ran)."""
    n = (nodelist or "").strip()
    return bool(n) and n not in ("(null)", "None assigned", "None", "N/A")


@dataclass(frozen=True)
class QueueEntry:
    """One job as ``squeue`` shows it. Times are SLURM's text (Unix seconds, ISO or ``N/A``).

    ``start_time`` of a pending job is SLURM's estimate, not a start; a finished job that
    never ran (cancelled while pending) has an empty ``nodelist`` and ``start_time`` equal to
    its ``end_time``.
    """

    job_id: str
    name: str
    user: str
    state: str
    partition: str
    nodes: int | None
    elapsed: str
    time_limit: str
    reason: str
    nodelist: str
    submit_time: str
    start_time: str
    end_time: str = ""

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def elapsed_s(self) -> int | None:
        return time_to_seconds(self.elapsed)

    @property
    def submit_s(self) -> float | None:
        return slurm_time_s(self.submit_time)

    @property
    def start_s(self) -> float | None:
        """When SLURM started the job; ``None`` while pending and for a job that never ran."""
        if self.state == "PENDING" or (self.finished and not ran_on_nodes(self.nodelist)):
            return None
        return slurm_time_s(self.start_time)

    @property
    def end_s(self) -> float | None:
        return slurm_time_s(self.end_time) if self.finished else None


SQUEUE_FIELDS = ("%i", "%u", "%T", "%P", "%D", "%M", "%l", "%V", "%S", "%e", "%R", "%j")
#: ``squeue -o`` format: the user-chosen job name last, so a "|" in it cannot shift fields.
SQUEUE_FORMAT = "|".join(SQUEUE_FIELDS)
_JOBID_RE = re.compile(r"^\d+(?:_\d+|_\[[0-9,\-%]+\])?(?:\+\d+)?$")


def squeue_command(job_ids: list[str] | None = None, user: str | None = None) -> list[str]:
    """argv of the one ``squeue`` call that lists ``job_ids`` (finished ones too) or a user's jobs."""
    argv = ["env", EPOCH_TIME_ENV, "squeue", "--noheader", "--states=all", "--format", SQUEUE_FORMAT]
    if job_ids:
        argv += ["--jobs", ",".join(job_ids)]
    if user:
        argv += ["--user", user]
    return argv


def _state_word(state: str) -> str:
    # sacct writes "CANCELLED by 1001"; squeue can append "+" for federated states.
    return state.strip().split(" ")[0].rstrip("+").upper()


def parse_squeue(text: str, warnings: list[str] | None = None) -> list[QueueEntry]:
    """Entries from ``squeue --noheader --format SQUEUE_FORMAT`` output.

    A line that does not have the expected fields or job id is skipped; a description of it
    goes to ``warnings`` when given.
    """
    out = []
    for n, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("|", len(SQUEUE_FIELDS) - 1)
        if len(parts) != len(SQUEUE_FIELDS) or not _JOBID_RE.match(parts[0].strip()):
            if warnings is not None:
                warnings.append(f"squeue line {n} not understood: {line[:120]!r}")
            continue
        job_id, user, state, partition, nodes, elapsed, limit, submit, start, end, reason_or_nodes, name = (
            p.strip() for p in parts)
        if not re.match(r"^[A-Z_]+\+?$", state):
            if warnings is not None:
                warnings.append(f"squeue line {n}: unknown state {state!r}")
            continue
        state = _state_word(state)
        reason, nodelist = "", ""
        if reason_or_nodes.startswith("(") and reason_or_nodes.endswith(")"):
            reason = reason_or_nodes[1:-1]
            if reason == "None":
                reason = ""
        else:
            nodelist = reason_or_nodes
        out.append(QueueEntry(
            job_id=job_id, name=name, user=user, state=state, partition=partition,
            nodes=int(nodes) if nodes.isdigit() else None, elapsed=elapsed, time_limit=limit,
            reason=reason, nodelist=nodelist, submit_time=submit, start_time=start, end_time=end,
        ))
    return out


@dataclass(frozen=True)
class AccountingEntry:
    """A finished (or running) job's final facts, from ``sacct`` or ``scontrol show job``."""

    job_id: str
    name: str
    state: str
    exit_code: int | None
    signal: int | None
    start_time: str
    end_time: str
    elapsed: str
    source: str = "sacct"
    submit_time: str = ""
    nodelist: str = ""

    @property
    def submit_s(self) -> float | None:
        return slurm_time_s(self.submit_time)

    @property
    def start_s(self) -> float | None:
        """When the job started; ``None`` when it never ran (no nodes, e.g. cancelled while pending)."""
        if self.nodelist and not ran_on_nodes(self.nodelist):
            return None
        return slurm_time_s(self.start_time)

    @property
    def end_s(self) -> float | None:
        return slurm_time_s(self.end_time)


SACCT_FIELDS = ("JobID", "State", "ExitCode", "Submit", "Start", "End", "Elapsed", "NodeList", "JobName")


def sacct_command(job_ids: list[str]) -> list[str]:
    """argv of the one ``sacct`` call for ``job_ids`` (parsable, no header, times as Unix seconds)."""
    return ["env", EPOCH_TIME_ENV, "sacct", "--parsable2", "--noheader", "--jobs", ",".join(job_ids),
            "--format", ",".join(SACCT_FIELDS)]


def _exit_code(text: str) -> tuple[int | None, int | None]:
    m = re.match(r"^\s*(\d+):(\d+)\s*$", text or "")
    if not m:
        return None, None
    return int(m.group(1)), int(m.group(2))


def parse_sacct(text: str, warnings: list[str] | None = None) -> list[AccountingEntry]:
    """Entries from ``sacct -P -n -o JobID,State,ExitCode,Start,End,Elapsed,JobName``.

    Only whole jobs are returned; step lines (``123.batch``, ``123.0``) are left out.
    """
    out = []
    for n, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("|", len(SACCT_FIELDS) - 1)
        job_id = parts[0].strip() if parts else ""
        if len(parts) != len(SACCT_FIELDS) or not re.match(r"^\d+(?:_\d+)?(?:\.[A-Za-z0-9+_]+)?$", job_id):
            if warnings is not None:
                warnings.append(f"sacct line {n} not understood: {line[:120]!r}")
            continue
        if "." in job_id:
            continue
        _, state, exit_code, submit, start, end, elapsed, nodelist, name = (p.strip() for p in parts)
        rc, sig = _exit_code(exit_code)
        out.append(AccountingEntry(job_id=job_id, name=name, state=_state_word(state), exit_code=rc, signal=sig,
                                   start_time=start, end_time=end, elapsed=elapsed, source="sacct",
                                   submit_time=submit, nodelist=nodelist))
    return out


_SCONTROL_KEY = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z0-9_/:]*)=")


def parse_scontrol_job(text: str, warnings: list[str] | None = None) -> dict[str, str]:
    """``Key=Value`` pairs of ``scontrol show job ID`` output.

    Values run to the next `` Key=``, so values with spaces (``Command=/a b.sh``) survive.
    Empty dict when the text holds no job (e.g. "Invalid job id specified").
    """
    result: dict[str, str] = {}
    for n, line in enumerate((text or "").splitlines(), 1):
        line = line.rstrip()
        if not line.strip():
            continue
        matches = list(_SCONTROL_KEY.finditer(line))
        if not matches:
            if warnings is not None:
                warnings.append(f"scontrol line {n} not understood: {line[:120]!r}")
            continue
        for i, m in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
            result[m.group(1)] = line[m.end():end].strip()
    if "JobId" not in result:
        return {}
    return result


def accounting_from_scontrol(info: dict[str, str]) -> AccountingEntry | None:
    """The :class:`AccountingEntry` in a :func:`parse_scontrol_job` result (None if empty)."""
    if not info.get("JobId"):
        return None
    rc, sig = _exit_code(info.get("ExitCode", ""))
    return AccountingEntry(
        job_id=info["JobId"], name=info.get("JobName", ""), state=_state_word(info.get("JobState", "")),
        exit_code=rc, signal=sig, start_time=info.get("StartTime", ""), end_time=info.get("EndTime", ""),
        elapsed=info.get("RunTime", ""), source="scontrol", submit_time=info.get("SubmitTime", ""),
        # A job never given a node prints "NodeList=" (one-line output: "(null)").
        nodelist=info.get("NodeList", "") or ("(null)" if "NodeList" in info else ""),
    )


def job_id_key(job_id: str) -> tuple[tuple[int, ...], str]:
    """The one sort key for job ids: their numbers in order, then the text.

    ``9 < 17 < 120`` (numbers, not text); an array task ``30_2`` sorts after ``30`` and
    before ``30_10``; a local id ``L<pid>-<ticks>`` by its pid, then its start ticks.
    """
    return tuple(int(d) for d in re.findall(r"\d+", str(job_id))), str(job_id)


@dataclass(frozen=True)
class Partition:
    """One partition as ``sinfo`` shows it, its node groups merged.

    ``node_states`` counts nodes per state (``{"idle": 3, "mixed": 1}``); ``cpus_per_node``
    lists the distinct CPU counts of its nodes; ``time_limit`` is SLURM's text
    (``1-00:00:00``, ``infinite``).
    """

    name: str
    default: bool
    available: str
    nodes: int
    node_states: tuple[tuple[str, int], ...]
    cpus_per_node: tuple[int, ...]
    time_limit: str

    @property
    def label(self) -> str:
        """The name as sinfo prints it: the default partition with a ``*``."""
        return self.name + ("*" if self.default else "")


SINFO_FIELDS = ("%P", "%a", "%D", "%T", "%c", "%l")


def sinfo_command() -> list[str]:
    """argv of the ``sinfo`` call :func:`parse_sinfo` reads."""
    return ["sinfo", "--noheader", "--format", "|".join(SINFO_FIELDS)]


def parse_sinfo(text: str, warnings: list[str] | None = None) -> list[Partition]:
    """Partitions from :func:`sinfo_command` output, in sinfo's order.

    sinfo prints one line per partition and node state (and CPU count); they are merged
    into one :class:`Partition` each. A line that does not have the expected fields is
    skipped and described in ``warnings``.
    """
    merged: dict[str, dict] = {}
    for n, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != len(SINFO_FIELDS) or not parts[0] or not parts[2].isdigit():
            if warnings is not None:
                warnings.append(f"sinfo line {n} not understood: {line[:120]!r}")
            continue
        label, avail, nodes, state, cpus, limit = parts
        name = label.rstrip("*")
        p = merged.setdefault(name, {"default": False, "available": avail, "nodes": 0, "states": {},
                                     "cpus": set(), "limit": limit})
        p["default"] = p["default"] or label.endswith("*")
        p["nodes"] += int(nodes)
        state = state.rstrip("*~#!%$@^-")  # sinfo's flags: not responding, powered down, ...
        p["states"][state] = p["states"].get(state, 0) + int(nodes)
        p["cpus"].update(int(c) for c in re.findall(r"\d+", cpus)[:1])
    return [Partition(name=name, default=p["default"], available=p["available"], nodes=p["nodes"],
                      node_states=tuple(p["states"].items()), cpus_per_node=tuple(sorted(p["cpus"])),
                      time_limit=p["limit"])
            for name, p in merged.items()]


__all__ = [
    "ACTIVE_STATES", "AccountingEntry", "DIRECTIVE_HELP", "FINISHED_STATES", "JobDescription", "LAUNCHERS",
    "EPOCH_TIME_ENV", "Partition", "QueueEntry", "SACCT_FIELDS", "SQUEUE_FORMAT", "SlurmInputError", "SlurmOutputError",
    "accounting_from_scontrol", "explain_reason", "job_id_key", "launch_line", "parse_sacct", "parse_sbatch",
    "parse_scontrol_job", "parse_sinfo", "parse_squeue", "reason_needs_change", "render_job_script", "sacct_command",
    "sbatch_directives",
    "sbatch_option", "script_output_name", "shell_word", "sinfo_command", "squeue_command", "time_to_seconds",
    "valid_time", "ran_on_nodes", "slurm_time_s",
]
