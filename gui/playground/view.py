"""The Playground view: paint data, build a network, press play and watch it learn.

Layout (like TensorFlow Playground, which every ML teacher knows): the settings bar on
top (:mod:`~gui.playground.settings_bar`, with the training controls); below it the data
column (:mod:`~gui.playground.dataset_panel`), the network drawn as a graph with the
test-set scores under it, and the output panel (:mod:`~gui.playground.output_panel`:
losses, the plot box with the decision regions behind the points, the curves).

The view composes them and decides what happens: the settings live in a Qt-free
:class:`~gui.playground.settings.PlaygroundSettings`, training in a
:class:`~gui.playground.training.TrainingSession`, and a
:class:`~gui.playground.frame_drawer.FrameDrawer` puts the session's snapshots on screen.
"""

from __future__ import annotations

import json
import os

import numpy as np

from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import qdebounced

from engine.spec import (
    ACTIVATIONS,
    FEATURES,
    DatasetSpec,
    ModelSpec,
    RunSpec,
    SpecError,
    TrainSpec,
    load_spec,
    save_spec,
)
from gui import theme
from gui.playground.cluster_panel import ClusterPanel
from gui.widgets import tooltips
from gui.playground.confusion import ConfusionPanel
from gui.playground.evaluation_panel import EvaluationPanel
from gui.playground.curves import CurvesPanel
from gui.playground.data_plot import DEFAULT_BOX, DataPlot
from gui.playground.dataset_panel import DatasetPanel
from gui.playground.frame_drawer import FrameDrawer
from gui.playground.hidden_controls import HiddenControls, names_from_meta
from gui.playground.history import HISTORY_COLUMNS, history_of, records_from_history
from gui.playground.network_editor import NetworkEditor
from gui.playground.output_panel import OutputPanel
from gui.playground.roc_panel import RocPanel
from gui.playground.plot_box import PlotBox
from gui.playground.points import PointStore
from gui.playground.render import feature_pictures
from gui.playground.settings import (
    NETWORK_FIELDS, TRAINING_FIELDS, PlaygroundSettings, check_playground_model, playground_meta,
)
from gui.playground.settings_bar import SettingsBar
from gui.playground.tips import DIVERGED_TEXT, NO_POINTS_TEXT
from gui.playground.training import TrainingSession
from gui.playground.training_controls import TrainingControls

FRAME_INTERVAL_MS = 100
#: the most steps an opened model file of a kind without weights is refitted with
MAX_REFIT_STEPS = 1_000_000
ARCHITECTURE_FIELDS = frozenset({"model_kind", "features", "hidden", "activations"})


