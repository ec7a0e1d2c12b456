"""Preset data generators and the train/test split.

The presets are shaped like TensorFlow Playground's (its ``dataset.ts``): points in about
[-6, 6] x [-6, 6], and ``noise`` on the Playground's scale, where its slider runs from 0 to
0.5. What noise does depends on the preset, as there:

- ``circle``, ``xor``, ``linear``: points are placed cleanly and the *label* is taken at a
  randomly displaced position, so noise flips labels near the boundary;
- ``gauss``, ``blobs``: the spread of each cloud grows (variance 0.5 at noise 0, 4 at 0.5);
- ``spiral``, ``moons``: the points themselves are displaced;
- ``plane``, ``multigauss`` (regression): the target is taken at a displaced position.

Every point lies in the square [-6, 6] x [-6, 6] the Playground draws, at every noise
level: a point that noise would push out gets its noise drawn again (so a wide Gaussian is
a Gaussian truncated to the square, not a pile of points on its edge), and whatever is
still out after that is clipped.

Every generator is vectorized and deterministic for a seed; classification presets return
``int64`` class indices, regression presets ``float64`` targets.
"""

from __future__ import annotations

import math

import numpy as np

from .hyperspectral import make_hyperspectral
from .spec import CLASSIFICATION_PRESETS, MAX_CLASSES, MAX_DECLARED_CLASSES, REGRESSION_PRESETS, WIDE_PRESETS, SpecError

PRESET_KINDS = CLASSIFICATION_PRESETS + REGRESSION_PRESETS + WIDE_PRESETS

# Half-width of the box the Playground draws its points in.
_RADIUS = 5.0
# Half-width of the square every preset's points stay in.
LIMIT = 6.0
# How many times the noise of a point outside the square is drawn again before it is clipped.
_REDRAWS = 64
# The six bumps of the Playground's "multi gaussian" regression: (cx, cy, sign).
_MULTIGAUSS = np.array(
    [[-4.0, 2.5, 1.0], [0.0, 2.5, -1.0], [4.0, 2.5, 1.0],
     [-4.0, -2.5, -1.0], [0.0, -2.5, 1.0], [4.0, -2.5, -1.0]]
)


def _counts(n: int, k: int) -> np.ndarray:
    """Split ``n`` samples into ``k`` nearly equal class sizes (the first ones larger)."""
    return n // k + (np.arange(k) < n % k)


