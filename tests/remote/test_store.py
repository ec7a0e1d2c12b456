"""The SQLite job store: records and offsets move together, survive a reopen, never repeat."""

from __future__ import annotations

import json

import pytest

from remote.store import JobStore, StoreError, default_store_path


def test_store_path_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALELAB_DATA_DIR", str(tmp_path))
    assert default_store_path() == str(tmp_path / "jobs.sqlite")
    with JobStore() as store:
        store.add_job("p", "1")
    assert (tmp_path / "jobs.sqlite").exists()


def test_append_records_and_reopen(tmp_path):
    path = tmp_path / "jobs.sqlite"
    with JobStore(path) as store:
        job = store.add_job("hpc", "17", name="spiral", job_dir="/w/j", metrics_path="/w/j/metrics.jsonl", ntasks=2)
        assert job.active and job.state == "PENDING" and job.metrics_offset == 0
        lines = [json.dumps({"epoch": i}) for i in (1, 2)]
        assert store.append_records("hpc", "17", lines, 0, 30) == 2
        store.update("hpc", "17", state="RUNNING", started_at=5.0)
    with JobStore(path) as store:
        job = store.get("hpc", "17")
        assert (job.state, job.metrics_offset, job.n_records, job.started_at) == ("RUNNING", 30, 2, 5.0)
        assert [r["epoch"] for r in store.records("hpc", "17")] == [1, 2]
        store.append_records("hpc", "17", [json.dumps({"epoch": 3})], 30, 45)
        assert [r["epoch"] for r in store.records("hpc", "17", start=2)] == [3]


def test_stale_offset_writes_nothing(tmp_path):
    with JobStore(tmp_path / "s.sqlite") as store:
        store.add_job("p", "1")
        store.append_records("p", "1", ["a", "b"], 0, 4)
        with pytest.raises(StoreError, match="another watcher"):
            store.append_records("p", "1", ["b"], 2, 4)
        job = store.get("p", "1")
        assert (job.metrics_offset, job.n_records) == (4, 2)
        assert store.record_lines("p", "1") == ["a", "b"]


def test_a_failing_transaction_keeps_offset_and_records_together(tmp_path):
    with JobStore(tmp_path / "s.sqlite") as store:
        store.add_job("p", "1")
        with pytest.raises(Exception):
            # the second value is not text: the insert fails half-way, nothing may remain
            store.append_records("p", "1", ["ok", object()], 0, 10)
        job = store.get("p", "1")
        assert (job.metrics_offset, job.n_records) == (0, 0) and store.record_lines("p", "1") == []


def test_jobs_listing_external_and_forget(tmp_path):
    with JobStore(tmp_path / "s.sqlite") as store:
        store.add_job("a", "1", submitted_at=1.0)
        store.add_job("a", "2", submitted_at=2.0)
        store.add_job("b", "1", submitted_at=3.0)
        ext = store.watch_external("a", "999", output_path="/x/out.log")
        assert ext.kind == "external" and ext.state == "UNKNOWN" and ext.output_path == "/x/out.log"
        store.update("a", "1", active=False, state="COMPLETED")
        assert [j.job_id for j in store.jobs("a", active_only=True)] == ["999", "2"]
        assert store.get("a", "1").finished
        store.forget("a", "2")
        assert store.get("a", "2") is None
        with pytest.raises(StoreError):
            store.update("a", "1", metrics_offset=5)


def test_a_reused_job_id_replaces_the_old_entry_only_when_asked(tmp_path):
    with JobStore(tmp_path / "s.sqlite") as store:
        store.add_job("p", "1", job_dir="/old")
        store.append_records("p", "1", ["x"], 0, 2)
        store.update("p", "1", state="COMPLETED", active=False)
        assert store.add_job("p", "1", job_dir="/new").job_dir == "/old"
        fresh = store.add_job("p", "1", job_dir="/new", replace=True)
        assert (fresh.job_dir, fresh.state, fresh.active, fresh.metrics_offset, fresh.n_records) == (
            "/new", "PENDING", True, 0, 0)
        assert store.record_lines("p", "1") == []
