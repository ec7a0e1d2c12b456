"""Small helpers for the Playground's combo boxes and titled controls."""

from __future__ import annotations

import math
from typing import Any, Iterable

from PySide6 import QtCore, QtWidgets


def combo(items: Iterable[tuple[str, Any]], tip: str) -> QtWidgets.QComboBox:
    """A combo box of ``(text, data)`` items with a tooltip."""
    c = QtWidgets.QComboBox()
    for text, data in items:
        c.addItem(text, data)
    c.setToolTip(tip)
    return c


def labeled(title: str, widget: QtWidgets.QWidget) -> QtWidgets.QWidget:
    """``widget`` with a small title above it (the title shares its tooltip)."""
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


def set_combo_data(combo_box: QtWidgets.QComboBox, value: Any) -> None:
    """Select the item whose data is ``value``; a float not listed is added as an item."""
    for i in range(combo_box.count()):
        d = combo_box.itemData(i)
        if d == value or (isinstance(d, float) and isinstance(value, (int, float)) and math.isclose(d, value)):
            combo_box.setCurrentIndex(i)
            return
    if isinstance(value, float):
        combo_box.addItem(f"{value:g}", value)
        combo_box.setCurrentIndex(combo_box.count() - 1)


def slider(lo: int, hi: int, value: int, tip: str) -> QtWidgets.QSlider:
    """A horizontal slider from ``lo`` to ``hi`` at ``value`` with a tooltip."""
    s = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setValue(value)
    s.setToolTip(tip)
    return s
