"""An exported Keras script run as a job; its curves come through the Keras log parser.

The test cluster's job Python (a venv of /usr/bin/python3 with NumPy and mpi4py) has no Keras,
and installing PyTorch into it would cost every cluster start minutes and gigabytes; the job
therefore runs under the built-in ``local`` profile, which starts the same ``job.sh`` as a
local process with this Python (Keras 3 on the PyTorch backend, CPU).
"""

from __future__ import annotations

import importlib.util
import os
import time

import pytest

from engine.export import export_run
from engine.export_keras import prepare_export
from engine.spec import RunSpec
from remote.backend import LocalBackend
from remote.config import local_profile
from remote.jobs import JobOptions, submit_script_job
from remote.logparse import parse_metrics_file
from remote.monitor import Monitor
from remote.store import JobStore
from tests.conftest import require

pytestmark = pytest.mark.slow

SPEC = {
    "dataset": {"kind": "circle", "n_samples": 200, "noise": 0.1, "seed": 2, "test_fraction": 0.25},
    "features": ["x1", "x2", "x1^2", "x2^2"],
    "model": {"kind": "mlp", "hidden": [4], "activation": "tanh"},
    "train": {"epochs": 4, "batch_size": 20, "optimizer": "adam", "learning_rate": 0.02},
}


def test_exported_keras_script_runs_as_a_job_and_its_curves_arrive(tmp_path, monkeypatch):
    for module in ("keras", "torch"):
        require(importlib.util.find_spec(module) is not None, f"{module} is not installed (pip install -e '.[keras]')")
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    monkeypatch.setenv("SCALELAB_DATA_DIR", str(tmp_path / "data"))
    script = tmp_path / "export" / "circle_keras.py"
    export_run(prepare_export(RunSpec.from_dict(SPEC)), keras_path=str(script))

    store = JobStore(tmp_path / "jobs.sqlite")
    try:
        backend = LocalBackend(local_profile())
        job = submit_script_job(backend, script, JobOptions(ntasks=1), store=store)
        assert job.metrics_path == job.output_path  # the output file is the metrics source
        assert {"circle_keras.py", "circle_keras_data.csv", "job.sh"} <= set(os.listdir(job.job_dir))
        monitor = Monitor(backend, store, min_delay_s=0.2, max_delay_s=1.0)
        finished = []
        deadline = time.monotonic() + 120
        while not finished and time.monotonic() < deadline:
            finished = [e for e in monitor.poll_once() if e.kind == "finished"]
            time.sleep(0.3)
        monitor.poll_once()  # the last lines written before the process ended
        output = open(job.output_path, encoding="utf-8").read()
        assert finished and finished[0].state == "COMPLETED", output
        lines = store.record_lines("local", job.job_id)
        records = parse_metrics_file(os.path.basename(job.metrics_path), "\n".join(lines) + "\n")
        assert [r["epoch"] for r in records] == [1, 2, 3, 4], output
        for rec in records:
            assert {"train_loss", "test_loss", "train_accuracy", "test_accuracy"} <= set(rec)
        # The last epoch's curves end where the script's own summary says.
        final = [line for line in output.splitlines() if line.startswith("test accuracy: ")]
        assert final and float(final[0].split()[-1]) == pytest.approx(records[-1]["test_accuracy"], abs=1e-4)
    finally:
        store.close()
