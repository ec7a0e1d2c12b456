"""``python -m engine bench --case clustering``: k-means and DBSCAN, the engine against scikit-learn.

Each problem is fitted by the engine and by scikit-learn (``KMeans``, ``DBSCAN``) on one
thread (the benchmark pins BLAS and OpenMP to one thread before it starts), on the same
data with the same settings. Each figure is the best of a few fits (the machine is shared;
the best run is the least disturbed). Next to the times the line says how far the results
agree: the inertia's relative difference for k-means, the adjusted Rand index between the
two labelings for DBSCAN.

- ``kmeans digits``: 1,797 x 64, k 10, n_init 10 (k-means++);
- ``kmeans blobs``: 100,000 x 2, 8 blobs, k 8, n_init 10;
- ``dbscan blobs``: 100,000 x 2, 4 blobs and 20% uniform noise, eps 0.1, min_samples 10;
- ``dbscan moons``: 20,000 x 2, the moons, eps 0.05, min_samples 8.

No target: the figures say where the engine stands.
"""

from __future__ import annotations

import time

import numpy as np


def _kmeans_data(name: str) -> tuple[np.ndarray, int, int]:
    if name == "digits":
        from sklearn.datasets import load_digits

        return load_digits().data.astype(np.float64), 10, 10
    rng = np.random.default_rng(0)
    centres = rng.uniform(-10, 10, (8, 2))
    X = centres[rng.integers(0, 8, 100_000)] + rng.normal(0, 1.0, (100_000, 2))
    return X, 8, 10


def _dbscan_data(name: str) -> tuple[np.ndarray, float, int]:
    rng = np.random.default_rng(1)
    if name == "moons":
        from .datasets import make_preset

        X, _ = make_preset("moons", 20_000, 0.05, 2)
        return X, 0.05, 8
    centres = np.array([(-3.0, -3.0), (3.0, 3.0), (-3.0, 3.0), (3.0, -3.0)])
    blobs = centres[rng.integers(0, 4, 80_000)] + rng.normal(0, 0.6, (80_000, 2))
    return np.concatenate([blobs, rng.uniform(-6, 6, (20_000, 2))]), 0.1, 10


def _best(fn, repeats: int):
    best, value = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def run(quick: bool = False) -> int:
    """Print one line per problem; returns 0 (no targets)."""
    try:
        from sklearn.cluster import DBSCAN as SkDBSCAN
        from sklearn.cluster import KMeans as SkKMeans
    except ImportError:
        print("clustering: scikit-learn is not installed (pip install -e '.[bench]')")
        return 0
    from .clustering import adjusted_rand_index
    from .dbscan import dbscan
    from .kmeans import KMeans

    repeats = 1 if quick else 3
    for name in ("digits", "blobs"):
        X, k, n_init = _kmeans_data(name)
        eng_s, ours = _best(lambda: KMeans(k=k, n_init=n_init, seed=0).fit(X).result, repeats)
        sk_s, theirs = _best(lambda: SkKMeans(n_clusters=k, n_init=n_init, random_state=0).fit(X), repeats)
        print(f"kmeans {name:7s} {X.shape[0]:>7,} x {X.shape[1]:<3d} k {k:<2d} n_init {n_init:<2d}: "
              f"engine {eng_s:7.3f} s ({ours.n_iter} it) | scikit-learn {sk_s:7.3f} s ({theirs.n_iter_} it): "
              f"{sk_s / eng_s:.2f}x | inertia {ours.inertia:.6g} vs {theirs.inertia_:.6g} "
              f"({100 * (ours.inertia / theirs.inertia_ - 1):+.3f}%)", flush=True)
    for name in ("blobs", "moons"):
        X, eps, min_samples = _dbscan_data(name)
        eng_s, ours = _best(lambda: dbscan(X, eps, min_samples), repeats)
        sk_s, theirs = _best(lambda: SkDBSCAN(eps=eps, min_samples=min_samples).fit(X), repeats)
        print(f"dbscan {name:7s} {X.shape[0]:>7,} x {X.shape[1]:<3d} eps {eps:g} min_samples {min_samples}: "
              f"engine {eng_s:7.3f} s ({ours.n_clusters} clusters, {ours.counts()['noise']:,} noise) | "
              f"scikit-learn {sk_s:7.3f} s: {sk_s / eng_s:.2f}x | adjusted Rand index "
              f"{adjusted_rand_index(theirs.labels_, ours.labels):.6f}, labels "
              f"{'identical' if np.array_equal(theirs.labels_, ours.labels) else 'differ'}", flush=True)
    return 0
