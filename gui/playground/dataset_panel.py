"""The data column: presets with thumbnails, the painter's tools and classes, CSV in and out.

The panel owns how the :class:`PointStore` gets filled (presets via the engine's
``load_dataset``, painting, CSV files) and how it is written back into a
``DatasetSpec``: an untouched preset stays a preset (the engine regenerates it exactly),
anything painted or imported is saved as inline points.
"""

from __future__ import annotations

import os

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import signals_blocked

from engine.data import DataError, Dataset, load_dataset, make_preset, write_csv
from engine.spec import CLASSIFICATION_PRESETS, REGRESSION_PRESETS, DatasetSpec, RunSpec, SpecError
from gui import theme
from gui.playground.combo import slider
from gui.playground.paint_panel import PaintPanel
from gui.playground.painter import ReplaceStoreCommand
from gui.playground.points import MAX_CLASSES, PointStore, split_mask
from gui.playground.tips import PRESET_TIPS, PRESET_TITLES

THUMB_SAMPLES = 240


def preset_thumbnail(kind: str, size: int) -> QtGui.QPixmap:
    """A small picture of a preset: its points, coloured by class or value."""
    regression = kind in REGRESSION_PRESETS
    X, y = make_preset(kind, THUMB_SAMPLES, 0.0, 3, 3)
    pm = QtGui.QPixmap(size, size)
    pm.fill(QtGui.QColor("white"))
    p = QtGui.QPainter(pm)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    scale = size / 12.0
    dot = max(2.0, size / 22.0)
    ymax = float(np.abs(y).max()) if regression and len(y) else 1.0
    for (x1, x2), v in zip(X, y):
        if regression:
            r, g, b = theme.diverging_color(float(v), ymax)
            color = QtGui.QColor(r, g, b)
        else:
            color = QtGui.QColor(theme.CLASS_COLORS[int(v) % len(theme.CLASS_COLORS)])
        p.setBrush(color)
        p.drawEllipse(QtCore.QPointF((x1 + 6) * scale, (6 - x2) * scale), dot / 2, dot / 2)
    p.end()
    return pm


