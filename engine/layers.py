"""Dense layers and activations, each with its backward pass next to its forward.

Everything works in place on preallocated buffers (``out=``): a training step allocates
nothing. Activations compute their derivative from their *output* ``a`` (for ReLU and
leaky ReLU ``a > 0`` exactly when ``z > 0``), so the pre-activation buffer is reused for
the activation.
"""

from __future__ import annotations

from functools import partial

import numpy as np

LEAKY_SLOPE = 0.01
#: activations of at least this many values take ReLU's derivative as a boolean mask
MASK_MIN_SIZE = 4096

# np.dot and np.copyto check every call for ``__array_function__`` overrides, about 0.1 us
# of a 0.3 us call on small arrays. Step plans only bind the engine's own ndarrays, so
# they call the C functions behind the dispatch (NEP 18's ``_implementation``) directly.
raw_dot = getattr(np.dot, "_implementation", np.dot)
raw_copyto = getattr(np.copyto, "_implementation", np.copyto)


# ----------------------------------------------------------------------------- activations


class Activation:
    """One elementwise activation.

    ``forward(z)`` overwrites ``z (n, width)`` with ``a = f(z)``; ``backward(a, grad, tmp)``
    multiplies ``grad (n, width)`` in place by ``f'(z)`` expressed through ``a``. ``tmp`` is a
    scratch buffer of the same shape and dtype.

    ``plan_forward(a)`` / ``plan_backward(a, grad, tmp)`` return the same work as a list of
    argument-free callables bound to fixed buffers (a training step then runs a flat list
    of C-level calls, see ``Network.batch_plan``).
    """

    name = "linear"

    def forward(self, z: np.ndarray) -> np.ndarray:
        return z

    def backward(self, a: np.ndarray, grad: np.ndarray, tmp: np.ndarray) -> None:
        return None

    def plan_forward(self, a: np.ndarray) -> list:
        return [partial(self.forward, a)]

    def plan_backward(self, a: np.ndarray, grad: np.ndarray, tmp: np.ndarray) -> list:
        return [partial(self.backward, a, grad, tmp)]

    def init_scale(self, n_in: int, n_out: int) -> float:
        """Half-width of the uniform initialisation (Glorot for saturating units)."""
        return float(np.sqrt(6.0 / (n_in + n_out)))


class Linear(Activation):
    name = "linear"

    def plan_forward(self, a):
        return []

    def plan_backward(self, a, grad, tmp):
        return []


class Relu(Activation):
    name = "relu"

    def __init__(self):
        self._zeros: dict = {}

    def _zeros_like(self, z):
        zeros = self._zeros.get(z.shape)
        if zeros is None or zeros.dtype != z.dtype:
            if len(self._zeros) > 32:
                self._zeros.clear()
            zeros = self._zeros[z.shape] = np.zeros(z.shape, z.dtype)
        return zeros

    def forward(self, z):
        # max(z, zeros) with a full-size zeros array runs 2-4x faster than with the
        # scalar 0 (NumPy's broadcasting inner loop is slow for narrow rows).
        return np.maximum(z, self._zeros_like(z), out=z)

    def backward(self, a, grad, tmp):
        # a = max(z, 0) >= 0, so sign(a) is exactly the 0/1 derivative (a > 0 exactly
        # where z > 0).
        if a.size >= MASK_MIN_SIZE:
            np.multiply(grad, np.greater(a, 0), out=grad)
        else:
            np.sign(a, out=tmp)
            np.multiply(grad, tmp, out=grad)

    def plan_forward(self, a):
        return [partial(np.maximum, a, self._zeros_like(a), out=a)]

    def plan_backward(self, a, grad, tmp):
        if a.size >= MASK_MIN_SIZE:
            # A boolean mask: np.greater and a float-by-bool product take about half the
            # time of np.sign's float result on a large batch (the mixed-type product
            # costs more per call, so small arrays keep np.sign).
            mask = np.empty(a.shape, np.bool_)
            zero = np.zeros((), a.dtype)
            return [partial(np.greater, a, zero, mask), partial(np.multiply, grad, mask, grad)]
        return [partial(np.sign, a, tmp), partial(np.multiply, grad, tmp, grad)]

    def init_scale(self, n_in, n_out):
        # He et al.: keeps the variance of ReLU outputs constant across layers.
        return float(np.sqrt(6.0 / n_in))


