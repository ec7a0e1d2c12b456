"""The network: dense layers whose parameters live in ONE flat vector.

Layout of ``Network.params`` (and of ``Network.grads``, same shape): every layer's ``W``
first, input to output, then every layer's ``b``. Weights are therefore one contiguous
slice ``params[:n_weights]`` (L1/L2 act on it with one ufunc call each), and the whole
optimizer update and the MPI gradient reduction are a few calls on single buffers.

Model kinds (``engine.spec.MODEL_KINDS``):

- ``mlp``: hidden dense layers with per-layer activations, a linear output layer, softmax
  cross-entropy for classification or squared error for regression;
- ``logistic``: no hidden layer, softmax cross-entropy (multinomial logistic regression;
  for two classes the same decision function as the sigmoid form), zero initial weights;
- ``perceptron``: no hidden layer, Rosenblatt's rule (see
  :class:`engine.losses.PerceptronCriterion`), zero initial weights.
"""

from __future__ import annotations

import threading
from functools import partial

import numpy as np

from .layers import Dense, Linear, make_activation, raw_copyto, raw_dot
from .losses import Loss, PerceptronCriterion, SoftmaxCrossEntropy, make_loss
from .spec import RunSpec, SpecError

#: rows per chunk for inference: a 4096 x 64 float32 activation block is 1 MiB
INFER_CHUNK = 4096


class _Workspace:
    """Preallocated buffers for one batch size (training) or chunk size (inference)."""

    def __init__(self, net: "Network", n: int, training: bool):
        dt = net.dtype
        self.n = n
        self.acts = [np.empty((n, layer.n_out), dt) for layer in net.layers]
        if not training:
            return
        hidden = net.layers[:-1]
        self.deltas = [np.empty((n, layer.n_out), dt) for layer in hidden]
        self.tmps = [np.empty((n, layer.n_out), dt) for layer in hidden]
        self.ones = np.ones(n, dt)
        if net.dropout > 0:
            self.masks = [np.empty((n, layer.n_out), dt) for layer in hidden]
            self.dropped = [np.empty((n, layer.n_out), dt) for layer in hidden]
        else:
            self.masks = self.dropped = None
        self.loss_bufs = net.loss.buffers(n, net.layers[-1].n_out, dt)


