"""``python -m remote sweep``: run a scaling sweep from the command line (see :mod:`remote.sweep`).

Progress (each job's id and state) goes to stderr as it happens; the table goes to stdout
when the sweep has ended, and the folder holding ``scaling.csv`` and ``scaling.json`` is the
last line of stdout, also after an interruption or a failed job. Exit status: 0 when every job
completed, 1 when one did not, 2 for a bad request (nothing submitted) or an error, 130 for
Ctrl-C.
"""

from __future__ import annotations

import sys

from remote.config import get_profile
from remote.slurm import FINISHED_STATES
from remote.sweep import (
    AGGREGATE, CSV_NAME, JSON_NAME, MODES, SweepEvent, SweepInputError, SweepState, fit_serial_fraction, format_table,
    make_plan, parse_counts, run_sweep,
)


def add_sweep_parser(sub) -> None:
    """Register ``sweep`` on the ``python -m remote`` sub-command parser ``sub``."""
    p = sub.add_parser("sweep", help="run a spec on several rank counts, one job each, and write the scaling table")
    p.add_argument("--profile", help="where the jobs run (required unless --resume)")
    p.add_argument("spec", nargs="?", help="the run spec (JSON) of a network")
    p.add_argument("--ranks", help="rank counts, e.g. 1,2,4")
    p.add_argument("--nodes", help="node counts: one for all rank counts, or one per rank count (default 1)")
    p.add_argument("--mode", default="strong", choices=MODES,
                   help="strong: the spec's global batch split over the ranks; weak: each rank's share fixed, "
                        "so the global batch grows with the ranks (default strong)")
    p.add_argument("--repeat", type=int, default=1, help=f"jobs per rank count; the table shows the {AGGREGATE}")
    p.add_argument("--time", default="00:10:00", help="time limit of each job HH:MM:SS (default 00:10:00)")
    p.add_argument("--out", help="the sweep's folder (default: a new one under the data folder's sweeps/)")
    p.add_argument("--resume", metavar="FOLDER", help="finish the sweep in FOLDER, keeping its finished runs")


def _info(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _describe(event: SweepEvent, total: int, index: dict) -> str | None:
    run = event.run
    if run is None:
        return None
    where = f"{run.ranks} rank{'s' if run.ranks != 1 else ''}, {run.nodes} node{'s' if run.nodes != 1 else ''}"
    n = index.get(run.key, 0)
    if event.kind == "submitted":
        return f"[{n}/{total}] job {run.job_id} ({where}): submitted, {event.state}"
    if event.kind == "state" and event.state not in FINISHED_STATES:  # the final state comes with the figures
        return f"[{n}/{total}] job {run.job_id}: {event.state}"
    if event.kind == "finished":
        rate = run.figures.get("samples_per_s")
        tail = f", {rate:.0f} samples/s" if rate else ""
        return f"[{n}/{total}] job {run.job_id} ({where}): {run.state}{tail}"
    if event.kind == "message":
        return f"[{n}/{total}] {event.message}"
    return None


def _print_result(sweep: SweepState) -> None:
    rows = sweep.rows
    if rows:
        print(format_table(rows))
        fraction = fit_serial_fraction([r["ranks"] for r in rows], [r["speedup"] for r in rows])
        if fraction is not None:
            print(f"Amdahl's law fitted: serial fraction {fraction:.3f}")
        if sweep.plan.repeat > 1:
            print(f"(each row: the {AGGREGATE} of {sweep.plan.repeat} runs)")
        for row in rows:
            for w in row["warnings"]:
                print(f"warning ({row['ranks']} ranks): {w}")
    else:
        print("no run finished yet")
    print(f"{CSV_NAME} and {JSON_NAME} in:")
    print(sweep.folder, flush=True)


def cmd_sweep(args, config: str | None, connect, store_factory) -> int:
    """Run or resume a sweep. ``connect(profile)`` opens the backend; errors propagate as one line."""
    if args.resume:
        if args.spec or args.ranks or args.nodes:
            raise SweepInputError("--resume FOLDER takes its spec, ranks and nodes from the folder: give no others")
        sweep = SweepState.load(args.resume)
        if args.profile and args.profile != sweep.plan.profile:
            raise SweepInputError(f"the sweep in {sweep.folder} runs on profile {sweep.plan.profile!r}, "
                                  f"not {args.profile!r}")
        profile = get_profile(sweep.plan.profile, config)
    else:
        if not args.profile:
            raise SweepInputError("sweep needs --profile (or --resume FOLDER)")
        if not args.spec:
            raise SweepInputError("sweep needs a spec file (or --resume FOLDER)")
        if not args.ranks:
            raise SweepInputError("sweep needs --ranks, e.g. --ranks 1,2,4")
        ranks = parse_counts(args.ranks, "ranks")
        nodes = parse_counts(args.nodes, "nodes") if args.nodes is not None else None
        profile = get_profile(args.profile, config)
        plan = make_plan(args.spec, profile, ranks, nodes, mode=args.mode, repeat=args.repeat, time_limit=args.time)
        sweep = None
    backend = connect(profile)
    store = store_factory()
    if sweep is None:
        sweep = SweepState.create(plan, args.out)
        _info(f"sweep folder: {sweep.folder}")
    else:
        kept = len(sweep.runs) - len(sweep.pending)
        _info(f"resuming {sweep.folder}: {kept} finished run(s) kept, {len(sweep.pending)} to run")
    index = {run.key: i + 1 for i, run in enumerate(sweep.runs)}

    def show(event: SweepEvent) -> None:
        line = _describe(event, len(sweep.runs), index)
        if line:
            _info(line)

    try:
        complete = run_sweep(backend, store, sweep, show)
    except KeyboardInterrupt:
        _print_result(sweep)
        _info(f"interrupted: the finished runs are kept; finish with python -m remote sweep --resume {sweep.folder}")
        return 130
    except Exception:
        _print_result(sweep)
        _info(f"the finished runs are kept; finish with python -m remote sweep --resume {sweep.folder}")
        raise
    _print_result(sweep)
    if not complete:
        failed = [f"job {r.job_id or '-'} ({r.ranks} rank{'s' if r.ranks != 1 else ''}): {r.state}"
                  for r in sweep.pending]
        first = next((r.job_id for r in sweep.pending if r.job_id), "JOBID")
        _info(f"not every job completed: {'; '.join(failed)}; its output: python -m remote log --profile "
              f"{profile.name} {first}; rerun with python -m remote sweep --resume {sweep.folder}")
        return 1
    return 0


__all__ = ["add_sweep_parser", "cmd_sweep"]

