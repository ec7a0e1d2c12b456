"""The Playground view: paint data, build a network, press play and watch it learn.

Layout (like TensorFlow Playground, which every ML teacher knows): a bar of run controls
and settings on top; below it the data column (presets, painter, classes), the network
drawn as a graph (with the test-set scores under it) and the output column (decision
regions behind the points, loss and accuracy curves).

The view owns no training: :class:`~gui.playground.training.TrainingSession` trains in a
worker and leaves its latest :class:`~gui.playground.training.Snapshot`; a frame timer
(``FRAME_INTERVAL_MS``) draws whatever is new, so the GUI thread's work per second is
bounded whatever the training speed.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from engine.features import expand_features
from engine.grid import grid_points
from engine.metrics import format_metric
from engine.spec import (
    ACTIVATIONS,
    FEATURES,
    MODEL_KINDS,
    OPTIMIZERS,
    DatasetSpec,
    ModelSpec,
    RunSpec,
    SpecError,
    TrainSpec,
    load_spec,
    save_spec,
)
from gui import theme
from gui.playground.confusion import ConfusionPanel
from gui.playground.curves import CurvesPanel
from gui.playground.data_plot import DEFAULT_BOX, DataPlot
from gui.playground.dataset_panel import DatasetPanel
from gui.playground.network_editor import ACTIVATION_TIPS, NetworkEditor
from gui.playground.points import PointStore
from gui.playground.render import thumbnail_rgb
from gui.playground.training import SPEEDS, TrainingSession
from gui.widgets.square import SquareBox

FRAME_INTERVAL_MS = 100
NETWORK_INTERVAL_S = 0.2
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REG_RATES = (0.0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
MODEL_TITLES = {"mlp": "Neural network", "logistic": "Logistic regression", "perceptron": "Perceptron"}
UNLIMITED_EPOCHS = 10_000_000
DIVERGED_TEXT = "diverged: try a smaller learning rate"

TIPS = {
    "play": "Start or pause training (Space). The network adjusts its weights a little after every batch "
            "of training points.",
    "step": "Train for exactly one epoch (one pass over the training points), then stop.",
    "reset": "Start again from new random weights. The data and settings stay.",
    "epoch": "Epochs trained so far: one epoch is one pass over all training points.",
    "lr": "Learning rate: how big a step the weights take after each batch. Too small learns slowly; "
          "too large overshoots and the loss explodes.",
    "activation": "Activation: the bend each hidden neuron applies to its sum. Without a bend, any number of "
                  "layers can only draw a straight boundary. Sets every layer; click a layer's caption to set one.",
    "reg": "Regularization penalizes large weights, which keeps the boundary simple and helps the network "
           "do well on points it has not seen. L1 pushes weights to exactly zero, L2 shrinks them all.",
    "reg_rate": "How strongly large weights are penalized. Too much and the network cannot fit the data at all.",
    "problem": "Classification predicts a class (a colour); regression predicts a number (blue positive, "
               "orange negative).",
    "model": "Neural network: hidden layers of neurons. Logistic regression: one straight boundary with "
             "probabilities. Perceptron: Rosenblatt's rule, one straight boundary, no probabilities. (Straight "
             "in the chosen features: with x1² or sin(x1) switched on it curves in the plane.)",
    "batch": "Batch size: how many training points are averaged for each weight update. Small batches are "
             "noisy but take more steps per epoch.",
    "optimizer": "How the gradient turns into a step: plain SGD, SGD with momentum (keeps rolling in a "
                 "consistent direction), or Adam (adapts the step size of every weight).",
    "dropout": "Dropout switches off this share of hidden neurons at random in every training step, so the "
               "network cannot rely on any single neuron: a regularizer.",
    "stop_epochs": "Stop by itself after this many epochs.",
    "stop_patience": "Early stopping: stop when the test loss has not improved for this many epochs in a row, "
                     "before the network starts to memorize the training points.",
    "speed": "Training speed in epochs per second; slow it down to watch each step.",
    "cluster": "Send this exact setup (data, network, settings) to the Cluster view to train it as a job.",
    "test_loss": "Loss on the test points, which are never trained on: the honest measure of how well "
                 "the network generalizes.",
    "train_loss": "Loss on the training points: what the network is minimizing.",
    "discretize": "Show hard class regions instead of shading by confidence.",
}


def _check_network(spec, path: str) -> None:
    """The Playground trains and draws networks; other model kinds get one clear line."""
    if not spec.model.is_network:
        raise SpecError("model.kind", f"{os.path.basename(path)} holds a {spec.model.kind!r} model; the Playground "
                                      "shows networks. Train it with 'python -m engine train' or on a cluster")


def _combo(items, tip: str) -> QtWidgets.QComboBox:
    c = QtWidgets.QComboBox()
    for text, data in items:
        c.addItem(text, data)
    c.setToolTip(tip)
    return c


def _labeled(title: str, widget: QtWidgets.QWidget) -> QtWidgets.QWidget:
    box = QtWidgets.QWidget()
    lay = QtWidgets.QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(1)
    label = QtWidgets.QLabel(title)
    label.setProperty("role", "hint")
    label.setToolTip(widget.toolTip())
    lay.addWidget(label)
    lay.addWidget(widget)
    return box


def _set_combo_data(combo: QtWidgets.QComboBox, value) -> None:
    for i in range(combo.count()):
        d = combo.itemData(i)
        if d == value or (isinstance(d, float) and isinstance(value, (int, float)) and math.isclose(d, value)):
            combo.setCurrentIndex(i)
            return
    if isinstance(value, float):
        combo.addItem(f"{value:g}", value)
        combo.setCurrentIndex(combo.count() - 1)


def _box_around(lo: np.ndarray, hi: np.ndarray) -> tuple[float, float, float, float]:
    """The default square when the points ``lo (2,)`` .. ``hi (2,)`` fill a good part of it,
    else a rectangle fitted to them with a margin."""
    d = DEFAULT_BOX
    span = hi - lo
    inside = lo[0] >= d[0] and hi[0] <= d[1] and lo[1] >= d[2] and hi[1] <= d[3]
    if inside and span.max() >= (d[1] - d[0]) / 4:
        return DEFAULT_BOX
    # a single point (or a line of them) still gets an area around it
    span = np.where(span > 0, span, np.maximum(np.abs(hi), 1.0))
    pad = 0.08 * span
    return (float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1]))


class PlaygroundView(QtWidgets.QWidget):
    """The classroom window; see the module docstring."""

    run_on_cluster_requested = QtCore.Signal(object)
    spec_loaded = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.presentation = False
        self.train_seed = 0
        self.file_path: str | None = None
        self.frames_drawn = 0
        self.boundary_frames = 0
        self._drawn = None
        self._network_drawn_at = 0.0
        self._drawn_report = None
        self._hover: tuple[int, int] | None = None
        self._building = True
        #: the next data change is another data set: start a new run on it
        self._new_data = False

        self.store = PointStore(self)
        self.undo_stack = QtGui.QUndoStack(self)
        self.session = TrainingSession(self)
        self.session.state_changed.connect(self._on_state_changed)
        self.session.failed.connect(self._show_error)

        self._build_top_bar()
        self.dataset_panel = DatasetPanel(self.store, self.undo_stack)
        self.data_plot = DataPlot(self.store, self.undo_stack)
        self.data_plot.setMinimumSize(300, 300)
        self.network = NetworkEditor(FEATURES, ACTIVATIONS)
        self.curves = CurvesPanel()
        self.confusion = ConfusionPanel()
        self._build_layout()
        self._connect()

        # Frames are drawn as they arrive (the worker sends at most FRAME_RATE_HZ of them);
        # the timer only catches curves' records that arrived without a new picture.
        self.frame_timer = QtCore.QTimer(self)
        self.frame_timer.setInterval(FRAME_INTERVAL_MS)
        self.frame_timer.timeout.connect(self._on_frame)
        self.session.snapshot_arrived.connect(self._on_frame)
        self.data_timer = QtCore.QTimer(self)
        self.data_timer.setSingleShot(True)
        self.data_timer.setInterval(60)
        self.data_timer.timeout.connect(self._on_data_settled)

        self.network.set_feature_pictures(self._feature_pictures(DEFAULT_BOX))
        self.set_presentation(False)
        self._building = False
        self.load_run_spec(self.default_spec())
        self.undo_stack.clear()
        self.frame_timer.start()

    # ================================================================== construction
    def _build_top_bar(self) -> None:
        self.reset_button = QtWidgets.QToolButton(text="↺")
        self.reset_button.setProperty("role", "round")
        self.reset_button.setToolTip(TIPS["reset"])
        self.play_button = QtWidgets.QToolButton(text="▶")
        self.play_button.setProperty("role", "play")
        self.play_button.setToolTip(TIPS["play"])
        self.step_button = QtWidgets.QToolButton(text="+1")
        self.step_button.setProperty("role", "round")
        self.step_button.setToolTip(TIPS["step"])
        self.epoch_label = QtWidgets.QLabel("000,000")
        self.epoch_label.setProperty("role", "counter")
        self.epoch_label.setToolTip(TIPS["epoch"])
        self.lr_combo = _combo([(f"{v:g}", v) for v in LEARNING_RATES], TIPS["lr"])
        self.activation_combo = _combo([(a, a) for a in ACTIVATIONS], TIPS["activation"])
        for i, a in enumerate(ACTIVATIONS):
            self.activation_combo.setItemData(i, ACTIVATION_TIPS.get(a, a), QtCore.Qt.ItemDataRole.ToolTipRole)
        self.reg_combo = _combo([("None", "none"), ("L1", "l1"), ("L2", "l2")], TIPS["reg"])
        self.reg_rate_combo = _combo([(f"{v:g}", v) for v in REG_RATES], TIPS["reg_rate"])
        self.problem_combo = _combo([("Classification", "classification"), ("Regression", "regression")],
                                    TIPS["problem"])
        self.model_combo = _combo([(MODEL_TITLES[k], k) for k in MODEL_KINDS], TIPS["model"])
        self.batch_spin = QtWidgets.QSpinBox()
        self.batch_spin.setRange(1, 1024)
        self.batch_spin.setToolTip(TIPS["batch"])
        self.optimizer_combo = _combo([(o, o) for o in OPTIMIZERS], TIPS["optimizer"])
        self.dropout_spin = QtWidgets.QDoubleSpinBox()
        self.dropout_spin.setRange(0.0, 0.9)
        self.dropout_spin.setSingleStep(0.05)
        self.dropout_spin.setToolTip(TIPS["dropout"])
        self.stop_epochs_check = QtWidgets.QCheckBox("stop at")
        self.stop_epochs_check.setToolTip(TIPS["stop_epochs"])
        self.stop_epochs_spin = QtWidgets.QSpinBox()
        self.stop_epochs_spin.setRange(1, 1_000_000)
        self.stop_epochs_spin.setSingleStep(50)
        self.stop_epochs_spin.setSuffix(" epochs")
        self.stop_epochs_spin.setToolTip(TIPS["stop_epochs"])
        self.stop_patience_check = QtWidgets.QCheckBox("early stop")
        self.stop_patience_check.setToolTip(TIPS["stop_patience"])
        self.patience_spin = QtWidgets.QSpinBox()
        self.patience_spin.setRange(1, 100_000)
        self.patience_spin.setSuffix(" epochs")
        self.patience_spin.setToolTip(TIPS["stop_patience"])
        self.speed_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.speed_slider.setRange(0, len(SPEEDS) - 1)
        self.speed_slider.setValue(len(SPEEDS) - 1)
        self.speed_slider.setToolTip(TIPS["speed"])
        self.speed_slider.setMaximumWidth(110)
        self.speed_label = QtWidgets.QLabel()
        self.speed_label.setProperty("role", "hint")
        self.cluster_button = QtWidgets.QPushButton("Run on cluster…")
        self.cluster_button.setToolTip(TIPS["cluster"])

        #: hidden in presentation mode with the finer settings, so that the large top row
        #: still fits a 1280-pixel-wide projector
        self.regularization_boxes: list[QtWidgets.QWidget] = []
        self.top_bar = QtWidgets.QFrame()
        self.top_bar.setObjectName("topBar")
        self.top_bar.setStyleSheet("#topBar { background: #F8F9FA; border-bottom: 1px solid #DADCE0; }")
        row1 = QtWidgets.QHBoxLayout()
        row1.setSpacing(14)
        row1.addWidget(self.reset_button)
        row1.addWidget(self.play_button)
        row1.addWidget(self.step_button)
        row1.addSpacing(10)
        row1.addWidget(_labeled("Epoch", self.epoch_label))
        for title, w in (("Learning rate", self.lr_combo), ("Activation", self.activation_combo),
                         ("Regularization", self.reg_combo), ("Regularization rate", self.reg_rate_combo),
                         ("Problem type", self.problem_combo), ("Model", self.model_combo)):
            box = _labeled(title, w)
            row1.addWidget(box)
            if w in (self.reg_combo, self.reg_rate_combo):
                self.regularization_boxes.append(box)
        row1.addStretch(1)
        row1.addWidget(self.cluster_button)
        self.settings_row = QtWidgets.QWidget()
        row2 = QtWidgets.QHBoxLayout(self.settings_row)
        row2.setContentsMargins(0, 0, 0, 0)
        row2.setSpacing(10)
        for title, w in (("Batch size", self.batch_spin), ("Optimizer", self.optimizer_combo),
                         ("Dropout", self.dropout_spin)):
            lab = QtWidgets.QLabel(title)
            lab.setToolTip(w.toolTip())
            row2.addWidget(lab)
            row2.addWidget(w)
        row2.addSpacing(12)
        row2.addWidget(self.stop_epochs_check)
        row2.addWidget(self.stop_epochs_spin)
        row2.addWidget(self.stop_patience_check)
        row2.addWidget(self.patience_spin)
        row2.addSpacing(12)
        speed_title = QtWidgets.QLabel("Speed")
        speed_title.setToolTip(TIPS["speed"])
        row2.addWidget(speed_title)
        row2.addWidget(self.speed_slider)
        row2.addWidget(self.speed_label)
        row2.addStretch(1)
        top = QtWidgets.QVBoxLayout(self.top_bar)
        top.setContentsMargins(16, 8, 16, 8)
        top.addLayout(row1)
        top.addWidget(self.settings_row)

    def _build_layout(self) -> None:
        self.test_loss_label = QtWidgets.QLabel()
        self.test_loss_label.setProperty("role", "metric")
        self.test_loss_label.setToolTip(TIPS["test_loss"])
        self.train_loss_label = QtWidgets.QLabel()
        self.train_loss_label.setProperty("role", "hint")
        self.train_loss_label.setToolTip(TIPS["train_loss"])
        self.status_label = QtWidgets.QLabel("")
        self.status_label.setProperty("role", "hint")
        self.status_label.setWordWrap(True)
        self.error_banner = QtWidgets.QLabel("")
        self.error_banner.setProperty("role", "error")
        self.error_banner.setWordWrap(True)
        self.error_banner.setVisible(False)
        self.discretize_check = QtWidgets.QCheckBox("Discretize output")
        self.discretize_check.setToolTip(TIPS["discretize"])
        self.legend = QtWidgets.QLabel()
        self.legend.setToolTip("Colours show data, neuron and weight values: orange negative, blue positive; "
                               "in the regions, each class's colour, stronger where the network is surer.")

        data_scroll = QtWidgets.QScrollArea()
        data_scroll.setWidget(self.dataset_panel)
        data_scroll.setWidgetResizable(True)
        data_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        data_scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        data_scroll.setMinimumWidth(260)
        data_scroll.setMaximumWidth(330)
        self.data_scroll = data_scroll

        middle = QtWidgets.QWidget()
        ml = QtWidgets.QVBoxLayout(middle)
        ml.setContentsMargins(0, 0, 0, 0)
        feat_heading = QtWidgets.QLabel("FEATURES  ·  NETWORK")
        feat_heading.setProperty("role", "heading")
        feat_heading.setToolTip("Click an input to switch that feature on or off; +/- change the layers "
                                "and neurons; hover an edge to see its weight, click it to type one.")
        ml.addWidget(feat_heading)
        ml.addWidget(self.network, 3)
        ml.addWidget(self.confusion, 2)

        right = QtWidgets.QWidget()
        rl = QtWidgets.QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(4)
        out_heading = QtWidgets.QLabel("OUTPUT")
        out_heading.setProperty("role", "heading")
        rl.addWidget(out_heading)
        # Side by side, or one under the other in presentation mode (a 1280-pixel projector).
        losses = self.losses_row = QtWidgets.QBoxLayout(QtWidgets.QBoxLayout.Direction.LeftToRight)
        losses.addWidget(self.test_loss_label)
        losses.addSpacing(16)
        losses.addWidget(self.train_loss_label)
        losses.addStretch(1)
        rl.addLayout(losses)
        rl.addWidget(self.error_banner)
        self.plot_box = SquareBox(self.data_plot)
        rl.addWidget(self.plot_box, 5)
        opts = QtWidgets.QHBoxLayout()
        opts.addWidget(self.legend)
        opts.addStretch(1)
        opts.addWidget(self.dataset_panel.show_test_check)
        opts.addWidget(self.discretize_check)
        self.plot_png_button = QtWidgets.QToolButton(text="PNG…")
        self.plot_png_button.setToolTip("Save a picture of this plot: the regions, the points and the axes.")
        self.plot_png_button.clicked.connect(self._on_export_plot)
        opts.addWidget(self.plot_png_button)
        rl.addLayout(opts)
        rl.addWidget(self.curves, 4)
        rl.addWidget(self.status_label)

        body = QtWidgets.QHBoxLayout()
        body.setContentsMargins(16, 8, 16, 8)
        body.setSpacing(18)
        body.addWidget(data_scroll, 0)
        body.addWidget(middle, 5)
        body.addWidget(right, 5)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.top_bar)
        outer.addLayout(body, 1)
        self._update_legend()

    def _connect(self) -> None:
        self.play_button.clicked.connect(self.toggle_play)
        self.step_button.clicked.connect(self.step)
        self.reset_button.clicked.connect(self.reset_network)
        for w in (self.lr_combo, self.reg_combo, self.reg_rate_combo, self.optimizer_combo):
            w.currentIndexChanged.connect(self._on_settings_changed)
        for w in (self.batch_spin, self.stop_epochs_spin, self.patience_spin):
            w.valueChanged.connect(self._on_settings_changed)
        self.dropout_spin.valueChanged.connect(self._on_settings_changed)
        self.stop_epochs_check.toggled.connect(self._on_settings_changed)
        self.stop_patience_check.toggled.connect(self._on_settings_changed)
        self.activation_combo.currentIndexChanged.connect(self._on_activation_combo_changed)
        self.problem_combo.currentIndexChanged.connect(self._on_problem_changed)
        self.model_combo.currentIndexChanged.connect(self._on_model_kind_changed)
        self.speed_slider.valueChanged.connect(self._on_speed_changed)
        self.cluster_button.clicked.connect(self._on_cluster_clicked)
        self.network.architecture_changed.connect(self._on_architecture_changed)
        self.network.weight_edited.connect(self._on_weight_edited)
        self.network.neuron_hovered.connect(self._on_neuron_hovered)
        self.dataset_panel.tool_changed.connect(self._on_tool_changed)
        self.dataset_panel.error_raised.connect(self._show_error)
        self.dataset_panel.class_list.currentRowChanged.connect(self._on_paint_class_changed)
        self.dataset_panel.value_spin.valueChanged.connect(self._on_paint_value_changed)
        self.dataset_panel.radius_slider.valueChanged.connect(self._on_radius_changed)
        self.dataset_panel.show_test_check.toggled.connect(self.data_plot.set_show_test)
        self.dataset_panel.delete_button.clicked.connect(self.data_plot.delete_selection)
        self.data_plot.selection_changed.connect(lambda n: self.dataset_panel.delete_button.setEnabled(n > 0))
        self.discretize_check.toggled.connect(self._on_discretize_toggled)
        self.store.changed.connect(self._on_store_changed)
        self.dataset_panel.data_replaced.connect(self._on_data_replaced)
        for keys, slot in (("Space", self.toggle_play), (QtGui.QKeySequence.StandardKey.Undo, self.undo_stack.undo),
                           (QtGui.QKeySequence.StandardKey.Redo, self.undo_stack.redo)):
            sc = QtGui.QShortcut(QtGui.QKeySequence(keys), self)
            sc.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)

    # ================================================================== specs
    @staticmethod
    def default_spec() -> RunSpec:
        """What the Playground shows when it opens: the spiral and a small tanh network."""
        return RunSpec(
            dataset=DatasetSpec(kind="spiral", n_samples=500, noise=0.0, seed=1, test_fraction=0.3),
            features=("x1", "x2", "sin(x1)", "sin(x2)"),
            model=ModelSpec(kind="mlp", hidden=(8, 6), activation="tanh"),
            train=TrainSpec(epochs=500, batch_size=16, optimizer="adam", learning_rate=0.03, seed=0),
        )

    def _model_spec(self) -> ModelSpec:
        kind = self.model_combo.currentData()
        if kind != "mlp":
            return ModelSpec(kind=kind, hidden=(), activation=self.activation_combo.currentData())
        acts = tuple(self.network.activations)
        activation = acts[0] if acts and all(a == acts[0] for a in acts) else acts
        if not acts:
            activation = self.activation_combo.currentData()
        return ModelSpec(kind="mlp", hidden=tuple(self.network.hidden), activation=activation)

    def _train_spec(self, for_session: bool) -> TrainSpec:
        reg = self.reg_combo.currentData()
        rate = float(self.reg_rate_combo.currentData())
        epochs = self.stop_epochs_spin.value()
        if for_session and not self.stop_epochs_check.isChecked():
            epochs = UNLIMITED_EPOCHS
        kind = self.model_combo.currentData()
        return TrainSpec(
            epochs=epochs, batch_size=self.batch_spin.value(),
            optimizer="sgd" if kind == "perceptron" else self.optimizer_combo.currentData(),
            learning_rate=float(self.lr_combo.currentData()),
            l1=rate if reg == "l1" else 0.0, l2=rate if reg == "l2" else 0.0,
            dropout=round(self.dropout_spin.value(), 4), seed=self.train_seed,
            patience=self.patience_spin.value() if self.stop_patience_check.isChecked() else 0)

    def _session_spec(self) -> RunSpec:
        return RunSpec(dataset=self.dataset_panel.dataset_spec(), features=tuple(self.network.features),
                       model=self._model_spec(), train=self._train_spec(for_session=True))

    def view_settings(self) -> dict:
        """The view's own settings, kept in the spec's ``meta``."""
        return {
            "playground": {
                "version": 1,
                "discretize": self.discretize_check.isChecked(),
                "show_test": self.dataset_panel.show_test_check.isChecked(),
                "stop_after_epochs": self.stop_epochs_check.isChecked(),
                "patience": self.patience_spin.value(),
                "stop_when_stalled": self.stop_patience_check.isChecked(),
                "speed": self.speed_slider.value(),
                "smoothing": self.curves.smoothing_slider.value(),
                "log_scale": self.curves.log_check.isChecked(),
                "x_axis": self.curves.axis_combo.currentIndex(),
                "regularization": self.reg_combo.currentData(),
                "presentation": self.presentation,
                "box": list(self.data_plot.box),
                # how long the saved weights were trained, so that reopening shows the same count
                "epoch": self.session.epoch,
            }
        }

    def current_spec(self) -> RunSpec:
        """Everything on screen as one run spec: data, features, model, settings, trained weights."""
        d = {
            "dataset": self.dataset_panel.dataset_spec().to_dict(),
            "features": list(self.network.features),
            "model": self._model_spec().to_dict(),
            "train": self._train_spec(for_session=False).to_dict(),
            "meta": self.view_settings(),
        }
        weights = self._current_weights()
        if weights is not None:
            d["weights"] = weights
        return RunSpec.from_dict(d)

    def _current_weights(self) -> list[dict] | None:
        snap = self.session.latest
        if snap is not None and snap.weights and all(np.isfinite(w["W"]).all() and np.isfinite(w["b"]).all()
                                                     for w in snap.weights):
            return [{"W": np.asarray(w["W"], dtype=float).tolist(), "b": np.asarray(w["b"], dtype=float).tolist()}
                    for w in snap.weights]
        if self.session.trainer is not None and not self.session.running:
            return self.session.trainer.model.get_weights()
        return None

    def load_run_spec(self, spec: RunSpec) -> None:
        """Show ``spec``: its data, network, settings, view settings and (when given) weights.

        Raises
        ------
        SpecError
            The data cannot be loaded or the weights do not fit (the view is unchanged then
            as far as the data goes).
        """
        self.session.wait_idle()
        meta = (spec.meta or {}).get("playground", {}) if isinstance(spec.meta, dict) else {}
        self._building = True
        try:
            self.dataset_panel.load_dataset_spec(spec)
            task = self.store.task
            blockers = [QtCore.QSignalBlocker(w) for w in (
                self.lr_combo, self.reg_combo, self.reg_rate_combo, self.optimizer_combo, self.batch_spin,
                self.dropout_spin, self.stop_epochs_check, self.stop_epochs_spin, self.stop_patience_check,
                self.patience_spin, self.problem_combo, self.model_combo, self.activation_combo,
                self.discretize_check, self.speed_slider)]
            t = spec.train
            _set_combo_data(self.problem_combo, task)
            _set_combo_data(self.model_combo, spec.model.kind)
            _set_combo_data(self.lr_combo, t.learning_rate)
            _set_combo_data(self.optimizer_combo, t.optimizer)
            reg = "l1" if t.l1 > 0 else "l2" if t.l2 > 0 else meta.get("regularization", "none")
            if reg not in ("none", "l1", "l2"):
                reg = "none"
            _set_combo_data(self.reg_combo, reg)
            _set_combo_data(self.reg_rate_combo, float(t.l1 or t.l2 or 0.0))
            self.batch_spin.setValue(t.batch_size)
            self.dropout_spin.setValue(t.dropout)
            self.stop_epochs_spin.setValue(min(t.epochs, self.stop_epochs_spin.maximum()))
            self.stop_epochs_check.setChecked(bool(meta.get("stop_after_epochs", False)))
            self.stop_patience_check.setChecked(t.patience > 0 or bool(meta.get("stop_when_stalled", False)))
            self.patience_spin.setValue(t.patience if t.patience > 0 else int(meta.get("patience", 20)))
            acts = spec.model.activations
            if acts:
                _set_combo_data(self.activation_combo, acts[0])
            elif isinstance(spec.model.activation, str):
                _set_combo_data(self.activation_combo, spec.model.activation)
            self.discretize_check.setChecked(bool(meta.get("discretize", False)))
            self.speed_slider.setValue(int(meta.get("speed", len(SPEEDS) - 1)))
            self.dataset_panel.show_test_check.setChecked(bool(meta.get("show_test", True)))
            self.curves.smoothing_slider.setValue(int(meta.get("smoothing", 0)))
            self.curves.log_check.setChecked(bool(meta.get("log_scale", False)))
            self.curves.axis_combo.setCurrentIndex(int(meta.get("x_axis", 0)))
            del blockers
            self.train_seed = t.seed
            self.network.set_architecture(spec.features, spec.model.hidden, acts, 1,
                                          layers_allowed=spec.model.kind == "mlp")
            self._update_enabled()
            self._on_speed_changed(self.speed_slider.value())
            self.curves.set_task(task)
            self.data_plot.value_scale = self._value_scale()
        finally:
            self._building = False
        self._update_box(refit=True)
        self.session.set_render_options(discretize=self.discretize_check.isChecked())
        self._rebuild_network(weights=spec.weights)
        epoch = meta.get("epoch")
        if isinstance(epoch, int) and epoch > 0 and self.session.trainer is not None \
                and self.session.spec.weights is not None:  # (not when the weights did not fit)
            self.session.epoch_offset = epoch
            self.session.refresh()
            self._on_frame()
        # A new document: undoing past it would mix its network with older data.
        self.undo_stack.clear()
        if "presentation" in meta and bool(meta["presentation"]) != self.presentation:
            self.set_presentation(bool(meta["presentation"]))

    # ================================================================== file actions
    def save(self, path: str) -> None:
        """Save the whole playground (a run spec ``python -m engine train`` accepts)."""
        save_spec(self.current_spec(), path)
        self.file_path = path

    def open(self, path: str) -> None:
        """Open a playground / run spec file (errors raise ``SpecError`` with a clear message)."""
        spec = load_spec(path)
        _check_network(spec, path)
        self.load_run_spec(spec)
        self.file_path = path
        self.spec_loaded.emit(path)

    def open_model(self, path: str) -> None:
        """Show a trained ``model.npz`` (e.g. fetched from a cluster job): its data, network and weights.

        Raises
        ------
        SpecError
            The file is not a model file, or its data cannot be found (relative data paths
            are looked up next to the model file).
        """
        from engine.estimators import read_model
        from engine.runner import load_model  # only this action needs the runner

        _check_network(read_model(path)[0], path)
        spec, _preprocess, network = load_model(path)
        base = os.path.dirname(os.path.abspath(path))
        self.load_run_spec(spec.with_(weights=tuple(network.get_weights()), base_dir=base))
        self.file_path = None

    # ================================================================== training controls
    def toggle_play(self) -> None:
        if self.session.running:
            self.session.pause()
        else:
            self.play()

    def play(self) -> None:
        if self.session.trainer is None:
            self._show_error(self.status_label.text() or "Nothing to train: paint some training points first.")
            return
        if not self.session.play():
            if self.session.trainer.status == "diverged":
                self._show_error(DIVERGED_TEXT + " (then press reset)")
            else:
                self.status_label.setText(f"Reached the limit of {self.stop_epochs_spin.value()} epochs: raise it "
                                          "or untick 'stop after' to go on, or reset.")

    def pause(self) -> None:
        self.session.pause()

    def step(self) -> None:
        if not self.session.running and self.session.trainer is not None:
            self.session.step()

    def reset_network(self) -> None:
        """New random weights (a new seed), same data and settings; the curves start over."""
        self.train_seed += 1
        self._rebuild_network()

    def _rebuild_network(self, weights=None) -> None:
        if self._building:
            return
        self._new_data = False  # this run starts on the data there is now
        self.error_banner.setVisible(False)
        self.curves.clear()
        self.confusion.clear()
        # A new network has no losses yet: the old run's numbers must not stay on screen.
        self._show_losses({})
        self.epoch_label.setText(f"{0:07,d}")
        self._drawn = None
        self._drawn_report = None
        spec = self._session_spec()
        if weights is not None:
            spec = spec.with_(weights=tuple(weights))
        ds = self.dataset_panel.dataset()
        if ds.n_train < 1:
            self.session.wait_idle()
            self.session.trainer = None
            self.session.latest = None
            self.data_plot.set_boundary(None)
            self.status_label.setText("Paint some points to train on (pick a class, then click in the plot).")
            self._sync_network_shape(None)
            self._update_play_button()
            return
        try:
            self.session.reset(spec, ds)
        except SpecError as exc:
            if weights is not None:
                # The saved weights do not fit: start from random ones and say so.
                self._show_error(f"the saved weights were not used: {exc}")
                self.session.reset(spec.with_(weights=None), ds)
            else:
                self._show_error(str(exc))
                return
        self.status_label.setText("")
        self._sync_network_shape(self.session.trainer.model)
        self._drawn = None  # the network drawing may have been rebuilt: draw the frame again
        self._on_frame()
        self._update_play_button()

    def _sync_network_shape(self, model) -> None:
        n_out = model.n_outputs if model is not None else max(self.store.n_classes, 1)
        if self.store.task != "classification":
            n_out, labels = 1, ["value"]
        else:
            labels = list(self.store.class_names) if n_out == self.store.n_classes else \
                [f"{self.store.class_names[1]} vs {self.store.class_names[0]}"]
        if n_out != self.network.n_outputs or labels != self.network.output_labels:
            self.network.n_outputs = n_out
            self.network.output_labels = labels
            self.network.rebuild()

    # ================================================================== reactions
    def _on_settings_changed(self, *_args) -> None:
        if self._building or self.session.trainer is None:
            return
        self.session.update_settings(self._session_spec())

    def _on_activation_combo_changed(self, _index: int) -> None:
        if not self._building:
            self.network.set_all_activations(self.activation_combo.currentData())
            if self.model_combo.currentData() != "mlp":
                self._rebuild_network()

    def _on_architecture_changed(self) -> None:
        self._rebuild_network()

    def _on_model_kind_changed(self, _index: int) -> None:
        kind = self.model_combo.currentData()
        if kind != "mlp":
            self.network.set_architecture(self.network.features, [], [], self.network.n_outputs,
                                          self.network.output_labels, layers_allowed=False)
        else:
            self.network.set_architecture(self.network.features, [4, 2],
                                          [self.activation_combo.currentData()] * 2, self.network.n_outputs,
                                          self.network.output_labels, layers_allowed=True)
        if kind != "mlp" and self.store.task == "regression":
            _set_combo_data(self.problem_combo, "classification")  # classifiers only classify
            return
        self._update_enabled()
        self._rebuild_network()

    def _on_problem_changed(self, _index: int) -> None:
        task = self.problem_combo.currentData()
        if task == "regression" and self.model_combo.currentData() != "mlp":
            with QtCore.QSignalBlocker(self.model_combo):
                _set_combo_data(self.model_combo, "mlp")
            self.network.set_architecture(self.network.features, [4, 2], ["tanh", "tanh"], 1, ["value"])
        self._building = True
        try:
            self.dataset_panel.set_task(task)
        finally:
            self._building = False
        self.curves.set_task(task)
        self.data_plot.value_scale = self._value_scale()
        self._update_box(refit=True)  # a preset of the other kind replaced the data
        self._update_legend()
        self._update_enabled()
        self.undo_stack.clear()
        self._rebuild_network()

    def _show_task(self, task: str) -> None:
        """Make the controls fit data of ``task`` that arrived without the problem combo."""
        with QtCore.QSignalBlocker(self.problem_combo):
            _set_combo_data(self.problem_combo, task)
        if task == "regression" and self.model_combo.currentData() != "mlp":
            with QtCore.QSignalBlocker(self.model_combo):
                _set_combo_data(self.model_combo, "mlp")  # classifiers only classify
            self.network.set_architecture(self.network.features, [4, 2], ["tanh", "tanh"], 1, ["value"])
        self.dataset_panel.show_task(task)
        self.curves.set_task(task)
        self._update_legend()
        self._update_enabled()

    def _update_enabled(self) -> None:
        mlp = self.model_combo.currentData() == "mlp"
        self.optimizer_combo.setEnabled(self.model_combo.currentData() != "perceptron")
        self.dropout_spin.setEnabled(mlp)

    def _on_speed_changed(self, index: int) -> None:
        speed = SPEEDS[index]
        self.session.speed = speed
        self.speed_label.setText("max" if speed is None else f"{speed:g} epochs/s")

    def _on_discretize_toggled(self, on: bool) -> None:
        self.session.set_render_options(discretize=on)
        self._on_frame()

    def _on_weight_edited(self, layer: int, i: int, j: int, value: float) -> None:
        self.session.set_weight(layer, i, j, value)
        self._on_frame()

    def _on_neuron_hovered(self, column: int, unit: int) -> None:
        if column < 0:
            self._hover = None
            self.session.set_render_options(preview=None)
            self.data_plot.set_preview(None)
            return
        if column == 0:
            name = FEATURES[unit]
            if name not in self.network.features:
                return
            unit = self.network.features.index(name)
        self._hover = (column, unit)
        caption = self.network.node_name(column, unit)
        if self.session.running:
            self.session.set_render_options(preview=(column, unit))
        else:
            pic = self.session.preview_picture(column, unit)
            if pic is not None:
                self.data_plot.set_preview(thumbnail_rgb(pic), caption)

    def _on_tool_changed(self, tool: str) -> None:
        self.data_plot.tool = tool
        self.data_plot.hover_at(None)

    def _on_paint_class_changed(self, row: int) -> None:
        self.data_plot.current_class = max(row, 0)

    def _on_paint_value_changed(self, value: float) -> None:
        self.data_plot.paint_value = float(value)

    def _on_radius_changed(self, value: int) -> None:
        self.data_plot.brush_radius = value / 10.0

    def _on_store_changed(self) -> None:
        if not self._building:
            self.data_timer.start()

    def _on_data_replaced(self) -> None:
        if not self._building:
            self._new_data = True

    def _on_data_settled(self) -> None:
        """The painted data changed: train on it (same network) or rebuild when it must.

        Another data set (a preset, a CSV file) starts a new run: a network trained on the old
        one, its epoch count and its curves would only confuse.
        """
        new_data, self._new_data = self._new_data, False
        trainer = self.session.trainer
        ds = self.dataset_panel.dataset()
        if self.problem_combo.currentData() != ds.task:
            self._show_task(ds.task)  # an imported file (or undoing one) changed the problem type
        self.data_plot.value_scale = self._value_scale()
        self._update_box(refit=new_data)  # imported data may lie outside the default square
        if new_data or trainer is None or ds.task != trainer.dataset.task \
                or ds.n_classes != trainer.dataset.n_classes or ds.n_train < 1:
            self._rebuild_network()
            return
        self.session.set_dataset(ds)
        self.status_label.setText("")

    def _value_scale(self) -> float:
        if self.store.task == "classification" or not len(self.store):
            return 1.0
        return float(np.abs(self.store.y).max()) or 1.0

    def _update_box(self, refit: bool = False) -> None:
        """Choose the plotted rectangle for the data.

        The default square holds the presets and painting. Data that leaves the shown
        rectangle, and (when ``refit``: another data set arrived) data far smaller than the
        square, get a rectangle fitted to them, so that a file's points fill the plot
        whatever their units. Painting never shrinks the rectangle under the brush.
        """
        X = self.store.X
        box = DEFAULT_BOX if refit else self.data_plot.box
        if len(X):
            lo, hi = X.min(axis=0), X.max(axis=0)
            x0, x1, y0, y1 = box
            outside = lo[0] < x0 or hi[0] > x1 or lo[1] < y0 or hi[1] > y1
            if refit or outside:
                box = _box_around(lo, hi)
        if box != self.data_plot.box:
            self.data_plot.set_box(box)
            self.network.set_feature_pictures(self._feature_pictures(box))
        self.session.set_render_options(box=box, value_scale=self._value_scale())

    def _on_export_plot(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save the plot as PNG", "playground-plot.png",
                                                        "PNG image (*.png)")
        if path:
            try:
                self.data_plot.export_png(path)
            except OSError as exc:
                self._show_error(f"Could not write {path}: {exc}")

    def _on_cluster_clicked(self) -> None:
        try:
            spec = self.current_spec()
        except SpecError as exc:
            self._show_error(str(exc))
            return
        self.run_on_cluster_requested.emit(spec)

    # ================================================================== drawing
    def _on_state_changed(self, state: str) -> None:
        self._update_play_button()
        snap = self.session.latest
        if state == "diverged":
            detail = snap.message if snap is not None else ""
            self.error_banner.setText(DIVERGED_TEXT)
            self.error_banner.setToolTip(detail)
            self.error_banner.setVisible(True)
            self.status_label.setText(detail)
            self.confusion.clear()  # the scores shown were of the weights before they blew up
            self._drawn_report = None
        elif state == "completed" and self.session.trainer is not None:
            trainer = self.session.trainer
            message = trainer.message
            if trainer.epoch >= trainer.spec.train.epochs:
                # The engine counts this trainer's epochs, which restart when a setting changes
                # during the run; the counter on screen counts the whole run.
                message = f"completed {self.session.epoch:,} epochs"
            self.status_label.setText(message)
        elif state == "running":
            self.status_label.setText("")
        self._on_frame()

    def _update_play_button(self) -> None:
        running = self.session.running
        self.play_button.setText("❚❚" if running else "▶")
        self.play_button.setToolTip(TIPS["play"])
        self.step_button.setEnabled(not running and self.session.trainer is not None)

    def _show_error(self, text: str) -> None:
        self.error_banner.setText(text)
        self.error_banner.setToolTip(text)
        self.error_banner.setVisible(True)

    def _on_frame(self) -> None:
        """Draw what is new since the last frame (called by the frame timer)."""
        drew = self.curves.redraw() if self._add_records() else False
        snap = self.session.latest
        if snap is None or snap is self._drawn:
            if drew:
                self.frames_drawn += 1
            return
        self._drawn = snap
        if snap.boundary is not None:
            self.data_plot.set_boundary(snap.boundary)
            self.boundary_frames += 1
        self.epoch_label.setText(f"{snap.epoch:07,d}".replace(",", ","))
        rec = snap.last_record
        if rec is not None:
            self._show_losses(rec)
        now = time.perf_counter()
        if now - self._network_drawn_at >= NETWORK_INTERVAL_S or not self.session.running:
            self._network_drawn_at = now
            self.network.show_weights(snap.weights)
            if snap.neurons is not None:
                self.network.show_neuron_pictures(snap.neurons)
        if self._hover is not None and snap.preview is not None and snap.preview_key == self._hover:
            self.data_plot.set_preview(thumbnail_rgb(snap.preview), self.network.node_name(*self._hover))
        if snap.report is not None and snap.report is not self._drawn_report:
            self._drawn_report = snap.report
            self._show_report(snap.report, snap.report_on)
        self.frames_drawn += 1
        # Tell the worker once the frame is painted. pyqtgraph asks for the repaint through
        # posted events that post the paint request in turn, so wait two event-loop passes.
        QtCore.QTimer.singleShot(0, lambda: QtCore.QTimer.singleShot(0, snap.drawn.set))

    def _add_records(self) -> bool:
        recs = self.session.take_records()
        if recs:
            self.curves.add_records(recs)
            last = recs[-1]
            self._show_losses(last)
        return bool(recs)

    def _show_losses(self, rec: dict) -> None:
        fmt = format_metric
        text = f"Test loss {fmt(rec.get('test_loss'))}"
        if rec.get("test_accuracy") is not None:
            text += f"  ·  accuracy {rec['test_accuracy']:.0%}"
        self.test_loss_label.setText(text)
        self.train_loss_label.setText(f"Training loss {fmt(rec.get('train_loss'))}")

    def _show_report(self, report: dict, which: str) -> None:
        self.confusion.title.setText("TEST SET" if which == "test" else "TRAINING SET (no test points)")
        if "confusion" in report:
            self.confusion.show_report(report, list(self.store.class_names))
        else:
            self.confusion.show_regression(report["mse"], report["r2"], report["n"])

    def _feature_pictures(self, box) -> dict[str, np.ndarray]:
        pts = grid_points(box, (28, 28))
        F = expand_features(pts, FEATURES)
        return {name: thumbnail_rgb(F[:, k].reshape(28, 28)) for k, name in enumerate(FEATURES)}

    def _update_legend(self) -> None:
        # Narrower in presentation mode, where the large check boxes beside it need the room.
        width = 72 if self.presentation else 160
        pm = QtGui.QPixmap(width, 16)
        p = QtGui.QPainter(pm)
        lut = theme.diverging_lut(width)
        for x in range(width):
            p.setPen(QtGui.QColor(int(lut[x, 0]), int(lut[x, 1]), int(lut[x, 2])))
            p.drawLine(x, 0, x, 16)
        p.end()
        self.legend.setPixmap(pm)

    # ================================================================== classroom
    def set_presentation(self, on: bool) -> None:
        """Large fonts and thick lines for a projector; the finer controls hidden."""
        self.presentation = bool(on)
        scale = theme.PRESENTATION_SCALE if on else 1.0
        self.setStyleSheet(theme.stylesheet(scale))
        self.data_plot.set_point_size(round(theme.BASE_POINT_SIZE * (1.4 if on else 1.0)))
        for plot in (self.curves.loss_plot, self.curves.acc_plot):
            plot.set_pen_width(3.5 if on else 1.5)
            for name in ("left", "bottom"):
                ax = plot.getPlotItem().getAxis(name)
                f = QtGui.QFont()
                f.setPointSizeF(9 * scale)
                ax.setStyle(tickFont=f)
            plot.getPlotItem().setTitle(plot.getPlotItem().titleLabel.text, size=f"{round(10 * scale)}pt")
            plot.legend.setLabelTextSize(f"{round(9 * scale)}pt")
            for _sample, label in plot.legend.items:
                label.setText(label.text)  # the new size applies when the text is set again
        for name in ("left", "bottom"):
            f = QtGui.QFont()
            f.setPointSizeF(9 * scale)
            self.data_plot.getPlotItem().getAxis(name).setStyle(tickFont=f)
        self.network.set_scale(1.2 if on else 1.0)
        self.dataset_panel.set_thumbnail_size(56 if on else 46)
        self.dataset_panel.set_compact_tools(on)
        # (the status line stays: why training stopped, or why play does nothing, matters most
        # when the class is watching)
        for w in (self.settings_row, self.dataset_panel.file_box, self.curves.controls, self.cluster_button,
                  self.dataset_panel.delete_button, self.plot_png_button, *self.regularization_boxes):
            w.setVisible(not on)
        self.losses_row.setDirection(QtWidgets.QBoxLayout.Direction.TopToBottom if on
                                     else QtWidgets.QBoxLayout.Direction.LeftToRight)
        self._update_legend()
        self.confusion.scores_hidden = on
        self.confusion.scores.setVisible(not on and not self.confusion.matrix.isHidden())
        self.confusion.set_base_height(230 if on else 300)
        self.data_scroll.setMinimumWidth(self.dataset_panel.minimumSizeHint().width() + 16)
        self.data_scroll.setMaximumWidth(max(self.data_scroll.minimumWidth(), 330))
        self._drawn = None
        if self.session.latest is not None:
            self._on_frame()

    def resizeEvent(self, ev) -> None:  # Qt override
        super().resizeEvent(ev)
        # the test panel's share of its column depends on the column's height
        QtCore.QTimer.singleShot(0, lambda: self.confusion.fit_rows(self.confusion.matrix.rowCount()))

    # ================================================================== app protocol
    def prepare_screenshot(self, epochs: int = 150) -> None:
        """Train the opening demo for ``epochs`` epochs synchronously and draw it."""
        self.session.wait_idle()
        trainer = self.session.trainer
        if trainer is None:
            return
        records = []
        for _ in range(epochs):
            rec = trainer.train_epoch()
            if rec is None or trainer.status != "running":
                break
            records.append(rec)
        self.session.refresh()
        self.session.pending_records.extend(records)
        self._on_frame()
        self._on_state_changed(self.session.state)

    def shutdown(self) -> None:
        """Stop the worker before the window goes away."""
        self.frame_timer.stop()
        self.session.wait_idle()
