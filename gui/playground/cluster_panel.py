"""The clustering models' side panel, in the network's place: what the clustering found.

k-means: the next half-step, the inertia (plotted after every step) and the cluster
sizes; DBSCAN: the k-distance curve
(each point's distance to its ``min_samples``-th nearest point, itself counted, sorted from
large to small) with ``eps`` as a line across it (the points under the line are exactly the
core points) and the counts of core, border and noise points. Both: how well the clustering
matches the data's hidden labels (adjusted Rand index), when there are labels.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from gui import theme


class ClusterPanel(QtWidgets.QWidget):
    """Shows a clustering snapshot's ``model_info``."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.title = QtWidgets.QLabel()
        self.title.setProperty("role", "heading")
        self.text = QtWidgets.QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.plot = pg.PlotWidget(background=theme.BACKGROUND)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(False, False)
        pi = self.plot.getPlotItem()
        pi.setLabel("bottom", "points, sorted by k-distance")
        pi.setLabel("left", "k-distance")
        pi.showGrid(x=False, y=True, alpha=0.25)
        for name in ("left", "bottom"):
            pi.getAxis(name).enableAutoSIPrefix(False)
        self.curve = self.plot.plot(pen=pg.mkPen("#1A73E8", width=2))
        self.eps_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#E8710A", width=2, style=QtCore.Qt.PenStyle.DashLine),
                                        label="eps {value:.2f}", labelOpts={"position": 0.85, "color": "#E8710A"})
        self.plot.addItem(self.eps_line)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.text)
        lay.addWidget(self.plot, 1)
        self.info: dict | None = None

    def show_info(self, info: dict | None) -> None:
        """Show a clustering's ``model_info`` (None: nothing)."""
        if info is self.info:
            return
        self.info = info
        if info is None:
            self.text.setText("")
            self.curve.setData([], [])
            return
        agreement = info.get("agreement")
        match = ("" if agreement is None else
                 f"\nAgreement with the hidden labels (adjusted Rand index): {agreement:.2f}")
        if info["kind"] == "kmeans":
            self.title.setText("K-MEANS")
            sizes = info.get("sizes") or []
            inertia = info.get("inertia")
            lines = ["Next: " + ("assign every point to its nearest centroid" if info["phase"] == "assign"
                                 else "move every centroid to the mean of its points")]
            if inertia is not None:
                lines.append(f"Inertia (sum of squared distances to the centroids): {inertia:.4g}")
            if sizes:
                lines.append("Cluster sizes: " + " · ".join(str(s) for s in sizes))
            lines.append("Drag a centroid (★) to move it; the next step assigns the points again.")
            self.text.setText("\n".join(lines) + match)
            history = info.get("inertia_history", ())
            pi = self.plot.getPlotItem()
            pi.setLabel("bottom", "step")
            pi.setLabel("left", "inertia")
            self.eps_line.setVisible(False)
            steps = np.array([h[0] for h in history], np.float64)
            values = np.array([h[1] for h in history], np.float64)
            self.curve.setData(steps, values, symbol="o", symbolSize=6, symbolBrush="#1A73E8")
            self.plot.enableAutoRange()
            return
        self.title.setText("DBSCAN  ·  K-DISTANCE")
        pi = self.plot.getPlotItem()
        pi.setLabel("bottom", "points, sorted by k-distance")
        pi.setLabel("left", "k-distance")
        self.eps_line.setVisible(True)
        kd = np.asarray(info["k_distance"], np.float64)
        eps = info["eps"]
        counts = info.get("counts")
        lines = [f"Each point's distance to its {info['min_samples']}-th nearest point (itself counted), "
                 f"largest first. Points under the eps line are core points; the knee of the curve is a "
                 f"good eps."]
        if counts is not None:
            lines.append(f"{counts['core']} core · {counts['border']} border · {counts['noise']} noise")
        self.text.setText("\n".join(lines) + match)
        self.curve.setData(np.arange(len(kd)), kd, symbol=None)
        self.eps_line.setValue(eps)
        top = max(float(kd.max()) if len(kd) else 1.0, eps) * 1.08
        self.plot.setYRange(0.0, top, padding=0.0)
        self.plot.setXRange(0, max(len(kd) - 1, 1), padding=0.02)

    def set_presentation(self, on: bool) -> None:
        """Larger axis numbers and a thicker curve for a projector."""
        from PySide6 import QtGui

        font = QtGui.QFont()
        font.setPointSizeF(9 * (theme.PRESENTATION_SCALE if on else 1.0))
        for name in ("left", "bottom"):
            self.plot.getPlotItem().getAxis(name).setStyle(tickFont=font)
        self.curve.setPen(pg.mkPen("#1A73E8", width=3.5 if on else 2))

    def curve_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The k-distance curve as drawn: ``(x, y)``."""
        x, y = self.curve.getData()
        return (np.zeros(0) if x is None else np.asarray(x)), (np.zeros(0) if y is None else np.asarray(y))
