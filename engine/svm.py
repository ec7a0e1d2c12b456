"""Support vector machines: the dual problem solved by SMO, one-vs-one for several classes.

The binary solver is libsvm's (Chang & Lin): it minimises ``f(a) = 1/2 a'Qa - e'a`` over
``0 <= a_t <= C`` with ``y'a = 0``, ``Q_st = y_s y_t K(x_s, x_t)``, two coordinates at a
time. The pair is chosen by second-order working-set selection (Fan, Chen & Lin 2005):
``i`` is the most violating index of the upper set, ``j`` the index of the lower set that
decreases ``f`` most with ``i``. The run stops when the largest violation
``max_{I_up} -y_t G_t + max_{I_low} y_t G_t`` falls under ``tol``; ties in either choice go
to the lowest index. Kernel rows are kept in an LRU cache of ``cache_mb`` megabytes; when
every row fits, it is filled on demand and never evicted.

Several classes: one binary problem per pair of classes ``(a, b)``, ``a < b``, class ``a``
labelled +1 (libsvm's order); a point gets one vote per pair, for ``a`` when the pair's
decision value is positive, and the class with most votes wins, the lowest class index on
a tie (as libsvm and piSVM).

Data parallel (piSVM's scheme): every rank holds a contiguous block of the pair's rows and
keeps the gradient, the kernel rows and the cache for that block only. ``i`` and ``j``
are each found by one small all-gather of every rank's best candidate (the lowest global
index wins a tie, so N ranks pick what 1 rank picks); the two new multipliers are then
computed identically everywhere and every rank updates its part of the gradient.

The reported ``dual_objective`` is the maximised form ``e'a - 1/2 a'Qa`` (libsvm prints
its negative), summed over the pairs.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import numpy as np

KERNELS = ("rbf", "linear", "poly", "sigmoid")
TAU = 1e-12
#: a metrics record every this many SMO iterations (and one at the end of each pair)
REPORT_EVERY = 1000
#: a pair is split over the ranks only with at least this many rows per rank
SPLIT_MIN_ROWS = 500
#: shrink the active rows every this many iterations (libsvm's 1000)
SHRINK_EVERY = 1000
#: problems with at least this many rows are solved on working sets of many variables
#: (:mod:`engine.svm_blocks`), unless the caller asks for a report at every iteration.
#: Measured: below it libsvm's loop is as fast or faster on one rank (1,000-3,800 rows);
#: from 5,000 rows on the working sets are as fast on one rank and much faster on several
#: (two collectives per set instead of two per iteration)
WORKING_SET_MIN_ROWS = 4000


# ----------------------------------------------------------------------------- kernels


@dataclass(frozen=True)
class Kernel:
    """A kernel with resolved parameters (``gamma`` is a number here).

    ``rbf``: ``exp(-gamma |x - z|^2)``; ``linear``: ``x.z``; ``poly``:
    ``(gamma x.z + coef0)^degree``; ``sigmoid``: ``tanh(gamma x.z + coef0)``.
    """

    kind: str = "rbf"
    gamma: float = 1.0
    degree: int = 3
    coef0: float = 0.0

    def block(self, A: np.ndarray, B: np.ndarray, sq_A: np.ndarray | None = None,
              sq_B: np.ndarray | None = None) -> np.ndarray:
        """Kernel values between the rows of ``A`` (m, d) and of ``B`` (n, d), shape (m, n).

        ``sq_A``/``sq_B`` are the rows' squared norms (RBF only; computed when omitted).
        """
        P = A @ B.T
        return self._finish(P, A, B, sq_A, sq_B)

    def _finish(self, P, A, B, sq_A, sq_B):
        if self.kind == "linear":
            return P
        if self.kind == "rbf":
            if sq_A is None:
                sq_A = np.einsum("ij,ij->i", A, A)
            if sq_B is None:
                sq_B = np.einsum("ij,ij->i", B, B)
            P *= -2.0
            P += sq_A.reshape(-1, 1) if P.ndim == 2 else sq_A
            P += sq_B
            np.maximum(P, 0.0, out=P)  # rounding can make |x - x|^2 a tiny negative
            P *= -self.gamma
            return np.exp(P, out=P)
        P *= self.gamma
        P += self.coef0
        if self.kind == "poly":
            return np.power(P, self.degree, out=P)
        return np.tanh(P, out=P)

    def row(self, x: np.ndarray, X: np.ndarray, sq_x: float, sq_X: np.ndarray | None,
            out: np.ndarray) -> np.ndarray:
        """``K(x, X[t])`` for every row of ``X`` (n, d), written into ``out`` (n,)."""
        np.dot(X, x, out=out)
        if self.kind == "linear":
            return out
        if self.kind == "rbf":
            out *= -2.0
            out += sq_x
            out += sq_X
            np.maximum(out, 0.0, out=out)
            out *= -self.gamma
            return np.exp(out, out=out)
        out *= self.gamma
        out += self.coef0
        if self.kind == "poly":
            return np.power(out, self.degree, out=out)
        return np.tanh(out, out=out)

    def rows32(self, A: np.ndarray, sq_A, X: np.ndarray, sq_X) -> np.ndarray:
        """``K(A[r], X[t])`` as float32, shape (len(A), len(X)); products in float64."""
        P = A @ X.T if len(A) > 1 else (X @ A[0]).reshape(1, -1)
        if self.kind == "rbf":
            P *= -2.0
            P += sq_A.reshape(-1, 1)
            P += sq_X
            np.maximum(P, 0.0, out=P)
            P *= -self.gamma
            out = P.astype(np.float32)
            return np.exp(out, out=out)
        return self._finish(P, A, X, None, None).astype(np.float32)

    def diagonal(self, X: np.ndarray) -> np.ndarray:
        """``K(x_t, x_t)`` for every row, shape (n,)."""
        sq = np.einsum("ij,ij->i", X, X)
        if self.kind == "rbf":
            return np.ones(len(X))
        if self.kind == "linear":
            return sq
        v = self.gamma * sq + self.coef0
        return v ** self.degree if self.kind == "poly" else np.tanh(v)


def resolve_gamma(gamma, X: np.ndarray) -> float:
    """``gamma`` as a number: ``scale`` is ``1 / (d * X.var())``, ``auto`` is ``1 / d``.

    ``X`` (n, d) are the training inputs after preprocessing (as scikit-learn's SVC).
    """
    d = X.shape[1]
    if gamma == "auto":
        return 1.0 / d
    if gamma == "scale":
        var = float(X.var())
        return 1.0 / (d * var) if var > 0 else 1.0
    return float(gamma)


# ----------------------------------------------------------------------------- the row cache


class KernelRowCache:
    """Kernel rows ``K(x_i, X_local)`` for the working indices, LRU within a byte budget.

    Rows are stored in float32 (as libsvm's cache): twice the rows in the same memory,
    and the exponential costs a quarter. A missing row is computed together with up to
    ``BLOCK - 1`` rows the solver expects to need soon (while there is room for them),
    as one matrix product.

    Parameters
    ----------
    kernel : Kernel
    X_all : ndarray, shape (n, d)
        Every row of the problem (a chosen row's inputs come from here).
    start, stop : int
        This rank's rows ``X_all[start:stop]``: the columns of every cached row.
    cache_bytes : int
        Memory for rows; at least two rows are always kept.
    widest : int, optional
        With rows split over ranks, the most columns any rank holds: every rank then gets
        the same number of row slots, so the caches of ranks asked for the same rows hit
        and miss alike (a miss fetches ahead together with the other ranks, a collective).
    """

    BLOCK = 16

    def __init__(self, kernel: Kernel, X_all: np.ndarray, start: int, stop: int, cache_bytes: int,
                 widest: int | None = None):
        self.kernel = kernel
        self.X_all = X_all
        self.X = X_all[start:stop]
        self.sq_all = np.einsum("ij,ij->i", X_all, X_all) if kernel.kind == "rbf" else None
        self.sq = self.sq_all[start:stop] if self.sq_all is not None else None
        n, m = len(X_all), stop - start
        per_row = max(4 * max(m, widest or 0), 1)
        self.n_slots = int(max(2, min(n, cache_bytes // per_row)))
        self.rows = np.empty((self.n_slots, m), np.float32)
        self.slot_of = np.full(n, -1, np.int64)
        self.full = self.n_slots >= n  # every row fits: a row's slot is its index
        self.row_in_slot = np.full(self.n_slots, -1, np.int64)
        self.last_used = np.zeros(self.n_slots, np.int64)
        self.clock = 0
        self.filled = 0
        self.computed = 0

    def get(self, i: int, candidates=None) -> np.ndarray:
        """The row of index ``i`` (a float32 view, valid until the next call).

        ``candidates()``, called only on a miss, returns indices (best first) worth
        computing in the same block.
        """
        slot = self.slot_of[i]
        self.clock += 1
        if slot >= 0:
            self.last_used[slot] = self.clock
            return self.rows[slot]
        want = [i]
        room = self.n_slots - self.filled if not self.full else len(self.slot_of)
        if candidates is not None and room > 1:
            cands = np.asarray(candidates(), np.int64)
            cands = cands[(cands != i) & (self.slot_of[cands] < 0)]
            want += cands[:min(self.BLOCK, room) - 1].tolist()
        want = np.array(want, np.int64)
        places = self._place(want)
        # Rows fetched ahead count as older than the one asked for: the next miss must not
        # evict the row the caller is holding.
        self.last_used[places] = self.clock - 1
        self.last_used[places[0]] = self.clock
        self.computed += len(want)
        self.rows[places] = self._compute(want)
        return self.rows[places[0]]

    def fetch(self, idx: np.ndarray, out: np.ndarray, out_rows: np.ndarray) -> None:
        """Copy the rows of indices ``idx`` into ``out[out_rows]``, the missing
        ones computed together as one block and kept (evicting the least recently used)."""
        self.clock += 1
        slots = self.slot_of[idx]
        hit = slots >= 0
        if hit.any():
            out[out_rows[hit]] = self.rows[slots[hit]]
            self.last_used[slots[hit]] = self.clock
        miss = np.flatnonzero(~hit)
        if miss.size == 0:
            return
        want = idx[miss]
        block = self._compute(want)
        out[out_rows[miss]] = block
        self.computed += len(want)
        places = self._place(want)
        self.last_used[places] = self.clock
        self.rows[places] = block[:len(places)]

    def _place(self, want: np.ndarray) -> np.ndarray:
        """Slots for the rows ``want`` (none of them cached), recorded in the maps: a row's own
        slot when every row fits, else the empty slots, then the least recently used ones
        (never one used at this clock). Fewer slots than rows when the cache is smaller."""
        if self.full:
            places = want
        else:
            places = np.arange(self.filled, self.filled + min(self.n_slots - self.filled, len(want)))
            self.filled += len(places)
            self.last_used[places] = self.clock
            need = len(want) - len(places)
            if need:
                if need == 1:  # (libsvm's solver misses one row at a time: no sort)
                    older = np.where(self.last_used < self.clock, self.last_used, np.iinfo(np.int64).max)
                    oldest = int(np.argmin(older))
                    order = np.array([oldest] if older[oldest] < np.iinfo(np.int64).max else [], np.int64)
                else:
                    order = np.argsort(self.last_used, kind="stable")
                    order = order[self.last_used[order] < self.clock][:need]
                self.slot_of[self.row_in_slot[order]] = -1
                places = np.concatenate([places, order])
        kept = want[:len(places)]
        self.row_in_slot[places] = kept
        self.slot_of[kept] = places
        return places

    def _compute(self, idx: np.ndarray) -> np.ndarray:
        """Rows ``idx`` (indices into ``X_all``) against this rank's rows: (len(idx), m) float32."""
        sq = self.sq_all[idx] if self.sq_all is not None else None
        return self.kernel.rows32(self.X_all[idx], sq, self.X, self.sq)


class ClassRowStore:
    """Kernel rows within each class, ``K(x_t, X_c)`` for ``t`` in class ``c``, computed once.

    One-vs-one solves ``k - 1`` pairs with every class, and a row of pair ``(a, b)`` for a
    vector of class ``a`` is ``K(x_t, X_a)`` next to ``K(x_t, X_b)``: the within-class part is
    the same in every pair of ``a``. Kept here (float32, a block per class, filled as rows
    are asked for), a pair only computes the cross-class part. Used when the blocks of
    all classes fit in ``budget_bytes``.

    Parameters
    ----------
    kernel : Kernel
    X : ndarray, shape (n, d)
        Every training row.
    members : list of int arrays
        The rows of each class, in the order pairs list them.
    budget_bytes : int
    """

    def __init__(self, kernel: Kernel, X: np.ndarray, members: list, budget_bytes: int, comm=None):
        self.kernel = kernel
        self.members = members
        self.enabled = sum(4 * len(m) ** 2 for m in members) <= budget_bytes
        self._X = [X[m] for m in members] if self.enabled else []
        self._sq = [np.einsum("ij,ij->i", x, x) if kernel.kind == "rbf" else None for x in self._X]
        self._blocks: dict[int, np.ndarray] = {}
        self._have: dict[int, np.ndarray] = {}
        self._shared = None
        if self.enabled and comm is not None and comm.size > 1 and hasattr(comm, "node_shared"):
            # Ranks on one node keep ONE store in shared memory: a row one rank computed
            # serves every rank's pairs of that class (rows then a flag per row, 1 when in).
            sizes = [len(m) for m in members]
            total = sum(n_c * n_c + n_c for n_c in sizes)
            shared = comm.node_shared([total] + [0] * (comm.size - 1), np.float32)
            if shared is not None:
                self._shared = shared
                area, at = shared.segments[0], 0
                if comm.rank == 0:
                    area[total - sum(sizes):] = 0  # no row is in yet
                for c, n_c in enumerate(sizes):
                    self._blocks[c] = area[at:at + n_c * n_c].reshape(n_c, n_c)
                    at += n_c * n_c
                for c, n_c in enumerate(sizes):
                    self._have[c] = area[at:at + n_c]
                    at += n_c
                shared.sync()

    @property
    def shared(self) -> bool:
        """True when the ranks of a node share this store."""
        return self._shared is not None

    def rows(self, c: int, local: np.ndarray) -> np.ndarray:
        """``K(X_c[local], X_c)``, shape (len(local), n_c) float32 (computed where missing)."""
        block = self._blocks.get(c)
        if block is None:
            n_c = len(self.members[c])
            block = self._blocks[c] = np.empty((n_c, n_c), np.float32)
            self._have[c] = np.zeros(n_c, np.float32)
        have = self._have[c]
        missing = local[have[local] == 0]
        if missing.size:
            Xc, sq = self._X[c], self._sq[c]
            block[missing] = self.kernel.rows32(Xc[missing], sq[missing] if sq is not None else None, Xc, sq)
            if self._shared is not None:
                # Another rank may read these rows as soon as it sees their flags. Two
                # ranks computing the same row at once write the same numbers.
                self._shared.fence()
            have[missing] = 1
        return block[local]

    def close(self) -> None:
        """Release a shared store (collective: every rank of the fit calls it)."""
        if self._shared is not None:
            self._shared.free()
            self._shared = None
            self._blocks.clear()
            self._have.clear()


class _PairRowCache(KernelRowCache):
    """The row cache of one pair solved by one rank, whose rows are class ``a``'s then ``b``'s:
    the within-class parts of its rows come from a :class:`ClassRowStore`."""

    #: rows of the cross-class block computed per matrix product when it is filled at once
    CHUNK = 1024

    def __init__(self, kernel, X, cache_bytes, n_first: int, store: ClassRowStore, classes: tuple[int, int]):
        super().__init__(kernel, X, 0, len(X), cache_bytes)
        self.n_first = n_first
        self.store = store
        self.classes = classes
        if self.full:
            self._fill()

    def _fill(self) -> None:
        # Every row fits: the pair's whole kernel matrix at once. The within-class blocks
        # come from the store; the cross-class block K(X_a, X_b) is computed once, in large
        # matrix products, and its transpose gives class b's rows (asked for row by row,
        # each cross value would be computed twice, in small products).
        na, n = self.n_first, len(self.X)
        rows = self.rows
        everything = np.arange(n)
        rows[:na, :na] = self.store.rows(self.classes[0], everything[:na])
        rows[na:, na:] = self.store.rows(self.classes[1], everything[: n - na])
        sq = self.sq_all
        for s in range(0, na, self.CHUNK):
            e = min(s + self.CHUNK, na)
            cross = self.kernel.rows32(self.X[s:e], sq[s:e] if sq is not None else None, self.X[na:],
                                       sq[na:] if sq is not None else None)
            rows[s:e, na:] = cross
            rows[na:, s:e] = cross.T
        self.slot_of[:] = everything
        self.row_in_slot[:n] = everything
        self.filled = n
        self.computed = n

    def _compute(self, idx):
        na, m = self.n_first, len(self.X)
        out = np.empty((len(idx), m), np.float32)
        first = idx < na
        # (rows of this class, its class, its column range, the other class's column range)
        for sel, c, own, other in ((first, self.classes[0], slice(0, na), slice(na, m)),
                                   (~first, self.classes[1], slice(na, m), slice(0, na))):
            where = np.flatnonzero(sel)
            if where.size == 0:
                continue
            r = idx[where]
            out[where, own] = self.store.rows(c, r - own.start)
            sq = self.sq_all[r] if self.sq_all is not None else None
            sq_other = self.sq_all[other] if self.sq_all is not None else None
            out[where, other] = self.kernel.rows32(self.X[r], sq, self.X[other], sq_other)
        return out


# ----------------------------------------------------------------------------- binary SMO


@dataclass
class BinaryResult:
    """A solved binary problem: ``alpha`` (n,) in ``[0, C]``, ``rho`` (decision is
    ``sum_t alpha_t y_t K(x_t, x) - rho``), ``objective`` (maximised dual), ``iterations``,
    ``converged``."""

    alpha: np.ndarray
    rho: float
    objective: float
    iterations: int
    converged: bool
    stopped: bool = False
    violation: float = 0.0
    most_shrunk: int = 0


class _Gather:
    """All-gather of a few float64 numbers per rank (the selections' only communication)."""

    def __init__(self, comm, width: int):
        self.comm = comm
        self.send = np.empty(width)
        self.recv = np.empty((comm.size, width))

    def __call__(self) -> np.ndarray:
        self.comm.allgather(self.send, self.recv)
        return self.recv


def two_variable_step(old_i: float, old_j: float, y_i: float, y_j: float, G_i: float, G_j: float, q: float,
                      C: float) -> tuple[float, float]:
    """libsvm's step on two multipliers (Solver::Solve, equal C for both classes).

    ``G_i``, ``G_j`` are the gradient of ``f`` at ``i`` and ``j``, ``q`` is
    ``K_ii + K_jj - 2 K_ij``; returns the new ``a_i``, ``a_j``, clipped to ``[0, C]`` with
    ``y_i a_i + y_j a_j`` unchanged.
    """
    if q <= 0:
        q = TAU
    if y_i != y_j:
        delta = (-G_i - G_j) / q
        diff = old_i - old_j
        a_i, a_j = old_i + delta, old_j + delta
        if diff > 0:
            if a_j < 0:
                a_j, a_i = 0.0, diff
        elif a_i < 0:
            a_i, a_j = 0.0, -diff
        if diff > 0:  # C_i - C_j == 0
            if a_i > C:
                a_i, a_j = C, C - diff
        elif a_j > C:
            a_j, a_i = C, C + diff
    else:
        delta = (G_i - G_j) / q
        total = old_i + old_j
        a_i, a_j = old_i - delta, old_j + delta
        if total > C:
            if a_i > C:
                a_i, a_j = C, total - C
        elif a_j < 0:
            a_j, a_i = 0.0, total
        if total > C:
            if a_j > C:
                a_j, a_i = C, total - C
        elif a_i < 0:
            a_i, a_j = 0.0, total
    return a_i, a_j


def binary_setup(kernel: Kernel, X: np.ndarray, y: np.ndarray, cache_bytes: int, comm, pair_of):
    """What both binary solvers start from: ``(comm, start, stop, cache, y)`` with this
    rank's rows ``[start, stop)``, its kernel-row cache (a pair's, with the class store,
    when one rank solves a pair of several classes) and ``y`` as float64."""
    from .parallel import SerialComm, split_range

    comm = comm if comm is not None else SerialComm()
    n = len(y)
    start, stop_row = split_range(n, comm.size, comm.rank)
    if pair_of is not None and comm.size == 1 and pair_of[1].enabled:
        cache = _PairRowCache(kernel, X, cache_bytes, *pair_of)
    else:
        cache = KernelRowCache(kernel, X, start, stop_row, cache_bytes, widest=-(-n // comm.size))
    return comm, start, stop_row, cache, np.asarray(y, np.float64)


def binary_result(alpha: np.ndarray, yl: np.ndarray, yG: np.ndarray, C: float, comm, iterations: int,
                  converged: bool, stopped: bool, violation: float, most_shrunk: int = 0) -> BinaryResult:
    """A binary solver's result from its final state (collective: the threshold and the
    objective are reduced over the ranks)."""
    from .parallel import split_range

    start, stop_row = split_range(len(alpha), comm.size, comm.rank)
    rho, objective = rho_and_objective(alpha[start:stop_row], yl, yG, C, comm)
    return BinaryResult(alpha=alpha, rho=float(rho), objective=float(objective), iterations=iterations,
                        converged=converged, stopped=stopped, violation=float(max(violation, 0.0)),
                        most_shrunk=most_shrunk)


def dual_objective(al: np.ndarray, yl: np.ndarray, yG: np.ndarray, comm=None) -> float:
    """The maximised dual objective ``e'a - 1/2 a'Qa`` from this rank's rows (summed over
    the ranks of ``comm``: collective)."""
    part = np.array([_objective_part(al, yl, yG)])
    if comm is not None and comm.size > 1:
        comm.allreduce_sum(part)
    return float(-part[0] / 2.0)


def _objective_part(al: np.ndarray, yl: np.ndarray, yG: np.ndarray) -> float:
    """This rank's share of ``-2`` times the dual objective: ``sum a_t (y_t G_t - 1)`` (with
    ``G = Qa - e``, ``a'Qa - 2 e'a``); the ranks' shares add up to the whole."""
    return float(np.dot(al, yl * yG - 1.0))


def rho_and_objective(al: np.ndarray, yl: np.ndarray, yG: np.ndarray, C: float, comm=None) -> tuple[float, float]:
    """libsvm's threshold ``rho`` (calculate_rho) and the maximised dual objective.

    ``al``, ``yl``, ``yG``: the multipliers, labels and ``y_t G_t`` of this rank's rows;
    with several ranks ``comm`` sums and compares over all of them (collective).
    """
    at_upper, at_lower = al >= C, al <= 0
    pos = yl > 0
    free = ~at_upper & ~at_lower
    ub_mask = (at_upper & ~pos) | (at_lower & pos)
    lb_mask = (at_upper & pos) | (at_lower & ~pos)
    stats = np.array([yG[free].sum(), float(free.sum()), _objective_part(al, yl, yG)])
    bounds = np.array([-(yG[ub_mask].min() if ub_mask.any() else math.inf),
                       yG[lb_mask].max() if lb_mask.any() else -math.inf])
    if comm is not None and comm.size > 1:
        comm.allreduce_sum(stats)
        comm.allreduce_max(bounds)
    ub, lb = -bounds[0], bounds[1]
    rho = stats[0] / stats[1] if stats[1] > 0 else (ub + lb) / 2.0
    return float(rho), float(-stats[2] / 2.0)


def smo_binary(kernel: Kernel, X: np.ndarray, y: np.ndarray, C: float, tol: float, max_iter: int,
               cache_bytes: int, comm=None, progress=None, stop=None, shrinking: bool = True, pair_of=None,
               report_every: int = REPORT_EVERY):
    """Solve one binary SVM dual by SMO; a generator that returns a :class:`BinaryResult`.

    Parameters
    ----------
    kernel : Kernel
    X : ndarray, shape (n, d), float64
        Every row of the problem (each rank has them all but works on its block).
    y : ndarray, shape (n,)
        +1 or -1.
    C, tol : float
    max_iter : int
        -1 for no limit.
    cache_bytes : int
    comm : SerialComm or MpiComm, optional
        The rows are split over its ranks (``engine.parallel.split_range``).
    progress : callable, optional
        ``progress(iteration, max_violation, alpha, objective, rho) -> dict``; its result is
        yielded every ``report_every`` iterations. ``alpha`` (n,) is the solver's own array
        and ``rho()`` computes the current threshold (collective with several ranks): both
        describe the solution at this iteration while the generator waits at the yield,
        which is how a caller draws the boundary mid-training.
    stop : callable, optional
        Asked every ``report_every`` iterations; True ends the run early (``stopped``
        True). With several ranks it must answer alike on all of them.
    shrinking : bool
        Leave rows that cannot be chosen out of the selection for a while (libsvm's
        heuristic; the solution is the same within ``tol``).
    pair_of : (n_first, ClassRowStore, (a, b)), optional
        One rank solving pair ``(a, b)`` whose first ``n_first`` rows are class ``a``'s:
        the within-class parts of kernel rows come from the store.
    report_every : int
        Iterations between two ``progress`` calls and ``stop`` questions (the headless
        fit's ``REPORT_EVERY``; an interactive caller asks for every iteration).

    Yields
    ------
    dict
        Whatever ``progress`` returns.
    """
    comm, start, stop_row, cache, y_all = binary_setup(kernel, X, y, cache_bytes, comm, pair_of)
    n, m, parallel = len(y), stop_row - start, comm.size > 1
    # The cache's hit path, inlined in the loop below (a lookup per chosen index).
    slot_of, last_used, cache_rows = cache.slot_of, cache.last_used, cache.rows
    yl = y_all[start:stop_row].copy()
    pos = yl > 0
    diag_all = kernel.diagonal(X)
    diag = diag_all[start:stop_row]
    diag_list = diag_all.tolist()
    y_list = y_all.tolist()
    diag_first = float(diag_all[0]) if n else 0.0
    diag_constant = bool(n) and bool(np.all(diag_all == diag_first))
    alpha = np.zeros(n)  # every rank holds all multipliers: they change only at i and j
    # y_t G_t on this rank's rows, G the gradient of f (G = Qa - e, so -1 at a = 0).
    # Kept as y_t G_t: the step then adds d_i K_it + d_j K_jt (y_t^2 = 1). It is kept
    # exact on every row, shrunk or not, so unshrinking needs no reconstruction.
    yG = -yl.copy()
    # libsvm's index sets as additive masks, 0 inside and -inf outside: I_up may increase
    # y_t a_t, I_low may decrease it.
    up_mask = np.where(pos, 0.0, -np.inf)
    low_mask = np.where(pos, -np.inf, 0.0)
    low_one = np.where(pos, 0.0, 1.0)
    step = np.empty(m)
    gather_i = _Gather(comm, 3) if parallel else None
    gather_j = _Gather(comm, 5) if parallel else None
    it = 0
    converged = False
    stopped = False
    violation = math.inf
    limit = max_iter if max_iter > 0 else None
    # Shrinking (libsvm's): every SHRINK_EVERY iterations the rows that are at a bound and
    # cannot be chosen while the largest violations stay as they are leave the selection;
    # the gradient is still updated everywhere, so each shrinking judges every row afresh
    # and all rows come back before the solver may stop.
    act = None  # active local rows (None: all)
    counter = min(n, SHRINK_EVERY)
    view = {}
    counts = {"most_shrunk": 0}

    def set_active(rows) -> None:
        nonlocal act
        act = rows
        if rows is None:
            view.update(up=up_mask, low=low_mask, one=low_one, diag=diag, where=None)
        else:
            where = np.full(m, -1, np.int64)
            where[rows] = np.arange(len(rows))
            view.update(up=up_mask[rows], low=low_mask[rows], one=low_one[rows], diag=diag[rows], where=where)
        size = m if rows is None else len(rows)
        view.update(size=size, work=np.empty(size), gain=np.empty(size), quad=np.empty(size),
                    where_list=None if rows is None else view["where"].tolist())

    set_active(None)

    pos_list = pos.tolist()
    minus_inf = -math.inf

    def update_sets(t_global: int, a: float) -> None:
        t = t_global - start
        if 0 <= t < m:
            if pos_list[t]:
                up, low = a < C, a > 0
            else:
                up, low = a > 0, a < C
            u, lo, one = (0.0 if up else minus_inf), (0.0 if low else minus_inf), (1.0 if low else 0.0)
            up_mask[t], low_mask[t], low_one[t] = u, lo, one
            if act is not None:
                k = view["where_list"][t]
                if k >= 0:
                    view["up"][k], view["low"][k], view["one"][k] = u, lo, one

    def shrink(g_max: float, g_max2: float) -> None:
        al = alpha[start:stop_row]
        upper, lower = al >= C, al <= 0
        out = ((upper & pos & (-yG > g_max)) | (upper & ~pos & (yG > g_max2))
               | (lower & pos & (yG > g_max2)) | (lower & ~pos & (-yG > g_max)))
        keep = np.flatnonzero(~out)
        set_active(None if len(keep) == m else keep)
        counts["most_shrunk"] = max(counts["most_shrunk"], m - len(keep))

    block = KernelRowCache.BLOCK
    gather_top = _Gather(comm, 2 * block) if parallel else None

    def top(values, local_rows):
        # The best few active rows by ``values``, as global indices (cache prefetch hints).
        size = len(values)
        k = min(block, size)
        if k == 0:
            best, best_values = np.zeros(0, np.int64), np.zeros(0)
        else:
            part = np.argpartition(values, size - k)[size - k:]
            best = part[np.argsort(-values[part])]
            best_values = values[best]
            best = start + (best if local_rows is None else local_rows[best])
        if not parallel:
            return best
        # Every rank prefetches the same rows, the best of all ranks' candidates: the
        # caches then stay alike, so every rank misses at the same iterations and none
        # waits at the next selection while another computes rows it did not need.
        send = gather_top.send
        send[:block], send[block:] = -np.inf, -1.0
        send[:k], send[block:block + k] = best_values, best
        got = gather_top()
        values_all, rows_all = got[:, :block].ravel(), got[:, block:].ravel()
        order = np.lexsort((rows_all, -values_all))[:block]
        order = order[rows_all[order] >= 0]
        return rows_all[order].astype(np.int64)

    def current_rho() -> float:
        return rho_and_objective(alpha[start:stop_row], yl, yG, C, comm)[0]

    while True:
        size = view["size"]
        work, gain, quad = view["work"], view["gain"], view["quad"]
        yG_a = yG if act is None else yG[act]
        # --- i: the most violating index of I_up, max -y_t G_t
        np.subtract(view["up"], yG_a, out=work)
        li = int(work.argmax()) if size else 0
        g_max_local = float(work[li]) if size else -math.inf
        row_i = (li if act is None else int(act[li])) if size else 0
        if parallel:
            s = gather_i.send
            s[0], s[1], s[2] = g_max_local, start + row_i, (yG[row_i] if size else 0.0)
            r = gather_i()
            best = int(np.flatnonzero(r[:, 0] == r[:, 0].max())[0])  # lowest rank = lowest index
            g_max, i, yG_i = float(r[best, 0]), int(r[best, 1]), float(r[best, 2])
        else:
            g_max, i, yG_i = g_max_local, row_i, float(yG[row_i]) if size else 0.0
        if g_max == -math.inf:
            if act is not None:
                set_active(None)
                continue
            converged, violation = True, 0.0  # I_up is empty: nothing can move
            break
        slot = slot_of[i]
        if slot >= 0:
            cache.clock += 1
            last_used[slot] = cache.clock
            K_i_full = cache_rows[slot]
        else:
            K_i_full = cache.get(i, lambda: top(work, act))
        K_i = K_i_full if act is None else K_i_full[act]
        # --- j: the index of I_low that lowers f most together with i (second order):
        # max over y_t G_t > -g_max of (g_max + y_t G_t)^2 / (K_ii + K_tt - 2 K_it)
        np.add(yG_a, view["low"], out=gain)
        g_max2_local = float(gain.max()) if size else -math.inf
        np.multiply(K_i, -2.0, out=quad, dtype=np.float64)
        if diag_constant:
            quad += 2.0 * diag_first  # K_ii + K_tt, the same for every t (RBF: 2)
        else:
            quad += view["diag"]
            quad += diag_all[i]
        np.maximum(quad, TAU, out=quad)
        np.add(yG_a, g_max, out=gain)
        np.maximum(gain, 0.0, out=gain)
        gain *= view["one"]
        gain *= gain
        gain /= quad
        lj = int(gain.argmax()) if size else 0
        gain_local = float(gain[lj]) if size else 0.0
        row_j = (lj if act is None else int(act[lj])) if size else 0
        if parallel:
            s = gather_j.send
            s[0], s[1], s[2] = gain_local, start + row_j, g_max2_local
            s[3], s[4] = (yG[row_j], K_i[lj]) if size else (0.0, 0.0)
            r = gather_j()
            g_max2 = float(r[:, 2].max())
            best = int(np.flatnonzero(r[:, 0] == r[:, 0].max())[0])
            gain_max, j, yG_j, K_ij = float(r[best, 0]), int(r[best, 1]), float(r[best, 3]), float(r[best, 4])
        else:
            g_max2 = g_max2_local
            gain_max, j, yG_j = gain_local, row_j, float(yG[row_j]) if size else 0.0
            K_ij = float(K_i[lj]) if size else 0.0
        violation = g_max + g_max2
        if violation < tol or gain_max <= 0.0:
            if act is not None:
                # Optimal on the active rows: check every row before stopping.
                set_active(None)
                counter = 1
                continue
            converged = True
            break
        if limit is not None and it >= limit:
            break
        if shrinking:
            counter -= 1
            if counter == 0:
                counter = min(n, SHRINK_EVERY)
                # Every row is judged again (the gradient is exact everywhere), which also
                # brings back the rows that became candidates since the last time.
                shrink(g_max, g_max2)
                continue  # select again on the new active rows
        it += 1
        # --- the two-variable step (libsvm's Solver::Solve, equal C for both classes)
        y_i, y_j = y_list[i], y_list[j]
        G_i, G_j = y_i * yG_i, y_j * yG_j
        old_i, old_j = float(alpha[i]), float(alpha[j])
        a_i, a_j = two_variable_step(old_i, old_j, y_i, y_j, G_i, G_j, diag_list[i] + diag_list[j] - 2.0 * K_ij, C)
        alpha[i], alpha[j] = a_i, a_j
        d_i, d_j = (a_i - old_i) * y_i, (a_j - old_j) * y_j
        # The least recently used row goes, never i's (just used): K_i stays valid.
        slot = slot_of[j]
        if slot >= 0:
            cache.clock += 1
            last_used[slot] = cache.clock
            K_j = cache_rows[slot]
        else:
            K_j = cache.get(j, lambda: top(gain, act))
        np.multiply(K_i_full, d_i, out=step, dtype=np.float64)
        yG += step
        np.multiply(K_j, d_j, out=step, dtype=np.float64)
        yG += step
        update_sets(i, a_i)
        update_sets(j, a_j)
        if it % report_every == 0:
            if progress is not None:
                yield progress(it, violation, alpha, dual_objective(alpha[start:stop_row], yl, yG, comm), current_rho)
            # Asked also without reports: a rank solving its own pairs must stop too.
            if stop is not None and stop():
                stopped = True
                break

    return binary_result(alpha, yl, yG, C, comm, it, converged, stopped, violation, counts["most_shrunk"])


# ----------------------------------------------------------------------------- one-vs-one


@dataclass
class SvmModel:
    """A trained SVM in libsvm's layout.

    Attributes
    ----------
    kernel : Kernel
    classes : int
        Number of classes ``k``.
    support_vectors : ndarray, shape (n_sv, d)
        Grouped by class, class 0's first.
    n_support : ndarray, shape (k,) int64
        Support vectors per class.
    dual_coef : ndarray, shape (k - 1, n_sv)
        ``y_t alpha_t`` of every support vector in each pair it belongs to, in libsvm's
        (and scikit-learn's ``dual_coef_``) arrangement.
    intercept : ndarray, shape (k (k - 1) / 2,)
        ``-rho`` of each pair ``(0, 1), (0, 2), ..., (k - 2, k - 1)``.
    train_rows : ndarray, shape (n_sv,) int64, optional
        Which training row each support vector is (a fitted model knows; a loaded one does not).
    """

    kernel: Kernel
    classes: int
    support_vectors: np.ndarray
    n_support: np.ndarray
    dual_coef: np.ndarray
    intercept: np.ndarray
    train_rows: np.ndarray | None = None

    @property
    def pairs(self) -> list[tuple[int, int]]:
        return class_pairs(self.classes)

    def decision_values(self, X: np.ndarray, block_rows: int = 4096) -> np.ndarray:
        """One-vs-one decision values, shape (n, k (k - 1) / 2); positive favours the pair's first class.

        Kernel values against the support vectors are computed in blocks of rows.
        """
        X = np.asarray(X, np.float64)
        out = np.empty((len(X), len(self.intercept)))
        starts = np.concatenate([[0], np.cumsum(self.n_support)])
        sv = self.support_vectors
        sq_sv = np.einsum("ij,ij->i", sv, sv) if self.kernel.kind == "rbf" else None
        for lo in range(0, len(X), block_rows):
            K = self.kernel.block(X[lo:lo + block_rows], sv, None, sq_sv)
            for p, (a, b) in enumerate(self.pairs):
                sa, sb = slice(starts[a], starts[a + 1]), slice(starts[b], starts[b + 1])
                out[lo:lo + block_rows, p] = (K[:, sa] @ self.dual_coef[b - 1, sa]
                                              + K[:, sb] @ self.dual_coef[a, sb] + self.intercept[p])
        return out

    def votes(self, X: np.ndarray) -> np.ndarray:
        """Votes per class, shape (n, k) int64."""
        dec = self.decision_values(X)
        return ovo_votes(dec, self.classes)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class indices, shape (n,) int64: most votes, the lowest class on a tie."""
        return np.argmax(self.votes(X), axis=1).astype(np.int64)


def class_pairs(k: int) -> list[tuple[int, int]]:
    """The one-vs-one pairs in libsvm's order: (0, 1), (0, 2), ..., (k - 2, k - 1)."""
    return [(a, b) for a in range(k) for b in range(a + 1, k)]


def ovo_votes(decision: np.ndarray, k: int) -> np.ndarray:
    """Votes per class from one-vs-one decision values.

    Parameters
    ----------
    decision : ndarray, shape (n, k (k - 1) / 2)
    k : int

    Returns
    -------
    ndarray, shape (n, k) int64
        A positive value votes for the pair's first class, anything else for the second.
    """
    votes = np.zeros((len(decision), k), np.int64)
    for p, (a, b) in enumerate(class_pairs(k)):
        first = decision[:, p] > 0
        votes[:, a] += first
        votes[:, b] += ~first
    return votes


@dataclass(frozen=True)
class SvmSettings:
    """The solver's settings (``C``, ``tol``, ``max_iter``, ``cache_mb``) and kernel."""

    kernel: str = "rbf"
    C: float = 1.0
    gamma: float | str = "scale"
    degree: int = 3
    coef0: float = 0.0
    tol: float = 1e-3
    max_iter: int = -1
    cache_mb: float = 200.0
    shrinking: bool = True


class OneVsOneFit:
    """Fits a multiclass SVM pair after pair; :meth:`run` yields metrics records.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Training inputs after preprocessing (every rank has all of them).
    y : ndarray, shape (n,) int
        Class indices 0..k-1.
    k : int
    settings : SvmSettings
    comm : SerialComm or MpiComm, optional

    Attributes after :meth:`run`
    ----------------------------
    model : SvmModel
    iterations : list of int, per pair
    objectives : list of float, per pair
    converged : bool
        Every pair reached ``tol``.
    stopped_early : bool
        ``stop`` said so; ``model`` is None unless it was during the last pair.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, k: int, settings: SvmSettings, comm=None):
        from .parallel import SerialComm

        self.X = np.ascontiguousarray(X, np.float64)
        self.y = np.asarray(y, np.int64)
        self.k = k
        self.settings = settings
        self.comm = comm if comm is not None else SerialComm()
        self.kernel = Kernel(settings.kernel, resolve_gamma(settings.gamma, self.X), settings.degree,
                             settings.coef0)
        self.model: SvmModel | None = None
        self.iterations: list[int] = []
        self.objectives: list[float] = []
        self.converged = True
        self.stopped_early = False

    def plan(self) -> tuple[list[int], list[list[int]]]:
        """How the pairs are spread over the ranks.

        Returns
        -------
        together : list of int
            Pairs every rank solves together, rows split (piSVM's data parallelism).
        own : list of list of int
            For each rank, the pairs it solves alone (the others wait for the result).

        A pair is split over the ranks when there is one pair only, or when its cost
        (rows squared) exceeds a fair share of the total and it has at least
        ``SPLIT_MIN_ROWS`` rows per rank: no assignment of whole pairs balances such a
        pair. The other pairs are dealt to ranks largest first, each to the rank with the
        least work so far. One rank solves everything itself, in order.
        """
        size = self.comm.size
        pairs = class_pairs(self.k)
        counts = np.bincount(self.y, minlength=self.k)
        rows = [int(counts[a] + counts[b]) for a, b in pairs]
        if size == 1:
            return list(range(len(pairs))), [[]]
        cost = [r * r for r in rows]
        share = sum(cost) / size
        together = [p for p in range(len(pairs))
                    if len(pairs) == 1 or (cost[p] > share and rows[p] >= SPLIT_MIN_ROWS * size)]
        own: list[list[int]] = [[] for _ in range(size)]
        load = [0] * size
        for p in sorted(set(range(len(pairs))) - set(together), key=lambda p: (-cost[p], p)):
            r = min(range(size), key=lambda r: (load[r], r))
            own[r].append(p)
            load[r] += cost[p]
        return together, [sorted(o) for o in own]

    def run(self, stop=None, started: float | None = None, stop_local=None, report_every: int = REPORT_EVERY):
        """Train every pair; yields metrics records.

        Pairs solved by all ranks together report every ``report_every`` iterations and
        when they end; pairs dealt out to single ranks (see :meth:`plan`) are reported
        once every rank has finished its share, one record per pair.

        Record keys: ``iteration`` (over the pairs reported so far), ``pair`` (1-based),
        ``pairs``, ``dual_objective`` (those pairs plus the current one), ``n_support``
        (support vectors so far), ``max_violation`` (the current pair's), ``elapsed_s``,
        ``ranks``.

        ``stop`` is called at the same moments on every rank (it may be collective);
        ``stop_local`` (default ``stop``) is asked by a rank alone while it solves its own
        pairs.

        While the generator waits at a yield, :meth:`current_model` is the solution so far.
        """
        from .parallel import SerialComm

        started = time.perf_counter() if started is None else started
        s = self.settings
        pairs = class_pairs(self.k)
        members = [np.flatnonzero(self.y == c) for c in range(self.k)]
        n = len(self.y)
        alpha_of = np.zeros((len(pairs), n))  # alpha of each training row in each pair
        rho = np.zeros(len(pairs))
        cache_bytes = int(s.cache_mb * 2**20)
        sv_seen = np.zeros(n, bool)
        self.iterations = [0] * len(pairs)
        self.objectives = [0.0] * len(pairs)
        together, own = self.plan()
        pair_rows = [np.concatenate([members[a], members[b]]) for a, b in pairs]
        done = {"iters": 0, "obj": 0.0}
        # What current_model reads between two records (the arrays are the live ones).
        self._state = {"pairs": pairs, "members": members, "alpha_of": alpha_of, "rho": rho, "live": None}

        # Several classes: the within-class kernel rows are shared by each class's pairs.
        store = ClassRowStore(self.kernel, self.X, members, cache_bytes, self.comm) if self.k > 2 else None

        def solve(p, comm, progress, stop_fn):
            rows = pair_rows[p]
            a, b = pairs[p]
            y_pair = np.where(self.y[rows] == a, 1.0, -1.0)
            pair_of = (len(members[a]), store, (a, b)) if store is not None and comm.size == 1 else None
            if len(rows) >= WORKING_SET_MIN_ROWS and report_every > 1:
                from .svm_blocks import smo_working_set

                return smo_working_set(self.kernel, self.X[rows], y_pair, s.C, s.tol, s.max_iter, cache_bytes, comm,
                                       progress, stop_fn, pair_of, report_every)
            return smo_binary(self.kernel, self.X[rows], y_pair, s.C, s.tol, s.max_iter, cache_bytes, comm,
                              progress, stop_fn, s.shrinking, pair_of, report_every)

        def finish(p, result):
            rows = pair_rows[p]
            alpha_of[p, rows] = result.alpha[: len(rows)]
            rho[p] = result.rho
            self.iterations[p] = result.iterations
            self.objectives[p] = result.objective
            self._state["live"] = None
            done["iters"] += result.iterations
            done["obj"] += result.objective
            if not result.converged:
                self.converged = False
            sv_seen[rows[alpha_of[p, rows] > 0]] = True
            return self._record(done["iters"], p, len(pairs), done["obj"], int(sv_seen.sum()), result.violation,
                                started)

        # Pairs dealt out: each rank solves its own alone, then one exchange.
        shared = sorted(p for r in own for p in r) if self.comm.size > 1 else []
        if shared:
            local_stop = stop_local if stop_local is not None else stop
            results = {}
            counter = self.comm.work_counter() if hasattr(self.comm, "work_counter") else None
            if counter is None:
                for p in own[self.comm.rank]:
                    results[p] = _finish_generator(solve(p, SerialComm(), None, local_stop))
            else:
                # Ranks on one node take the next pair when they are free, largest first:
                # a pair's cost (its iterations) is known only once it is solved.
                queue = sorted(shared, key=lambda p: (-len(pair_rows[p]), p))
                while (q := counter.next()) < len(queue):
                    p = queue[q]
                    results[p] = _finish_generator(solve(p, SerialComm(), None, local_stop))
                counter.free()
            offsets = np.concatenate([[0], np.cumsum([len(pair_rows[p]) for p in shared])])
            width = int(offsets[-1])
            buf = np.zeros(width + 6 * len(shared))
            for q, p in enumerate(shared):
                if p in results:
                    res = results[p]
                    buf[offsets[q]:offsets[q + 1]] = res.alpha
                    buf[width + 6 * q: width + 6 * q + 6] = (res.rho, res.objective, res.iterations,
                                                             float(res.converged), float(res.stopped), res.violation)
            self.comm.allreduce_sum(buf)
            if store is not None:
                store.close()  # the pairs solved together below compute their own rows
            any_stopped = False
            for q, p in enumerate(shared):
                rho_p, obj_p, it_p, conv_p, stopped_p, viol_p = buf[width + 6 * q: width + 6 * q + 6]
                res = BinaryResult(alpha=buf[offsets[q]:offsets[q + 1]].copy(), rho=float(rho_p),
                                   objective=float(obj_p), iterations=int(it_p), converged=bool(conv_p),
                                   stopped=bool(stopped_p), violation=float(viol_p))
                any_stopped |= res.stopped
                yield finish(p, res)
            if any_stopped:
                self.stopped_early = True
                return

        # Pairs solved by every rank together (all pairs on one rank), in order.
        todo = [p for p in range(len(pairs)) if p not in set(shared)]
        for q, p in enumerate(todo):
            rows = pair_rows[p]

            def progress(it, violation, alpha, objective, rho_now, p=p, rows=rows):
                self._state["live"] = (p, rows, alpha, rho_now)
                n_sv = int(np.count_nonzero(sv_seen | _scatter(alpha > 0, rows, n)))
                return self._record(done["iters"] + it, p, len(pairs), done["obj"] + objective, n_sv, violation,
                                    started)

            gen = solve(p, self.comm, progress, stop)
            while True:
                try:
                    rec = next(gen)
                except StopIteration as fin:
                    result = fin.value
                    break
                yield rec
            yield finish(p, result)
            last = q + 1 == len(todo)
            if result.stopped or (stop is not None and not last and stop()):
                self.stopped_early = True
                if not last:
                    return
        if store is not None:
            store.close()
        self.model = self._assemble(pairs, members, alpha_of, rho, sv_seen)

    def current_model(self) -> SvmModel | None:
        """The solution so far, as a model: call only while :meth:`run` waits at a yield.

        Finished pairs count with their final multipliers, the pair being solved with its
        current ones and threshold (libsvm's rho of the current gradient), pairs not
        started yet with none (their decision value is 0). After the run, :attr:`model`.
        With several ranks this is collective (the threshold is reduced over them).

        Before :meth:`run` has started, SMO's starting point: no support vectors.
        """
        if self.model is not None:
            return self.model
        state = getattr(self, "_state", None)
        if state is None:
            pairs = class_pairs(self.k)
            members = [np.flatnonzero(self.y == c) for c in range(self.k)]
            n = len(self.y)
            return self._assemble(pairs, members, np.zeros((len(pairs), n)), np.zeros(len(pairs)), np.zeros(n, bool))
        alpha_of, rho = state["alpha_of"], state["rho"]
        if state["live"] is not None:
            p, rows, alpha, rho_now = state["live"]
            alpha_of, rho = alpha_of.copy(), rho.copy()
            alpha_of[p, rows] = alpha[: len(rows)]
            rho[p] = rho_now()
        return self._assemble(state["pairs"], state["members"], alpha_of, rho, (alpha_of > 0).any(axis=0))

    def _record(self, iteration, p, n_pairs, objective, n_sv, violation, started) -> dict:
        return {"iteration": iteration, "pair": p + 1, "pairs": n_pairs, "dual_objective": objective,
                "n_support": n_sv, "max_violation": violation,
                "elapsed_s": time.perf_counter() - started, "ranks": self.comm.size}

    def _assemble(self, pairs, members, alpha_of, rho, sv_seen) -> SvmModel:
        k = self.k
        sv_rows = [m[sv_seen[m]] for m in members]
        n_support = np.array([len(r) for r in sv_rows], np.int64)
        order = np.concatenate(sv_rows)
        position = np.full(len(self.y), -1, np.int64)
        position[order] = np.arange(len(order))
        dual_coef = np.zeros((max(k - 1, 1), len(order)))
        for p, (a, b) in enumerate(pairs):
            ra, rb = sv_rows[a], sv_rows[b]
            # class a's vectors keep their coefficient of pair (a, b) in row b - 1, class b's in row a
            dual_coef[b - 1, position[ra]] = alpha_of[p, ra]
            dual_coef[a, position[rb]] = -alpha_of[p, rb]
        return SvmModel(kernel=self.kernel, classes=k, support_vectors=self.X[order].copy(), n_support=n_support,
                        dual_coef=dual_coef, intercept=-rho, train_rows=order)


def _finish_generator(gen):
    """Run a generator to its end; its return value."""
    while True:
        try:
            next(gen)
        except StopIteration as fin:
            return fin.value


def _scatter(mask_rows: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, bool)
    out[rows] = mask_rows
    return out


def available_memory_bytes() -> int | None:
    """Physical memory of this machine, None where the system does not say."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None