class PlaygroundView(QtWidgets.QWidget):
    """The classroom window; see the module docstring."""

    run_on_cluster_requested = QtCore.Signal(object)
    spec_loaded = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.presentation = False
        self.file_path: str | None = None
        self._saved_document = ""
        self._building = True
        #: the next data change is another data set: start a new run on it
        self._new_data = False

        # (tooltips explain concepts in sentences: wrapped, not one line across the screen)
        tooltips.install()
        self.settings = PlaygroundSettings()
        self.store = PointStore(self)
        self.undo_stack = QtGui.QUndoStack(self)
        self.session = TrainingSession(self)
        self.controls = TrainingControls()
        self.settings_bar = SettingsBar(self.settings, self.controls)
        self.dataset_panel = DatasetPanel(self.store, self.undo_stack)
        #: the controls a setup hides for an exercise
        self.hidden = HiddenControls(self.settings_bar, self.dataset_panel)
        self.data_plot = DataPlot(self.store, self.undo_stack)
        self.plot_box = PlotBox(self.data_plot, self.settings)
        self.network = NetworkEditor(FEATURES, ACTIVATIONS)
        self.curves = CurvesPanel()
        self.confusion = ConfusionPanel()
        self.cluster_panel = ClusterPanel()
        self.output = OutputPanel(self.plot_box, self.curves)
        self.frames = FrameDrawer(self.session, self.controls, self.output, self.network, self.confusion,
                                  lambda: list(self.store.class_names))
        self.roc = RocPanel()
        self.frames.roc = self.roc
        self.evaluation = EvaluationPanel(self.evaluation_spec)
        self._build_layout()
        self._connect()

        # Frames are drawn as they arrive; the timer only catches curves' records that
        # arrived without a new picture.
        self.frame_timer = QtCore.QTimer(self)
        self.frame_timer.setInterval(FRAME_INTERVAL_MS)
        self.frame_timer.timeout.connect(self.frames.draw)
        self.session.snapshot_arrived.connect(self.frames.draw)
        # A brush stroke changes the points many times a second: the run takes them once the
        # stroke has paused for 60 ms.
        self._settle_data = qdebounced(self._on_data_settled, timeout=60, parent=self)
        #: painted or imported points are waiting to reach the run
        self.data_pending = False

        self.network.set_feature_pictures(feature_pictures(DEFAULT_BOX))
        self.set_presentation(False)
        self.session.speed = self.settings.speed
        self.output.set_model(self.settings.model_kind, self.settings.problem)
        self._building = False
        self.load_run_spec(self.default_spec())
        self.undo_stack.clear()
        self.frame_timer.start()

    # ================================================================== construction
    def _build_layout(self) -> None:
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
        ml.addWidget(self.network, 3)
        # The test set's scores and its ROC curves share one place under the network. The tab bar
        # that switches them sits in the corner of their heading row, outside the layout, so the
        # network drawing and the score tables (which size themselves to this column) keep their room.
        self.test_switch = QtWidgets.QTabBar(middle)
        self.test_switch.setDocumentMode(True)
        self.test_switch.setDrawBase(False)
        self.test_switch.setExpanding(False)
        self.test_switch.addTab("Scores")
        self.test_switch.addTab("ROC")
        self.test_switch.setTabToolTip(1, "ROC curves and AUC of the test set")
        self.test_switch.setStyleSheet("QTabBar::tab { padding: 1px 10px; border: none; color: #5F6368; }"
                                       "QTabBar::tab:selected { color: #202124; border-bottom: 2px solid #1A73E8; }")
        self.test_switch.currentChanged.connect(self._show_test_tab)
        ml.addWidget(self.confusion, 2)
        ml.addWidget(self.roc, 2)
        self.roc.setVisible(False)
        for panel in (self.confusion, self.roc):
            panel.installEventFilter(self)
        # in the network's place for models without one (clustering)
        ml.addWidget(self.cluster_panel, 5)
        self.cluster_panel.setVisible(False)

        body = QtWidgets.QHBoxLayout()
        body.setContentsMargins(16, 8, 16, 8)
        body.setSpacing(18)
        body.addWidget(data_scroll, 0)
        body.addWidget(middle, 5)
        # Evaluation needs the width of the output column, not the live picture beside it.
        self.output_tabs = QtWidgets.QTabWidget()
        self.output_tabs.setDocumentMode(True)
        self.output_tabs.addTab(self.output, "Training")
        # in a scroll area: its controls must not widen the column on a small (projector) screen
        evaluation_scroll = QtWidgets.QScrollArea()
        evaluation_scroll.setWidget(self.evaluation)
        evaluation_scroll.setWidgetResizable(True)
        evaluation_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        evaluation_scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.output_tabs.addTab(evaluation_scroll, "Evaluation")
        body.addWidget(self.output_tabs, 5)
        self.middle = middle
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.settings_bar)
        outer.addLayout(body, 1)

    def eventFilter(self, watched, event) -> bool:  # Qt override: keep the test tab bar in its corner
        if watched in (self.confusion, self.roc) and event.type() in (
                QtCore.QEvent.Type.Resize, QtCore.QEvent.Type.Move, QtCore.QEvent.Type.Show):
            self._place_test_switch()
        return super().eventFilter(watched, event)

    def _place_test_switch(self) -> None:
        shown = self.roc if self.roc.isVisibleTo(self) else self.confusion
        bar = self.test_switch
        bar.resize(bar.sizeHint())
        bar.move(shown.x() + shown.width() - bar.width(), shown.y())
        bar.raise_()

    def _show_test_tab(self, index: int) -> None:
        """Scores (0) or ROC (1); the ROC plot takes the height the score tables had."""
        roc = index == 1
        if roc:
            self.roc.setMaximumHeight(max(self.confusion.height(), self.confusion.maximumHeight()))
        self.confusion.setVisible(not roc)
        self.roc.setVisible(roc)
        self._place_test_switch()

    def _connect(self) -> None:
        self.session.state_changed.connect(self._on_state_changed)
        self.session.failed.connect(self.output.show_error)
        self.settings.events.changed.connect(self._on_settings_changed)
        self.controls.play_clicked.connect(self.toggle_play)
        self.controls.step_clicked.connect(self.step)
        self.controls.reset_clicked.connect(self.reset_network)
        self.settings_bar.cluster_requested.connect(self._on_cluster_requested)
        self.settings_bar.invalid_value.connect(self.output.show_error)
        self.settings_bar.step_requested.connect(self.step)
        self.data_plot.marker_dragged.connect(self._on_marker_dragged)
        self.frames.on_model_info = self._show_model_info
        self.network.architecture_changed.connect(self._on_network_edited)
        self.network.weight_edited.connect(self._on_weight_edited)
        self.network.neuron_hovered.connect(self.frames.show_neuron)
        self.plot_box.error_raised.connect(self.output.show_error)
        self.dataset_panel.error_raised.connect(self.output.show_error)
        paint = self.dataset_panel.paint
        paint.tool_changed.connect(self.data_plot.set_tool)
        paint.paint_class_changed.connect(self.data_plot.set_paint_class)
        paint.paint_value_changed.connect(self.data_plot.set_paint_value)
        paint.brush_radius_changed.connect(self.data_plot.set_brush_radius)
        paint.intensity_changed.connect(self.data_plot.set_intensity)
        paint.delete_requested.connect(self.data_plot.delete_selection)
        self.data_plot.selection_changed.connect(paint.set_selection_size)
        self.dataset_panel.data_replaced.connect(self._on_data_replaced)
        self.store.changed.connect(self._on_store_changed)
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

    def _session_spec(self) -> RunSpec:
        return self.settings.run_spec(self.dataset_panel.dataset_spec(), for_session=True)

    def view_settings(self) -> dict:
        """The view's own settings, kept in the spec's ``meta``."""
        meta = self.settings.view_meta()
        meta.update(self.curves.view_settings())
        meta.update(presentation=self.presentation, box=list(self.data_plot.box),
                    # how long the saved weights were trained, so that reopening shows the same count
                    epoch=self.session.epoch)
        # ... and the curves they were trained through, so that it shows the same curves
        buf = self.curves.buffer
        history = history_of({c: buf.column(c) for c in HISTORY_COLUMNS})
        if history is not None:
            meta["history"] = history
        if self.hidden_controls:
            meta["hide"] = sorted(self.hidden_controls)
        return {"playground": meta}

    def current_spec(self) -> RunSpec:
        """Everything on screen as one run spec: data, features, model, settings, trained weights."""
        d = self.settings.run_spec(self.dataset_panel.dataset_spec(), meta=self.view_settings()).to_dict()
        snap = self.session.snapshot
        if snap is not None and snap.weights and snap.finite:
            d["weights"] = snap.weights_as_lists()
        return RunSpec.from_dict(d)

    def evaluation_spec(self) -> RunSpec:
        """What the Evaluation tab evaluates: everything on screen but the trained weights."""
        return self.settings.run_spec(self.dataset_panel.dataset_spec())

    def load_run_spec(self, spec: RunSpec) -> None:
        """Show ``spec``: its data, network, settings, view settings and (when given) weights.

        Raises
        ------
        SpecError
            The data cannot be loaded or the weights do not fit (the view is unchanged then
            as far as the data goes).
        """
        self.session.stop()
        meta = playground_meta(spec)
        self._building = True
        try:
            self.dataset_panel.load_dataset_spec(spec)
            task = self.store.task
            self.settings.apply_spec(spec, task)
            self.curves.apply_view_settings(meta)
            self.curves.set_task(task)
            self.data_plot.value_scale = self.store.value_scale()
        finally:
            self._building = False
        self._update_box(refit=True)
        self.session.set_render_options(discretize=self.settings.discretize)
        epoch = meta.get("epoch")
        trained = epoch if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch > 0 else 0
        self._rebuild_network(weights=spec.weights, epoch=trained if spec.weights is not None else 0)
        if spec.weights is not None and "history" in meta and self.session.epoch == trained:
            self._show_history(meta["history"])
        self._apply_hidden_from(meta)
        # A new document: undoing past it would mix its network with older data.
        self.undo_stack.clear()
        if "presentation" in meta and bool(meta["presentation"]) != self.presentation:
            self.set_presentation(bool(meta["presentation"]))
        self.mark_saved()

    def _show_history(self, history) -> None:
        """Draw the saved curves of the reopened weights and their last losses in the header."""
        try:
            records = records_from_history(history)
        except SpecError as exc:
            self.output.show_error(f"the saved curves were not read: {exc}")
            return
        if records:
            self.curves.add_records(records)
            self.curves.redraw()
            self.output.show_losses(records[-1])

    # ================================================================== hidden controls
    @property
    def hidden_controls(self) -> frozenset[str]:
        """The controls hidden for an exercise (names of ``HIDEABLE_CONTROLS``)."""
        return self.hidden.names

    def set_hidden_controls(self, names) -> None:
        """Hide the controls ``names`` (of ``HIDEABLE_CONTROLS``) for an exercise; show the others."""
        self.hidden.set(names)

    def _apply_hidden_from(self, meta: dict) -> None:
        names, problems = names_from_meta(meta)
        for line in problems:
            self.output.show_error(line)
        self.set_hidden_controls(names)

    # ================================================================== file actions
    def _document(self) -> str:
        """Everything a saved file would hold, as one canonical JSON text."""
        return json.dumps(self.current_spec().to_dict(), sort_keys=True)

    def mark_saved(self) -> None:
        """What is on screen now is what the file (or the opened setup) holds."""
        self._saved_document = self._document()

    def has_unsaved_changes(self) -> bool:
        """Whether the data, network, settings, trained weights or curves changed since the last open or save."""
        try:
            return self._document() != self._saved_document
        except SpecError:
            return True  # (a setup that cannot even be written down is not saved)

    def saved_spec(self) -> RunSpec:
        """The setup as last opened or saved (what discarding the changes comes back to)."""
        return RunSpec.from_dict(json.loads(self._saved_document))

    def save(self, path: str) -> None:
        """Save the whole playground (a run spec ``python -m engine train`` accepts)."""
        spec = self.current_spec()
        save_spec(spec, path)
        self.file_path = path
        self._saved_document = json.dumps(spec.to_dict(), sort_keys=True)

    def open(self, path: str) -> None:
        """Open a playground / run spec file (errors raise ``SpecError`` with a clear message)."""
        spec = load_spec(path)
        check_playground_model(spec, path)
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
        from engine.model_io import load_model

        spec, fitted = read_model(path)
        check_playground_model(spec, path)
        base = os.path.dirname(os.path.abspath(path))
        if not spec.model.is_network:
            # No weights to set: the same data and settings solve to the same model, in
            # moments for the Playground's few hundred points (SMO and DBSCAN are
            # deterministic; k-means starts from the file's centroids, its fixed point).
            self.load_run_spec(spec.with_(base_dir=base))
            if self.session.has_network:
                centroids = getattr(fitted, "centroids", None)
                pre = getattr(fitted, "preprocess", None)
                if centroids is not None and pre is not None and pre.mean is None and \
                        tuple(pre.features) == ("x1", "x2"):
                    for i, (x, y) in enumerate(np.asarray(centroids, np.float64)):
                        self.session.edit_model(("centroid", i, float(x), float(y)))
                self.session.train_now(MAX_REFIT_STEPS)
                self.frames.draw()
                self._on_state_changed(self.session.state)
            self.file_path = None
            return
        spec, _preprocess, network = load_model(path)
        self.load_run_spec(spec.with_(weights=tuple(network.get_weights()), base_dir=base))
        self.file_path = None

    # ================================================================== training controls
    def toggle_play(self) -> None:
        if self.session.running:
            self.session.pause()
        else:
            self.play()

    def play(self) -> None:
        if not self.session.has_network:
            self.output.show_error(self.output.status() or "Nothing to train: paint some training points first.")
            return
        if not self.session.start():
            snap = self.session.snapshot
            if snap is not None and snap.status == "diverged":
                self.output.show_error(DIVERGED_TEXT + " (then press reset)")
            elif not self.settings.is_network and snap is not None:
                self.output.set_status(f"{snap.message}. Change a setting or the points to train again.")
            else:
                self.output.set_status(f"Reached the limit of {self.settings.epochs} epochs: raise it "
                                       "or untick 'stop after' to go on, or reset.")

    def pause(self) -> None:
        self.session.pause()

    def step(self) -> None:
        if not self.session.running and self.session.has_network:
            self.session.step()

    def reset_network(self) -> None:
        """New random weights (a new seed), same data and settings; the curves start over."""
        self.settings.seed += 1
        self._rebuild_network()

    def draw_frame(self) -> None:
        """Draw what is new now instead of at the next frame tick."""
        self.frames.draw()

    def _rebuild_network(self, weights=None, epoch: int = 0) -> None:
        if self._building:
            return
        self._new_data = False  # this run starts on the data there is now
        self.output.hide_error()
        self.curves.clear()
        self.confusion.clear()
        self.roc.clear()
        # A new network has no losses yet: the old run's numbers must not stay on screen.
        self.output.show_losses({})
        self.controls.show_epoch(0)
        self.frames.forget()
        spec = self._session_spec()
        if weights is not None:
            spec = spec.with_(weights=tuple(weights))
        ds = self.dataset_panel.dataset()
        if ds.n_train < 1:
            self.session.clear()
            self.data_plot.set_boundary(None)
            self.data_plot.set_overlays(())
            self.output.set_status(NO_POINTS_TEXT)
            self.network.fit_outputs(self.store.task, self.store.class_names, None)
            self._update_play_button()
            return
        try:
            self.session.reset(spec, ds, epoch)
        except SpecError as exc:
            if weights is None:
                self.output.show_error(str(exc))
                return
            # The saved weights do not fit: start from random ones and say so.
            self.output.show_error(f"the saved weights were not used: {exc}")
            self.session.reset(spec.with_(weights=None), ds)
        self.output.set_status("")
        self.network.fit_outputs(self.store.task, self.store.class_names, self.session.n_outputs)
        self.frames.forget()  # the network drawing may have been rebuilt: draw the frame again
        self.frames.draw()
        self._update_play_button()

    def _update_play_button(self) -> None:
        self.controls.show_running(self.session.running, self.session.has_network)
        self.network.set_draft(self.session.running)

    # ================================================================== reactions
    def _on_settings_changed(self, names: frozenset[str]) -> None:
        s = self.settings
        self.network.default_activation = s.activation
        if names & ARCHITECTURE_FIELDS:
            self.network.show_architecture(s.features, s.hidden, s.activations, layers_allowed=s.has_layers)
        if names & {"model_kind", "problem"}:
            self.output.set_model(s.model_kind, s.problem)
        if "speed_index" in names:
            self.session.speed = s.speed
        if "model_kind" in names:
            self._show_middle_column()
        if "discretize" in names:
            self.session.set_render_options(discretize=s.discretize)
            self.frames.draw()
        if self._building:
            return
        if "problem" in names:
            self._switch_problem(s.problem)
        elif names & NETWORK_FIELDS:
            self._rebuild_network()
        elif names & TRAINING_FIELDS and self.session.has_network:
            self.session.set_spec(self._session_spec())

    def _show_middle_column(self) -> None:
        """The network editor and test scores, or the clustering panel for models without a network."""
        from gui.playground.model_adapters import adapter_for

        adapter = adapter_for(self.settings.model_kind)
        network = adapter is None or adapter.uses_network_editor
        self.network.setVisible(network)
        self.test_switch.setVisible(network)
        if network:
            self._show_test_tab(self.test_switch.currentIndex())
        else:
            self.confusion.setVisible(False)
            self.roc.setVisible(False)
        self.cluster_panel.setVisible(not network)

    def _show_model_info(self, info: dict | None, status: str) -> None:
        self.settings_bar.show_model_info(info, status)
        self.cluster_panel.show_info(info)

    def _on_marker_dragged(self, name: str, index: int, x: float, y: float) -> None:
        """A centroid dragged by hand: the model takes it (between two steps while training)."""
        self.session.edit_model(("centroid", index, x, y))
        self.frames.draw()

    def _on_network_edited(self) -> None:
        net = self.network
        self.settings.set(features=net.features, hidden=net.hidden, activations=net.activations)

    def _switch_problem(self, task: str) -> None:
        """The problem type was chosen: a preset of that kind replaces the data, and a new run starts."""
        self._building = True
        try:
            self.dataset_panel.set_task(task)
        finally:
            self._building = False
        self.curves.set_task(task)
        self.data_plot.value_scale = self.store.value_scale()
        self._update_box(refit=True)  # a preset of the other kind replaced the data
        # (no clearing of the undo stack: Undo brings the painted points back, and the problem
        # type follows the data they are)
        self._rebuild_network()

    def _show_task(self, task: str) -> None:
        """Make the controls fit data of ``task`` that arrived without the problem combo."""
        self._building = True
        try:
            self.settings.set(problem=task)  # (classifiers only classify: the model may change too)
        finally:
            self._building = False
        self.dataset_panel.show_task(task)
        self.curves.set_task(task)

    def _on_weight_edited(self, layer: int, i: int, j: int, value: float) -> None:
        self.session.set_weight(layer, i, j, value)
        self.frames.draw()

    def _on_store_changed(self) -> None:
        if not self._building:
            self.data_pending = True
            self._settle_data()

    def _on_data_replaced(self) -> None:
        if not self._building:
            self._new_data = True

    def _on_data_settled(self) -> None:
        """The painted data changed: train on it (same network) or rebuild when it must.

        Another data set (a preset, a CSV file) starts a new run: a network trained on the old
        one, its epoch count and its curves would only confuse.
        """
        self.data_pending = False
        new_data, self._new_data = self._new_data, False
        ds = self.dataset_panel.dataset()
        if self.settings.problem != ds.task:
            self._show_task(ds.task)  # an imported file (or undoing one) changed the problem type
        self.data_plot.value_scale = self.store.value_scale()
        self._update_box(refit=new_data)  # imported data may lie outside the default square
        old = self.session.dataset
        if new_data or old is None or ds.task != old.task or ds.n_classes != old.n_classes or ds.n_train < 1:
            self._rebuild_network()
            return
        self.session.set_dataset(ds)
        self.output.set_status("")

    def _update_box(self, refit: bool = False) -> None:
        """Fit the plotted rectangle to the data (see :meth:`PlotBox.fit_box`); the pictures follow it."""
        if self.plot_box.fit_box(self.store.X, refit):
            self.network.set_feature_pictures(feature_pictures(self.data_plot.box))
        self.session.set_render_options(box=self.data_plot.box, value_scale=self.store.value_scale())

    def _on_cluster_requested(self) -> None:
        try:
            spec = self.current_spec()
        except SpecError as exc:
            self.output.show_error(str(exc))
            return
        self.run_on_cluster_requested.emit(spec)

    # ================================================================== session state
    def _on_state_changed(self, state: str) -> None:
        self._update_play_button()
        self.output.show_state(state, self.session.snapshot)
        if state == "diverged":
            self.confusion.clear()  # the scores shown were of the weights before they blew up
            self.roc.clear()
            self.frames.forget()
        self.frames.draw()

    # ================================================================== classroom
    def set_presentation(self, on: bool) -> None:
        """Large fonts and thick lines for a projector; the finer controls hidden."""
        self.presentation = bool(on)
        self.setStyleSheet(theme.presentation_stylesheet(on))
        # the Training / Evaluation tabs stay compact on a projector: the output plot needs the height
        self.output_tabs.tabBar().setStyleSheet("QTabBar::tab { font-size: 14px; padding: 0px 12px; margin: 0px; }" if on else "")
        for child in (self.settings_bar, self.dataset_panel, self.network, self.confusion, self.roc, self.output,
                      self.cluster_panel):
            child.set_presentation(on)
        self.frames.forget(report=False)
        if self.session.snapshot is not None:
            self.frames.draw()
        # Lay out again now: the sizes the layouts cached hold the other mode's texts and fonts
        # until the next event loop pass, and a window resized in between would grow to them.
        self._relayout()
        self.data_scroll.setMinimumWidth(self.dataset_panel.minimumSizeHint().width() + 16)
        self.data_scroll.setMaximumWidth(max(self.data_scroll.minimumWidth(), 330))
        self._relayout()
        if self.hidden_controls:
            self.hidden.apply()  # the presentation mode shows its own controls

    def _relayout(self) -> None:
        # the layout requests the new fonts posted (a tab widget's among them) are served first
        QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.Type.LayoutRequest)
        # (innermost first: a layout that changes tells its parent's)
        for w in reversed((self, *self.findChildren(QtWidgets.QWidget))):
            if w.layout() is not None:
                w.layout().invalidate()
                w.layout().activate()

    def resizeEvent(self, ev) -> None:  # Qt override
        super().resizeEvent(ev)
        # the test panel's share of its column depends on the column's height
        QtCore.QTimer.singleShot(0, self.confusion.refit)

    # ================================================================== app protocol
    def prepare_screenshot(self, epochs: int = 150) -> None:
        """Train the opening demo for ``epochs`` epochs synchronously and draw it."""
        self.session.stop()
        if not self.session.has_network:
            return
        self.session.train_now(epochs)
        self.frames.draw()
        self._on_state_changed(self.session.state)

    def shutdown(self) -> None:
        """Stop training and end the training process before the window goes away."""
        self.frame_timer.stop()
        # (a data change still settling would build a network, and start a process for it,
        # after the window has gone)
        self._settle_data.cancel()
        self.session.close()
        self.evaluation.shutdown()
