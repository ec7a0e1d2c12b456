"""How much memory a run needs, and whether this machine has it.

A spec can ask for far more than a machine holds: a full batch of millions of rows
through a 4096-wide layer needs its activations at once, and 32 layers of 4096 x 4096
need gigabytes of Adam state. NumPy would fail deep inside the first allocation (or the
kernel would kill the process). :func:`estimate_run_memory` adds up what a
:class:`engine.trainer.Trainer` allocates, from the shapes alone, so ``validate`` can
show it and training can refuse up front with one line (:func:`check_memory`).

What is counted, per process (every MPI rank holds its own copy of the data):

- data: the raw features of both parts (float64) and the labels;
- network inputs: the preprocessed features and the targets of both parts;
- epoch buffers: the per-epoch gathered copy of this rank's share of the training set,
  its labels, loss statistics and indices, and the shuffle permutation;
- parameters, gradients and the optimizer's state (Adam: two moments; momentum: one);
- batch buffers: activations, deltas and scratch for the batch size (and the smaller
  last batch), plus dropout masks;
- evaluation buffers: the forward pass over test chunks of up to 4096 rows;
- step plans: the prebuilt calls of every batch (up to 20,000 batches per epoch, without
  dropout): kilobytes of Python objects per batch, and each layer's bias tiled over the
  batch's rows, which adds up to the whole training share times every layer's width.

The estimate leaves out the interpreter and NumPy itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .spec import SpecError

#: rows per evaluation chunk (``Trainer._score``)
EVAL_CHUNK = 4096
#: batches per epoch up to which each gets a prebuilt step plan (``trainer.MAX_PLANNED_BATCHES``)
MAX_PLANNED_BATCHES = 20_000


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per component; ``total`` is their sum."""

    data: int
    inputs: int
    epoch_buffers: int
    parameters: int
    optimizer: int
    batch_buffers: int
    evaluation: int
    step_plans: int = 0
    batch_rows: int = 0
    dtype: str = "float32"

    @property
    def total(self) -> int:
        return (self.data + self.inputs + self.epoch_buffers + self.parameters + self.optimizer
                + self.batch_buffers + self.evaluation + self.step_plans)

    def parts(self) -> list[tuple[str, int]]:
        """``(name, bytes)`` for every component, largest first."""
        named = [("data", self.data), ("network inputs", self.inputs), ("epoch buffers", self.epoch_buffers),
                 ("parameters and gradients", self.parameters), ("optimizer state", self.optimizer),
                 (f"batch buffers ({self.batch_rows:,} rows)", self.batch_buffers),
                 ("evaluation buffers", self.evaluation), ("step plans", self.step_plans)]
        return sorted(named, key=lambda p: -p[1])

    def summary(self) -> str:
        """``about 1.2 GiB (batch buffers 800 MiB, data 300 MiB, ...)``."""
        shown = ", ".join(f"{name} {format_bytes(b)}" for name, b in self.parts()[:3] if b)
        return f"about {format_bytes(self.total)} ({shown})"


