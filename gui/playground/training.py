"""Training off the GUI thread, handing finished pictures to the GUI.

:class:`TrainingSession` trains one network at a time (a :class:`TrainingRun`: the engine's
``Trainer`` and the run's epoch count). By default the run lives in a training process of
its own (:mod:`~gui.playground.training_process`): it trains epoch after epoch and, at most
``FRAME_RATE_HZ`` times a second, sends an immutable
:class:`~gui.playground.frames.TrainingSnapshot` with everything the GUI draws, so training
and drawing never wait for each other's GIL. With ``in_process=False`` the run stays in
this process and a superqt generator worker trains it (the fallback where no process can
be started, and the way to drive the schedule with a fake clock).

In the process, the run is the child's alone, idle or not: edits go down the pipe in order
and are applied between epochs; while idle, reading a picture is a short request.

One writer at a time: while a worker runs, only the worker touches the run; edits made
meanwhile (painted points, a typed weight, a new learning rate, a new network) are queued
in :class:`Controls` and applied by the worker between epochs. While no worker runs, the
session applies them at once on the GUI thread. The GUI reads the run only through
snapshots.
"""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import replace
from typing import Callable

import numpy as np
from PySide6 import QtCore

from engine.data import Dataset
from engine.spec import RunSpec
from gui import workers
from gui.playground.frames import RenderOptions, TrainingSnapshot
from gui.playground.message_pump import MessagePump
from gui.playground.pacing import SPEEDS, Pacer
from gui.playground.training_process import TrainerError, TrainerProcess
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
        The pacing clock (seconds) of the in-process worker; tests pass a fake one.
    in_process : bool
        Train in a process of its own (default) or in a worker thread of this one.
    """

    state_changed = QtCore.Signal(str)
    snapshot_arrived = QtCore.Signal()
    failed = QtCore.Signal(str)

    def __init__(self, parent=None, clock: Callable[[], float] = time.perf_counter, in_process: bool = True):
        super().__init__(parent)
        self.clock = clock
        self.in_process = in_process
        self._speed: float | None = None
        self._proc: TrainerProcess | None = None
        self._proc_running = False
        self._closed = False  # close() was called: no process is started again
        # The training process's messages, posted by its reader thread, handled here.
        self._pump = MessagePump(self._on_process_messages, self)
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
        return self._worker is not None or self._proc_running

    @property
    def speed(self) -> float | None:
        """Epochs per second, None for as fast as possible (the trainer reads it at each epoch)."""
        return self._speed

    @speed.setter
    def speed(self, value: float | None) -> None:
        self._speed = value
        if self._proc is not None:
            self._send("speed", value)

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
        if self.in_process and self._ensure_process():
            # The process builds the same run (the spec fixes its seed) and adopts it between
            # two epochs when training; this copy only answered the checks above.
            self._run = _ProcessRun(run)
            self._send("reset", spec, dataset, run.generation, epoch)
        elif self.running:
            # The worker adopts the run between two epochs; the GUI does not touch it.
            self._controls.put(reset=run)
            return
        if self.running:
            return
        self._set_state(SessionState.IDLE)
        self.refresh()

    def clear(self) -> None:
        """No network at all (nothing to train on)."""
        self.stop()
        self._generation += 1
        self._run = self._snapshot = self._spec = self._dataset = None
        self._pending_records = []
        if self._proc is not None:
            self._send("clear")
        self._set_state(SessionState.IDLE)

    def close(self) -> None:
        """Stop training and end the training process (the window is closing).

        For good: a call that would need the process afterwards (an event still queued
        for the closing window) starts none and does nothing.
        """
        self.stop()
        self._closed = True
        proc, self._proc = self._proc, None
        if proc is not None:
            # The run lived in the process: there is none now.
            self._generation += 1
            self._run = self._snapshot = None
            proc.close()

    def _require_idle(self) -> None:
        if self.running:
            raise RuntimeError("the training worker is running; pause first")

    # ------------------------------------------------------------------ edits
    def set_dataset(self, dataset: Dataset) -> None:
        """Train on new data from the next epoch on (painting while training)."""
        if self._run is None:
            return
        self._dataset = dataset
        if self.in_process:
            self._send("dataset", dataset)
        elif self.running:
            self._controls.put(dataset=dataset)
            return
        else:
            self._run.apply(dataset, None, ())
        self.refresh()

    def set_weight(self, layer: int, i: int, j: int, value: float) -> None:
        """Set one weight of the current network (weight ``(i, j)`` of dense layer ``layer``)."""
        if self._run is None:
            return
        if self.in_process:
            self._send("edit", (layer, i, j, value))
        elif self.running:
            self._controls.put(edit=(layer, i, j, value))
            return
        else:
            self._run.apply(None, None, [(layer, i, j, value)])
        self.refresh()

    def edit_model(self, change: tuple) -> None:
        """A change made by hand to a model that is not a network (``("centroid", i, x, y)``)."""
        if self._run is None:
            return
        if self.in_process:
            self._send("edit", change)
        elif self.running:
            self._controls.put(edit=change)
            return
        else:
            self._run.apply(None, None, [change])
        self.refresh(with_report=False)

    def set_spec(self, spec: RunSpec) -> None:
        """New training settings (learning rate, batch, optimizer, ...) for the same network."""
        if self._run is None:
            return
        self._spec = spec
        if self.in_process:
            self._send("spec", spec)
        elif self.running:
            self._controls.put(spec=spec)
            return
        else:
            self._run.apply(None, spec, ())
        self.refresh(with_report=False)

    def set_render_options(self, **changes) -> None:
        """Change what the pictures show (``box``, ``discretize``, ``value_scale``, ``preview``)."""
        self._options = replace(self._options, **changes)
        if self._proc is not None:
            self._send("options", self._options)
        if not self.running and self._run is not None:
            self.refresh(with_report=False)

    # ------------------------------------------------------------------ drawing while idle
    def refresh(self, with_report: bool = True) -> None:
        """Render the current network on this thread (only while no worker runs)."""
        if self._run is None or self.running:
            return
        if self.in_process:
            fields = self._request("snapshot", with_report)
            if fields is not None:
                self._accept(TrainingSnapshot(**fields))
            return
        self._accept(self._run.snapshot(self._options, with_report))

    def preview_picture(self, column: int, unit: int) -> np.ndarray | None:
        """One neuron's picture at preview size, computed now (idle only)."""
        if self._run is None or self.running:
            return None
        if self.in_process:
            return self._request("preview", column, unit)
        return self._run.preview_grid(self._options.box, column, unit)

    def train_now(self, epochs: int) -> None:
        """Train up to ``epochs`` epochs on this thread and show the result (idle only: screenshots)."""
        self._require_idle()
        run = self._run
        if run is None:
            return
        if self.in_process:
            status = self._request("train_now", epochs)
            self.refresh()
            if status is not None and status != "running":
                self._set_state(self._stopped_state(status))
            return
        for _ in range(epochs):
            run.train_epoch()
            if run.status != "running":
                break
        self.refresh()
        if run.status != "running":
            self._set_state(self._stopped_state(run.status))

    # ------------------------------------------------------------------ start / pause / step
    def start(self, max_epochs: int | None = None) -> bool:
        """Start training in the worker; ``max_epochs`` = 1 is a single step.

        Returns False when there is nothing to train: no network, already running, diverged,
        or at the run's epoch limit.
        """
        run = self._run
        if run is None or self.running:
            return False
        if self.in_process:
            if not self._request("start", max_epochs):
                return False
            self._proc_running = True
            self._set_state(SessionState.RUNNING)
            return True
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
        if self._proc_running:
            self._send("pause")
        if self._worker is not None:
            self._worker.quit()

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop the worker and wait for it (shutdown, loading a file, tests)."""
        if self._proc_running:
            self._send("pause")
            deadline = time.perf_counter() + timeout_s
            # (the process's last frames and its "stopped" arrive as queued signals)
            while self._proc_running and self._proc is not None and time.perf_counter() < deadline:
                QtCore.QCoreApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
                QtCore.QThread.msleep(2)
            return not self._proc_running
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
                snap = run.snapshot(self._options, pacer.take_frame(finished), pacer.neurons_due(finished),
                                    draft=not finished and wake is None)
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

    def _accept(self, snap: TrainingSnapshot, announce: bool = True) -> None:
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
            if snap.neurons is None and prev.generation == snap.generation:
                keep["neurons"] = prev.neurons  # (sent a few times a second)
            if keep:
                snap = replace(snap, **keep, drawn=snap.drawn)
        self._snapshot = snap
        self.frames_rendered += 1
        if announce:
            self.snapshot_arrived.emit()

    def _on_errored(self, exc: BaseException) -> None:
        self.failed.emit(f"training stopped: {exc}")

    @staticmethod
    def _stopped_state(status: str | None) -> SessionState:
        return {"completed": SessionState.COMPLETED, "diverged": SessionState.DIVERGED}.get(
            status or "stopped", SessionState.PAUSED)

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
        self._set_state(self._stopped_state(run.status if run is not None else None))

    # ------------------------------------------------------------------ the training process
    def _ensure_process(self) -> bool:
        if self._proc is not None and self._proc.alive:
            return True
        if self._closed:
            return False
        try:
            self._proc = TrainerProcess(self._pump.post)
        except OSError as exc:
            # No process to be had (a locked-down machine): train in a thread of this one.
            self._proc = None
            self.in_process = False
            self.failed.emit(f"training runs in the window's own process: {exc}")
            return False
        self._proc_running = False
        self._send("options", self._options)
        self._send("speed", self._speed)
        return True

    def _send(self, *message) -> None:
        if self._proc is None:
            return  # closed: the window is going away
        try:
            self._proc.send(*message)
        except TrainerError as exc:
            self._process_failed(str(exc))

    def _request(self, *message):
        if self._proc is None:
            return None
        try:
            return self._proc.request(*message)
        except TrainerError as exc:
            self._process_failed(str(exc))
            return None

    def _process_failed(self, text: str) -> None:
        self._proc_running = False
        self.failed.emit(text)
        self._set_state(SessionState.PAUSED)

    def _on_process_messages(self, messages: list) -> None:
        # Of several frames waiting, only the newest is drawn; the others give it their
        # records (and are acknowledged as drawn, so that the process sends on).
        last_frame = max((i for i, m in enumerate(messages) if m[0] == "frame"), default=-1)
        for i, msg in enumerate(messages):
            self._on_process_message(msg, announce=i == last_frame or msg[0] != "frame")

    def _on_process_message(self, msg: tuple, announce: bool = True) -> None:
        kind = msg[0]
        if kind == "frame":
            fields = msg[1]
            if fields["generation"] != self._generation:
                self._send("drawn")  # a frame of a replaced network: nobody will draw it
                return
            snap = TrainingSnapshot(**fields, drawn=_DrawnSignal(self._frame_drawn))
            self._accept(snap, announce)
            if not announce:
                snap.drawn.set()
        elif kind == "stopped":
            self._proc_running = False
            # The frame shows the epochs trained since the last frame and the scores of the
            # weights the run stopped at (edits sent meanwhile are in: the pipe keeps order).
            self.refresh()
            self._set_state(self._stopped_state(msg[1]))
        elif kind == "error":
            self.failed.emit(msg[1])
        elif kind == "ended":
            # The run went with the process; the next reset starts a new one.
            proc, self._proc = self._proc, None
            if proc is not None:
                proc.close(timeout_s=0.5)
            self._generation += 1
            self._run = None
            self._process_failed(msg[1] + ": press reset to start again")

    def _frame_drawn(self) -> None:
        if self._proc is not None and self._proc_running:
            self._send("drawn")


class _DrawnSignal(threading.Event):
    """A frame's ``drawn`` event that also tells the training process."""

    def __init__(self, on_set: Callable[[], None]):
        super().__init__()
        self._on_set = on_set

    def set(self) -> None:
        if not self.is_set():
            super().set()
            self._on_set()


class _ProcessRun:
    """What the GUI keeps of a run that lives in the training process: its checked shape."""

    def __init__(self, run: TrainingRun):
        self.generation = run.generation
        self.spec = run.spec
