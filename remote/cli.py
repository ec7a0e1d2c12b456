"""``python -m remote``: profiles, trust, doctor, submit, queue, watch, fetch, cancel, log.

Errors (unreachable host, refused key, SLURM refusing a job, bad input) print one line
starting with ``error:`` on stderr and exit with status 2. ``submit`` prints the job id as its
last line; ``watch`` prints each metrics record as one JSON line and exits 0 when the job
completed, else 1.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shlex
import sys
import time
from dataclasses import replace
from typing import Sequence

from engine.logsetup import setup_cli_logging
from engine.spec import SpecError
from remote.backend import Backend, BackendError, SshBackend, open_backend
from remote.bundle import BundleError
from remote.config import ConfigError, Profile, get_profile, load_profiles
from remote.jobs import (
    JobError, JobOptions, METRICS_NAME, SlurmScheduler, cancel_job, check_job_id, fetch_job, prepare_job, scheduler_for, submit_job,
)
from remote.monitor import Monitor, complete_lines
from remote.slurm import FINISHED_STATES, SlurmInputError, explain_reason, shell_word
from remote.ssh import (
    AuthenticationError, HostKeyChangedError, HostKeyUnknownError, SshConnection, SshError, check_host_key,
    fingerprint_sha256, trust_host_key,
)
from remote.store import JobStore, StoreError

EXPECTED_ERRORS = (ConfigError, SshError, JobError, SpecError, SlurmInputError, BundleError, StoreError,
                   BackendError, OSError)


class CliError(Exception):
    """A problem to report as one line (exit status 2)."""


def terminal_prompt(text: str, secret: bool) -> str | None:
    """Answer SSH questions on the terminal; ``None`` when there is no terminal to ask."""
    if not sys.stdin.isatty():
        return None
    try:
        if secret:
            return getpass.getpass(text if text.endswith((": ", "? ")) else text + " ")
        return input(text if text.endswith(" ") else text + " ")
    except (EOFError, KeyboardInterrupt):
        return None


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _with_config(message: str, args) -> str:
    """A suggested ``python -m remote`` command in ``message``, with the ``--config`` in use."""
    if getattr(args, "config", None):
        return message.replace("python -m remote trust", f"python -m remote --config {shlex.quote(args.config)} trust")
    return message


def _info(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- commands


def cmd_profiles(args, profiles: dict[str, Profile]) -> int:
    for name in sorted(profiles):
        p = profiles[name]
        if p.is_local:
            where = "this computer"
        else:
            user = f"{p.user}@" if p.user else ""
            port = f":{p.port}" if p.port else ""
            where = f"{user}{p.host}{port}"
        print(f"{name:16s} {p.kind:5s} {where:32s} workdir={p.workdir} launcher={p.launcher}")
    return 0


def _confirm_and_trust(args, profile: Profile, key, host: str, port: int) -> bool:
    """Show ``key``'s fingerprint, get the user's word (or --fingerprint) and record it."""
    fp = fingerprint_sha256(key)
    print(f"{host}:{port} shows host key {key.get_name()} {fp}")
    if args.fingerprint:
        if args.fingerprint.strip() != fp:
            raise CliError(f"the server's fingerprint {fp} is not the expected {args.fingerprint.strip()}; not trusted")
    else:
        if not sys.stdin.isatty():
            raise CliError("no terminal to ask on: compare the fingerprint with your cluster's documentation and "
                           "pass it with --fingerprint SHA256:...")
        answer = input("Compare it with the fingerprint your cluster publishes. Trust it? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("not trusted")
            return False
    trust_host_key(profile, key)
    print(f"trusted: recorded in {os.path.expanduser(profile.known_hosts)}")
    return True


def cmd_trust(args, profile: Profile) -> int:
    if profile.is_local:
        raise CliError("the local profile needs no host key")
    conn = SshConnection(profile, terminal_prompt)
    for _ in range(2):
        try:
            key = conn.fetch_host_key()
            break
        except HostKeyUnknownError as exc:
            # The jump host (ProxyJump) is unknown: trust it first, then look at the target.
            jump = conn._jump
            if jump is None or exc.key is None:
                raise
            if not _confirm_and_trust(args, jump.profile, exc.key, exc.host, exc.port):
                return 1
            conn = SshConnection(profile, terminal_prompt)
    else:
        raise CliError("could not reach the server's host key")
    target = conn.target
    try:
        check_host_key(target.host, target.port, key, os.path.expanduser(profile.known_hosts), profile.name)
        print(f"the host key of {target.host}:{target.port} ({key.get_name()} {fingerprint_sha256(key)}) "
              "is already trusted")
        return 0
    except HostKeyUnknownError:
        pass
    return 0 if _confirm_and_trust(args, profile, key, target.host, target.port) else 1


def doctor_checks(backend: Backend, profile: Profile):
    """Run the ``doctor`` checks one by one, yielding ``(check, ok, detail)``.

    ``detail`` is what was found, or what to do when ``ok`` is false. Stops after a failed
    login (nothing else can be checked then).
    """
    if isinstance(backend, SshBackend):
        try:
            backend.connect()
            yield "log in", True, f"{backend.connection.target.user}@{backend.connection.target.host}"
        except (HostKeyUnknownError, HostKeyChangedError) as exc:
            yield "log in", False, str(exc)  # says what to do itself
            return
        except AuthenticationError as exc:
            yield "log in", False, f"{exc} (check user and key_file, and that the key is in authorized_keys)"
            return
        except SshError as exc:
            yield "log in", False, f"{exc} (check host and port, and that this computer can reach it: VPN?)"
            return
        for tool in ("sbatch", "squeue", "sinfo", "sacct", "scontrol"):
            r = backend.run(["sh", "-c", 'command -v "$1"', "sh", tool], timeout_s=30)
            needed = tool in ("sbatch", "squeue", "sinfo")
            if r.ok:
                yield f"{tool} found", True, r.stdout.strip()
            else:
                yield f"{tool} found", not needed, ("not in PATH: is this a SLURM login node? add a `module load "
                                                    "slurm` line to setup" if needed else "not found (optional)")
        r = backend.run(["sinfo", "--noheader", "--format", "%P %a %D %T"], timeout_s=30)
        if r.ok:
            parts = [ln.split()[0] for ln in r.stdout.splitlines() if ln.strip()]
            names = [p.rstrip("*") for p in parts]
            yield "partitions", bool(names), ", ".join(parts) or "sinfo lists no partitions"
            if profile.partition:
                ok = profile.partition in names
                yield f"partition {profile.partition}", ok, (
                    "exists" if ok else f"not found; set partition to one of {', '.join(names)} in the profile")
        else:
            yield "partitions", False, f"sinfo failed: {r.text}"
    py = shell_word(profile.python)
    code = ("import json,sys\nd={'python':sys.version.split()[0]}\n"
            "try:\n import numpy; d['numpy']=numpy.__version__\nexcept Exception as e: d['numpy_error']=str(e)\n"
            "try:\n import mpi4py; d['mpi4py']=mpi4py.__version__\n"
            " from mpi4py import MPI; d['mpi']=MPI.Get_library_version().splitlines()[0].strip()\n"
            "except Exception as e: d['mpi4py_error']=str(e)\nprint(json.dumps(d))")
    script = "\n".join(list(profile.setup) + [f"{py} -c {shlex.quote(code)}"])
    r = backend.run(["bash", "-c", script], timeout_s=120)
    info = {}
    if r.ok:
        try:
            info = json.loads(r.stdout.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError):
            info = {}
    if not info:
        yield "python", False, f"{profile.python} did not run ({r.text[:200]}); set `python` or `setup` in the profile"
    else:
        yield "python", True, f"{profile.python} {info['python']}"
        yield "numpy", "numpy" in info, info.get("numpy") or f"{info.get('numpy_error')}: install numpy or load its module"
        yield "mpi4py", "mpi4py" in info, (f"{info['mpi4py']} ({info.get('mpi', '?')})" if "mpi4py" in info else
                                           f"{info.get('mpi4py_error')}: needed for more than one rank")
    launcher = "mpirun" if profile.is_local else profile.launcher
    r = backend.run(["bash", "-c", "\n".join(list(profile.setup) + [f"{launcher} --version"])], timeout_s=60)
    first = (r.stdout.strip() or r.stderr.strip()).splitlines()[:1]
    yield f"{launcher}", r.ok, (first[0] if r.ok and first else
                                f"{launcher} not usable ({r.text[:160]}); load your MPI module in setup")
    if launcher == "srun" and profile.mpi_plugin and not profile.is_local:
        r = backend.run(["srun", "--mpi=list"], timeout_s=60)
        text = r.stdout + r.stderr
        ok = profile.mpi_plugin in text
        yield f"srun --mpi={profile.mpi_plugin}", ok, ("available" if ok else
                                                       f"not listed by srun --mpi=list; set mpi_plugin to one of: "
                                                       f"{' '.join(text.split())[:160]}")
    try:
        workdir = backend.expand_path(profile.workdir)
        backend.makedirs(workdir, 0o700)
        probe = f"{workdir}/.scalelab-write-test"
        backend.write_bytes(probe, b"ok\n")
        backend.run(["rm", "-f", probe], timeout_s=30)
        yield "workdir writable", True, workdir
    except (OSError, BackendError) as exc:
        yield "workdir writable", False, f"{profile.workdir}: {exc}; choose a writable workdir"




def cmd_doctor(args, profile: Profile, backend: Backend) -> int:
    failed = 0
    for name, ok, detail in doctor_checks(backend, profile):
        print(f"[{'ok' if ok else 'FAIL'}] {name}: {_with_config(detail, args)}", flush=True)
        failed += not ok
    print("all checks passed" if not failed else f"{failed} check(s) failed")
    return 0 if not failed else 1


def _options(args) -> JobOptions:
    return JobOptions(ntasks=args.ntasks, nodes=args.nodes, time=args.time, partition=args.partition,
                      job_name=args.job_name, gpus=args.gpus)


def cmd_submit(args, profile: Profile, backend_factory, store_factory) -> int:
    options = _options(args)
    script = None
    if args.script:
        with open(args.script, encoding="utf-8") as fh:
            script = fh.read()
    if args.dry_run:
        prepared = prepare_job(profile, args.spec, options)
        sys.stdout.write(script or prepared.script)
        _info(f"(dry run: nothing submitted; the job folder would be {prepared.job_dir})")
        return 0
    backend = backend_factory()
    store = store_factory()
    job = submit_job(backend, args.spec, options, store=store, script=script)
    _info(f"job folder: {job.job_dir}")
    _info(f"output:     {job.output_path}")
    print(job.job_id)
    return 0


def queue_order(entries: list) -> list:
    """Queued and running jobs first, then finished ones; newest (highest id) first in each."""
    def key(entry):
        digits = "".join(c if c.isdigit() else " " for c in entry.job_id).split()
        return (entry.state in FINISHED_STATES, [-int(d) for d in digits], entry.job_id)
    return sorted(entries, key=key)


def cmd_queue(args, profile: Profile, backend: Backend, store: JobStore) -> int:
    scheduler = scheduler_for(backend)
    warnings: list[str] = []
    if profile.is_local:
        stored = {j.job_id: j for j in store.jobs(profile.name)}
        entries = [replace(e, name=stored[e.job_id].name or e.name)
                   for e in scheduler.queue({i: j.job_dir for i, j in stored.items()}, warnings)]
    else:
        entries = scheduler.user_queue(warnings)
    entries = queue_order(entries)
    id_width = max([10] + [len(e.job_id) for e in entries])  # local ids are longer than SLURM's
    print(f"{'JOBID':>{id_width}s}  {'NAME':24s} {'STATE':12s} {'TIME':>10s} {'NODES':>5s}  REASON / NODES")
    for e in entries:
        why = f"{e.reason}: {explain_reason(e.reason)}" if e.reason and e.reason != "None" else e.nodelist
        print(f"{e.job_id:>{id_width}s}  {e.name[:24]:24s} {e.state:12s} {e.elapsed:>10s} "
              f"{str(e.nodes or ''):>5s}  {why}")
    for w in warnings:
        _info(f"warning: {w}")
    return 0


def _known_job(profile: Profile, backend: Backend, store: JobStore, job_id: str):
    """The store's entry for ``job_id``; a job not submitted here is looked up and watched."""
    job_id = check_job_id(job_id)
    job = store.get(profile.name, job_id)
    if job is not None:
        return job
    if profile.is_local:
        raise CliError(f"local job {job_id} is not in the job store")
    try:
        found = SlurmScheduler(backend).look_up(job_id)
    except JobError as exc:
        raise CliError(f"job {job_id} is not tracked here: {exc}") from None
    # A ScaleLab run writes metrics.jsonl in its working folder; tailing a missing file is harmless.
    metrics = f"{found.work_dir}/{METRICS_NAME}" if found.work_dir else ""
    store.watch_external(profile.name, job_id, output_path=found.output_path, metrics_path=metrics)
    if found.work_dir:
        store.update(profile.name, job_id, job_dir=found.work_dir, name=found.name)
    return store.get(profile.name, job_id)


