"""DBSCAN: the grid's pairs against brute force, labels against scikit-learn, bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import engine.dbscan as dbscan_module
from engine.dbscan import DBSCAN, dbscan, k_distances, nearest_core_labels, neighbour_counts, radius_pairs


def _brute_sq(A, B):
    return ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)


def _pairs(Q, R, eps, **kw):
    found = [(int(i), int(j)) for iq, ir in radius_pairs(Q, R, eps, **kw) for i, j in zip(iq, ir)]
    assert len(found) == len(set(found))  # each pair once
    return set(found)


@pytest.mark.parametrize("d", [1, 2, 3, 8])
def test_radius_pairs_are_exactly_the_pairs_within_eps(d):
    rng = np.random.default_rng(d)
    X = rng.normal(size=(400, d))
    Q = rng.normal(size=(150, d))
    eps = 0.5 if d < 8 else 2.5
    expected_self = set(zip(*[a.tolist() for a in np.nonzero(_brute_sq(X, X) <= eps * eps)]))
    expected_q = set(zip(*[a.tolist() for a in np.nonzero(_brute_sq(Q, X) <= eps * eps)]))
    assert _pairs(X, X, eps) == expected_self
    assert _pairs(Q, X, eps) == expected_q
    assert _pairs(X, X, eps, chunk=97) == expected_self  # many small chunks, the same pairs
    np.testing.assert_array_equal(neighbour_counts(X, eps), (_brute_sq(X, X) <= eps * eps).sum(1))


def _sklearn(X, eps, min_samples):
    from sklearn.cluster import DBSCAN as SkDBSCAN

    fit = SkDBSCAN(eps=eps, min_samples=min_samples).fit(X)
    core = np.zeros(len(X), bool)
    core[fit.core_sample_indices_] = True
    return fit.labels_, core


def _cases():
    from sklearn.datasets import load_iris, make_blobs, make_moons
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    blobs_noise = np.concatenate([make_blobs(900, centers=[(0, 0), (3, 3), (0, 4)], cluster_std=0.3,
                                             random_state=0)[0], rng.uniform(-2, 6, (200, 2))])
    return {
        "blobs with noise": (blobs_noise, 0.3, 5),
        "moons": (make_moons(2000, noise=0.08, random_state=0)[0], 0.08, 6),
        "iris standardized (4-D)": (StandardScaler().fit_transform(load_iris().data), 0.6, 4),
        "8-D (distance blocks)": (rng.normal(size=(1500, 8)), 1.9, 5),
        "min_samples 1": (rng.random((500, 2)), 0.03, 1),
    }


@pytest.mark.parametrize("name", ["blobs with noise", "moons", "iris standardized (4-D)", "8-D (distance blocks)",
                                  "min_samples 1"])
def test_labels_and_core_points_are_scikit_learns(name):
    from sklearn.metrics import adjusted_rand_score

    X, eps, min_samples = _cases()[name]
    ours = dbscan(X, eps, min_samples)
    labels, core = _sklearn(X, eps, min_samples)
    np.testing.assert_array_equal(ours.core, core)
    assert adjusted_rand_score(labels, ours.labels) == 1.0
    # the numbering and the border points shared by two clusters agree too
    np.testing.assert_array_equal(ours.labels, labels)
    assert ours.n_clusters == labels.max() + 1
    c = ours.counts()
    assert c["noise"] == np.sum(labels == -1) and c["core"] + c["border"] + c["noise"] == len(X)


def test_recomputing_the_pairs_gives_the_stored_pairs_result(monkeypatch):
    X, eps, min_samples = _cases()["blobs with noise"]
    stored = dbscan(X, eps, min_samples)
    monkeypatch.setattr(dbscan_module, "STORED_PAIRS", 10)
    again = dbscan(X, eps, min_samples)
    np.testing.assert_array_equal(again.labels, stored.labels)


def test_a_border_point_between_two_clusters_goes_to_the_first():
    # Two dense groups; the point at 1.5 is within eps of one core point of each.
    left = np.linspace(0.0, 0.4, 5)
    right = np.linspace(2.6, 3.0, 5)
    X = np.concatenate([right, [1.5], left])[:, None]  # the right group comes first in the data
    result = dbscan(X, eps=1.15, min_samples=5)
    labels, core = _sklearn(X, 1.15, 5)
    np.testing.assert_array_equal(result.labels, labels)
    assert result.labels[5] == 0 and not result.core[5]  # the border point joined cluster 0, the right one


def test_100k_points_without_an_n_by_n_matrix():
    rng = np.random.default_rng(3)
    n = 100_000
    X = np.concatenate([rng.normal((0, 0), 0.2, (n // 2, 2)), rng.uniform(-3, 3, (n - n // 2, 2))])
    tracemalloc.start()
    try:
        result = dbscan(X, eps=0.03, min_samples=8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.labels.shape == (n,) and result.n_clusters >= 1
    assert result.counts()["noise"] > 0 and result.counts()["core"] > n // 4
    # an n x n float64 matrix would be 80 GB; the run stays far below a thousandth of it
    assert peak < 250e6, f"peak {peak / 1e6:.0f} MB"
    sample = rng.choice(n, 300, replace=False)
    for i in sample[:20]:  # core flags at random points, checked by brute force
        count = int(np.sum(((X - X[i]) ** 2).sum(1) <= 0.03 ** 2))
        assert result.core[i] == (count >= 8)


def test_k_distance_curve_marks_exactly_the_core_points():
    X, eps, min_samples = _cases()["blobs with noise"]
    distances, rows = k_distances(X, min_samples, max_points=None)
    assert np.all(np.diff(distances) <= 0) and sorted(rows.tolist()) == list(range(len(X)))
    brute = np.sqrt(np.sort(_brute_sq(X, X), axis=1)[:, min_samples - 1])
    np.testing.assert_allclose(distances, brute[rows], rtol=1e-9, atol=1e-9)
    core = dbscan(X, eps, min_samples).core
    np.testing.assert_array_equal(core[rows], distances <= eps)
    sampled, sampled_rows = k_distances(X, min_samples, max_points=100)
    assert len(sampled) == 100
    np.testing.assert_allclose(sampled, brute[sampled_rows], rtol=1e-9, atol=1e-9)


def test_new_points_take_the_cluster_of_the_nearest_core_point_within_eps():
    X, eps, min_samples = _cases()["moons"]
    model = DBSCAN(eps, min_samples).fit(X)
    rng = np.random.default_rng(9)
    new = np.concatenate([X[:200] + rng.normal(0, 0.03, (200, 2)), [[10.0, 10.0]]])
    got = model.predict(new)
    D = _brute_sq(new, model.X_core)
    nearest = D.argmin(1)
    expected = np.where(D.min(1) <= eps * eps, model.core_labels[nearest], -1)
    np.testing.assert_array_equal(got, expected)
    assert got[-1] == -1
    np.testing.assert_array_equal(nearest_core_labels(new, model.X_core[:0], model.core_labels[:0], eps),
                                  np.full(len(new), -1))


def test_an_eps_far_below_the_data_spread_uses_distance_blocks():
    # 1e-300 wide cells cannot be numbered in 64 bits: the blocks find the same (self) pairs.
    X = np.array([[0.0, 0.0], [1e10, 1e10], [0.0, 0.0]])
    result = dbscan(X, 1e-300, 2)
    np.testing.assert_array_equal(result.labels, [0, -1, 0])
    np.testing.assert_array_equal(result.labels, _sklearn(X, 1e-300, 2)[0])


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        DBSCAN(eps=0.0)
    with pytest.raises(ValueError):
        DBSCAN(eps=0.1, min_samples=0)
