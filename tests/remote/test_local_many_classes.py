"""Many classes through the cluster path: 2 MPI ranks, and a job of the local profile."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from remote.store import JobStore
from tests.conftest import ROOT, require
from tests.engine.test_robustness import blobs_csv


def _spec(tmp_path, n_classes):
    blobs_csv(tmp_path / "pines.csv", n_classes, n_per_class=15, d=6, first_label=1)
    spec = {"dataset": {"kind": "csv", "path": "pines.csv", "test_fraction": 0.2, "standardize": True},
            "model": {"kind": "mlp", "hidden": [24]},
            "train": {"epochs": 30, "batch_size": 14, "learning_rate": 0.02}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


@pytest.mark.mpi
def test_sixteen_classes_on_two_mpi_ranks_match_one_rank(tmp_path):
    mpirun = shutil.which("mpirun")
    require(mpirun is not None and importlib.util.find_spec("mpi4py") is not None,
            "needs mpirun (Open MPI) and mpi4py")
    spec_path = _spec(tmp_path, 16)
    env = dict(os.environ, PYTHONPATH=ROOT, TMPDIR=str(tmp_path), OMPI_MCA_rmaps_base_oversubscribe="1")
    base = [sys.executable, "-m", "engine", "train", str(spec_path), "--out"]
    one = subprocess.run(base + [str(tmp_path / "one")], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert one.returncode == 0, one.stderr
    cmd = [mpirun, "-n", "2"] + (["--allow-run-as-root"] if os.geteuid() == 0 else []) + ["--oversubscribe"]
    two = subprocess.run(cmd + base + [str(tmp_path / "two")], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=180)
    assert two.returncode == 0, two.stdout + two.stderr
    rec1 = [json.loads(x) for x in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    rec2 = [json.loads(x) for x in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert {r["ranks"] for r in rec2} == {2} and len(rec1) == len(rec2) == 30
    for a, b in zip(rec1, rec2):
        for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6)
    assert rec2[-1]["test_accuracy"] > 0.9
    with np.load(tmp_path / "two" / "model.npz", allow_pickle=False) as z:
        assert z["W1"].shape == (24, 16) and z["class_names"].tolist() == [str(c) for c in range(1, 17)]


def test_sixteen_class_job_through_the_local_profile(tmp_path):
    config = tmp_path / "profiles.toml"
    config.write_text(f'[profiles.local]\nworkdir = "{tmp_path / "work"}"\npython = "{sys.executable}"\n')
    spec_path = _spec(tmp_path, 16)
    env = {**os.environ, "SCALELAB_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": ROOT}
    cmd = [sys.executable, "-m", "remote", "--config", str(config)]
    sub = subprocess.run(cmd + ["submit", "--profile", "local", str(spec_path)], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=60)
    assert sub.returncode == 0, sub.stderr
    job_id = sub.stdout.strip().splitlines()[-1]
    watch = subprocess.run(cmd + ["watch", "--profile", "local", job_id, "--min-delay", "0.2", "--max-delay", "1"],
                           capture_output=True, text=True, env=env, cwd=ROOT, timeout=180)
    assert watch.returncode == 0, watch.stderr
    records = [json.loads(line) for line in watch.stdout.splitlines()]
    assert [r["epoch"] for r in records] == list(range(1, 31))
    assert records[-1]["test_accuracy"] > 0.9
    with JobStore(tmp_path / "data" / "jobs.sqlite") as store:
        job = store.get("local", job_id)
    with np.load(os.path.join(job.job_dir, "model.npz"), allow_pickle=False) as z:
        assert int(z["n_classes"]) == 16 and z["W1"].shape == (24, 16)