def cmd_watch(args, profile: Profile, backend: Backend, store: JobStore) -> int:
    job = _known_job(profile, backend, store, args.job_id)
    if not args.new_only:
        for line in store.record_lines(profile.name, job.job_id):
            print(line, flush=True)
    monitor = Monitor(backend, store, min_delay_s=args.min_delay, max_delay_s=args.max_delay)
    if job.active:
        _info(f"watching job {job.job_id} ({job.state})")
    for event in monitor.watch(job.job_id):
        if event.kind == "records":
            for line in event.lines:
                print(line, flush=True)
        elif event.kind == "state":
            reason = f" ({event.reason}: {explain_reason(event.reason)})" if event.reason and event.reason != "None" else ""
            _info(f"job {event.job_id}: {event.state}{reason}")
        elif event.kind == "connection":
            _info(f"connection {event.state}{': ' + event.message if event.message else ''}")
        elif event.kind == "finished":
            code = "" if event.exit_code is None else f", exit code {event.exit_code}"
            _info(f"job {event.job_id} finished: {event.state}{code}")
    job = store.get(profile.name, job.job_id)
    return 0 if job is not None and job.state == "COMPLETED" else 1


def cmd_fetch(args, profile: Profile, backend: Backend, store: JobStore) -> int:
    job = _known_job(profile, backend, store, args.job_id)
    if not job.job_dir:
        raise CliError(f"job {job.job_id} has no known job folder to fetch from")
    written = fetch_job(backend, job.job_dir, args.out, job.output_path, overwrite=args.force)
    for path in written:
        print(path)
    return 0


