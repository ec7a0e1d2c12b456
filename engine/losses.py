"""Losses, each with its backward pass next to its forward.

A loss works on one batch in place: :meth:`Loss.batch` turns the network's output
``z (n, k)`` into ``dL/dz`` scaled by ``scale`` (``1 / global batch size``, so that summing
the ranks' gradients gives the batch mean) and writes per-sample statistics into
``stats (n_stats, n, 1)``, a caller-owned slice of an epoch-long buffer. :meth:`Loss.reduce` turns those statistics into
``(loss_sum, n_correct)``; the mean loss is ``loss_sum / n``. Keeping raw statistics
instead of a running loss costs no extra NumPy call per batch.

Targets are prepared once per data set by :meth:`Loss.targets`:

- softmax cross-entropy: one-hot rows ``(n, C)``;
- squared error: the values ``(n, 1)``;
- perceptron, two classes: ``+1`` / ``-1`` ``(n, 1)``; more classes: one-hot ``(n, C)``.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .layers import raw_copyto, raw_dot


class Loss:
    """Base class; see the module docstring for the protocol."""

    name = ""
    #: number of per-sample statistics columns written by :meth:`batch`
    n_stats = 1
    classification = True

    def n_outputs(self, n_classes: int) -> int:
        return n_classes

    def targets(self, y: np.ndarray, n_classes: int, dtype) -> np.ndarray:
        raise NotImplementedError

    def buffers(self, n: int, k: int, dtype) -> dict:
        """Scratch buffers for a batch of ``n`` rows and ``k`` outputs."""
        return {}

    def batch(self, z, t, flat_idx, scale, stats, bufs) -> None:
        raise NotImplementedError

    def plan(self, z, t, flat_idx, scale, stats, bufs) -> list:
        """:meth:`batch` as a list of argument-free callables bound to these buffers."""
        return [partial(self.batch, z, t, flat_idx, scale, stats, bufs)]

    def reduce(self, stats: np.ndarray, y: np.ndarray | None) -> tuple[float, int]:
        raise NotImplementedError

    def value_and_grad(self, z: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[float, np.ndarray]:
        """Mean loss and ``dL/dz`` for labels/targets ``y`` (a slow, allocating reference path)."""
        z = np.array(z, copy=True)
        n, k = z.shape
        t = self.targets(y, n_classes, z.dtype)
        flat_idx = _flat_index(y, k) if self.classification else None
        stats = np.empty((self.n_stats, n, 1), z.dtype)
        self.batch(z, t, flat_idx, 1.0 / n, stats, self.buffers(n, k, z.dtype))
        loss_sum, _ = self.reduce(stats, y)
        return loss_sum / n, z


def _flat_index(y: np.ndarray, k: int) -> np.ndarray:
    """Flat indices ``i * k + y_i`` of each row's true-class entry, shape ``(n, 1)``."""
    y = np.asarray(y, dtype=np.intp).reshape(-1, 1)
    return np.arange(y.shape[0], dtype=np.intp).reshape(-1, 1) * k + y


def _onehot(y: np.ndarray, n_classes: int, dtype) -> np.ndarray:
    t = np.zeros((y.shape[0], n_classes), dtype)
    t[np.arange(y.shape[0]), np.asarray(y, dtype=np.intp)] = 1
    return t


