"""k-means and DBSCAN in the Playground, on the points with their labels hidden (no Qt).

Clustering uses every point (the training and the test part: there is nothing to test) in
the plane's own coordinates, so centroids and the ``eps`` circle are drawn where they act.
Until a clustering exists the points are shown grey; afterwards in their cluster's colour
(the data's labels only score the clustering: the adjusted Rand index in the side panel).

- :class:`KMeansAdapter`: one step is half a Lloyd iteration, alternating *assign* (every
  point to its nearest centroid) and *update* (every centroid to the mean of its points),
  with the engine's ``KMeans.assign`` / ``update``; the regions are the centroids' Voronoi
  cells; a centroid dragged by hand stays where it is dropped and the next step assigns.
- :class:`DbscanAdapter`: one step runs the engine's ``dbscan``; core, border and noise
  points are drawn differently; the regions are where a new point would join a cluster (the
  nearest core point within ``eps``); the side panel plots the k-distance curve.
"""

from __future__ import annotations

import time

import numpy as np

from engine.clustering import adjusted_rand_index
from engine.data import Dataset
from engine.dbscan import dbscan, k_distances, nearest_core_labels
from engine.grid import grid_points
from engine.kmeans import KMeans
from engine.spec import RunSpec
from gui.playground.model_adapters import ModelFrame, register_adapter
from gui.playground.overlays import Overlay
from gui.playground.render import region_rgb
from gui.theme import class_rgb

GRID_SHAPE = (160, 160)
#: the regions' strength: light enough for the points in cluster colours to stand out
REGION_STRENGTH = 0.45
GREY = (154, 160, 166)
PHASES = ("assign", "update")
PHASE_TEXT = {"assign": "next: assign every point to its nearest centroid",
              "update": "next: move every centroid to the mean of its points"}


def _points(dataset: Dataset) -> np.ndarray:
    """Every point of the data, shape (n, 2): the training part, then the test part."""
    return np.concatenate([np.asarray(dataset.X_train, np.float64), np.asarray(dataset.X_test, np.float64)])


def _labels(dataset: Dataset) -> np.ndarray | None:
    if dataset.task != "classification":
        return None
    return np.concatenate([np.asarray(dataset.y_train), np.asarray(dataset.y_test)]).astype(np.int64)


def cluster_colors(n: int) -> np.ndarray:
    """``(n, 3)`` uint8 colours of clusters 0..n-1 (the class palette)."""
    return np.round(class_rgb(max(n, 2))[:max(n, 0)] * 255).astype(np.uint8).reshape(-1, 3)


def _point_colors(assignment: np.ndarray | None, n_points: int, n_clusters: int) -> np.ndarray:
    out = np.tile(np.array(GREY, np.uint8), (n_points, 1))
    if assignment is not None and n_clusters > 0:
        colors = cluster_colors(n_clusters)
        inside = assignment >= 0
        out[inside] = colors[assignment[inside]]
    return out


class _ClusteringAdapter:
    counter_name = "Step"
    uses_network_editor = False
    n_outputs = 1

    def __init__(self, spec: RunSpec, dataset: Dataset):
        self.spec = spec
        self.status = "running"
        self.message = ""
        self.train_s = 0.0
        self.steps = 0
        self._drawn_steps = -1
        self.set_dataset(dataset)

    def set_spec(self, spec: RunSpec) -> None:
        self.spec = spec

    def edit(self, change) -> None:
        """Only k-means has something to move by hand."""

    def _agreement(self, assignment) -> float | None:
        labels = _labels(self.dataset)
        if labels is None or assignment is None or len(labels) != len(assignment):
            return None
        return adjusted_rand_index(labels, assignment)

    def _record(self, extra: dict) -> dict | None:
        if self.steps == self._drawn_steps:
            return None
        self._drawn_steps = self.steps
        return {"step": self.steps, "elapsed_s": self.train_s, **extra}


