"""Painting tools and their undo commands.

Every edit of the :class:`~gui.playground.points.PointStore` goes through a
``QUndoCommand`` on one ``QUndoStack``. Strokes (airbrush, erase, drag-move) change the
store live while the mouse moves, then push one command marked ``applied`` so the
stack's first ``redo()`` does nothing and a single undo takes back the whole stroke.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtGui

from gui.playground.points import PointStore

TOOLS = ("put", "airbrush", "erase", "select")

TOOL_TIPS = {
    "put": "Put: click to add one point of the chosen class.",
    "airbrush": "Airbrush: hold the mouse button and move to spray a cloud of points of the chosen class.",
    "erase": "Erase: click or drag over points to remove them.",
    "select": "Select: drag a rectangle around points, then drag the selection to move it or press Delete.",
}


class _StoreCommand(QtGui.QUndoCommand):
    def __init__(self, store: PointStore, text: str, applied: bool):
        super().__init__(text)
        self.store = store
        self._skip_redo = applied

    def redo(self) -> None:  # Qt override
        if self._skip_redo:
            self._skip_redo = False
            return
        self._redo()

    def _redo(self) -> None:
        raise NotImplementedError


class AddPointsCommand(_StoreCommand):
    """Append points; undo removes them again (they are the last rows while on the stack)."""

    def __init__(self, store: PointStore, X, y, test, text: str = "add points", applied: bool = False):
        super().__init__(store, text, applied)
        self.X = np.asarray(X, dtype=np.float64).reshape(-1, 2).copy()
        self.y = np.asarray(y, dtype=np.float64).reshape(-1).copy()
        self.test = np.asarray(test, dtype=bool).reshape(-1).copy()

    def _redo(self) -> None:
        self.store.append(self.X, self.y, self.test)

    def undo(self) -> None:  # Qt override
        self.store.remove_last(len(self.X))


class RemovePointsCommand(_StoreCommand):
    """Remove points; undo appends them back at the end, redo removes those last rows."""

    def __init__(self, store: PointStore, indices=None, removed=None, text: str = "remove points",
                 applied: bool = False):
        super().__init__(store, text, applied)
        self.indices = None if indices is None else np.asarray(indices, dtype=np.intp)
        self.removed = removed  # (X, y, test) once taken

    def _redo(self) -> None:
        if self.removed is None:
            self.removed = self.store.take(self.indices)
        else:
            self.store.remove_last(len(self.removed[0]))

    def undo(self) -> None:  # Qt override
        self.store.append(*self.removed)


class MovePointsCommand(_StoreCommand):
    """Shift the points at ``indices`` by ``delta``."""

    def __init__(self, store: PointStore, indices, delta, text: str = "move points", applied: bool = False):
        super().__init__(store, text, applied)
        self.indices = np.asarray(indices, dtype=np.intp).copy()
        self.delta = (float(delta[0]), float(delta[1]))

    def _redo(self) -> None:
        self.store.move(self.indices, self.delta)

    def undo(self) -> None:  # Qt override
        self.store.move(self.indices, (-self.delta[0], -self.delta[1]))


class ReplaceStoreCommand(_StoreCommand):
    """Swap the whole store (clear, regenerate, load, class list edits)."""

    def __init__(self, store: PointStore, before: tuple, after: tuple, text: str, applied: bool = False):
        super().__init__(store, text, applied)
        self.before, self.after = before, after

    def _redo(self) -> None:
        self.store.restore(self.after)

    def undo(self) -> None:  # Qt override
        self.store.restore(self.before)


def airbrush_points(center: tuple[float, float], radius: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points spread uniformly over a disc, ``(n, 2)``."""
    r = radius * np.sqrt(rng.random(n))
    t = rng.random(n) * 2 * np.pi
    return np.column_stack([center[0] + r * np.cos(t), center[1] + r * np.sin(t)])


def remove_class_state(state: tuple, cls: int) -> tuple:
    """The store state with class ``cls`` and its points removed, later classes shifted down."""
    X, y, test, task, names = state
    keep = y != cls
    y2 = y[keep].copy()
    y2[y2 > cls] -= 1
    names2 = [n for i, n in enumerate(names) if i != cls]
    return X[keep].copy(), y2, test[keep].copy(), task, names2
