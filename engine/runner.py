"""The headless runner: ``python -m engine train|validate|predict``.

``train SPEC.json --out DIR`` writes, on rank 0 only:

- ``DIR/metrics.jsonl``: one JSON record per epoch (an SVM: every 1,000 SMO iterations and
  per pair of classes), flushed as it goes (non-finite numbers are written as ``null``);
- ``DIR/model.npz``: the spec (JSON text), the preprocessing and the model's arrays (a
  network's ``W`` and ``b`` per layer; an SVM's support vectors, coefficients, intercepts);
  readable with ``np.load(..., allow_pickle=False)`` and by ``engine.estimators.read_model`` (networks: :func:`engine.model_io.load_model`);
- ``DIR/result.json``: ``status`` (``completed``, ``diverged`` or ``stopped``), ``message``,
  ``final`` (the last record), ``ranks`` and the model kind's own fields (networks:
  ``epochs``, ``steps``; SVMs: ``n_support``, ``iterations``, ``dual_objective``, ...;
  k-means: ``inertia``, ``n_iter``, ``cluster_sizes``; DBSCAN: ``k_distance``, ...);
  a classifier's ``roc`` (ROC curves and AUC on the test part, ``roc_on``; see
  :func:`engine.metrics.roc_report`);
- ``DIR/clusters.csv`` (clustering kinds): ``row,cluster``, one line per data row.

The model kind decides how to train, save, load and describe: ``engine.estimators``.
``export-data SPEC FILE`` writes a spec's data as CSV, LIBSVM or NPZ; ``cv`` and ``curve``
cross-validate a spec (:mod:`engine.evaluation_cli`).

``model.npz`` and ``result.json`` are written atomically, also when SIGINT or SIGTERM
stops the run between two steps. An invalid spec or data set exits with code 2 and one
line on stderr naming the field, file and line. Exit codes: 0 completed, 2 invalid input
(or DIR already holds a run and ``--force`` was not given), 3 diverged, 130 stopped.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import sys
import threading
import time

import numpy as np

from .features import Preprocessor
from .fileio import atomic_write
from .logsetup import setup_cli_logging
from .metrics import format_metric
from .model_checks import label_indices
from .parallel import ParallelError, SerialComm, world_comm
from .spec import SpecError, load_spec
from .value_checks import check_inputs_fit

RUN_FILES = ("metrics.jsonl", "model.npz", "result.json", "clusters.csv")

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_INVALID, EXIT_DIVERGED, EXIT_STOPPED = 0, 2, 3, 130


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


# ----------------------------------------------------------------------------- files


def _json_safe(value):
    """Records to JSON: NumPy scalars to Python numbers, NaN and infinities to null."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


# ----------------------------------------------------------------------------- train


class _Progress:
    """A one-line progress display on stderr, only when stderr is a terminal."""

    def __init__(self, total_epochs: int, enabled: bool, describe=None):
        self.total = total_epochs
        self.enabled = enabled
        self.shown = False
        self.describe = describe  # the model kind's own line, or None for the epoch line

    def update(self, rec: dict) -> None:
        if not self.enabled:
            return
        if self.describe is not None:
            sys.stderr.write("\r\x1b[K" + self.describe(rec))
            sys.stderr.flush()
            self.shown = True
            return
        parts = [f"epoch {rec['epoch']}/{self.total}", f"loss {format_metric(rec['train_loss'])}"]
        if rec.get("test_loss") is not None:
            parts.append(f"test loss {format_metric(rec['test_loss'])}")
        if rec.get("test_accuracy") is not None:
            parts.append(f"test acc {rec['test_accuracy']:.3f}")
        elif rec.get("train_accuracy") is not None:
            parts.append(f"acc {rec['train_accuracy']:.3f}")
        parts.append(f"{rec['samples_per_s']:,.0f} samples/s")
        sys.stderr.write("\r\x1b[K" + "  ".join(parts))
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _existing_run(out_dir: str) -> str | None:
    for name in RUN_FILES:
        if os.path.exists(os.path.join(out_dir, name)):
            return name
    return None


def _agree(comm, value: int) -> int:
    """Rank 0's ``value`` on every rank."""
    buf = np.array([value], np.float64)
    comm.bcast(buf)
    return int(buf[0])


