"""Against the real two-node test cluster: a job over both nodes, and scaling sweeps through SLURM."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from remote.backend import SshBackend
from remote.jobs import JobOptions, prepare_job, submit_bundle
from remote.monitor import Monitor
from remote.store import JobStore
from tests.cluster.cluster import NODES
from tests.conftest import ROOT

pytestmark = pytest.mark.cluster

SPEC = {"dataset": {"kind": "spiral", "n_samples": 1200, "seed": 2}, "model": {"kind": "mlp", "hidden": [16]},
        "train": {"epochs": 3, "batch_size": 40, "seed": 1}}
# Each rank says who it is and where it runs: MPI's rank and size, SLURM's node name.
REPORT = ("import os; from mpi4py import MPI; c = MPI.COMM_WORLD; "
          "print('rank', c.Get_rank(), 'of', c.Get_size(), 'on', os.environ['SLURMD_NODENAME'], flush=True)")


def test_the_cluster_has_two_idle_nodes_in_the_debug_partition(test_cluster):
    out = test_cluster.as_user(["sinfo", "-h", "-N", "-o", "%N %P %c"])
    assert sorted(out.stdout.split("\n")[:2]) == [f"{n} debug* 2" for n in NODES]


def test_the_generated_script_runs_four_ranks_over_two_nodes_two_per_node(test_cluster, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    backend = SshBackend(test_cluster.profile).connect()
    try:
        workdir = backend.expand_path(test_cluster.profile.workdir)
        prepared = prepare_job(test_cluster.profile, spec, JobOptions(ntasks=4, nodes=2, ntasks_per_node=2), workdir)
        assert "#SBATCH --nodes=2" in prepared.script and "#SBATCH --ntasks-per-node=2" in prepared.script
        launch = next(line for line in prepared.script.splitlines() if line.startswith("srun --mpi=pmix"))
        python = test_cluster.profile.python
        # The same launcher line, once more, running the report before the training.
        report = launch.split(python)[0] + f"{python} -c \"{REPORT}\""
        script = prepared.script.replace(launch, report + "\n" + launch)
        with JobStore(tmp_path / "jobs.sqlite") as store:
            job = submit_bundle(backend, prepared.description, prepared.bundle(script), store=store)
            # Generous: the job needs all 4 CPUs of the cluster and may queue behind other tests' jobs.
            events = list(Monitor(backend, store, min_delay_s=0.3, max_delay_s=1.0).watch(job.job_id, max_wait_s=400))
            assert events[-1].kind == "finished" and events[-1].state == "COMPLETED", events[-1]
        output = backend.read_bytes(job.output_path).decode()
        reports = sorted(line.split()[1:] for line in output.splitlines() if line.startswith("rank "))
        assert reports == [[str(r), "of", "4", "on", node] for r, node in zip(range(4), ("n1", "n1", "n2", "n2"))], output
        result = json.loads(backend.read_bytes(f"{job.job_dir}/result.json"))
        assert result["status"] == "completed" and result["ranks"] == 4
        records = [json.loads(line) for line in backend.read_bytes(f"{job.job_dir}/metrics.jsonl").decode().splitlines()]
        assert [r["epoch"] for r in records] == [1, 2, 3] and all(r["ranks"] == 4 for r in records)
        nodelist = test_cluster.as_user(["scontrol", "show", "job", job.job_id]).stdout
        assert "NodeList=n[1-2]" in nodelist and "NumNodes=2" in nodelist
    finally:
        backend.close()


def test_a_sweep_on_the_cluster_one_rank_then_two_ranks_on_two_nodes(test_cluster, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    env = {**os.environ, "SCALELAB_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-m", "remote", "--config", str(test_cluster.config_path), "--store",
                          str(tmp_path / "jobs.sqlite"), "sweep", "--profile", "testcluster", str(spec),
                          "--ranks", "1,2", "--nodes", "1,2"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    folder = out.stdout.strip().splitlines()[-1]
    rows = json.load(open(os.path.join(folder, "scaling.json")))["rows"]
    assert [(r["ranks"], r["nodes"]) for r in rows] == [(1, 1), (2, 2)]
    r1, r2 = rows
    assert r1["speedup"] == pytest.approx(1.0)
    assert r2["speedup"] == pytest.approx(r2["samples_per_s"] / r1["samples_per_s"])
    assert r2["efficiency"] == pytest.approx(r2["speedup"] / 2)
    assert r2["comm_s"] > 0
    with JobStore(tmp_path / "jobs.sqlite") as store:
        jobs = store.jobs("testcluster")
        assert len(jobs) == 2 and all(j.state == "COMPLETED" for j in jobs)
    two_node_job = r2["job_ids"][0]
    shown = test_cluster.as_user(["scontrol", "show", "job", two_node_job]).stdout
    assert "NumNodes=2" in shown and "NodeList=n[1-2]" in shown
