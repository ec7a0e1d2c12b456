"""The Vectorization view: time a dot product as a Python loop, one NumPy call and over MPI ranks.

Run measures in a worker (``engine.vectorize.lesson``): each size's loop and ``np.dot``
times arrive as they are measured and are drawn at once on a log-log plot of time against
n, with the speedup below; the MPI times follow when the ranks have finished. Where the
previous size predicts the loop would take longer than the limit, the loop is not run: the
plot shows the prediction as a hollow marker on a dashed line and the table says
"skipped: would take ~N s".
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from engine.vectorize import DEFAULT_SIZES, LOOP_LIMIT_S, format_ratio, format_seconds, lesson, mpi_unavailable
from gui import theme
from gui.vectorize.text import EXPLANATION
from gui.widgets.plot_text import present_plot
from gui.workers import start_generator

#: the largest n the user can choose, the default last
MAX_N_CHOICES = (10_000, 100_000, 1_000_000, 10_000_000)
MPI_RANKS = 2
LOOP_COLOR, NUMPY_COLOR, MPI_COLOR = theme.CLASS_COLORS[0], theme.CLASS_COLORS[1], theme.CLASS_COLORS[2]
COLUMNS = ("n", "Python loop", "np.dot", f"MPI, {MPI_RANKS} ranks", "np.dot vs loop", "MPI vs np.dot")


class VectorizeView(QtWidgets.QWidget):
    """The lesson's view. ``rows`` maps n to its measured row (see ``engine.vectorize.measure``,
    plus ``mpi_s`` once the MPI ranks have reported)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.rows: dict[int, dict] = {}
        self.mpi_note = ""
        self.worker = None
        self._stop = threading.Event()
        self._mpi_process = None
        self._build()
        self._set_running(False)

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        controls = QtWidgets.QHBoxLayout()
        controls.addWidget(QtWidgets.QLabel("Largest n"))
        self.max_n_combo = QtWidgets.QComboBox()
        for n in MAX_N_CHOICES:
            self.max_n_combo.addItem(f"10^{round(math.log10(n))} ({n:,})", n)
        self.max_n_combo.setCurrentIndex(len(MAX_N_CHOICES) - 1)
        controls.addWidget(self.max_n_combo)
        controls.addSpacing(12)
        controls.addWidget(QtWidgets.QLabel("Skip the loop beyond"))
        self.limit_spin = QtWidgets.QDoubleSpinBox()
        self.limit_spin.setRange(0.001, 60.0)
        self.limit_spin.setDecimals(3)
        self.limit_spin.setSingleStep(0.5)
        self.limit_spin.setValue(LOOP_LIMIT_S)
        self.limit_spin.setSuffix(" s")
        self.limit_spin.setToolTip("The loop is not run for a size where the previous size's time, scaled by n, "
                                   "predicts longer than this.")
        controls.addWidget(self.limit_spin)
        controls.addSpacing(12)
        self.mpi_check = QtWidgets.QCheckBox(f"Also split over {MPI_RANKS} MPI ranks")
        why = mpi_unavailable()
        self.mpi_check.setChecked(why is None)
        self.mpi_check.setEnabled(why is None)
        self.mpi_check.setToolTip(why or f"mpirun -n {MPI_RANKS}: each rank takes the dot product of its half, "
                                         "one Allreduce adds them (measured after the loop and np.dot)")
        controls.addWidget(self.mpi_check)
        controls.addSpacing(12)
        self.run_button = QtWidgets.QPushButton("Run")
        self.run_button.setToolTip("Measure every size from 10^3 to the largest n")
        self.run_button.clicked.connect(self.start)
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        controls.addWidget(self.run_button)
        controls.addWidget(self.stop_button)
        self.status = QtWidgets.QLabel("Press Run to measure.")
        self.status.setProperty("role", "hint")
        # on a line of its own, wrapped: a long message never widens the window
        self.status.setWordWrap(True)
        controls.addStretch(1)

        self.time_plot = pg.PlotWidget(background=theme.BACKGROUND)
        self.time_plot.setLogMode(x=True, y=True)
        self.time_plot.setTitle("Time of one dot product", color=theme.FOREGROUND)
        self.time_plot.setLabel("left", "seconds")
        self.time_plot.setLabel("bottom", "n (elements per vector)")
        self.time_plot.showGrid(x=True, y=True, alpha=theme.GRID_ALPHA)
        self.time_legend = self.time_plot.addLegend(offset=(10, 10), labelTextColor=theme.FOREGROUND)
        self.loop_curve = self.time_plot.plot([], [], name="Python loop", pen=pg.mkPen(LOOP_COLOR, width=2),
                                              symbol="o", symbolBrush=LOOP_COLOR, symbolPen=LOOP_COLOR)
        self.estimate_curve = self.time_plot.plot(
            [], [], name="loop, predicted (not run)", pen=pg.mkPen(LOOP_COLOR, width=2, style=QtCore.Qt.PenStyle.DashLine),
            symbol="o", symbolBrush=None, symbolPen=pg.mkPen(LOOP_COLOR, width=2))
        self.numpy_curve = self.time_plot.plot([], [], name="np.dot", pen=pg.mkPen(NUMPY_COLOR, width=2),
                                               symbol="s", symbolBrush=NUMPY_COLOR, symbolPen=NUMPY_COLOR)
        self.mpi_curve = self.time_plot.plot([], [], name=f"MPI, {MPI_RANKS} ranks", pen=pg.mkPen(MPI_COLOR, width=2),
                                             symbol="t", symbolBrush=MPI_COLOR, symbolPen=MPI_COLOR)

        self.speed_plot = pg.PlotWidget(background=theme.BACKGROUND)
        self.speed_plot.setLogMode(x=True, y=True)
        self.speed_plot.setTitle("Speedup", color=theme.FOREGROUND)
        self.speed_plot.setLabel("left", "times faster")
        self.speed_plot.setLabel("bottom", "n (elements per vector)")
        self.speed_plot.showGrid(x=True, y=True, alpha=theme.GRID_ALPHA)
        self.speed_legend = self.speed_plot.addLegend(offset=(-10, 10), labelTextColor=theme.FOREGROUND)
        self.speed_plot.addItem(pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen(theme.MUTED, style=QtCore.Qt.PenStyle.DotLine)))
        self.speedup_curve = self.speed_plot.plot([], [], name="np.dot over the loop", pen=pg.mkPen(NUMPY_COLOR, width=2),
                                                  symbol="s", symbolBrush=NUMPY_COLOR, symbolPen=NUMPY_COLOR)
        self.mpi_speedup_curve = self.speed_plot.plot([], [], name="MPI over np.dot", pen=pg.mkPen(MPI_COLOR, width=2),
                                                      symbol="t", symbolBrush=MPI_COLOR, symbolPen=MPI_COLOR)
        self.speed_plot.setXLink(self.time_plot)

        plots = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        plots.addWidget(self.time_plot)
        plots.addWidget(self.speed_plot)
        plots.setSizes([600, 300])

        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.explanation = QtWidgets.QLabel(EXPLANATION)
        self.explanation.setWordWrap(True)
        self.explanation.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.explanation.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        text_scroll = QtWidgets.QScrollArea()
        text_scroll.setWidgetResizable(True)
        text_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        text_scroll.setWidget(self.explanation)
        side = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        side.addWidget(self.table)
        side.addWidget(text_scroll)
        side.setSizes([330, 570])

        body = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        body.addWidget(plots)
        body.addWidget(side)
        body.setStretchFactor(0, 1)
        body.setStretchFactor(1, 1)
        body.setSizes([880, 720])
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        layout.addWidget(body, 1)

    # ------------------------------------------------------------------ running

    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self) -> None:
        """Measure from 10^3 to the chosen largest n (the Run button)."""
        if self.running:
            return
        max_n = int(self.max_n_combo.currentData())
        sizes = tuple(n for n in DEFAULT_SIZES if n <= max_n)
        ranks = MPI_RANKS if self.mpi_check.isChecked() and self.mpi_check.isEnabled() else 0
        self.rows = {}
        self.mpi_note = ""
        self._stop.clear()
        self._redraw()
        self._set_running(True)
        self.status.setText(f"Measuring n = 10^3 ... {max_n:,}: the loop and np.dot"
                            + (f", then {ranks} MPI ranks" if ranks else "") + " ...")
        self.worker = start_generator(lesson, sizes, float(self.limit_spin.value()), ranks, 3,
                                      stop=self._stop.is_set, on_mpi_started=self._remember_process,
                                      on_yielded=self._on_event, on_errored=self._on_error,
                                      on_finished=self._on_finished)

    def stop(self) -> None:
        """Stop after the size being measured (the Stop button); a running mpirun is ended."""
        self._stop.set()
        process = self._mpi_process
        if process is not None and process.poll() is None:
            process.terminate()
        if self.worker is not None:
            self.worker.quit()

    def shutdown(self) -> None:
        self.stop()

    def _remember_process(self, process) -> None:
        self._mpi_process = process  # called from the worker thread; read only by stop()

    def _on_event(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "row":
            self.rows[event["n"]] = dict(event)
            self.status.setText(f"Measured n = {event['n']:,}.")
        elif kind == "mpi" and event["n"] in self.rows:
            self.rows[event["n"]].update(mpi_s=event["mpi_s"], mpi_value=event["mpi_value"])
            self.status.setText(f"MPI: measured n = {event['n']:,}.")
        elif kind == "mpi_error":
            self.mpi_note = event["message"]
        self._redraw()

    def _on_error(self, exc: BaseException) -> None:
        self.status.setText(f"The measurement failed: {exc}")

    def _on_finished(self) -> None:
        self.worker = None
        self._mpi_process = None
        self._set_running(False)
        done = len(self.rows)
        if self._stop.is_set():
            text = f"Stopped after {done} size(s)."
        elif self.mpi_note:
            text = f"Done; no MPI column: {self.mpi_note}."
        else:
            text = f"Done: {done} size(s)."
        best = [r["speedup"] for r in self.rows.values() if r.get("speedup")]
        if best:
            text += f" np.dot was up to {max(best):,.0f}x faster than the loop."
        self.status.setText(text)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for w in (self.max_n_combo, self.limit_spin):
            w.setEnabled(not running)
        self.mpi_check.setEnabled(not running and mpi_unavailable() is None)

    # ------------------------------------------------------------------ drawing

    def series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The plotted series, (n, value) per curve: ``loop``, ``loop_estimate``, ``numpy``,
        ``mpi``, ``speedup`` (loop / np.dot) and ``mpi_speedup`` (np.dot / MPI)."""
        rows = [self.rows[n] for n in sorted(self.rows)]

        def pick(value):
            pairs = [(r["n"], value(r)) for r in rows if value(r) is not None]
            return (np.array([p[0] for p in pairs], np.float64), np.array([p[1] for p in pairs], np.float64))

        return {
            "loop": pick(lambda r: r.get("loop_s")),
            "loop_estimate": pick(lambda r: r.get("loop_estimate_s")),
            "numpy": pick(lambda r: r.get("numpy_s")),
            "mpi": pick(lambda r: r.get("mpi_s")),
            "speedup": pick(lambda r: r.get("speedup")),
            "mpi_speedup": pick(lambda r: r["numpy_s"] / r["mpi_s"] if r.get("mpi_s") else None),
        }

    def _redraw(self) -> None:
        s = self.series()
        loop_x, loop_y = s["loop"]
        est_x, est_y = s["loop_estimate"]
        if len(est_x) and len(loop_x):
            # The dashed prediction starts at the last measured loop point.
            est_x, est_y = np.concatenate([loop_x[-1:], est_x]), np.concatenate([loop_y[-1:], est_y])
        self.loop_curve.setData(loop_x, loop_y)
        self.estimate_curve.setData(est_x, est_y)
        self.numpy_curve.setData(*s["numpy"])
        self.mpi_curve.setData(*s["mpi"])
        self.speedup_curve.setData(*s["speedup"])
        self.mpi_speedup_curve.setData(*s["mpi_speedup"])
        self._fill_table()

    def _fill_table(self) -> None:
        rows = [self.rows[n] for n in sorted(self.rows)]
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            if r.get("loop_s") is not None:
                loop = format_seconds(r["loop_s"])
            elif r.get("loop_estimate_s") is not None:
                loop = f"skipped: would take ~{r['loop_estimate_s']:.0f} s"
            else:
                loop = "-"
            mpi = format_seconds(r["mpi_s"]) if r.get("mpi_s") is not None else ("n/a" if self.mpi_note else "-")
            cells = (f"{r['n']:,}", loop, format_seconds(r["numpy_s"]), mpi,
                     format_ratio(r.get("speedup")),
                     format_ratio(r["numpy_s"] / r["mpi_s"]) if r.get("mpi_s") else "-")
            for j, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)

    def set_presentation(self, on: bool) -> None:
        """Large fonts, plot texts and thick curves for a projector."""
        self.setStyleSheet(theme.presentation_stylesheet(on))
        scale = 1.0
        for plot, legend in ((self.time_plot, self.time_legend), (self.speed_plot, self.speed_legend)):
            scale = present_plot(plot, legend, on)
        for curve in (self.loop_curve, self.estimate_curve, self.numpy_curve, self.mpi_curve, self.speedup_curve,
                      self.mpi_speedup_curve):
            pen = QtGui.QPen(curve.opts["pen"])
            pen.setWidthF(2.0 * scale)
            curve.setPen(pen)
            curve.setSymbolSize(10 * scale)
