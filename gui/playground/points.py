"""The painted data set: every point's position, label and train/test membership.

``PointStore`` is the one place the Playground keeps its data. The painter edits it
through undo commands, the data plot draws it, and the training loop receives a frozen
``engine.data.Dataset`` built from it whenever it changes (so painting while training
changes what the network learns from).
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

MIN_CLASSES = 2
MAX_CLASSES = 8


class PointStore(QtCore.QObject):
    """Points ``X (n, 2)``, labels ``y (n,)`` and a test mask ``test (n,)``.

    For classification ``y`` holds class indices (as floats) into ``class_names``; for
    regression it holds target values and ``class_names`` is empty.
    """

    changed = QtCore.Signal()
    classes_changed = QtCore.Signal()

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.X = np.zeros((0, 2), dtype=np.float64)
        self.y = np.zeros((0,), dtype=np.float64)
        self.test = np.zeros((0,), dtype=bool)
        self.task = "classification"
        self.class_names: list[str] = ["A", "B"]
        self.test_fraction = 0.3
        self._rng = np.random.default_rng(0)
        # Bumped on every edit so consumers can tell whether their copy is stale.
        self.revision = 0

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return len(self.y)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def value_scale(self) -> float:
        """The largest absolute target value (1 for classes or no points): the colour scale's end."""
        if self.task == "classification" or not len(self):
            return 1.0
        return float(np.abs(self.y).max()) or 1.0

    def state(self) -> tuple:
        """A copy of everything an undo command needs to restore this store."""
        return (self.X.copy(), self.y.copy(), self.test.copy(), self.task, list(self.class_names))

    def indices_within(self, center: tuple[float, float], radius: float) -> np.ndarray:
        """Indices of the points closer than ``radius`` to ``center``."""
        if not len(self):
            return np.zeros(0, dtype=np.intp)
        d2 = ((self.X - np.asarray(center, dtype=np.float64)) ** 2).sum(axis=1)
        return np.flatnonzero(d2 <= radius * radius)

    def indices_in_rect(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """Indices of the points inside the rectangle (corners in any order)."""
        lo_x, hi_x = sorted((x0, x1))
        lo_y, hi_y = sorted((y0, y1))
        m = (self.X[:, 0] >= lo_x) & (self.X[:, 0] <= hi_x) & (self.X[:, 1] >= lo_y) & (self.X[:, 1] <= hi_y)
        return np.flatnonzero(m)

    def split(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(X_train, y_train, X_test, y_test)`` as copies."""
        tr = ~self.test
        return self.X[tr].copy(), self.y[tr].copy(), self.X[self.test].copy(), self.y[self.test].copy()

    # ------------------------------------------------------------------ edits
    def draw_test_flags(self, n: int) -> np.ndarray:
        """Test membership for ``n`` new points, each a test point with the test fraction."""
        return self._rng.random(n) < self.test_fraction

    def append(self, X: np.ndarray, y: np.ndarray, test: np.ndarray) -> None:
        X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
        if not len(X):
            return
        self.X = np.concatenate([self.X, X])
        self.y = np.concatenate([self.y, np.asarray(y, dtype=np.float64).reshape(-1)])
        self.test = np.concatenate([self.test, np.asarray(test, dtype=bool).reshape(-1)])
        self._touch()

    def remove_last(self, k: int) -> None:
        if k <= 0:
            return
        n = len(self) - k
        self.X, self.y, self.test = self.X[:n].copy(), self.y[:n].copy(), self.test[:n].copy()
        self._touch()

    def take(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Remove the points at ``indices`` and return them ``(X, y, test)``."""
        indices = np.unique(np.asarray(indices, dtype=np.intp))
        keep = np.ones(len(self), dtype=bool)
        keep[indices] = False
        out = (self.X[indices].copy(), self.y[indices].copy(), self.test[indices].copy())
        if len(indices):
            self.X, self.y, self.test = self.X[keep], self.y[keep], self.test[keep]
            self._touch()
        return out

    def move(self, indices: np.ndarray, delta: tuple[float, float]) -> None:
        if len(indices) == 0:
            return
        self.X[np.asarray(indices, dtype=np.intp)] += np.asarray(delta, dtype=np.float64)
        self._touch()

    def set_positions(self, indices: np.ndarray, X: np.ndarray) -> None:
        """Put the points at ``indices`` at positions ``X (k, 2)`` (labels and split unchanged)."""
        if len(indices) == 0:
            return
        self.X[np.asarray(indices, dtype=np.intp)] = np.asarray(X, dtype=np.float64).reshape(-1, 2)
        self._touch()

    def restore(self, state: tuple) -> None:
        X, y, test, task, names = state
        classes_differ = task != self.task or list(names) != self.class_names
        self.X, self.y, self.test = X.copy(), y.copy(), test.copy()
        self.task, self.class_names = task, list(names)
        if classes_differ:
            self.classes_changed.emit()
        self._touch()

    def set_test_fraction(self, fraction: float, seed: int = 0) -> None:
        """Draw a fresh train/test split with ``fraction`` of the points (per class) in test."""
        self.test_fraction = float(fraction)
        self.test = split_mask(self.y, fraction, seed, stratify=self.task == "classification")
        self._touch()

    def _touch(self) -> None:
        self.revision += 1
        self.changed.emit()


def split_mask(y: np.ndarray, fraction: float, seed: int, stratify: bool) -> np.ndarray:
    """A boolean test mask with ``round(fraction * n)`` test points (per class if stratified)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(y), dtype=bool)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratify else [np.arange(len(y))]
    for idx in groups:
        k = int(round(fraction * len(idx)))
        if k:
            mask[rng.choice(idx, size=k, replace=False)] = True
    return mask
