"""One run being trained, and the edits queued for it (no Qt).

A :class:`TrainingRun` is touched only by the thread that trains it: the training worker
while one runs, else the GUI thread. Edits made meanwhile wait in :class:`Controls`.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from engine.data import Dataset
from engine.spec import RunSpec, SpecError
from engine.trainer import Trainer
from gui.playground.frames import RenderOptions, TrainingSnapshot, render_snapshot


class TrainingRun:
    """One network being trained and its counters; touched only by the thread that trains it.

    ``epoch`` counts the whole run: a settings change mid-run builds a new ``Trainer`` (which
    counts from zero) on the same weights, and the run's count carries on.
    """

    def __init__(self, spec: RunSpec, dataset: Dataset, generation: int, epoch: int = 0):
        self.spec = spec
        self.generation = generation
        self.epoch = epoch
        self.elapsed_offset_s = 0.0
        #: records trained since the last frame
        self.unsent: list[dict] = []
        self.trainer = Trainer(self._trainer_spec(spec, spec.weights), dataset)

    def _trainer_spec(self, spec: RunSpec, weights) -> RunSpec:
        # The spec's epoch limit counts the whole run; a trainer counts from zero.
        left = max(1, spec.train.epochs - self.epoch)
        return spec.with_(weights=weights, train=replace(spec.train, epochs=left))

    def rebuild(self, spec: RunSpec) -> None:
        """The same network (current weights) under new settings; the counters carry on."""
        weights = tuple(self.trainer.model.get_weights())
        self.elapsed_offset_s += self.trainer.elapsed_s
        self.spec = spec
        self.trainer = Trainer(self._trainer_spec(spec, weights), self.trainer.dataset)

    def train_epoch(self) -> None:
        rec = self.trainer.train_epoch()
        if rec is None:
            return
        self.epoch += 1
        rec = dict(rec)
        rec["epoch"] = self.epoch
        rec["elapsed_s"] += self.elapsed_offset_s
        self.unsent.append(rec)

    @property
    def status(self) -> str:
        return self.trainer.status

    @property
    def can_train(self) -> bool:
        """Not diverged and short of the run's epoch limit."""
        return self.status != "diverged" and self.epoch < self.spec.train.epochs

    def message(self) -> str:
        t = self.trainer
        if t.status == "completed" and t.epoch >= t.spec.train.epochs:
            # The trainer counts its own epochs; the counter on screen counts the whole run.
            return f"completed {self.epoch:,} epochs"
        return t.message

    def snapshot(self, options: RenderOptions, with_report: bool) -> TrainingSnapshot:
        """Draw the network with the records since the last frame (which it takes)."""
        records, self.unsent = tuple(self.unsent), []
        return render_snapshot(self.trainer, options, spec=self.spec, epoch=self.epoch, message=self.message(),
                               records=records, with_report=with_report, generation=self.generation)

    def apply(self, dataset: Dataset | None, spec: RunSpec | None, edits) -> None:
        if spec is not None:
            if self.status == "diverged":
                self.spec = spec  # its weights are not finite: only a reset helps
            else:
                self.rebuild(spec)
        if dataset is not None:
            try:
                self.trainer.set_dataset(dataset)
            except SpecError:
                pass  # the GUI resets the network instead when classes or columns change
        for layer, i, j, value in edits:
            self.trainer.model.set_weight(layer, i, j, value)


class Controls:
    """Edits queued by the GUI for the worker to apply between epochs (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._reset: TrainingRun | None = None
        self._dataset: Dataset | None = None
        self._spec: RunSpec | None = None
        self._edits: list[tuple[int, int, int, float]] = []

    def take(self) -> tuple:
        """``(new_run, dataset, spec, weight_edits)`` queued since the last call."""
        with self._lock:
            out = (self._reset, self._dataset, self._spec, self._edits)
            self._reset, self._dataset, self._spec, self._edits = None, None, None, []
        return out

    def put(self, dataset: Dataset | None = None, spec: RunSpec | None = None, edit=None, reset=None) -> None:
        with self._lock:
            if reset is not None:
                # A new network: earlier queued edits belonged to the old one.
                self._reset, self._dataset, self._spec, self._edits = reset, None, None, []
                return
            if dataset is not None:
                self._dataset = dataset
            if spec is not None:
                self._spec = spec
            if edit is not None:
                self._edits.append(edit)
