"""One job up close: its state timeline, live curves, output tail and results.

The view only shows; :class:`~gui.cluster.view.ClusterView` feeds it (store rows,
records, output text) and acts on its signals (fetch, open, cancel).
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from engine.metrics import format_metric
from gui.cluster.curves import (
    DEFAULT_FAMILIES, FAMILIES, MetricPlot, families_present, is_number, step_name, step_of,
)
from gui.cluster.job_timeline import Timeline, timeline_text
from gui.widgets.elided import ElidedLabel
from remote.logparse import to_metrics_records
from remote.slurm import explain_reason, reason_needs_change
from remote.store import StoredJob

SERIES = "job"
# The Playground's colours: grey for train, vermillion for test.
TEST_COLOR = theme.CLASS_COLORS[5]
TRAIN_COLOR = "#5F6368"
MAX_OUTPUT_BLOCKS = 4000
# How the summary line names a record's numbers.
SUMMARY_NAMES = {"max_violation": "largest KKT violation", "n_support": "support vectors",
                 "shift": "centre shift"}
# Dark amber: a warning reads apart from an error's red and stays legible on white.
WARNING_TEXT_COLOR = "#8A5300"


class JobView(QtWidgets.QWidget):
    """The selected job: header, timeline, curves, output tail, actions.

    Signals
    -------
    fetch_requested(str, str)
        ``(profile, job_id)``: copy the results here.
    open_model_requested(str)
        Path of a fetched model (spec) to open in the Playground.
    cancel_requested(str, str)
    """

    fetch_requested = QtCore.Signal(str, str)
    open_model_requested = QtCore.Signal(str)
    cancel_requested = QtCore.Signal(str, str)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.job: StoredJob | None = None
        self.records: list[dict] = []
        #: Per profile, the ids of jobs the queue lists as the user's own (followed ones may be cancelled).
        self.own_jobs: dict[str, set[str]] = {}
        self.fetched_model: str | None = None

        # a long job name or id must not widen the window: shortened at the end, whole on hover
        self.title = ElidedLabel("No job selected", mode=QtCore.Qt.TextElideMode.ElideRight)
        self.title.setProperty("role", "heading")
        self.state_label = QtWidgets.QLabel()
        self.fetch_button = QtWidgets.QPushButton("Fetch results")
        self.fetch_button.setToolTip("Copy metrics, model, result and output from the job folder to this computer.")
        self.fetch_button.clicked.connect(self._on_fetch_clicked)
        self.open_button = QtWidgets.QPushButton("Open in Playground")
        self.open_button.setToolTip("Show the fetched model's decision boundary in the Playground.")
        self.open_button.clicked.connect(self._on_open_clicked)
        self.cancel_button = QtWidgets.QPushButton("Cancel job…")
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        for b in (self.fetch_button, self.open_button, self.cancel_button):
            b.setEnabled(False)
        self.timeline = Timeline()
        # Plain words for the state: what a pending reason means, and whether to change the job.
        self.reason_label = QtWidgets.QLabel()
        self.reason_label.setWordWrap(True)
        self.reason_label.setVisible(False)
        # Warnings the run itself wrote into its records (a straggler rank, ...), once each.
        self.warnings_label = QtWidgets.QLabel()
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setVisible(False)
        self.warnings_label.setStyleSheet(f"color: {WARNING_TEXT_COLOR};")
        self.plots: dict[str, MetricPlot] = {}
        self.plots_row = QtWidgets.QHBoxLayout()
        self.loss_plot = self._plot("loss")
        self.acc_plot = self._plot("accuracy")
        legend = QtWidgets.QLabel(f"<span style='color:{TEST_COLOR}'>━━</span> test &nbsp; "
                                  f"<span style='color:{TRAIN_COLOR}'>╌╌</span> train")
        legend.setProperty("role", "hint")
        self.legend_label = legend
        self.summary = QtWidgets.QLabel()
        self.summary.setProperty("role", "hint")
        self.summary.setWordWrap(True)  # many metrics in large type wrap instead of widening the window
        self.output = QtWidgets.QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setMaximumBlockCount(MAX_OUTPUT_BLOCKS)
        self.output.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        self.output.setPlaceholderText("The job's output file appears here while it runs.")
        self.output_label = QtWidgets.QLabel("Output")
        self.output_label.setProperty("role", "heading")
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)

        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.state_label)
        top.addStretch(1)
        top.addWidget(self.fetch_button)
        top.addWidget(self.open_button)
        top.addWidget(self.cancel_button)
        plots = self.plots_row
        info = QtWidgets.QHBoxLayout()
        info.addWidget(self.summary, 1)
        info.addWidget(legend)
        lower = QtWidgets.QWidget()
        lower_lay = QtWidgets.QVBoxLayout(lower)
        lower_lay.setContentsMargins(0, 0, 0, 0)
        lower_lay.addWidget(self.output_label)
        lower_lay.addWidget(self.output, 1)
        upper = QtWidgets.QWidget()
        upper_lay = QtWidgets.QVBoxLayout(upper)
        upper_lay.setContentsMargins(0, 0, 0, 0)
        upper_lay.addLayout(plots, 1)
        upper_lay.addLayout(info)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(lower)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 12, 6)
        lay.addLayout(top)
        lay.addWidget(self.timeline)
        lay.addWidget(self.reason_label)
        lay.addWidget(self.warnings_label)
        lay.addWidget(self.message)
        lay.addWidget(split, 1)

    def _plot(self, family: str) -> MetricPlot:
        """The chart of metric family ``family``, created (hidden) on first use."""
        if family not in self.plots:
            plot = MetricPlot(family, FAMILIES[family].title)
            if getattr(self, "presentation", False):
                plot.set_presentation(True)
            self.plots[family] = plot
            self.plots_row.addWidget(plot, 1)
        return self.plots[family]

    def set_presentation(self, on: bool) -> None:
        self.presentation = on
        for plot in self.plots.values():
            plot.set_presentation(on)

    # ------------------------------------------------------------------ data in

    def show_job(self, job: StoredJob | None, records: list[dict] | None = None) -> None:
        """Show ``job`` (a store row) and all its records so far; ``None`` clears the view."""
        same = self.job is not None and job is not None and (self.job.profile, self.job.job_id) == (
            job.profile, job.job_id)
        if not same:
            self.output.clear()
            self.output.setPlaceholderText("The job's output file appears here while it runs.")
            self.fetched_model = None
            self.set_message("")
        self.job = job
        if records is not None:
            self.records = to_metrics_records(records)
        elif not same:
            self.records = []
        self._refresh()

    def update_job(self, job: StoredJob) -> None:
        """A new store row for the job on show (state, times)."""
        if self.job is not None and (self.job.profile, self.job.job_id) == (job.profile, job.job_id):
            self.job = job
            self._refresh_header()

    def set_own_jobs(self, profile: str, job_ids: set[str]) -> None:
        """The queue's word on which of ``profile``'s jobs are the user's."""
        self.own_jobs[profile] = set(job_ids)
        if self.job is not None and self.job.profile == profile:
            self._refresh_header()

    def add_records(self, records: list[dict]) -> None:
        if records:
            self.records.extend(to_metrics_records(records))
            self._refresh_plots()

    def append_output(self, text: str) -> None:
        """Add newly read output; carriage-return progress bars show their last state."""
        if not text:
            return
        bar = self.output.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        cleaned = "\n".join(line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")
                            for line in text.split("\n"))
        cursor = self.output.textCursor()
        cursor.movePosition(QtGui.QTextCursor.MoveOperation.End)
        cursor.insertText(cleaned)
        if at_end:
            bar.setValue(bar.maximum())

    def output_text(self) -> str:
        return self.output.toPlainText()

    def note_output_empty(self) -> None:
        """The job ended without printing anything: say so instead of an empty box."""
        if not self.output.toPlainText():
            self.output.setPlaceholderText("The job printed nothing to its output file; its curves come from "
                                           "metrics.jsonl.")

    def set_fetched(self, model_path: str | None, message: str) -> None:
        self.fetched_model = model_path
        self.open_button.setEnabled(bool(model_path))
        self.set_message(message)

    def set_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {theme.ERROR_COLOR};" if error else f"color: {theme.FOREGROUND};")
        self.message.setVisible(bool(text))

    def tick(self) -> None:
        """Once a second: waiting/running durations in the timeline grow."""
        if self.job is not None and not self.job.finished:
            self.timeline.set_steps(timeline_text(self.job))

    # ------------------------------------------------------------------ drawing

    def _refresh(self) -> None:
        self._refresh_header()
        self._refresh_plots()

    def _refresh_header(self) -> None:
        job = self.job
        if job is None:
            self.title.setText("No job selected")
            self.state_label.setText("")
            self.timeline.set_steps([("Submitted", "—", False), ("Started", "—", False), ("Ended", "—", False)])
            for b in (self.fetch_button, self.open_button, self.cancel_button):
                b.setEnabled(False)
            self.summary.setText("")
            return
        ranks = f" · {job.ntasks} rank{'s' if job.ntasks != 1 else ''}" if job.ntasks else ""
        name = f" “{job.name}”" if job.name else ""
        self.title.setText(f"Job {job.job_id}{name} on {job.profile}{ranks}")
        from gui.cluster.queue_table import STATE_COLORS

        color = STATE_COLORS.get(job.state, theme.MUTED)
        self.state_label.setText(job.state + (f" ({job.reason})" if job.reason and not job.finished else ""))
        self.state_label.setToolTip(f"SLURM's state and reason code: {job.state}"
                                    + (f" ({job.reason})" if job.reason else ""))
        self._show_reason(job)
        self.state_label.setStyleSheet(f"color: white; background: {color}; border-radius: 3px; padding: 1px 6px;"
                                       " font-weight: 600;")
        self.timeline.set_steps(timeline_text(job))
        self.fetch_button.setEnabled(bool(job.job_dir or job.output_path or job.metrics_path))
        self.open_button.setEnabled(bool(self.fetched_model))
        own = job.kind == "tracked" or job.job_id in self.own_jobs.get(job.profile, set())
        self.cancel_button.setEnabled(not job.finished and own)
        self.cancel_button.setToolTip("Cancel the job (scancel); it asks first." if own else
                                      "Only your own jobs can be cancelled; the queue does not list this one as yours.")
        if job.message:
            self.set_message(job.message, error=job.state in ("FAILED", "TIMEOUT", "OUT_OF_MEMORY"))

    def _show_reason(self, job: StoredJob) -> None:
        """The pending reason in the Queue tab's words; a limit that can never be met says so."""
        if job.finished or not job.reason:
            self.reason_label.setVisible(False)
            return
        words = explain_reason(job.reason)
        change = reason_needs_change(job.reason)
        if change:
            self.reason_label.setText(f"<b>This job can never start as asked.</b> {words} Cancel it, {change}, "
                                      f"and submit it again.")
            self.reason_label.setStyleSheet(f"color: {theme.ERROR_COLOR};")
        else:
            self.reason_label.setText(f"Waiting: {words}")
            self.reason_label.setStyleSheet(f"color: {theme.FOREGROUND};")
        self.reason_label.setToolTip(f"SLURM's reason code: {job.reason}")
        self.reason_label.setVisible(True)

    def run_warnings(self) -> list[str]:
        """The distinct warnings the run's records carry, in the order they first came."""
        texts = (w.strip() for r in self.records for w in (r.get("warnings") or ()) if isinstance(w, str))
        return list(dict.fromkeys(t for t in texts if t))

    def _refresh_plots(self) -> None:
        label = self.job.job_id if self.job else ""
        present = families_present(self.records)
        shown = present or list(DEFAULT_FAMILIES)
        for family in shown:
            self._plot(family)
        for family, plot in self.plots.items():
            plot.setVisible(family in shown)
            if family in shown:
                plot.show_series(SERIES, label, TEST_COLOR, self.records, TRAIN_COLOR)
            else:
                plot.clear_series()
            plot.reset_view()
        self.legend_label.setVisible(any(FAMILIES[f].paired for f in shown))
        warnings = self.run_warnings()
        self.warnings_label.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.warnings_label.setVisible(bool(warnings))
        self.summary.setText(self._summary_text(present))

    def _summary_text(self, present: list[str]) -> str:
        """The last step's numbers; its time is the training's, not the job's wall time."""
        steps = [r for r in self.records if step_of(r) is not None]
        if not steps:
            return "no records yet" if self.job else ""
        last = steps[-1]
        unit = step_name(steps)
        count = last.get("iteration") if unit == "iteration" and is_number(last.get("iteration")) else len(steps)
        parts = [f"{count:,} {unit}s" if unit == "iteration" else f"{count} {unit}s"]
        for family in present:
            for column in FAMILIES[family].columns:
                value = last.get(column)
                if is_number(value):
                    kind = "accuracy" if "accuracy" in column else "loss"
                    text = (format_metric(value, kind) if family in ("loss", "accuracy")
                            else f"{value:,}" if isinstance(value, int) else f"{value:.4g}")
                    parts.append(f"{SUMMARY_NAMES.get(column, column.replace('_', ' '))} {text}")
        if is_number(last.get("elapsed_s")):
            parts.append(f"training {last['elapsed_s']:.1f} s")
        return " · ".join(parts)

    def curve_data(self, metric: str = "loss", which: str = "test"):
        """``(x, y)`` drawn for family ``metric`` (``loss``, ``dual_objective``, ...) and ``which``.

        ``which`` is ``train`` or ``test``; a family with one column draws it as ``test``.
        """
        plot = self.plots.get(metric)
        return plot.series_data(SERIES, which) if plot is not None else (np.zeros(0), np.zeros(0))

    def shown_families(self) -> list[str]:
        """The metric families with a chart on show, in order."""
        return [f for f, plot in self.plots.items() if not plot.isHidden()]

    # ------------------------------------------------------------------ actions

    def _on_fetch_clicked(self) -> None:
        if self.job is not None:
            self.fetch_requested.emit(self.job.profile, self.job.job_id)

    def _on_open_clicked(self) -> None:
        if self.fetched_model:
            self.open_model_requested.emit(self.fetched_model)

    def _on_cancel_clicked(self) -> None:
        from gui.cluster.dialogs import confirm

        job = self.job
        if job is None:
            return
        if confirm(self, "Cancel job", f"Cancel job {job.job_id} on {job.profile}? It stops at once; what it wrote "
                   "so far stays in its folder.", "Cancel the job"):
            self.cancel_requested.emit(job.profile, job.job_id)
