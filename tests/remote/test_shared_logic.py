"""The pieces of ``remote/`` that the command line and the GUI share, each on its own.

sinfo partitions, the job-id order, output tailing, fetching (its conflict check and a job
without a folder), following a job, the doctor's home, and the states as ``StrEnum``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace

import pytest

from remote.backend import LocalBackend
from remote.config import local_profile
from remote.jobs import FetchConflictError, FetchError, JobError, fetch_job, fetch_stored_job, follow_job
from remote.monitor import MonitorEvent
from remote.output import read_new_output
from remote.slurm import job_id_key, parse_sinfo, sinfo_command
from remote.states import ConnectionStatus, EventKind
from remote.store import JobStore


def test_sinfo_partitions_merge_their_node_groups():
    text = ("debug*|up|2|idle|8|infinite\n"
            "debug*|up|1|mixed|16|infinite\n"
            "gpu|up|3|allocated|32|1-00:00:00\n"
            "long|down|4|down*|8+|7-00:00:00\n"
            "this is not sinfo\n")
    warnings: list[str] = []
    debug, gpu, long = parse_sinfo(text, warnings)
    assert (debug.name, debug.label, debug.default, debug.nodes) == ("debug", "debug*", True, 3)
    assert dict(debug.node_states) == {"idle": 2, "mixed": 1} and debug.cpus_per_node == (8, 16)
    assert (gpu.name, gpu.default, gpu.nodes, gpu.cpus_per_node, gpu.time_limit) == ("gpu", False, 3, (32,),
                                                                                      "1-00:00:00")
    assert (long.available, dict(long.node_states), long.cpus_per_node) == ("down", {"down": 4}, (8,))
    assert len(warnings) == 1 and "not understood" in warnings[0]
    assert sinfo_command()[:2] == ["sinfo", "--noheader"] and "%P|%a|%D|%T|%c|%l" in sinfo_command()


def test_job_ids_sort_by_their_numbers():
    ids = ["L200-5", "120", "9", "30_10", "30", "30_2", "L31-7", "L31-40"]
    assert sorted(ids, key=job_id_key) == ["9", "30", "30_2", "30_10", "L31-7", "L31-40", "120", "L200-5"]


def test_output_is_read_on_from_the_offset_in_whole_lines(tmp_path):
    backend = LocalBackend(local_profile())
    path = tmp_path / "job.out"
    assert read_new_output(backend, str(path), None, whole_lines=True) is None  # not there yet
    path.write_bytes(b"line 1\nline 2\npartial")
    first = read_new_output(backend, str(path), None, whole_lines=True)
    assert (first.data, first.offset) == (b"line 1\nline 2\n", 14)
    with open(path, "ab") as fh:
        fh.write(b" line\n")
    second = read_new_output(backend, str(path), first.offset, whole_lines=True)
    assert (second.data, second.offset) == (b"partial line\n", 27)
    # The job has ended: the unfinished last line comes too.
    with open(path, "ab") as fh:
        fh.write(b"no newline")
    last = read_new_output(backend, str(path), second.offset, whole_lines=False)
    assert last.data == b"no newline"
    # A requeued job started the file again: read from its start (or its last bytes).
    path.write_bytes(b"again\n")
    again = read_new_output(backend, str(path), last.offset, whole_lines=True)
    assert (again.data, again.offset) == (b"again\n", 6)
    path.write_bytes(b"x" * 100 + b"\nend\n")
    tail = read_new_output(backend, str(path), None, whole_lines=True, tail_bytes=10)
    assert tail.data == b"xxxxx\nend\n" and tail.offset == 105


def test_fetch_checks_conflicts_and_copies_named_files_of_a_job_without_folder(tmp_path):
    backend = LocalBackend(local_profile())
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    (job_dir / "metrics.jsonl").write_text('{"epoch": 1}\n')
    (job_dir / "model.npz").write_bytes(b"model")
    (tmp_path / "slurm-7.out").write_text("output\n")
    (tmp_path / "training.log").write_text("epoch,loss\n0,1.0\n")
    out = tmp_path / "out"
    written = fetch_job(backend, str(job_dir), out, str(tmp_path / "slurm-7.out"))
    assert sorted(os.path.basename(p) for p in written) == ["metrics.jsonl", "model.npz", "slurm-7.out"]
    (out / "model.npz").write_bytes(b"changed")
    (out / "metrics.jsonl").write_text("changed\n")
    with pytest.raises(FetchConflictError) as caught:
        fetch_job(backend, str(job_dir), out, str(tmp_path / "slurm-7.out"))
    assert caught.value.out_dir == str(out)
    assert sorted(os.path.basename(p) for p in caught.value.conflicts) == ["metrics.jsonl", "model.npz"]
    assert "--force" not in str(caught.value)  # each front end says how to go on
    assert (out / "model.npz").read_bytes() == b"changed"  # nothing was replaced
    fetch_job(backend, str(job_dir), out, str(tmp_path / "slurm-7.out"), overwrite=True)
    assert (out / "model.npz").read_bytes() == b"model"

    # A followed job SLURM forgot: no folder, but its output and a metrics file the user named.
    with JobStore(":memory:") as store:
        job = store.watch_external("hpc", "7", output_path=str(tmp_path / "slurm-7.out"),
                                   metrics_path=str(tmp_path / "training.log"))
        other = tmp_path / "other"
        written = fetch_stored_job(backend, job, other)
        assert sorted(os.path.basename(p) for p in written) == ["slurm-7.out", "training.log"]
        empty = store.watch_external("hpc", "8")
        with pytest.raises(FetchError, match="names no job folder"):
            fetch_stored_job(backend, empty, other)


def test_following_on_the_local_profile_knows_only_its_own_jobs(tmp_path):
    profile = replace(local_profile(), workdir=str(tmp_path), python=sys.executable)
    backend = LocalBackend(profile)
    with JobStore(":memory:") as store:
        with pytest.raises(JobError, match="only its own jobs"):
            follow_job(backend, store, "L1-2")
        store.add_job("local", "L1-2", job_dir=str(tmp_path))
        assert follow_job(backend, store, "L1-2").job_dir == str(tmp_path)
        with pytest.raises(JobError, match="not a job id"):
            follow_job(backend, store, "12; rm -rf /")


def test_the_doctor_has_one_home():
    import remote.cli
    import remote.doctor

    assert remote.cli.doctor_checks is remote.doctor.doctor_checks


def test_states_are_str_enums_equal_to_the_stored_words():
    assert [s.value for s in ConnectionStatus] == ["local", "disconnected", "connecting", "connected",
                                                   "reconnecting", "error"]
    assert ConnectionStatus.CONNECTED == "connected" and f"{ConnectionStatus.ERROR}" == "error"
    assert [k.value for k in EventKind] == ["state", "records", "finished", "connection", "warning"]
    event = MonitorEvent("records", "hpc", "7")
    assert event.kind is EventKind.RECORDS and event.kind == "records"
    with pytest.raises(ValueError):
        MonitorEvent("recrods", "hpc", "7")


def test_a_followed_job_that_ended_without_metrics_file_is_read_from_its_output(tmp_path):
    """What ``follow_job`` records (folder's metrics.jsonl) and what the job wrote (Keras lines) meet."""
    from remote.logparse import parse_metrics_file
    from remote.monitor import Monitor

    sample = os.path.join(os.path.dirname(__file__), "data", "keras-logs", "keras2-acc-lr.out")
    job_dir = tmp_path / "their-job"
    job_dir.mkdir()
    output = job_dir / "slurm-9.out"
    output.write_bytes(open(sample, "rb").read())
    (job_dir / "exit_status").write_text("0\n")  # the local scheduler's record that it ended
    backend = LocalBackend(replace(local_profile(), workdir=str(tmp_path)))
    with JobStore(":memory:") as store:
        store.watch_external("local", "L9-1", output_path=str(output), metrics_path=f"{job_dir}/metrics.jsonl")
        store.update("local", "L9-1", job_dir=str(job_dir))
        events = Monitor(backend, store).poll_once()
        job = store.get("local", "L9-1")
        assert job.state == "COMPLETED" and job.metrics_path == str(output)
        assert [e.kind for e in events if e.kind == EventKind.RECORDS] == [EventKind.RECORDS]
        records = parse_metrics_file(os.path.basename(job.metrics_path),
                                     "\n".join(store.record_lines("local", "L9-1")) + "\n")
        assert [r["epoch"] for r in records] == [1, 2, 3]
        # A job whose folder has its metrics.jsonl keeps it.
        (job_dir / "metrics.jsonl").write_text('{"epoch": 1}\n')
        store.watch_external("local", "L9-2", output_path=str(output), metrics_path=f"{job_dir}/metrics.jsonl")
        store.update("local", "L9-2", job_dir=str(job_dir))
        Monitor(backend, store).poll_once()
        assert store.get("local", "L9-2").metrics_path == f"{job_dir}/metrics.jsonl"
        assert store.records("local", "L9-2") == [{"epoch": 1}]
