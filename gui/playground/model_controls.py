"""The top bar's controls of a model that is not a network: the SVM's kernel, C, gamma, degree.

Like the rest of the bar, the widgets write through :meth:`PlaygroundSettings.set` and show
what the settings say. C and gamma are editable combo boxes: pick a typical value or type
any number (gamma also ``scale`` or ``auto``); a typed value that is not allowed is named
in one line through :attr:`SvmControls.invalid_value` and the box shows the setting again.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from gui.playground.combo import combo, labeled, set_combo_data
from gui.playground.settings import MAX_SVM_DEGREE, SVM_C_VALUES, SVM_GAMMA_VALUES, SVM_KERNELS, PlaygroundSettings

KERNEL_TITLES = {"linear": "Linear", "rbf": "RBF (Gaussian)", "poly": "Polynomial", "sigmoid": "Sigmoid"}

SVM_TIPS = {
    "kernel": "The kernel is the SVM's idea of similarity between two points. Linear: a straight boundary. "
              "RBF: bumps around the support vectors, any shape. Polynomial: curves of the chosen degree.",
    "C": "C: how much a point on the wrong side of its margin costs. Small C: a wide margin that lets some "
         "points in (smooth boundary); large C: few violations allowed (tight, wiggly boundary).",
    "gamma": "gamma: how far one support vector's influence reaches (RBF, polynomial). Large gamma: short "
             "reach, islands around points; small gamma: smooth. 'scale' is 1 / (features x variance).",
    "degree": "The polynomial kernel's degree: (gamma x·z + coef0)^degree.",
}


class SvmControls(QtWidgets.QWidget):
    """Kernel, C, gamma and (polynomial kernel) degree of the SVM being edited."""

    invalid_value = QtCore.Signal(str)

    def __init__(self, settings: PlaygroundSettings, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.kernel_combo = combo([(KERNEL_TITLES[k], k) for k in SVM_KERNELS], SVM_TIPS["kernel"])
        self.c_combo = self._editable([(f"{v:g}", v) for v in SVM_C_VALUES], SVM_TIPS["C"])
        self.gamma_combo = self._editable([(v if isinstance(v, str) else f"{v:g}", v) for v in SVM_GAMMA_VALUES],
                                          SVM_TIPS["gamma"])
        self.degree_spin = QtWidgets.QSpinBox()
        self.degree_spin.setRange(1, MAX_SVM_DEGREE)
        self.degree_spin.setToolTip(SVM_TIPS["degree"])
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
