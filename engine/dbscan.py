"""DBSCAN with a grid neighbour search: core, border and noise points, never an n x n matrix.

The neighbours within ``eps`` come from a grid of cells ``eps`` wide (:func:`radius_pairs`):
a point's neighbours lie in its own cell or one of the 3^d around it, so only those pairs
are measured, a bounded chunk of them at a time, all in NumPy. For 2-D data that is about
three candidate pairs per true neighbour; memory is the data, the cells and one chunk,
whatever the number of points. Data with more than ``GRID_MAX_DIMS`` columns (or cells
that cannot be numbered in 64 bits) fall back to distance blocks of a bounded number of
rows against all points: the same pairs, more arithmetic, the same bounded memory.

The clustering is scikit-learn's, label for label:

- a point is *core* when at least ``min_samples`` points (itself included) lie within
  ``eps`` (distance ``<= eps``);
- core points within ``eps`` of each other share a cluster (connected components, found by
  a vectorized union-find with pointer jumping);
- clusters are numbered in the order of their first core point in the data;
- a non-core point within ``eps`` of a core point is a *border* point of the lowest-numbered
  such cluster; every other point is *noise* (label -1).

The *k-distance* of a point is the distance to its ``k``-th nearest point, itself counted:
with ``k = min_samples``, exactly the core points have a k-distance ``<= eps``. Sorted from
large to small it is the curve whose knee suggests ``eps`` (:func:`k_distances`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: more columns than this: distance blocks instead of the grid (3^d neighbour cells)
GRID_MAX_DIMS = 5
#: candidate pairs measured at once (bounds the scratch memory: about 60 bytes a pair)
CHUNK_PAIRS = 1 << 19

#: neighbour pairs kept from the counting pass (16 bytes each) instead of measuring again
STORED_PAIRS = 4_000_000

NOISE = -1


def radius_pairs(Q: np.ndarray, R: np.ndarray, eps: float, chunk: int = CHUNK_PAIRS):
    """All pairs of a query and a reference point at most ``eps`` apart, chunk by chunk.

    Parameters
    ----------
    Q : ndarray, shape (m, d)
        Query points.
    R : ndarray, shape (n, d)
        Reference points (may be ``Q`` itself: then every point pairs with itself too).
    eps : float
        The radius, > 0.
    chunk : int
        Candidate pairs measured at once.

    Yields
    ------
    iq, ir : ndarray, shape (h,), int64
        Indices into ``Q`` and ``R`` of the pairs found in one chunk; every pair within
        ``eps`` is yielded exactly once over all chunks.
    """
    Q = np.asarray(Q, np.float64)
    R = np.asarray(R, np.float64)
    if len(Q) == 0 or len(R) == 0:
        return
    d = Q.shape[1]
    lo = np.minimum(Q.min(axis=0), R.min(axis=0))
    hi = np.maximum(Q.max(axis=0), R.max(axis=0))
    # Cell coordinates start at 1 so that a neighbour offset of -1 stays >= 0.
    with np.errstate(over="ignore"):
        spans = np.floor((hi - lo) / eps)
    cells_total = math.inf
    if np.all(np.isfinite(spans)) and np.all(spans < 2.0**62):
        extent = [int(e) + 3 for e in spans]
        cells_total = math.prod(extent)
    if d <= GRID_MAX_DIMS and cells_total < 2**62:
        yield from _grid_pairs(Q, R, eps, lo, extent, chunk)
    else:
        yield from _block_pairs(Q, R, eps, chunk)


def _cell_keys(X: np.ndarray, lo: np.ndarray, eps: float, radix: np.ndarray) -> np.ndarray:
    cells = np.floor((X - lo) / eps).astype(np.int64) + 1
    return cells @ radix


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + l)`` for every start and length (int64)."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    shift = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return np.arange(total, dtype=np.int64) + shift


def _grid_pairs(Q, R, eps, lo, extent, chunk):
    d = Q.shape[1]
    radix = np.ones(d, np.int64)
    for j in range(1, d):
        radix[j] = radix[j - 1] * extent[j - 1]
    same = Q is R
    q_keys = _cell_keys(Q, lo, eps, radix)
    r_keys = q_keys if same else _cell_keys(R, lo, eps, radix)
    r_order = np.argsort(r_keys, kind="stable")
    r_cells, r_start, r_count = np.unique(r_keys[r_order], return_index=True, return_counts=True)
    if same:
        q_order, q_cells, q_start, q_count = r_order, r_cells, r_start, r_count
    else:
        q_order = np.argsort(q_keys, kind="stable")
        q_cells, q_start, q_count = np.unique(q_keys[q_order], return_index=True, return_counts=True)
    # Columns of the points in cell order, contiguous: the distance loop gathers from them.
    q_cols = [np.ascontiguousarray(Q[q_order, j]) for j in range(d)]
    r_cols = q_cols if same else [np.ascontiguousarray(R[r_order, j]) for j in range(d)]
    offsets = np.array(np.meshgrid(*([[-1, 0, 1]] * d), indexing="ij")).reshape(d, -1).T @ radix
    if same:
        # A pair across cells a and a + o is the mirror of one across a + o and a: measure
        # each once (offsets > 0, and within a cell) and yield both directions.
        offsets = offsets[offsets >= 0]
    eps2 = eps * eps
    for off in offsets:
        wanted = q_cells + off
        pos = np.minimum(np.searchsorted(r_cells, wanted), len(r_cells) - 1)
        found = np.flatnonzero(r_cells[pos] == wanted)
        if len(found) == 0:
            continue
        # One segment per query point of a found cell: its neighbour cell's points, a
        # contiguous range of the reference points in cell order.
        cells_b = pos[found]
        seg_i = _ranges(q_start[found], q_count[found])
        seg_start = np.repeat(r_start[cells_b], q_count[found])
        seg_len = np.repeat(r_count[cells_b], q_count[found]).astype(np.int64)
        ends = np.cumsum(seg_len)
        s0 = 0
        while s0 < len(seg_len):
            # Whole segments up to about ``chunk`` pairs (at least one segment).
            base = ends[s0] - seg_len[s0]
            s1 = max(s0 + 1, int(np.searchsorted(ends, base + chunk, side="right")))
            lengths = seg_len[s0:s1]
            i = np.repeat(seg_i[s0:s1], lengths)
            j = _ranges(seg_start[s0:s1], lengths)
            s0 = s1
            d2 = np.zeros(len(i), np.float64)
            for qc, rc in zip(q_cols, r_cols):
                diff = qc[i] - rc[j]
                diff *= diff
                d2 += diff
            hit = d2 <= eps2
            i, j = q_order[i[hit]], r_order[j[hit]]
            if same and off > 0:
                yield np.concatenate([i, j]), np.concatenate([j, i])
            else:
                yield i, j


def _block_pairs(Q, R, eps, chunk):
    from .kmeans import squared_distances

    r_sq = np.einsum("ij,ij->i", R, R)
    rows = max(1, chunk // max(len(R), 1))
    eps2 = eps * eps
    for a in range(0, len(Q), rows):
        # The expansion ||q||^2 - 2 q.r + ||r||^2 transposed: reference norms are precomputed.
        D = squared_distances(R, Q[a:a + rows], r_sq).T
        iq, ir = np.nonzero(D <= eps2)
        yield iq.astype(np.int64) + a, ir.astype(np.int64)


def neighbour_counts(X: np.ndarray, eps: float) -> np.ndarray:
    """Points within ``eps`` of every point, itself included, shape (n,) int64."""
    X = np.asarray(X, np.float64)
    counts = np.zeros(len(X), np.int64)
    for i, _ in radius_pairs(X, X, eps):
        counts += np.bincount(i, minlength=len(X))
    return counts


def core_mask(X: np.ndarray, eps: float, min_samples: int) -> np.ndarray:
    """Whether each point is a core point, shape (n,) bool."""
    return neighbour_counts(X, eps) >= min_samples


def _compress(parent: np.ndarray) -> np.ndarray:
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return parent
        parent = grand


def connected_components(n: int, edge_chunks) -> np.ndarray:
    """Union-find over edges given chunk by chunk: the root (smallest member) of each node.

    Parameters
    ----------
    n : int
        Nodes 0..n-1.
    edge_chunks : iterable of (u, v) int arrays
        Undirected edges.

    Returns
    -------
    ndarray, shape (n,), int64
        For each node the smallest node of its component.
    """
    parent = np.arange(n, dtype=np.int64)
    for u, v in edge_chunks:
        # A merge is never undone, so the edges of earlier chunks stay satisfied.
        while True:
            ru, rv = parent[u], parent[v]
            differ = ru != rv
            if not differ.any():
                break
            lo = np.minimum(ru[differ], rv[differ])
            hi = np.maximum(ru[differ], rv[differ])
            np.minimum.at(parent, hi, lo)  # a root hooks under a smaller node: no cycles
            parent = _compress(parent)
    return _compress(parent)


@dataclass(frozen=True)
class DbscanResult:
    """``labels`` (n,) int64 (-1 noise), ``core`` (n,) bool, ``n_clusters``."""

    labels: np.ndarray
    core: np.ndarray
    n_clusters: int

    @property
    def kinds(self) -> np.ndarray:
        """Per point ``"core"``, ``"border"`` or ``"noise"``, shape (n,)."""
        out = np.full(len(self.labels), "border", dtype="<U6")
        out[self.core] = "core"
        out[self.labels == NOISE] = "noise"
        return out

    def counts(self) -> dict:
        """``{"core": ..., "border": ..., "noise": ...}`` point counts."""
        core = int(np.count_nonzero(self.core))
        noise = int(np.count_nonzero(self.labels == NOISE))
        return {"core": core, "border": len(self.labels) - core - noise, "noise": noise}


def dbscan(X: np.ndarray, eps: float, min_samples: int) -> DbscanResult:
    """Cluster ``X`` (n, d) with DBSCAN (see the module docstring for the rules).

    Parameters
    ----------
    X : ndarray, shape (n, d)
    eps : float, > 0
    min_samples : int, >= 1

    Returns
    -------
    DbscanResult
    """
    X = np.asarray(X, np.float64)
    if not eps > 0 or min_samples < 1:
        raise ValueError("eps must be positive and min_samples at least 1")
    n = len(X)
    # One pass counts the neighbours and, while they fit in STORED_PAIRS, keeps the pairs
    # (i < j) for the two steps after it; beyond that those steps measure again.
    counts = np.zeros(n, np.int64)
    stored: list[tuple[np.ndarray, np.ndarray]] | None = []
    kept = 0
    for i, j in radius_pairs(X, X, eps):
        counts += np.bincount(i, minlength=n)
        if stored is not None:
            once = i < j
            stored.append((i[once], j[once]))
            kept += int(np.count_nonzero(once))
            if kept > STORED_PAIRS:
                stored = None
    core = counts >= min_samples
    core_idx = np.flatnonzero(core)
    labels = np.full(n, NOISE, np.int64)
    if len(core_idx) == 0:
        return DbscanResult(labels, core, 0)
    X_core = X[core_idx]
    position = np.full(n, -1, np.int64)  # a core point's index among the core points
    position[core_idx] = np.arange(len(core_idx))

    def core_edges():
        if stored is not None:
            for i, j in stored:
                both = core[i] & core[j]
                yield position[i[both]], position[j[both]]
        else:
            for i, j in radius_pairs(X_core, X_core, eps):
                keep = i < j
                yield i[keep], j[keep]

    roots = connected_components(len(core_idx), core_edges())
    # core_idx is sorted, so a component's root is its first core point in data order:
    # numbering the roots in order numbers the clusters as scikit-learn discovers them.
    root_ids, cluster_of_core = np.unique(roots, return_inverse=True)
    cluster_of_core = cluster_of_core.ravel()
    labels[core_idx] = cluster_of_core
    other = np.flatnonzero(~core)
    if len(other):
        unset = np.iinfo(np.int64).max
        best = np.full(n, unset, np.int64)
        if stored is not None:
            for i, j in stored:
                for a, b in ((i, j), (j, i)):  # a core, b not: b may border a's cluster
                    link = core[a] & ~core[b]
                    np.minimum.at(best, b[link], cluster_of_core[position[a[link]]])
        else:
            for io, ic in radius_pairs(X[other], X_core, eps):
                np.minimum.at(best, other[io], cluster_of_core[ic])
        border = other[best[other] != unset]
        labels[border] = best[border]
    return DbscanResult(labels, core, len(root_ids))


def k_distances(X: np.ndarray, k: int, max_points: int | None = 2000) -> tuple[np.ndarray, np.ndarray]:
    """The k-distance curve: each point's distance to its ``k``-th nearest point (itself
    counted), sorted from large to small.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    k : int
        With ``k = min_samples`` the points with a k-distance ``<= eps`` are the core points.
        Clipped to n.
    max_points : int or None
        Above this many points the curve is taken over that many evenly spaced rows (each
        still measured against all n points); None: every point.

    Returns
    -------
    distances : ndarray, shape (m,), float64
        Sorted descending.
    rows : ndarray, shape (m,), int64
        The row of each distance.
    """
    from .kmeans import squared_distances

    X = np.asarray(X, np.float64)
    n = len(X)
    k = max(1, min(int(k), n))
    if max_points is None or n <= max_points:
        rows = np.arange(n, dtype=np.int64)
    else:
        rows = np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    x_sq = np.einsum("ij,ij->i", X, X)
    out = np.empty(len(rows), np.float64)
    block = max(1, CHUNK_PAIRS // max(n, 1))
    for a in range(0, len(rows), block):
        part = rows[a:a + block]
        D = squared_distances(X, X[part], x_sq).T  # (block, n)
        D[np.arange(len(part)), part] = 0.0  # a point's distance to itself, exactly
        out[a:a + block] = np.sqrt(np.partition(D, k - 1, axis=1)[:, k - 1])
    order = np.argsort(-out, kind="stable")
    return out[order], rows[order]


def nearest_core_labels(X_new: np.ndarray, X_core: np.ndarray, core_labels: np.ndarray, eps: float) -> np.ndarray:
    """DBSCAN's assignment of new points: the cluster of the nearest core point within
    ``eps``, else noise (-1).

    Parameters
    ----------
    X_new : ndarray, shape (m, d)
    X_core : ndarray, shape (c, d)
    core_labels : ndarray, shape (c,), int
    eps : float

    Returns
    -------
    ndarray, shape (m,), int64
    """
    X_new = np.asarray(X_new, np.float64)
    m = len(X_new)
    labels = np.full(m, NOISE, np.int64)
    if m == 0 or len(X_core) == 0:
        return labels
    best = np.full(m, np.inf)
    core_labels = np.asarray(core_labels, np.int64)
    for iq, ic in radius_pairs(X_new, np.asarray(X_core, np.float64), eps):
        diff = X_new[iq] - X_core[ic]
        d2 = np.einsum("ij,ij->i", diff, diff)
        # Sort by distance, far first, so that the nearest write of each point lands last.
        order = np.argsort(-d2, kind="stable")
        iq, ic, d2 = iq[order], ic[order], d2[order]
        closer = d2 < best[iq]
        iq, ic, d2 = iq[closer], ic[closer], d2[closer]
        best[iq] = d2  # fancy assignment: the last write of a repeated index wins
        labels[iq] = core_labels[ic]
    return labels


class DBSCAN:
    """DBSCAN with the settings of ``"model": {"kind": "dbscan", "eps": ..., "min_samples": ...}``.

    Attributes (after :meth:`fit`)
    -------------------------------
    labels : ndarray, shape (n,), int64
        Cluster per point, -1 noise.
    core : ndarray, shape (n,), bool
    n_clusters : int
    """

    def __init__(self, eps: float = 0.5, min_samples: int = 5):
        if not eps > 0 or min_samples < 1:
            raise ValueError("eps must be positive and min_samples at least 1")
        self.eps, self.min_samples = float(eps), int(min_samples)
        self.result: DbscanResult | None = None
        self.X_core: np.ndarray | None = None
        self.core_labels: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> "DBSCAN":
        X = np.asarray(X, np.float64)
        self.result = dbscan(X, self.eps, self.min_samples)
        self.X_core = X[self.result.core].copy()
        self.core_labels = self.result.labels[self.result.core].copy()
        return self

    @property
    def labels(self) -> np.ndarray:
        return self.result.labels

    @property
    def core(self) -> np.ndarray:
        return self.result.core

    @property
    def n_clusters(self) -> int:
        return self.result.n_clusters

    def predict(self, X: np.ndarray) -> np.ndarray:
        """New points: the cluster of the nearest core point within ``eps``, else -1; shape (m,)."""
        return nearest_core_labels(X, self.X_core, self.core_labels, self.eps)
