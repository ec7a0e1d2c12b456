"""Clustering through ``python -m engine``: clusters.csv, result.json, validate, predict, bad values."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from engine.clustering import adjusted_rand_index, read_clusters_csv
from engine.estimators import MODEL_REGISTRY, read_model
from engine.spec import RunSpec, SpecError
from tests.conftest import ROOT


def _engine(*args, cwd):
    return subprocess.run([sys.executable, "-m", "engine", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": ROOT, "PATH": "/usr/bin:/bin"})


def _iris_csv(path, rng):
    """Iris with text species as the last column, rows shuffled (the file's order matters)."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    order = rng.permutation(150)
    X, names = iris.data[order], iris.target_names[iris.target[order]]
    lines = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    lines += [",".join(f"{v:g}" for v in row) + f",{name}" for row, name in zip(X, names)]
    path.write_text("\n".join(lines) + "\n")
    return X, names


def test_ari_matches_scikit_learn():
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(0)
    for n, ka, kb in [(2, 2, 2), (10, 3, 4), (500, 5, 7), (1000, 1, 3), (300, 8, 8)]:
        a = rng.integers(-1, ka, n)
        b = rng.integers(0, kb, n)
        assert adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
    text = np.array(["x", "y", "x", "z", "y"])
    assert adjusted_rand_index(text, [3, 1, 3, 0, 1]) == 1.0  # renumbered: the same partition
    assert adjusted_rand_index([0, 0, 0], [1, 1, 1]) == adjusted_rand_score([0, 0, 0], [1, 1, 1])


def test_clustering_kinds_are_registered_as_assignments():
    for kind in ("kmeans", "dbscan"):
        assert MODEL_REGISTRY[kind].output == "assignment" and MODEL_REGISTRY[kind].family == "clustering"
    spec = RunSpec.from_dict({"dataset": {"kind": "plane"}, "model": {"kind": "kmeans", "k": 4, "init": "random"}})
    assert spec.model.to_dict() == {"kind": "kmeans", "k": 4, "init": "random", "n_init": 10, "max_iter": 300,
                                    "tol": 0.0001, "seed": 0}
    assert RunSpec.from_dict(spec.to_dict()).model == spec.model
    db = RunSpec.from_dict({"model": {"kind": "dbscan", "eps": 0.3}}).model
    assert db.to_dict() == {"kind": "dbscan", "eps": 0.3, "min_samples": 5}
    for bad, field in [({"kind": "kmeans", "k": 0}, "model.k"), ({"kind": "dbscan", "eps": 0}, "model.eps"),
                       ({"kind": "dbscan", "eps": -1}, "model.eps"), ({"kind": "dbscan", "min_samples": 0},
                                                                     "model.min_samples"),
                       ({"kind": "kmeans", "init": "kmeans||"}, "model.init"),
                       ({"kind": "kmeans", "eps": 1}, "model.eps")]:
        with pytest.raises(SpecError) as err:
            RunSpec.from_dict({"model": bad})
        assert err.value.field == field


def test_kmeans_train_writes_clusters_in_file_order_and_scores_them(tmp_path):
    from sklearn.cluster import KMeans as SkKMeans
    from sklearn.metrics import adjusted_rand_score

    X, names = _iris_csv(tmp_path / "iris.csv", np.random.default_rng(1))
    spec = {"dataset": {"kind": "csv", "path": "iris.csv", "test_fraction": 0.3},
            "model": {"kind": "kmeans", "k": 3, "n_init": 10, "seed": 0}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    check = _engine("validate", "spec.json", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "test_fraction does not apply" in check.stdout and "because it is text" in check.stdout
    run = _engine("train", "spec.json", "--out", "run", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    text = (tmp_path / "run" / "clusters.csv").read_text().splitlines()
    assert text[0] == "row,cluster" and len(text) == 151
    clusters = read_clusters_csv(tmp_path / "run" / "clusters.csv")
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "completed"
    sk = SkKMeans(n_clusters=3, n_init=10, random_state=0).fit(X)
    assert result["inertia"] == pytest.approx(sk.inertia_, rel=0.005)
    # the clusters belong to the rows in the file's order: their centroids' inertia is the reported one
    C = np.array(result["centroids"])
    assert float(((X - C[clusters]) ** 2).sum()) == pytest.approx(result["inertia"], rel=1e-9)
    assert result["cluster_sizes"] == np.bincount(clusters).tolist() and sum(result["cluster_sizes"]) == 150
    assert result["n_iter"] >= 1
    assert result["adjusted_rand_index"] == pytest.approx(adjusted_rand_score(names, clusters), abs=1e-12)
    assert result["adjusted_rand_index"] > 0.6
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all({"iteration", "inertia", "shift"} <= set(r) for r in records)

    # predict: the nearest centroid of each new row; the labels column scores it
    (tmp_path / "new.csv").write_text("a,b,c,d,species\n" + "\n".join(
        ",".join(f"{v:g}" for v in row) + f",{name}" for row, name in zip(X[:40], names[:40])) + "\n")
    pred = _engine("predict", "run/model.npz", "new.csv", cwd=tmp_path)
    assert pred.returncode == 0, pred.stderr
    assert [int(v) for v in pred.stdout.split()] == clusters[:40].tolist()
    assert "adjusted Rand index" in pred.stderr
    _, model = read_model(tmp_path / "run" / "model.npz")
    np.testing.assert_allclose(model.decision_values(X[:5]), np.sqrt(((X[:5, None] - C[None]) ** 2).sum(-1)))


def test_labels_are_not_used_for_fitting(tmp_path):
    rng = np.random.default_rng(2)
    X, names = _iris_csv(tmp_path / "iris.csv", rng)
    shuffled = tmp_path / "shuffled.csv"
    lines = (tmp_path / "iris.csv").read_text().splitlines()
    labels = [line.rsplit(",", 1)[1] for line in lines[1:]]
    rng.shuffle(labels)
    shuffled.write_text("\n".join([lines[0]] + [line.rsplit(",", 1)[0] + "," + lab
                                                 for line, lab in zip(lines[1:], labels)]) + "\n")
    out = {}
    for name in ("iris.csv", "shuffled.csv"):
        (tmp_path / "spec.json").write_text(json.dumps({"dataset": {"kind": "csv", "path": name},
                                                        "model": {"kind": "dbscan", "eps": 0.5, "min_samples": 4}}))
        run = _engine("train", "spec.json", "--out", name + ".run", cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        out[name] = (read_clusters_csv(tmp_path / (name + ".run") / "clusters.csv"),
                     json.loads((tmp_path / (name + ".run") / "result.json").read_text()))
    np.testing.assert_array_equal(out["iris.csv"][0], out["shuffled.csv"][0])
    assert out["iris.csv"][1]["adjusted_rand_index"] > out["shuffled.csv"][1]["adjusted_rand_index"]


def test_dbscan_train_writes_core_border_noise_and_the_k_distance_curve(tmp_path):
    from sklearn.cluster import DBSCAN as SkDBSCAN
    from sklearn.datasets import make_moons

    X, _ = make_moons(600, noise=0.1, random_state=4)
    X = np.concatenate([X, np.random.default_rng(0).uniform(-1.5, 2.5, (60, 2))])
    # no label column: every CSV column is a feature
    (tmp_path / "pts.csv").write_text("x,y\n" + "\n".join(f"{a:.17g},{b:.17g}" for a, b in X) + "\n")
    (tmp_path / "spec.json").write_text(json.dumps({"dataset": {"kind": "csv", "path": "pts.csv"},
                                                    "model": {"kind": "dbscan", "eps": 0.15, "min_samples": 6}}))
    check = _engine("validate", "spec.json", cwd=tmp_path)
    assert "every column is a feature" in check.stdout, check.stdout + check.stderr
    run = _engine("train", "spec.json", "--out", "run", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    clusters = read_clusters_csv(tmp_path / "run" / "clusters.csv")
    sk = SkDBSCAN(eps=0.15, min_samples=6).fit(X)
    np.testing.assert_array_equal(clusters, sk.labels_)
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert "adjusted_rand_index" not in result
    assert result["n_noise"] == int(np.sum(sk.labels_ == -1)) and result["n_core"] == len(sk.core_sample_indices_)
    assert result["n_core"] + result["n_border"] + result["n_noise"] == len(X)
    curve = result["k_distance"]
    assert curve["k"] == 6 and len(curve["distances"]) == len(X)
    assert sum(d <= 0.15 for d in curve["distances"]) == result["n_core"]
    # predict: a point on a core point joins its cluster, a far one is noise
    core = sk.core_sample_indices_[0]
    (tmp_path / "new.csv").write_text(f"{X[core, 0]:.17g},{X[core, 1]:.17g}\n9,9\n")
    pred = _engine("predict", "run/model.npz", "new.csv", cwd=tmp_path)
    assert pred.stdout.split() == [str(sk.labels_[core]), "-1"], pred.stderr


@pytest.mark.parametrize("model, data, message", [
    ({"kind": "kmeans", "k": 0}, {"kind": "blobs"}, "model.k: 0 is out of range"),
    ({"kind": "kmeans", "k": 30}, {"kind": "blobs", "n_samples": 20}, "model.k: 30 clusters asked for, but the data have only 20 rows"),
    ({"kind": "dbscan", "eps": 0}, {"kind": "blobs"}, "model.eps: 0 is out of range"),
    ({"kind": "dbscan", "eps": 0.2, "min_samples": 0}, {"kind": "blobs"}, "model.min_samples: 0 is out of range"),
])
def test_bad_values_are_one_line_and_exit_2(tmp_path, model, data, message):
    (tmp_path / "spec.json").write_text(json.dumps({"dataset": data, "model": model}))
    for command in (("train", "spec.json", "--out", "run"), ("validate", "spec.json")):
        proc = _engine(*command, cwd=tmp_path)
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "run" / "clusters.csv").exists()


def test_force_replaces_an_earlier_clusters_file(tmp_path):
    (tmp_path / "spec.json").write_text(json.dumps({"dataset": {"kind": "blobs", "n_samples": 90},
                                                    "model": {"kind": "kmeans", "k": 2}}))
    assert _engine("train", "spec.json", "--out", "run", cwd=tmp_path).returncode == 0
    again = _engine("train", "spec.json", "--out", "run", cwd=tmp_path)
    assert again.returncode == 2 and "already holds a run" in again.stderr
    (tmp_path / "spec.json").write_text(json.dumps({"dataset": {"kind": "blobs", "n_samples": 90},
                                                    "model": {"kind": "kmeans", "k": 5}}))
    assert _engine("train", "spec.json", "--out", "run", "--force", cwd=tmp_path).returncode == 0
    assert set(read_clusters_csv(tmp_path / "run" / "clusters.csv").tolist()) == set(range(5))