def _class_column(counts: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def _shuffled(rng: np.random.Generator, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Generators build one class after the other; shuffle so no consumer sees sorted data.
    order = rng.permutation(len(y))
    return np.ascontiguousarray(X[order]), np.ascontiguousarray(y[order])


def _noisy_inside(clean: np.ndarray, draw_noise) -> np.ndarray:
    """``clean (n, 2) + draw_noise(n)``, with the noise of points outside the square drawn
    again (up to ``_REDRAWS`` times; what is left outside is clipped onto its edge)."""
    X = clean + draw_noise(len(clean))
    for _ in range(_REDRAWS):
        out = np.flatnonzero(np.any(np.abs(X) > LIMIT, axis=1))
        if not len(out):
            break
        X[out] = clean[out] + draw_noise(len(out))
    return np.clip(X, -LIMIT, LIMIT)


def _label_jitter(rng: np.random.Generator, n: int, noise: float) -> np.ndarray:
    """The displacement at which the label is read: uniform in [-5, 5]^2 times ``noise``."""
    return rng.uniform(-_RADIUS, _RADIUS, size=(n, 2)) * noise


def _circle(rng, n, noise):
    counts = _counts(n, 2)
    # Class 1 (the Playground's positives) fills the inner disc, class 0 the outer ring.
    r = np.concatenate([
        rng.uniform(0.7 * _RADIUS, _RADIUS, counts[0]),
        rng.uniform(0.0, 0.5 * _RADIUS, counts[1]),
    ])
    angle = rng.uniform(0.0, 2 * math.pi, n)
    X = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    seen = X + _label_jitter(rng, n, noise)
    y = (np.hypot(seen[:, 0], seen[:, 1]) < 0.5 * _RADIUS).astype(np.int64)
    return X, y


def _xor(rng, n, noise):
    X = rng.uniform(-_RADIUS, _RADIUS, size=(n, 2))
    # Push points 0.3 away from the axes so that the noiseless classes are separated.
    X += np.where(X > 0, 0.3, -0.3)
    seen = X + _label_jitter(rng, n, noise)
    y = (seen[:, 0] * seen[:, 1] >= 0).astype(np.int64)
    return X, y


def _gauss_std(noise: float) -> float:
    # The Playground maps noise 0..0.5 linearly onto a variance of 0.5..4.
    return math.sqrt(0.5 + 7.0 * noise)


def _gauss(rng, n, noise):
    counts = _counts(n, 2)
    y = _class_column(counts)
    centers = np.array([[-2.0, -2.0], [2.0, 2.0]])
    std = _gauss_std(noise)
    X = _noisy_inside(centers[y], lambda k: rng.normal(0.0, std, size=(k, 2)))
    return X, y


def _blobs(rng, n, noise, n_classes):
    counts = _counts(n, n_classes)
    y = _class_column(counts)
    angles = math.pi / 4 + 2 * math.pi * np.arange(n_classes) / n_classes
    centers = 4.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    std = _gauss_std(noise)
    X = _noisy_inside(centers[y], lambda k: rng.normal(0.0, std, size=(k, 2)))
    return X, y


def _spiral(rng, n, noise):
    counts = _counts(n, 2)
    y = _class_column(counts)
    # Position along its own arm, 0 <= s < 1, for every point.
    s = np.concatenate([np.arange(c) / c for c in counts])
    r = _RADIUS * s
    # Arms turn 1.75 times around the centre; the second arm is the first turned by pi.
    t = 1.75 * 2 * math.pi * s + math.pi * y
    clean = np.column_stack([r * np.sin(t), r * np.cos(t)])
    X = _noisy_inside(clean, lambda k: rng.uniform(-1.0, 1.0, size=(k, 2)) * noise)
    return X, y


def _moons(rng, n, noise):
    counts = _counts(n, 2)
    y = _class_column(counts)
    t = rng.uniform(0.0, math.pi, n)
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
    X = np.where(y[:, None] == 0, upper, lower)
    # The unit moons span x in [-1, 2], y in [-0.5, 1]: centre them and scale to [-6, 6].
    X = 4.0 * (X - np.array([0.5, 0.25]))
    X = _noisy_inside(X, lambda k: rng.normal(0.0, 2.0 * noise, size=(k, 2)))
    return X, y


def _linear(rng, n, noise):
    angle = rng.uniform(0.0, 2 * math.pi)
    normal = np.array([math.cos(angle), math.sin(angle)])
    offset = rng.uniform(-1.0, 1.0)
    X = rng.uniform(-_RADIUS, _RADIUS, size=(n, 2))
    side = np.where(X @ normal - offset >= 0, 1.0, -1.0)
    # A margin of 0.5 on each side of the line, so the perceptron converges quickly.
    X += 0.5 * side[:, None] * normal
    seen = X + _label_jitter(rng, n, noise)
    y = (seen @ normal - offset >= 0).astype(np.int64)
    return X, y


def _plane(rng, n, noise):
    X = rng.uniform(-6.0, 6.0, size=(n, 2))
    seen = X + rng.uniform(-6.0, 6.0, size=(n, 2)) * noise
    # The Playground maps x + y from [-10, 10] onto [-1, 1].
    y = (seen[:, 0] + seen[:, 1]) / 10.0
    return X, y


def _multigauss(rng, n, noise):
    X = rng.uniform(-6.0, 6.0, size=(n, 2))
    seen = X + rng.uniform(-6.0, 6.0, size=(n, 2)) * noise
    dist = np.hypot(seen[:, 0:1] - _MULTIGAUSS[:, 0], seen[:, 1:2] - _MULTIGAUSS[:, 1])  # (n, 6)
    bumps = _MULTIGAUSS[:, 2] * np.clip(1.0 - dist / 2.0, 0.0, 1.0)
    # Of the six signed bumps, the one largest in absolute value wins.
    pick = np.argmax(np.abs(bumps), axis=1)
    y = bumps[np.arange(n), pick]
    return X, y


_GENERATORS = {
    "circle": _circle,
    "xor": _xor,
    "gauss": _gauss,
    "spiral": _spiral,
    "moons": _moons,
    "linear": _linear,
    "plane": _plane,
    "multigauss": _multigauss,
}


def preset_n_classes(kind: str, n_classes: int = 3) -> int:
    """How many classes preset ``kind`` has (1 for a regression preset)."""
    if kind in REGRESSION_PRESETS:
        return 1
    return n_classes if kind == "blobs" or kind in WIDE_PRESETS else 2


def make_preset(
    kind: str, n_samples: int, noise: float, seed: int, n_classes: int = 3, n_features: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """Generate a preset data set.

    Parameters
    ----------
    kind : str
        One of ``CLASSIFICATION_PRESETS`` or ``REGRESSION_PRESETS``.
    n_samples : int
        Number of points, n >= 1.
    noise : float
        Noise on the Playground's scale (its slider spans 0 to 0.5; more is allowed).
    seed : int
        Seed of the generator; the same seed gives the same points.
    n_classes : int
        Number of blobs for ``blobs`` (2 to ``MAX_CLASSES``) or of materials for
        ``hyperspectral`` (2 to ``MAX_DECLARED_CLASSES``); other presets ignore it.
    n_features : int
        Spectral bands of ``hyperspectral``; other presets ignore it.

    Returns
    -------
    X : ndarray, shape (n, 2), float64
        Points, in [-6, 6] x [-6, 6] at every noise level (``hyperspectral``: (n, n_features)
        reflectances of about 0 to 1).
    y : ndarray, shape (n,)
        ``int64`` class indices 0..C-1 for classification, ``float64`` targets in about
        [-1.2, 1.2] for regression.
    """
    if kind not in PRESET_KINDS:
        raise SpecError("dataset.kind", f"{kind!r} is not a preset ({', '.join(PRESET_KINDS)})")
    n = int(n_samples)
    if n < 1:
        raise SpecError("dataset.n_samples", f"need at least one sample, got {n_samples!r}")
    noise = float(noise)
    if not math.isfinite(noise) or noise < 0:
        raise SpecError("dataset.noise", f"expected a finite number >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    if kind == "blobs":
        if not 2 <= n_classes <= MAX_CLASSES:
            raise SpecError("dataset.n_classes", f"{n_classes} is out of range [2, {MAX_CLASSES}]")
        X, y = _blobs(rng, n, noise, int(n_classes))
    elif kind in WIDE_PRESETS:
        if not 2 <= n_classes <= MAX_DECLARED_CLASSES:
            raise SpecError("dataset.n_classes", f"{n_classes} is out of range [2, {MAX_DECLARED_CLASSES}]")
        if n < n_classes:
            raise SpecError("dataset.n_samples", f"{n} samples for {n_classes} classes; need at least one each")
        X, y = make_hyperspectral(rng, n, noise, int(n_classes), int(n_features))
    else:
        X, y = _GENERATORS[kind](rng, n, noise)
        X = np.clip(X, -LIMIT, LIMIT)  # (the square, whatever a generator does)
    return _shuffled(rng, X.astype(np.float64, copy=False), y)


# ----------------------------------------------------------------------------- split


def _split_rng(seed: int) -> np.random.Generator:
    # A stream of its own, so that the split never replays the generator's draws.
    return np.random.default_rng([int(seed), 0x5B117])


def _looks_like_classes(y: np.ndarray) -> bool:
    # As scikit-learn's type_of_target: whole numbers are classes, however many.
    values = np.unique(y)
    return bool(np.all(values == np.round(values)))


def split_indices(
    y: np.ndarray, test_fraction: float, seed: int, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a train/test split.

    Parameters
    ----------
    y : ndarray, shape (n,)
        Labels. Integer or text labels are stratified when ``stratify``; so are float
        labels that look like classes (whole numbers),
        while other float labels (regression targets) get a plain random split.
    test_fraction : float
        Share of the samples that goes to the test part, 0 <= f < 1.
    seed : int
        Seed; the same seed gives the same split.
    stratify : bool
        Keep every class's share in both parts.

    Returns
    -------
    train, test : ndarray of int64
        Disjoint indices in random order. ``round(f * n)`` samples go to the test part, but
        every class (or, unstratified, the training part) keeps at least one training sample.
    """
    y = np.asarray(y)
    n = len(y)
    f = float(test_fraction)
    if not 0.0 <= f < 1.0:
        raise SpecError("dataset.test_fraction", f"{test_fraction!r} is out of range [0, 1)")
    rng = _split_rng(seed)
    n_test = int(round(f * n))
    if n_test == 0 or n == 0:
        return rng.permutation(n).astype(np.int64), np.zeros(0, np.int64)
    if not stratify or (y.dtype.kind == "f" and not _looks_like_classes(y)):
        order = rng.permutation(n)
        n_test = min(n_test, n - 1)
        return order[n_test:].astype(np.int64), order[:n_test].astype(np.int64)

    _, groups = np.unique(y, return_inverse=True)
    groups = groups.ravel()
    sizes = np.bincount(groups)
    n_test = min(n_test, n - len(sizes))
    # Largest-remainder apportionment of the test size over the classes, each class
    # keeping at least one training sample.
    exact = sizes * (n_test / n)
    take = np.minimum(np.floor(exact).astype(np.int64), sizes - 1)
    short = n_test - int(take.sum())
    while short > 0:
        # Give the next test sample to the class furthest below its exact share that can
        # still spare one (argmax takes the first on ties, so the result is deterministic).
        gap = np.where(take < sizes - 1, exact - take, -np.inf)
        take[int(np.argmax(gap))] += 1
        short -= 1
    # Shuffle once, then a stable sort by class keeps a random order inside every class.
    order = rng.permutation(n)
    order = order[np.argsort(groups[order], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.arange(n) - np.repeat(starts, sizes)
    is_test = rank < np.repeat(take, sizes)
    train, test = order[~is_test], order[is_test]
    return rng.permutation(train).astype(np.int64), rng.permutation(test).astype(np.int64)


def train_test_split(
    X: np.ndarray, y: np.ndarray, test_fraction: float, seed: int, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split samples into a training and a test part.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
    test_fraction, seed, stratify
        As in :func:`split_indices`.

    Returns
    -------
    X_train : ndarray, shape (n_train, d)
    y_train : ndarray, shape (n_train,)
    X_test : ndarray, shape (n_test, d); (0, d) when ``test_fraction`` is 0
    y_test : ndarray, shape (n_test,)
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    train, test = split_indices(y, test_fraction, seed, stratify)
    return X[train], y[train], X[test], y[test]
