"""Optimizers that update the flat parameter vector in place with a few ufunc calls.

All state (velocity, Adam's moments) is one contiguous array, and a scratch vector is
allocated once, so a step allocates nothing.
"""

from __future__ import annotations

import math
import numpy as np


class Optimizer:
    """Base class: ``step()`` applies ``grads`` to ``params`` in place."""

    name = ""

    def __init__(self, params: np.ndarray, grads: np.ndarray, learning_rate: float):
        self.params = params
        self.grads = grads
        # A 0-d array: ufuncs take it without converting a Python float on every step.
        self._lr = np.array(learning_rate, params.dtype)
        self.t = 0
        self.tmp = np.empty_like(params)

    @property
    def learning_rate(self) -> float:
        return float(self._lr)

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        """Change the learning rate (takes effect at the next step)."""
        self._lr[...] = value

    def step(self) -> None:
        raise NotImplementedError

    def state(self) -> np.ndarray:
        """The optimizer's state vector (empty for plain SGD)."""
        return np.empty(0, self.params.dtype)


class SGD(Optimizer):
    """``p -= lr * g``."""

    name = "sgd"

    def step(self):
        self.t += 1
        np.multiply(self.grads, self._lr, self.tmp)
        np.subtract(self.params, self.tmp, self.params)


class Momentum(Optimizer):
    """Classical momentum: ``v = mu v - lr g``; ``p += v``."""

    name = "momentum"

    def __init__(self, params, grads, learning_rate, momentum=0.9):
        super().__init__(params, grads, learning_rate)
        self.momentum = float(momentum)
        self.velocity = np.zeros_like(params)

    def step(self):
        self.t += 1
        v = self.velocity
        np.multiply(v, self.momentum, out=v)
        np.multiply(self.grads, self._lr, out=self.tmp)
        np.subtract(v, self.tmp, out=v)
        np.add(self.params, v, out=self.params)

    def state(self):
        return self.velocity


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction.

    ``m = b1 m + (1-b1) g``; ``v = b2 v + (1-b2) g^2``;
    ``p -= lr * m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1-b1^t)``,
    ``v_hat = v / (1-b2^t)``.

    The moments are kept divided by their weights, ``u = m / (1-b1)`` and
    ``w = v / (1-b2)``, so that each is updated in two passes over the vector
    (``u = b1 u + g``) instead of three; the constant factors move into the step size and
    epsilon: ``p -= lr_t * u / (sqrt(w) + eps_t)`` with ``s = (1-b2) / (1-b2^t)``,
    ``lr_t = lr (1-b1) / ((1-b1^t) sqrt(s))`` and ``eps_t = eps / sqrt(s)``. The same
    numbers, ten passes over the vector per step.
    """

    name = "adam"

    def __init__(self, params, grads, learning_rate, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(params, grads, learning_rate)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.scaled_moments = np.zeros((2, params.size), params.dtype)

    def step(self):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        u, w = self.scaled_moments
        g, tmp = self.grads, self.tmp
        np.multiply(u, b1, out=u)
        np.add(u, g, out=u)
        np.multiply(g, g, out=tmp)
        np.multiply(w, b2, out=w)
        np.add(w, tmp, out=w)
        root_s = math.sqrt((1.0 - b2) / (1.0 - b2 ** self.t))
        lr_t = self.learning_rate * (1.0 - b1) / ((1.0 - b1 ** self.t) * root_s)
        np.sqrt(w, out=tmp)
        np.add(tmp, self.eps / root_s, out=tmp)
        np.divide(u, tmp, out=tmp)
        np.multiply(tmp, lr_t, out=tmp)
        np.subtract(self.params, tmp, out=self.params)

    def state(self):
        """``(m, v)``, Adam's first and second moments."""
        return self.scaled_moments * np.array([[1.0 - self.beta1], [1.0 - self.beta2]], self.params.dtype)


def make_optimizer(name: str, params: np.ndarray, grads: np.ndarray, learning_rate: float,
                   momentum: float = 0.9) -> Optimizer:
    """An optimizer from ``engine.spec.OPTIMIZERS`` bound to the flat vectors."""
    if name == "sgd":
        return SGD(params, grads, learning_rate)
    if name == "momentum":
        return Momentum(params, grads, learning_rate, momentum)
    if name == "adam":
        return Adam(params, grads, learning_rate)
    raise ValueError(f"unknown optimizer {name!r}")
