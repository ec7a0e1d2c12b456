"""The Evaluation tab: K-fold scores as bars, the learning curve and a validation curve.

It evaluates what the Playground shows (its data, features, model and settings, from fresh
weights) with :mod:`engine.evaluation`, the engine behind ``python -m engine cv`` and
``curve``, in a worker thread (:func:`gui.workers.start_generator`). A progress bar counts the
trainings; Cancel stops the running one at its next epoch and keeps, and draws, every
training that finished. Spread is drawn as a band of mean ± standard deviation over the folds.
"""

from __future__ import annotations

import math
import threading
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from engine.metrics import format_metric
from engine.spec import RunSpec, SpecError
from gui import theme
from gui.workers import start_generator

TRAIN_COLOR = "#5F6368"
VALID_COLOR = theme.CLASS_COLORS[1]

#: the numeric fields offered for a validation curve, per model family (others can be typed)
PARAMS = {
    "network": ("train.learning_rate", "train.epochs", "train.batch_size", "model.hidden.0", "train.l2"),
    "kernel": ("model.C", "model.gamma", "model.degree", "model.tol"),
}


def suggested_values(current: float, whole: bool) -> str:
    """Values around a field's current one: a factor of ten below and above (halving and doubling
    for whole numbers)."""
    if whole:
        v = max(1, int(current))
        vals = sorted({max(1, v // 4), max(1, v // 2), v, 2 * v, 4 * v})
        return ",".join(str(x) for x in vals)
    if not current or not math.isfinite(current):
        return "0.001,0.01,0.1,1"
    return ",".join(f"{current * f:.3g}" for f in (0.01, 0.1, 1, 10, 100))


def _field_value(spec: RunSpec, path: str):
    obj = spec
    for part in path.split("."):
        if isinstance(obj, (tuple, list)):
            obj = obj[int(part)] if part.isdigit() and int(part) < len(obj) else None
        else:
            obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj if isinstance(obj, (int, float)) and not isinstance(obj, bool) else None


def _study_events(make_study: Callable, stop: threading.Event):
    """The worker: build the study (loading the data off the GUI thread), run it, report."""
    study = make_study()
    yield {"event": "planned", "total": len(study.units()), "snapshot": study.to_json()}
    for event in study.run(stop):
        if event["event"] == "finished":
            event = {**event, "snapshot": study.to_json()}
        yield event
    yield {"event": "done", "status": study.status, "snapshot": study.to_json()}


class ScorePlot(pg.PlotWidget):
    """A small plot in the Playground's style: no menu, no mouse zoom, muted axes."""

    def __init__(self, title: str, x_label: str):
        super().__init__(background=theme.BACKGROUND)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setMouseEnabled(False, False)
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=theme.GRID_ALPHA)
        for name in ("left", "bottom"):
            item.getAxis(name).setTextPen(pg.mkPen(theme.MUTED))
            item.getAxis(name).enableAutoSIPrefix(False)  # 0.9, never "900 (x0.001)"
        item.setTitle(title, color=theme.FOREGROUND, size="10pt")
        item.setLabel("bottom", x_label, color=theme.MUTED)
        self.setMinimumHeight(150)


class BandCurves:
    """Training and validation means with their ± std bands, on one :class:`ScorePlot`."""

    def __init__(self, plot: ScorePlot):
        self.plot = plot
        item = plot.getPlotItem()
        self.lines = {}
        self.bands = {}
        for key, color, name in (("train", TRAIN_COLOR, "training"), ("validation", VALID_COLOR, "validation")):
            line = item.plot([], [], pen=pg.mkPen(color, width=2), symbol="o", symbolSize=6, symbolBrush=color,
                             symbolPen=color)
            lo = pg.PlotDataItem([], [], pen=pg.mkPen(None))
            hi = pg.PlotDataItem([], [], pen=pg.mkPen(None))
            fill_color = pg.mkColor(color)
            fill_color.setAlpha(50)
            band = pg.FillBetweenItem(lo, hi, brush=pg.mkBrush(fill_color))
            item.addItem(band)
            self.lines[key] = line
            self.bands[key] = (lo, hi, band)
        self.x_values: list[float] = []
        self.log_x = False

    def show(self, points: list[dict], log_x: bool) -> None:
        """Draw the points that have at least one finished fold."""
        done = [p for p in points if p["finished_folds"] and p["validation_mean"] is not None]
        self.x_values = [p["x"] for p in done]
        if log_x != self.log_x:
            self.log_x = log_x
            self.plot.getPlotItem().getAxis("bottom").setLogMode(log_x)
        x = np.log10(self.x_values) if log_x and done else np.asarray(self.x_values, float)
        for key in ("train", "validation"):
            mean = np.array([p[f"{key}_mean"] if p[f"{key}_mean"] is not None else np.nan for p in done], float)
            std = np.array([p[f"{key}_std"] if p[f"{key}_std"] is not None else 0.0 for p in done], float)
            self.lines[key].setData(x, mean)
            lo, hi, _ = self.bands[key]
            lo.setData(x, mean - std)
            hi.setData(x, mean + std)
        self.plot.getPlotItem().enableAutoRange()

    def clear(self) -> None:
        self.show([], self.log_x)


class EvaluationPanel(QtWidgets.QWidget):
    """Cross-validation, learning curve and validation curve of the Playground's current spec.

    Parameters
    ----------
    spec_source : callable
        Returns the run spec to evaluate (raises SpecError when the settings are invalid).
    """

    def __init__(self, spec_source: Callable[[], RunSpec], parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.spec_source = spec_source
        self.worker = None
        self._stop = threading.Event()
        self._what = ""
        #: the latest snapshot of every study (``engine.evaluation`` JSON), by kind
        self.results: dict[str, dict] = {}

        self.folds = QtWidgets.QSpinBox()
        self.folds.setRange(2, 20)
        self.folds.setValue(5)
        self.folds.setToolTip("K: the rows are dealt into K folds; each training leaves one fold out and is "
                              "scored on it, so every row is tested exactly once.")
        self.stratified = QtWidgets.QCheckBox("stratified")
        self.stratified.setChecked(True)
        self.stratified.setToolTip("Deal every class over the folds on its own, so each fold holds its share of "
                                   "every class (classification only).")
        self.cv_button = QtWidgets.QPushButton("Cross-validate")
        self.cv_button.setToolTip("Train K times, each time on all folds but one, and score the fold left out.")
        self.learning_button = QtWidgets.QPushButton("Learning curve")
        self.learning_button.setToolTip("Score against the share of each training part used (10%, 25%, 50%, all), "
                                        "each point cross-validated: does more data still help?")
        self.param = QtWidgets.QComboBox()
        self.param.setEditable(True)
        self.param.setMinimumContentsLength(8)
        self.param.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.param.setToolTip("Any numeric field of the run spec, as a dotted path (model.hidden.0 is the width of "
                              "the first hidden layer).")
        self.values = QtWidgets.QLineEdit()
        self.values.setToolTip("The field's values, separated by commas.")
        self.validation_button = QtWidgets.QPushButton("Validation curve")
        self.validation_button.setToolTip("Score against the values of one setting, each cross-validated: "
                                          "where does the model start to overfit?")
        self.progress = QtWidgets.QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v / %m trainings")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.setToolTip("Stop after the running training's current epoch; finished folds are kept.")
        self.status = QtWidgets.QLabel("")
        self.status.setProperty("role", "hint")
        self.status.setWordWrap(True)
        self.error = QtWidgets.QLabel("")
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        self.error.setVisible(False)

        self.fold_plot = ScorePlot("Score per fold (test fold)", "fold")
        self.fold_bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=pg.mkBrush(VALID_COLOR),
                                         pen=pg.mkPen(VALID_COLOR))
        self.fold_plot.addItem(self.fold_bars)
        self.train_marks = self.fold_plot.getPlotItem().plot(
            [], [], pen=None, symbol="t1", symbolSize=9, symbolBrush=TRAIN_COLOR, symbolPen=TRAIN_COLOR)
        self.mean_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(theme.FOREGROUND, width=1.5))
        self.spread = pg.LinearRegionItem(orientation="horizontal", movable=False,
                                          brush=pg.mkBrush(0, 0, 0, 25), pen=pg.mkPen(None))
        for item in (self.spread, self.mean_line):
            item.setVisible(False)
            self.fold_plot.addItem(item)
        self.learning_plot = ScorePlot("Learning curve", "share of each training part")
        self.learning = BandCurves(self.learning_plot)
        self.validation_plot = ScorePlot("Validation curve", "value")
        self.validation = BandCurves(self.validation_plot)
        self.fold_summary = QtWidgets.QLabel("")
        self.fold_summary.setProperty("role", "metric")
        self.fold_summary.setWordWrap(True)
        # one legend for all three plots, where it hides no data
        self.legend = QtWidgets.QLabel(
            f'<span style="color:{VALID_COLOR}">■ test fold / validation</span> &nbsp; '
            f'<span style="color:{TRAIN_COLOR}">▲● training</span> &nbsp; lines: mean, bands: ± std over the folds')
        self.legend.setProperty("role", "hint")
        self.legend.setWordWrap(True)

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        heading = QtWidgets.QLabel("EVALUATION")
        heading.setProperty("role", "heading")
        lay.addWidget(heading)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Folds"))
        row.addWidget(self.folds)
        row.addWidget(self.stratified)
        row.addStretch(1)
        lay.addLayout(row)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.cv_button)
        row.addWidget(self.learning_button)
        row.addStretch(1)
        lay.addLayout(row)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.param, 1)
        row.addWidget(self.values, 1)
        lay.addLayout(row)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.validation_button)
        row.addStretch(1)
        lay.addLayout(row)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        lay.addLayout(row)
        lay.addWidget(self.error)
        lay.addWidget(self.status)
        lay.addWidget(self.legend)
        lay.addWidget(self.fold_plot, 1)
        lay.addWidget(self.fold_summary)
        lay.addWidget(self.learning_plot, 1)
        lay.addWidget(self.validation_plot, 1)

        self.cv_button.clicked.connect(lambda: self.start("cv"))
        self.learning_button.clicked.connect(lambda: self.start("learning"))
        self.validation_button.clicked.connect(lambda: self.start("validation"))
        self.cancel_button.clicked.connect(self.cancel)
        self.param.currentTextChanged.connect(self._suggest_values)
        self._param_family = None

    # Qt overrides: in its scroll area the panel fills the view, and scrolls only when the view is
    # smaller than the controls and three small plots (a scroll area sizes a widget whose wrapped
    # labels have a height for width to its preferred height, which would push the plots out of view).
    def sizeHint(self) -> QtCore.QSize:
        return self.minimumSizeHint()

    def heightForWidth(self, width: int) -> int:
        return self.minimumSizeHint().height()

    # ------------------------------------------------------------------ settings
    def showEvent(self, ev) -> None:  # Qt override: offer the fields of the model shown now
        super().showEvent(ev)
        self.refresh_params()

    def refresh_params(self) -> None:
        """Offer the numeric fields of the current model kind (keeps what the user typed)."""
        try:
            spec = self.spec_source()
        except SpecError:
            return
        family = "network" if spec.model.is_network else "kernel"
        if family == self._param_family:
            return
        self._param_family = family
        names = [p for p in PARAMS[family] if _field_value(spec, p) is not None]
        self.param.blockSignals(True)
        self.param.clear()
        self.param.addItems(names)
        self.param.blockSignals(False)
        self._suggest_values(self.param.currentText())

    def _suggest_values(self, path: str) -> None:
        try:
            spec = self.spec_source()
        except SpecError:
            return
        value = _field_value(spec, path)
        if value is not None:
            self.values.setText(suggested_values(value, isinstance(value, int)))

    # ------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        return self.worker is not None

    def _spec(self) -> RunSpec:
        return self.spec_source().with_(weights=None)

    def _study_factory(self, what: str, spec: RunSpec) -> Callable:
        from engine.evaluation import (CrossValidation, LearningCurve, ValidationCurve, parse_number_list)

        k, strat = self.folds.value(), self.stratified.isChecked()
        if what == "cv":
            return lambda: CrossValidation(spec, k, strat)
        if what == "learning":
            return lambda: LearningCurve(spec, k, strat)
        param = self.param.currentText().strip()
        values = tuple(parse_number_list(self.values.text(), "values"))
        return lambda: ValidationCurve(spec, k, strat, param=param, values=values)

    def start(self, what: str) -> None:
        """Run a study (``"cv"``, ``"learning"`` or ``"validation"``) in the background."""
        if self.running:
            return
        self.error.setVisible(False)
        try:
            factory = self._study_factory(what, self._spec())
        except SpecError as exc:
            self._show_error(str(exc))
            return
        self._what = what
        self._stop = threading.Event()
        self._set_running(True)
        self.status.setText("loading the data…")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.worker = start_generator(_study_events, factory, self._stop, on_yielded=self._on_event,
                                      on_errored=self._on_error, on_finished=self._on_finished)

    def cancel(self) -> None:
        """Stop at the running training's next epoch; the finished ones stay."""
        if self.running:
            self._stop.set()
            self.cancel_button.setEnabled(False)
            self.status.setText("cancelling: the running training stops after its current epoch…")

    def _set_running(self, on: bool) -> None:
        for w in (self.cv_button, self.learning_button, self.validation_button, self.folds, self.stratified,
                  self.param, self.values):
            w.setEnabled(not on)
        self.cancel_button.setEnabled(on)

    def _on_event(self, event: dict) -> None:
        snap = event.get("snapshot")
        if snap is not None:
            self.results[self._what] = snap
            self._draw(self._what, snap)
        if event["event"] == "planned":
            self.progress.setRange(0, event["total"])
            self.progress.setValue(len(_finished_units(snap)))
        elif event["event"] in ("started", "finished"):
            self.progress.setValue(event["done"])
            if event["event"] == "started" and not self._stop.is_set():
                self.status.setText(f"training {event['done'] + 1} of {event['total']}…")
        elif event["event"] == "done":
            self.status.setText(self._done_text(snap, event["status"]))

    def _on_error(self, exc: BaseException) -> None:
        self._show_error(str(exc))

    def _on_finished(self) -> None:
        self.worker = None
        self._set_running(False)
        if self.status.text().endswith("…"):
            self.status.setText("")

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setToolTip(text)
        self.error.setVisible(True)

    def shutdown(self) -> None:
        """Stop the worker (the window closes)."""
        self._stop.set()

    # ------------------------------------------------------------------ drawing
    def _done_text(self, snap: dict, status: str) -> str:
        finished = len(_finished_units(snap))
        total = snap["folds"] * (len(snap["points"]) if "points" in snap else 1)
        what = {"cv": "cross-validation", "curve": f"{snap.get('kind', '')} curve"}[snap["command"]]
        if status == "stopped":
            return f"Cancelled: kept the {finished} of {total} trainings that finished; the plots show those."
        return f"{what[0].upper() + what[1:]} done: {total} trainings."

    def _draw(self, what: str, snap: dict) -> None:
        name = snap["score"]
        if what == "cv":
            self._draw_folds(snap)
        elif what == "learning":
            self.learning.show(snap["points"], log_x=False)
            self.learning_plot.getPlotItem().setLabel("left", name, color=theme.MUTED)
        else:
            xs = [p["x"] for p in snap["points"]]
            log_x = bool(xs) and min(xs) > 0 and max(xs) / min(xs) >= 100
            self.validation.show(snap["points"], log_x=log_x)
            item = self.validation_plot.getPlotItem()
            item.setLabel("left", name, color=theme.MUTED)
            item.setLabel("bottom", snap["param"] + (" (log scale)" if log_x else ""), color=theme.MUTED)

    def _draw_folds(self, snap: dict) -> None:
        name = snap["score"]
        rows = [r for r in snap["per_fold"] if r.get(f"test_{name}") is not None]
        x = np.array([r["fold"] + 1 for r in rows], float)
        test = np.array([r[f"test_{name}"] for r in rows], float)
        train = np.array([r[f"train_{name}"] for r in rows], float)
        self.fold_bars.setOpts(x=x, height=test, width=0.6)
        self.train_marks.setData(x, train)
        mean, std = snap["mean"].get(f"test_{name}"), snap["std"].get(f"test_{name}")
        visible = mean is not None
        self.mean_line.setVisible(visible)
        self.spread.setVisible(visible)
        item = self.fold_plot.getPlotItem()
        item.setLabel("left", name, color=theme.MUTED)
        item.setXRange(0.4, snap["folds"] + 0.6, padding=0)
        item.getAxis("bottom").setTicks([[(f, str(f)) for f in range(1, snap["folds"] + 1)]])
        if visible:
            self.mean_line.setPos(mean)
            self.spread.setRegion((mean - std, mean + std))
            low = min(0.0, float(np.nanmin(test)))
            item.setYRange(low, max(1.0, float(np.nanmax(np.r_[test, train]))), padding=0.02)
            self.fold_summary.setText(
                f"test {name} {format_metric(mean, name)} ± {format_metric(std, name)}, "
                f"{snap['finished_folds']} of {snap['folds']} folds  ·  ▲ training "
                f"{format_metric(snap['mean'].get(f'train_{name}'), name)}")
        else:
            self.fold_summary.setText("")

    # ------------------------------------------------------------------ inspection
    def plotted_folds(self) -> tuple[np.ndarray, np.ndarray]:
        """The bars on screen: fold numbers (1-based) and their heights."""
        return np.asarray(self.fold_bars.opts["x"], float), np.asarray(self.fold_bars.opts["height"], float)


def _finished_units(snap: dict | None) -> list:
    if snap is None:
        return []
    if snap["command"] == "cv":
        return list(snap["per_fold"])
    return [r for p in snap["points"] for r in p["fold_results"] if r is not None]