class DatasetPanel(QtWidgets.QWidget):
    """Presets, painter tools, class list and file import/export for one :class:`PointStore`."""

    error_raised = QtCore.Signal(str)
    #: another data set was chosen (a preset or a file), not the same one edited
    data_replaced = QtCore.Signal()

    def __init__(self, store: PointStore, undo_stack: QtGui.QUndoStack, parent=None):
        super().__init__(parent)
        self.store = store
        self.undo_stack = undo_stack
        self.task = "classification"
        self.kind = "spiral"
        self.seed = 1
        self.standardize = False
        self._pristine_revision = -1
        self._thumb_size = 46
        self._regression_value = 1.0

        heading = QtWidgets.QLabel("DATA")
        heading.setProperty("role", "heading")
        self.preset_box = QtWidgets.QWidget()
        self.preset_grid = QtWidgets.QGridLayout(self.preset_box)
        self.preset_grid.setContentsMargins(0, 0, 0, 0)
        self.preset_grid.setSpacing(4)
        self.preset_group = QtWidgets.QButtonGroup(self)
        self.preset_group.setExclusive(True)
        self.preset_buttons: dict[str, QtWidgets.QToolButton] = {}
        for kind in CLASSIFICATION_PRESETS + REGRESSION_PRESETS:
            b = QtWidgets.QToolButton()
            b.setCheckable(True)
            b.setProperty("role", "preset")
            b.setToolTip(PRESET_TIPS[kind])
            b.setAccessibleName(PRESET_TITLES[kind])
            b.clicked.connect(lambda _=False, k=kind: self.choose_preset(k))
            self.preset_group.addButton(b)
            self.preset_buttons[kind] = b
        self._render_thumbnails()

        self.ratio_slider = slider(10, 90, 70, "Share of the points used for training; the rest is the test set. "
                                    "The test set is never trained on, so it shows how well the network "
                                    "generalizes to points it has not seen.")
        self.noise_slider = slider(0, 50, 0, "Noise blurs the classes into each other. Real data is noisy; "
                                    "a network that fits the noise exactly is overfitting.")
        self.points_slider = slider(20, 2000, 500, "How many points the preset generates (train and test together).")
        self.points_slider.setSingleStep(10)
        self.points_slider.setPageStep(100)
        self.classes_spin = QtWidgets.QSpinBox()
        self.classes_spin.setRange(2, MAX_CLASSES)
        self.classes_spin.setValue(3)
        self.classes_spin.setToolTip("Number of classes (clouds) of the Blobs preset.")
        self.regenerate_button = QtWidgets.QPushButton("Regenerate")
        self.regenerate_button.setToolTip("Draw a fresh sample of the preset (a new random seed).")
        self.ratio_label = QtWidgets.QLabel()
        self.noise_label = QtWidgets.QLabel()
        self.points_label = QtWidgets.QLabel()
        for w in (self.ratio_slider,):
            w.valueChanged.connect(self._on_ratio_changed)
        self.noise_slider.valueChanged.connect(self._update_labels)
        self.points_slider.valueChanged.connect(self._update_labels)
        self.noise_slider.sliderReleased.connect(self.regenerate_same_seed)
        self.points_slider.sliderReleased.connect(self.regenerate_same_seed)
        self.classes_spin.valueChanged.connect(lambda _v: self.regenerate_same_seed())
        self.regenerate_button.clicked.connect(self.regenerate)

        self.paint = PaintPanel(store, undo_stack)
        self.paint.error_raised.connect(self.error_raised)

        self.import_button = QtWidgets.QToolButton(text="Import CSV…")
        self.import_button.setToolTip("Load points from a CSV file: two feature columns and a label column "
                                      "(the last one unless named 'label').")
        self.export_button = QtWidgets.QToolButton(text="Export CSV…")
        self.export_button.setToolTip("Save the points (train and test) as a CSV file: x1, x2, label.")
        self.import_button.clicked.connect(self._on_import_clicked)
        self.export_button.clicked.connect(self._on_export_clicked)

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(5)
        lay.addWidget(heading)
        lay.addWidget(self.preset_box)
        form = QtWidgets.QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.ratio_label, self.ratio_slider)
        form.addRow(self.noise_label, self.noise_slider)
        form.addRow(self.points_label, self.points_slider)
        self.classes_row_label = QtWidgets.QLabel("Classes")
        form.addRow(self.classes_row_label, self.classes_spin)
        lay.addLayout(form)
        lay.addWidget(self.regenerate_button)
        lay.addWidget(self.paint)
        self.file_box = QtWidgets.QWidget()
        fl = QtWidgets.QHBoxLayout(self.file_box)
        fl.setContentsMargins(0, 0, 0, 0)
        fl.addWidget(self.import_button)
        fl.addWidget(self.export_button)
        lay.addWidget(self.file_box)
        lay.addStretch(1)

        self._update_labels()
        self._layout_presets()

    # ------------------------------------------------------------------ presets
    def _render_thumbnails(self) -> None:
        for kind, b in self.preset_buttons.items():
            pm = preset_thumbnail(kind, self._thumb_size)
            b.setIcon(QtGui.QIcon(pm))
            b.setIconSize(QtCore.QSize(self._thumb_size, self._thumb_size))

    def set_thumbnail_size(self, size: int) -> None:
        self._thumb_size = size
        self._render_thumbnails()

    def set_presentation(self, on: bool) -> None:
        """Larger thumbnails, the paint panel's presentation mode, no file buttons."""
        self.set_thumbnail_size(56 if on else 46)
        self.paint.set_presentation(on)
        self.file_box.setVisible(not on)

    def _layout_presets(self) -> None:
        kinds = CLASSIFICATION_PRESETS if self.task == "classification" else REGRESSION_PRESETS
        for b in self.preset_buttons.values():
            self.preset_grid.removeWidget(b)
            b.setVisible(False)
        for i, kind in enumerate(kinds):
            b = self.preset_buttons[kind]
            self.preset_grid.addWidget(b, i // 4, i % 4)
            b.setVisible(True)
        self.paint.show_task(self.task)
        self._update_classes_row()

    def _update_classes_row(self) -> None:
        show = self.kind == "blobs"
        self.classes_spin.setVisible(show)
        self.classes_row_label.setVisible(show)

    def _update_labels(self) -> None:
        test = self.ratio_slider.value()
        self.ratio_label.setText(f"Train {test}%")
        self.noise_label.setText(f"Noise {self.noise_slider.value()}")
        self.points_label.setText(f"Points {self.points_slider.value()}")

    def preset_dataset_spec(self, kind: str | None = None, seed: int | None = None) -> DatasetSpec:
        kind = kind or self.kind
        return DatasetSpec(
            kind=kind, n_samples=self.points_slider.value(), noise=self.noise_slider.value() / 100.0,
            seed=self.seed if seed is None else seed, test_fraction=self.test_fraction,
            n_classes=self.classes_spin.value(), standardize=self.standardize)

    @property
    def test_fraction(self) -> float:
        return round(1.0 - self.ratio_slider.value() / 100.0, 2)

    def set_task(self, task: str) -> None:
        """Switch between classification and regression presets (generates the first one)."""
        if task == self.task:
            return
        self.task = task
        self.kind = CLASSIFICATION_PRESETS[0] if task == "classification" else REGRESSION_PRESETS[0]
        self._layout_presets()
        self.choose_preset(self.kind)

    def show_task(self, task: str) -> None:
        """Show the presets and paint controls of ``task`` for data that is already there."""
        if task != self.task:
            self.task = task
            self._layout_presets()

    def choose_preset(self, kind: str) -> None:
        self.kind = kind
        self.preset_buttons[kind].setChecked(True)
        self._update_classes_row()
        revision = self.store.revision
        self._generate(undo_text=f"preset {kind}")
        if self.store.revision != revision:
            self.data_replaced.emit()

    def regenerate(self) -> None:
        """A new sample of the current preset (new seed)."""
        self.seed += 1
        if self.kind in CLASSIFICATION_PRESETS + REGRESSION_PRESETS:
            self._generate(undo_text="regenerate")
        else:
            self.choose_preset(CLASSIFICATION_PRESETS[0] if self.task == "classification" else REGRESSION_PRESETS[0])

    def regenerate_same_seed(self) -> None:
        self._update_labels()
        if self.kind in CLASSIFICATION_PRESETS + REGRESSION_PRESETS:
            self._generate(undo_text="change preset settings")

    def _generate(self, undo_text: str) -> None:
        spec = RunSpec(dataset=self.preset_dataset_spec())
        try:
            ds = load_dataset(spec)
        except SpecError as exc:
            self.error_raised.emit(str(exc))
            return
        self._replace_with_dataset(ds, undo_text)
        self._pristine_revision = self.store.revision

    def _replace_with_dataset(self, ds: Dataset, undo_text: str, order: np.ndarray | None = None) -> None:
        before = self.store.state()
        X = np.concatenate([ds.X_train, ds.X_test])
        y = np.concatenate([ds.y_train, ds.y_test]).astype(np.float64)
        test = np.concatenate([np.zeros(ds.n_train, bool), np.ones(ds.n_test, bool)])
        if order is not None:
            X, y, test = _in_original_order(order, X, y, test)
        if ds.task == "classification":
            names = list(ds.class_names)
        else:
            names = []
        self.store.test_fraction = self.test_fraction
        after = (X, y, test, ds.task, names)
        self.undo_stack.push(ReplaceStoreCommand(self.store, before, after, undo_text))
        self.paint.refresh_classes()

    def _on_ratio_changed(self) -> None:
        self._update_labels()
        if self.is_pristine():
            self._generate(undo_text="train/test ratio")
        else:
            before = self.store.state()
            after = (before[0], before[1], split_mask(before[1], self.test_fraction, self.seed,
                                                      self.task == "classification"), before[3], before[4])
            self.store.test_fraction = self.test_fraction
            self.undo_stack.push(ReplaceStoreCommand(self.store, before, after, "train/test ratio"))

    def is_pristine(self) -> bool:
        """True while the store holds exactly the current preset (nothing painted)."""
        return self.store.revision == self._pristine_revision and self.kind in (
            CLASSIFICATION_PRESETS + REGRESSION_PRESETS)

    # ------------------------------------------------------------------ the data as a spec / Dataset
    def dataset(self) -> Dataset:
        """The store's points as an engine ``Dataset`` (copies; the store may change later)."""
        s = self.store
        X_train, y_train, X_test, y_test = s.split()
        if s.task == "classification":
            y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
            return Dataset(X_train, y_train, X_test, y_test, "classification", s.n_classes,
                           tuple(s.class_names))
        return Dataset(X_train, y_train, X_test, y_test, "regression", 1, ())

    def dataset_spec(self) -> DatasetSpec:
        """The data as a spec: the preset when untouched, else the points inline."""
        if self.is_pristine():
            return self.preset_dataset_spec()
        s = self.store
        # Each point keeps its train/test flag: reopening trains and scores on the same split.
        points = tuple((float(x), float(y), float(v), 1.0 if t else 0.0) for (x, y), v, t in zip(s.X, s.y, s.test))
        return DatasetSpec(
            kind="points", seed=self.seed, test_fraction=self.test_fraction, standardize=self.standardize,
            task=s.task, points=points or None,
            class_names=tuple(s.class_names) if s.task == "classification" else None)

    def load_dataset_spec(self, spec: RunSpec) -> None:
        """Fill the store from a spec (presets regenerate; points and files are loaded)."""
        ds_spec = spec.dataset
        ds = load_dataset(spec)
        self.task = ds.task
        self.seed = ds_spec.seed
        self.standardize = ds_spec.standardize
        with signals_blocked(self.ratio_slider):
            self.ratio_slider.setValue(int(round((1 - ds_spec.test_fraction) * 100)))
        if ds_spec.is_preset:
            self.kind = ds_spec.kind
            for w, v in ((self.noise_slider, int(round(ds_spec.noise * 100))),
                         (self.points_slider, ds_spec.n_samples), (self.classes_spin, ds_spec.n_classes)):
                with signals_blocked(w):
                    w.setValue(v)
            self.preset_buttons[self.kind].setChecked(True)
        else:
            self.kind = ds_spec.kind
            self._uncheck_presets()
        self._update_labels()
        self._layout_presets()
        order = np.asarray(ds_spec.points, dtype=np.float64) if ds_spec.kind == "points" else None
        self._replace_with_dataset(ds, "open", order)
        self._pristine_revision = self.store.revision if ds_spec.is_preset else -1

    def _uncheck_presets(self) -> None:
        self.preset_group.setExclusive(False)
        for b in self.preset_buttons.values():
            b.setChecked(False)
        self.preset_group.setExclusive(True)

    # ------------------------------------------------------------------ CSV
    def import_csv(self, path: str) -> None:
        """Replace the points with a CSV file's (errors go to ``error_raised``)."""
        try:
            spec = RunSpec(dataset=DatasetSpec(kind="csv", path=os.path.abspath(path),
                                               test_fraction=self.test_fraction, seed=self.seed))
            ds = load_dataset(spec)
            if ds.task == "classification" and self.task == "regression":
                # Whole-number labels are classes by default; with the problem type set to
                # regression, numeric labels stay a target (text labels stay classes).
                try:
                    ds = load_dataset(spec.with_(dataset=DatasetSpec(
                        kind="csv", path=os.path.abspath(path), test_fraction=self.test_fraction,
                        seed=self.seed, task="regression")))
                except SpecError:
                    pass
            if ds.n_features_raw != 2:
                raise DataError(path, None, f"has {ds.n_features_raw} feature columns; the playground plots 2")
        except SpecError as exc:
            self.error_raised.emit(str(exc))
            return
        self.task = ds.task
        self.kind = "points"
        self._uncheck_presets()  # the points are the file's now, not any preset's
        self._layout_presets()
        self._replace_with_dataset(ds, "import CSV")
        self._pristine_revision = -1
        self.data_replaced.emit()

    def export_csv(self, path: str) -> None:
        s = self.store
        if s.task == "classification":
            write_csv(path, s.X, s.y.astype(np.int64), tuple(s.class_names))
        else:
            write_csv(path, s.X, s.y, None)

    def _on_import_clicked(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Import points", "", "CSV files (*.csv);;All files (*)")
        if path:
            self.import_csv(path)

    def _on_export_clicked(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export points", "points.csv", "CSV files (*.csv)")
        if path:
            try:
                self.export_csv(path)
            except (OSError, SpecError) as exc:
                self.error_raised.emit(f"Could not write {path}: {exc}")


def _in_original_order(order: np.ndarray, X: np.ndarray, y: np.ndarray, test: np.ndarray):
    """Rows ``(X, y, test)`` put back in the order of the points ``order (n, 3)`` they came from.

    The engine's split returns training rows, then test rows; a file that is opened and
    saved again should list its points as it did, so the rows are matched by position and
    label (by position alone when the labels were renamed to class indices).
    """
    for keyed in (True, False):
        slots: dict[tuple, list[int]] = {}
        for i in range(len(X)):
            key = (float(X[i, 0]), float(X[i, 1])) + ((float(y[i]),) if keyed else ())
            slots.setdefault(key, []).append(i)
        idx = []
        for a, b, label in order[:, :3]:
            bucket = slots.get((float(a), float(b)) + ((float(label),) if keyed else ()))
            if not bucket:
                break
            idx.append(bucket.pop())
        else:
            idx = np.asarray(idx, dtype=np.intp)
            return X[idx], y[idx], test[idx]
    return X, y, test  # not the same points after all: keep the split order
