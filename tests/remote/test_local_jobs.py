"""The built-in ``local`` profile: the same bundle as a local process, mpirun -n 2 for 2 ranks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from remote.backend import LocalBackend
from remote.config import load_profiles
from remote.jobs import FetchError, JobOptions, fetch_job, submit_job
from remote.monitor import Monitor
from remote.store import JobStore
from tests.conftest import ROOT, require

SPEC = {"dataset": {"kind": "xor", "n_samples": 300, "seed": 3}, "model": {"kind": "mlp", "hidden": [8]},
        "train": {"epochs": 6, "batch_size": 20}}


def _mpi_ready() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return shutil.which("mpirun") is not None


@pytest.fixture
def local_env(tmp_path, monkeypatch):
    config = tmp_path / "profiles.toml"
    config.write_text(f'[profiles.local]\nworkdir = "{tmp_path / "work"}"\npython = "{sys.executable}"\n')
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    monkeypatch.setenv("SCALELAB_DATA_DIR", str(tmp_path / "data"))
    return config, spec, tmp_path


@pytest.mark.mpi
def test_local_profile_runs_the_bundle_with_mpirun_two_ranks(local_env):
    require(_mpi_ready(), "mpirun and mpi4py are needed for 2 local ranks")
    config, spec, tmp = local_env
    profile = load_profiles(config)["local"]
    backend = LocalBackend(profile)
    with JobStore(tmp / "jobs.sqlite") as store:
        job = submit_job(backend, spec, JobOptions(ntasks=2), store=store)
        assert job.job_id.startswith("L")
        assert oct(os.stat(job.job_dir).st_mode & 0o777) == "0o700"
        script = open(os.path.join(job.job_dir, "job.sh")).read()
        assert "mpirun" in script and " -n 2 " in script
        if os.geteuid() == 0:
            assert "--allow-run-as-root" in script
        assert os.path.exists(os.path.join(job.job_dir, "engine", "trainer.py"))
        assert not [p for p in os.listdir(os.path.join(job.job_dir, "engine")) if not p.endswith(".py")]
        monitor = Monitor(backend, store, min_delay_s=0.2, max_delay_s=1.0)
        events = list(monitor.watch(job.job_id, max_wait_s=120))
        records = [r for e in events if e.kind == "records" for r in e.records]
        assert [r["epoch"] for r in records] == list(range(1, 7))
        assert {r["ranks"] for r in records} == {2}
        assert events[-1].kind == "finished" and events[-1].state == "COMPLETED", open(job.output_path).read()
        out = tmp / "fetched"
        written = fetch_job(backend, job.job_dir, out, job.output_path)
        assert sorted(os.path.basename(p) for p in written) == ["job-local.out", "metrics.jsonl", "model.npz",
                                                                "result.json"]
        with np.load(out / "model.npz", allow_pickle=False) as model:
            assert model["W0"].shape == (2, 8)
        assert json.loads((out / "result.json").read_text())["status"] == "completed"
        # fetching again is fine (same content); a different local file is never overwritten
        fetch_job(backend, job.job_dir, out, job.output_path)
        (out / "result.json").write_text("{}")
        with pytest.raises(FetchError, match="would overwrite"):
            fetch_job(backend, job.job_dir, out, job.output_path)
        assert (out / "result.json").read_text() == "{}"


def test_a_clustering_job_brings_back_its_clusters(local_env):
    config, spec, tmp = local_env
    spec.write_text(json.dumps({"dataset": {"kind": "blobs", "n_samples": 90, "seed": 2},
                                "model": {"kind": "kmeans", "k": 3, "n_init": 2}}))
    backend = LocalBackend(load_profiles(config)["local"])
    with JobStore(tmp / "jobs.sqlite") as store:
        job = submit_job(backend, spec, JobOptions(ntasks=1), store=store)
        events = list(Monitor(backend, store, min_delay_s=0.2, max_delay_s=1.0).watch(job.job_id, max_wait_s=120))
        assert events[-1].kind == "finished" and events[-1].state == "COMPLETED", open(job.output_path).read()
        written = fetch_job(backend, job.job_dir, tmp / "fetched", job.output_path)
    assert "clusters.csv" in [os.path.basename(p) for p in written]
    lines = (tmp / "fetched" / "clusters.csv").read_text().splitlines()
    assert lines[0] == "row,cluster" and len(lines) == 91
    assert {int(line.split(",")[1]) for line in lines[1:]} == {0, 1, 2}


def test_local_cli_submit_watch_one_rank_with_csv_data(local_env):
    """A CSV data set is uploaded into the bundle and the spec rewritten to the copy."""
    config, spec, tmp = local_env
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    csv = tmp / "points.csv"
    csv.write_text("x1,x2,label\n" + "\n".join(f"{a:.5f},{b:.5f},{c}" for (a, b), c in zip(X, y)) + "\n")
    spec.write_text(json.dumps({"dataset": {"kind": "csv", "path": "points.csv"}, "model": {"kind": "logistic"},
                                "features": ["x1", "x2", "x1*x2"], "train": {"epochs": 3, "batch_size": 16}}))
    env = {**os.environ, "SCALELAB_DATA_DIR": str(tmp / "data"), "PYTHONPATH": ROOT}
    cmd = [sys.executable, "-m", "remote", "--config", str(config)]
    sub = subprocess.run(cmd + ["submit", "--profile", "local", str(spec)], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=60)
    assert sub.returncode == 0, sub.stderr
    job_id = sub.stdout.strip().splitlines()[-1]
    assert job_id.startswith("L")
    watch = subprocess.run(cmd + ["watch", "--profile", "local", job_id, "--min-delay", "0.2", "--max-delay", "1"],
                           capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert watch.returncode == 0, watch.stderr
    assert [json.loads(line)["epoch"] for line in watch.stdout.splitlines()] == [1, 2, 3]
    with JobStore(tmp / "data" / "jobs.sqlite") as store:
        job = store.get("local", job_id)
    bundled = json.loads(open(os.path.join(job.job_dir, "spec.json")).read())
    assert bundled["dataset"]["path"] == "data/points.csv"
    assert open(os.path.join(job.job_dir, "data", "points.csv")).read() == csv.read_text()
    queue = subprocess.run(cmd + ["queue", "--profile", "local"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert job_id in queue.stdout and "COMPLETED" in queue.stdout