class LeakyRelu(Activation):
    name = "leaky_relu"

    def forward(self, z):
        # max(z, slope*z) is z for z > 0 and slope*z otherwise (slope < 1).
        tmp = np.multiply(z, LEAKY_SLOPE)
        return np.maximum(z, tmp, out=z)

    def backward(self, a, grad, tmp):
        # f'(z) = 1 where a > 0, slope elsewhere: 1 - (1 - slope) * [a <= 0].
        np.less_equal(a, 0, out=tmp)
        np.multiply(tmp, LEAKY_SLOPE - 1.0, out=tmp)
        np.add(tmp, 1.0, out=tmp)
        np.multiply(grad, tmp, out=grad)

    def init_scale(self, n_in, n_out):
        return float(np.sqrt(6.0 / n_in))


class Tanh(Activation):
    name = "tanh"

    def forward(self, z):
        return np.tanh(z, out=z)

    def backward(self, a, grad, tmp):
        # tanh' = 1 - a^2
        np.multiply(a, a, out=tmp)
        np.subtract(1.0, tmp, out=tmp)
        np.multiply(grad, tmp, out=grad)

    def plan_forward(self, a):
        return [partial(np.tanh, a, a)]

    def plan_backward(self, a, grad, tmp):
        one = np.ones((), a.dtype)
        return [partial(np.multiply, a, a, tmp), partial(np.subtract, one, tmp, tmp),
                partial(np.multiply, grad, tmp, grad)]


class Sigmoid(Activation):
    name = "sigmoid"

    def forward(self, z):
        # 1 / (1 + exp(-z)), in place; exp overflow to inf gives the right limit 0.
        np.negative(z, out=z)
        with np.errstate(over="ignore"):
            np.exp(z, out=z)
        np.add(z, 1.0, out=z)
        return np.reciprocal(z, out=z)

    def backward(self, a, grad, tmp):
        # sigmoid' = a (1 - a)
        np.subtract(1.0, a, out=tmp)
        np.multiply(tmp, a, out=tmp)
        np.multiply(grad, tmp, out=grad)

    def init_scale(self, n_in, n_out):
        # Glorot's factor 4 for the logistic function.
        return 4.0 * float(np.sqrt(6.0 / (n_in + n_out)))


ACTIVATION_CLASSES = {cls.name: cls for cls in (Linear, Relu, LeakyRelu, Tanh, Sigmoid)}


def make_activation(name: str) -> Activation:
    """The activation object for a name in ``engine.spec.ACTIVATIONS``."""
    try:
        return ACTIVATION_CLASSES[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}") from None


# ----------------------------------------------------------------------------- dense layer


class Dense:
    """A fully connected layer ``z = x W + b``.

    ``W (n_in, n_out)``, ``b (n_out,)`` and their gradients ``gW``, ``gb`` are views into
    the network's flat parameter and gradient vectors (assigned by :meth:`bind`).
    """

    def __init__(self, n_in: int, n_out: int, activation: Activation):
        self.n_in = n_in
        self.n_out = n_out
        self.activation = activation
        self.W = self.b = self.gW = self.gb = None

    @property
    def size(self) -> int:
        return self.n_in * self.n_out + self.n_out

    def bind(self, params, grads, w_offset: int, b_offset: int) -> None:
        """Make W, b, gW, gb views into the flat vectors at the given offsets."""
        nw = self.n_in * self.n_out
        shape = (self.n_in, self.n_out)
        self.W = params[w_offset:w_offset + nw].reshape(shape)
        self.gW = grads[w_offset:w_offset + nw].reshape(shape)
        self.b = params[b_offset:b_offset + self.n_out]
        self.gb = grads[b_offset:b_offset + self.n_out]

    def forward(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out (n, n_out) = x (n, n_in) @ W + b``; returns ``out``."""
        np.dot(x, self.W, out=out)
        np.add(out, self.b, out=out)
        return out

    def backward(self, x: np.ndarray, dz: np.ndarray, ones: np.ndarray, dx: np.ndarray | None) -> None:
        """Gradients for ``dz = dL/dz (n, n_out)``.

        Writes ``gW = x^T dz``, ``gb = 1^T dz`` (``ones (n,)``) and, when ``dx`` is given,
        ``dx (n, n_in) = dz W^T``.
        """
        np.dot(x.T, dz, out=self.gW)
        np.dot(ones, dz, out=self.gb)
        if dx is not None:
            np.dot(dz, self.W.T, out=dx)
