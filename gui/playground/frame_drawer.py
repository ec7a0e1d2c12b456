"""Put the session's latest snapshot on screen: regions, counter, losses, network, scores.

Frames are drawn as they arrive (the worker sends at most ``FRAME_RATE_HZ`` of them) and
by the view's frame timer, which catches curves' records that arrived without a new
picture. Each snapshot is drawn once. While training, the regions go on screen with every
frame and the rest at paces of their own (:mod:`gui.playground.pacing`), each in a pass of
the event loop of its own (:class:`Paced`), kept apart from each other and from the frames
(:class:`DrawSpacer`): the curves a plot at a time, the counter and the loss figures, the
network. When training stops, everything waiting is drawn at once.
"""

from __future__ import annotations

import math
import time
from typing import Callable

from PySide6 import QtCore

from gui.playground.confusion import ConfusionPanel
from gui.playground.network_editor import NetworkEditor
from gui.playground.output_panel import OutputPanel
from gui.playground.pacing import CURVES_INTERVAL_S, DRAW_GAP_S, NETWORK_INTERVAL_S, TEXT_INTERVAL_S
from gui.playground.render import thumbnail_rgb
from gui.playground.training import TrainingSession
from gui.playground.training_controls import TrainingControls


class DrawSpacer:
    """Keeps the paced drawings apart from each other and from the frames: after any of them,
    the next paced one waits ``gap_s``, so that each is painted in a stretch of its own
    (Qt paints every widget changed since the last paint at once; a curve plot, the network
    and the regions painted together held the window three times as long as one of them).
    Frames never wait: they only push the paced drawings back.
    """

    def __init__(self, gap_s: float):
        self.gap_s = gap_s
        self._last = -math.inf

    def mark(self) -> None:
        """Something was drawn just now."""
        self._last = time.perf_counter()

    def wait_s(self) -> float:
        """How long the next paced drawing should still wait."""
        return max(0.0, self._last + self.gap_s - time.perf_counter())


class Paced:
    """One drawing made in a pass of the event loop of its own, at most every ``interval_s``:
    what is asked for meanwhile waits, and only the newest argument is drawn. With a
    ``spacer``, it also waits for the spacer's gap after any other drawing.

    The timer belongs to ``owner``, the widget drawn: it goes with it, never firing on a
    widget already deleted.
    """

    def __init__(self, owner: QtCore.QObject, interval_s: float, draw: Callable,
                 spacer: DrawSpacer | None = None):
        self.interval_s = interval_s
        self._draw = draw
        self._spacer = spacer
        self._timer = QtCore.QTimer(owner)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._due)
        self._drawn_at = -math.inf
        self._waiting = False
        self._arg = None

    def request(self, arg=None) -> None:
        """Draw ``arg`` in a later pass, once ``interval_s`` has passed since the last drawing."""
        self._arg, self._waiting = arg, True
        if not self._timer.isActive():
            wait = max(0.0, self.interval_s - (time.perf_counter() - self._drawn_at))
            if self._spacer is not None:
                wait = max(wait, self._spacer.wait_s())
            self._timer.start(round(wait * 1000))

    def _due(self) -> None:
        wait = 0.0 if self._spacer is None else self._spacer.wait_s()
        if wait > 0.0:  # something else was drawn meanwhile: a stretch of its own after it
            self._timer.start(max(1, round(wait * 1000)))
            return
        self.flush()

    def flush(self) -> None:
        """Draw what waits, now."""
        self._timer.stop()
        if not self._waiting:
            return
        arg, self._arg, self._waiting = self._arg, None, False
        self._drawn_at = time.perf_counter()
        self._draw(arg)
        if self._spacer is not None:
            self._spacer.mark()

    def cancel(self) -> None:
        """Forget what waits."""
        self._timer.stop()
        self._arg, self._waiting = None, False


