"""The Playground's trainer in a process of its own, so that training never holds the GUI's GIL (no Qt).

A :class:`TrainerProcess` is the GUI's end; :func:`serve` runs in the child and owns the one
:class:`~gui.playground.training_run.TrainingRun` for its whole life (training and idle
alike: one writer). The seam is narrow: the child only calls what any ``TrainingRun`` offers
(``TrainingRun(spec, dataset, generation, epoch)``, ``apply``, ``train_epoch``, ``status``,
``can_train``, ``rebuild``, ``snapshot``, ``trainer`` for a neuron's preview), so whatever
model kind a run trains, the process trains it too.

Messages are tuples sent over one ``multiprocessing`` pipe between the app and the child it
started itself (never data from outside): the GUI sends commands, the child answers
requests with ``("reply", value)``, and while training sends ``("frame", fields)`` (a
:class:`~gui.playground.frames.TrainingSnapshot` without its ``drawn`` event) and finally
``("stopped", status)``.

Flow control: the child keeps training, and sends a frame only while fewer than
``FRAMES_IN_FLIGHT`` are waiting to be drawn (the GUI says ``("drawn",)`` for each; after
``DRAW_WAIT_S`` without word it sends anyway). Two in flight let the child draw the next
picture while the GUI puts the last one on screen; a slow screen still never builds a
backlog, and the records trained meanwhile travel with the next frame.

The child is started with ``forkserver`` where the platform has it (a fresh server process
that imports this module once, so each trainer starts in milliseconds), else ``spawn``;
a process that runs Qt is never forked.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import queue
import threading

from gui.playground.frames import RenderOptions, TrainingSnapshot
from gui.playground.pacing import Pacer
from gui.playground.training_run import TrainingRun

__all__ = ["DRAW_WAIT_S", "TrainerError", "TrainerProcess", "serve", "snapshot_fields"]

#: the longest the trainer waits for the GUI to draw a frame before it sends the next one
DRAW_WAIT_S = 0.1
#: frames sent and not yet drawn, at most
FRAMES_IN_FLIGHT = 2
#: how long the GUI waits for an answer before it decides the trainer is gone
REPLY_TIMEOUT_S = 60.0

_CONTEXT = None


def _context():
    """The multiprocessing context: forkserver where there is one, preloading
    :mod:`gui.playground.trainer_preload` (one BLAS thread, then this module), else spawn
    (whose trainers keep NumPy's default threads)."""
    global _CONTEXT
    if _CONTEXT is None:
        methods = multiprocessing.get_all_start_methods()
        if "forkserver" in methods:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["gui.playground.trainer_preload"])
        else:
            ctx = multiprocessing.get_context("spawn")
        _CONTEXT = ctx
    return _CONTEXT


def snapshot_fields(snap: TrainingSnapshot) -> dict:
    """A snapshot's fields without its ``drawn`` event (which cannot cross processes)."""
    return {f.name: getattr(snap, f.name) for f in dataclasses.fields(snap) if f.name != "drawn"}


class TrainerError(RuntimeError):
    """The trainer process ended, stopped answering or could not do what was asked."""


# ============================================================================ the GUI's end
class TrainerProcess:
    """Start the trainer process and talk to it (the GUI's end; no Qt here).

    A reader thread takes every message off the pipe as it comes (reading a large frame
    while the child is still writing it never blocks the GUI thread): answers to
    :meth:`request` go to the caller, everything else (frames, ``stopped``, ``error``, ``ended``) to
    ``on_message``, in order, called **on the reader thread** (the GUI turns it into a
    queued Qt signal).
    """

    def __init__(self, on_message):
        ctx = _context()
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=serve, args=(child,), name="scalelab-trainer", daemon=True)
        self.process.start()
        child.close()
        self.on_message = on_message
        self._replies: queue.Queue = queue.Queue()
        self._closing = False
        self._send_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read_loop, name="scalelab-trainer-reader", daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def _read_loop(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                self._replies.put(("failed", "the training process has ended"))
                if not self._closing:
                    self._hand_on(("ended", "the training process has ended unexpectedly"))
                return
            if msg[0] in ("reply", "failed"):
                self._replies.put(msg)
            else:
                self._hand_on(msg)

    def _hand_on(self, msg) -> None:
        try:
            self.on_message(msg)
        except RuntimeError:
            pass  # (the receiver is gone: the window closed)

    def send(self, *message) -> None:
        try:
            with self._send_lock:
                self.conn.send(message)
        except (OSError, ValueError) as exc:
            raise TrainerError(f"the training process has ended ({exc})") from None

    def request(self, *message):
        """Send a command and wait for its answer."""
        self.send(*message)
        try:
            kind, value = self._replies.get(timeout=REPLY_TIMEOUT_S)
        except queue.Empty:
            raise TrainerError("the training process does not answer") from None
        if kind == "failed":
            raise TrainerError(value)
        return value

    def close(self, timeout_s: float = 2.0) -> None:
        """Ask the process to end, and end it if it does not."""
        self._closing = True
        try:
            self.send("quit")
        except TrainerError:
            pass
        self.process.join(timeout_s)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout_s)
        self._reader.join(timeout_s)
        self.conn.close()


