"""Predictions on a regular grid: the decision boundary and the per-neuron pictures.

The GUI redraws these every frame while the weights change, so :func:`decision_grid`
keeps the grid's network inputs from one call to the next (same box, shape and
preprocessing) and runs the network in chunks small enough for the activations to stay in
cache, through buffers of its own (safe while a training thread uses the network's).
"""

from __future__ import annotations

import threading

import numpy as np

from .losses import PerceptronCriterion

#: activation values per chunk and layer: 2**18 float32 = 1 MiB, cache-sized
GRID_CHUNK_VALUES = 2**18


def grid_points(box, shape) -> np.ndarray:
    """Raw points of an ``H x W`` grid over ``box = (xmin, xmax, ymin, ymax)``.

    Returns
    -------
    (H * W, 2) float64 array
        Row-major: point ``i * W + j`` is ``(x_j, y_i)``; row 0 is ``ymin``.
    """
    xmin, xmax, ymin, ymax = (float(v) for v in box)
    h, w = (int(v) for v in shape)
    if h < 1 or w < 1:
        raise ValueError(f"grid shape must be positive, got {shape!r}")
    xs = np.linspace(xmin, xmax, w)
    ys = np.linspace(ymin, ymax, h)
    pts = np.empty((h, w, 2))
    pts[:, :, 0] = xs[None, :]
    pts[:, :, 1] = ys[:, None]
    return pts.reshape(-1, 2)


class _Plan:
    """Network inputs of one grid plus per-chunk buffers for one network shape."""

    def __init__(self, model, preprocess, box, shape):
        self.key = (tuple(float(v) for v in box), tuple(int(v) for v in shape), model.dtype.str,
                    tuple(layer.n_out for layer in model.layers), model.n_inputs)
        self.preprocess = preprocess
        F = preprocess(grid_points(box, shape))
        if F.shape[1] != model.n_inputs:
            raise ValueError(f"the preprocessing makes {F.shape[1]} inputs, the network takes {model.n_inputs}")
        self.F = np.ascontiguousarray(F, dtype=model.dtype)
        n = self.F.shape[0]
        widest = max(layer.n_out for layer in model.layers)
        # A power of two from 512 to 8192 rows, so the bias trick below divides it.
        rows = 1 << max(9, min(13, (GRID_CHUNK_VALUES // widest).bit_length() - 1))
        self.chunk = min(rows, n)
        self.acts = [np.empty((self.chunk, layer.n_out), model.dtype) for layer in model.layers]
        # Adding a bias of width 8 row by row is slow; viewed as rows of >= 256 values
        # (``reps`` layer rows each) the same addition runs about 2.5x faster.
        self.reps = [max(1, 256 // layer.n_out) for layer in model.layers]
        k = model.layers[-1].n_out
        self.col_max = np.empty((self.chunk, 1), model.dtype)
        self.ones = np.ones((k, 1), model.dtype)

    def matches(self, model, preprocess, box, shape) -> bool:
        return preprocess is self.preprocess and self.key == (
            tuple(float(v) for v in box), tuple(int(v) for v in shape), model.dtype.str,
            tuple(layer.n_out for layer in model.layers), model.n_inputs)


_plans: list[_Plan] = []
_lock = threading.Lock()


def _plan_for(model, preprocess, box, shape) -> _Plan:
    with _lock:
        for plan in _plans:
            if plan.matches(model, preprocess, box, shape):
                return plan
    plan = _Plan(model, preprocess, box, shape)
    with _lock:
        _plans.insert(0, plan)
        del _plans[4:]
    return plan


def decision_grid(model, preprocess, box, shape, out: np.ndarray | None = None) -> np.ndarray:
    """The network's output over an ``H x W`` grid.

    Parameters
    ----------
    model : engine.model.Network
    preprocess : engine.features.Preprocessor
        Raw ``(n, 2)`` points to network inputs.
    box : (xmin, xmax, ymin, ymax)
    shape : (H, W)
    out : ndarray, optional
        ``(H, W, C)`` float32 (classification) or ``(H, W)`` float32 (regression) to fill.

    Returns
    -------
    ndarray
        ``(H, W, C)`` class probabilities (row 0 is ``ymin``; a perceptron gives its
        one-hot decision) or ``(H, W)`` predicted values for regression; float32.
    """
    h, w = (int(v) for v in shape)
    plan = _plan_for(model, preprocess, box, shape)
    regression = model.task == "regression"
    perceptron = isinstance(model.loss, PerceptronCriterion)
    n_cls = 1 if regression else model.n_classes
    want = (h, w) if regression else (h, w, n_cls)
    if out is None:
        out = np.empty(want, np.float32)
    elif out.shape != want or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float32 array of shape {want}")
    flat = out.reshape(-1, n_cls)
    layers = model.layers
    F = plan.F
    n = F.shape[0]
    tiled = [np.tile(layer.b, reps) for layer, reps in zip(layers, plan.reps)]
    with _lock:  # the plan's buffers are shared by callers from several threads
        for start in range(0, n, plan.chunk):
            stop = min(n, start + plan.chunk)
            m = stop - start
            x = F[start:stop]
            for layer, buf, reps, bias in zip(layers, plan.acts, plan.reps, tiled):
                a = buf[:m]
                np.dot(x, layer.W, out=a)
                if reps > 1 and m % reps == 0:
                    wide = a.reshape(m // reps, reps * layer.n_out)
                    np.add(wide, bias, out=wide)
                else:
                    np.add(a, layer.b, out=a)
                layer.activation.forward(a)
                x = a
            dst = flat[start:stop]
            if regression:
                dst[...] = x
            elif perceptron:
                if model.loss.binary:
                    np.greater(x[:, 0], 0, out=dst[:, 1])
                    np.subtract(1, dst[:, 1], out=dst[:, 0])
                else:
                    dst.fill(0)
                    dst[np.arange(m), np.argmax(x, axis=1)] = 1
            else:
                mx = plan.col_max[:m]
                if n_cls == 2:
                    np.maximum(x[:, 0:1], x[:, 1:2], out=mx)
                else:
                    np.max(x, axis=1, keepdims=True, out=mx)
                np.subtract(x, mx, out=x)
                np.exp(x, out=x)
                np.dot(x, plan.ones, out=mx)
                np.divide(x, mx, out=dst, casting="same_kind")
    return out


def neuron_grids(model, preprocess, box, shape) -> list[np.ndarray]:
    """Every unit's value over a (coarse) ``h x w`` grid, layer by layer.

    Returns
    -------
    list of float32 arrays ``(n_units, h, w)``
        First the network inputs (one per feature), then each hidden layer's activations,
        then the output: class probabilities ``(C, h, w)`` or the value ``(1, h, w)``.
        Row 0 of each picture is ``ymin``.
    """
    h, w = (int(v) for v in shape)
    F = np.ascontiguousarray(preprocess(grid_points(box, shape)), dtype=model.dtype)
    pictures = [F]
    pictures.extend(model.hidden_outputs(F))
    proba = model.predict_proba(F)
    pictures.append(proba.reshape(-1, 1) if proba.ndim == 1 else proba)
    return [np.ascontiguousarray(p.T.reshape(p.shape[1], h, w), dtype=np.float32) for p in pictures]
