"""Training: a generator of one metrics record per epoch, stoppable between steps.

Per epoch the training set is shuffled and gathered ONCE into preallocated buffers (this
rank's share of every global batch, batch after batch); every step then works on
contiguous slices of them, whose views are built once per data set. The network's
per-batch buffers are allocated once per batch size.

A metrics record is a dict with exactly these keys (``engine.trainer.RECORD_KEYS``):
``epoch`` (epochs completed), ``step`` (optimizer steps taken), ``train_loss`` and
``train_accuracy`` (running averages over the current epoch's batches, as Keras reports
them), ``test_loss`` and ``test_accuracy`` (the whole test set after the last step;
``None`` when there is no test set), ``elapsed_s`` (training time so far), ``samples_per_s``
(training samples per second over the epoch, all ranks: ``samples / epoch_time_s``),
``ranks``, ``compute_s`` and ``comm_s`` (this rank's time of the epoch's steps outside /
inside the gradient reduction, waiting included), ``epoch_time_s`` (this rank's time of
the epoch's steps: ``compute_s + comm_s``), ``samples`` (training rows of the epoch's steps,
all ranks), ``rank_compute_s``, ``rank_comm_s`` and ``rank_wait_s`` (one number per rank:
seconds of the epoch's steps computing, communicating and waiting for a later rank;
:mod:`engine.timeline`) and ``warnings`` (sentences about stragglers; empty when none).
A record of :meth:`Trainer.train_step` covers the current epoch so far. Regression
records have no accuracy keys. Losses are data losses (L1/L2 penalties not added).
"""

from __future__ import annotations

import enum
import logging
import math
import time
from typing import Callable, Iterator, NamedTuple

import numpy as np

from .data import Dataset, load_dataset
from .features import Preprocessor
from .grad_reduce import make_reducer
from .memory import check_memory, estimate_run_memory
from .model import Network
from .optim import make_optimizer
from .parallel import SerialComm, batch_shares, split_range
from .spec import RunSpec, SpecError
from .timeline import gather_timeline, straggler_warnings
from .value_checks import check_inputs_fit

RECORD_KEYS = ("epoch", "step", "train_loss", "test_loss", "train_accuracy", "test_accuracy",
               "elapsed_s", "samples_per_s", "ranks", "compute_s", "comm_s", "epoch_time_s", "samples",
               "rank_compute_s", "rank_comm_s", "rank_wait_s", "warnings")


class RunStatus(enum.StrEnum):
    """Where a run stands. A ``str``: compares equal to, and is written to JSON as, its value."""

    RUNNING = "running"  #: not ended (also before the first step)
    COMPLETED = "completed"  #: all epochs trained, or stopped early by ``patience``
    DIVERGED = "diverged"  #: the loss or a parameter became NaN or infinite
    STOPPED = "stopped"  #: interrupted between two steps; ``run`` resumes it


logger = logging.getLogger(__name__)

#: up to this many batches per epoch, each gets a prebuilt step plan (``Network.batch_plan``)
MAX_PLANNED_BATCHES = 20_000


def _should_stop(stop) -> bool:
    if stop is None:
        return False
    is_set = getattr(stop, "is_set", None)
    return bool(is_set()) if is_set is not None else bool(stop())


class _BatchView(NamedTuple):
    """One batch of the epoch buffers and what its step needs, built once per data set."""

    x: np.ndarray  #: (n, n_inputs) features of this rank's share
    t: np.ndarray  #: targets of the share (``loss.targets`` rows)
    flat_idx: np.ndarray | None  #: (n, 1) ``row * n_outputs + class`` (classification)
    scale: float  #: 1 / global batch size
    stats: np.ndarray  #: (loss.n_stats, n, 1) slice of the epoch's statistics
    ws: object  #: the network's workspace for n rows (None for an empty share)
    global_size: int  #: rows of the global batch, all ranks
    plan: list | None  #: ``Network.batch_plan`` for these buffers, or None: ``train_batch``


class _Split:
    """One part (train or test) of the data, mapped to network inputs and targets."""

    def __init__(self, net: Network, pre: Preprocessor, X, y, rows: slice | None = None):
        if rows is not None:
            X, y = X[rows], y[rows]
        self.F = np.ascontiguousarray(pre(np.asarray(X, np.float64)), dtype=net.dtype)
        self.y = np.asarray(y)
        self.T = np.ascontiguousarray(net.loss.targets(self.y, net.n_classes, net.dtype))
        self.n = self.F.shape[0]


