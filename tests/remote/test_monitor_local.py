"""The monitor on this computer: complete lines only, exactly once, backoff, no polling when idle.

A real process stands in for the job (its pid in ``local.pid``), and the test appends to its
metrics file by hand, half lines included, exactly as a training run flushes it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from remote.backend import LocalBackend
from remote.config import local_profile
from remote.monitor import Monitor, complete_lines
from remote.store import JobStore


@pytest.fixture
def setup(tmp_path):
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open(f"/proc/{proc.pid}/stat") as fh:
        ticks = fh.read().rsplit(")", 1)[1].split()[19]
    (job_dir / "local.pid").write_text(f"{proc.pid} {ticks}\n")
    store = JobStore(tmp_path / "jobs.sqlite")
    store.add_job("local", "L1", job_dir=str(job_dir), metrics_path=str(job_dir / "metrics.jsonl"))
    backend = LocalBackend(local_profile())
    yield job_dir, store, backend, proc
    proc.kill()
    proc.wait()
    store.close()


def _epochs(events):
    return [r["epoch"] for e in events if e.kind == "records" for r in e.records]


def test_complete_lines():
    assert complete_lines(b"") == ([], 0)
    assert complete_lines(b'{"a":1}') == ([], 0)
    assert complete_lines(b'{"a":1}\n{"a"') == (['{"a":1}'], 8)
    assert complete_lines(b'x\r\n\ny\n') == (["x", "y"], 6)


def test_tail_exactly_once_and_finish(setup):
    job_dir, store, backend, proc = setup
    metrics = job_dir / "metrics.jsonl"
    monitor = Monitor(backend, store, min_delay_s=2.0, max_delay_s=60.0)
    events = monitor.poll_once()
    assert [e.state for e in events if e.kind == "state"] == ["RUNNING"]
    assert _epochs(events) == []
    with open(metrics, "w") as fh:
        fh.write(json.dumps({"epoch": 1}) + "\n" + '{"epoch": 2, "train_lo')  # half a line, as flushed mid-write
    assert _epochs(monitor.poll_once()) == [1]
    assert store.get("local", "L1").metrics_offset == len(json.dumps({"epoch": 1})) + 1
    with open(metrics, "a") as fh:
        fh.write('ss": 0.5}\n' + json.dumps({"epoch": 3}) + "\n")
    assert _epochs(monitor.poll_once()) == [2, 3]
    assert _epochs(monitor.poll_once()) == []
    # a second monitor (a restarted watcher) continues from the store: nothing repeated
    again = Monitor(backend, store)
    with open(metrics, "a") as fh:
        fh.write(json.dumps({"epoch": 4}) + "\n")
    assert _epochs(again.poll_once()) == [4]
    assert _epochs(monitor.poll_once()) == [4]  # the first one sees what the other stored, once
    assert [r["epoch"] for r in store.records("local", "L1")] == [1, 2, 3, 4]
    # the job ends: exit status recorded by job.sh's trap, process gone
    (job_dir / "exit_status").write_text("0\n")
    proc.kill()
    proc.wait()
    events = monitor.poll_once()
    finished = [e for e in events if e.kind == "finished"]
    assert len(finished) == 1 and finished[0].state == "COMPLETED" and finished[0].exit_code == 0
    job = store.get("local", "L1")
    assert not job.active and job.state == "COMPLETED" and job.ended_at is not None
    assert monitor.next_delay_s() is None  # nothing tracked: no polling
    assert monitor.poll_once() == []


def test_backoff_grows_when_quiet_and_resets_on_change(setup):
    job_dir, store, backend, _ = setup
    monitor = Monitor(backend, store, min_delay_s=2.0, max_delay_s=10.0, backoff=1.5)
    assert monitor.next_delay_s() == 2.0
    monitor.poll_once()  # state change: stays at the minimum
    assert monitor.next_delay_s() == 2.0
    delays = []
    for _ in range(6):
        monitor.poll_once()
        delays.append(monitor.next_delay_s())
    assert delays == [3.0, 4.5, 6.75, 10.0, 10.0, 10.0]
    (job_dir / "metrics.jsonl").write_text('{"epoch": 1}\n')
    monitor.poll_once()
    assert monitor.next_delay_s() == 2.0
    monitor.poll_once()
    monitor.notify_submitted()
    assert monitor.next_delay_s() == 2.0


def test_failed_and_lost_jobs(setup):
    job_dir, store, backend, proc = setup
    monitor = Monitor(backend, store)
    monitor.poll_once()
    (job_dir / "exit_status").write_text("3\n")
    proc.kill()
    proc.wait()
    ev = [e for e in monitor.poll_once() if e.kind == "finished"]
    assert ev[0].state == "FAILED" and ev[0].exit_code == 3
    # a job whose process vanished without an exit status is reported, not waited for forever
    store.add_job("local", "L2", job_dir=str(job_dir / "gone"))
    os.makedirs(job_dir / "gone")
    (job_dir / "gone" / "local.pid").write_text("999999999 1\n")
    ev = [e for e in monitor.poll_once() if e.kind == "finished"]
    assert [(e.job_id, e.state) for e in ev] == [("L2", "FAILED")]


def test_a_big_metrics_file_is_read_to_its_end_in_chunks(setup, monkeypatch):
    import remote.monitor as monitor_module

    job_dir, store, backend, proc = setup
    monkeypatch.setattr(monitor_module, "MAX_READ_BYTES", 100)
    lines = [json.dumps({"epoch": i, "pad": "x" * 20}) for i in range(1, 41)]
    (job_dir / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    (job_dir / "exit_status").write_text("0\n")
    proc.kill()
    proc.wait()
    events = Monitor(backend, store).poll_once()
    assert _epochs(events) == list(range(1, 41))
    assert [e.state for e in events if e.kind == "finished"] == ["COMPLETED"]


def test_log_follow_backs_off_while_nothing_happens_and_prints_everything(setup):
    from remote.monitor import follow_output

    job_dir, store, backend, proc = setup
    output = job_dir / "slurm-L1.out"
    store.update("local", "L1", output_path=str(output))
    output.write_text("ScaleLab job L1 started\n")
    job = store.get("local", "L1")
    delays = []

    def sleep(delay_s):
        delays.append(delay_s)
        if len(delays) == 5:
            with open(output, "a") as fh:
                fh.write("epoch 1\nepoch 2 (half")
        if len(delays) == 8:
            with open(output, "a") as fh:
                fh.write(" a line)\nlast words without newline")
            (job_dir / "exit_status").write_text("0\n")
            proc.kill()
            proc.wait()

    text = b"".join(follow_output(backend, job, sleep=sleep, min_delay_s=2.0, max_delay_s=10.0)).decode()
    assert text == "ScaleLab job L1 started\nepoch 1\nepoch 2 (half a line)\nlast words without newline"
    # One look at the queue per delay: growing x1.5 while quiet, back to 2 s after new output.
    assert delays == [2.0, 3.0, 4.5, 6.75, 10.0, 2.0, 3.0, 4.5]