def run_train(spec_path: str, out_dir: str, force: bool = False, comm=None, progress: bool | None = None) -> int:
    """Train ``spec_path`` into ``out_dir``; returns the exit code (see the module docstring)."""
    from .estimators import model_kind  # the fitters pull in the data layer; keep 'validate' light
    from .trainer import RunStatus

    comm = comm if comm is not None else SerialComm()
    lead = comm.rank == 0
    # Every rank validates the same inputs; only rank 0 reports, all exit alike.
    problem = ""
    spec = trainer = None
    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        problem = str(exc)
    if not problem and lead:
        if os.path.exists(out_dir) and not os.path.isdir(out_dir):
            problem = f"--out {out_dir} exists and is not a folder"
        else:
            found = _existing_run(out_dir) if os.path.isdir(out_dir) else None
            if found and not force:
                problem = (f"{out_dir} already holds a run ({found}); choose another --out folder "
                           "or pass --force to overwrite it")
    if _agree(comm, 1 if problem else 0):
        if lead:
            raise UsageError(problem)
        return EXIT_INVALID
    try:
        kind = model_kind(spec.model.kind)
        trainer = kind.fitter(spec, comm=comm)
    except SpecError as exc:
        problem = str(exc)
        if exc.field and not exc.field.startswith("dataset"):
            problem += f" (in {spec_path})"  # a data error already names its file
    # Data errors are the same on every rank (same files), but agree anyway.
    failed = np.array([1.0 if problem else 0.0])
    comm.allreduce_sum(failed)
    if failed[0]:
        if lead:
            raise UsageError(problem or "another rank could not load the data")
        return EXIT_INVALID

    logger.info("training %s into %s on %d rank(s) (this is rank %d)", spec_path, out_dir, comm.size, comm.rank)
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum, frame):
        received.append(signum)
        stop.set()
        logger.info("signal %d: stopping after this step", signum)

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, on_signal)
        except ValueError:  # not the main thread (embedded use): no handlers
            pass
    metrics_fh = None
    try:
        if lead:
            try:
                os.makedirs(out_dir, exist_ok=True)
                for name in RUN_FILES:
                    p = os.path.join(out_dir, name)
                    if os.path.exists(p):
                        os.remove(p)  # --force: an old file must not survive next to new ones
                metrics_fh = open(os.path.join(out_dir, "metrics.jsonl"), "w", encoding="utf-8")
            except OSError as exc:
                # Other ranks are waiting in the first Allreduce: take them down with us.
                if comm.size > 1:
                    sys.stderr.write(f"error: cannot write to {out_dir}: {exc.strerror or exc}\n")
                    sys.stderr.flush()
                    comm.abort(EXIT_INVALID)
                raise UsageError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
        show = progress if progress is not None else (lead and sys.stderr.isatty())
        describe = (lambda rec: kind.progress_text(trainer, rec)) if kind.progress_text else None
        bar = _Progress(spec.train.epochs, bool(show) and lead, describe)
        started = time.time()
        for rec in trainer.run(stop):
            if metrics_fh is not None:
                metrics_fh.write(json.dumps(_json_safe(rec)) + "\n")
                metrics_fh.flush()
            bar.update(rec)
            if "epoch" in rec:
                logger.debug("epoch %d: train loss %.4g, %.0f samples/s", rec["epoch"], rec.get("train_loss", float("nan")),
                             rec.get("samples_per_s", float("nan")))
            else:
                logger.debug("record %s", rec)
        bar.close()
        if lead:
            metrics_fh.close()
            metrics_fh = None
            kind.save(os.path.join(out_dir, "model.npz"), spec, trainer)
            if kind.write_outputs is not None:
                kind.write_outputs(out_dir, trainer)
            roc = _roc_fields(os.path.join(out_dir, "model.npz"), trainer)
            result = {
                "status": trainer.status,
                "message": trainer.message,
                **kind.result_fields(trainer),
                "ranks": comm.size,
                "final": trainer.last_record,
                "wall_s": time.time() - started,
                "spec": os.path.abspath(spec_path),
                **roc,
            }
            text = json.dumps(_json_safe(result), indent=2) + "\n"
            atomic_write(os.path.join(out_dir, "result.json"), text)
            logger.info("%s after %d epochs; wrote model.npz and result.json in %s", trainer.status,
                        getattr(trainer, "epoch", 0), out_dir)
            if trainer.status != RunStatus.COMPLETED:
                sys.stderr.write(trainer.message + "\n")
    finally:
        if metrics_fh is not None:
            metrics_fh.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if trainer.status == RunStatus.DIVERGED:
        return EXIT_DIVERGED
    if trainer.status == RunStatus.STOPPED:
        return EXIT_STOPPED
    return EXIT_OK


