"""Put the session's latest snapshot on screen: regions, counter, losses, network, scores.

Frames are drawn as they arrive (the worker sends at most ``FRAME_RATE_HZ`` of them) and
by the view's frame timer, which catches curves' records that arrived without a new
picture. Each snapshot is drawn once; the network drawing, the most expensive part, at
most every ``NETWORK_INTERVAL_S`` while training.
"""

from __future__ import annotations

import time
from typing import Callable

from PySide6 import QtCore

from gui.playground.confusion import ConfusionPanel
from gui.playground.network_editor import NetworkEditor
from gui.playground.output_panel import OutputPanel
from gui.playground.pacing import CURVES_INTERVAL_S, NETWORK_INTERVAL_S, TEXT_INTERVAL_S
from gui.playground.render import thumbnail_rgb
from gui.playground.training import TrainingSession
from gui.playground.training_controls import TrainingControls


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
        self._network_drawn_at = 0.0
        #: the test panel's ROC tab (a :class:`~gui.playground.roc_panel.RocPanel`), drawn with the scores
        self.roc = None
        #: called with each new snapshot's ``model_info`` and status (the model's own panels)
        self.on_model_info: Callable[[dict | None, str], None] | None = None
        # (each timer belongs to the widget it draws: it goes with it, never firing on a
        # widget already deleted)
        self._curves_timer = QtCore.QTimer(self.curves)
        self._curves_timer.setSingleShot(True)
        self._curves_timer.timeout.connect(self._redraw_curves)
        self._curves_drawn_at = 0.0
        self._texts_drawn_at = 0.0
        self._texts_snap = None
        self._network_snap = None
        self._network_timer = QtCore.QTimer(network)
        self._network_timer.setSingleShot(True)
        self._network_timer.setInterval(0)
        self._network_timer.timeout.connect(self._draw_network)

    def forget(self, report: bool = True) -> None:
        """Draw the next snapshot even if it was drawn (the widgets were rebuilt or cleared)."""
        self._network_snap = None  # (a network drawing still waiting may be of the old network)
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
        added = self._add_records()
        if added and self.session.running:
            # The curves in later passes of the event loop, a plot at a time: their paints
            # and the regions' then never add up to one long stretch that input and timers
            # wait behind. Each plot at most every CURVES_INTERVAL_S, the two in turns.
            if not self._curves_timer.isActive():
                wait = CURVES_INTERVAL_S / 2 - (time.perf_counter() - self._curves_drawn_at)
                self._curves_timer.start(max(0, round(wait * 1000)))
            drew = True
        else:
            # (not training: whatever waits, now; a plot may still wait from the last frames)
            drew = self.curves.redraw() if added or not self.session.running else False
        snap = self.session.snapshot
        if snap is None or snap is self._drawn:
            if snap is not None and self._texts_snap is not snap and not self.session.running:
                self._draw_texts(snap)  # the figures a frame while training skipped
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
        now = time.perf_counter()
        if not self.session.running or now - self._texts_drawn_at >= TEXT_INTERVAL_S:
            self._draw_texts(snap)
        if not self.session.running:
            self._draw_network(snap)
        elif now - self._network_drawn_at >= NETWORK_INTERVAL_S:
            # (like the curves, in a pass of the event loop of its own)
            self._network_drawn_at = now
            self._network_snap = snap
            self._network_timer.start()
        if self.hover is not None and snap.preview is not None and snap.preview_key == self.hover:
            self.data_plot.set_preview(thumbnail_rgb(snap.preview), self.network.node_name(*self.hover))
        if snap.report is not None and snap.report is not self._drawn_report:
            self._drawn_report = snap.report
            self._show_report(snap.report, snap.report_on)
        self.frames_drawn += 1
        # Tell the worker once the frame is painted. pyqtgraph asks for the repaint through
        # posted events that post the paint request in turn, so wait two event-loop passes.
        QtCore.QTimer.singleShot(0, lambda: QtCore.QTimer.singleShot(0, snap.drawn.set))

    def _draw_texts(self, snap) -> None:
        self._texts_drawn_at = time.perf_counter()
        self._texts_snap = snap
        self.controls.show_epoch(snap.epoch)
        if snap.last_record is not None:
            self.output.show_losses(snap.last_record)

    def _redraw_curves(self) -> None:
        self._curves_drawn_at = time.perf_counter()
        if self.session.running:
            if self.curves.redraw_next():  # the other plot in a later pass of its own
                self._curves_timer.start(round(CURVES_INTERVAL_S * 500))
        else:
            self.curves.redraw()

    def _draw_network(self, snap=None) -> None:
        snap = snap if snap is not None else self._network_snap
        self._network_snap = None
        if snap is None:
            return
        self._network_drawn_at = time.perf_counter()
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