def check_run_fits(spec: RunSpec, ds: Dataset, preprocess: Preprocessor, n_inputs: int, ranks: int = 1) -> None:
    """Refuse (SpecError, one line) a run that cannot fit this machine's memory, or whose
    network inputs do not fit the training precision (e.g. 1e39 in float32)."""
    check_memory(estimate_run_memory(spec, ds, n_inputs, ranks))
    for X in (ds.X_train, ds.X_test):
        check_inputs_fit(X, preprocess, np.dtype(spec.train.dtype), ds.feature_names)


class Trainer:
    """Trains one run spec, in process (the GUI) or data-parallel (under MPI).

    Parameters
    ----------
    spec : RunSpec
    dataset : Dataset, optional
        The data; default ``load_dataset(spec)``.
    comm : SerialComm or MpiComm, optional
        Default: one rank.

    Attributes
    ----------
    model : Network
    preprocess : Preprocessor
        Raw inputs ``(n, d)`` to network inputs.
    dataset : Dataset
        The data the current epoch trains on.
    status : RunStatus
        ``RUNNING`` until the run ends ``COMPLETED``, ``DIVERGED`` or ``STOPPED``.
    message : str
        Why the run ended ("" while running).
    epoch, step : int
        Epochs completed and optimizer steps taken.

    Raises
    ------
    SpecError
        The spec does not fit the data (features, model kind for a regression set, weights).
    """

    def __init__(self, spec: RunSpec, dataset: Dataset | None = None, comm=None):
        self.spec = spec
        self.comm = comm if comm is not None else SerialComm()
        self.dataset = dataset if dataset is not None else load_dataset(spec)
        ds = self.dataset
        self.preprocess = Preprocessor.for_dataset(spec, ds)
        n_inputs = self.preprocess.n_outputs(ds.n_features_raw)
        if ds.task == "regression" and spec.model.kind != "mlp":
            raise SpecError("model.kind", f"{spec.model.kind!r} is a classifier; a regression data set needs 'mlp'")
        if ds.n_train < 1:
            raise SpecError("dataset", "the training part of the data set is empty")
        check_run_fits(spec, ds, self.preprocess, n_inputs, self.comm.size)
        seed = spec.train.seed
        self.model = Network.from_spec(spec, n_inputs, ds.n_classes if ds.task == "classification" else 1, seed)
        # Every rank starts from rank 0's parameters (identical already for the same seed,
        # but spec weights or a different NumPy build must not make ranks disagree).
        self.comm.bcast(self.model.params)
        if self.comm.size > 1:
            # Each rank draws its own dropout masks for its own rows.
            self.model.reseed_dropout([seed, self.comm.rank])
        # Data parallel: the gradients' reduction (overlapped with the backward pass unless
        # SCALELAB_OVERLAP=0); it claims its control slots before anything binds the gradients.
        self._reducer = make_reducer(self.model, self.comm) if self.comm.size > 1 else None
        t = spec.train
        # A sharded reduction leaves each rank the optimizer step of its own part of the
        # parameters (and that part's summed gradients).
        sharded = self._reducer is not None and self._reducer.sharded
        params, grads = ((self._reducer.shard_params, self._reducer.shard_grads) if sharded
                         else (self.model.params, self.model.grads))
        self._penalty_target = (self._reducer.shard_grads, self._reducer.lo) if sharded else (None, 0)
        self.optimizer = make_optimizer(t.optimizer, params, grads, t.learning_rate, t.momentum)
        self.classification = ds.task == "classification"
        self._shuffle_rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
        self.status = RunStatus.RUNNING
        self.message = ""
        self.epoch = 0
        self.step = 0
        self.elapsed_s = 0.0
        self._pending: Dataset | None = None
        self._pos = 0  # next batch of the current epoch; 0 = an epoch starts next
        self._best = math.inf
        self._since_best = 0
        self._last_record: dict | None = None
        self._epoch_comm_s = self._epoch_wait_s = self._epoch_time_s = 0.0
        self._epoch_samples = 0
        self._set_data(ds)

    # ------------------------------------------------------------------ data

    def _set_data(self, ds: Dataset) -> None:
        net, comm = self.model, self.comm
        self.dataset = ds
        self._train = _Split(net, self.preprocess, ds.X_train, ds.y_train)
        # Test evaluation is shared out: each rank scores a contiguous part.
        a, b = split_range(ds.n_test, comm.size, comm.rank)
        self._test = _Split(net, self.preprocess, ds.X_test, ds.y_test, slice(a, b))
        self._n_test_global = ds.n_test
        n = self._train.n
        batch = min(self.spec.train.batch_size, n)
        positions, batches = batch_shares(n, batch, comm.size, comm.rank)
        self._positions = positions
        self._batches = batches
        m = positions.size
        k = net.n_outputs
        dt = net.dtype
        self._Fe = np.empty((m, net.n_inputs), dt)
        self._Te = np.empty((m,) + self._train.T.shape[1:], dt)
        self._ye = np.empty(m, self._train.y.dtype)
        self._stats = np.empty((net.loss.n_stats, m, 1), dt)
        self._flat = np.empty((m, 1), np.intp)
        # Row of each sample inside its own batch share, for the true-class flat index.
        self._row_in_batch = np.empty(m, np.intp)
        for lo, hi, _ in batches:
            self._row_in_batch[lo:hi] = np.arange(hi - lo)
        self._row_in_batch *= k
        self._uses_flat = net.loss.classification and k > 1
        views = []
        # Step plans (flat lists of bound NumPy calls) are worth their memory for the many
        # small batches where interpreter overhead dominates; beyond that, plain calls.
        planned = len(batches) <= MAX_PLANNED_BATCHES
        layer_ops = self._reducer.layer_ops if self._reducer is not None else None
        for lo, hi, g in batches:
            ws = net.workspace(hi - lo, True) if hi > lo else None
            x, t = self._Fe[lo:hi], self._Te[lo:hi]
            fi = self._flat[lo:hi] if self._uses_flat else None
            st = self._stats[:, lo:hi]
            plan = net.batch_plan(x, t, fi, 1.0 / g, st, ws, layer_ops) if planned and ws is not None else None
            views.append(_BatchView(x, t, fi, 1.0 / g, st, ws, g, plan))
        self._views = views
        logger.debug("rank %d: %d training rows (%d here), %d test rows here, %d batches of up to %d, %s steps",
                     comm.rank, n, m, self._test.n, len(batches), batch,
                     "planned" if planned and net.dropout == 0 else "plain")

    def set_dataset(self, dataset: Dataset) -> None:
        """Train on ``dataset`` from the next epoch on (e.g. points painted during training).

        The preprocessing (features, standardization) and the network stay as they are.

        Raises
        ------
        SpecError
            The new data set needs another network: different task, number of classes
            or number of feature columns.
        """
        old = self.dataset
        if dataset.task != old.task:
            raise SpecError("dataset", f"the new data set is a {dataset.task} set; this network was built for {old.task}")
        if dataset.n_classes != old.n_classes:
            raise SpecError("dataset", f"the new data set has {dataset.n_classes} classes; this network was built "
                                       f"for {old.n_classes}; start a new run to change the number of classes")
        if dataset.n_features_raw != old.n_features_raw:
            raise SpecError("dataset", f"the new data set has {dataset.n_features_raw} feature columns; this network "
                                       f"was built for {old.n_features_raw}")
        if dataset.n_train < 1:
            raise SpecError("dataset", "the training part of the new data set is empty")
        self._pending = dataset
        if self._pos == 0:
            self._apply_pending()

    def _apply_pending(self) -> None:
        if self._pending is not None:
            ds, self._pending = self._pending, None
            self._set_data(ds)

    def _start_epoch(self) -> None:
        self._apply_pending()
        tr = self._train
        perm = self._shuffle_rng.permutation(tr.n)
        idx = perm[self._positions]
        np.take(tr.F, idx, axis=0, out=self._Fe)
        np.take(tr.T, idx, axis=0, out=self._Te)
        np.take(tr.y, idx, out=self._ye)
        if self._uses_flat:
            np.add(self._row_in_batch, self._ye, out=self._flat[:, 0])
        self._epoch_comm_s = 0.0
        self._epoch_wait_s = 0.0
        self._epoch_time_s = 0.0
        self._epoch_samples = 0

    # ------------------------------------------------------------------ steps

    def _run_batches(self, stop_at: int, stop=None) -> bool:
        """Run batches ``_pos .. stop_at-1``; False when ``stop`` interrupted them."""
        net, opt = self.model, self.optimizer
        train_batch = net.train_batch
        grads = net.grads
        reducer = self._reducer
        parallel = reducer is not None
        layer_done = reducer.layer_done if parallel else None
        penalty = net.l1 > 0 or net.l2 > 0
        penalty_target = self._penalty_target
        views = self._views
        samples = 0
        t0 = time.perf_counter()
        if parallel:
            reducer.start()
        pos = self._pos
        completed = True
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            while pos < stop_at:
                if not parallel and stop is not None and _should_stop(stop):
                    completed = False
                    break
                x, t, fi, scale, st, ws, g, plan = views[pos]
                if plan is not None:
                    for op in plan:
                        op()
                elif ws is not None:
                    train_batch(x, t, fi, scale, st, ws, layer_done=layer_done)
                else:
                    grads.fill(0)  # an empty share adds nothing to the sum
                # Ranks see a signal at different moments; summing the flag with the
                # gradients makes all of them stop after this same step.
                stopping = parallel and reducer.finish(stop is not None and _should_stop(stop))
                if penalty:
                    net.add_penalty_gradient(*penalty_target)
                opt.step()
                if parallel:
                    reducer.publish()
                samples += g
                pos += 1
                if stopping:
                    completed = False
                    break
        dt = time.perf_counter() - t0
        self.step += pos - self._pos
        self._pos = pos
        if parallel:
            mpi_s, wait_s = reducer.take_times()
            self._epoch_comm_s += mpi_s
            self._epoch_wait_s += wait_s
        self._epoch_time_s += dt
        self._epoch_samples += samples
        self.elapsed_s += dt
        return completed

    def _reduce_train(self) -> tuple[float, float | None]:
        """Running loss and accuracy over this epoch's batches so far (all ranks)."""
        done_local = self._batches[self._pos - 1][1] if self._pos else 0
        loss_sum, right = self.model.loss.reduce(self._stats[:, :done_local], self._ye[:done_local])
        done_global = sum(g for _, _, g in self._batches[: self._pos])
        totals = np.array([loss_sum, right], np.float64)
        self.comm.allreduce_sum(totals)
        n = max(done_global, 1)
        return float(totals[0] / n), (float(totals[1] / n) if self.classification else None)

    def _score(self, split: _Split, n_global: int) -> tuple[float | None, float | None]:
        """Loss and accuracy of the current network on a split (all ranks together)."""
        net = self.model
        loss = net.loss
        k = net.n_outputs
        totals = np.zeros(2, np.float64)
        chunk = 4096
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for start in range(0, split.n, chunk):
                stop = min(split.n, start + chunk)
                m = stop - start
                ws = net.workspace(m, False)
                z = net.forward_into(split.F[start:stop], ws)[-1]
                stats = np.empty((loss.n_stats, m, 1), net.dtype)
                y = split.y[start:stop]
                flat = (np.arange(m, dtype=np.intp) * k + y.astype(np.intp)).reshape(-1, 1) if self._uses_flat else None
                bufs = loss.buffers(m, k, net.dtype)
                loss.batch(z, split.T[start:stop], flat, 0.0, stats, bufs)
                s, r = loss.reduce(stats, y)
                totals += (s, r)
        self.comm.allreduce_sum(totals)
        if n_global == 0:
            return None, None
        return float(totals[0] / n_global), (float(totals[1] / n_global) if self.classification else None)

    def _record(self, train_loss, train_acc) -> dict:
        test_loss, test_acc = self._score(self._test, self._n_test_global)
        t_epoch = self._epoch_time_s
        comm_s, wait_s = self._epoch_comm_s, min(self._epoch_wait_s, self._epoch_comm_s)
        every = gather_timeline(self.comm, t_epoch - comm_s, comm_s - wait_s, wait_s)
        rec = {
            "epoch": self.epoch,
            "step": self.step,
            "train_loss": train_loss,
            "test_loss": test_loss,
            "train_accuracy": train_acc,
            "test_accuracy": test_acc,
            "elapsed_s": self.elapsed_s,
            "samples_per_s": self._epoch_samples / t_epoch if t_epoch > 0 else 0.0,
            "ranks": self.comm.size,
            "compute_s": t_epoch - comm_s,
            "comm_s": comm_s,
            "epoch_time_s": t_epoch,
            "samples": self._epoch_samples,
            "rank_compute_s": every[:, 0].tolist(),
            "rank_comm_s": every[:, 1].tolist(),
            "rank_wait_s": every[:, 2].tolist(),
            "warnings": straggler_warnings(every[:, 0]),
        }
        if not self.classification:
            del rec["train_accuracy"], rec["test_accuracy"]
        self._last_record = rec
        return rec

    def _check(self, rec: dict) -> None:
        """Divergence and early stopping after an epoch or a step."""
        loss = rec["train_loss"]
        if not math.isfinite(loss) or not np.isfinite(self.model.params).all():
            what = "NaN" if (math.isnan(loss) or not math.isinf(loss)) else "infinite"
            self.status = RunStatus.DIVERGED
            self.message = f"diverged: the loss became {what} at epoch {self.epoch + (0 if self._pos == 0 else 1)}; " \
                           "try a smaller learning rate"

    def _finish_epoch(self) -> dict:
        train_loss, train_acc = self._reduce_train()
        self.epoch += 1
        self._pos = 0
        rec = self._record(train_loss, train_acc)
        self._check(rec)
        patience = self.spec.train.patience
        if self.status == RunStatus.RUNNING and patience > 0:
            watched = rec["test_loss"] if rec["test_loss"] is not None else rec["train_loss"]
            if watched < self._best:
                self._best, self._since_best = watched, 0
            else:
                self._since_best += 1
                if self._since_best >= patience:
                    which = "test" if rec["test_loss"] is not None else "training"
                    self.status = RunStatus.COMPLETED
                    self.message = (f"stopped early: the {which} loss has not improved for {patience} epochs "
                                    f"(best {self._best:.4g})")
        if self.status == RunStatus.RUNNING and self.epoch >= self.spec.train.epochs:
            self.status = RunStatus.COMPLETED
            self.message = f"completed {self.epoch} epochs"
        return rec

    # ------------------------------------------------------------------ public

    def train_epoch(self, stop=None) -> dict | None:
        """Train to the end of the current epoch and return its record.

        Returns None when ``stop`` interrupted the epoch (``status`` becomes ``stopped``).
        """
        if self._pos == 0:
            self._start_epoch()
        if not self._run_batches(len(self._views), stop):
            self.status = RunStatus.STOPPED
            self.message = f"stopped by the user during epoch {self.epoch + 1}"
            return None
        return self._finish_epoch()

    def train_step(self) -> dict:
        """Take one optimizer step (one global batch) and return a record.

        Train figures cover the current epoch's batches so far, test figures the whole
        test set; ``epoch`` counts completed epochs (it advances when this step ends one).
        """
        if self._pos == 0:
            self._start_epoch()
        self._run_batches(self._pos + 1)
        if self._pos == len(self._views):
            return self._finish_epoch()
        train_loss, train_acc = self._reduce_train()
        rec = self._record(train_loss, train_acc)
        self._check(rec)
        return rec

    def evaluate(self) -> dict:
        """A record scoring the current network on the whole training and test sets."""
        train_loss, train_acc = self._score(self._train_global_split(), self._train.n)
        return self._record(train_loss, train_acc)

    def _train_global_split(self) -> _Split:
        # Every rank holds the whole training split; score only this rank's part of it
        # so that the all-rank sum counts each row once.
        a, b = split_range(self._train.n, self.comm.size, self.comm.rank)
        if (a, b) == (0, self._train.n):
            return self._train
        part = _Split.__new__(_Split)
        part.F, part.y, part.T, part.n = self._train.F[a:b], self._train.y[a:b], self._train.T[a:b], b - a
        return part

    def run(self, stop: Callable[[], bool] | None = None) -> Iterator[dict]:
        """Train up to ``spec.train.epochs`` epochs, yielding one record per epoch.

        Parameters
        ----------
        stop : callable or threading.Event, optional
            Checked between steps; when true the run ends with status ``stopped``.

        The generator ends (no exception) when the run completes, diverges (after
        yielding the epoch whose loss was not finite) or is stopped. Calling ``run``
        again after a stop resumes where the run stopped (mid-epoch included).
        """
        if self.status == RunStatus.STOPPED:
            self.status, self.message = RunStatus.RUNNING, ""
        while self.status == RunStatus.RUNNING and self.epoch < self.spec.train.epochs:
            rec = self.train_epoch(stop)
            if rec is None:
                return
            yield rec
        if self.status == RunStatus.RUNNING:
            self.status = RunStatus.COMPLETED
            self.message = f"completed {self.epoch} epochs"

    @property
    def gradient_reduction(self) -> str:
        """How the ranks' gradients are summed, in words ("" on one rank)."""
        return self._reducer.describe() if self._reducer is not None else ""

    @property
    def last_record(self) -> dict | None:
        """The most recent record (None before the first)."""
        return self._last_record


def train(spec: RunSpec, dataset: Dataset | None = None, comm=None, stop=None) -> Iterator[dict]:
    """Train ``spec`` and yield one metrics record per epoch (see :class:`Trainer`)."""
    yield from Trainer(spec, dataset, comm).run(stop)
