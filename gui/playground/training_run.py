"""One run being trained, and the edits queued for it (no Qt).

A :class:`TrainingRun` is touched only by the thread that trains it: the training worker
while one runs, else the GUI thread. Edits made meanwhile wait in :class:`Controls`.

A network is trained here by the engine's ``Trainer`` (epochs). Any other model kind runs
through its playground adapter (:mod:`gui.playground.model_adapters`: an SVM one SMO
iteration per step); the run's public face (``train_epoch``, ``status``, ``can_train``,
``message``, ``snapshot``, ``apply``, ``epoch``) is the same for both, so the session and
its worker never ask which kind they train.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from engine.data import Dataset
from engine.spec import RunSpec, SpecError
from engine.trainer import Trainer
from gui.playground.frames import RenderOptions, TrainingSnapshot, preview_grid, render_snapshot
from gui.playground.model_adapters import adapter_for


class TrainingRun:
    """One model being trained and its counters; touched only by the thread that trains it.

    ``epoch`` counts the whole run (epochs for a network, the adapter's steps otherwise): a
    settings change mid-run builds a new ``Trainer`` (which counts from zero) on the same
    weights, and the run's count carries on.

    Attributes
    ----------
    adapter
        The playground adapter of a non-network model, None for a network.
    trainer : Trainer or None
        The network's trainer (None for other models).
    """

    def __init__(self, spec: RunSpec, dataset: Dataset, generation: int, epoch: int = 0):
        self.spec = spec
        self.generation = generation
        self.epoch = epoch
        self.elapsed_offset_s = 0.0
        #: records trained since the last frame
        self.unsent: list[dict] = []
        adapter = adapter_for(spec.model.kind)
        self.adapter = adapter(spec, dataset) if adapter is not None else None
        self.trainer = Trainer(self._trainer_spec(spec, spec.weights), dataset) if self.adapter is None else None

    @property
    def n_outputs(self) -> int:
        """The model's output units as the network editor draws them."""
        return self.adapter.n_outputs if self.adapter is not None else self.trainer.model.n_outputs

    def preview_grid(self, box, column: int, unit: int):
        """One neuron's ``(100, 100)`` output over ``box``; None for models without neurons."""
        return None if self.trainer is None else preview_grid(self.trainer, box, column, unit)

    def _trainer_spec(self, spec: RunSpec, weights) -> RunSpec:
        # The spec's epoch limit counts the whole run; a trainer counts from zero.
        left = max(1, spec.train.epochs - self.epoch)
        return spec.with_(weights=weights, train=replace(spec.train, epochs=left))

    def rebuild(self, spec: RunSpec) -> None:
        """The same network (current weights) under new settings; the counters carry on."""
        if self.adapter is not None:
            self.spec = spec
            self.adapter.set_spec(spec)
            return
        weights = tuple(self.trainer.model.get_weights())
        self.elapsed_offset_s += self.trainer.elapsed_s
        self.spec = spec
        self.trainer = Trainer(self._trainer_spec(spec, weights), self.trainer.dataset)

    def train_epoch(self) -> None:
        """One epoch of a network, one step of another model."""
        if self.adapter is not None:
            self.epoch += self.adapter.train_step()
            return
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
        return self.adapter.status if self.adapter is not None else self.trainer.status

    @property
    def can_train(self) -> bool:
        """Not diverged and short of the run's epoch limit (a model with an adapter: still running)."""
        if self.adapter is not None:
            return self.adapter.status == "running"
        return self.status != "diverged" and self.epoch < self.spec.train.epochs

    def message(self) -> str:
        if self.adapter is not None:
            return self.adapter.message
        t = self.trainer
        if t.status == "completed" and t.epoch >= t.spec.train.epochs:
            # The trainer counts its own epochs; the counter on screen counts the whole run.
            return f"completed {self.epoch:,} epochs"
        return t.message

    def snapshot(self, options: RenderOptions, with_report: bool, with_neurons: bool = True,
                 draft: bool = False) -> TrainingSnapshot:
        """Draw the model with the records since the last frame (which it takes); the
        neurons' pictures only ``with_neurons``; the regions coarser with ``draft`` (a frame
        while training)."""
        if self.adapter is not None:
            return self._adapter_snapshot(options, with_report)
        records, self.unsent = tuple(self.unsent), []
        return render_snapshot(self.trainer, options, spec=self.spec, epoch=self.epoch, message=self.message(),
                               records=records, with_report=with_report, generation=self.generation,
                               with_neurons=with_neurons, draft=draft)

    def _adapter_snapshot(self, options: RenderOptions, with_report: bool) -> TrainingSnapshot:
        a = self.adapter
        frame = a.draw(options, with_report)
        records = ()
        if frame.record is not None:
            rec = dict(frame.record)
            rec["epoch"] = self.epoch
            rec["elapsed_s"] = rec.get("elapsed_s", 0.0) + self.elapsed_offset_s
            records = (rec,)
        neurons = frame.outputs if options.neurons else None
        return TrainingSnapshot(
            generation=self.generation, epoch=self.epoch, status=str(a.status), message=a.message, weights=(),
            boundary=frame.boundary, spec=self.spec, dataset=a.dataset, neurons=neurons, records=records,
            report=frame.report, report_on=frame.report_on, last_record=records[-1] if records else None,
            overlays=frame.overlays, status_line=frame.status_line, counter_name=a.counter_name,
            model_info=frame.info)

    def apply(self, dataset: Dataset | None, spec: RunSpec | None, edits) -> None:
        if self.adapter is not None:
            for change in edits:
                self.adapter.edit(change)  # (a dragged centroid, say)
            if spec is not None:
                self.rebuild(spec)
            if dataset is not None:
                self.elapsed_offset_s += self.adapter.train_s
                try:
                    self.adapter.set_dataset(dataset)
                except SpecError:
                    pass  # (one class left, say) it trains on as it was; the GUI says why when it rebuilds
            return
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
