"""Compare runs: the curves of several runs in one chart, on an epoch or wall-time axis.

Runs are jobs from the store (local and remote, any rank count) and metrics files opened
from disk (``metrics.jsonl``, a Keras CSVLogger file, or Keras output). Each run gets one
colour; its test curve is solid, its train curve dashed, and the legend names it with its
rank count, so "4 ranks reach the same loss sooner" can be seen on the wall-time axis.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from PySide6 import QtCore, QtWidgets
from superqt.utils import signals_blocked

from gui import theme
import numpy as np

from gui.cluster.curves import AXES, DEFAULT_FAMILIES, FAMILIES, MetricPlot, families_present, step_of
from remote.logparse import parse_metrics_file, to_metrics_records

RUN_COLORS = theme.CLASS_COLORS[1:] + theme.CLASS_COLORS[:1]
#: Markers of runs whose curves lie exactly on an earlier run's, so each stays visible.
SAME_CURVE_SYMBOLS = ("o", "t", "s", "d", "star", "x")
#: Longest run name in the legend; the list shows it elided in the middle, the tooltip whole.
LEGEND_CHARS = 38
FLOAT32_NOTE = (
    "Why runs of one spec with different rank counts drift apart: each rank sums its share of "
    "the gradient and the ranks' sums are added, so the additions happen in another order. In "
    "float32 (about 7 significant digits) that changes the last digit now and then; the curves agree "
    "to ~1e-8 at first and the differences grow over many epochs. Run both in float64 (\"dtype\": \"float64\" in the "
    "spec's train section) and they agree far longer: <a href='float64'>compose the next job in float64</a>.")
LOSS_TITLE = "Loss (solid: test, dashed: train)"
LOSS_TITLE_EMPTY = "Loss: tick runs on the left to overlay them"
LOSS_TITLE_NO_RUNS = "Loss: runs with records appear on the left; or add a metrics file"


@dataclass
class Run:
    """One run to compare: a key, a legend label and its records (our naming)."""

    key: str
    label: str
    records: list[dict] = field(default_factory=list)
    source: str = ""


def run_label(job_id: str, name: str, profile: str, ranks: int | None) -> str:
    ranks_text = f"{ranks} rank{'s' if ranks != 1 else ''}" if ranks else "? ranks"
    return f"{job_id} · {ranks_text} · {profile}" + (f" · {name}" if name else "")


def run_from_file(path: str) -> Run:
    """A run read from a metrics file on this computer (any format logparse knows).

    Raises
    ------
    OSError, ValueError
        The file cannot be read, or holds no epoch records.
    """
    with open(path, "rb") as fh:
        text = fh.read().decode("utf-8", errors="replace")
    records = parse_metrics_file(os.path.basename(path), text)
    if not any(step_of(r) is not None for r in records):
        raise ValueError(f"{path} holds no epoch records (expected metrics.jsonl, a Keras CSV log or Keras output)")
    ranks = next((r.get("ranks") for r in reversed(records) if r.get("ranks")), None)
    label = os.path.basename(path) + (f" · {ranks} ranks" if ranks else "")
    return Run(key=f"file:{os.path.abspath(path)}", label=label, records=records, source=path)


class CompareView(QtWidgets.QWidget):
    """A list of runs with check boxes and overlaid charts (loss and accuracy, or a model's own).

    Signals
    -------
    float64_requested()
        The user asked to compose the next job in float64 (from the drift note).
    """

    float64_requested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.runs: dict[str, Run] = {}
        self.list = QtWidgets.QListWidget()
        self.list.setToolTip("Tick the runs to overlay. Runs of the same spec with different rank counts show what "
                             "parallel training buys.")
        self.list.itemChanged.connect(self._on_item_changed)
        # Long names lose their end (the job name), not the job id or the rank count; the
        # tooltip has all.
        self.list.setTextElideMode(QtCore.Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.add_file_button = QtWidgets.QPushButton("Add metrics file…")
        self.add_file_button.setToolTip("A metrics.jsonl, a Keras CSVLogger file or a Keras output log from disk.")
        self.add_file_button.clicked.connect(self._on_add_file)
        self.axis_combo = QtWidgets.QComboBox()
        for key, title in AXES.items():
            self.axis_combo.addItem(title, key)
        self.axis_combo.setToolTip("Epochs compare how much each run learned per pass over the data; wall time "
                                   "shows which run got there first.")
        self.axis_combo.currentIndexChanged.connect(self._on_axis_changed)
        self.error_label = QtWidgets.QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {theme.ERROR_COLOR};")
        self.error_label.setVisible(False)
        self.plots: dict[str, MetricPlot] = {}
        self.plots_box = QtWidgets.QVBoxLayout()
        self.loss_plot = self._plot("loss")
        self.acc_plot = self._plot("accuracy")
        self.loss_plot.getPlotItem().setTitle(LOSS_TITLE_NO_RUNS, color=theme.FOREGROUND, size="10pt")
        #: What the charts cannot say: which runs lie on top of each other, why ranks drift.
        self.note_label = QtWidgets.QLabel()
        self.note_label.setWordWrap(True)
        self.note_label.setProperty("role", "hint")
        self.note_label.setVisible(False)
        self.note_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.note_label.linkActivated.connect(lambda _link: self.float64_requested.emit())

        left = QtWidgets.QVBoxLayout()
        heading = QtWidgets.QLabel("Runs")
        heading.setProperty("role", "heading")
        left.addWidget(heading)
        left.addWidget(self.list, 1)
        left.addWidget(self.add_file_button)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("x axis"))
        row.addWidget(self.axis_combo, 1)
        left.addLayout(row)
        left.addWidget(self.error_label)
        left_widget = QtWidgets.QWidget()
        left_widget.setLayout(left)
        left_widget.setMaximumWidth(360)
        plots = QtWidgets.QVBoxLayout()
        plots.addLayout(self.plots_box, 1)
        plots.addWidget(self.note_label)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(left_widget)
        lay.addLayout(plots, 1)

    def _plot(self, family: str) -> MetricPlot:
        """The chart of metric family ``family`` (the first one carries the legend)."""
        if family not in self.plots:
            plot = MetricPlot(family, FAMILIES[family].title, legend=not self.plots)
            plot.set_x_axis(self.axis_combo.currentData() or "epoch")
            if getattr(self, "presentation", False):
                plot.set_presentation(True)
            self.plots[family] = plot
            self.plots_box.addWidget(plot, 3 if not self.plots_box.count() else 2)
        return self.plots[family]

    def set_presentation(self, on: bool) -> None:
        self.presentation = on
        for plot in self.plots.values():
            plot.set_presentation(on)

    # ------------------------------------------------------------------ runs

    def set_run(self, run: Run, checked: bool | None = None) -> None:
        """Add or update a run (its records replace the old ones)."""
        run.records = to_metrics_records(run.records)
        new = run.key not in self.runs
        self.runs[run.key] = run
        item = self._item(run.key)
        with signals_blocked(self.list):
            if item is None:
                item = QtWidgets.QListWidgetItem(run.label)
                item.setData(QtCore.Qt.ItemDataRole.UserRole, run.key)
                item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(QtCore.Qt.CheckState.Unchecked)
                self.list.addItem(item)
            steps = sum(step_of(r) is not None for r in run.records)
            unit = "epochs" if any(r.get("epoch") is not None for r in run.records) or not steps else "records"
            item.setText(run.label)
            item.setToolTip(f"{run.label}: {steps} {unit}" + (f"\n{run.source}" if run.source else ""))
            if checked is not None:
                item.setCheckState(QtCore.Qt.CheckState.Checked if checked else QtCore.Qt.CheckState.Unchecked)
        if new or self.is_checked(run.key) or checked is not None:
            self.redraw()

    def remove_run(self, key: str) -> None:
        item = self._item(key)
        if item is not None:
            self.list.takeItem(self.list.row(item))
        self.runs.pop(key, None)
        self.redraw()

    def is_checked(self, key: str) -> bool:
        item = self._item(key)
        return item is not None and item.checkState() == QtCore.Qt.CheckState.Checked

    def set_checked(self, key: str, checked: bool) -> None:
        item = self._item(key)
        if item is not None:
            item.setCheckState(QtCore.Qt.CheckState.Checked if checked else QtCore.Qt.CheckState.Unchecked)

    def checked_keys(self) -> list[str]:
        return [self.list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == QtCore.Qt.CheckState.Checked]

    def _item(self, key: str) -> QtWidgets.QListWidgetItem | None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(QtCore.Qt.ItemDataRole.UserRole) == key:
                return item
        return None

    # ------------------------------------------------------------------ drawing

    def redraw(self) -> None:
        checked = [k for k in self.checked_keys() if k in self.runs]
        present: list[str] = []
        for key in checked:
            present += [f for f in families_present(self.runs[key].records) if f not in present]
        shown = [f for f in FAMILIES if f in present] or list(DEFAULT_FAMILIES)
        for family in shown:
            self._plot(family)
        for family, plot in self.plots.items():
            plot.setVisible(family in shown)
            for key in list(plot.curves):
                if key not in checked or family not in shown:
                    plot.remove_series(key)
        same_as = self._identical_runs(checked, shown[0])
        for i, key in enumerate(checked):
            run = self.runs[key]
            color = RUN_COLORS[i % len(RUN_COLORS)]
            twin = key in same_as
            symbol = SAME_CURVE_SYMBOLS[i % len(SAME_CURVE_SYMBOLS)] if twin else None
            style = QtCore.Qt.PenStyle.DashDotLine if twin else QtCore.Qt.PenStyle.SolidLine
            label = run.label if len(run.label) <= LEGEND_CHARS else run.label[:LEGEND_CHARS - 1] + "…"
            for family in shown:
                plot = self.plots[family]
                # Colours follow the order in the list and markers mark identical runs: re-create
                # curves whose look changed.
                if key in plot.curves:
                    test = plot.curves[key][1]
                    if (test.opts["pen"].color().name().lower() != color.lower()
                            or test.opts.get("symbol") != symbol):
                        plot.remove_series(key)
                plot.show_series(key, label, color, run.records, symbol=symbol, style=style)
        for plot in self.plots.values():
            plot.getPlotItem().enableAutoRange()
        first = self.plots[shown[0]]
        title = FAMILIES[shown[0]].title
        if shown[0] == "loss":
            title = LOSS_TITLE if checked else LOSS_TITLE_EMPTY if self.runs else LOSS_TITLE_NO_RUNS
        elif not checked:
            title = f"{title}: tick runs on the left to overlay them"
        first.getPlotItem().setTitle(title, color=theme.FOREGROUND, size="10pt")
        self._update_note(checked, same_as)

    def _identical_runs(self, checked: list[str], family: str) -> dict[str, str]:
        """Runs whose curves equal an earlier ticked run's: ``{key: key of the earlier run}``."""
        columns = FAMILIES[family].columns
        out: dict[str, str] = {}
        seen: list[tuple[str, np.ndarray]] = []
        for key in checked:
            rows = [r for r in self.runs[key].records if step_of(r) is not None]
            values = np.array([[float(r.get(c)) if isinstance(r.get(c), (int, float)) else np.nan for c in columns]
                               for r in rows])
            for other, other_values in seen:
                if (values.shape == other_values.shape and values.size
                        and np.array_equal(np.isnan(values), np.isnan(other_values))
                        and np.allclose(values, other_values, rtol=1e-6, atol=0, equal_nan=True)):
                    out[key] = other
                    out.setdefault(other, other)
                    break
            seen.append((key, values))
        return out

    def _update_note(self, checked: list[str], same_as: dict[str, str]) -> None:
        parts = []
        for key, other in same_as.items():
            if key != other:
                parts.append(f"<b>{self.runs[key].label}</b> lies exactly on <b>{self.runs[other].label}</b> "
                             "(markers and dash-dots tell them apart).")
        ranks = {next((r.get("ranks") for r in self.runs[k].records if r.get("ranks")), None) for k in checked}
        ranks.discard(None)
        if len(ranks) > 1:
            parts.append(FLOAT32_NOTE)
        self.note_label.setText("<br>".join(parts))
        self.note_label.setVisible(bool(parts))

    def curve_data(self, key: str, metric: str = "loss", which: str = "test"):
        plot = self.plots.get(metric)
        return plot.series_data(key, which) if plot is not None else (np.zeros(0), np.zeros(0))

    def set_axis(self, axis: str) -> None:
        index = self.axis_combo.findData(axis)
        if index >= 0:
            self.axis_combo.setCurrentIndex(index)

    def _on_axis_changed(self, _index: int) -> None:
        axis = self.axis_combo.currentData()
        for plot in self.plots.values():
            plot.set_x_axis(axis)
            plot.clear_series()
        self.redraw()

    def _on_item_changed(self, _item) -> None:
        self.redraw()

    def _on_add_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open a metrics file", "", "Metrics (*.jsonl *.csv *.log *.out *.txt);;All files (*)")
        if path:
            self.add_file(path)

    def add_file(self, path: str) -> Run | None:
        """Add the run in ``path`` (ticked); a bad file is reported, not raised."""
        try:
            run = run_from_file(path)
        except (OSError, ValueError) as exc:
            message = f"{path}: {exc.strerror}" if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.error_label.setText(message)
            self.error_label.setVisible(True)
            return None
        self.error_label.setVisible(False)
        self.set_run(run, checked=True)
        return run
