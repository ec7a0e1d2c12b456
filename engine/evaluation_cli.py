"""``python -m engine cv`` and ``python -m engine curve``: the evaluation studies headless.

``cv SPEC --folds K [--stratified] [--seed N] --out DIR`` writes ``DIR/cv.json``;
``curve SPEC --learning [--sizes 0.1,0.25,0.5,1.0]`` or ``curve SPEC --param FIELD --values
V1,V2,...`` (each point cross-validated over ``--folds``, default 5) writes ``DIR/curve.json``.
The file is rewritten atomically after every finished training, so a run stopped by Ctrl+C,
SIGTERM or a job's time limit keeps every fold it finished (``status: "stopped"``), and
``--resume`` trains only the folds still missing. See :mod:`engine.evaluation`.

Exit codes: 0 completed, 2 invalid input (or DIR already holds a study and neither
``--force`` nor ``--resume`` was given), 130 stopped.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

from .fileio import atomic_write
from .spec import SpecError, load_spec

EXIT_OK, EXIT_INVALID, EXIT_STOPPED = 0, 2, 130


def add_evaluation_parsers(sub) -> None:
    """Register ``cv`` and ``curve`` on the ``python -m engine`` subparsers."""
    p = sub.add_parser("cv", help="K-fold cross-validation of a run spec: per-fold scores, mean and spread")
    p.add_argument("spec", help="run spec JSON file")
    p.add_argument("--folds", type=int, required=True, help="K, the number of folds (at least 2)")
    _common(p, "cv.json")
    p = sub.add_parser("curve", help="learning curve (score against training rows) or validation curve "
                                     "(score against one numeric spec field)")
    p.add_argument("spec", help="run spec JSON file")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--learning", action="store_true", help="a learning curve")
    what.add_argument("--param", help="a validation curve over this numeric spec field, e.g. train.learning_rate")
    p.add_argument("--sizes", help="learning curve: shares of each training part, default 0.1,0.25,0.5,1.0")
    p.add_argument("--values", help="validation curve: the field's values, e.g. 0.001,0.01,0.1")
    p.add_argument("--folds", type=int, default=5, help="folds per point (default 5)")
    _common(p, "curve.json")


def _common(p, filename: str) -> None:
    p.add_argument("--stratified", action="store_true", help="keep every class's share in every fold")
    p.add_argument("--seed", type=int, default=0, help="seed of the shuffle that deals rows into folds (default 0)")
    p.add_argument("--out", required=True, help=f"folder for {filename}")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--force", action="store_true", help=f"overwrite an earlier {filename} in --out")
    again.add_argument("--resume", action="store_true", help=f"train only the folds an earlier {filename} lacks")


def build_study(args):
    """The study the command line asks for (raises SpecError with one line when it cannot be made)."""
    from .evaluation import (DEFAULT_SIZES, CrossValidation, EvaluationError, LearningCurve, ValidationCurve,
                             parse_number_list)

    spec = load_spec(args.spec)
    if args.command == "cv":
        return CrossValidation(spec, args.folds, args.stratified, args.seed), "cv.json"
    if args.learning:
        if args.values is not None:
            raise EvaluationError("only goes with --param", "--values")
        sizes = parse_number_list(args.sizes, "--sizes") if args.sizes is not None else DEFAULT_SIZES
        return LearningCurve(spec, args.folds, args.stratified, args.seed, sizes=tuple(sizes)), "curve.json"
    if args.sizes is not None:
        raise EvaluationError("only goes with --learning", "--sizes")
    if args.values is None:
        raise EvaluationError("a validation curve needs --values, e.g. --values 0.001,0.01,0.1", "--param")
    values = parse_number_list(args.values, "--values")
    return ValidationCurve(spec, args.folds, args.stratified, args.seed, param=args.param,
                           values=tuple(values)), "curve.json"


def run_evaluation(args) -> int:
    """Run ``cv`` or ``curve`` from parsed arguments; returns the exit code."""
    out_dir = args.out
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise SpecError("--out", f"{out_dir} exists and is not a folder")
    study, filename = build_study(args)
    path = os.path.join(out_dir, filename)
    if os.path.exists(path):
        if args.resume:
            try:
                with open(path, encoding="utf-8") as fh:
                    saved = json.load(fh)
            except (OSError, ValueError) as exc:
                raise SpecError("--resume", f"cannot read {path}: {exc}") from None
            why = study.same_setup(saved)
            if why:
                raise SpecError("--resume", f"{path} is of another study: {why}")
            study.load_results(saved)
        elif not args.force:
            raise SpecError("--out", f"{out_dir} already holds {filename}; choose another --out folder, pass --resume "
                                     "to finish it or --force to overwrite it")
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise SpecError("--out", f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    if study.spec.dataset.test_fraction:
        print(f"note: every row is used; the spec's test_fraction {study.spec.dataset.test_fraction:g} does not apply "
              "(each row is tested once, in its fold)", file=sys.stderr)

    stop = threading.Event()
    previous = {}

    def on_signal(signum, frame):
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, on_signal)
        except ValueError:  # not the main thread
            pass
    try:
        write = lambda: atomic_write(path, json.dumps(_json_safe(study.to_json()), indent=1) + "\n")  # noqa: E731
        write()
        for event in study.run(stop):
            if event["event"] == "finished":
                write()
                print(_event_line(study, event), flush=True)
        write()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _print_summary(study)
    if study.status == "stopped":
        sys.stderr.write(f"stopped: {len(study.results)} of {len(study.units())} trainings finished and are kept in "
                         f"{path}; run the same command with --resume to train the rest\n")
        return EXIT_STOPPED
    return EXIT_OK


def _json_safe(value):
    from .runner import _json_safe as safe

    return safe(value)


def _fmt(value, name: str) -> str:
    from .metrics import format_metric

    return format_metric(value, "accuracy" if name == "accuracy" else name)


def _event_line(study, event) -> str:
    r = event["result"]
    name = study.score_name
    unit = event["unit"]
    where = f"fold {unit + 1}/{study.folds}" if isinstance(unit, int) else \
        f"point {unit[0] + 1} ({study.points()[unit[0]]:g}) fold {unit[1] + 1}/{study.folds}"
    if r["status"] == "diverged":
        return f"{where}: diverged, no score"
    return (f"{where}: train {name} {_fmt(r.get('train_' + name), name)}, "
            f"test {name} {_fmt(r.get('test_' + name), name)}  ({r['n_train']} + {r['n_test']} rows)")


def _print_summary(study) -> None:
    data = study.to_json()
    name = study.score_name
    if data["command"] == "cv":
        m, s = data["mean"], data["std"]
        if data["finished_folds"]:
            print(f"{name} over {data['finished_folds']} of {study.folds} folds: test "
                  f"{_fmt(m.get('test_' + name), name)} ± {_fmt(s.get('test_' + name), name)}, train "
                  f"{_fmt(m.get('train_' + name), name)} ± {_fmt(s.get('train_' + name), name)}")
        return
    print(f"{data['x_label']:>24}  {'train ' + name:>22}  {'validation ' + name:>22}")
    for p in data["points"]:
        if not p["finished_folds"]:
            continue
        print(f"{p['x']:>24g}  {_fmt(p['train_mean'], name):>10} ± {_fmt(p['train_std'], name):<9}  "
              f"{_fmt(p['validation_mean'], name):>10} ± {_fmt(p['validation_std'], name):<9}")
