"""The hyperspectral preset and export-data: Indian-Pines-shaped data written as CSV, LIBSVM, NPZ."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from engine.data import load_dataset
from engine.datasets import make_preset
from engine.hyperspectral import INDIAN_PINES_COUNTS, class_sizes
from engine.loaders import read_csv, read_libsvm, read_npz
from engine.spec import RunSpec, SpecError
from tests.conftest import ROOT


def test_class_sizes_follow_indian_pines():
    assert sum(INDIAN_PINES_COUNTS) == 10_249 and len(INDIAN_PINES_COUNTS) == 16
    sizes = class_sizes(10_249, 16)
    assert sizes.sum() == 10_249
    np.testing.assert_array_equal(sizes, INDIAN_PINES_COUNTS)
    assert sizes.min() <= 25 and sizes.max() >= 2_400
    for n, k in [(100, 16), (37, 16), (5000, 5), (64, 30)]:
        s = class_sizes(n, k)
        assert s.sum() == n and len(s) == k and s.min() >= min(2, n // k)


def test_spectra_are_smooth_correlated_and_classes_uneven():
    X, y = make_preset("hyperspectral", 3000, 0.0, 7, 16)
    assert X.shape == (3000, 200) and y.dtype == np.int64
    counts = np.bincount(y, minlength=16)
    np.testing.assert_array_equal(np.sort(counts), np.sort(class_sizes(3000, 16)))
    assert counts.max() / counts.min() > 50
    # neighbouring bands are strongly correlated, far bands much less
    Xc = X - X.mean(axis=0)
    corr_near = np.mean([np.corrcoef(Xc[:, j], Xc[:, j + 1])[0, 1] for j in range(0, 199, 7)])
    assert corr_near > 0.9
    # smooth: the mean second difference along bands is small against the values
    assert np.mean(np.abs(np.diff(X, 2, axis=1))) < 0.05 * np.mean(X)
    assert np.all(X >= 0) and X.max() < 1.5
    # the same seed gives the same pixels, another seed others
    X2, y2 = make_preset("hyperspectral", 3000, 0.0, 7, 16)
    np.testing.assert_array_equal(X, X2)
    assert not np.array_equal(make_preset("hyperspectral", 3000, 0.0, 8, 16)[0], X)


def test_spec_fields_of_the_preset():
    spec = RunSpec.from_dict({"dataset": {"kind": "hyperspectral", "n_samples": 400, "n_features": 30,
                                          "n_classes": 20}})
    assert spec.dataset.to_dict()["n_features"] == 30 and spec.dataset.to_dict()["n_classes"] == 20
    assert RunSpec.from_dict(json.loads(spec.to_json())) == spec
    assert RunSpec.from_dict({"dataset": {"kind": "hyperspectral"}}).dataset.n_classes == 16
    ds = load_dataset(spec)
    assert ds.n_classes == 20 and ds.n_features_raw == 30 and ds.task == "classification"
    with pytest.raises(SpecError, match="dataset.n_features: only used with hyperspectral"):
        RunSpec.from_dict({"dataset": {"kind": "spiral", "n_features": 3}})
    with pytest.raises(SpecError, match="dataset.n_classes"):
        RunSpec.from_dict({"dataset": {"kind": "hyperspectral", "n_classes": 65}})
    with pytest.raises(SpecError, match="dataset.task"):
        RunSpec.from_dict({"dataset": {"kind": "hyperspectral", "task": "regression"}})


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("ext", [".csv", ".svm", ".npz"])
def test_export_data_writes_what_the_loaders_read_back(tmp_path, ext):
    spec = {"dataset": {"kind": "hyperspectral", "n_samples": 300, "n_features": 12, "seed": 5,
                        "test_fraction": 0.2}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    out = tmp_path / f"data{ext}"
    proc = _cli("export-data", str(tmp_path / "spec.json"), str(out))
    assert proc.returncode == 0, proc.stderr
    fmt = {".csv": "csv", ".svm": "libsvm", ".npz": "npz"}[ext]
    assert proc.stdout.strip() == f"wrote {out}: 300 rows, 12 features, 16 classes ({fmt})"
    ds = load_dataset(RunSpec.from_dict(spec))
    X = np.concatenate([ds.X_train, ds.X_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    if ext == ".csv":
        Xr, yr, header = read_csv(out)
        assert header[-1] == "label"
        assert list(yr) == [ds.class_names[i] for i in y]
    elif ext == ".svm":
        Xr, yr = read_libsvm(out)
        np.testing.assert_array_equal(yr, y.astype(float))
    else:
        Xr, yr = read_npz(out)
        np.testing.assert_array_equal(yr, y.astype(float))
    np.testing.assert_array_equal(Xr, X)
    # and a spec reading the LIBSVM file back as a 16-class problem
    if ext == ".svm":
        back = RunSpec.from_dict({"dataset": {"kind": "libsvm", "path": str(out), "task": "classification"}})
        assert load_dataset(back).n_classes == 16


def test_export_data_refuses_an_unknown_extension(tmp_path):
    (tmp_path / "spec.json").write_text(json.dumps({"dataset": {"kind": "moons", "n_samples": 20}}))
    proc = _cli("export-data", str(tmp_path / "spec.json"), str(tmp_path / "out.xlsx"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'out.xlsx'}: unknown extension '.xlsx'; use one of .csv, .svm, .libsvm, .txt, .npz"]
    assert not (tmp_path / "out.xlsx").exists()


def test_many_classes_in_a_file_need_the_classification_task(tmp_path):
    from engine.loaders import write_libsvm

    rng = np.random.default_rng(0)
    write_libsvm(tmp_path / "d.svm", rng.normal(size=(40, 3)), np.arange(40) % 10)
    auto = load_dataset(RunSpec.from_dict({"dataset": {"kind": "libsvm", "path": str(tmp_path / "d.svm")}}))
    # Whole-number labels are classes however many (scikit-learn's type_of_target: multiclass).
    assert auto.task == "classification" and auto.n_classes == 10
    told = load_dataset(RunSpec.from_dict({"dataset": {"kind": "libsvm", "path": str(tmp_path / "d.svm"),
                                                       "task": "classification"}}))
    assert told.n_classes == 10
