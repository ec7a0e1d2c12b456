"""``python -m engine export``: the files it writes read back, its errors, the script's NumPy part.

These tests need only NumPy: the exported script's data and preprocessing functions are
run without Keras. tests/engine/test_export_keras.py runs the script with Keras itself.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil

import numpy as np
import pytest

from engine.data import load_dataset
from engine.export_keras import prepare_export
from engine.features import Preprocessor
from engine.model_io import load_model
from engine.spec import RunSpec, load_spec
from tests.conftest import ROOT
from tests.engine.test_cli import assert_one_line_error, engine, write_spec

PRESET = {
    "dataset": {"kind": "xor", "n_samples": 160, "noise": 0.1, "seed": 3, "test_fraction": 0.25,
                "standardize": True},
    "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"],
    "model": {"kind": "mlp", "hidden": [5], "activation": "tanh"},
    "train": {"epochs": 3, "batch_size": 16, "optimizer": "momentum", "learning_rate": 0.05, "l2": 0.001},
}


def iris_spec(tmp_path):
    """The example iris spec with its semicolon-free CSV copied beside it."""
    shutil.copy(os.path.join(ROOT, "resources", "data", "iris_2d.csv"), tmp_path / "iris_2d.csv")
    d = json.loads(open(os.path.join(ROOT, "resources", "specs", "iris.json")).read())
    d["dataset"]["path"] = "iris_2d.csv"
    d["train"]["epochs"] = 3
    return write_spec(tmp_path, d, "iris.json")


def script_namespace(path):
    """The exported script's functions and settings, without running main() (no Keras needed)."""
    return runpy.run_path(str(path), run_name="exported_script")


@pytest.mark.parametrize("which", ["preset", "csv"])
def test_exported_data_split_and_preprocessing_equal_scalelabs(tmp_path, which):
    spec_path = write_spec(tmp_path, PRESET) if which == "preset" else iris_spec(tmp_path)
    out = tmp_path / "out" / "lesson.py"
    proc = engine("export", spec_path, "--keras", out)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stdout and f"wrote {tmp_path / 'out' / 'lesson_data.csv'}" in proc.stdout
    assert not (tmp_path / "out" / "lesson_weights.npz").exists()  # no --weights, no trained weights

    spec = load_spec(spec_path)
    ds = load_dataset(spec)
    ns = script_namespace(out)
    X_train, y_train, X_test, y_test = ns["load_data"](ns["DATA_FILE"])
    # The same rows, in the same order, in the same parts: bit for bit.
    assert np.array_equal(X_train, ds.X_train) and np.array_equal(X_test, ds.X_test)
    assert np.array_equal(y_train, ds.y_train) and np.array_equal(y_test, ds.y_test)
    assert ns["CLASS_NAMES"] == list(ds.class_names)
    mean, std = ns["fit_standardization"](X_train.copy())
    np.testing.assert_array_equal(mean, ds.mean)
    np.testing.assert_array_equal(std, ds.std)
    pre = Preprocessor.for_dataset(spec, ds)
    for X in (X_train, X_test):
        theirs = ns["make_features"](X, mean, std)
        ours = pre(np.asarray(X, np.float64)).astype(np.float32)
        assert theirs.dtype == np.float32 and theirs.shape == ours.shape
        np.testing.assert_array_equal(theirs, ours)
    assert ns["START_FROM_SCALELAB_WEIGHTS"] is False
    assert ns["HIDDEN"] == list(spec.model.hidden) and ns["L2"] == spec.train.l2


def test_weights_from_a_model_file_are_written_for_set_weights(tmp_path):
    spec_path = write_spec(tmp_path, PRESET)
    assert engine("train", spec_path, "--out", tmp_path / "run").returncode == 0
    out = tmp_path / "lesson.py"
    proc = engine("export", spec_path, "--keras", out, "--weights", tmp_path / "run" / "model.npz")
    assert proc.returncode == 0, proc.stderr
    _, _, network = load_model(tmp_path / "run" / "model.npz")
    with np.load(tmp_path / "lesson_weights.npz", allow_pickle=False) as z:
        assert sorted(z.files) == ["W0", "W1", "b0", "b1"]
        for i, layer in enumerate(network.layers):
            np.testing.assert_array_equal(z[f"W{i}"], layer.W)  # (n_in, n_out): Keras's kernel layout
            np.testing.assert_array_equal(z[f"b{i}"], layer.b)
    assert script_namespace(out)["START_FROM_SCALELAB_WEIGHTS"] is True