class SoftmaxCrossEntropy(Loss):
    """Softmax over ``C`` outputs with the mean cross-entropy ``-log p_y``.

    Statistics per sample: column 0 is ``z_y - max(z)`` and column 1 the softmax
    denominator ``sum exp(z - max(z))``, so ``-log p_y = log(col1) - col0`` exactly, even
    where ``p_y`` underflows to 0 in float32; column 2 says the predicted class, the first
    index of the largest score as ``Network.predict`` takes it (for two classes as
    ``z_0 - max(z)``: 0 for class 0, negative for class 1), so a sample whose true class
    only ties for the top score is not counted as right.
    """

    name = "softmax_cross_entropy"
    n_stats = 3

    def targets(self, y, n_classes, dtype):
        return _onehot(y, n_classes, dtype)

    def buffers(self, n, k, dtype):
        return {"max": np.empty((n, 1), dtype), "ones": np.ones((k, 1), dtype), "k": k,
                "pred": np.empty((n, 1), np.intp),
                "col0": (np.arange(n, dtype=np.intp) * k).reshape(-1, 1)}

    @staticmethod
    def _predicted_ops(z, stats, bufs) -> list:
        """Calls that write each row's predicted class into ``stats[2]``.

        Two classes: run after ``z -= max(z)``; they take ``z_0 - max(z)``, which is 0
        exactly when ``argmax`` says class 0 (a tie included) and negative when it says
        class 1 (one cheap ``take``; :meth:`reduce` reads a negative value as class 1).
        More classes: ``argmax`` itself, run on the raw scores before ``z -= max(z)``.
        """
        if bufs["k"] == 2:
            return [partial(z.take, bufs["col0"][: z.shape[0]], None, stats[2], "clip")]
        pred = bufs["pred"][: z.shape[0]]
        return [partial(np.argmax, z, 1, pred, keepdims=True), partial(np.copyto, stats[2], pred)]

    def batch(self, z, t, flat_idx, scale, stats, bufs):
        m = bufs["max"]
        two = bufs["k"] == 2
        predicted = self._predicted_ops(z, stats, bufs)
        if two:
            # Two columns: one elementwise maximum beats a row reduction.
            np.maximum(z[:, 0:1], z[:, 1:2], out=m)
        else:
            # argmax of the raw scores, as predict takes it (z - max can round two apart
            # scores to one value).
            for op in predicted:
                op()
            np.max(z, axis=1, keepdims=True, out=m)
        np.subtract(z, m, out=z)
        if two:
            for op in predicted:
                op()
        np.take(z, flat_idx, out=stats[0])
        np.exp(z, out=z)
        denom = stats[1]
        np.dot(z, bufs["ones"], out=denom)
        np.divide(z, denom, out=z)
        # d(-log p_y)/dz = p - onehot(y), scaled in place.
        np.subtract(z, t, out=z)
        np.multiply(z, scale, out=z)

    def plan(self, z, t, flat_idx, scale, stats, bufs):
        m = bufs["max"]
        sc = np.array(scale, z.dtype)
        predicted = self._predicted_ops(z, stats, bufs)
        if bufs["k"] == 2 and z.flags.c_contiguous:
            return self._plan_two(z, t, flat_idx, sc, stats, bufs, predicted)
        if bufs["k"] == 2:
            ops = [partial(np.maximum, z[:, 0:1], z[:, 1:2], out=m), partial(np.subtract, z, m, z)] + predicted
        else:
            # The row maximum is the score at the argmax just taken: a flat index and one
            # take, several times faster than a row reduction over a few columns.
            n = z.shape[0]
            flat = np.empty((n, 1), np.intp)
            ops = predicted + [partial(np.add, bufs["pred"][:n], bufs["col0"][:n], flat),
                               partial(z.take, flat, None, m), partial(np.subtract, z, m, z)]
        # Constants as 0-d arrays of the right dtype: a Python float costs a conversion per call.
        return ops + [
            partial(z.take, flat_idx, None, stats[0]),
            partial(np.exp, z, z),
            partial(raw_dot, z, bufs["ones"], stats[1]),
            partial(np.divide, z, stats[1], z),
            partial(np.subtract, z, t, z),
            partial(np.multiply, z, sc, z),
        ]

    @staticmethod
    def _plan_two(z, t, flat_idx, sc, stats, bufs, predicted):
        """The two-class plan: the same numbers as :meth:`batch`, in cheaper calls.

        Two classes are the Playground's usual case and the benchmark's tiny one, where
        this plan makes a whole step about 11% faster than the general plan.

        Broadcasting a column ``(n, 1)`` over ``(n, 2)`` costs a ufunc several times a
        same-shape call on contiguous arrays, so the row maximum and the denominator are
        spread over full-size buffers first: the maximum as ``max(z, z with its columns
        swapped)``, the denominator by an ``np.copyto`` (which broadcasts cheaply).
        """
        swapped, wide = np.empty_like(z), np.empty_like(z)
        denom = stats[1]
        # np.maximum with out= as a keyword: positionally it runs a much slower path.
        return [
            partial(raw_copyto, swapped, z[:, ::-1]),
            partial(np.maximum, z, swapped, out=wide),
            partial(np.subtract, z, wide, z),
            *predicted,
            partial(z.take, flat_idx, None, stats[0]),
            partial(np.exp, z, z),
            partial(raw_dot, z, bufs["ones"], denom),
            partial(raw_copyto, wide, denom),
            partial(np.divide, z, wide, z),
            partial(np.subtract, z, t, z),
            partial(np.multiply, z, sc, z),
        ]

    def reduce(self, stats, y):
        loss = float(np.sum(np.log(stats[1], dtype=np.float64)) - np.sum(stats[0], dtype=np.float64))
        if y is None:
            return loss, 0
        pred = stats[2, :, 0]
        # Two classes store z_0 - max(z): negative means class 1 (see _predicted_ops).
        right = np.count_nonzero(np.where(pred < 0, 1, pred) == np.asarray(y))
        return loss, int(right)

    @staticmethod
    def probabilities(z: np.ndarray) -> np.ndarray:
        """Softmax of ``z (n, C)`` in place; returns ``z``."""
        np.subtract(z, np.max(z, axis=1, keepdims=True), out=z)
        np.exp(z, out=z)
        np.divide(z, np.sum(z, axis=1, keepdims=True), out=z)
        return z


