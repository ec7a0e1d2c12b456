"""SMO on working sets of many variables (engine/svm_blocks.py), the row cache's batched
fetch and a pair's kernel matrix filled at once: each against libsvm's SMO, scikit-learn
or the kernel's closed form."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.svm import SVC

from engine.datasets import make_preset
from engine.svm import (
    WORKING_SET_MIN_ROWS,
    ClassRowStore,
    Kernel,
    KernelRowCache,
    OneVsOneFit,
    SvmSettings,
    _PairRowCache,
    resolve_gamma,
    smo_binary,
)
from engine.svm_blocks import smo_working_set
from tests.engine.test_svm import sklearn_dual_objective


def _solve(gen, on_record=None):
    while True:
        try:
            rec = next(gen)
        except StopIteration as fin:
            return fin.value
        if on_record is not None:
            on_record(rec)


def _gaussians(n: int, d: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, d)) + (2 * y[:, None] - 1) * 0.35 * (rng.normal(size=d) > 0)
    return X, y


def test_working_sets_reach_libsvm_s_optimum_on_a_large_pair():
    X, y = _gaussians(WORKING_SET_MIN_ROWS + 500)
    yy = np.where(y == 1, 1.0, -1.0)
    k = Kernel("rbf", resolve_gamma("scale", X))
    ws = _solve(smo_working_set(k, X, yy, 1.0, 1e-3, -1, 10**9))
    classic = _solve(smo_binary(k, X, yy, 1.0, 1e-3, -1, 10**9))
    assert ws.converged and ws.violation < 1e-3
    assert ws.objective == pytest.approx(classic.objective, rel=1e-5)
    assert ws.rho == pytest.approx(classic.rho, abs=2e-3)
    # feasible: y'a = 0 and 0 <= a <= C
    assert abs(ws.alpha @ yy) < 1e-9 and ws.alpha.min() >= 0 and ws.alpha.max() <= 1.0
    ref = SVC(C=1.0, gamma=k.gamma, tol=1e-3).fit(X, y)
    assert ws.objective == pytest.approx(sklearn_dual_objective(ref, k), rel=1e-3)
    n_sv = int(np.sum(ws.alpha > 0))
    assert abs(n_sv - int(ref.n_support_.sum())) <= 0.02 * ref.n_support_.sum()
    # the one-vs-one fit solves a pair this large on working sets: the same iterations
    fit = OneVsOneFit(X, y, 2, SvmSettings(C=1.0, gamma="scale"))
    for _ in fit.run():
        pass
    order = np.concatenate([np.flatnonzero(y == 0), np.flatnonzero(y == 1)])
    again = _solve(smo_working_set(k, X[order], np.where(y[order] == 0, 1.0, -1.0), 1.0, 1e-3, -1,
                                   200 * 2**20))
    assert fit.iterations == [again.iterations]
    assert fit.objectives[0] == pytest.approx(again.objective, rel=1e-12)
    # test accuracy as libsvm's
    Xt, yt = _gaussians(1000, seed=1)
    assert abs(float(np.mean(fit.model.predict(Xt) == yt)) - float(np.mean(ref.predict(Xt) == yt))) <= 0.01


def test_small_sets_and_a_cache_of_three_rows_reach_the_same_optimum():
    X, y = make_preset("spiral", 600, 0.2, 5)
    yy = np.where(y == 0, 1.0, -1.0)
    k = Kernel("rbf", gamma=2.0)
    classic = _solve(smo_binary(k, X, yy, 10.0, 1e-3, -1, 10**8))
    for size, cache_bytes in ((4, 10**8), (16, 3 * 4 * 600), (600, 10**8)):
        ws = _solve(smo_working_set(k, X, yy, 10.0, 1e-3, -1, cache_bytes, size=size))
        assert ws.converged, size
        assert ws.objective == pytest.approx(classic.objective, rel=1e-4), size
        assert abs(ws.alpha @ yy) < 1e-9 and ws.alpha.min() >= 0 and ws.alpha.max() <= 10.0


def test_reports_stop_and_max_iter_on_working_sets():
    X, y = make_preset("spiral", 1500, 0.3, 3)
    yy = np.where(y == 0, 1.0, -1.0)
    k = Kernel("rbf", gamma=1.5)
    seen = []

    def progress(it, violation, alpha, objective, rho):
        # the solution at this moment: a feasible point whose objective and threshold are current
        assert abs(alpha @ yy) < 1e-9
        return {"iteration": it, "objective": objective, "rho": rho()}

    full = _solve(smo_working_set(k, X, yy, 50.0, 1e-3, -1, 10**8, progress=progress, report_every=300),
                  seen.append)
    its = [r["iteration"] for r in seen]
    assert len(its) >= 3 and its == sorted(its) and its[-1] <= full.iterations
    # a report every time the count passes a multiple of 300
    assert [i // 300 for i in its] == list(range(1, len(its) + 1))
    objectives = [r["objective"] for r in seen]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(objectives))  # SMO never loses ground
    assert objectives[-1] <= full.objective + 1e-9

    asked = []
    stopped = _solve(smo_working_set(k, X, yy, 50.0, 1e-3, -1, 10**8, stop=lambda: asked.append(1) or True,
                                     report_every=300))
    assert stopped.stopped and not stopped.converged and 300 <= stopped.iterations < 600 and len(asked) == 1
    assert abs(stopped.alpha @ yy) < 1e-9 and stopped.alpha.min() >= 0 and stopped.alpha.max() <= 50.0

    capped = _solve(smo_working_set(k, X, yy, 50.0, 1e-3, 700, 10**8))
    assert capped.iterations == 700 and not capped.converged


def test_fetch_copies_hits_computes_misses_once_and_evicts_the_oldest():
    X, _ = make_preset("moons", 50, 0.2, 1)
    k = Kernel("rbf", gamma=3.0)
    exact = k.block(X, X)
    cache = KernelRowCache(k, X, 0, 50, 3 * 4 * 50)  # three rows fit
    out = np.zeros((4, 50))
    cache.fetch(np.array([7, 9]), out, np.array([0, 2]))
    assert cache.computed == 2
    np.testing.assert_allclose(out[[0, 2]], exact[[7, 9]], rtol=1e-6, atol=1e-7)
    assert not out[[1, 3]].any()
    cache.fetch(np.array([9, 11]), out, np.array([1, 3]))  # 9 is a hit, 11 fills the last slot
    assert cache.computed == 3
    np.testing.assert_allclose(out[[1, 3]], exact[[9, 11]], rtol=1e-6, atol=1e-7)
    cache.fetch(np.array([9, 11]), out, np.array([0, 1]))  # both hits: 7 is now the oldest
    cache.fetch(np.array([20]), out, np.array([2]))
    assert cache.computed == 4
    assert cache.slot_of[7] == -1 and min(cache.slot_of[[9, 11, 20]]) >= 0
    np.testing.assert_allclose(out[2], exact[20], rtol=1e-6, atol=1e-7)
    # more misses than slots: the block is still copied out whole, the cache keeps what fits
    cache.fetch(np.array([30, 31, 32, 33]), out, np.arange(4))
    np.testing.assert_allclose(out, exact[[30, 31, 32, 33]], rtol=1e-6, atol=1e-7)
    kept = [r for r in range(50) if cache.slot_of[r] >= 0]
    assert len(kept) == 3
    for r in kept:
        np.testing.assert_allclose(cache.rows[cache.slot_of[r]], exact[r], rtol=1e-6, atol=1e-7)


def test_a_pair_that_fits_gets_its_whole_kernel_matrix_at_once():
    X, y = make_preset("hyperspectral", 600, 0.2, 2, 3, n_features=12)
    k = Kernel("rbf", gamma=0.5)
    members = [np.flatnonzero(y == c) for c in range(3)]
    store = ClassRowStore(k, X, members, 10**8)
    rows = np.concatenate([members[0], members[2]])
    cache = _PairRowCache(k, X[rows], 10**8, len(members[0]), store, (0, 2))
    n = len(rows)
    assert cache.full and cache.computed == n and cache.filled == n
    np.testing.assert_array_equal(cache.slot_of, np.arange(n))
    np.testing.assert_allclose(cache.rows[:n], k.block(X[rows], X[rows]), rtol=2e-6, atol=1e-7)
    # the cross-class block and its transpose are the same numbers
    na = len(members[0])
    np.testing.assert_array_equal(cache.rows[:na, na:n], cache.rows[na:n, :na].T)