def _roc_fields(model_path: str, trainer) -> dict:
    """``roc`` and ``roc_on`` for ``result.json``: the saved classifier's ROC curves on the test
    part (the training part when there is none); nothing for regression or a diverged run."""
    from .estimators import read_model
    from .metrics import roc_report
    from .trainer import RunStatus

    ds = getattr(trainer, "dataset", None)
    # (clustering data have no task: their labels only score the clustering)
    if ds is None or getattr(ds, "task", None) != "classification" or trainer.status == RunStatus.DIVERGED or not os.path.exists(model_path):
        return {}
    X, y, which = ds.X_test, ds.y_test, "test"
    if len(y) == 0:
        X, y, which = ds.X_train, ds.y_train, "training"
    fitted = read_model(model_path)[1]
    if not hasattr(fitted, "class_scores"):
        return {}
    scores = fitted.class_scores(fitted.preprocess(np.asarray(X, np.float64)))
    if not np.isfinite(scores).all():
        return {}
    return {"roc": roc_report(y, scores, ds.class_names), "roc_on": which}


# ----------------------------------------------------------------------------- validate, predict


def run_validate(spec_path: str) -> int:
    """Print a summary of a valid spec and its data; errors raise SpecError."""
    from .data import load_dataset
    from .estimators import model_kind

    spec = load_spec(spec_path)
    kind = model_kind(spec.model.kind)
    if kind.output == "assignment":
        from .clustering import load_points

        points = load_points(spec)
        pre = Preprocessor(tuple(spec.features), points.mean, points.std)
        lines = kind.describe(spec, points, pre)
        print(f"{spec_path}: valid")
        print(f"  data: {spec.dataset.kind}, {points.n_rows} rows, {points.n_features_raw} columns")
        for line in lines:
            print(f"  {line}")
        return EXIT_OK
    ds = load_dataset(spec)
    pre = Preprocessor.for_dataset(spec, ds)
    lines = kind.describe(spec, ds, pre)
    what = f"{ds.n_classes} classes" if ds.task == "classification" else "regression"
    print(f"{spec_path}: valid")
    print(f"  data: {spec.dataset.kind}, {ds.n_train} training + {ds.n_test} test samples, "
          f"{ds.n_features_raw} columns, {what}")
    for note in ds.notes:
        print(f"  {note}")
    for line in lines:
        print(f"  {line}")
    return EXIT_OK



def run_predict(model_path: str, data_path: str, out=None) -> int:
    """Print one prediction per row of a CSV file (and the accuracy when it has labels)."""
    from .estimators import read_model
    from .loaders import read_csv

    spec, net = read_model(model_path)
    pre = net.preprocess
    X, y_raw, _ = read_csv(data_path)
    d = pre.mean.shape[0] if pre.mean is not None else None
    need = d if d is not None else (2 if pre.features != ("x1", "x2") else net.n_inputs)
    labels = None
    if X.shape[1] == need - 1 and y_raw.dtype.kind == "f":
        X = np.column_stack([X, y_raw])  # no label column: the last column is a feature
    elif X.shape[1] == need:
        labels = y_raw
    else:
        raise SpecError("", f"{data_path}: {X.shape[1] + 1} columns, the model needs {need} feature columns "
                            "(and optionally a label)")
    check_inputs_fit(X, pre, np.dtype(getattr(net, "dtype", np.float64)), [f"column {i + 1}" for i in range(X.shape[1])], where=data_path)
    F = pre(X)
    pred = net.predict(F)
    out = out or sys.stdout
    if getattr(net, "output", "label") == "assignment":
        from .clustering import adjusted_rand_index

        out.write("".join(f"{int(c)}\n" for c in pred))
        if labels is not None:
            sys.stderr.write(f"adjusted Rand index {adjusted_rand_index(labels, pred):.4f} against the last "
                             f"column on {len(pred)} rows\n")
        return EXIT_OK
    names = list(net.class_names)
    for p in pred:
        out.write((names[int(p)] if names and net.task == "classification" else f"{p:.6g}") + "\n")
    if labels is not None and net.task == "classification":
        truth = label_indices(labels, names, spec.dataset.class_names is not None)
        acc = float(np.mean(truth == pred))
        unknown = int(np.count_nonzero(truth < 0))
        note = ""
        if unknown:
            first = labels[int(np.flatnonzero(truth < 0)[0])]
            note = (f" ({unknown} rows have labels that are not among the model's classes, e.g. "
                    f"{first if labels.dtype.kind in 'US' else format(float(first), 'g')!r}; counted as wrong)")
        sys.stderr.write(f"accuracy {acc:.4f} on {len(pred)} rows{note}\n")
    return EXIT_OK


