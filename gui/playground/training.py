"""Training off the GUI thread, handing finished pictures to the GUI.

:class:`TrainingSession` trains one network at a time (a :class:`TrainingRun`: the engine's
``Trainer`` and the run's epoch count). While playing, a superqt generator worker trains
epoch after epoch and, at most ``FRAME_RATE_HZ`` times a second, yields an immutable
:class:`~gui.playground.frames.TrainingSnapshot` with everything the GUI draws.

One writer at a time: while a worker runs, only the worker touches the run; edits made
meanwhile (painted points, a typed weight, a new learning rate, a new network) are queued
in :class:`Controls` and applied by the worker between epochs. While no worker runs, the
session applies them at once on the GUI thread. The GUI reads the run only through
snapshots.
"""

from __future__ import annotations

import enum
import time
from dataclasses import replace
from typing import Callable

import numpy as np
from PySide6 import QtCore

from engine.data import Dataset
from engine.spec import RunSpec
from gui import workers
from gui.playground.frames import RenderOptions, TrainingSnapshot
from gui.playground.pacing import SPEEDS, Pacer
from gui.playground.training_run import Controls, TrainingRun

__all__ = ["SPEEDS", "Controls", "SessionState", "TrainingSession"]

#: the longest the worker waits for the GUI to finish drawing a frame
DRAW_WAIT_S = 0.1


