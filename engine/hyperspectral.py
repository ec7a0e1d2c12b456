"""The ``hyperspectral`` preset: pixels shaped like the Indian Pines scene.

Indian Pines (AVIRIS, 145 x 145 pixels, 200 bands after the water-absorption bands are
removed) labels 10,249 pixels in 16 classes of very different sizes, from 20 (oats) to
2,455 (soybean-mintill). This generator keeps what matters for the course's SVM: the
class sizes in the same proportions, spectra that are smooth in the band index and
strongly correlated between neighbouring bands, classes whose mean spectra differ only
a little (vegetation looks alike), brightness that varies from pixel to pixel, and
noise. Values are reflectances of about 0 to 1.
"""

from __future__ import annotations

import numpy as np

#: labelled pixels per class in the Indian Pines ground truth (16 classes, 10,249 pixels)
INDIAN_PINES_COUNTS = (46, 1428, 830, 237, 483, 730, 28, 478, 20, 972, 2455, 593, 205, 1265, 386, 93)


def class_sizes(n: int, k: int) -> np.ndarray:
    """``n`` pixels over ``k`` classes as unevenly as Indian Pines, at least 2 per class.

    For ``k`` other than 16 the 16 proportions are interpolated. Largest remainders
    decide the rounding, so the sizes always add up to ``n``.

    Returns
    -------
    ndarray, shape (k,) int64
    """
    counts = np.asarray(INDIAN_PINES_COUNTS, np.float64)
    weights = counts if k == len(counts) else np.interp(np.linspace(0, len(counts) - 1, k),
                                                        np.arange(len(counts)), counts)
    exact = weights / weights.sum() * n
    sizes = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[: n - int(sizes.sum())]] += 1
    # Every class keeps a few pixels (a train and a test one); the largest classes pay.
    least = min(2, n // k)
    while sizes.min() < least:
        sizes[int(np.argmin(sizes))] += 1
        sizes[int(np.argmax(sizes))] -= 1
    return sizes


def _smooth(rng: np.random.Generator, rows: int, d: int, width: float) -> np.ndarray:
    """Random curves over ``d`` bands, smooth on the scale of ``width`` bands, unit spread."""
    half = int(2 * width)
    raw = rng.normal(size=(rows, d + 2 * half))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / width) ** 2)
    kernel /= np.sqrt(np.sum(kernel**2))
    out = np.empty((rows, d))
    for r in range(rows):
        out[r] = np.convolve(raw[r], kernel, mode="valid")[:d]
    return out


def make_hyperspectral(rng: np.random.Generator, n: int, noise: float, n_classes: int = 16,
                       n_features: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of ``n_classes`` materials, classes in the order of their generation.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
        Pixels, at least ``n_classes``.
    noise : float
        Extra white noise per band (the presets' noise scale; 0 keeps only the natural
        variation within a class).
    n_classes, n_features : int

    Returns
    -------
    X : ndarray, shape (n, n_features), float64
    y : ndarray, shape (n,) int64
    """
    d = int(n_features)
    bands = np.linspace(0.0, 1.0, d)
    # A vegetation-like base: low in the visible, a red edge, a high near-infrared plateau
    # with two absorption dips.
    base = (0.08 + 0.35 / (1.0 + np.exp(-(bands - 0.3) / 0.03))
            - 0.12 * np.exp(-0.5 * ((bands - 0.62) / 0.04) ** 2)
            - 0.18 * np.exp(-0.5 * ((bands - 0.85) / 0.05) ** 2))
    sizes = class_sizes(n, n_classes)
    means = base + 0.03 * _smooth(rng, n_classes, d, max(2.0, d / 12))
    y = np.repeat(np.arange(n_classes, dtype=np.int64), sizes)
    brightness = 1.0 + 0.12 * rng.normal(size=(n, 1))
    within = 0.025 * _smooth(rng, n, d, max(1.5, d / 25))
    X = means[y] * brightness + within + (0.005 + 0.05 * noise) * rng.normal(size=(n, d))
    return np.clip(X, 0.0, None), y