class SquaredError(Loss):
    """Mean squared error ``mean_i (z_i - y_i)^2`` of a single linear output (regression).

    Statistics per sample: the squared error.
    """

    name = "squared_error"
    classification = False

    def n_outputs(self, n_classes):
        return 1

    def targets(self, y, n_classes, dtype):
        return np.asarray(y, dtype).reshape(-1, 1)

    def batch(self, z, t, flat_idx, scale, stats, bufs):
        np.subtract(z, t, out=z)
        np.multiply(z, z, out=stats[0])
        np.multiply(z, 2.0 * scale, out=z)

    def reduce(self, stats, y):
        return float(np.sum(stats, dtype=np.float64)), 0


class PerceptronCriterion(Loss):
    """Rosenblatt's perceptron as a loss whose gradient step is his update rule.

    Two classes: one output ``s = w.x + b`` and ``y`` in {-1, +1}. The criterion is
    ``max(0, -y s)``; its gradient is ``-y x`` on misclassified samples (``y s <= 0``) and 0
    elsewhere, so plain SGD with batch size 1 performs exactly ``w += lr * y * x`` on
    mistakes only. Statistics per sample: the margin ``y s`` (right when ``> 0``).

    ``C > 2`` classes: the multi-class perceptron, one score per class; the criterion is
    ``max_k s_k - s_y`` and a mistake moves the true class's weights towards ``x`` and the
    predicted class's away. Statistics: the predicted class and the criterion.

    The reported ``train_loss``/``test_loss`` is the mean criterion, 0 when every sample is
    classified right.
    """

    name = "perceptron"

    def __init__(self, n_classes: int):
        self.binary = n_classes == 2
        self.n_stats = 1 if self.binary else 2

    def n_outputs(self, n_classes):
        return 1 if n_classes == 2 else n_classes

    def targets(self, y, n_classes, dtype):
        if n_classes == 2:
            return (2.0 * np.asarray(y, dtype) - 1.0).reshape(-1, 1)
        return _onehot(y, n_classes, dtype)

    def buffers(self, n, k, dtype):
        return {"mistake": np.empty((n, 1), dtype), "pred": np.empty(n, np.intp),
                "row": np.arange(n, dtype=np.intp) * k}

    def batch(self, z, t, flat_idx, scale, stats, bufs):
        if self.binary:
            margin = stats[0]
            np.multiply(z, t, out=margin)
            mistake = bufs["mistake"]
            np.less_equal(margin, 0, out=mistake)
            np.multiply(t, mistake, out=z)
            np.multiply(z, -scale, out=z)
            return
        pred = bufs["pred"][: z.shape[0]]
        np.argmax(z, axis=1, out=pred)
        stats[0, :, 0] = pred
        crit = stats[1]
        np.max(z, axis=1, keepdims=True, out=crit)
        np.subtract(crit, np.take(z, flat_idx), out=crit)
        z.fill(0)
        z.reshape(-1)[bufs["row"][: z.shape[0]] + pred] = 1
        np.subtract(z, t, out=z)
        np.multiply(z, scale, out=z)

    def reduce(self, stats, y):
        if self.binary:
            margin = stats[0]
            loss = float(np.sum(np.maximum(-margin, 0), dtype=np.float64))
            if y is None:
                return loss, 0
            # predict() says class 1 only for a score > 0: a zero score is right for class 0.
            right = np.count_nonzero(margin > 0) + np.count_nonzero((margin[:, 0] == 0) & (np.asarray(y) == 0))
            return loss, int(right)
        right = int(np.count_nonzero(stats[0, :, 0] == np.asarray(y))) if y is not None else 0
        return float(np.sum(stats[1], dtype=np.float64)), right


def make_loss(model_kind: str, task: str, n_classes: int) -> Loss:
    """The loss for a model kind (``mlp``, ``logistic``, ``perceptron``) and task."""
    if task == "regression":
        return SquaredError()
    if model_kind == "perceptron":
        return PerceptronCriterion(n_classes)
    return SoftmaxCrossEntropy()