def format_bytes(n: float) -> str:
    """Bytes in binary units: ``512 B``, ``3.0 KiB``, ``107.3 GiB``."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def estimate_memory(
    n_train: int,
    n_test: int,
    n_raw: int,
    n_inputs: int,
    hidden: tuple[int, ...],
    n_outputs: int,
    *,
    batch_size: int,
    optimizer: str = "adam",
    dtype: str = "float32",
    dropout: float = 0.0,
    ranks: int = 1,
    label_bytes: int = 8,
    activations: tuple[str, ...] = (),
) -> MemoryEstimate:
    """Bytes one process of a run allocates, from the shapes alone.

    Parameters
    ----------
    n_train, n_test : int
        Samples in the training and test parts.
    n_raw : int
        Raw feature columns d.
    n_inputs : int
        Network inputs after feature expansion.
    hidden : tuple of int
        Hidden layer widths.
    n_outputs : int
        Output units (C for softmax, 1 for regression and the two-class perceptron).
    batch_size : int
        The global batch; each of ``ranks`` ranks takes its share.
    optimizer : str
        ``sgd``, ``momentum`` or ``adam``.
    dtype : str
        ``float32`` or ``float64``: the network's precision.
    dropout : float
        Dropout rate (> 0 adds two mask buffers per hidden layer and batch).
    ranks : int
        MPI ranks: each holds the whole data set, a share of every batch and of the test set.
    label_bytes : int
        Bytes per stored label (8: int64 classes or float64 targets).
    activations : tuple of str
        One activation name per hidden layer (ReLU plans keep a zero block).

    Returns
    -------
    MemoryEstimate
    """
    s = np.dtype(dtype).itemsize
    ranks = max(int(ranks), 1)
    n = n_train + n_test
    widths = [n_inputs, *hidden, n_outputs]
    n_params = sum(widths[i] * widths[i + 1] + widths[i + 1] for i in range(len(widths) - 1))
    data = n * n_raw * 8 + n * label_bytes
    test_share = -(-n_test // ranks)
    train_share = -(-n_train // ranks)
    # Preprocessed inputs and targets of the whole training part and this rank's test share.
    inputs = (n_train + test_share) * (n_inputs + n_outputs) * s
    # Gathered epoch copy: features, targets, labels, 3 loss statistics, 2 index arrays;
    # the shuffle's permutation and its gathered indices.
    epoch = train_share * ((n_inputs + n_outputs + 3) * s + label_bytes + 2 * 8) + 2 * n_train * 8
    # params + gradients (with the stop flag) + one scratch vector of every optimizer.
    parameters = 3 * n_params * s
    optimizer_state = {"adam": 2, "momentum": 1}.get(optimizer, 0) * n_params * s
    global_batch = max(1, min(batch_size, n_train))
    rows = max(1, -(-global_batch // ranks))
    per_row = sum(widths[1:]) + 2 * sum(hidden) + 1 + 1 + (2 * sum(hidden) if dropout > 0 else 0)
    batch = rows * (per_row * s + 8)
    last = n_train % global_batch
    if last:
        # The epoch's last, smaller batch gets buffers of its own.
        batch += -(-last // ranks) * (per_row * s + 8)
    # Small batches get a prebuilt step plan each (Python objects bound to buffer views),
    # measured with tracemalloc at about 7 KiB + 2.6 KiB per layer.
    n_batches = -(-n_train // global_batch)
    layers = len(widths) - 1
    plans = 0
    if n_batches <= MAX_PLANNED_BATCHES and dropout == 0:
        per_plan = 7200 + 2660 * layers
        plans = n_batches * per_plan
        # Every plan tiles each layer's bias over its rows: the whole epoch's share times
        # every layer's width; the two-class softmax keeps two more scratch columns.
        plans += train_share * (sum(widths[1:]) + (4 if n_outputs == 2 else 0)) * s
        # ReLU plans compare with a zero block per batch size (full and last batch).
        relu = sum(w for w, a in zip(hidden, activations or ()) if a == "relu")
        plans += (rows + (-(-last // ranks) if last else 0)) * relu * s
    # The test set is scored after every epoch, in chunks.
    chunk = min(EVAL_CHUNK, test_share)
    evaluation = chunk * (sum(widths[1:]) * s + 3 * s + n_outputs * s + 2 * 8)
    return MemoryEstimate(data=int(data), inputs=int(inputs), epoch_buffers=int(epoch),
                          parameters=int(parameters), optimizer=int(optimizer_state),
                          batch_buffers=int(batch), evaluation=int(evaluation), step_plans=int(plans),
                          batch_rows=int(rows),
                          dtype=np.dtype(dtype).name)


def estimate_run_memory(spec, dataset, n_inputs: int, ranks: int = 1) -> MemoryEstimate:
    """:func:`estimate_memory` for a run spec and its loaded data set."""
    from .losses import make_loss

    classification = dataset.task == "classification"
    n_classes = dataset.n_classes if classification else 1
    n_outputs = make_loss(spec.model.kind, dataset.task, n_classes).n_outputs(n_classes)
    t = spec.train
    return estimate_memory(dataset.n_train, dataset.n_test, dataset.n_features_raw, n_inputs,
                           tuple(spec.model.hidden), n_outputs, batch_size=t.batch_size,
                           optimizer=t.optimizer, dtype=t.dtype, dropout=t.dropout, ranks=ranks,
                           activations=tuple(spec.model.activations))


def available_memory() -> tuple[int | None, str]:
    """Bytes this process can still allocate, and where the figure comes from.

    ``MemAvailable`` of ``/proc/meminfo`` (Linux), else the free physical pages that
    ``os.sysconf`` reports, else ``(None, "unknown")``.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "MemAvailable in /proc/meminfo"
    except (OSError, ValueError, IndexError):
        pass
    try:
        pages = os.sysconf("SC_AVPHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
        if pages > 0 and size > 0:
            return int(pages * size), "free physical memory"
    except (AttributeError, ValueError, OSError):
        pass
    return None, "unknown"


def check_memory(estimate: MemoryEstimate, available: int | None = None, source: str = "") -> None:
    """Raise SpecError (one line) when ``estimate`` does not fit the available memory.

    Parameters
    ----------
    estimate : MemoryEstimate
    available : int, optional
        Bytes available; default :func:`available_memory` (no check when unknown).
    source : str
        Where ``available`` comes from, for the message.
    """
    if available is None:
        available, source = available_memory()
    if available is None or estimate.total <= available:
        return
    precision = ", or train.dtype float32" if estimate.dtype == "float64" else ""
    raise SpecError(
        "train",
        f"this run needs {estimate.summary()} of memory per process, but only {format_bytes(available)} is "
        f"available ({source}); use a smaller train.batch_size, narrower or fewer hidden layers "
        f"or fewer samples{precision}",
    )
