"""Training off the GUI thread, handing finished pictures to the GUI.

:class:`TrainingSession` owns one ``engine.trainer.Trainer``. While playing, a superqt
generator worker trains epoch after epoch and, at most ``FRAME_RATE_HZ`` times a second,
yields a :class:`Snapshot` with everything the GUI draws: copies of the weights, the
decision regions as an RGB image, the neurons' pictures and the metrics records since
the last snapshot. The GUI thread never touches the trainer while the worker runs;
edits made meanwhile (painted points, a typed weight, a new learning rate) are queued in
:class:`Controls` and applied by the worker between epochs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np
from PySide6 import QtCore

from engine.data import Dataset
from engine.grid import decision_grid, neuron_grids
from engine.metrics import classification_report, mean_squared_error, r2_score
from engine.spec import RunSpec, SpecError
from engine.trainer import Trainer
from gui import workers
from gui.playground.render import boundary_rgb, neuron_pictures, value_rgb

FRAME_RATE_HZ = 40.0
#: the longest the worker waits for the GUI to finish drawing a frame
DRAW_WAIT_S = 0.1
REPORT_INTERVAL_S = 0.5
GRID_SHAPE = (200, 200)
THUMB_SHAPE = (28, 28)
PREVIEW_SHAPE = (100, 100)
#: epochs per second for each speed setting; None is as fast as the computer goes
SPEEDS: tuple[float | None, ...] = (1.0, 3.0, 10.0, 30.0, 100.0, None)
#: how far a speed-limited run may fall behind its schedule before it stops catching up
MAX_CATCH_UP_S = 0.25
#: the longest a speed-limited run that is catching up delays a frame, in frame times
MAX_FRAME_DELAY_FRAMES = 4


@dataclass
class RenderOptions:
    """What the pictures should show; replaced as a whole (atomic for the worker)."""

    box: tuple[float, float, float, float] = (-6.0, 6.0, -6.0, 6.0)
    discretize: bool = False
    value_scale: float = 1.0
    neurons: bool = True
    preview: tuple[int, int] | None = None


@dataclass
class Snapshot:
    """Everything one frame draws, owned by the GUI once handed over."""

    epoch: int
    status: str
    message: str
    weights: list[dict]
    boundary: np.ndarray | None
    neurons: list[np.ndarray] | None = None
    preview: np.ndarray | None = None
    preview_key: tuple[int, int] | None = None
    records: list[dict] = field(default_factory=list)
    report: dict | None = None
    report_on: str = "test"
    last_record: dict | None = None
    generation: int = 0
    #: set by the GUI once the frame is on screen; the worker waits for it (see _train_loop)
    drawn: threading.Event = field(default_factory=threading.Event)


class Controls:
    """Edits queued by the GUI for the worker to apply between epochs (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.dataset: Dataset | None = None
        self.spec: RunSpec | None = None
        self.weight_edits: list[tuple[int, int, int, float]] = []
        self.reset: tuple[RunSpec, Dataset, int] | None = None

    def take(self) -> tuple:
        with self._lock:
            out = (self.reset, self.dataset, self.spec, self.weight_edits)
            self.reset, self.dataset, self.spec, self.weight_edits = None, None, None, []
        return out

    def put(self, dataset: Dataset | None = None, spec: RunSpec | None = None, edit=None, reset=None) -> None:
        with self._lock:
            if reset is not None:
                # A new network: earlier queued edits belonged to the old one.
                self.reset, self.dataset, self.spec, self.weight_edits = reset, None, None, []
                return
            if dataset is not None:
                self.dataset = dataset
            if spec is not None:
                self.spec = spec
            if edit is not None:
                self.weight_edits.append(edit)


def weights_of(model) -> list[dict]:
    """Copies of every layer's ``W (in, out)`` and ``b (out,)`` as arrays."""
    return [{"W": layer.W.copy(), "b": layer.b.copy()} for layer in model.layers]


def render_snapshot(trainer: Trainer, options: RenderOptions, records: list[dict], with_report: bool,
                    epoch_offset: int = 0, generation: int = 0) -> Snapshot:
    """Draw the trainer's current network (call only from the thread that trains it)."""
    model, pre = trainer.model, trainer.preprocess
    grid = decision_grid(model, pre, options.box, GRID_SHAPE)
    finite = bool(np.isfinite(grid).all())
    if not finite:
        boundary = None
    elif grid.ndim == 2:
        boundary = value_rgb(grid, options.value_scale, options.discretize)
    else:
        boundary = boundary_rgb(grid, options.discretize)
    neurons = None
    if options.neurons and finite:
        neurons = neuron_pictures(neuron_grids(model, pre, options.box, THUMB_SHAPE)[1:], model.n_outputs,
                                  trainer.dataset.task)
    preview = None
    if options.preview is not None and finite:
        c, u = options.preview
        pics = neuron_grids(model, pre, options.box, PREVIEW_SHAPE)
        if c < len(pics) and u < len(pics[c]):
            preview = pics[c][u]
    report, report_on = None, "test"
    if with_report and finite:
        report, report_on = score_report(trainer)
    return Snapshot(
        epoch=trainer.epoch + epoch_offset, status=trainer.status, message=trainer.message,
        weights=weights_of(model), boundary=boundary, neurons=neurons, preview=preview,
        preview_key=options.preview, records=records, report=report, report_on=report_on,
        last_record=records[-1] if records else None, generation=generation)


def score_report(trainer: Trainer) -> tuple[dict | None, str]:
    """Test-set scores (training set when there is no test set): ``(report, which)``."""
    ds = trainer.dataset
    X, y, which = ds.X_test, ds.y_test, "test"
    if len(y) == 0:
        X, y, which = ds.X_train, ds.y_train, "training"
    if len(y) == 0:
        return None, which
    pred = trainer.model.predict(trainer.preprocess(X))
    if ds.task == "classification":
        return classification_report(y, pred, ds.n_classes), which
    return {"mse": mean_squared_error(y, pred), "r2": r2_score(y, pred), "n": int(len(y))}, which


class TrainingSession(QtCore.QObject):
    """Play, pause, step and reset one run; the latest snapshot waits in ``latest``."""

    state_changed = QtCore.Signal(str)
    snapshot_arrived = QtCore.Signal()
    failed = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.trainer: Trainer | None = None
        self.spec: RunSpec | None = None
        self.options = RenderOptions()
        self.controls = Controls()
        self.speed: float | None = None
        self.max_epochs: int | None = None
        self.latest: Snapshot | None = None
        self.pending_records: list[dict] = []
        self.epoch_offset = 0
        self.elapsed_offset_s = 0.0
        self.state = "idle"
        self.generation = 0
        self._worker = None
        self._stop_after: int | None = None
        self.frames_rendered = 0
        #: the worker's records not yet sent in a frame (read by the GUI once the worker is gone)
        self._unsent: tuple[int, list[dict]] = (0, [])

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self._worker is not None

    @property
    def epoch(self) -> int:
        return 0 if self.trainer is None else self.trainer.epoch + self.epoch_offset

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    # ------------------------------------------------------------------ building
    def reset(self, spec: RunSpec, dataset: Dataset) -> None:
        """A fresh network for ``spec`` (its ``weights`` when given) on ``dataset``.

        While playing, the worker swaps the network between epochs and carries on; frames
        of the old network still in flight are dropped by their generation number.

        Raises
        ------
        SpecError
            The spec does not fit the data (checked here, on the caller's thread).
        """
        trainer = Trainer(spec, dataset)
        self.generation += 1
        self.spec = spec
        self.pending_records = []
        self.latest = None
        # The new trainer is visible at once (read-only while the worker runs: its shape,
        # its data); the worker starts training it between two epochs.
        self.trainer = trainer
        self.epoch_offset = 0
        self.elapsed_offset_s = 0.0
        if self.running:
            self.controls.put(reset=(trainer, spec, self.generation))
            return
        if self.state != "idle":
            self._set_state("idle")
        self.refresh()

    def _rebuilt(self, trainer: Trainer, spec: RunSpec) -> Trainer:
        """The same network (current weights) under new settings; the counters carry on."""
        weights = trainer.model.get_weights()
        offset = self.epoch_offset + trainer.epoch
        # The spec's epoch limit counts the whole run; the new trainer counts from zero.
        left = max(1, spec.train.epochs - offset)
        new = Trainer(spec.with_(weights=tuple(weights), train=replace(spec.train, epochs=left)), trainer.dataset)
        self.epoch_offset = offset
        self.elapsed_offset_s += trainer.elapsed_s
        return new

    def _require_idle(self) -> None:
        if self.running:
            raise RuntimeError("the training worker is running; pause first")

    # ------------------------------------------------------------------ edits
    def set_dataset(self, dataset: Dataset) -> None:
        """Train on new data from the next epoch on (painting while training)."""
        if self.trainer is None:
            return
        if self.running:
            self.controls.put(dataset=dataset)
            return
        self.trainer.set_dataset(dataset)
        self.refresh()

    def set_weight(self, layer: int, i: int, j: int, value: float) -> None:
        if self.trainer is None:
            return
        if self.running:
            self.controls.put(edit=(layer, i, j, value))
            return
        self.trainer.model.set_weight(layer, i, j, value)
        self.refresh()

    def update_settings(self, spec: RunSpec) -> None:
        """New training settings (learning rate, batch, optimizer, regularization) for the same network."""
        if self.trainer is None:
            return
        if self.running:
            self.controls.put(spec=spec)
            return
        self.spec = spec
        if self.trainer.status == "diverged":
            return  # its weights are not finite: only a reset helps, and it will use ``spec``
        self.trainer = self._rebuilt(self.trainer, spec)

    def set_render_options(self, **changes) -> None:
        self.options = replace(self.options, **changes)
        if not self.running and self.trainer is not None:
            self.refresh(with_report=False)

    # ------------------------------------------------------------------ drawing while idle
    def refresh(self, with_report: bool = True) -> None:
        """Render the current network on this thread (only while no worker runs)."""
        if self.trainer is None or self.running:
            return
        self._accept(render_snapshot(self.trainer, self.options, [], with_report, self.epoch_offset, self.generation))

    def preview_picture(self, column: int, unit: int) -> np.ndarray | None:
        """One neuron's picture at preview size, computed now (idle only)."""
        if self.trainer is None or self.running:
            return None
        pics = neuron_grids(self.trainer.model, self.trainer.preprocess, self.options.box, PREVIEW_SHAPE)
        if column < len(pics) and unit < len(pics[column]):
            return pics[column][unit]
        return None

    # ------------------------------------------------------------------ play / pause / step
    def play(self, max_epochs: int | None = None) -> bool:
        """Start training in the worker; ``max_epochs`` = 1 is a single step."""
        if self.trainer is None or self.running:
            return False
        if self.trainer.status != "running":
            if self.trainer.status == "diverged":
                return False
            if self.epoch >= self.spec.train.epochs:
                return False
            # Stopped early (patience): continue under the current settings.
            self.trainer = self._rebuilt(self.trainer, self.spec)
        self._stop_after = max_epochs
        self._worker = workers.start_generator(
            self._train_loop, self.trainer, max_epochs,
            on_yielded=self._on_yielded, on_errored=self._on_errored, on_finished=self._on_finished)
        self._set_state("running")
        return True

    def pause(self) -> None:
        if self._worker is not None:
            self._worker.quit()

    def step(self) -> bool:
        return self.play(max_epochs=1)

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Stop the worker and wait for it (shutdown, tests)."""
        if self._worker is None:
            return True
        self._worker.quit()
        deadline = time.perf_counter() + timeout_s
        while self._worker is not None and time.perf_counter() < deadline:
            QtCore.QCoreApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            QtCore.QThread.msleep(5)
        return self._worker is None

    # ------------------------------------------------------------------ the worker
    def _train_loop(self, trainer: Trainer, max_epochs: int | None):
        """Runs in the worker thread. Yields a Snapshot per frame, or None as a heartbeat."""
        frame_s = 1.0 / FRAME_RATE_HZ
        records: list[dict] = []
        self._unsent = (self.generation, records)
        last_frame = 0.0
        last_report = 0.0
        done = 0
        pace_speed, pace_t0, pace_n = None, 0.0, 0
        offset, elapsed_offset = self.epoch_offset, self.elapsed_offset_s
        generation = self.generation
        while True:
            reset, dataset, spec, edits = self.controls.take()
            if reset is not None:
                trainer, _spec, generation = reset
                self.trainer = trainer
                self.epoch_offset, self.elapsed_offset_s = 0, 0.0
                offset, elapsed_offset = 0, 0.0
                records = []
                self._unsent = (generation, records)
            if spec is not None:
                trainer = self._rebuilt(trainer, spec)
                self.trainer, self.spec = trainer, spec
                offset, elapsed_offset = self.epoch_offset, self.elapsed_offset_s
            if dataset is not None:
                try:
                    trainer.set_dataset(dataset)
                except SpecError:
                    pass  # the GUI resets the network instead when classes or columns change
            for layer, i, j, value in edits:
                trainer.model.set_weight(layer, i, j, value)
            t0 = time.perf_counter()
            rec = trainer.train_epoch()
            if rec is not None:
                rec = dict(rec)
                rec["epoch"] += offset
                rec["elapsed_s"] += elapsed_offset
                records.append(rec)
            done += 1
            finished = trainer.status != "running" or (max_epochs is not None and done >= max_epochs)
            speed = self.speed
            wake = None
            if speed is not None:
                # Keep to a schedule of ``speed`` epochs a second since the speed was set, not
                # to a slot per epoch: at high speeds a frame takes longer than a slot, and the
                # epochs it delayed are then trained back to back until the run is on time.
                if speed != pace_speed:
                    pace_speed, pace_t0, pace_n = speed, t0, 0
                pace_n += 1
                wake = pace_t0 + pace_n / speed
                if time.perf_counter() - wake > MAX_CATCH_UP_S:
                    # Far behind (the computer is slower than asked): no burst, a new schedule.
                    pace_t0, pace_n = time.perf_counter(), 0
                    wake = pace_t0
            now = time.perf_counter()
            # While catching up, a frame waits (up to a few frame times) for the run to be on time.
            behind = wake is not None and now >= wake and now - last_frame < MAX_FRAME_DELAY_FRAMES * frame_s
            if finished or (now - last_frame >= frame_s and not behind):
                with_report = finished or now - last_report >= REPORT_INTERVAL_S
                if with_report:
                    last_report = now
                last_frame = now
                snap = render_snapshot(trainer, self.options, records, with_report, offset, generation)
                # A pause aborts at this yield: these records travel with the frame, not as unsent.
                self._unsent = (generation, [])
                yield snap
                # Hold still (without the GIL) while the GUI draws the frame: the GUI thread
                # re-enters Python for every pyqtgraph paint, and each re-entry would
                # otherwise wait for this thread to give up the GIL.
                snap.drawn.wait(DRAW_WAIT_S)
                records = []
                self._unsent = (generation, records)
            if finished:
                return
            if wake is not None:
                # Sleep until the next epoch is due, a frame at a time so that a pause request
                # (checked at each yield) is answered quickly.
                while True:
                    left = wake - time.perf_counter()
                    if left <= 0:
                        break
                    time.sleep(min(left, frame_s))
                    yield None

    def _on_yielded(self, snap) -> None:
        if snap is not None:
            self._accept(snap)

    def _accept(self, snap: Snapshot) -> None:
        if snap.generation != self.generation:
            return  # a frame of a network that has been replaced since
        self.pending_records.extend(snap.records)
        if self.latest is not None:
            # Keep pictures that a frame computed less often than every frame.
            if snap.report is None and snap.status != "diverged":
                # (a diverged network has no scores: the last finite ones were of other weights)
                snap.report, snap.report_on = self.latest.report, self.latest.report_on
            if snap.last_record is None:
                snap.last_record = self.latest.last_record
        self.latest = snap
        self.frames_rendered += 1
        self.snapshot_arrived.emit()

    def take_records(self) -> list[dict]:
        out, self.pending_records = self.pending_records, []
        return out

    def _on_errored(self, exc: BaseException) -> None:
        self.failed.emit(f"training stopped: {exc}")

    def _on_finished(self) -> None:
        self._worker = None
        # A pause stops the worker between frames: show the epochs trained since the last
        # frame, and the scores and pictures of the weights it stopped at, not older ones.
        (generation, unsent), self._unsent = self._unsent, (self.generation, [])
        if generation != self.generation:
            unsent = []  # records of a network replaced since
        if self.trainer is not None:
            self._accept(render_snapshot(self.trainer, self.options, unsent, True, self.epoch_offset,
                                         self.generation))
        status = self.trainer.status if self.trainer is not None else "idle"
        self._set_state({"running": "paused", "completed": "completed", "diverged": "diverged",
                         "stopped": "paused"}.get(status, "paused"))