class KMeansAdapter(_ClusteringAdapter):
    """k-means one half-iteration per step; see the module docstring."""

    def set_dataset(self, dataset: Dataset) -> None:
        """New points: the centroids stay, the next step assigns (from scratch before the first)."""
        self.dataset = dataset
        self.X = _points(dataset)
        m = self.spec.model
        if len(self.X) < m.k:
            from engine.spec import SpecError

            raise SpecError("model.k", f"k = {m.k} clusters need at least {m.k} points; there are {len(self.X)}")
        if getattr(self, "kmeans", None) is None:
            self.kmeans = KMeans(k=m.k, init=m.init, n_init=1, seed=m.seed)  # (stepped by hand)
            self.kmeans.initialize(self.X)
        self.assignment: np.ndarray | None = None
        #: ``(step, inertia)`` after every step since the last assignment from scratch
        self.inertia_history: list[tuple[int, float]] = []
        self.phase = "assign"
        self.status = "running"
        self.message = ""

    @property
    def centroids(self) -> np.ndarray:
        """The current centroids, shape (k, 2) (a copy)."""
        return self.kmeans.centroids.copy()

    def train_step(self) -> int:
        """Assign or update, alternately; 0 once an assignment changed no point's cluster."""
        if self.status != "running":
            return 0
        started = time.perf_counter()
        if self.phase == "assign":
            new = self.kmeans.assign(self.X)
            same = self.assignment is not None and np.array_equal(new, self.assignment)
            self.assignment = new
            self.phase = "update"
            if same:
                # Lloyd's fixed point: the update would not move any centroid
                self.status = "completed"
                self.message = f"converged after {self.steps + 1} steps: no point changed its cluster"
                self.phase = "assign"
        else:
            self.kmeans.update(self.X, self.assignment)
            self.phase = "assign"
        self.steps += 1
        self.inertia_history.append((self.steps, self.inertia()))
        self.train_s += time.perf_counter() - started
        return 1

    def edit(self, change) -> None:
        """``("centroid", index, x, y)``: a centroid dragged to ``(x, y)``; the next step assigns."""
        what, index, x, y = change
        if what != "centroid" or not 0 <= index < len(self.kmeans.centroids):
            return
        self.kmeans.centroids[index] = (x, y)
        self.phase = "assign"
        self.status = "running"
        self.message = ""

    def inertia(self) -> float | None:
        """Sum of squared distances of the points to their assigned centroids (None before assigning)."""
        if self.assignment is None:
            return None
        return float(self.kmeans.inertia(self.X, self.assignment))

    def draw(self, options, with_report: bool) -> ModelFrame:
        k = self.kmeans.k
        h, w = GRID_SHAPE
        cells = self.kmeans.assign(grid_points(options.box, GRID_SHAPE)).reshape(h, w)
        strength = np.full((h, w), 1.0 if options.discretize else REGION_STRENGTH / 0.62)
        boundary = region_rgb(cells, strength, k)
        colors = cluster_colors(k)
        overlays = (Overlay("cluster_points", "dots", self.X, "cluster",
                            _point_colors(self.assignment, len(self.X), k)),
                    Overlay("kmeans_centroids", "markers", self.centroids, "centroid", colors))
        inertia = self.inertia()
        agreement = self._agreement(self.assignment)
        state = "converged" if self.status == "completed" else PHASE_TEXT[self.phase]
        line = f"k-means · step {self.steps} · {state}"
        info = {"kind": "kmeans", "step": self.steps, "phase": self.phase, "inertia": inertia, "agreement": agreement,
                "inertia_history": tuple(self.inertia_history),
                "sizes": [] if self.assignment is None else np.bincount(self.assignment, minlength=k).tolist()}
        record = self._record({"inertia": inertia,
                               "train_loss": None if inertia is None else inertia / len(self.X)})
        return ModelFrame(boundary=boundary, overlays=overlays, status_line=line, record=record, info=info)


class DbscanAdapter(_ClusteringAdapter):
    """DBSCAN in one step; see the module docstring."""

    def set_dataset(self, dataset: Dataset) -> None:
        """New points: the k-distance curve is measured again and the next step clusters them."""
        self.dataset = dataset
        self.X = _points(dataset)
        m = self.spec.model
        self.k_distance, _rows = k_distances(self.X, m.min_samples, max_points=None)
        self.result = None
        self.status = "running"
        self.message = ""

    def train_step(self) -> int:
        if self.status != "running":
            return 0
        started = time.perf_counter()
        m = self.spec.model
        self.result = dbscan(self.X, m.eps, m.min_samples)
        self.steps += 1
        c = self.result.counts()
        self.status = "completed"
        self.message = (f"{self.result.n_clusters} clusters: {c['core']} core, {c['border']} border and "
                        f"{c['noise']} noise points")
        self.train_s += time.perf_counter() - started
        return 1

    def draw(self, options, with_report: bool) -> ModelFrame:
        m = self.spec.model
        r = self.result
        h, w = GRID_SHAPE
        overlays = []
        if r is None:
            boundary = region_rgb(np.zeros((h, w), np.intp), np.zeros((h, w)), 2)
            overlays.append(Overlay("cluster_points", "dots", self.X, "cluster", _point_colors(None, len(self.X), 0)))
            line = f"DBSCAN · eps {m.eps:g} · min_samples {m.min_samples} · press play or step to cluster"
        else:
            core_idx = np.flatnonzero(r.core)
            grid = nearest_core_labels(grid_points(options.box, GRID_SHAPE), self.X[core_idx],
                                       r.labels[core_idx], m.eps).reshape(h, w)
            inside = grid >= 0
            strength = np.where(inside, 1.0 if options.discretize else REGION_STRENGTH / 0.62, 0.0)
            boundary = region_rgb(np.maximum(grid, 0), strength, max(r.n_clusters, 2))
            colors = _point_colors(r.labels, len(self.X), r.n_clusters)
            kinds = r.kinds
            # a blank disc under every point: the smaller border dots and the noise crosses
            # must not let the data's (hidden) class colours show through
            overlays.append(Overlay("cluster_blank", "dots", self.X, "blank",
                                    np.full((len(self.X), 3), 255, np.uint8)))
            for kind in ("core", "border", "noise"):
                mine = kinds == kind
                overlays.append(Overlay(f"dbscan_{kind}", "dots", self.X[mine], kind, colors[mine]))
            c = r.counts()
            line = (f"DBSCAN · {r.n_clusters} clusters · {c['core']} core · {c['border']} border · "
                    f"{c['noise']} noise")
        info = {"kind": "dbscan", "eps": float(m.eps), "min_samples": int(m.min_samples),
                "k_distance": self.k_distance,
                "counts": None if r is None else r.counts(),
                "agreement": None if r is None else self._agreement(r.labels)}
        record = self._record({})
        return ModelFrame(boundary=boundary, overlays=tuple(overlays), status_line=line, record=record, info=info)


register_adapter("kmeans", KMeansAdapter)
register_adapter("dbscan", DbscanAdapter)
