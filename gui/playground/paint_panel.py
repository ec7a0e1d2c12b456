"""The painter's controls: tools, brush, the classes (or the value) to paint with, undo and clear."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import signals_blocked

from gui import theme
from gui.playground.combo import slider
from gui.playground.painter import (
    DEFAULT_INTENSITY, INTENSITY_RANGE, TOOL_TIPS, TOOL_TITLES, TOOLS, ReplaceStoreCommand, remove_class_state,
)
from gui.playground.points import MAX_CLASSES, MIN_CLASSES, PointStore


class PaintPanel(QtWidgets.QWidget):
    """What a click in the plot does; the plot follows the signals."""

    tool_changed = QtCore.Signal(str)
    #: the class index painted points get
    paint_class_changed = QtCore.Signal(int)
    #: the target value painted points get (regression)
    paint_value_changed = QtCore.Signal(float)
    #: the airbrush's and eraser's radius in data units (at the default box)
    brush_radius_changed = QtCore.Signal(float)
    #: how dense the airbrush sprays and how hard jitter and magnet work (1..10)
    intensity_changed = QtCore.Signal(int)
    delete_requested = QtCore.Signal()
    error_raised = QtCore.Signal(str)

    def __init__(self, store: PointStore, undo_stack: QtGui.QUndoStack, parent=None):
        super().__init__(parent)
        self.store = store
        self.undo_stack = undo_stack
        self.tool_buttons: dict[str, QtWidgets.QToolButton] = {}
        tool_row = QtWidgets.QGridLayout()
        tool_row.setSpacing(2)
        self.tool_group = QtWidgets.QButtonGroup(self)
        for k, (tool, title) in enumerate(zip(TOOLS, TOOL_TITLES)):
            b = QtWidgets.QToolButton(text=title)
            b.setCheckable(True)
            b.setProperty("role", "tool")
            b.setToolTip(TOOL_TIPS[tool])
            b.clicked.connect(lambda _=False, t=tool: self.set_tool(t))
            self.tool_group.addButton(b)
            self.tool_buttons[tool] = b
            b.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
            tool_row.addWidget(b, *self._tool_cell(k, compact=False))
        self.tool_buttons["put"].setChecked(True)
        self.radius_slider = slider(1, 30, 6, "Size of the brush: the airbrush, the eraser, jitter and magnet.")
        self.intensity_slider = slider(*INTENSITY_RANGE, DEFAULT_INTENSITY,
                                       "Intensity: how many points the airbrush sprays, how hard jitter shakes "
                                       "the points and how strongly the magnet pulls them.")
        self.undo_button = QtWidgets.QToolButton(text="Undo")
        self.undo_button.setToolTip("Take back the last edit of the data (Ctrl+Z).")
        self.redo_button = QtWidgets.QToolButton(text="Redo")
        self.redo_button.setToolTip("Redo the edit just undone (Ctrl+Shift+Z).")
        self.clear_button = QtWidgets.QToolButton(text="Clear")
        self.clear_button.setToolTip("Remove every point, to paint a data set from scratch.")
        self.delete_button = QtWidgets.QToolButton(text="Delete sel.")
        self.delete_button.setToolTip("Delete the selected points (Delete key).")
        self.delete_button.setEnabled(False)
        self.undo_button.clicked.connect(undo_stack.undo)
        self.redo_button.clicked.connect(undo_stack.redo)
        undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)
        self.clear_button.clicked.connect(self.clear_points)

        # classes
        self.class_list = QtWidgets.QListWidget()
        self.class_list.setToolTip("The classes to paint with: pick one, then click in the plot. "
                                   "Double-click a name to rename it. Colours are safe for colour-blind viewers.")
        self.class_list.setMaximumHeight(130)
        self.class_list.currentRowChanged.connect(self._on_class_selected)
        self.class_list.itemChanged.connect(self._on_class_renamed)
        self.add_class_button = QtWidgets.QToolButton(text="+")
        self.add_class_button.setToolTip("Add a class to paint with (at most 8).")
        self.remove_class_button = QtWidgets.QToolButton(text="−")
        self.remove_class_button.setToolTip("Remove the selected class and its points (at least 2 stay).")
        self.add_class_button.clicked.connect(self.add_class)
        self.remove_class_button.clicked.connect(self.remove_current_class)
        self.value_spin = QtWidgets.QDoubleSpinBox()
        self.value_spin.setRange(-10.0, 10.0)
        self.value_spin.setSingleStep(0.25)
        self.value_spin.setValue(1.0)
        self.value_spin.setToolTip("Regression: the target value that painted points get "
                                   "(blue positive, orange negative).")

        pl = QtWidgets.QVBoxLayout(self)
        pl.setContentsMargins(0, 6, 0, 0)
        pl.setSpacing(4)
        paint_heading = QtWidgets.QLabel("PAINT")
        paint_heading.setProperty("role", "heading")
        pl.addWidget(paint_heading)
        pl.addLayout(tool_row)
        self.tool_grid = tool_row
        brush_form = QtWidgets.QFormLayout()
        brush_form.setContentsMargins(0, 0, 0, 0)
        brush_form.addRow("Brush", self.radius_slider)
        brush_form.addRow("Intensity", self.intensity_slider)
        pl.addLayout(brush_form)
        pl.addWidget(self.class_list)
        crow = QtWidgets.QHBoxLayout()
        crow.addWidget(self.add_class_button)
        crow.addWidget(self.remove_class_button)
        crow.addStretch(1)
        self.value_label = QtWidgets.QLabel("Value")
        crow.addWidget(self.value_label)
        crow.addWidget(self.value_spin)
        pl.addLayout(crow)
        erow = QtWidgets.QGridLayout()
        erow.setSpacing(2)
        for k, b in enumerate((self.undo_button, self.redo_button, self.delete_button, self.clear_button)):
            b.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
            erow.addWidget(b, k // 2, k % 2)
        pl.addLayout(erow)
        store.classes_changed.connect(self.refresh_classes)
        self.radius_slider.valueChanged.connect(lambda v: self.brush_radius_changed.emit(v / 10.0))
        self.intensity_slider.valueChanged.connect(self.intensity_changed)
        self.value_spin.valueChanged.connect(lambda v: self.paint_value_changed.emit(float(v)))
        self.delete_button.clicked.connect(self.delete_requested)

    def show_task(self, task: str) -> None:
        """Classes to pick for classification, a value to paint for regression."""
        regression = task == "regression"
        self.class_list.setVisible(not regression)
        self.add_class_button.setVisible(not regression)
        self.remove_class_button.setVisible(not regression)
        self.value_label.setVisible(regression)
        self.value_spin.setVisible(regression)

    def set_selection_size(self, n: int) -> None:
        """How many points are selected (delete needs some)."""
        self.delete_button.setEnabled(n > 0)

    def set_presentation(self, on: bool) -> None:
        """The tools in two rows (large fonts); no delete button."""
        self.set_compact_tools(on)
        self.delete_button.setVisible(not on)

    @staticmethod
    def _tool_cell(k: int, compact: bool) -> tuple[int, int]:
        columns = 2 if compact else 3
        return k // columns, k % columns

    def set_compact_tools(self, compact: bool) -> None:
        """Three rows of two tool buttons (large fonts) or two rows of three."""
        for k, b in enumerate(self.tool_buttons.values()):
            self.tool_grid.removeWidget(b)
            self.tool_grid.addWidget(b, *self._tool_cell(k, compact))

    def set_tool(self, tool: str) -> None:
        self.tool_buttons[tool].setChecked(True)
        self.tool_changed.emit(tool)

    def clear_points(self) -> None:
        before = self.store.state()
        X, y, test, task, names = before
        after = (np.zeros((0, 2)), np.zeros(0), np.zeros(0, bool), task, names)
        self.undo_stack.push(ReplaceStoreCommand(self.store, before, after, "clear"))

    def current_class(self) -> int:
        return max(self.class_list.currentRow(), 0)

    def refresh_classes(self) -> None:
        with signals_blocked(self.class_list):
            row = self.class_list.currentRow()
            self.class_list.clear()
            colors = theme.class_colors(self.store.n_classes)  # imported data may have more than 8 classes
            for i, name in enumerate(self.store.class_names):
                item = QtWidgets.QListWidgetItem(name)
                pm = QtGui.QPixmap(14, 14)
                pm.fill(QtGui.QColor(colors[i]))
                icon = QtGui.QIcon(pm)
                icon.addPixmap(pm, QtGui.QIcon.Mode.Selected)  # keep the true colour when selected
                item.setIcon(icon)
                item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsEditable)
                self.class_list.addItem(item)
            n = self.class_list.count()
            self.class_list.setCurrentRow(min(max(row, 0), n - 1) if n else -1)
        self.add_class_button.setEnabled(self.store.n_classes < MAX_CLASSES)
        self.remove_class_button.setEnabled(self.store.n_classes > MIN_CLASSES)
        self._on_class_selected(self.class_list.currentRow())

    def _on_class_selected(self, row: int) -> None:
        self.paint_class_changed.emit(max(row, 0))

    def select_class(self, index: int) -> None:
        self.class_list.setCurrentRow(index)

    def add_class(self) -> None:
        if self.store.n_classes >= MAX_CLASSES:
            return
        before = self.store.state()
        used = set(self.store.class_names)
        name = next(f"class {i}" for i in range(MAX_CLASSES * 2) if f"class {i}" not in used)
        after = before[:4] + (before[4] + [name],)
        self.undo_stack.push(ReplaceStoreCommand(self.store, before, after, "add class"))
        self.select_class(self.store.n_classes - 1)

    def remove_current_class(self) -> None:
        if self.store.n_classes <= MIN_CLASSES:
            return
        before = self.store.state()
        after = remove_class_state(before, self.current_class())
        self.undo_stack.push(ReplaceStoreCommand(self.store, before, after, "remove class"))

    def _on_class_renamed(self, item: QtWidgets.QListWidgetItem) -> None:
        row = self.class_list.row(item)
        name = item.text().strip()
        names = list(self.store.class_names)
        if not name or name in names[:row] + names[row + 1:]:
            self.error_raised.emit(f"Class names must be distinct and not empty: {name!r}")
            self.refresh_classes()
            return
        if names[row] != name:
            before = self.store.state()
            names[row] = name
            self.undo_stack.push(ReplaceStoreCommand(self.store, before, before[:4] + (names,), "rename class"))
