"""Against the real test cluster: an exported Keras script runs as a SLURM job, its curves arrive.

The job runs in a second job venv with Keras 3 and the CPU build of PyTorch
(``TestCluster.ensure_keras_python``, built once on demand). No backend is configured for the
cluster's user: the script picks the installed one (PyTorch) itself.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

import pytest

from engine.export import export_run
from engine.export_keras import prepare_export
from engine.spec import RunSpec
from remote.backend import open_backend
from remote.jobs import JobOptions, submit_script_job
from remote.logparse import parse_metrics_file
from remote.monitor import Monitor
from remote.store import JobStore

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

SPEC = {
    "dataset": {"kind": "circle", "n_samples": 200, "noise": 0.1, "seed": 2, "test_fraction": 0.25},
    "features": ["x1", "x2", "x1^2", "x2^2"],
    "model": {"kind": "mlp", "hidden": [4], "activation": "tanh"},
    "train": {"epochs": 4, "batch_size": 20, "optimizer": "adam", "learning_rate": 0.02},
}


def test_exported_keras_script_runs_as_a_slurm_job_and_its_curves_arrive(test_cluster, tmp_path):
    profile = replace(test_cluster.profile, python=test_cluster.ensure_keras_python(log=lambda message: None))
    script = tmp_path / "export" / "circle_keras.py"
    export_run(prepare_export(RunSpec.from_dict(SPEC)), keras_path=str(script))
    backend = open_backend(profile)
    try:
        with JobStore(tmp_path / "jobs.sqlite") as store:
            job = submit_script_job(backend, script, JobOptions(ntasks=1, time="00:05:00", job_name="keras-circle"),
                                    store=store)
            assert job.job_id.isdigit() and job.output_path == f"{job.job_dir}/slurm-{job.job_id}.out"
            assert job.metrics_path == job.output_path  # the output file is the metrics source
            listed = test_cluster.as_user(["ls", job.job_dir]).stdout.split()
            assert {"circle_keras.py", "circle_keras_data.csv", "job.sh"} <= set(listed)
            assert not any(name == "engine" for name in listed)  # the script stands alone
            monitor = Monitor(backend, store, min_delay_s=0.3, max_delay_s=1.0)
            arrived = []  # epochs as each poll parsed them: the curves grow while the job runs
            deadline = time.monotonic() + 240
            while monitor.next_delay_s() is not None and time.monotonic() < deadline:
                if any(e.kind == "records" for e in monitor.poll_once()):
                    lines = store.record_lines("testcluster", job.job_id)
                    arrived.append(len(parse_metrics_file("slurm.out", "\n".join(lines) + "\n")))
                time.sleep(monitor.next_delay_s() or 0)
            stored = store.get("testcluster", job.job_id)
            output = backend.read_bytes(job.output_path).decode()
            assert stored.state == "COMPLETED", output
            records = parse_metrics_file(os.path.basename(job.output_path),
                                         "\n".join(store.record_lines("testcluster", job.job_id)) + "\n")
            assert [r["epoch"] for r in records] == [1, 2, 3, 4], output
            assert arrived and arrived[-1] == 4
            for rec in records:
                assert {"train_loss", "test_loss", "train_accuracy", "test_accuracy"} <= set(rec)
            final = [line for line in output.splitlines() if line.startswith("test accuracy: ")]
            assert final and float(final[0].split()[-1]) == pytest.approx(records[-1]["test_accuracy"], abs=1e-4)
    finally:
        backend.close()
