"""Clustering runs: the data, the fitters behind ``engine.estimators`` and their files.

A clustering run clusters *every* row of its data, in the data's order: there is no test
part (``dataset.test_fraction`` does not apply) and the labels, where the data have any,
are never used for fitting; they only score the result by the adjusted Rand index.

Which column holds labels (:func:`load_points`): presets, painted points, LIBSVM and
``.npz`` files have theirs; a CSV file's labels are the column ``dataset.label_column``
names, else its last column when that column is text (``setosa``) or the spec says
``"task": "classification"``; otherwise every CSV column is a feature.

``train`` writes, besides ``metrics.jsonl``, ``model.npz`` and ``result.json``, the file
``clusters.csv``: a header ``row,cluster`` and one line per data row (rows counted from
0 in the data's order; cluster -1 is DBSCAN's noise).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import numpy as np

from .spec import SpecError

CLUSTERS_FILE = "clusters.csv"


# ----------------------------------------------------------------------------- scoring


def adjusted_rand_index(labels_true, labels_pred) -> float:
    """The adjusted Rand index of two partitions (Hubert and Arabie), as scikit-learn's
    ``adjusted_rand_score``: 1 for identical partitions up to renumbering, about 0 for
    random ones. Every distinct value is one group (DBSCAN's -1 too).

    Parameters
    ----------
    labels_true, labels_pred : array_like, shape (n,)
        Any hashable values (numbers or text).

    Returns
    -------
    float
    """
    a = np.asarray(labels_true)
    b = np.asarray(labels_pred)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"two label vectors of one length are needed, got {a.shape} and {b.shape}")
    n = len(a)
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    ia, ib = ia.ravel(), ib.ravel()
    if n < 2 or (ia.max(initial=0) == 0 and ib.max(initial=0) == 0):
        return 1.0  # one group each (or nothing to compare): the same partition
    cells = np.unique(ia * (int(ib.max()) + 1) + ib, return_counts=True)[1].astype(np.float64)

    def pairs(counts):
        return float(np.sum(counts * (counts - 1)) / 2.0)

    index = pairs(cells)
    rows = pairs(np.bincount(ia).astype(np.float64))
    cols = pairs(np.bincount(ib).astype(np.float64))
    total = n * (n - 1) / 2.0
    expected = rows * cols / total
    maximum = (rows + cols) / 2.0
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)
class ClusteringData:
    """Every row of a run's data, in the data's order.

    Attributes
    ----------
    X : ndarray, shape (n, d), float64
        Raw features.
    labels : ndarray, shape (n,), or None
        The data's labels (text or numbers) when it has class labels; never fitted on.
    mean, std : ndarray, shape (d,), or None
        The standardization over all rows when the spec asks for it.
    feature_names : tuple of str
    notes : tuple of str
        What was decided about the labels, for ``validate``.
    """

    X: np.ndarray
    labels: np.ndarray | None
    mean: np.ndarray | None
    std: np.ndarray | None
    feature_names: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def n_rows(self) -> int:
        return int(len(self.X))

    @property
    def n_features_raw(self) -> int:
        return int(self.X.shape[1])


def _are_classes(y: np.ndarray) -> bool:
    """Text, or whole numbers: class labels (a fractional target scores no clustering)."""
    if y.dtype.kind in "US":
        return True
    y = np.asarray(y, np.float64)
    return bool(np.all(np.isfinite(y)) and np.all(y == np.round(y)))


def load_points(spec) -> ClusteringData:
    """The rows a clustering run clusters (see the module docstring for the labels).

    Raises
    ------
    DataError, SpecError
        As :func:`engine.data.load_dataset`: the file and line, or the field, named.
    """
    from .data import DataError, make_preset, read_csv, read_libsvm, read_npz, standardization
    from .spec import MAX_SAMPLES, REGRESSION_PRESETS

    ds = spec.dataset
    names: tuple[str, ...] = ()
    notes: list[str] = []
    labels = None
    if ds.is_preset:
        X, y = make_preset(ds.kind, ds.n_samples, ds.noise, ds.seed, ds.n_classes, n_features=ds.n_features)
        labels = None if ds.kind in REGRESSION_PRESETS else y
    elif ds.kind == "points":
        pts = np.asarray(ds.points, np.float64).reshape(-1, 3)
        X, labels = pts[:, :2].copy(), pts[:, 2].copy()
    else:
        path = ds.resolve_path(spec.base_dir)
        if ds.kind == "csv":
            X, y_raw, header = read_csv(path, ds.label_column)
            text = y_raw.dtype.kind in "US"
            if ds.label_column is not None or text or ds.task == "classification":
                labels = y_raw
                if header is not None:
                    index = header.index(ds.label_column) if isinstance(ds.label_column, str) else (
                        (-1 if ds.label_column is None else int(ds.label_column)) % len(header))
                    names = tuple(h for i, h in enumerate(header) if i != index)
                why = ("dataset.label_column names it" if ds.label_column is not None else
                       "it is text" if text else "dataset.task is classification")
                notes.append(f"labels: the {'named' if ds.label_column is not None else 'last'} column, because "
                             f"{why}; they only score the clustering (adjusted Rand index)")
            else:
                X = np.column_stack([X, np.asarray(y_raw, np.float64)])
                names = tuple(header) if header is not None else ()
                notes.append("labels: none; every column is a feature (name a label column with "
                             "dataset.label_column to score the clustering against it)")
        elif ds.kind == "libsvm":
            X, labels = read_libsvm(path)
        elif ds.kind == "npz":
            X, labels = read_npz(path)
        else:  # pragma: no cover - the spec validator only allows the kinds above
            raise SpecError("dataset.kind", f"unknown data kind {ds.kind!r}")
        if len(X) > MAX_SAMPLES:
            raise DataError(path, None, f"{len(X):,} samples; at most {MAX_SAMPLES:,} are supported")
    if labels is not None and not _are_classes(np.asarray(labels)):
        notes.append("labels: numbers with a fractional part are no classes; no adjusted Rand index")
        labels = None
    mean = std = None
    if ds.standardize:
        mean, std = standardization(X)
    for a in (X, labels, mean, std):
        if a is not None:
            a.setflags(write=False)
    return ClusteringData(X=X, labels=labels, mean=mean, std=std,
                          feature_names=names or tuple(f"x{i + 1}" for i in range(X.shape[1])), notes=tuple(notes))


def write_clusters_csv(path, assignment: np.ndarray) -> None:
    """Write ``clusters.csv`` atomically: ``row,cluster`` and one line per row.

    Parameters
    ----------
    path : str or PathLike
    assignment : ndarray, shape (n,), int
        Cluster per row in the data's order (-1 noise).
    """
    from .fileio import atomic_write

    assignment = np.asarray(assignment, np.int64)
    body = "\n".join(f"{i},{c}" for i, c in enumerate(assignment.tolist()))
    atomic_write(path, "row,cluster\n" + body + ("\n" if len(assignment) else ""))


def read_clusters_csv(path) -> np.ndarray:
    """The cluster column of a ``clusters.csv``, shape (n,) int64 (rows checked in order)."""
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    if not lines or lines[0] != "row,cluster":
        raise SpecError("", f"{path} is not a clusters file (no 'row,cluster' header)")
    table = np.array([line.split(",") for line in lines[1:]], dtype=np.int64).reshape(-1, 2)
    if not np.array_equal(table[:, 0], np.arange(len(table))):
        raise SpecError("", f"{path}: the rows are not numbered 0, 1, 2, ...")
    return table[:, 1]


# ----------------------------------------------------------------------------- fitters


class _ClusteringFitter:
    """What both clustering fitters share: the data, the preprocessing, the files."""

    def __init__(self, spec, dataset=None, comm=None):
        from .features import Preprocessor
        from .parallel import SerialComm

        self.spec = spec
        self.comm = comm if comm is not None else SerialComm()
        self.dataset = data = dataset if dataset is not None else load_points(spec)
        self.preprocess = Preprocessor(tuple(spec.features), data.mean, data.std)
        self.preprocess.n_outputs(data.n_features_raw)
        self.F = np.ascontiguousarray(self.preprocess(np.asarray(data.X, np.float64)))
        self.status = "running"
        self.message = ""
        self.last_record: dict | None = None
        self.assignment: np.ndarray | None = None

    def _agreement(self) -> float | None:
        labels = self.dataset.labels
        if labels is None or self.assignment is None:
            return None
        return adjusted_rand_index(labels, self.assignment)

    def cluster_sizes(self) -> list[int]:
        """Points per cluster 0, 1, ... (noise not included)."""
        a = self.assignment
        if a is None or not np.any(a >= 0):
            return []
        return np.bincount(a[a >= 0]).astype(int).tolist()

    def write_outputs(self, out_dir: str) -> None:
        if self.assignment is not None:
            write_clusters_csv(os.path.join(out_dir, CLUSTERS_FILE), self.assignment)


class KMeansFitter(_ClusteringFitter):
    """Fits ``"model": {"kind": "kmeans", ...}``: one record per Lloyd iteration
    (``seeding``, ``iteration``, ``inertia``, ``shift``, ``changed``, ``elapsed_s``),
    data-parallel over ``comm``.

    Raises
    ------
    SpecError
        ``k`` larger than the number of rows.
    """

    def __init__(self, spec, dataset=None, comm=None):
        super().__init__(spec, dataset, comm)
        m = spec.model
        check_k(m.k, len(self.F))
        from .kmeans import KMeans

        self.kmeans = KMeans(k=m.k, init=m.init, n_init=m.n_init, max_iter=m.max_iter, tol=m.tol, seed=m.seed)

    def run(self, stop=None):
        started = time.perf_counter()
        for record in self.kmeans.run(self.F, self.comm, stop):
            record["ranks"] = self.comm.size
            self.last_record = record
            yield record
        result = self.kmeans.result
        self.assignment = result.labels
        # The last record is the last seeding's; the final one is the kept seeding's.
        final = {"seeding": result.seeding, "n_iter": result.n_iter, "inertia": result.inertia,
                 "cluster_sizes": self.cluster_sizes(), "elapsed_s": time.perf_counter() - started,
                 "ranks": self.comm.size}
        ari = self._agreement()
        if ari is not None:
            final["adjusted_rand_index"] = ari
        self.last_record = final
        if self.kmeans.stopped:
            self.status = "stopped"
            self.message = (f"stopped; the clusters are those of the best seeding finished so far "
                            f"(seeding {result.seeding}, or the stopped one's centroids when none finished)")
        else:
            self.status = "completed"
            how = "converged" if result.converged else f"reached max_iter {self.spec.model.max_iter}"
            self.message = (f"completed {self.spec.model.n_init} seeding(s); the best (seeding {result.seeding}) "
                            f"{how} after {result.n_iter} iteration(s), inertia {result.inertia:.6g}")

    def progress_text(self, rec: dict) -> str:
        return (f"seeding {rec['seeding']}/{self.spec.model.n_init}  iteration {rec['iteration']}  "
                f"inertia {rec['inertia']:.6g}  shift {rec['shift']:.3g}  changed {rec['changed']:,}")

    def result_fields(self) -> dict:
        result = self.kmeans.result
        if result is None:
            return {}
        out = {"inertia": result.inertia, "n_iter": result.n_iter, "converged": result.converged,
               "best_seeding": result.seeding, "cluster_sizes": self.cluster_sizes(),
               "centroids": result.centroids.tolist()}
        ari = self._agreement()
        if ari is not None:
            out["adjusted_rand_index"] = ari
        return out


class DbscanFitter(_ClusteringFitter):
    """Fits ``"model": {"kind": "dbscan", ...}``; one record at the end (``n_clusters``,
    ``core``, ``border``, ``noise``, ``elapsed_s``). Under MPI every rank computes the
    same clustering (rank 0 writes it)."""

    def __init__(self, spec, dataset=None, comm=None):
        super().__init__(spec, dataset, comm)
        from .dbscan import DBSCAN

        self.dbscan = DBSCAN(spec.model.eps, spec.model.min_samples)
        self.k_distance: tuple[np.ndarray, np.ndarray] | None = None

    def run(self, stop=None):
        from .dbscan import k_distances

        started = time.perf_counter()
        if stop is not None and bool(stop.is_set() if hasattr(stop, "is_set") else stop()):
            self.status = "stopped"
            self.message = "stopped before clustering; no model was written"
            return
        self.dbscan.fit(self.F)
        self.assignment = self.dbscan.labels
        self.k_distance = k_distances(self.F, self.spec.model.min_samples)
        record = {"n_clusters": self.dbscan.n_clusters, **self.dbscan.result.counts(),
                  "elapsed_s": time.perf_counter() - started, "ranks": self.comm.size}
        ari = self._agreement()
        if ari is not None:
            record["adjusted_rand_index"] = ari
        self.last_record = record
        yield record
        self.status = "completed"
        c = self.dbscan.result.counts()
        self.message = (f"completed: {self.dbscan.n_clusters} cluster(s); {c['core']:,} core, {c['border']:,} "
                        f"border and {c['noise']:,} noise points")

    def progress_text(self, rec: dict) -> str:
        return (f"{rec['n_clusters']} clusters  core {rec['core']:,}  border {rec['border']:,}  "
                f"noise {rec['noise']:,}")

    def result_fields(self) -> dict:
        if self.dbscan.result is None:
            return {}
        distances, rows = self.k_distance
        out = {"n_clusters": self.dbscan.n_clusters, "cluster_sizes": self.cluster_sizes(),
               **{f"n_{k}": v for k, v in self.dbscan.result.counts().items()},
               "k_distance": {"k": self.spec.model.min_samples, "eps": self.spec.model.eps,
                              "points": len(distances), "of_rows": len(self.F),
                              "distances": distances.tolist(), "rows": rows.tolist()}}
        ari = self._agreement()
        if ari is not None:
            out["adjusted_rand_index"] = ari
        return out


def check_k(k: int, rows: int) -> None:
    """SpecError on ``model.k`` when there are fewer rows than clusters."""
    if k > rows:
        raise SpecError("model.k", f"{k} clusters asked for, but the data have only {rows} rows")


# ----------------------------------------------------------------------------- fitted models


class FittedClustering:
    """A trained clustering model behind the fitted-model verbs: ``predict(F)`` assigns
    clusters (nearest centroid; DBSCAN: nearest core point within ``eps``, else -1)."""

    task = "clustering"
    output = "assignment"
    class_names: tuple[str, ...] = ()

    def __init__(self, kind: str, preprocess, centroids=None, core_points=None, core_labels=None, eps=None):
        self.kind = kind
        self.preprocess = preprocess
        self.centroids = centroids
        self.core_points = core_points
        self.core_labels = core_labels
        self.eps = eps
        points = centroids if centroids is not None else core_points
        self.n_inputs = int(points.shape[1])

    @property
    def n_clusters(self) -> int:
        if self.centroids is not None:
            return len(self.centroids)
        return int(self.core_labels.max()) + 1 if len(self.core_labels) else 0

    def predict(self, F: np.ndarray) -> np.ndarray:
        """Cluster per row of the model inputs ``F`` (n, n_inputs), shape (n,) int64."""
        if self.centroids is not None:
            from .kmeans import assign_points

            return assign_points(F, self.centroids)[0]
        from .dbscan import nearest_core_labels

        return nearest_core_labels(F, self.core_points, self.core_labels, self.eps)

    def decision_values(self, F: np.ndarray) -> np.ndarray:
        """k-means: the distance to every centroid, shape (n, k); DBSCAN: the distance to
        the nearest core point of each cluster, capped at ``eps`` (beyond it: noise), shape
        (n, clusters)."""
        F = np.asarray(F, np.float64)
        from .kmeans import squared_distances

        if self.centroids is not None:
            return np.sqrt(squared_distances(F, self.centroids))
        out = np.full((len(F), self.n_clusters), float(self.eps))
        from .dbscan import radius_pairs

        for iq, ic in radius_pairs(F, self.core_points, self.eps):
            diff = F[iq] - self.core_points[ic]
            dist = np.sqrt(np.einsum("ij,ij->i", diff, diff))
            np.minimum.at(out, (iq, self.core_labels[ic]), dist)
        return out


def save_model(path, spec, fitter) -> None:
    """Write a clustering ``model.npz`` (centroids, or core points with their clusters)."""
    from .fileio import atomic_write_with
    from .model_io import MODEL_FORMAT

    if fitter.assignment is None:
        return
    pre = fitter.preprocess
    arrays = {
        "format": np.array(MODEL_FORMAT),
        "spec": np.array(spec.with_(weights=None).to_json()),
        "features": np.array(list(pre.features)),
        "mean": np.zeros(0) if pre.mean is None else np.asarray(pre.mean, np.float64),
        "std": np.zeros(0) if pre.std is None else np.asarray(pre.std, np.float64),
        "task": np.array("clustering"),
    }
    if spec.model.kind == "kmeans":
        arrays["centroids"] = np.asarray(fitter.kmeans.result.centroids, np.float64)
    else:
        arrays["core_points"] = np.asarray(fitter.dbscan.X_core, np.float64).reshape(-1, fitter.F.shape[1])
        arrays["core_labels"] = np.asarray(fitter.dbscan.core_labels, np.int64)
        arrays["eps"] = np.array(spec.model.eps)

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    atomic_write_with(path, write)


def load_model(path, arrays, spec) -> FittedClustering:
    """The fitted clustering model of a ``model.npz`` (SpecError when damaged)."""
    from .features import Preprocessor

    try:
        mean = arrays["mean"] if arrays["mean"].size else None
        std = arrays["std"] if arrays["std"].size else None
        pre = Preprocessor(tuple(str(f) for f in arrays["features"]), mean, std)
        if spec.model.kind == "kmeans":
            C = np.asarray(arrays["centroids"], np.float64)
            if C.ndim != 2 or len(C) < 1 or not np.all(np.isfinite(C)):
                raise ValueError("the centroids are not a finite (k, d) array")
            return FittedClustering("kmeans", pre, centroids=C)
        P = np.asarray(arrays["core_points"], np.float64)
        L = np.asarray(arrays["core_labels"], np.int64)
        eps = float(arrays["eps"])
        if P.ndim != 2 or L.shape != (len(P),) or not math.isfinite(eps) or eps <= 0:
            raise ValueError("the core points, their clusters and eps do not fit together")
        return FittedClustering("dbscan", pre, core_points=P, core_labels=L, eps=eps)
    except (KeyError, ValueError, TypeError) as exc:
        raise SpecError("", f"{path} is damaged or incomplete: {exc}") from None


def describe(spec, data: ClusteringData, preprocess) -> list[str]:
    """The lines ``validate`` prints for a clustering spec."""
    m = spec.model
    d = preprocess.n_outputs(data.n_features_raw)
    lines = [f"clustering: every one of the {data.n_rows:,} rows is clustered in the data's order; "
             f"dataset.test_fraction does not apply"]
    if m.kind == "kmeans":
        check_k(m.k, data.n_rows)
        lines.append(f"model: kmeans, k {m.k}, init {m.init}, n_init {m.n_init}, max_iter {m.max_iter}, "
                     f"tol {m.tol:g}, seed {m.seed}, {d} inputs")
    else:
        lines.append(f"model: dbscan, eps {m.eps:g}, min_samples {m.min_samples}, {d} inputs; neighbours "
                     f"from a grid of cells eps wide" + ("" if d <= 5 else " (distance blocks: more than 5 inputs)"))
    lines.extend(data.notes)
    if data.labels is not None and not data.notes:
        lines.append("labels: present; they only score the clustering (adjusted Rand index)")
    return lines
