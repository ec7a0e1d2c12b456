"""Painting tools, their arithmetic and their undo commands.

The tools are those of Orange's Paint Data: put, airbrush, erase, select (and move), and
jitter (shake the points under the brush apart) and magnet (pull them toward the brush).
Every edit of the :class:`~gui.playground.points.PointStore` goes through a
``QUndoCommand`` on one ``QUndoStack``. Strokes (airbrush, erase, drag-move) change the
store live while the mouse moves, then push one command marked ``applied`` so the
stack's first ``redo()`` does nothing and a single undo takes back the whole stroke.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtGui

from gui.playground.points import PointStore

TOOLS = ("put", "airbrush", "erase", "select", "jitter", "magnet")
TOOL_TITLES = ("Put", "Airbrush", "Erase", "Select", "Jitter", "Magnet")
#: tools that draw the brush's circle and work on the points under it
BRUSH_TOOLS = ("airbrush", "erase", "jitter", "magnet")

TOOL_TIPS = {
    "put": "Put: click to add one point of the chosen class.",
    "airbrush": "Airbrush: hold the mouse button and move to spray a cloud of points of the chosen class "
                "(Intensity sets how dense).",
    "erase": "Erase: click or drag over points to remove them.",
    "select": "Select: drag a rectangle around points, then drag the selection to move it or press Delete.",
    "jitter": "Jitter: hold the mouse button over points to shake them apart, making the classes noisier "
              "(Intensity sets how hard).",
    "magnet": "Magnet: hold the mouse button near points to pull them toward the pointer, making a cloud "
              "tighter (Intensity sets how strongly).",
}

#: the Intensity slider's range and default
INTENSITY_RANGE = (1, 10)
DEFAULT_INTENSITY = 5
#: at the default intensity: a jitter step's spread (share of the brush radius) and the share of
#: the way to the pointer a magnet step pulls the points at its centre
JITTER_SPREAD = 0.06
MAGNET_PULL = 0.12


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


class SetPositionsCommand(_StoreCommand):
    """Points at ``indices`` go from positions ``before (k, 2)`` to ``after (k, 2)`` (jitter, magnet)."""

    def __init__(self, store: PointStore, indices, before, after, text: str, applied: bool = False):
        super().__init__(store, text, applied)
        self.indices = np.asarray(indices, dtype=np.intp).copy()
        self.before = np.asarray(before, dtype=np.float64).reshape(-1, 2).copy()
        self.after = np.asarray(after, dtype=np.float64).reshape(-1, 2).copy()

    def _redo(self) -> None:
        self.store.set_positions(self.indices, self.after)

    def undo(self) -> None:  # Qt override
        self.store.set_positions(self.indices, self.before)


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


def airbrush_count(intensity: int) -> int:
    """Points the airbrush sprays per mouse move at ``intensity`` (6 at the default)."""
    return max(1, int(round(1.2 * intensity)))


def jitter_step(X: np.ndarray, center, radius: float, intensity: int, rng: np.random.Generator,
                box=None) -> tuple[np.ndarray, np.ndarray]:
    """One jitter step: the points within ``radius`` of ``center`` shaken by Gaussian noise.

    Parameters
    ----------
    X : ndarray, shape (n, 2)
    center : (x, y)
    radius : float
        The brush radius (data units); the noise's spread is ``JITTER_SPREAD * radius`` at the
        default intensity, proportional to ``intensity``.
    box : (xmin, xmax, ymin, ymax), optional
        Points are kept inside it.

    Returns
    -------
    indices : ndarray, shape (k,)
        The rows moved.
    positions : ndarray, shape (k, 2)
        Their new positions.
    """
    idx = _within(X, center, radius)
    scale = JITTER_SPREAD * radius * intensity / DEFAULT_INTENSITY
    new = X[idx] + rng.normal(0.0, scale, (len(idx), 2))
    return idx, _clip(new, box)


def magnet_step(X: np.ndarray, center, radius: float, intensity: int) -> tuple[np.ndarray, np.ndarray]:
    """One magnet step: the points within ``radius`` of ``center`` pulled toward it.

    A point at distance ``d`` moves ``MAGNET_PULL * intensity / DEFAULT_INTENSITY * (1 - d / radius)``
    of the way to ``center`` (at most all the way): the pull fades to nothing at the brush's rim,
    and no point overshoots the centre.

    Returns
    -------
    indices : ndarray, shape (k,)
    positions : ndarray, shape (k, 2)
    """
    idx = _within(X, center, radius)
    c = np.asarray(center, dtype=np.float64)
    d = np.sqrt(((X[idx] - c) ** 2).sum(axis=1))
    share = np.clip(MAGNET_PULL * intensity / DEFAULT_INTENSITY * (1.0 - d / radius), 0.0, 1.0)
    return idx, X[idx] + (c - X[idx]) * share[:, None]


def _within(X: np.ndarray, center, radius: float) -> np.ndarray:
    if not len(X):
        return np.zeros(0, dtype=np.intp)
    d2 = ((X - np.asarray(center, dtype=np.float64)) ** 2).sum(axis=1)
    return np.flatnonzero(d2 <= radius * radius)


def _clip(X: np.ndarray, box) -> np.ndarray:
    if box is None:
        return X
    x0, x1, y0, y1 = box
    return np.column_stack([np.clip(X[:, 0], x0, x1), np.clip(X[:, 1], y0, y1)])


def remove_class_state(state: tuple, cls: int) -> tuple:
    """The store state with class ``cls`` and its points removed, later classes shifted down."""
    X, y, test, task, names = state
    keep = y != cls
    y2 = y[keep].copy()
    y2[y2 > cls] -= 1
    names2 = [n for i, n in enumerate(names) if i != cls]
    return X[keep].copy(), y2, test[keep].copy(), task, names2
