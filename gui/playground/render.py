"""Turn model outputs over the input plane into RGB pictures (NumPy only, thread-safe).

These run in the training worker (so the GUI thread only uploads finished images) and
on the GUI thread while training is paused.
"""

from __future__ import annotations

import numpy as np

from engine.features import expand_features
from engine.grid import grid_points
from engine.spec import FEATURES

from gui.theme import class_rgb, diverging_lut

WHITE = np.ones(3, dtype=np.float32)
# How far the background goes toward a class colour at full confidence: enough to read the
# regions, light enough that the points (full colour, white outline) stay visible on top.
REGION_STRENGTH = 0.62
_LUT_RGB = diverging_lut(256)[:, :3].astype(np.float32) / 255.0


def _region_table(n_classes: int) -> np.ndarray:
    """``(n_classes * 256, 3)`` uint8: row ``k * 256 + level`` is class ``k``'s region colour
    at confidence ``level / 255``."""
    table = _TABLES.get(n_classes)
    if table is None:
        colors = class_rgb(max(n_classes, 2))[:n_classes].astype(np.float32)
        level = (np.arange(256, dtype=np.float32) / 255.0)[None, :, None]
        rgb = WHITE + (colors[:, None, :] - WHITE) * (REGION_STRENGTH * level)
        table = _TABLES[n_classes] = np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8).reshape(-1, 3)
    return table


_TABLES: dict[int, np.ndarray] = {}


def boundary_rgb(probs: np.ndarray, discretize: bool) -> np.ndarray:
    """Class probabilities ``(H, W, C)`` to an ``(H, W, 3)`` uint8 picture.

    Each pixel takes the colour of its most likely class (the first of a tie); its strength
    is the model's confidence (1/C -> white, 1 -> full region colour) in 256 steps, or full
    everywhere when ``discretize`` is set. One table lookup per pixel: this runs for every
    frame while training.
    """
    probs = np.asarray(probs, dtype=np.float32)
    h, w, c = probs.shape
    if c == 1:  # a single sigmoid output: P(class 1)
        probs = np.concatenate([1.0 - probs, probs], axis=-1)
        c = 2
    flat = probs.reshape(-1, c)
    if c <= 8:
        # A few classes: column by column, cheaper than a reduction over a short last axis.
        pmax = flat[:, 0].copy()
        winner = np.zeros(len(flat), np.intp)
        better = np.empty(len(flat), bool)
        for k in range(1, c):
            np.greater(flat[:, k], pmax, out=better)
            winner[better] = k
            np.maximum(pmax, flat[:, k], out=pmax)
    else:
        winner = flat.argmax(axis=1)
        pmax = flat[np.arange(len(flat)), winner]
    index = winner * 256
    if discretize:
        index += 255
    else:
        level = (pmax - 1.0 / c) * (255.0 / (1.0 - 1.0 / c)) + 0.5
        np.clip(level, 0.0, 255.0, out=level)
        index += level.astype(np.intp)
    return _region_table(c)[index].reshape(h, w, 3)


def region_rgb(winner: np.ndarray, confidence: np.ndarray, n_classes: int) -> np.ndarray:
    """Class regions from a winner per pixel and its strength in 0-1, both ``(H, W)``.

    The same colours and strengths as :func:`boundary_rgb`, for models that give a class
    and a confidence instead of probabilities (an SVM's votes and decision values).
    """
    colors = class_rgb(max(int(n_classes), 2))
    conf = np.clip(np.asarray(confidence, dtype=np.float32), 0.0, 1.0)
    rgb = WHITE + (colors[np.asarray(winner)] - WHITE) * (REGION_STRENGTH * conf)[..., None]
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def value_rgb(values: np.ndarray, scale: float, discretize: bool = False) -> np.ndarray:
    """Signed values ``(H, W)`` to a diverging ``(H, W, 3)`` uint8 picture.

    ``scale`` is the value shown at full colour (orange for -scale, blue for +scale);
    ``discretize`` shows the sign only.
    """
    v = np.asarray(values, dtype=np.float32)
    scale = float(scale) if scale and np.isfinite(scale) and scale > 0 else 1.0
    t = np.sign(v) if discretize else np.clip(v / scale, -1.0, 1.0)
    t = np.nan_to_num(t, nan=0.0)
    idx = np.round((t + 1.0) * 0.5 * 255).astype(np.intp)
    rgb = WHITE + (_LUT_RGB[idx] - WHITE) * REGION_STRENGTH
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def thumbnail_rgb(values: np.ndarray) -> np.ndarray:
    """One neuron's output ``(h, w)`` to a full-strength diverging ``(h, w, 3)`` picture.

    Scaled by the largest magnitude so every neuron's pattern is visible whatever its range.
    """
    v = np.asarray(values, dtype=np.float32)
    finite = np.isfinite(v)
    scale = float(np.abs(v[finite]).max()) if finite.any() else 1.0
    t = np.clip(np.nan_to_num(v / (scale if scale > 0 else 1.0)), -1.0, 1.0)
    idx = np.round((t + 1.0) * 0.5 * 255).astype(np.intp)
    return (_LUT_RGB[idx] * 255.0 + 0.5).astype(np.uint8)


def neuron_pictures(columns: list[np.ndarray], n_outputs: int, task: str) -> list[list[np.ndarray]]:
    """RGB thumbnails for every hidden and output unit.

    Parameters
    ----------
    columns : list of ``(n_units, h, w)`` arrays
        Hidden layers' activations, then the output (class probabilities ``(C, h, w)`` or
        the value ``(1, h, w)``), as :func:`engine.grid.neuron_grids` returns them after
        the inputs.
    n_outputs : int
        The network's output units (1 for a binary perceptron, else C).
    """
    pictures = [[thumbnail_rgb(g) for g in col] for col in columns[:-1]]
    out = columns[-1]
    if task != "classification":
        pictures.append([thumbnail_rgb(out[0])])
    elif n_outputs == 1:
        # One unit deciding between two classes: show P(class 1) - P(class 0).
        pictures.append([value_rgb(out[1] - out[0], 1.0) if len(out) > 1 else thumbnail_rgb(out[0])])
    else:
        colors = class_rgb(len(out))
        pics = []
        for k, p in enumerate(out):
            rgb = WHITE + (colors[k] - WHITE) * np.clip(p, 0, 1)[..., None]
            pics.append(np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8))
        pictures.append(pics)
    return pictures


def feature_pictures(box: tuple[float, float, float, float], size: int = 28) -> dict[str, np.ndarray]:
    """Every input feature's value over ``box`` as a ``(size, size, 3)`` uint8 picture, by feature name."""
    pts = grid_points(box, (size, size))
    F = expand_features(pts, FEATURES)
    return {name: thumbnail_rgb(F[:, k].reshape(size, size)) for k, name in enumerate(FEATURES)}
