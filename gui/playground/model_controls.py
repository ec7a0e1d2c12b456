"""The top bar's controls of the models that are not networks: the SVM's kernel, C, gamma and
degree; k-means' k and its Step button (assign, then update); DBSCAN's eps and min_samples.

Like the rest of the bar, the widgets write through :meth:`PlaygroundSettings.set` and show
what the settings say. C and gamma are editable combo boxes: pick a typical value or type
any number (gamma also ``scale`` or ``auto``); a typed value that is not allowed is named
in one line through :attr:`SvmControls.invalid_value` and the box shows the setting again.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from gui.playground.combo import combo, labeled, set_combo_data
from gui.playground.settings import (
    MAX_CLUSTERS,
    MAX_MIN_SAMPLES,
    MAX_SVM_DEGREE,
    SVM_C_VALUES,
    SVM_GAMMA_VALUES,
    SVM_KERNELS,
    PlaygroundSettings,
)

KERNEL_TITLES = {"linear": "Linear", "rbf": "RBF (Gaussian)", "poly": "Polynomial", "sigmoid": "Sigmoid"}

MODEL_TIPS = {
    "kernel": "The kernel is the SVM's idea of similarity between two points. Linear: a straight boundary. "
              "RBF: bumps around the support vectors, any shape. Polynomial: curves of the chosen degree.",
    "C": "C: how much a point on the wrong side of its margin costs. Small C: a wide margin that lets some "
         "points in (smooth boundary); large C: few violations allowed (tight, wiggly boundary).",
    "gamma": "gamma: how far one support vector's influence reaches (RBF, polynomial). Large gamma: short "
             "reach, islands around points; small gamma: smooth. 'scale' is 1 / (features x variance).",
    "degree": "The polynomial kernel's degree: (gamma x·z + coef0)^degree.",
    "k": "k: how many clusters (and centroids) k-means looks for. Reset draws new starting centroids.",
    "kmeans_step": "One half of a Lloyd iteration: first every point joins its nearest centroid (assign), then "
                   "every centroid moves to the mean of its points (update). Drag a centroid to move it by hand.",
    "eps": "eps: the neighbourhood radius (the circle under the mouse). Points with at least min_samples "
           "neighbours within eps are core points; the k-distance curve's knee suggests a good eps.",
    "min_samples": "min_samples: the neighbours within eps (the point itself counted) that make a core point.",
}

KMEANS_STEP_TEXT = {"assign": "Step: assign ▸", "update": "Step: update ▸"}


class SvmControls(QtWidgets.QWidget):
    """Kernel, C, gamma and (polynomial kernel) degree of the SVM being edited."""

    invalid_value = QtCore.Signal(str)

    def __init__(self, settings: PlaygroundSettings, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.kernel_combo = combo([(KERNEL_TITLES[k], k) for k in SVM_KERNELS], MODEL_TIPS["kernel"])
        self.c_combo = self._editable([(f"{v:g}", v) for v in SVM_C_VALUES], MODEL_TIPS["C"])
        self.gamma_combo = self._editable([(v if isinstance(v, str) else f"{v:g}", v) for v in SVM_GAMMA_VALUES],
                                          MODEL_TIPS["gamma"])
        self.degree_spin = QtWidgets.QSpinBox()
        self.degree_spin.setRange(1, MAX_SVM_DEGREE)
        self.degree_spin.setToolTip(MODEL_TIPS["degree"])
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(14)
        self.degree_box = labeled("Degree", self.degree_spin)
        self.gamma_box = labeled("gamma", self.gamma_combo)
        for w in (labeled("Kernel", self.kernel_combo), labeled("C", self.c_combo), self.gamma_box, self.degree_box):
            lay.addWidget(w)
        self.kernel_combo.currentIndexChanged.connect(lambda _i: self._set(svm_kernel=self.kernel_combo.currentData()))
        self.degree_spin.valueChanged.connect(lambda v: self._set(svm_degree=v))
        for name, box in (("svm_C", self.c_combo), ("svm_gamma", self.gamma_combo)):
            box.activated.connect(lambda i, name=name, box=box: self._set(**{name: box.itemData(i)}))
            box.lineEdit().editingFinished.connect(lambda name=name, box=box: self._typed(name, box))
        for name in ("svm_kernel", "svm_C", "svm_gamma", "svm_degree"):
            handler = getattr(self, f"_on_{name}_changed")
            getattr(settings.events, name).connect(handler)
            handler(getattr(settings, name))

    @staticmethod
    def _editable(items, tip: str) -> QtWidgets.QComboBox:
        box = combo(items, tip)
        box.setEditable(True)
        box.setInsertPolicy(QtWidgets.QComboBox.InsertPolicy.NoInsert)
        box.setMinimumContentsLength(6)
        return box

    def _set(self, **changes) -> None:
        try:
            self.settings.set(**changes)
        except ValueError as exc:
            self.invalid_value.emit(str(exc))
            for name in changes:  # show the setting again
                getattr(self, f"_on_{name}_changed")(getattr(self.settings, name))

    def _typed(self, name: str, box: QtWidgets.QComboBox) -> None:
        text = box.currentText().strip()
        value = text if text in ("scale", "auto") else text.replace(",", ".")
        self._set(**{name: value})

    # ------------------------------------------------------------------ settings -> widgets
    def _on_svm_kernel_changed(self, kernel: str) -> None:
        with QtCore.QSignalBlocker(self.kernel_combo):
            set_combo_data(self.kernel_combo, kernel)
        self.degree_box.setVisible(kernel == "poly")
        self.gamma_box.setEnabled(kernel != "linear")

    def _on_svm_C_changed(self, value: float) -> None:
        self._show_number(self.c_combo, value)

    def _on_svm_gamma_changed(self, value) -> None:
        self._show_number(self.gamma_combo, value)

    def _on_svm_degree_changed(self, degree: int) -> None:
        with QtCore.QSignalBlocker(self.degree_spin):
            self.degree_spin.setValue(degree)

    @staticmethod
    def _show_number(box: QtWidgets.QComboBox, value) -> None:
        with QtCore.QSignalBlocker(box):
            set_combo_data(box, value)
            box.setEditText(value if isinstance(value, str) else f"{value:g}")


class KMeansControls(QtWidgets.QWidget):
    """k and the Step button, whose text says which half of the iteration comes next."""

    step_requested = QtCore.Signal()

    def __init__(self, settings: PlaygroundSettings, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.k_spin = QtWidgets.QSpinBox()
        self.k_spin.setRange(1, MAX_CLUSTERS)
        self.k_spin.setToolTip(MODEL_TIPS["k"])
        self.step_button = QtWidgets.QPushButton(KMEANS_STEP_TEXT["assign"])
        self.step_button.setToolTip(MODEL_TIPS["kmeans_step"])
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(14)
        lay.addWidget(labeled("Clusters k", self.k_spin))
        lay.addWidget(self.step_button, 0, QtCore.Qt.AlignmentFlag.AlignBottom)
        self.k_spin.valueChanged.connect(lambda v: settings.set(kmeans_k=v))
        self.step_button.clicked.connect(self.step_requested)
        settings.events.kmeans_k.connect(self._on_kmeans_k_changed)
        self._on_kmeans_k_changed(settings.kmeans_k)

    def _on_kmeans_k_changed(self, k: int) -> None:
        with QtCore.QSignalBlocker(self.k_spin):
            self.k_spin.setValue(k)

    def show_phase(self, phase: str, converged: bool) -> None:
        """The next half-step (``assign`` or ``update``); disabled once converged."""
        self.step_button.setText("Converged" if converged else KMEANS_STEP_TEXT[phase])
        self.step_button.setEnabled(not converged)


class DbscanControls(QtWidgets.QWidget):
    """eps and min_samples."""

    invalid_value = QtCore.Signal(str)

    def __init__(self, settings: PlaygroundSettings, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.eps_spin = QtWidgets.QDoubleSpinBox()
        self.eps_spin.setRange(0.01, 100.0)
        self.eps_spin.setDecimals(2)
        self.eps_spin.setSingleStep(0.05)
        self.eps_spin.setToolTip(MODEL_TIPS["eps"])
        # a typed value counts once it is complete (Enter or leaving the box), not per key
        self.eps_spin.setKeyboardTracking(False)
        self.min_spin = QtWidgets.QSpinBox()
        self.min_spin.setRange(1, MAX_MIN_SAMPLES)
        self.min_spin.setToolTip(MODEL_TIPS["min_samples"])
        self.min_spin.setKeyboardTracking(False)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(14)
        lay.addWidget(labeled("eps", self.eps_spin))
        lay.addWidget(labeled("min_samples", self.min_spin))
        self.eps_spin.valueChanged.connect(lambda v: settings.set(dbscan_eps=v))
        self.min_spin.valueChanged.connect(lambda v: settings.set(dbscan_min_samples=v))
        settings.events.dbscan_eps.connect(self._on_dbscan_eps_changed)
        settings.events.dbscan_min_samples.connect(self._on_dbscan_min_samples_changed)
        self._on_dbscan_eps_changed(settings.dbscan_eps)
        self._on_dbscan_min_samples_changed(settings.dbscan_min_samples)

    def _on_dbscan_eps_changed(self, eps: float) -> None:
        with QtCore.QSignalBlocker(self.eps_spin):
            self.eps_spin.setValue(eps)

    def _on_dbscan_min_samples_changed(self, n: int) -> None:
        with QtCore.QSignalBlocker(self.min_spin):
            self.min_spin.setValue(n)
