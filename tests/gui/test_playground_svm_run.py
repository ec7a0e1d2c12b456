"""The SVM's playground adapter and the contour tracing it draws with, without Qt."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import load_dataset
from engine.grid import grid_points
from engine.spec import RunSpec
from gui.playground.frames import RenderOptions
from gui.playground.overlays import Overlay, contour_segments
from gui.playground.svm_adapter import hinge_loss, pair_coefficients
from gui.playground.training_run import TrainingRun

SPEC = RunSpec.from_dict({"dataset": {"kind": "blobs", "n_samples": 120, "n_classes": 3, "seed": 2, "noise": 0.3,
                                      "test_fraction": 0.25},
                          "features": ["x1", "x2"], "model": {"kind": "svm", "C": 1.0, "gamma": 0.5}})


def test_contours_lie_on_the_level_line():
    box = (-2.0, 2.0, -1.0, 3.0)
    pts = grid_points(box, (41, 51))
    line = contour_segments((pts[:, 0] - 0.3).reshape(41, 51), box, 0.0)
    assert len(line) > 0 and len(line) % 2 == 0
    np.testing.assert_allclose(line[:, 0], 0.3)
    circle = contour_segments(np.hypot(pts[:, 0], pts[:, 1] - 1.0).reshape(41, 51), box, 1.5)
    assert np.abs(np.hypot(circle[:, 0], circle[:, 1] - 1.0) - 1.5).max() < 0.02
    # masked out: nothing traced
    assert len(contour_segments((pts[:, 0] - 0.3).reshape(41, 51), box, 0.0, np.zeros((41, 51), bool))) == 0


def test_overlays_are_read_only_and_check_their_kind():
    ov = Overlay("a", "rings", [[1, 2], [3, 4]])
    with pytest.raises(ValueError):
        ov.xy[0, 0] = 5
    with pytest.raises(ValueError, match="overlay kind"):
        Overlay("b", "stars", [[0, 0]])


def test_one_step_is_one_smo_iteration_and_a_snapshot_is_the_engines_current_solution():
    run = TrainingRun(SPEC, load_dataset(SPEC), generation=1)
    assert run.trainer is None and run.n_outputs == 3
    first = run.snapshot(RenderOptions(), with_report=True)
    assert first.epoch == 0 and first.counter_name == "Iteration" and first.weights == () and first.finite
    assert first.status_line.startswith("0 support vectors")
    for _ in range(5):
        run.train_epoch()
    assert run.epoch == 5 == run.adapter.iteration
    snap = run.snapshot(RenderOptions(), with_report=True)
    (rec,) = snap.records
    model = run.adapter.fitter.current_model()
    assert rec["epoch"] == 5 and rec["n_support"] == len(model.support_vectors)
    # the record's hinge loss is the engine's decision on the training points
    fitter = run.adapter.fitter
    F = fitter.preprocess(np.asarray(snap.dataset.X_train, np.float64))
    assert rec["train_loss"] == pytest.approx(hinge_loss(model.decision_values(F), snap.dataset.y_train, 3))
    # the cached kernel gives the engine's decision values
    coef = pair_coefficients(model, len(F))
    np.testing.assert_allclose(fitter.fit.kernel.block(F, fitter.fit.X) @ coef + model.intercept,
                               model.decision_values(F), atol=1e-9)
    # nothing trained since: the next frame sends no record
    assert run.snapshot(RenderOptions(), with_report=False).records == ()
    while run.status == "running":
        run.train_epoch()
    assert run.status == "completed" and not run.can_train
    final = run.snapshot(RenderOptions(), with_report=True)
    assert final.status_line.endswith("converged") and "converged after" in run.message()
    assert final.report["accuracy"] > 0.8


def test_painting_restarts_smo_on_the_new_points_and_the_count_carries_on():
    ds = load_dataset(SPEC)
    run = TrainingRun(SPEC, ds, generation=1)
    for _ in range(4):
        run.train_epoch()
    run.apply(ds, None, ())
    assert run.adapter.iteration == 0 and run.epoch == 4
    run.train_epoch()
    assert run.epoch == 5