def cmd_cancel(args, profile: Profile, backend: Backend, store: JobStore) -> int:
    cancel_job(backend, args.job_id, store=store)
    print(f"cancel requested for job {args.job_id}")
    return 0


def cmd_log(args, profile: Profile, backend: Backend, store: JobStore) -> int:
    job = _known_job(profile, backend, store, args.job_id)
    if not job.output_path:
        raise CliError(f"job {job.job_id} has no known output file")
    offset = 0
    scheduler = scheduler_for(backend)
    while True:
        try:
            data = backend.read_bytes(job.output_path, offset)
        except FileNotFoundError:
            data = b""
            if not args.follow:
                raise CliError(f"{job.output_path} does not exist (yet): the job may still be pending") from None
        if args.follow:
            _, used = complete_lines(data)
            data = data[:used]
        sys.stdout.write(data.decode("utf-8", "replace"))
        sys.stdout.flush()
        offset += len(data)
        if not args.follow:
            return 0
        entries = scheduler.queue({job.job_id: job.job_dir})
        if not entries or entries[0].state in FINISHED_STATES:
            rest = b""
            try:
                rest = backend.read_bytes(job.output_path, offset)
            except FileNotFoundError:
                pass
            sys.stdout.write(rest.decode("utf-8", "replace"))
            return 0
        time.sleep(args.interval)


