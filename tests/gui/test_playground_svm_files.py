"""An SVM spec or model file opens in the Playground; a model file shows the same solution."""

from __future__ import annotations

import json

import numpy as np

from engine.estimators import SvmFitter, model_kind, read_model
from engine.spec import RunSpec


def test_an_svm_spec_opens_with_its_settings(qtbot, playground, tmp_path):
    spec = {"dataset": {"kind": "moons", "n_samples": 60, "seed": 1},
            "model": {"kind": "svm", "kernel": "poly", "C": 3, "gamma": 0.5, "degree": 2}}
    path = tmp_path / "svm.json"
    path.write_text(json.dumps(spec))
    playground.open(str(path))
    s = playground.settings
    assert (s.model_kind, s.svm_kernel, s.svm_C, s.svm_gamma, s.svm_degree) == ("svm", "poly", 3.0, 0.5, 2)
    controls = playground.settings_bar.svm_controls
    assert controls.isVisible() and controls.kernel_combo.currentData() == "poly"
    assert controls.c_combo.currentText() == "3" and controls.degree_spin.value() == 2
    # the view's spec is the file's model, with nothing of a network in it
    m = playground.current_spec().model.to_dict()
    assert {k: m[k] for k in ("kind", "kernel", "C", "gamma", "degree")} == {
        "kind": "svm", "kernel": "poly", "C": 3.0, "gamma": 0.5, "degree": 2}
    assert playground.current_spec().weights is None


def test_an_svm_model_file_opens_as_the_same_solution(qtbot, playground, tmp_path):
    spec = {"dataset": {"kind": "blobs", "n_samples": 90, "n_classes": 3, "seed": 4, "noise": 0.3},
            "model": {"kind": "svm", "C": 2, "gamma": 1.0}}
    run = RunSpec.from_dict(spec)
    fitter = SvmFitter(run)
    for _ in fitter.run():
        pass
    model_kind("svm").save(str(tmp_path / "model.npz"), run, fitter)
    playground.open_model(str(tmp_path / "model.npz"))
    assert playground.session.state == "completed"
    snap = playground.session.snapshot
    saved = read_model(str(tmp_path / "model.npz"))[1].model
    rings = playground.data_plot.overlays.shown["svm_support"].xy
    assert len(rings) == int(saved.n_support.sum())
    # the circled points are the saved support vectors (in the data's own coordinates)
    F = fitter.preprocess(np.asarray(snap.dataset.X_train, np.float64))
    np.testing.assert_allclose(np.sort(F[fitter.model.train_rows], axis=0), np.sort(saved.support_vectors, axis=0))
    np.testing.assert_allclose(np.sort(fitter.preprocess(rings), axis=0), np.sort(saved.support_vectors, axis=0))
    assert playground.data_plot.overlays.status.textItem.toPlainText().startswith(
        f"{int(saved.n_support.sum())} support vectors")
