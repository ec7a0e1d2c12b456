"""k-means by Lloyd's algorithm: vectorized, step by step, and data-parallel under MPI.

One Lloyd iteration is two steps, each a public function so a teaching view can take them
one click at a time:

- :func:`assign_points`: every point to its nearest centroid. The squared distances come
  from ``||x||^2 - 2 x.c + ||c||^2``: one matrix product (BLAS) for all points and
  centroids instead of a loop over either;
- :func:`centroid_sums` and :meth:`KMeans.update`: every centroid to the mean of its points
  (one weighted ``bincount`` per column).

:class:`KMeans` fits like scikit-learn's ``KMeans`` (``lloyd``): ``n_init`` seedings
(``k-means++``, the greedy variant with ``2 + ln k`` candidates per centre, or ``random``
rows), each iterated until no point changes its cluster or the centroids move less than
``tol`` times the mean variance of the columns (squared, summed), at most ``max_iter``
times; the seeding with the lowest inertia wins. An empty cluster takes the point farthest
from its centroid.

Under MPI every rank holds all rows (it loaded the same data) and works on its contiguous
part (:func:`engine.parallel.split_range`): it sums its points per centroid and one
``Allreduce`` per iteration adds the sums, the counts, the inertia, the number of points
that changed cluster and a stop flag. The seeding runs on every rank over all rows with
the same random generator, so 1 and N ranks start from identical centroids and take the
same iterations (the sums differ only by rounding).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

INITS = ("k-means++", "random")

#: elements of the (rows, k) distance block computed at once: small enough to stay in the
#: cache (a large block costs more in page faults and memory traffic than its few calls save)
_BLOCK_ELEMENTS = 1 << 16


def squared_distances(X: np.ndarray, centroids: np.ndarray, x_sq: np.ndarray | None = None) -> np.ndarray:
    """Squared Euclidean distances of every point to every centroid.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    centroids : ndarray, shape (k, d)
    x_sq : ndarray, shape (n,), optional
        ``||x||^2`` per row, when already known.

    Returns
    -------
    ndarray, shape (n, k), float64, clipped at 0 (the expansion can round below it).
    """
    X = np.asarray(X, np.float64)
    C = np.asarray(centroids, np.float64)
    if x_sq is None:
        x_sq = np.einsum("ij,ij->i", X, X)
    D = X @ C.T
    D *= -2.0
    D += x_sq[:, None]
    D += np.einsum("ij,ij->i", C, C)[None, :]
    np.maximum(D, 0.0, out=D)
    return D


def assign_points(X: np.ndarray, centroids: np.ndarray, x_sq: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Each point's nearest centroid (the assignment step).

    Parameters
    ----------
    X : ndarray, shape (n, d)
    centroids : ndarray, shape (k, d)
    x_sq : ndarray, shape (n,), optional
        ``||x||^2`` per row.

    Returns
    -------
    labels : ndarray, shape (n,), int64
        Index of the nearest centroid (the first one on a tie).
    min_sq : ndarray, shape (n,), float64
        Squared distance to it.
    """
    X = np.asarray(X, np.float64)
    n, k = len(X), len(centroids)
    if x_sq is None:
        x_sq = np.einsum("ij,ij->i", X, X)
    labels = np.empty(n, np.int64)
    min_sq = np.empty(n, np.float64)
    rows = max(1, _BLOCK_ELEMENTS // max(k, 1))
    flat_rows = np.arange(0, min(rows, n) * k, k)
    for a in range(0, n, rows):
        D = squared_distances(X[a:a + rows], centroids, x_sq[a:a + rows])
        chosen = np.argmin(D, axis=1)
        labels[a:a + rows] = chosen
        # One gather from the flat block: a 2-D fancy index or a min over short rows
        # costs several times more.
        chosen += flat_rows[:len(D)]
        min_sq[a:a + rows] = np.take(D.ravel(), chosen)
    return labels, min_sq


def centroid_sums(X: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The sum and count of the points of every cluster.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    labels : ndarray, shape (n,), int
        Cluster indices 0..k-1.
    k : int

    Returns
    -------
    sums : ndarray, shape (k, d), float64
    counts : ndarray, shape (k,), float64
    """
    X = np.asarray(X, np.float64)
    d = X.shape[1]
    sums = np.empty((k, d), np.float64)
    for j in range(d):
        sums[:, j] = np.bincount(labels, weights=X[:, j], minlength=k)[:k]
    counts = np.bincount(labels, minlength=k)[:k].astype(np.float64)
    return sums, counts


def inertia(X: np.ndarray, centroids: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of the points to their centroids, computed directly
    (``(x - c)^2``, not the expansion: no cancellation far from the origin)."""
    X = np.asarray(X, np.float64)
    C = np.asarray(centroids, np.float64)
    total = 0.0
    rows = max(1, _BLOCK_ELEMENTS // max(X.shape[1], 1))
    for a in range(0, len(X), rows):
        diff = X[a:a + rows] - C[labels[a:a + rows]]
        total += float(np.einsum("ij,ij->", diff, diff))
    return total


def kmeans_plusplus(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ seeding (scikit-learn's): ``k`` rows of ``X`` as centroids.

    Each new centre is the best of ``2 + int(ln k)`` candidates drawn with probability
    proportional to the squared distance to the nearest centre so far ("best": lowest
    sum of those distances afterwards). The candidates' distances to all rows are one
    matrix product.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    k : int, 1 <= k <= n
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (k, d), float64
    """
    X = np.asarray(X, np.float64)
    n = len(X)
    trials = 2 + int(math.log(k))
    x_sq = np.einsum("ij,ij->i", X, X)

    def distances_to(rows: np.ndarray) -> np.ndarray:
        """Squared distances of rows ``rows`` to every row, shape (len(rows), n)."""
        D = X[rows] @ X.T
        D *= -2.0
        D += x_sq[None, :]
        D += x_sq[rows][:, None]
        np.maximum(D, 0.0, out=D)
        D[np.arange(len(rows)), rows] = 0.0  # a row's distance to itself, exactly
        return D

    centres = np.empty((k, X.shape[1]), np.float64)
    first = int(rng.integers(n))
    centres[0] = X[first]
    closest = distances_to(np.array([first]))[0]
    potential = float(closest.sum())
    for c in range(1, k):
        if potential > 0:
            draws = rng.random(trials) * potential
            candidates = np.searchsorted(np.cumsum(closest), draws)
            np.minimum(candidates, n - 1, out=candidates)
        else:  # every point sits on a centre already: any row will do
            candidates = rng.integers(n, size=trials)
        trial = distances_to(candidates)
        np.minimum(trial, closest[None, :], out=trial)
        potentials = trial.sum(axis=1)
        best = int(np.argmin(potentials))
        centres[c] = X[candidates[best]]
        closest, potential = trial[best], float(potentials[best])
    return centres


def random_rows(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct rows of ``X`` drawn uniformly, shape (k, d) float64."""
    return np.asarray(X, np.float64)[rng.choice(len(X), size=k, replace=False)].copy()


def tolerance(X: np.ndarray, tol: float) -> float:
    """The absolute stopping shift: ``tol`` times the mean variance of the columns."""
    X = np.asarray(X, np.float64)
    return float(np.mean(np.var(X, axis=0))) * tol if len(X) else 0.0


@dataclass(frozen=True)
class KMeansResult:
    """The best of the seedings: ``centroids`` (k, d), ``labels`` (n,), ``inertia``,
    ``n_iter`` (its Lloyd iterations), ``converged`` and ``seeding`` (1-based)."""

    centroids: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int
    converged: bool
    seeding: int


class KMeans:
    """k-means with the settings of ``"model": {"kind": "kmeans", ...}``.

    Parameters
    ----------
    k : int
        Number of clusters, 1 <= k <= rows.
    init : {"k-means++", "random"}
    n_init : int
        Seedings to run; the one with the lowest inertia is kept.
    max_iter : int
        Lloyd iterations per seeding at most.
    tol : float
        Stop when the centroids' squared shift (summed) is at most ``tol`` times the mean
        column variance.
    seed : int
        Seed of the random generator of the seedings.

    Attributes
    ----------
    centroids : ndarray, shape (k, d)
        The current centroids: after :meth:`initialize`, :meth:`update` or :meth:`fit`;
        assignable (a teaching view drags them).
    result : KMeansResult or None
        After :meth:`fit` (or a :meth:`run` that finished).
    """

    def __init__(self, k: int = 3, init: str = "k-means++", n_init: int = 10, max_iter: int = 300,
                 tol: float = 1e-4, seed: int = 0):
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        if k < 1 or n_init < 1 or max_iter < 1 or tol < 0:
            raise ValueError("k, n_init and max_iter must be at least 1 and tol not negative")
        self.k, self.init, self.n_init, self.max_iter, self.tol, self.seed = k, init, n_init, max_iter, tol, seed
        self.rng = np.random.default_rng(seed)
        self.centroids: np.ndarray | None = None
        self.result: KMeansResult | None = None

    # ------------------------------------------------------------------ one step at a time

    def initialize(self, X: np.ndarray) -> np.ndarray:
        """Seed the centroids from ``X`` (n, d) with ``init``; returns them, shape (k, d)."""
        X = np.asarray(X, np.float64)
        self._check_rows(X)
        seeding = kmeans_plusplus if self.init == "k-means++" else random_rows
        self.centroids = seeding(X, self.k, self.rng)
        return self.centroids

    def assign(self, X: np.ndarray) -> np.ndarray:
        """The assignment step: the nearest centroid of every row of ``X`` (n, d), shape (n,)."""
        if self.centroids is None:
            raise ValueError("no centroids yet: call initialize(X) or set centroids")
        return assign_points(X, self.centroids)[0]

    def update(self, X: np.ndarray, labels: np.ndarray) -> float:
        """The update step: move every centroid to the mean of its points.

        A centroid without points stays where it is (:meth:`fit` moves it to the farthest
        point instead). Returns the squared shift of the centroids, summed.
        """
        if self.centroids is None:
            raise ValueError("no centroids yet: call initialize(X) or set centroids")
        sums, counts = centroid_sums(X, np.asarray(labels, np.int64), self.k)
        new = self.centroids.copy()
        filled = counts > 0
        new[filled] = sums[filled] / counts[filled, None]
        shift = float(np.sum((new - self.centroids) ** 2))
        self.centroids = new
        return shift

    def inertia(self, X: np.ndarray, labels: np.ndarray | None = None) -> float:
        """Sum of squared distances to the centroids (of ``labels``, default the nearest)."""
        labels = self.assign(X) if labels is None else np.asarray(labels, np.int64)
        return inertia(X, self.centroids, labels)

    # ------------------------------------------------------------------ whole fits

    def fit(self, X: np.ndarray) -> "KMeans":
        """Run every seeding to the end (one process); returns self."""
        for _ in self.run(X):
            pass
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The nearest centroid of every row, shape (n,) int64."""
        return self.assign(X)

    def run(self, X: np.ndarray, comm=None, stop=None):
        """Fit, yielding one record per Lloyd iteration.

        Parameters
        ----------
        X : ndarray, shape (n, d)
            All rows (every rank passes the same array and works on its part).
        comm : engine.parallel.SerialComm or MpiComm, optional
        stop : callable or threading.Event, optional
            Asked once per iteration (on every rank; any rank asking stops them all at
            the same iteration). A stopped fit keeps the best finished seeding, or the
            stopped one's centroids when none finished.

        Yields
        ------
        dict
            ``seeding`` (1-based), ``iteration``, ``inertia`` (of this iteration's
            assignment), ``shift`` (the centroids' squared move, summed), ``changed``
            (points that changed cluster) and ``elapsed_s``.
        """
        from .parallel import SerialComm, split_range

        comm = comm if comm is not None else SerialComm()
        X = np.ascontiguousarray(X, np.float64)
        self._check_rows(X)
        a, b = split_range(len(X), comm.size, comm.rank)
        X_part = X[a:b]
        x_sq = np.einsum("ij,ij->i", X_part, X_part)
        tol_abs = tolerance(X, self.tol)
        k, d = self.k, X.shape[1]
        started = time.perf_counter()
        best: KMeansResult | None = None
        self.stopped = False
        for seeding in range(1, self.n_init + 1):
            C = self.initialize(X)
            labels = np.full(len(X_part), -1, np.int64)
            converged = False
            n_iter = 0
            for n_iter in range(1, self.max_iter + 1):
                new_labels, min_sq = assign_points(X_part, C, x_sq)
                sums, counts = centroid_sums(X_part, new_labels, k)
                buf = np.concatenate([sums.ravel(), counts,
                                      [float(min_sq.sum()), float(np.count_nonzero(new_labels != labels)),
                                       1.0 if _asked(stop) else 0.0]])
                comm.allreduce_sum(buf)  # the iteration's one collective
                sums = buf[:k * d].reshape(k, d)
                counts = buf[k * d:k * d + k]
                iteration_inertia, changed, stop_votes = buf[-3:]
                labels = new_labels
                new_C = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1.0)[:, None], C)
                if np.any(counts == 0):
                    new_C = self._relocate_empty(X, a, min_sq, counts, new_C, comm)
                shift = float(np.sum((new_C - C) ** 2))
                C = new_C
                self.centroids = C
                yield {"seeding": seeding, "iteration": n_iter, "inertia": float(iteration_inertia), "shift": shift,
                       "changed": int(changed), "elapsed_s": time.perf_counter() - started}
                if stop_votes > 0:
                    self.stopped = True
                    break
                if changed == 0 or shift <= tol_abs:
                    converged = True
                    break
            if self.stopped and best is not None:
                break
            # Labels consistent with the final centroids, and the exact inertia over all ranks.
            labels_part, _ = assign_points(X_part, C, x_sq)
            total = np.array([inertia(X_part, C, labels_part)])
            comm.allreduce_sum(total)
            if best is None or total[0] < best.inertia:
                best = KMeansResult(C, labels_part, float(total[0]), n_iter, converged, seeding)
            if self.stopped:
                break
        labels_all = self._gather_labels(best.labels, len(X), comm)
        self.result = KMeansResult(best.centroids, labels_all, best.inertia, best.n_iter, best.converged,
                                   best.seeding)
        self.centroids = best.centroids

    def _relocate_empty(self, X, offset, min_sq, counts, C, comm) -> np.ndarray:
        """Empty clusters take the points farthest from their centroids (over all ranks)."""
        empty = np.flatnonzero(counts == 0)
        m = len(empty)
        take = min(m, len(min_sq))
        order = np.argsort(-min_sq, kind="stable")[:take]
        local = np.full((2 * m,), -1.0)
        local[:take] = min_sq[order]
        local[m:m + take] = order + offset
        found = np.empty((comm.size, 2 * m))
        comm.allgather(local, found)
        values, rows = found[:, :m].ravel(), found[:, m:].ravel()
        keep = rows >= 0
        values, rows = values[keep], rows[keep]
        # farthest first, the lower row on a tie: the same choice on any number of ranks
        chosen = rows[np.lexsort((rows, -values))][:m].astype(np.int64)
        C = C.copy()
        C[empty[:len(chosen)]] = X[chosen]
        return C

    @staticmethod
    def _gather_labels(labels_part: np.ndarray, n: int, comm) -> np.ndarray:
        from .parallel import split_range

        if comm.size == 1:
            return labels_part
        full = np.zeros(n, np.float64)
        a, b = split_range(n, comm.size, comm.rank)
        full[a:b] = labels_part
        comm.allreduce_sum(full)  # each row is non-zero on one rank only
        return full.astype(np.int64)

    def _check_rows(self, X: np.ndarray) -> None:
        if X.ndim != 2 or len(X) < self.k:
            raise ValueError(f"k-means with k {self.k} needs at least {self.k} rows, got {len(X)}")


def _asked(stop) -> bool:
    return stop is not None and bool(stop.is_set() if hasattr(stop, "is_set") else stop())
