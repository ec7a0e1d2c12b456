"""The top bar: the run's settings as widgets over a :class:`PlaygroundSettings`.

Every widget writes through :meth:`PlaygroundSettings.set` and shows what the settings
say in its ``_on_<field>_changed`` handler, under a signal blocker: the settings are the
only copy, so loading a file, a model rule (the perceptron trains with SGD) or a problem
switch shows up here without the bar knowing why.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from engine.spec import ACTIVATIONS, OPTIMIZERS
from gui.playground.combo import combo, labeled, set_combo_data
from gui.playground.model_controls import DbscanControls, KMeansControls, SvmControls
from gui.playground.settings import (
    LEARNING_RATES,
    MAX_BATCH,
    MAX_DROPOUT,
    MAX_EPOCHS,
    MAX_PATIENCE,
    REG_RATES,
    PlaygroundSettings,
    playground_model_kinds,
)
from gui.playground.speed_control import SpeedControl
from gui.playground.tips import ACTIVATION_TIPS, MODEL_TITLES, TIPS
from gui.playground.training_controls import TrainingControls


class SettingsBar(QtWidgets.QFrame):
    """Two rows: the training controls and main settings, then the finer settings (hidden when presenting)."""

    cluster_requested = QtCore.Signal()
    #: a typed value that is not allowed, in one line
    invalid_value = QtCore.Signal(str)
    #: k-means' Step button
    step_requested = QtCore.Signal()

    def __init__(self, settings: PlaygroundSettings, controls: TrainingControls,
                 parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.controls = controls
        self._presenting = False
        self._build_widgets()
        self._build_layout()
        self._connect()
        for name in ("problem", "model_kind", "activation", "learning_rate", "regularization", "reg_rate",
                     "batch_size", "optimizer", "dropout", "epochs", "stop_after_epochs", "patience",
                     "stop_when_stalled"):
            handler = getattr(self, f"_on_{name}_changed")
            getattr(settings.events, name).connect(handler)
            handler(getattr(settings, name))

    # ------------------------------------------------------------------ construction
    def _build_widgets(self) -> None:
        self.lr_combo = combo([(f"{v:g}", v) for v in LEARNING_RATES], TIPS["lr"])
        self.activation_combo = combo([(a, a) for a in ACTIVATIONS], TIPS["activation"])
        for i, a in enumerate(ACTIVATIONS):
            self.activation_combo.setItemData(i, ACTIVATION_TIPS.get(a, a), QtCore.Qt.ItemDataRole.ToolTipRole)
        self.reg_combo = combo([("None", "none"), ("L1", "l1"), ("L2", "l2")], TIPS["reg"])
        self.reg_rate_combo = combo([(f"{v:g}", v) for v in REG_RATES], TIPS["reg_rate"])
        self.problem_combo = combo([("Classification", "classification"), ("Regression", "regression")],
                                   TIPS["problem"])
        self.model_combo = combo([(MODEL_TITLES[k], k) for k in playground_model_kinds()], TIPS["model"])
        self.svm_controls = SvmControls(self.settings)
        self.svm_controls.invalid_value.connect(self.invalid_value)
        self.kmeans_controls = KMeansControls(self.settings)
        self.kmeans_controls.step_requested.connect(self.step_requested)
        self.dbscan_controls = DbscanControls(self.settings)
        #: each model kind's own controls, shown while it is the model
        self.model_controls = {"svm": self.svm_controls, "kmeans": self.kmeans_controls,
                               "dbscan": self.dbscan_controls}
        self.batch_spin = QtWidgets.QSpinBox()
        self.batch_spin.setRange(1, MAX_BATCH)
        self.batch_spin.setToolTip(TIPS["batch"])
        self.optimizer_combo = combo([(o, o) for o in OPTIMIZERS], TIPS["optimizer"])
        self.dropout_spin = QtWidgets.QDoubleSpinBox()
        self.dropout_spin.setRange(0.0, MAX_DROPOUT)
        self.dropout_spin.setSingleStep(0.05)
        self.dropout_spin.setToolTip(TIPS["dropout"])
        self.stop_epochs_check = QtWidgets.QCheckBox("stop at")
        self.stop_epochs_check.setToolTip(TIPS["stop_epochs"])
        self.stop_epochs_spin = QtWidgets.QSpinBox()
        self.stop_epochs_spin.setRange(1, MAX_EPOCHS)
        self.stop_epochs_spin.setSingleStep(50)
        self.stop_epochs_spin.setSuffix(" epochs")
        self.stop_epochs_spin.setToolTip(TIPS["stop_epochs"])
        self.stop_patience_check = QtWidgets.QCheckBox("early stop")
        self.stop_patience_check.setToolTip(TIPS["stop_patience"])
        self.patience_spin = QtWidgets.QSpinBox()
        self.patience_spin.setRange(1, MAX_PATIENCE)
        self.patience_spin.setSuffix(" epochs")
        self.patience_spin.setToolTip(TIPS["stop_patience"])
        for spin in (self.stop_epochs_spin, self.patience_spin):
            # as wide as the number shown, not as the largest one allowed: the row fits 1280 pixels
            spin.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Fixed)
        self.speed = SpeedControl(self.settings)
        self.speed_slider, self.speed_label = self.speed.slider, self.speed.label
        self.cluster_button = QtWidgets.QPushButton("Run on cluster…")
        self.cluster_button.setToolTip(TIPS["cluster"])

    def _build_layout(self) -> None:
        #: hidden in presentation mode with the finer settings, so that the large top row
        #: still fits a 1280-pixel-wide projector
        self.regularization_boxes: list[QtWidgets.QWidget] = []
        self.setObjectName("topBar")
        self.setStyleSheet("#topBar { background: #F8F9FA; border-bottom: 1px solid #DADCE0; }")
        #: the settings of gradient training, hidden for models trained otherwise (an SVM)
        self.network_boxes: list[QtWidgets.QWidget] = []
        row1 = QtWidgets.QHBoxLayout()
        row1.setSpacing(12)
        row1.addWidget(self.controls)
        for title, w in (("Learning rate", self.lr_combo), ("Activation", self.activation_combo),
                         ("Regularization", self.reg_combo), ("Regularization rate", self.reg_rate_combo),
                         ("Problem type", self.problem_combo), ("Model", self.model_combo)):
            box = labeled(title, w)
            row1.addWidget(box)
            if w in (self.reg_combo, self.reg_rate_combo):
                self.regularization_boxes.append(box)
            if w in (self.lr_combo, self.activation_combo, self.reg_combo, self.reg_rate_combo):
                self.network_boxes.append(box)
        for w in self.model_controls.values():
            row1.addWidget(w)
        row1.addStretch(1)
        row1.addWidget(self.cluster_button)
        self.row1 = row1
        #: the second row: the finer settings (hidden when presenting) and the speed
        self.settings_row = QtWidgets.QWidget()
        # the batch, optimizer and stop controls, hidden for models that do not use them
        self.fine_settings = QtWidgets.QWidget()
        fine = QtWidgets.QHBoxLayout(self.fine_settings)
        fine.setContentsMargins(0, 0, 0, 0)
        fine.setSpacing(6)
        for title, w in (("Batch size", self.batch_spin), ("Optimizer", self.optimizer_combo),
                         ("Dropout", self.dropout_spin)):
            lab = QtWidgets.QLabel(title)
            lab.setToolTip(w.toolTip())
            fine.addWidget(lab)
            fine.addWidget(w)
        fine.addSpacing(8)
        fine.addWidget(self.stop_epochs_check)
        fine.addWidget(self.stop_epochs_spin)
        fine.addWidget(self.stop_patience_check)
        fine.addWidget(self.patience_spin)
        row2 = QtWidgets.QHBoxLayout(self.settings_row)
        row2.setContentsMargins(0, 0, 0, 0)
        row2.setSpacing(12)
        row2.addWidget(self.fine_settings)
        row2.addWidget(self.speed)
        row2.addStretch(1)
        self.row2 = row2
        top = QtWidgets.QVBoxLayout(self)
        top.setContentsMargins(16, 8, 16, 8)
        top.addLayout(row1)
        top.addWidget(self.settings_row)

    def _connect(self) -> None:
        s = self.settings
        for name, box in (("learning_rate", self.lr_combo), ("regularization", self.reg_combo),
                          ("reg_rate", self.reg_rate_combo), ("optimizer", self.optimizer_combo),
                          ("problem", self.problem_combo), ("model_kind", self.model_combo),
                          ("activation", self.activation_combo)):
            box.currentIndexChanged.connect(lambda _i, name=name, box=box: s.set(**{name: box.currentData()}))
        for name, spin in (("batch_size", self.batch_spin), ("epochs", self.stop_epochs_spin),
                           ("patience", self.patience_spin)):
            spin.valueChanged.connect(lambda v, name=name: s.set(**{name: v}))
        self.dropout_spin.valueChanged.connect(lambda v: s.set(dropout=v))
        self.stop_epochs_check.toggled.connect(lambda on: s.set(stop_after_epochs=on))
        self.stop_patience_check.toggled.connect(lambda on: s.set(stop_when_stalled=on))
        self.cluster_button.clicked.connect(self.cluster_requested)

    # ------------------------------------------------------------------ settings -> widgets
    @staticmethod
    def _show(widget: QtWidgets.QWidget, apply) -> None:
        with QtCore.QSignalBlocker(widget):
            apply()

    def _on_problem_changed(self, problem: str) -> None:
        self._show(self.problem_combo, lambda: set_combo_data(self.problem_combo, problem))

    def _on_model_kind_changed(self, kind: str) -> None:
        self._show(self.model_combo, lambda: set_combo_data(self.model_combo, kind))
        # the perceptron trains with SGD only; dropout needs hidden layers
        self.optimizer_combo.setEnabled(len(self.settings.optimizer_choices) > 1)
        self.dropout_spin.setEnabled(self.settings.has_layers)
        network = self.settings.is_network
        for w in self.network_boxes:
            w.setVisible(network)
        self.fine_settings.setVisible(network and not self._presenting)
        for name, w in self.model_controls.items():
            w.setVisible(kind == name)
        # what one step of the pace is: an epoch, one SMO iteration, one clustering step
        self.speed.set_unit("epoch" if network else "iteration" if kind == "svm" else "step")

    def _on_activation_changed(self, activation: str) -> None:
        self._show(self.activation_combo, lambda: set_combo_data(self.activation_combo, activation))

    def _on_learning_rate_changed(self, rate: float) -> None:
        self._show(self.lr_combo, lambda: set_combo_data(self.lr_combo, rate))

    def _on_regularization_changed(self, reg: str) -> None:
        self._show(self.reg_combo, lambda: set_combo_data(self.reg_combo, reg))

    def _on_reg_rate_changed(self, rate: float) -> None:
        self._show(self.reg_rate_combo, lambda: set_combo_data(self.reg_rate_combo, rate))

    def _on_batch_size_changed(self, size: int) -> None:
        self._show(self.batch_spin, lambda: self.batch_spin.setValue(size))

    def _on_optimizer_changed(self, optimizer: str) -> None:
        self._show(self.optimizer_combo, lambda: set_combo_data(self.optimizer_combo, optimizer))

    def _on_dropout_changed(self, rate: float) -> None:
        self._show(self.dropout_spin, lambda: self.dropout_spin.setValue(rate))

    def _on_epochs_changed(self, epochs: int) -> None:
        self._show(self.stop_epochs_spin, lambda: self.stop_epochs_spin.setValue(epochs))

    def _on_stop_after_epochs_changed(self, on: bool) -> None:
        self._show(self.stop_epochs_check, lambda: self.stop_epochs_check.setChecked(on))

    def _on_patience_changed(self, epochs: int) -> None:
        self._show(self.patience_spin, lambda: self.patience_spin.setValue(epochs))

    def _on_stop_when_stalled_changed(self, on: bool) -> None:
        self._show(self.stop_patience_check, lambda: self.stop_patience_check.setChecked(on))

    def show_model_info(self, info: dict | None, status: str) -> None:
        """What the model's own controls show of its state (k-means: the next half-step)."""
        if info is not None and info.get("kind") == "kmeans":
            self.kmeans_controls.show_phase(info["phase"], status == "completed")

    # ------------------------------------------------------------------ classroom
    def set_presentation(self, on: bool) -> None:
        """For a projector the finer settings and Run on cluster go; what the lessons need stays:
        regularization and its rate move to the second row, beside the speed, so that the
        large first row still fits a 1280-pixel-wide projector."""
        self._presenting = on
        self.fine_settings.setVisible(not on and self.settings.is_network)
        self.cluster_button.setVisible(not on)
        for k, box in enumerate(self.regularization_boxes):
            if on:  # title beside the box: the second row stays one line high
                self.row2.insertWidget(k, box)
            else:  # back after Learning rate and Activation, title above
                self.row1.insertWidget(3 + k, box)
            box.layout().setDirection(QtWidgets.QBoxLayout.Direction.LeftToRight if on
                                      else QtWidgets.QBoxLayout.Direction.TopToBottom)
            box.layout().setSpacing(8 if on else 1)
            box.setVisible(self.settings.is_network)
