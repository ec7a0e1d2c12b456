"""One job up close: its state timeline, live curves, output tail and results.

The view only shows; :class:`~gui.cluster.view.ClusterView` feeds it (store rows,
records, output text) and acts on its signals (fetch, open, cancel).
"""

from __future__ import annotations

import time

from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from engine.metrics import format_metric
from gui.cluster.curves import MetricPlot
from remote.logparse import to_metrics_records
from remote.slurm import FINISHED_STATES
from remote.store import StoredJob

SERIES = "job"
# The Playground's colours: grey for train, vermillion for test.
TEST_COLOR = theme.CLASS_COLORS[5]
TRAIN_COLOR = "#5F6368"
MAX_OUTPUT_BLOCKS = 4000


def _clock(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t else "—"


def _duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {(seconds % 3600) // 60:02d} min"


def timeline_text(job: StoredJob, now_s: float | None = None) -> list[tuple[str, str, bool]]:
    """The timeline's steps: ``(title, detail, reached)`` for submitted, started, ended."""
    now_s = time.time() if now_s is None else now_s
    # A job submitted elsewhere: we know when we began to follow it, not when it was submitted.
    ours = job.kind == "tracked"
    steps = [("Submitted" if ours else "Followed", _clock(job.submitted_at), job.submitted_at is not None)]
    if job.started_at:
        waited = job.started_at - job.submitted_at if job.submitted_at else None
        if ours:
            steps.append(("Started", f"{_clock(job.started_at)} · waited {_duration(waited)}", True))
        else:  # how long it queued is unknown here
            early = waited is not None and waited < 0
            steps.append(("Started", _clock(job.started_at) + (" · before it was followed" if early else ""), True))
    elif job.state == "PENDING":
        waiting = now_s - job.submitted_at if job.submitted_at else None
        steps.append(("Started", f"waiting for {_duration(waiting)}", False))
    else:
        steps.append(("Started", "—", job.state not in ("PENDING", "UNKNOWN")))
    if job.ended_at or job.state in FINISHED_STATES:
        ran = job.ended_at - job.started_at if job.ended_at and job.started_at else None
        code = f" · exit {job.exit_code}" if job.exit_code is not None else ""
        steps.append((job.state.capitalize(), f"{_clock(job.ended_at)} · ran {_duration(ran)}{code}", True))
    elif job.started_at:
        steps.append(("Running", f"for {_duration(now_s - job.started_at)}", False))
    else:
        steps.append(("Ended", "—", False))
    return steps


class Timeline(QtWidgets.QWidget):
    """Submitted → started → ended, each a dot (filled when reached) with times."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.labels: list[QtWidgets.QLabel] = []
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for i in range(3):
            if i:
                line = QtWidgets.QFrame()
                line.setFrameShape(QtWidgets.QFrame.Shape.HLine)
                line.setStyleSheet(f"color: {theme.MUTED};")
                line.setMinimumWidth(24)
                lay.addWidget(line, 1)
            label = QtWidgets.QLabel()
            label.setTextFormat(QtCore.Qt.TextFormat.RichText)
            self.labels.append(label)
            lay.addWidget(label)

    def set_steps(self, steps: list[tuple[str, str, bool]]) -> None:
        for label, (title, detail, reached) in zip(self.labels, steps):
            dot = "●" if reached else "○"
            color = theme.POSITIVE_COLOR if reached else theme.MUTED
            if title in ("Failed", "Timeout", "Cancelled", "Out_of_memory", "Node_fail"):
                color = theme.ERROR_COLOR
            label.setText(f"<span style='color:{color}; font-size:14pt'>{dot}</span> <b>{title}</b><br>"
                          f"<span style='color:{theme.MUTED}'>{detail}</span>")

    def text(self) -> str:
        return " | ".join(QtGui.QTextDocumentFragment.fromHtml(l.text()).toPlainText() for l in self.labels)


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
        self.fetched_model: str | None = None

        self.title = QtWidgets.QLabel("No job selected")
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
        self.loss_plot = MetricPlot("loss", "Loss")
        self.acc_plot = MetricPlot("accuracy", "Accuracy")
        legend = QtWidgets.QLabel(f"<span style='color:{TEST_COLOR}'>━━</span> test &nbsp; "
                                  f"<span style='color:{TRAIN_COLOR}'>╌╌</span> train")
        legend.setProperty("role", "hint")
        self.summary = QtWidgets.QLabel()
        self.summary.setProperty("role", "hint")
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
        plots = QtWidgets.QHBoxLayout()
        plots.addWidget(self.loss_plot, 1)
        plots.addWidget(self.acc_plot, 1)
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
        lay.addWidget(self.message)
        lay.addWidget(split, 1)

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
        self.state_label.setStyleSheet(f"color: white; background: {color}; border-radius: 3px; padding: 1px 6px;"
                                       " font-weight: 600;")
        self.timeline.set_steps(timeline_text(job))
        self.fetch_button.setEnabled(bool(job.job_dir or job.output_path or job.metrics_path))
        self.open_button.setEnabled(bool(self.fetched_model))
        self.cancel_button.setEnabled(not job.finished and job.kind == "tracked")
        if job.message:
            self.set_message(job.message, error=job.state in ("FAILED", "TIMEOUT", "OUT_OF_MEMORY"))

    def _refresh_plots(self) -> None:
        label = self.job.job_id if self.job else ""
        self.loss_plot.show_series(SERIES, label, TEST_COLOR, self.records, TRAIN_COLOR)
        has_acc = any(r.get("train_accuracy") is not None or r.get("test_accuracy") is not None
                      for r in self.records)
        self.acc_plot.setVisible(has_acc or not self.records)
        self.acc_plot.show_series(SERIES, label, TEST_COLOR, self.records, TRAIN_COLOR)
        for plot in (self.loss_plot, self.acc_plot):
            plot.getPlotItem().enableAutoRange()
        epochs = [r for r in self.records if r.get("epoch") is not None]
        if epochs:
            last = epochs[-1]
            parts = [f"{len(epochs)} epochs", f"train loss {format_metric(last.get('train_loss'), 'loss')}"]
            if last.get("test_loss") is not None:
                parts.append(f"test loss {format_metric(last.get('test_loss'), 'loss')}")
            if last.get("test_accuracy") is not None:
                parts.append(f"test accuracy {format_metric(last.get('test_accuracy'), 'accuracy')}")
            if last.get("elapsed_s") is not None:
                parts.append(f"{last['elapsed_s']:.1f} s")
            self.summary.setText(" · ".join(parts))
        else:
            self.summary.setText("no records yet" if self.job else "")

    def curve_data(self, metric: str = "loss", which: str = "test"):
        """``(x, y)`` drawn for ``metric`` (``loss``/``accuracy``) and ``which`` (``train``/``test``)."""
        plot = self.loss_plot if metric == "loss" else self.acc_plot
        return plot.series_data(SERIES, which)

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
