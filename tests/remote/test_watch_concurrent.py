"""Every watcher of a job prints every record exactly once, in order, then the final state.

A real process stands in for a local job (its pid in ``local.pid``) and writes 110 metrics
lines at its own pace; two ``python -m remote watch`` processes share one job store, one
polling fast and one slowly, one started while the records are already arriving.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

from remote.backend import LocalBackend
from remote.config import local_profile
from remote.monitor import Monitor
from remote.store import JobStore
from tests.conftest import ROOT

N_RECORDS = 110

WRITER = r"""
import json, os, sys, time
job_dir = sys.argv[1]
while not os.path.exists(os.path.join(job_dir, "go")):
    time.sleep(0.01)
with open(os.path.join(job_dir, "metrics.jsonl"), "a") as fh:
    for epoch in range(1, %d + 1):
        fh.write(json.dumps({"epoch": epoch, "train_loss": 1.0 / epoch}) + "\n")
        fh.flush()
        time.sleep(0.02)
with open(os.path.join(job_dir, "exit_status"), "w") as fh:
    fh.write("0\n")
""" % N_RECORDS


def _start_job(tmp_path):
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(job_dir)])
    with open(f"/proc/{proc.pid}/stat") as fh:
        ticks = fh.read().rsplit(")", 1)[1].split()[19]
    (job_dir / "local.pid").write_text(f"{proc.pid} {ticks}\n")
    threading.Thread(target=proc.wait, daemon=True).start()  # reap it as soon as it ends
    store_path = tmp_path / "jobs.sqlite"
    with JobStore(store_path) as store:
        store.add_job("local", "L7", job_dir=str(job_dir), metrics_path=str(job_dir / "metrics.jsonl"))
    return job_dir, store_path, proc


def _watch(tmp_path, store_path, min_delay, max_delay):
    env = {**os.environ, "SCALELAB_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": ROOT}
    return subprocess.Popen(
        [sys.executable, "-m", "remote", "--store", str(store_path), "watch", "--profile", "local", "L7",
         "--min-delay", str(min_delay), "--max-delay", str(max_delay)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def test_two_watchers_each_print_every_record_once_then_the_end(tmp_path):
    job_dir, store_path, writer = _start_job(tmp_path)
    fast = _watch(tmp_path, store_path, 0.05, 0.1)
    (job_dir / "go").write_text("")
    # The slow one starts while records are arriving, and polls far less often than the
    # fast one, which therefore reads most lines and sees the end first.
    while not (job_dir / "metrics.jsonl").exists() or (job_dir / "metrics.jsonl").read_text().count("\n") < 30:
        time.sleep(0.01)
    slow = _watch(tmp_path, store_path, 1.5, 1.5)
    outputs = [p.communicate(timeout=120) for p in (fast, slow)]
    for proc, (out, err) in zip((fast, slow), outputs):
        assert proc.returncode == 0, err
        assert [json.loads(line)["epoch"] for line in out.splitlines()] == list(range(1, N_RECORDS + 1))
        assert err.splitlines()[-1] == "job L7 finished: COMPLETED, exit code 0"
    with JobStore(store_path) as store:
        assert store.get("local", "L7").n_records == N_RECORDS


def test_a_watcher_whose_job_another_watcher_saw_end_still_prints_everything_and_the_end(tmp_path):
    job_dir, store_path, writer = _start_job(tmp_path)
    (job_dir / "go").write_text("")
    with JobStore(store_path) as store:
        backend = LocalBackend(local_profile())
        other = Monitor(backend, store, min_delay_s=0.05, max_delay_s=0.1)

        def other_reads_to_the_end(delay_s):
            # While this watcher sleeps, the other one reads every line and sees the job end.
            while not any(e.kind == "finished" for e in other.poll_once()):
                time.sleep(0.05)

        events = list(Monitor(backend, store).watch("L7", sleep=other_reads_to_the_end))
    epochs = [r["epoch"] for e in events if e.kind == "records" for r in e.records]
    assert epochs == list(range(1, N_RECORDS + 1))
    assert events[-1].kind == "finished" and events[-1].state == "COMPLETED" and events[-1].exit_code == 0


def test_a_line_longer_than_the_read_chunk_is_skipped_with_one_warning(tmp_path, monkeypatch):
    import remote.monitor as monitor_module

    monkeypatch.setattr(monitor_module, "MAX_READ_BYTES", 64)
    job_dir, store_path, writer = _start_job(tmp_path)
    metrics = job_dir / "metrics.jsonl"
    huge = json.dumps({"epoch": 0, "blob": "x" * 500})
    metrics.write_text(json.dumps({"epoch": -1}) + "\n" + huge + "\n")
    (job_dir / "go").write_text("")
    writer.wait(60)
    with JobStore(store_path) as store:
        events = list(Monitor(LocalBackend(local_profile()), store).watch("L7", sleep=lambda s: None))
    epochs = [r["epoch"] for e in events if e.kind == "records" for r in e.records]
    assert epochs == [-1] + list(range(1, N_RECORDS + 1))
    warnings = [e.message for e in events if e.kind == "warning"]
    assert len(warnings) == 1 and f"{len(huge) + 1} bytes" in warnings[0]
    assert events[-1].kind == "finished" and events[-1].state == "COMPLETED"
