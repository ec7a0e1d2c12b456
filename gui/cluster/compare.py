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
from gui.cluster.curves import AXES, MetricPlot
from remote.logparse import parse_metrics_file, to_metrics_records

RUN_COLORS = theme.CLASS_COLORS[1:] + theme.CLASS_COLORS[:1]
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
    if not any(r.get("epoch") is not None for r in records):
        raise ValueError(f"{path} holds no epoch records (expected metrics.jsonl, a Keras CSV log or Keras output)")
    ranks = next((r.get("ranks") for r in reversed(records) if r.get("ranks")), None)
    label = os.path.basename(path) + (f" · {ranks} ranks" if ranks else "")
    return Run(key=f"file:{os.path.abspath(path)}", label=label, records=records, source=path)


class CompareView(QtWidgets.QWidget):
    """A list of runs with check boxes and two overlaid charts (loss, accuracy)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.runs: dict[str, Run] = {}
        self.list = QtWidgets.QListWidget()
        self.list.setToolTip("Tick the runs to overlay. Runs of the same spec with different rank counts show what "
                             "parallel training buys.")
        self.list.itemChanged.connect(self._on_item_changed)
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
        self.loss_plot = MetricPlot("loss", LOSS_TITLE_NO_RUNS, legend=True)
        self.acc_plot = MetricPlot("accuracy", "Accuracy", legend=False)

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
        plots.addWidget(self.loss_plot, 3)
        plots.addWidget(self.acc_plot, 2)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(left_widget)
        lay.addLayout(plots, 1)

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
            item.setText(f"{run.label}  ({sum(r.get('epoch') is not None for r in run.records)} epochs)")
            item.setToolTip(f"{run.label}\n{run.source}" if run.source else run.label)
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
        checked = self.checked_keys()
        for plot in (self.loss_plot, self.acc_plot):
            for key in list(plot.curves):
                if key not in checked:
                    plot.remove_series(key)
        for i, key in enumerate(checked):
            run = self.runs.get(key)
            if run is None:
                continue
            color = RUN_COLORS[i % len(RUN_COLORS)]
            for plot in (self.loss_plot, self.acc_plot):
                # Colours follow the order in the list, so re-create curves whose colour moved.
                if key in plot.curves and plot.curves[key][1].opts["pen"].color().name().lower() != color.lower():
                    plot.remove_series(key)
                plot.show_series(key, run.label, color, run.records)
        for plot in (self.loss_plot, self.acc_plot):
            plot.getPlotItem().enableAutoRange()
        # An empty chart says how to fill it.
        self.loss_plot.getPlotItem().setTitle(
            LOSS_TITLE if checked else LOSS_TITLE_EMPTY if self.runs else LOSS_TITLE_NO_RUNS,
            color=theme.FOREGROUND, size="10pt")

    def curve_data(self, key: str, metric: str = "loss", which: str = "test"):
        plot = self.loss_plot if metric == "loss" else self.acc_plot
        return plot.series_data(key, which)

    def set_axis(self, axis: str) -> None:
        index = self.axis_combo.findData(axis)
        if index >= 0:
            self.axis_combo.setCurrentIndex(index)

    def _on_axis_changed(self, _index: int) -> None:
        axis = self.axis_combo.currentData()
        for plot in (self.loss_plot, self.acc_plot):
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