class SessionState(enum.StrEnum):
    """Where a session is: no run started, training, or why it stopped."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    DIVERGED = "diverged"


class TrainingSession(QtCore.QObject):
    """Start, pause, step and reset one run; the GUI reads it through :attr:`snapshot`.

    Parameters
    ----------
    clock : callable
        The pacing clock (seconds); tests pass a fake one.
    """

    state_changed = QtCore.Signal(str)
    snapshot_arrived = QtCore.Signal()
    failed = QtCore.Signal(str)

    def __init__(self, parent=None, clock: Callable[[], float] = time.perf_counter):
        super().__init__(parent)
        self.clock = clock
        #: epochs per second, None for as fast as possible (read by the worker at each epoch)
        self.speed: float | None = None
        self._options = RenderOptions()
        self._controls = Controls()
        self._run: TrainingRun | None = None
        self._spec: RunSpec | None = None
        self._dataset: Dataset | None = None
        self._n_outputs = 0
        self._snapshot: TrainingSnapshot | None = None
        self._pending_records: list[dict] = []
        self._state = SessionState.IDLE
        self._generation = 0
        self._worker = None
        self.frames_rendered = 0

    # ------------------------------------------------------------------ reading
    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def running(self) -> bool:
        return self._worker is not None

    @property
    def has_network(self) -> bool:
        return self._run is not None

    @property
    def snapshot(self) -> TrainingSnapshot | None:
        """The latest frame of the current network (None right after a reset while playing)."""
        return self._snapshot

    @property
    def epoch(self) -> int:
        """Epochs the current run has trained, as far as the GUI has been told."""
        return 0 if self._snapshot is None else self._snapshot.epoch

    @property
    def spec(self) -> RunSpec | None:
        """The settings the run trains with from the next epoch on."""
        return self._spec

    @property
    def dataset(self) -> Dataset | None:
        """The data the run trains on from the next epoch on."""
        return self._dataset

    @property
    def n_outputs(self) -> int | None:
        """The current network's output units (None without a network)."""
        return self._n_outputs if self._run is not None else None

    @property
    def render_options(self) -> RenderOptions:
        return self._options

    def take_records(self) -> list[dict]:
        """The metrics records that arrived since the last call, oldest first."""
        out, self._pending_records = self._pending_records, []
        return out

    def _set_state(self, state: SessionState) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(str(state))

    # ------------------------------------------------------------------ building
    def reset(self, spec: RunSpec, dataset: Dataset, epoch: int = 0) -> None:
        """A fresh network for ``spec`` (its ``weights`` when given) on ``dataset``.

        ``epoch`` is how long those weights were trained already (a reopened file).
        While playing, the worker swaps the network between epochs and carries on; frames
        of the old network still in flight are dropped by their generation number.

        Raises
        ------
        SpecError
            The spec does not fit the data (checked here, on the caller's thread).
        """
        run = TrainingRun(spec, dataset, self._generation + 1, epoch)
        # (read here, before the worker may own the run: the shape never changes)
        self._n_outputs = run.n_outputs
        self._generation = run.generation
        self._run, self._spec, self._dataset = run, spec, dataset
        self._pending_records = []
        self._snapshot = None
        if self.running:
            # The worker adopts the run between two epochs; the GUI does not touch it.
            self._controls.put(reset=run)
            return
        self._set_state(SessionState.IDLE)
        self.refresh()

    def clear(self) -> None:
        """No network at all (nothing to train on)."""
        self.stop()
        self._generation += 1
        self._run = self._snapshot = self._spec = self._dataset = None
        self._pending_records = []
        self._set_state(SessionState.IDLE)

    def _require_idle(self) -> None:
        if self.running:
            raise RuntimeError("the training worker is running; pause first")

    # ------------------------------------------------------------------ edits
    def set_dataset(self, dataset: Dataset) -> None:
        """Train on new data from the next epoch on (painting while training)."""
        if self._run is None:
            return
        self._dataset = dataset
        if self.running:
            self._controls.put(dataset=dataset)
            return
        self._run.apply(dataset, None, ())
        self.refresh()

    def set_weight(self, layer: int, i: int, j: int, value: float) -> None:
        """Set one weight of the current network (weight ``(i, j)`` of dense layer ``layer``)."""
        if self._run is None:
            return
        if self.running:
            self._controls.put(edit=(layer, i, j, value))
            return
        self._run.apply(None, None, [(layer, i, j, value)])
        self.refresh()

    def edit_model(self, change: tuple) -> None:
        """A change made by hand to a model that is not a network (``("centroid", i, x, y)``)."""
        if self._run is None:
            return
        if self.running:
            self._controls.put(edit=change)
            return
        self._run.apply(None, None, [change])
        self.refresh(with_report=False)

    def set_spec(self, spec: RunSpec) -> None:
        """New training settings (learning rate, batch, optimizer, ...) for the same network."""
        if self._run is None:
            return
        self._spec = spec
        if self.running:
            self._controls.put(spec=spec)
            return
        self._run.apply(None, spec, ())
        self.refresh(with_report=False)

    def set_render_options(self, **changes) -> None:
        """Change what the pictures show (``box``, ``discretize``, ``value_scale``, ``preview``)."""
        self._options = replace(self._options, **changes)
        if not self.running and self._run is not None:
            self.refresh(with_report=False)

    # ------------------------------------------------------------------ drawing while idle
    def refresh(self, with_report: bool = True) -> None:
        """Render the current network on this thread (only while no worker runs)."""
        if self._run is None or self.running:
            return
        self._accept(self._run.snapshot(self._options, with_report))

    def preview_picture(self, column: int, unit: int) -> np.ndarray | None:
        """One neuron's picture at preview size, computed now (idle only)."""
        if self._run is None or self.running:
            return None
        return self._run.preview_grid(self._options.box, column, unit)

    def train_now(self, epochs: int) -> None:
        """Train up to ``epochs`` epochs on this thread and show the result (idle only: screenshots)."""
        self._require_idle()
        run = self._run
        if run is None:
            return
        for _ in range(epochs):
            run.train_epoch()
            if run.status != "running":
                break
        self.refresh()
        if run.status != "running":
            self._set_state(self._stopped_state(run))

    # ------------------------------------------------------------------ start / pause / step
    def start(self, max_epochs: int | None = None) -> bool:
        """Start training in the worker; ``max_epochs`` = 1 is a single step.

        Returns False when there is nothing to train: no network, already running, diverged,
        or at the run's epoch limit.
        """
        run = self._run
        if run is None or self.running:
            return False
        if run.status != "running":
            if not run.can_train:
                return False
            run.rebuild(run.spec)  # stopped early (patience): continue under the current settings
        self._worker = workers.start_generator(
            self._train_loop, run, max_epochs,
            on_yielded=self._on_yielded, on_errored=self._on_errored, on_finished=self._on_finished)
        self._set_state(SessionState.RUNNING)
        return True

    def resume(self) -> bool:
        """Carry on after a pause (the same as :meth:`start`)."""
        return self.start()

    def step(self) -> bool:
        """Train exactly one epoch in the worker."""
        return self.start(max_epochs=1)

    def pause(self) -> None:
        """Ask the worker to stop at its next frame; ``state_changed`` follows."""
        if self._worker is not None:
            self._worker.quit()

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop the worker and wait for it (shutdown, loading a file, tests)."""
        if self._worker is None:
            return True
        self._worker.quit()
        deadline = time.perf_counter() + timeout_s
        while self._worker is not None and time.perf_counter() < deadline:
            QtCore.QCoreApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            QtCore.QThread.msleep(5)
        return self._worker is None

    # ------------------------------------------------------------------ the worker
    def _train_loop(self, run: TrainingRun, max_epochs: int | None):
        """Runs in the worker thread. Yields a snapshot per frame, or None as a heartbeat."""
        pacer = Pacer(self.clock)
        done = 0
        while True:
            new_run, dataset, spec, edits = self._controls.take()
            if new_run is not None:
                run = new_run
            run.apply(dataset, spec, edits)
            started = pacer.clock()
            run.train_epoch()
            done += 1
            finished = run.status != "running" or (max_epochs is not None and done >= max_epochs)
            wake = pacer.epoch_done(self.speed, started)
            if pacer.frame_due(wake, finished):
                snap = run.snapshot(self._options, pacer.take_frame(finished))
                # A pause aborts at this yield: the records travel with the frame.
                yield snap
                # Hold still (without the GIL) while the GUI draws the frame: the GUI thread
                # re-enters Python for every pyqtgraph paint, and each re-entry would
                # otherwise wait for this thread to give up the GIL.
                snap.drawn.wait(DRAW_WAIT_S)
            if finished:
                return
            if wake is not None:
                # Sleep until the next epoch is due, a frame at a time so that a pause request
                # (checked at each yield) is answered quickly.
                while True:
                    left = wake - pacer.clock()
                    if left <= 0:
                        break
                    time.sleep(min(left, pacer.frame_s))
                    yield None

    def _on_yielded(self, snap) -> None:
        if snap is not None:
            self._accept(snap)

    def _accept(self, snap: TrainingSnapshot) -> None:
        if snap.generation != self._generation:
            return  # a frame of a network that has been replaced since
        self._pending_records.extend(snap.records)
        prev = self._snapshot
        if prev is not None:
            # Keep what a frame computed less often than every frame.
            keep = {}
            if snap.report is None and snap.status != "diverged":
                # (a diverged network has no scores: the last finite ones were of other weights)
                keep.update(report=prev.report, report_on=prev.report_on)
            if snap.last_record is None:
                keep["last_record"] = prev.last_record
            if keep:
                snap = replace(snap, **keep, drawn=snap.drawn)
        self._snapshot = snap
        self.frames_rendered += 1
        self.snapshot_arrived.emit()

    def _on_errored(self, exc: BaseException) -> None:
        self.failed.emit(f"training stopped: {exc}")

    @staticmethod
    def _stopped_state(run: TrainingRun | None) -> SessionState:
        status = run.status if run is not None else "stopped"
        return {"completed": SessionState.COMPLETED, "diverged": SessionState.DIVERGED}.get(
            status, SessionState.PAUSED)

    def _on_finished(self) -> None:
        self._worker = None
        run = self._run
        if run is not None:
            # The worker is gone: edits it did not get to are applied here, and the frame
            # shows the epochs trained since the last frame and the scores and pictures of
            # the weights it stopped at, not older ones.
            _new_run, dataset, spec, edits = self._controls.take()
            run.apply(dataset, spec, edits)
            self.refresh()
        self._set_state(self._stopped_state(run))
