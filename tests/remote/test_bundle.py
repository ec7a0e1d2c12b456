"""The job bundle: engine source only, the spec rewritten to the uploaded data, private modes."""

from __future__ import annotations

import json
import os
import stat

import numpy as np

from engine.spec import load_spec
from remote.backend import LocalBackend
from remote.bundle import build_bundle, engine_sources, job_folder_name, upload_bundle
from remote.config import local_profile


def test_engine_sources_are_the_py_files_only():
    files = engine_sources()
    assert "engine/__init__.py" in files and "engine/__main__.py" in files and "engine/trainer.py" in files
    assert all(name.endswith(".py") and "__pycache__" not in name for name in files)
    import engine
    root = os.path.dirname(engine.__file__)
    assert files["engine/spec.py"] == open(os.path.join(root, "spec.py"), "rb").read()


def test_local_data_file_is_uploaded_and_the_spec_rewritten(tmp_path):
    data = tmp_path / "d" / "pts.npz"
    data.parent.mkdir()
    np.savez(data, X=np.zeros((4, 2)), y=np.array([0, 1, 0, 1]))
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps({"dataset": {"kind": "npz", "path": "d/pts.npz"}, "model": {"kind": "logistic"}}))
    bundle = build_bundle(load_spec(spec_path), "#!/bin/bash\necho hi\n")
    assert bundle.files["data/pts.npz"] == data.read_bytes()
    assert json.loads(bundle.files["spec.json"])["dataset"]["path"] == "data/pts.npz"
    assert bundle.data_source == str(data)
    job_dir = tmp_path / "jobs" / job_folder_name("my job!")
    upload_bundle(LocalBackend(local_profile()), str(job_dir), bundle)
    assert stat.S_IMODE(os.stat(job_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(job_dir / "job.sh").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(job_dir / "spec.json").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(job_dir / "engine").st_mode) == 0o700
    # the uploaded spec loads in its job folder and finds the data copy
    again = load_spec(job_dir / "spec.json")
    assert again.dataset.resolve_path(again.base_dir) == str(job_dir / "data" / "pts.npz")
    assert "my_job_" in job_dir.name


def test_a_path_only_on_the_cluster_is_kept(tmp_path):
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps({"dataset": {"kind": "csv", "path": "/p/project/data/big.csv"}}))
    bundle = build_bundle(load_spec(spec_path), "")
    assert json.loads(bundle.files["spec.json"])["dataset"]["path"] == "/p/project/data/big.csv"
    assert not [f for f in bundle.files if f.startswith("data/")]