class Network:
    """A feed-forward network with a flat parameter vector.

    Parameters
    ----------
    n_inputs : int
        Number of input features.
    hidden : sequence of int
        Hidden layer widths (empty for ``logistic`` and ``perceptron``).
    activations : sequence of str
        One activation name per hidden layer.
    n_classes : int
        Number of classes, or 1 for regression.
    kind : str
        ``mlp``, ``logistic`` or ``perceptron``.
    dtype : numpy dtype
        ``float32`` (fast) or ``float64`` (gradient checks).
    l1, l2 : float
        Penalties ``l1 * sum|W|`` and ``l2 / 2 * sum W^2`` over weights (not biases),
        added to the gradient of every step. Reported losses are the data loss only.
    dropout : float
        Inverted-dropout rate on every hidden layer's output, training only.
    seed : int
        Seeds the initial weights and the dropout masks.
    """

    def __init__(self, n_inputs, hidden=(), activations=(), n_classes=2, kind="mlp", dtype=np.float32,
                 l1=0.0, l2=0.0, dropout=0.0, seed=0):
        if len(activations) != len(hidden):
            raise ValueError("one activation per hidden layer")
        self.kind = kind
        self.task = "regression" if n_classes == 1 else "classification"
        self.n_classes = n_classes
        self.n_inputs = n_inputs
        self.dtype = np.dtype(dtype)
        self.l1 = float(l1)
        self.l2 = float(l2)
        self.dropout = float(dropout)
        self.loss: Loss = make_loss(kind, self.task, n_classes)
        n_out = self.loss.n_outputs(n_classes)
        widths = [n_inputs, *hidden, n_out]
        acts = [make_activation(a) for a in activations] + [Linear()]
        self.layers = [Dense(widths[i], widths[i + 1], acts[i]) for i in range(len(widths) - 1)]
        self.n_weights = sum(layer.n_in * layer.n_out for layer in self.layers)
        size = self.n_weights + sum(layer.n_out for layer in self.layers)
        self.params = np.zeros(size, self.dtype)
        # One spare slot after the gradients: data-parallel runs reduce a stop flag with
        # them in the same Allreduce (``reduce_buffer``), so every rank stops at the same step.
        self.reduce_buffer = np.zeros(size + 1, self.dtype)
        self.grads = self.reduce_buffer[:size]
        self._bind_layers()
        self._rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
        self._workspaces: dict[int, _Workspace] = {}
        self._local = threading.local()
        self.initialize(seed)

    def _bind_layers(self) -> None:
        w_off, b_off = 0, self.n_weights
        for layer in self.layers:
            layer.bind(self.params, self.grads, w_off, b_off)
            w_off += layer.n_in * layer.n_out
            b_off += layer.n_out

    def reserve_reduce_slots(self, n: int) -> np.ndarray:
        """Make ``reduce_buffer`` end with ``n`` spare slots after the gradients; returns them.

        Values a data-parallel step needs from every rank (the stop flag, each rank's
        arrival time) then travel in the gradients' own Allreduce, with no message of
        their own. Call it before an optimizer or a step plan holds on to ``grads``.
        """
        size = self.params.size
        buf = np.zeros(size + n, self.dtype)
        buf[:size] = self.grads
        self.reduce_buffer = buf
        self.grads = buf[:size]
        self._bind_layers()
        self._workspaces.clear()
        return buf[size:]

    def use_buffers(self, params: np.ndarray, reduce_buffer: np.ndarray) -> None:
        """Move the parameters and the gradients (with their spare slots) into given arrays.

        Values are copied into ``reduce_buffer``; ``params`` must already hold the
        parameters (a data-parallel run shares one parameter vector between the ranks of
        a node, see ``engine.grad_reduce``). Call it before an optimizer or a step plan
        holds on to them.
        """
        size = self.params.size
        if params.shape != (size,) or reduce_buffer.size < size or params.dtype != self.dtype:
            raise ValueError("buffers of the wrong size or dtype for this network")
        reduce_buffer[:size] = self.grads
        self.params = params
        self.reduce_buffer = reduce_buffer
        self.grads = reduce_buffer[:size]
        self._bind_layers()
        self._workspaces.clear()

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_spec(cls, spec: RunSpec, n_inputs: int, n_outputs: int, seed: int | None = None) -> "Network":
        """The network a run spec describes.

        Parameters
        ----------
        spec : RunSpec
        n_inputs : int
            Number of features after expansion.
        n_outputs : int
            Number of classes, or 1 for a regression data set.
        seed : int, optional
            Initialisation seed; default ``spec.train.seed``.

        Starts from ``spec.weights`` when present (:class:`SpecError` naming
        ``weights[i].W`` or ``weights[i].b`` when a shape does not fit).
        """
        m, t = spec.model, spec.train
        if n_outputs == 1 and m.kind != "mlp":
            raise SpecError("model.kind", f"{m.kind!r} is a classifier; a regression data set needs 'mlp'")
        net = cls(n_inputs, m.hidden, m.activations, n_outputs, m.kind,
                  dtype=np.float64 if t.dtype == "float64" else np.float32,
                  l1=t.l1, l2=t.l2, dropout=t.dropout, seed=t.seed if seed is None else seed)
        if spec.weights is not None:
            net.set_weights(spec.weights)
        return net

    def initialize(self, seed: int) -> None:
        """Random weights (He for ReLU-like layers, Glorot otherwise), zero biases.

        ``logistic`` and ``perceptron`` start from all zeros, as they are taught.
        """
        self.params.fill(0)
        if self.kind != "mlp":
            return
        rng = np.random.default_rng(seed)
        # The output layer is initialised for the activation that feeds it.
        for i, layer in enumerate(self.layers):
            act = layer.activation if i < len(self.layers) - 1 else Linear()
            a = act.init_scale(layer.n_in, layer.n_out)
            layer.W[...] = rng.uniform(-a, a, size=layer.W.shape)

    # ------------------------------------------------------------------ weights

    def get_weights(self) -> list[dict]:
        """``[{"W": rows (n_in x n_out nested lists), "b": list}, ...]``, input to output."""
        return [{"W": layer.W.astype(float).tolist(), "b": layer.b.astype(float).tolist()} for layer in self.layers]

    def set_weights(self, weights) -> None:
        """Load weights in :meth:`get_weights` format (lists or arrays).

        Raises
        ------
        SpecError
            ``weights`` / ``weights[i].W`` / ``weights[i].b`` when the count or a shape does
            not fit this network.
        """
        if len(weights) != len(self.layers):
            raise SpecError("weights", f"{len(weights)} layers given, the network has {len(self.layers)}")
        staged = []
        for i, (layer, w) in enumerate(zip(self.layers, weights)):
            W = np.asarray(w["W"], dtype=float)
            b = np.asarray(w["b"], dtype=float)
            if W.shape != layer.W.shape:
                raise SpecError(f"weights[{i}].W", f"shape {W.shape} does not fit layer {i}, which needs {layer.W.shape}")
            if b.shape != layer.b.shape:
                raise SpecError(f"weights[{i}].b", f"shape {b.shape} does not fit layer {i}, which needs {layer.b.shape}")
            if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
                raise SpecError(f"weights[{i}]", "holds a value that is not a finite number")
            staged.append((W, b))
        for layer, (W, b) in zip(self.layers, staged):
            layer.W[...] = W
            layer.b[...] = b

    def set_weight(self, layer: int, i: int, j: int, value: float) -> None:
        """Set one weight ``W[i, j]`` of ``layer`` (the GUI's edit-a-weight action)."""
        self.layers[layer].W[i, j] = value

    @property
    def n_parameters(self) -> int:
        return int(self.params.size)

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    def workspace(self, n: int, training: bool) -> _Workspace:
        """Buffers for ``n`` rows, created once per size and then reused.

        Inference buffers are per thread: the GUI predicts while a worker thread trains
        and evaluates the same network.
        """
        if training:
            cache = self._workspaces
        else:
            cache = getattr(self._local, "cache", None)
            if cache is None:
                cache = self._local.cache = {}
        ws = cache.get(n)
        if ws is None:
            if len(cache) > 16:
                cache.clear()
            ws = cache[n] = _Workspace(self, n, training)
        return ws

    # ------------------------------------------------------------------ inference

    def forward_into(self, F: np.ndarray, ws: _Workspace) -> list[np.ndarray]:
        """Forward ``F (n, n_inputs)`` through the buffers of ``ws`` (``ws.n == n``).

        Returns ``ws.acts``: every layer's output, the last being the raw scores.
        """
        x = F
        for layer, a in zip(self.layers, ws.acts):
            layer.forward(x, a)
            layer.activation.forward(a)
            x = a
        return ws.acts

    def _map_chunks(self, F: np.ndarray, fn) -> None:
        F = np.ascontiguousarray(F, dtype=self.dtype)
        n = F.shape[0]
        for start in range(0, n, INFER_CHUNK):
            stop = min(n, start + INFER_CHUNK)
            fn(start, stop, self.forward_into(F[start:stop], self.workspace(stop - start, False)))

    def scores(self, F: np.ndarray) -> np.ndarray:
        """Raw output-layer values ``(n, n_outputs)``."""
        out = np.empty((F.shape[0], self.n_outputs), self.dtype)

        def keep(start, stop, acts):
            out[start:stop] = acts[-1]

        self._map_chunks(F, keep)
        return out

    def proba_from_scores(self, z: np.ndarray) -> np.ndarray:
        """Scores ``(n, k)`` to probabilities ``(n, C)`` (in place when possible).

        Regression: the values ``(n,)``. Perceptron: the one-hot decision (it has no
        probabilities).
        """
        if self.task == "regression":
            return z[:, 0]
        if isinstance(self.loss, PerceptronCriterion):
            if self.loss.binary:
                p1 = (z[:, 0] > 0).astype(self.dtype)
                return np.stack([1 - p1, p1], axis=1)
            out = np.zeros_like(z)
            out[np.arange(z.shape[0]), np.argmax(z, axis=1)] = 1
            return out
        return SoftmaxCrossEntropy.probabilities(z)

    def predict_proba(self, F: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, C)`` for features ``F (n, n_inputs)``; values ``(n,)`` for regression."""
        return self.proba_from_scores(self.scores(F))

    def predict(self, F: np.ndarray) -> np.ndarray:
        """Class indices ``(n,)`` (int), or predicted values ``(n,)`` for regression."""
        z = self.scores(F)
        if self.task == "regression":
            return z[:, 0]
        if isinstance(self.loss, PerceptronCriterion) and self.loss.binary:
            return (z[:, 0] > 0).astype(np.intp)
        return np.argmax(z, axis=1)

    def hidden_outputs(self, F: np.ndarray) -> list[np.ndarray]:
        """Every hidden layer's activations: a list of ``(n, width)`` arrays."""
        outs = [np.empty((F.shape[0], layer.n_out), self.dtype) for layer in self.layers[:-1]]

        def keep(start, stop, acts):
            for o, a in zip(outs, acts):
                o[start:stop] = a

        self._map_chunks(F, keep)
        return outs

    # ------------------------------------------------------------------ training

    def reseed_dropout(self, entropy) -> None:
        """Restart the dropout masks' random stream from ``entropy`` (an int or list of ints)."""
        self._rng = np.random.default_rng(np.random.SeedSequence(entropy).spawn(1)[0])

    def make_dropout_masks(self, ws: _Workspace) -> None:
        """Fresh inverted-dropout masks (0 or ``1/(1-p)``) in ``ws.masks``."""
        p = self.dropout
        for m in ws.masks:
            self._rng.random(out=m, dtype=m.dtype)
            np.greater_equal(m, p, out=m)
            np.multiply(m, 1.0 / (1.0 - p), out=m)

    def train_batch(self, x, t, flat_idx, scale, stats, ws: _Workspace, masks=None, layer_done=None) -> None:
        """Forward, loss and backward for one batch: the data gradient lands in ``grads``.

        Parameters
        ----------
        x : (n, n_inputs) array
            Features, C-contiguous, network dtype.
        t : array
            Targets from ``loss.targets`` for these rows.
        flat_idx : (n, 1) intp array or None
            ``row * n_outputs + class`` for each row (classification).
        scale : float
            ``1 / global batch size``: summed over ranks the gradient is the batch mean.
        stats : (loss.n_stats, n, 1) array
            Receives the loss's per-sample statistics.
        ws : _Workspace
            ``workspace(n, training=True)``.
        masks : list of (n, width) arrays, optional
            Fixed dropout masks (tests); default: fresh random ones when dropout > 0.
        layer_done : callable, optional
            ``layer_done(i)`` is called as soon as layer ``i``'s gradients are written,
            last layer first (a data-parallel run starts reducing them there).

        Regularization is not included: call :meth:`add_penalty_gradient` after the
        gradients of all ranks have been summed.
        """
        layers = self.layers
        acts = ws.acts
        dropped = ws.dropped
        if dropped is not None:
            if masks is None:
                self.make_dropout_masks(ws)
                masks = ws.masks
        inputs = [x]
        h = x
        last = len(layers) - 1
        for i, layer in enumerate(layers):
            a = acts[i]
            layer.forward(h, a)
            layer.activation.forward(a)
            if i < last and dropped is not None:
                h = np.multiply(a, masks[i], out=dropped[i])
            else:
                h = a
            inputs.append(h)
        dz = acts[last]
        self.loss.batch(dz, t, flat_idx, scale, stats, ws.loss_bufs)
        deltas, tmps, ones = ws.deltas, ws.tmps, ws.ones
        for i in range(last, -1, -1):
            if i == 0:
                layers[0].backward(inputs[0], dz, ones, None)
                if layer_done is not None:
                    layer_done(0)
                break
            dx = deltas[i - 1]
            layers[i].backward(inputs[i], dz, ones, dx)
            if layer_done is not None:
                layer_done(i)
            if dropped is not None:
                np.multiply(dx, masks[i - 1], out=dx)
            layers[i - 1].activation.backward(acts[i - 1], dx, tmps[i - 1])
            dz = dx

    def batch_plan(self, x, t, flat_idx, scale, stats, ws: _Workspace, layer_done=None) -> list | None:
        """:meth:`train_batch` for fixed buffers as a flat list of argument-free callables.

        Running the list (``for op in plan: op()``) gives bit for bit what
        ``train_batch(x, t, flat_idx, scale, stats, ws)`` gives, but with no Python logic
        between the NumPy calls: for small batches, where each call takes well under a
        microsecond, that halves a step (``python -m engine bench --case tiny``: 36 ->
        20 us/step). None with dropout (its masks are drawn per step).

        The calls differ from :meth:`train_batch` in two ways, each worth at least 10% on
        the tiny case (measured in ``docs/engine.md``): ``np.dot`` / ``np.copyto`` are
        called without their array-function dispatch (``raw_dot``, ``raw_copyto``), and
        each bias is first spread over a full-size buffer (``np.copyto`` broadcasts
        cheaply) so that the add is a same-shape add on contiguous arrays, about half
        the cost of a broadcasting add over narrow rows. Same numbers exactly.

        ``layer_done(i)``, when given, returns more callables that the plan runs right
        after layer ``i``'s gradients are written (before the next layer's backward
        products): a data-parallel run posts the reduction of those gradients there.
        """
        if self.dropout > 0:
            return None
        layers, acts = self.layers, ws.acts
        ops = []
        h = x
        for layer, a in zip(layers, acts):
            tiled_bias = np.empty_like(a)
            ops += [partial(raw_copyto, tiled_bias, layer.b),
                    partial(raw_dot, h, layer.W, a),
                    partial(np.add, a, tiled_bias, a)]
            ops += layer.activation.plan_forward(a)
            h = a
        last = len(layers) - 1
        dz = acts[last]
        ops += self.loss.plan(dz, t, flat_idx, scale, stats, ws.loss_bufs)
        for i in range(last, -1, -1):
            layer = layers[i]
            xin = x if i == 0 else acts[i - 1]
            ops += [partial(raw_dot, xin.T, dz, layer.gW), partial(raw_dot, ws.ones, dz, layer.gb)]
            if layer_done is not None:
                ops += layer_done(i)
            if i > 0:
                dx = ws.deltas[i - 1]
                ops.append(partial(raw_dot, dz, layer.W.T, dx))
                ops += layers[i - 1].activation.plan_backward(acts[i - 1], dx, ws.tmps[i - 1])
                dz = dx
        return ops

    def add_penalty_gradient(self, grads: np.ndarray | None = None, lo: int = 0) -> None:
        """``grads[:n_weights] += l2 * W + l1 * sign(W)`` (nothing when both are 0).

        With ``grads`` given, it is the gradient of ``params[lo:lo + grads.size]`` only
        (a rank's shard in a sharded optimizer step).
        """
        if grads is None:
            grads, lo = self.grads, 0
        hi = min(lo + grads.size, self.n_weights)
        if hi <= lo:
            return
        g, w = grads[:hi - lo], self.params[lo:hi]
        if self.l2:
            g += self.l2 * w
        if self.l1:
            g += self.l1 * np.sign(w)

    def penalty(self) -> float:
        """The regularization term ``l1 sum|W| + l2/2 sum W^2``."""
        w = self.params[: self.n_weights].astype(np.float64)
        return float(self.l1 * np.abs(w).sum() + 0.5 * self.l2 * np.dot(w, w))

    def objective_and_gradient(self, F, y, masks=None) -> tuple[float, np.ndarray]:
        """Mean loss + penalty and its gradient (flat copy) on ``F (n, n_inputs)``, labels ``y``.

        The slow reference path used by the gradient checks; with ``masks`` given the
        dropout is deterministic.
        """
        F = np.ascontiguousarray(F, dtype=self.dtype)
        n = F.shape[0]
        ws = _Workspace(self, n, training=True)
        t = self.loss.targets(np.asarray(y), self.n_classes, self.dtype)
        k = self.n_outputs
        flat_idx = None
        if self.loss.classification and k > 1:
            flat_idx = (np.arange(n, dtype=np.intp) * k + np.asarray(y, dtype=np.intp)).reshape(-1, 1)
        stats = np.empty((self.loss.n_stats, n, 1), self.dtype)
        if self.dropout > 0 and masks is None:
            self.make_dropout_masks(ws)
            masks = ws.masks
        self.grads.fill(0)
        self.train_batch(F, t, flat_idx, 1.0 / n, stats, ws, masks=masks)
        self.add_penalty_gradient()
        loss_sum, _ = self.loss.reduce(stats, y)
        return loss_sum / n + self.penalty(), self.grads.copy()
