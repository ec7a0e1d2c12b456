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
    ``v_hat = v / (1-b2^t)``. Computed as ``p -= lr_t * m / (sqrt(v) + eps_t)`` with
    ``lr_t = lr sqrt(1-b2^t) / (1-b1^t)`` and ``eps_t = eps sqrt(1-b2^t)``, which is the
    same number with two fewer passes over the vector.
    """

    name = "adam"

    def __init__(self, params, grads, learning_rate, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(params, grads, learning_rate)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.moments = np.zeros((2, params.size), params.dtype)

    def step(self):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        m, v = self.moments
        g, tmp = self.grads, self.tmp
        np.multiply(m, b1, out=m)
        np.multiply(g, 1.0 - b1, out=tmp)
        np.add(m, tmp, out=m)
        np.multiply(v, b2, out=v)
        np.multiply(g, g, out=tmp)
        np.multiply(tmp, 1.0 - b2, out=tmp)
        np.add(v, tmp, out=v)
        c2 = math.sqrt(1.0 - b2 ** self.t)
        lr_t = self.learning_rate * c2 / (1.0 - b1 ** self.t)
        np.sqrt(v, out=tmp)
        np.add(tmp, self.eps * c2, out=tmp)
        np.divide(m, tmp, out=tmp)
        np.multiply(tmp, lr_t, out=tmp)
        np.subtract(self.params, tmp, out=self.params)

    def state(self):
        return self.moments


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