# ============================================================================ the child
#: how much lower the training process's scheduling priority is than the window's (Unix
#: ``nice``): where the two must share a core, the window's paints come first
NICENESS = 12


def serve(conn) -> None:
    """The trainer process's main loop: answer commands until ``quit`` or the pipe closes."""
    if hasattr(os, "nice"):
        try:
            os.nice(NICENESS)
        except OSError:
            pass  # (not allowed here: the same priority as the window)
    _Trainer(conn).serve()


class _Stop(Exception):
    """A pause (or quit) arrived while training."""

    def __init__(self, quit_: bool = False):
        super().__init__()
        self.quit = quit_


class _Trainer:
    def __init__(self, conn):
        self.conn = conn
        self.run: TrainingRun | None = None
        self.options = RenderOptions()
        self.speed: float | None = None
        #: frames sent that the GUI has not said it drew
        self.in_flight = 0

    def serve(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                return
            kind = msg[0]
            if kind == "quit":
                return
            try:
                if kind == "start":
                    ok = self._can_start()
                    self.conn.send(("reply", ok))
                    if ok and self._train(msg[1]):
                        return
                    continue
                else:
                    self._handle(msg)
            except (EOFError, OSError):
                return
            except Exception as exc:  # report it to the GUI instead of dying silently
                detail = f"{type(exc).__name__}: {exc}"
                if kind in ("snapshot", "preview", "train_now", "start"):
                    self.conn.send(("failed", f"training stopped: {detail}"))
                else:
                    self.conn.send(("error", f"training stopped: {detail}"))

    # ------------------------------------------------------------------ commands
    def _handle(self, msg) -> None:
        kind = msg[0]
        run = self.run
        if kind == "reset":
            _, spec, dataset, generation, epoch = msg
            self.run = TrainingRun(spec, dataset, generation, epoch)
        elif kind == "clear":
            self.run = None
        elif kind == "dataset" and run is not None:
            run.apply(msg[1], None, ())
        elif kind == "spec" and run is not None:
            run.apply(None, msg[1], ())
        elif kind == "edit" and run is not None:
            run.apply(None, None, [msg[1]])
        elif kind == "options":
            self.options = msg[1]
        elif kind == "speed":
            self.speed = msg[1]
        elif kind == "drawn":
            self.in_flight = max(0, self.in_flight - 1)
        elif kind == "pause":
            raise _Stop()
        elif kind == "quit":
            raise _Stop(quit_=True)
        elif kind == "snapshot":
            fields = None if run is None else snapshot_fields(run.snapshot(self.options, msg[1]))
            self.conn.send(("reply", fields))
        elif kind == "preview":
            pic = None if run is None else run.preview_grid(self.options.box, msg[1], msg[2])
            self.conn.send(("reply", pic))
        elif kind == "train_now":
            status = None
            if run is not None:
                for _ in range(msg[1]):
                    run.train_epoch()
                    if run.status != "running":
                        break
                status = run.status
            self.conn.send(("reply", status))

    def _can_start(self) -> bool:
        run = self.run
        if run is None:
            return False
        if run.status != "running":
            if not run.can_train:
                return False
            run.rebuild(run.spec)  # stopped early (patience): continue under the current settings
        return True

    # ------------------------------------------------------------------ training
    def _take_commands(self, timeout_s: float = 0.0) -> None:
        """Apply every command waiting (waiting up to ``timeout_s`` for the first)."""
        if not self.conn.poll(timeout_s):
            return
        while True:
            self._handle(self.conn.recv())
            if not self.conn.poll():
                return

    def _train(self, max_epochs: int | None) -> bool:
        """Train until paused, finished or ``max_epochs`` done; returns whether to quit."""
        pacer = Pacer()
        done = 0
        self.in_flight = 0
        frame_sent_at = -1e9
        quit_ = False
        try:
            while True:
                self._take_commands()
                run = self.run
                if run is None:
                    break
                started = pacer.clock()
                run.train_epoch()
                done += 1
                finished = run.status != "running" or (max_epochs is not None and done >= max_epochs)
                wake = pacer.epoch_done(self.speed, started)
                ready = self.in_flight < FRAMES_IN_FLIGHT or pacer.clock() - frame_sent_at >= DRAW_WAIT_S
                if (finished or ready) and pacer.frame_due(wake, finished):
                    # (coarser regions only at full speed: a paced run has time to spare)
                    snap = run.snapshot(self.options, pacer.take_frame(finished), pacer.neurons_due(finished),
                                        draft=not finished and wake is None)
                    self.in_flight += 1
                    frame_sent_at = pacer.clock()
                    self.conn.send(("frame", snapshot_fields(snap)))
                if finished:
                    break
                if wake is not None:
                    while True:
                        left = wake - pacer.clock()
                        if left <= 0:
                            break
                        self._take_commands(left)
        except _Stop as stop:
            quit_ = stop.quit
        except (EOFError, OSError):
            return True
        except Exception as exc:  # the GUI says so and shows the weights it stopped at
            self.conn.send(("error", f"training stopped: {type(exc).__name__}: {exc}"))
        run = self.run
        self.conn.send(("stopped", None if run is None else run.status))
        return quit_
