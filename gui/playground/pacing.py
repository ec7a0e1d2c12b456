"""When the training worker trains its next epoch and when it sends a frame (no Qt).

A speed-limited run keeps to a schedule of ``speed`` epochs a second since the speed was
set, not to a slot per epoch: at high speeds a frame takes longer than a slot, and the
epochs it delayed are then trained back to back until the run is on time. The clock is a
callable (``time.perf_counter`` in the app, a fake one in the tests), so the schedule can
be checked without waiting and without depending on how busy the machine is.
"""

from __future__ import annotations

import math
import time
from typing import Callable

FRAME_RATE_HZ = 60.0
REPORT_INTERVAL_S = 0.5
#: how often, while training, the network drawing (weights and neurons' pictures) is redrawn
NETWORK_INTERVAL_S = 0.2
#: how often, while training, the loss and accuracy curves are redrawn (a curve grows by a
#: pixel or two between frames; the regions are drawn with every frame)
CURVES_INTERVAL_S = 0.05
#: how often, while training, the epoch counter and the loss figures above the plot change
#: (a label whose text changes makes Qt lay out and repaint what lies around it)
TEXT_INTERVAL_S = 0.1
#: while training, how long after a frame or another paced drawing a paced one waits, so
#: that each is painted in a stretch of the event loop of its own (frames come every 17 ms)
DRAW_GAP_S = 0.006
#: epochs per second for each speed setting; None is as fast as the computer goes
SPEEDS: tuple[float | None, ...] = (1.0, 3.0, 10.0, 30.0, 100.0, None)
#: where a new Playground starts: a pace a lecturer can talk over (TensorFlow Playground
#: runs at about ten to twenty epochs a second); "max" is one click away
DEFAULT_SPEED_INDEX = SPEEDS.index(10.0)


def speed_text(speed: float | None, unit: str = "epoch") -> str:
    """How a speed setting reads: "max", "1 epoch/s", "10 epochs/s" (or iterations, steps)."""
    if speed is None:
        return "max"
    return f"{speed:g} {unit}/s" if speed == 1 else f"{speed:g} {unit}s/s"
#: how far a speed-limited run may fall behind its schedule before it stops catching up
MAX_CATCH_UP_S = 0.25
#: the longest a speed-limited run that is catching up delays a frame, in frame times
MAX_FRAME_DELAY_FRAMES = 4


class Pacer:
    """The worker's schedule: call :meth:`epoch_done` after every epoch, then ask :meth:`frame_due`.

    Parameters
    ----------
    clock : callable
        Seconds as a float, monotonic (``time.perf_counter``).
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter):
        self.clock = clock
        self.frame_s = 1.0 / FRAME_RATE_HZ
        self._speed: float | None = None
        self._t0 = 0.0
        self._n = 0
        self._last_frame = -math.inf
        self._last_report = -math.inf
        self._last_neurons = -math.inf

    def epoch_done(self, speed: float | None, started: float) -> float | None:
        """Count an epoch that began at clock time ``started``; when the next one is due.

        Returns
        -------
        float or None
            The clock time to wait for before the next epoch; None at full speed.
        """
        if speed is None:
            self._speed = None
            return None
        if speed != self._speed:
            self._speed, self._t0, self._n = speed, started, 0
        self._n += 1
        wake = self._t0 + self._n / speed
        if self.clock() - wake > MAX_CATCH_UP_S:
            # Far behind (the computer is slower than asked): no burst, a new schedule.
            self._t0, self._n = self.clock(), 0
            wake = self._t0
        return wake

    def frame_due(self, wake: float | None, finished: bool) -> bool:
        """Whether to send a frame now (at most ``FRAME_RATE_HZ`` a second, and always at the end).

        While the run catches up with its schedule, a frame waits (up to a few frame times)
        for it to be on time.
        """
        now = self.clock()
        since = now - self._last_frame
        behind = wake is not None and now >= wake and since < MAX_FRAME_DELAY_FRAMES * self.frame_s
        return finished or (since >= self.frame_s and not behind)

    def take_frame(self, finished: bool) -> bool:
        """Note a frame sent now; whether it carries the (slower to compute) scores."""
        now = self.clock()
        # Frames keep to a grid of frame times: the epoch that ends a little after a frame's
        # time does not push every later frame back (with 3 ms epochs, a clock restarted at
        # each frame gave 55 frames a second instead of 60). A frame late by a whole frame
        # time or more starts the grid again.
        slot = self._last_frame + self.frame_s
        self._last_frame = slot if 0.0 <= now - slot < self.frame_s else now
        if finished or now - self._last_report >= REPORT_INTERVAL_S:
            self._last_report = now
            return True
        return False

    def neurons_due(self, finished: bool) -> bool:
        """Whether the frame being sent carries the neurons' pictures: the window redraws the
        network every ``NETWORK_INTERVAL_S`` while training, so more often is wasted work."""
        now = self.clock()
        if finished or now - self._last_neurons >= NETWORK_INTERVAL_S:
            self._last_neurons = now
            return True
        return False