class FrameDrawer:
    """Draws :attr:`TrainingSession.snapshot` onto the Playground's widgets."""

    def __init__(self, session: TrainingSession, controls: TrainingControls, output: OutputPanel,
                 network: NetworkEditor, confusion: ConfusionPanel, class_names: Callable[[], list[str]]):
        self.session = session
        self.controls = controls
        self.output = output
        self.network = network
        self.confusion = confusion
        self.class_names = class_names
        self.data_plot = output.plot_box.data_plot
        self.curves = output.curves
        #: frames put on screen (with new curves or a new snapshot), and those with new regions
        self.frames_drawn = 0
        self.boundary_frames = 0
        #: the neuron whose picture is shown large: ``(column, unit)`` or None
        self.hover: tuple[int, int] | None = None
        self._drawn = None
        self._drawn_report = None
        #: the test panel's ROC tab (a :class:`~gui.playground.roc_panel.RocPanel`), drawn with the scores
        self.roc = None
        #: called with each new snapshot's ``model_info`` and status (the model's own panels)
        self.on_model_info: Callable[[dict | None, str], None] | None = None
        # The curves every CURVES_INTERVAL_S per plot, the two plots in turns.
        self._spacer = DrawSpacer(DRAW_GAP_S)
        self._curves = Paced(self.curves, CURVES_INTERVAL_S / 2, self._redraw_curves, self._spacer)
        self._texts = Paced(controls, TEXT_INTERVAL_S, self._draw_texts, self._spacer)
        self._network = Paced(network, NETWORK_INTERVAL_S, self._draw_network, self._spacer)

    def forget(self, report: bool = True) -> None:
        """Draw the next snapshot even if it was drawn (the widgets were rebuilt or cleared)."""
        self._network.cancel()  # (a network drawing still waiting may be of the old network)
        self._drawn = None
        if report:
            self._drawn_report = None

    def show_neuron(self, column: int, unit: int) -> None:
        """Show neuron ``unit`` of ``column`` (0: the input features) large in the plot; -1: none."""
        if column < 0:
            self.hover = None
            self.session.set_render_options(preview=None)
            self.data_plot.set_preview(None)
            return
        if column == 0:
            name = self.network.all_features[unit]
            if name not in self.network.features:  # an unused feature: no picture of it
                self.show_neuron(-1, -1)
                return
            unit = self.network.features.index(name)
        self.hover = (column, unit)
        if self.session.running:
            self.session.set_render_options(preview=(column, unit))  # the worker draws it with each frame
            return
        pic = self.session.preview_picture(column, unit)
        if pic is not None:
            self.data_plot.set_preview(thumbnail_rgb(pic), self.network.node_name(column, unit))

    def draw(self) -> None:
        """Draw what is new since the last frame."""
        running = self.session.running
        self.curves.set_draft(running)
        added = self._add_records()
        if running:
            if added:
                self._curves.request()
            drew = added
        else:
            self._curves.cancel()
            drew = self.curves.redraw()  # (whatever waits, a plot from the last frames too)
        snap = self.session.snapshot
        if snap is None or snap is self._drawn:
            if not running:  # what frames while training left waiting
                self._texts.flush()
                self._network.flush()
            if drew:
                self.frames_drawn += 1
            return
        self._drawn = snap
        if snap.boundary is not None:
            self.data_plot.set_boundary(snap.boundary)
            self.boundary_frames += 1
        info = snap.model_info
        self.data_plot.set_overlays(snap.overlays, snap.status_line,
                                    info.get("eps") if info is not None and info.get("kind") == "dbscan" else None)
        if self.on_model_info is not None:
            self.on_model_info(info, snap.status)
        self.controls.show_counter_name(snap.counter_name)
        self._texts.request(snap)
        self._network.request(snap)
        if not running:
            self._texts.flush()
            self._network.flush()
        if self.hover is not None and snap.preview is not None and snap.preview_key == self.hover:
            self.data_plot.set_preview(thumbnail_rgb(snap.preview), self.network.node_name(*self.hover))
        if snap.report is not None and snap.report is not self._drawn_report:
            self._drawn_report = snap.report
            self._show_report(snap.report, snap.report_on)
        self.frames_drawn += 1
        self._spacer.mark()
        # Tell the worker once the frame is painted. pyqtgraph asks for the repaint through
        # posted events that post the paint request in turn, so wait two event-loop passes.
        QtCore.QTimer.singleShot(0, lambda: QtCore.QTimer.singleShot(0, snap.drawn.set))

    def _draw_texts(self, snap) -> None:
        self.controls.show_epoch(snap.epoch)
        if snap.last_record is not None:
            self.output.show_losses(snap.last_record)

    def _redraw_curves(self, _=None) -> None:
        if not self.session.running:
            self.curves.redraw()
        elif self.curves.redraw_next():
            self._curves.request()  # the other plot in a later pass of its own

    def _draw_network(self, snap) -> None:
        self.network.set_draft(self.session.running)
        self.network.show_weights(snap.weights)
        if snap.neurons is not None:
            self.network.show_neuron_pictures(snap.neurons)

    def _add_records(self) -> bool:
        recs = self.session.take_records()
        if recs:
            self.curves.add_records(recs)
            if not self.session.running:  # (while training: with the counter, in draw)
                self.output.show_losses(recs[-1])
        return bool(recs)

    def _show_report(self, report: dict, which: str) -> None:
        if self.roc is not None:
            self.roc.show_report(report, self.class_names())
        self.confusion.set_scored_on(which)
        if "confusion" in report:
            self.confusion.show_report(report, self.class_names())
        else:
            self.confusion.show_regression(report["mse"], report["r2"], report["n"])