def test_overwriting_an_export_without_weights_removes_the_old_weights(tmp_path):
    spec_path = write_spec(tmp_path, PRESET)
    assert engine("export", spec_path, "--keras", tmp_path / "k.py", "--weights").returncode == 0
    assert (tmp_path / "k_weights.npz").exists()
    proc = engine("export", spec_path, "--keras", tmp_path / "k.py", "--force")
    assert proc.returncode == 0, proc.stderr
    # The new script starts from scratch; stale weights beside it would not fit its story.
    assert not (tmp_path / "k_weights.npz").exists()
    assert script_namespace(tmp_path / "k.py")["START_FROM_SCALELAB_WEIGHTS"] is False


def test_weights_without_a_file_train_the_spec_first(tmp_path):
    spec_path = write_spec(tmp_path, PRESET)
    proc = engine("export", spec_path, "--keras", tmp_path / "k.py", "--weights")
    assert proc.returncode == 0, proc.stderr
    assert "trained the spec for 3 epochs" in proc.stdout
    from engine.trainer import Trainer

    trainer = Trainer(load_spec(spec_path))
    list(trainer.run())
    with np.load(tmp_path / "k_weights.npz", allow_pickle=False) as z:
        np.testing.assert_allclose(z["W0"], trainer.model.layers[0].W, rtol=0, atol=0)


def test_export_errors_are_one_line_and_write_nothing(tmp_path):
    spec_path = write_spec(tmp_path, PRESET)
    assert_one_line_error(engine("export", spec_path), "--keras", "--notebook")
    assert_one_line_error(engine("export", spec_path, "--keras", tmp_path / "x.txt"), ".py")
    assert_one_line_error(engine("export", tmp_path / "missing.json", "--keras", tmp_path / "x.py"), "missing.json")
    (tmp_path / "taken.py").write_text("keep me")
    assert_one_line_error(engine("export", spec_path, "--keras", tmp_path / "taken.py"), "taken.py", "--force")
    assert (tmp_path / "taken.py").read_text() == "keep me"
    assert not (tmp_path / "taken_data.csv").exists()
    other = dict(PRESET, model={"kind": "mlp", "hidden": [3, 3], "activation": "relu"})
    other_path = write_spec(tmp_path, other, "other.json")
    assert engine("train", other_path, "--out", tmp_path / "run").returncode == 0
    proc = engine("export", spec_path, "--keras", tmp_path / "y.py", "--weights", tmp_path / "run" / "model.npz")
    assert_one_line_error(proc, "model.npz does not fit")
    assert not (tmp_path / "y.py").exists()
    proc = engine("export", spec_path, "--keras", tmp_path / "z.py", "--notebook", tmp_path / "z.ipynb")
    assert_one_line_error(proc, "different names")
    for model in ({"kind": "svm", "kernel": "rbf", "C": 1.0}, {"kind": "kmeans", "k": 2}):
        kind_path = write_spec(tmp_path, dict(PRESET, model=model), f"{model['kind']}.json")
        proc = engine("export", kind_path, "--keras", tmp_path / "k.py", "--notebook", tmp_path / "kn.ipynb")
        assert_one_line_error(proc, f"{model['kind']}: the Keras script and notebook are written for networks")
        assert not (tmp_path / "k.py").exists() and not (tmp_path / "kn.ipynb").exists()


def test_prepare_export_takes_the_spec_weights_and_checks_them():
    spec = RunSpec.from_dict(PRESET)
    ds = load_dataset(spec)
    run = prepare_export(spec, ds)
    assert run.weights is None and run.n_inputs == 7 and run.n_outputs == 2
    weights = [{"W": np.ones((7, 5)).tolist(), "b": [0.0] * 5}, {"W": np.ones((5, 2)).tolist(), "b": [1.0, 2.0]}]
    run = prepare_export(spec.with_(weights=tuple(weights)), ds)
    np.testing.assert_array_equal(run.weights[1]["b"], [1.0, 2.0])
    with pytest.raises(Exception, match=r"weights\[0\]\.W"):
        prepare_export(spec, ds, weights=[{"W": np.ones((2, 5)), "b": np.zeros(5)}, weights[1]])
