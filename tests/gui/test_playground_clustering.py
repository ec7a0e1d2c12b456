"""k-means and DBSCAN in the Playground, driven with the mouse, checked against the engine."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6 import QtCore

from engine.clustering import adjusted_rand_index
from engine.dbscan import dbscan, k_distances
from engine.kmeans import KMeans
from gui.playground.clustering_adapters import GREY, REGION_STRENGTH, cluster_colors
from gui.playground.render import region_rgb
from tests.gui.conftest import drag_data, pixel_at
from tests.gui.test_playground_svm import choose

LEFT = QtCore.Qt.MouseButton.LeftButton
BLOBS = {"dataset": {"kind": "blobs", "n_samples": 240, "n_classes": 3, "noise": 0.3, "seed": 5,
                     "test_fraction": 0.25},
         "features": ["x1", "x2"], "model": {"kind": "mlp", "hidden": [4]}}
MOONS = {"dataset": {"kind": "moons", "n_samples": 240, "noise": 0.25, "seed": 2, "test_fraction": 0.25},
         "features": ["x1", "x2"], "model": {"kind": "mlp", "hidden": [4]}}


def open_spec(view, tmp_path, spec) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(spec))
    view.open(str(path))


def all_points(view) -> np.ndarray:
    ds = view.session.snapshot.dataset
    return np.concatenate([np.asarray(ds.X_train, np.float64), np.asarray(ds.X_test, np.float64)])


def region_color(cluster: int, k: int) -> np.ndarray:
    """The region colour of ``cluster`` (the Voronoi cells' light shade of its colour)."""
    return region_rgb(np.array([[cluster]]), np.array([[REGION_STRENGTH / 0.62]]), k)[0, 0].astype(float)


def shown(view, name: str):
    return view.data_plot.overlays.shown[name]


def test_kmeans_steps_assign_then_update_as_the_engine_does(qtbot, playground, tmp_path):
    view = playground
    open_spec(view, tmp_path, BLOBS)
    bar = view.settings_bar
    choose(qtbot, bar.model_combo, "kmeans")
    assert bar.kmeans_controls.isVisible() and view.cluster_panel.isVisible() and not view.network.isVisible()
    X = all_points(view)
    k, seed = view.settings.kmeans_k, view.settings.seed
    # the engine, stepped by hand from the same seeding
    ref = KMeans(k=k, n_init=1, seed=seed)
    ref.initialize(X)
    np.testing.assert_allclose(shown(view, "kmeans_centroids").xy, ref.centroids)
    # before the first assignment the labels are hidden: every point grey
    assert (shown(view, "cluster_points").colors == GREY).all()
    button = bar.kmeans_controls.step_button
    assert button.text() == "Step: assign ▸"
    labels = None
    inertias = []
    for _ in range(60):
        if not button.isEnabled():
            break
        phase = "assign" if "assign" in button.text() else "update"
        qtbot.mouseClick(button, LEFT)
        qtbot.waitUntil(lambda: not view.session.running, timeout=5000)
        view.draw_frame()
        if phase == "assign":
            new = ref.assign(X)
            converged = labels is not None and np.array_equal(new, labels)
            labels = new
            colors = shown(view, "cluster_points").colors
            np.testing.assert_array_equal(colors, cluster_colors(k)[labels])
            if not converged:
                assert button.text() == "Step: update ▸"
                assert "move every centroid" in view.data_plot.overlays.status.textItem.toPlainText()
        else:
            ref.update(X, labels)
            assert button.text() == "Step: assign ▸"
        np.testing.assert_allclose(shown(view, "kmeans_centroids").xy, ref.centroids, atol=1e-12)
        inertias.append(view.cluster_panel.info["inertia"])
    assert button.text() == "Converged" and view.session.state == "completed"
    # Lloyd never increases the inertia; the end is the engine's own fit from this seeding
    assert all(b <= a + 1e-9 for a, b in zip(inertias[1:], inertias[2:]))
    fit = KMeans(k=k, n_init=1, seed=seed).fit(X)
    assert adjusted_rand_index(fit.result.labels, labels) == pytest.approx(1.0)
    assert view.cluster_panel.info["inertia"] == pytest.approx(fit.result.inertia, rel=1e-9)
    # the regions are the centroids' Voronoi cells, in the clusters' colours
    for j in range(k):
        np.testing.assert_allclose(pixel_at(view, *ref.centroids[j]), region_color(j, k), atol=1)


def test_a_centroid_dragged_with_the_mouse_moves_its_voronoi_cell_and_the_next_assignment(qtbot, playground,
                                                                                         tmp_path):
    view = playground
    open_spec(view, tmp_path, {**BLOBS, "model": {"kind": "kmeans", "k": 3, "seed": 4}})
    X = all_points(view)
    start = shown(view, "kmeans_centroids").xy.copy()
    target = (float(start[0][0] + 0.4), float(start[0][1] + 0.4))  # in centroid 0's cell
    before = pixel_at(view, *target)
    drag_data(qtbot, view, [tuple(start[1]), ((start[1][0] + target[0]) / 2, (start[1][1] + target[1]) / 2), target])
    view.draw_frame()
    moved = shown(view, "kmeans_centroids").xy
    # where the mouse let go (to the pixel), the other centroids untouched, no point painted
    assert np.hypot(*(moved[1] - target)) < 0.1
    np.testing.assert_array_equal(moved[[0, 2]], start[[0, 2]])
    assert len(view.store) == len(X)
    # the region around the new place is centroid 1's now (it was another's before)
    np.testing.assert_allclose(pixel_at(view, *target), region_color(1, 3), atol=1)
    assert not np.allclose(before, region_color(1, 3), atol=1)
    # the next step assigns with the moved centroid, as the engine does
    qtbot.mouseClick(view.settings_bar.kmeans_controls.step_button, LEFT)
    qtbot.waitUntil(lambda: not view.session.running, timeout=5000)
    view.draw_frame()
    ref = KMeans(k=3, n_init=1, seed=4)
    ref.centroids = moved.copy()
    np.testing.assert_array_equal(shown(view, "cluster_points").colors, cluster_colors(3)[ref.assign(X)])


def test_dbscan_shows_core_border_noise_the_eps_circle_and_the_k_distance_curve(qtbot, playground, tmp_path):
    view = playground
    open_spec(view, tmp_path, MOONS)
    bar = view.settings_bar
    choose(qtbot, bar.model_combo, "dbscan")
    spin = bar.dbscan_controls.eps_spin
    spin.setFocus()
    qtbot.keyClick(spin, QtCore.Qt.Key.Key_A, QtCore.Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(spin, "0.8")
    qtbot.keyClick(spin, QtCore.Qt.Key.Key_Return)
    assert view.settings.dbscan_eps == pytest.approx(0.8)
    eps, m = 0.8, view.settings.dbscan_min_samples
    X = all_points(view)
    # the k-distance curve beside the plot is the engine's, with eps across it
    kd, _rows = k_distances(X, m, max_points=None)
    x, y = view.cluster_panel.curve_data()
    np.testing.assert_allclose(y, kd)
    assert view.cluster_panel.eps_line.value() == pytest.approx(eps)
    qtbot.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: view.session.state == "completed", timeout=10000)
    view.draw_frame()
    ref = dbscan(X, eps, m)
    kinds = ref.kinds
    colors = cluster_colors(ref.n_clusters)
    for kind in ("core", "border", "noise"):
        ov = shown(view, f"dbscan_{kind}")
        np.testing.assert_allclose(ov.xy, X[kinds == kind])
        if kind != "noise":
            np.testing.assert_array_equal(ov.colors, colors[ref.labels[kinds == kind]])
    assert (kinds == "core").sum() > 0 and (kinds == "noise").sum() > 0
    # exactly the core points have a k-distance within eps
    assert int(np.sum(kd <= eps)) == int(ref.core.sum())
    c = ref.counts()
    assert view.data_plot.overlays.status.textItem.toPlainText() == (
        f"DBSCAN · {ref.n_clusters} clusters · {c['core']} core · {c['border']} border · {c['noise']} noise")
    # the eps circle follows the mouse
    plot = view.data_plot
    circle = plot.overlays.hover_circle
    for at in ((1.0, -2.0), (-3.5, 2.5)):
        # pyqtgraph drops a move within 10 ms of the last (mouseRateLimit); a real mouse
        # sends many, this test one
        qtbot.wait(20)
        qtbot.mouseMove(plot.viewport(), plot.widget_pos_of(*at))
        qtbot.waitUntil(circle.isVisible, timeout=2000)
        qtbot.waitUntil(lambda at=at: np.hypot(circle.rect().center().x() - at[0],
                                               circle.rect().center().y() - at[1]) < 0.1, timeout=2000)
        assert circle.rect().width() == pytest.approx(2 * eps)


def test_a_clustering_saved_from_the_playground_is_what_the_engine_trains(qtbot, playground, tmp_path):
    from engine.clustering import KMeansFitter
    from engine.spec import load_spec

    view = playground
    open_spec(view, tmp_path, {**BLOBS, "model": {"kind": "kmeans", "k": 3, "seed": 7}})
    view.session.train_now(1000)
    view.draw_frame()
    assert view.session.state == "completed"
    path = tmp_path / "saved.json"
    view.save(str(path))
    spec = load_spec(str(path))
    assert (spec.model.kind, spec.model.k, spec.model.n_init, spec.model.seed) == ("kmeans", 3, 1, 7)
    fitter = KMeansFitter(spec)
    for _ in fitter.run():
        pass
    # the same points and the same k-means++ seed; the headless run seeds over the file's row
    # order (the Playground over the training part first), so it may settle in another, nearly
    # as good local optimum
    X = np.asarray(fitter.dataset.X, np.float64)
    np.testing.assert_allclose(np.sort(X, axis=0), np.sort(all_points(view), axis=0))
    here = KMeans(k=3, n_init=1, seed=7)
    here.centroids = shown(view, "kmeans_centroids").xy.copy()
    assert adjusted_rand_index(fitter.assignment, here.assign(X)) > 0.95
    assert fitter.result_fields()["inertia"] == pytest.approx(view.cluster_panel.info["inertia"], rel=0.02)


def test_clustering_model_files_open_as_the_engines_clustering(qtbot, playground, tmp_path):
    from engine.estimators import model_kind
    from engine.spec import RunSpec

    view = playground
    for model in ({"kind": "kmeans", "k": 4, "n_init": 5, "seed": 1}, {"kind": "dbscan", "eps": 0.6, "min_samples": 5}):
        spec = RunSpec.from_dict({**MOONS, "model": model})
        kind = model_kind(spec.model.kind)
        fitter = kind.fitter(spec)
        for _ in fitter.run():
            pass
        out = tmp_path / model["kind"]
        out.mkdir()
        kind.save(str(out / "model.npz"), spec, fitter)
        view.open_model(str(out / "model.npz"))
        assert view.session.state == "completed" and view.settings.model_kind == model["kind"]
        X = np.asarray(fitter.dataset.X, np.float64)
        if model["kind"] == "kmeans":
            # the file's centroids are k-means' fixed point: the Playground ends where the engine did
            np.testing.assert_allclose(shown(view, "kmeans_centroids").xy, fitter.kmeans.result.centroids, atol=1e-9)
        else:
            ref = dbscan(X, 0.6, 5)
            assert view.cluster_panel.info["counts"] == ref.counts()
            assert np.sort(shown(view, "dbscan_noise").xy, axis=0).tolist() == \
                np.sort(X[ref.labels == -1], axis=0).tolist()
