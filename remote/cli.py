"""``python -m remote``: profiles, trust, doctor, submit, queue, watch, fetch, cancel, log, sweep.

Errors (unreachable host, refused key, SLURM refusing a job, bad input) print one line
starting with ``error:`` on stderr and exit with status 2. ``submit`` prints the job id as its
last line; ``watch`` prints each metrics record as one JSON line and exits 0 when the job
completed, else 1.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shlex
import sys
from dataclasses import replace
from typing import Sequence

from engine.logsetup import setup_cli_logging
from engine.spec import SpecError
from remote.backend import Backend, BackendError, SshBackend, open_backend
from remote.bundle import BundleError
from remote.config import ConfigError, Profile, get_profile, load_profiles
from remote.doctor import doctor_checks
from remote.jobs import (
    FetchConflictError, JobError, JobOptions, cancel_job, check_job_id, fetch_stored_job, follow_job, prepare_job,
    scheduler_for, submit_job,
)
from remote.monitor import Monitor, follow_output
from remote.output import read_new_output
from remote.slurm import FINISHED_STATES, SlurmInputError, explain_reason, job_id_key
from remote.ssh import (
    HostKeyChangedError, HostKeyUnknownError, SshConnection, SshError, check_host_key, fingerprint_sha256,
    trust_host_key,
)
from remote.store import JobStore, StoreError
from remote.sweep import SweepInputError
from remote.sweep_cli import add_sweep_parser, cmd_sweep

EXPECTED_ERRORS = (ConfigError, SshError, JobError, SpecError, SlurmInputError, BundleError, StoreError,
                   BackendError, SweepInputError, OSError)


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
        prepared = prepare_job(profile, args.spec, options, data_path=args.data)
        sys.stdout.write(script or prepared.script)
        _info(f"(dry run: nothing submitted; the job folder would be {prepared.job_dir})")
        return 0
    backend = backend_factory()
    store = store_factory()
    job = submit_job(backend, args.spec, options, store=store, script=script, data_path=args.data)
    _info(f"job folder: {job.job_dir}")
    _info(f"output:     {job.output_path}")
    print(job.job_id)
    return 0


def queue_order(entries: list) -> list:
    """Queued and running jobs first, then finished ones; newest (highest id) first in each."""
    newest_first = sorted(entries, key=lambda e: job_id_key(e.job_id), reverse=True)
    return sorted(newest_first, key=lambda e: e.state in FINISHED_STATES)  # a stable sort keeps that order


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
    """The store's entry for ``job_id``; a job not submitted here is looked up and followed."""
    try:
        return follow_job(backend, store, job_id)
    except JobError as exc:
        if profile.is_local:
            raise CliError(str(exc)) from None
        raise CliError(f"job {job_id} is not tracked here: {exc}") from None


def cmd_watch(args, profile: Profile, backend: Backend, store: JobStore) -> int:
    job = _known_job(profile, backend, store, args.job_id)
    monitor = Monitor(backend, store, min_delay_s=args.min_delay, max_delay_s=args.max_delay)
    if job.active:
        _info(f"watching job {job.job_id} ({job.state})")
    for event in monitor.watch(job.job_id, from_record=None if args.new_only else 0):
        if event.kind == "records":
            for line in event.lines:
                print(line, flush=True)
        elif event.kind == "state":
            reason = f" ({event.reason}: {explain_reason(event.reason)})" if event.reason and event.reason != "None" else ""
            _info(f"job {event.job_id}: {event.state}{reason}")
        elif event.kind == "connection":
            _info(f"connection {event.state}{': ' + event.message if event.message else ''}")
        elif event.kind == "warning":
            _info(f"warning: {event.message}")
        elif event.kind == "finished":
            code = "" if event.exit_code is None else f", exit code {event.exit_code}"
            _info(f"job {event.job_id} finished: {event.state}{code}")
    job = store.get(profile.name, job.job_id)
    return 0 if job is not None and job.state == "COMPLETED" else 1


def cmd_fetch(args, profile: Profile, backend: Backend, store: JobStore) -> int:
    job = _known_job(profile, backend, store, args.job_id)
    try:
        written = fetch_stored_job(backend, job, args.out, overwrite=args.force)
    except FetchConflictError as exc:
        raise CliError(f"{exc}; choose another --out folder or pass --force") from None
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
    if args.follow:
        for chunk in follow_output(backend, job, min_delay_s=args.interval):
            sys.stdout.write(chunk.decode("utf-8", "replace"))
            sys.stdout.flush()
        return 0
    piece = read_new_output(backend, job.output_path, 0, whole_lines=False, max_bytes=None)
    if piece is None:
        raise CliError(f"{job.output_path} does not exist (yet): the job may still be pending")
    sys.stdout.write(piece.data.decode("utf-8", "replace"))
    return 0


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
    p.add_argument("--data", metavar="PATH", help="upload this data file (also one outside the spec's folder) "
                                                  "instead of the one the spec names")

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

    add_sweep_parser(sub)
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
        if args.command == "sweep":
            def connect(profile: Profile) -> Backend:
                nonlocal backend
                backend = open_backend(profile, terminal_prompt)
                if isinstance(backend, SshBackend):
                    backend.connect()
                return backend

            def open_store() -> JobStore:
                nonlocal store
                store = JobStore(args.store)
                return store
            return cmd_sweep(args, args.config, connect, open_store)
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