# ----------------------------------------------------------------------------- entry point


class _OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one ``error:`` line (exit 2), like every other error."""

    def error(self, message: str):  # argparse override
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m remote", description="Run ScaleLab specs on SLURM clusters.")
    parser.add_argument("--config", help="profile file (default: $SCALELAB_CONFIG or the platform config folder)")
    parser.add_argument("--store", help="job store file (default: $SCALELAB_DATA_DIR/jobs.sqlite or the platform "
                                        "data folder)")
    verbose_help = "log debug records (connections, commands, submits, polls) to stderr"
    parser.add_argument("--verbose", action="store_true", help=verbose_help)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("profiles", help="list the connection profiles")
    p = sub.add_parser("trust", help="show the server's host key fingerprint and record it when confirmed")
    p.add_argument("--profile", required=True)
    p.add_argument("--fingerprint", help="trust without asking when the server's key has this SHA256:... fingerprint")
    p = sub.add_parser("doctor", help="check login, SLURM tools, partitions, python/numpy/mpi4py, MPI and workdir")
    p.add_argument("--profile", required=True)

    p = sub.add_parser("submit", help="bundle a spec and submit it; prints the job id last")
    p.add_argument("--profile", required=True)
    p.add_argument("spec", help="the run spec (JSON)")
    p.add_argument("--ntasks", type=int, default=1, help="MPI ranks (default 1)")
    p.add_argument("--nodes", type=int, default=None)
    p.add_argument("--time", default="00:10:00", help="time limit HH:MM:SS (default 00:10:00)")
    p.add_argument("--partition", default=None)
    p.add_argument("--job-name", default=None)
    p.add_argument("--gpus", default=None)
    p.add_argument("--script", help="use this (edited) job.sh instead of the generated one")
    p.add_argument("--dry-run", action="store_true", help="print job.sh and submit nothing")

    p = sub.add_parser("queue", help="the user's jobs: id, name, state, time, nodes, reason")
    p.add_argument("--profile", required=True)

    p = sub.add_parser("watch", help="print each metrics record as one JSON line as it arrives")
    p.add_argument("--profile", required=True)
    p.add_argument("job_id")
    p.add_argument("--new-only", action="store_true", help="skip the records already received earlier")
    p.add_argument("--min-delay", type=float, default=2.0, help=argparse.SUPPRESS)
    p.add_argument("--max-delay", type=float, default=60.0, help=argparse.SUPPRESS)

    p = sub.add_parser("fetch", help="copy metrics, model, result and the job output into a folder")
    p.add_argument("--profile", required=True)
    p.add_argument("job_id")
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true", help="overwrite different local files")

    p = sub.add_parser("cancel", help="cancel a job")
    p.add_argument("--profile", required=True)
    p.add_argument("job_id")

    p = sub.add_parser("log", help="print the job's output file")
    p.add_argument("--profile", required=True)
    p.add_argument("job_id")
    p.add_argument("--follow", action="store_true", help="keep printing until the job ends")
    p.add_argument("--interval", type=float, default=2.0, help=argparse.SUPPRESS)
    for command in sub.choices.values():  # --verbose also after the command
        command.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=verbose_help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    code = _main(argv)
    try:
        sys.stdout.flush()  # here, not at interpreter exit, so a closed pipe is handled like above
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return code


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_cli_logging(args.verbose)
    backend: Backend | None = None
    store: JobStore | None = None
    try:
        if args.command == "profiles":
            return cmd_profiles(args, load_profiles(args.config))
        profile = get_profile(args.profile, args.config)
        if getattr(args, "job_id", None) is not None:
            args.job_id = check_job_id(args.job_id)  # before connecting anywhere

        def backend_factory() -> Backend:
            nonlocal backend
            if backend is None:
                backend = open_backend(profile, terminal_prompt)
                if isinstance(backend, SshBackend):
                    backend.connect()
            return backend

        def store_factory() -> JobStore:
            nonlocal store
            if store is None:
                store = JobStore(args.store)
            return store

        if args.command == "trust":
            return cmd_trust(args, profile)
        if args.command == "doctor":
            backend = open_backend(profile, terminal_prompt)
            return cmd_doctor(args, profile, backend)
        if args.command == "submit":
            return cmd_submit(args, profile, backend_factory, store_factory)
        handler = {"queue": cmd_queue, "watch": cmd_watch, "fetch": cmd_fetch, "cancel": cmd_cancel,
                   "log": cmd_log}[args.command]
        return handler(args, profile, backend_factory(), store_factory())
    except HostKeyChangedError as exc:
        _err(str(exc))
        return 2
    except BrokenPipeError:
        # The reader of our output went away (`... | head`); network errors never get here as
        # BrokenPipeError (remote.ssh turns them into SshError). Stop quietly, as `yes | head`
        # does, with stdout on /dev/null so the interpreter's last flush does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except CliError as exc:
        _err(str(exc))
        return 2
    except EXPECTED_ERRORS as exc:
        message = _with_config(str(exc), args)
        if isinstance(exc, OSError) and not isinstance(exc, (BackendError,)) and exc.filename:
            message = f"{exc.filename}: {exc.strerror or exc}"
        _err(message)
        return 2
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    finally:
        if backend is not None:
            backend.close()
        if store is not None:
            store.close()


__all__ = ["build_parser", "doctor_checks", "main", "queue_order", "terminal_prompt"]
