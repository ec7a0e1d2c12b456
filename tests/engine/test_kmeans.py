"""k-means: the steps against their definitions, inertia against scikit-learn, 1 vs 2 MPI ranks."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from engine.kmeans import KMeans, assign_points, centroid_sums, inertia, kmeans_plusplus, squared_distances
from tests.conftest import ROOT, require


def _data(name):
    from sklearn.datasets import load_digits, load_iris, load_wine, make_blobs

    if name == "blobs":
        return make_blobs(n_samples=1500, centers=6, cluster_std=1.5, random_state=3)[0], 6
    loader, k = {"iris": (load_iris, 3), "wine": (load_wine, 3), "digits": (load_digits, 10)}[name]
    return loader().data, k


def test_squared_distances_and_the_assignment_step_match_direct_arithmetic():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(257, 5)) * 10 + 3
    C = rng.normal(size=(4, 5)) * 10
    direct = ((X[:, None, :] - C[None]) ** 2).sum(-1)
    np.testing.assert_allclose(squared_distances(X, C), direct, rtol=1e-10, atol=1e-9)
    labels, min_sq = assign_points(X, C)
    np.testing.assert_array_equal(labels, direct.argmin(1))
    np.testing.assert_allclose(min_sq, direct.min(1), rtol=1e-10, atol=1e-9)


def test_the_update_step_moves_centroids_to_their_means_and_keeps_an_empty_one():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    labels = np.repeat([0, 2], 30)  # cluster 1 has no points
    km = KMeans(k=3)
    km.centroids = np.array([[9.0, 9, 9], [5.0, 5, 5], [-9.0, -9, -9]])
    old = km.centroids.copy()
    shift = km.update(X, labels)
    np.testing.assert_allclose(km.centroids[0], X[:30].mean(0))
    np.testing.assert_allclose(km.centroids[2], X[30:].mean(0))
    np.testing.assert_array_equal(km.centroids[1], old[1])
    assert shift == pytest.approx(float(((km.centroids - old) ** 2).sum()))
    sums, counts = centroid_sums(X, labels, 3)
    np.testing.assert_array_equal(counts, [30, 0, 30])
    np.testing.assert_allclose(sums[0], X[:30].sum(0))
    # one assign + update by hand lowers the inertia, as Lloyd's iteration must
    km.centroids = X[:3].copy()
    before = km.inertia(X)
    km.update(X, km.assign(X))
    assert km.inertia(X) <= before


def test_kmeans_plus_plus_seeds_distinct_rows_and_is_reproducible():
    X, _ = _data("blobs")
    a = kmeans_plusplus(X, 6, np.random.default_rng(5))
    b = kmeans_plusplus(X, 6, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    rows = {tuple(r) for r in X.tolist()}
    assert all(tuple(c) in rows for c in a.tolist()) and len({tuple(c) for c in a.tolist()}) == 6


@pytest.mark.parametrize("name", ["iris", "wine", "digits", "blobs"])
def test_inertia_within_half_a_percent_of_scikit_learn(name):
    from sklearn.cluster import KMeans as SkKMeans

    X, k = _data(name)
    ours = KMeans(k=k, n_init=10, seed=0).fit(X).result
    theirs = SkKMeans(n_clusters=k, n_init=10, random_state=0).fit(X)
    assert ours.inertia == pytest.approx(theirs.inertia_, rel=0.005)
    # the reported inertia is the exact sum of squared distances of the returned partition
    assert ours.inertia == pytest.approx(inertia(X, ours.centroids, ours.labels), rel=1e-12)
    np.testing.assert_array_equal(ours.labels, assign_points(X, ours.centroids)[0])


def test_random_init_and_a_record_per_iteration():
    X, k = _data("iris")
    km = KMeans(k=k, init="random", n_init=3, seed=2)
    records = list(km.run(X))
    assert {r["seeding"] for r in records} == {1, 2, 3}
    for seeding in (1, 2, 3):
        its = [r["iteration"] for r in records if r["seeding"] == seeding]
        assert its == list(range(1, len(its) + 1))
        inertias = [r["inertia"] for r in records if r["seeding"] == seeding]
        assert all(b <= a * (1 + 1e-12) for a, b in zip(inertias, inertias[1:]))  # Lloyd never gets worse
    last = [r for r in records if r["seeding"] == km.result.seeding][-1]
    assert last["iteration"] == km.result.n_iter
    assert last["changed"] == 0 or last["shift"] <= 1e-4 * np.var(X, axis=0).mean()


def test_an_empty_cluster_takes_the_farthest_point():
    X = np.array([[0.0], [0.1], [0.2], [10.0]])
    km = KMeans(k=2, n_init=1, max_iter=1)
    km.initialize = lambda X: np.array([[0.1], [100.0]])  # the second centroid attracts nobody
    km.fit(X)
    # everything went to the first (its mean), the empty one jumped to the farthest point
    np.testing.assert_allclose(km.result.centroids, [[2.575], [10.0]])
    km.max_iter = 5
    km.fit(X)
    np.testing.assert_allclose(km.result.centroids, [[0.1], [10.0]])
    np.testing.assert_array_equal(km.result.labels, [0, 0, 0, 1])


def test_a_stop_request_keeps_a_usable_result():
    X, k = _data("digits")
    km = KMeans(k=k, n_init=5, seed=0)
    records = list(km.run(X, stop=lambda: True))
    assert len(records) == 1 and km.stopped
    assert km.result.labels.shape == (len(X),) and km.result.centroids.shape == (k, X.shape[1])


def test_two_mpi_ranks_give_the_one_rank_result(tmp_path):
    mpirun = shutil.which("mpirun")
    require(mpirun is not None and importlib.util.find_spec("mpi4py") is not None,
            "needs mpirun (Open MPI) and mpi4py")
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    np.savez(tmp_path / "digits.npz", X=X, y=y)
    spec = {"dataset": {"kind": "npz", "path": "digits.npz"},
            "model": {"kind": "kmeans", "k": 10, "n_init": 3, "seed": 4}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    env = dict(os.environ, PYTHONPATH=ROOT, TMPDIR=str(tmp_path), OMPI_MCA_rmaps_base_oversubscribe="1")
    base = [sys.executable, "-m", "engine", "train", str(tmp_path / "spec.json"), "--out"]
    one = subprocess.run(base + [str(tmp_path / "one")], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert one.returncode == 0, one.stderr
    cmd = [mpirun, "-n", "2"] + (["--allow-run-as-root"] if os.geteuid() == 0 else []) + ["--oversubscribe"]
    two = subprocess.run(cmd + base + [str(tmp_path / "two")], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=180)
    assert two.returncode == 0, two.stdout + two.stderr
    r1 = json.loads((tmp_path / "one" / "result.json").read_text())
    r2 = json.loads((tmp_path / "two" / "result.json").read_text())
    assert (r1["ranks"], r2["ranks"]) == (1, 2)
    assert r2["n_iter"] == r1["n_iter"] and r2["best_seeding"] == r1["best_seeding"]
    assert r2["cluster_sizes"] == r1["cluster_sizes"]
    assert r2["inertia"] == pytest.approx(r1["inertia"], rel=1e-10)
    np.testing.assert_allclose(r2["centroids"], r1["centroids"], rtol=0, atol=1e-9)
    # every iteration of every seeding the same, on both
    m1 = [json.loads(x) for x in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    m2 = [json.loads(x) for x in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert [(r["seeding"], r["iteration"], r["changed"]) for r in m1] == \
        [(r["seeding"], r["iteration"], r["changed"]) for r in m2]
    assert all(b["ranks"] == 2 for b in m2)
    for a, b in zip(m1, m2):
        assert b["inertia"] == pytest.approx(a["inertia"], rel=1e-10)
    assert (tmp_path / "two" / "clusters.csv").read_text() == (tmp_path / "one" / "clusters.csv").read_text()