# ----------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description="ScaleLab's learning engine.")
    verbose_help = "log debug records (data, ranks, epochs, files written) to stderr"
    parser.add_argument("--verbose", action="store_true", help=verbose_help)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train a run spec headless (data-parallel under mpirun/srun)")
    p.add_argument("spec", help="run spec JSON file")
    p.add_argument("--out", required=True, help="folder for metrics.jsonl, model.npz and result.json")
    p.add_argument("--force", action="store_true", help="overwrite an earlier run in --out")
    p.add_argument("--progress", action="store_true", default=None,
                   help="show the progress line even when stderr is not a terminal")
    p = sub.add_parser("validate", help="check a run spec and its data, print a summary")
    p.add_argument("spec")
    p = sub.add_parser("predict", help="predict the rows of a CSV file with a trained model.npz")
    p.add_argument("model")
    p.add_argument("data")
    p = sub.add_parser("export-data", help="write a spec's data to a CSV, LIBSVM (.svm) or .npz file")
    p.add_argument("spec")
    p.add_argument("file", help="output file; its extension (.csv, .svm, .libsvm, .txt, .npz) picks the format")
    p = sub.add_parser("bench", help="compare the engine's speed with scikit-learn and PyTorch")
    p.add_argument("--quick", action="store_true", help="fewer repeats and epochs")
    p.add_argument("--case", action="append", choices=("tiny", "wide", "large", "grid", "svm", "clustering"),
                   help="run only this case (repeatable)")
    p.add_argument("--ranks", type=int, metavar="N",
                   help="data-parallel training on 1 and N ranks (starts mpirun -n N itself)")
    p.add_argument("--reduction", action="append", choices=("shared", "overlapped", "blocking"),
                   help="with --ranks: measure only this gradient reduction (repeatable; default all three)")
    p = sub.add_parser("vectorize", help="time a dot product as a Python loop, one NumPy call and over MPI ranks")
    from .vectorize import add_arguments as add_vectorize_arguments

    add_vectorize_arguments(p)
    from .evaluation_cli import add_evaluation_parsers
    from .export import add_export_parser

    add_export_parser(sub)
    add_evaluation_parsers(sub)
    for command in sub.choices.values():  # --verbose also after the command
        command.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=verbose_help)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed its usage line already
        return EXIT_INVALID if exc.code else EXIT_OK
    setup_cli_logging(args.verbose)
    logger.debug("python -m engine %s", " ".join(sys.argv[1:] if argv is None else argv))
    try:
        if args.command == "bench":
            from .bench import main as bench_main

            return bench_main(quick=args.quick, cases=args.case, ranks=args.ranks, reductions=args.reduction)
        if args.command == "vectorize":
            from .vectorize import run as run_vectorize

            return run_vectorize(args)
        if args.command == "validate":
            return run_validate(args.spec)
        if args.command == "predict":
            return run_predict(args.model, args.data)
        if args.command == "export":
            from .export import run_export

            return run_export(args)
        if args.command in ("cv", "curve"):
            from .evaluation_cli import run_evaluation

            return run_evaluation(args)
        if args.command == "export-data":
            from .export_data import export_data

            print(export_data(args.spec, args.file))
            return EXIT_OK
        try:
            comm = world_comm()
        except ParallelError as exc:
            raise UsageError(str(exc)) from None
        return run_train(args.spec, args.out, force=args.force, comm=comm, progress=args.progress)
    except (SpecError, UsageError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_INVALID
    except KeyboardInterrupt:
        return EXIT_STOPPED
