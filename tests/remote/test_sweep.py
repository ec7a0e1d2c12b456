"""Scaling sweeps: the table's arithmetic, bad requests, real sweeps with the local profile, --resume."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from remote.config import Profile, local_profile
from remote.store import JobStore
from remote.sweep import (
    ROW_KEYS, SweepInputError, SweepPlan, SweepRun, SweepState, amdahl_speedup, fit_serial_fraction, format_table,
    make_plan, parse_counts, scaling_rows, summarize_records, table_csv,
)
from tests.conftest import ROOT, require
from tests.remote.test_local_jobs import _mpi_ready

SPEC = {"dataset": {"kind": "spiral", "n_samples": 2000, "seed": 2}, "model": {"kind": "mlp", "hidden": [16]},
        "train": {"epochs": 4, "batch_size": 40, "seed": 1}}


def _rec(epoch, samples_per_s, compute_s, comm_s, **extra):
    return {"epoch": epoch, "step": epoch * 10, "train_loss": 0.5, "samples_per_s": samples_per_s,
            "compute_s": compute_s, "comm_s": comm_s, "ranks": 2, **extra}


# ----------------------------------------------------------------------------- one run's figures


def test_a_runs_rate_is_its_samples_over_its_time_without_the_first_epoch():
    records = [_rec(1, 10.0, 5.0, 5.0),  # slow first epoch: left out
               _rec(2, 1000.0, 1.5, 0.5),  # 2000 samples in 2 s
               _rec(3, 500.0, 3.0, 1.0)]  # 2000 samples in 4 s
    fig = summarize_records(records)
    assert fig["epochs"] == 2
    assert fig["samples_per_s"] == pytest.approx(4000 / 6)
    assert fig["compute_s"] == pytest.approx(2.25) and fig["comm_s"] == pytest.approx(0.75)
    assert fig["wait_s"] is None and fig["rank_compute_s"] is None and fig["warnings"] == []
    # A single epoch is all there is.
    assert summarize_records(records[:1])["samples_per_s"] == pytest.approx(10.0)
    assert summarize_records([])["samples_per_s"] is None


def test_per_rank_times_samples_and_warnings_come_from_the_records_when_present():
    records = [_rec(1, 1.0, 9, 9, epoch_time_s=20.0, samples=20.0),
               _rec(2, 0.0, 0, 0, epoch_time_s=2.0, samples=3000.0, rank_compute_s=[1.0, 1.4], rank_comm_s=[0.5, 0.3],
                    rank_wait_s=[0.4, 0.0], warnings=["disk almost full"]),
               _rec(3, 0.0, 0, 0, epoch_time_s=4.0, samples=3000.0, rank_compute_s=[3.0, 1.4], rank_comm_s=[0.5, 0.7],
                    rank_wait_s=[0.0, 0.2], warnings=["disk almost full"])]
    fig = summarize_records(records)
    assert fig["samples_per_s"] == pytest.approx(6000 / 6)
    assert fig["rank_compute_s"] == pytest.approx([2.0, 1.4])
    assert fig["rank_comm_s"] == pytest.approx([0.5, 0.5])
    assert fig["rank_wait_s"] == pytest.approx([0.2, 0.1])
    assert fig["compute_s"] == pytest.approx(1.7) and fig["wait_s"] == pytest.approx(0.15)
    # epoch 3: rank 0 computed 3.0 s against a median of 2.2 s (36% more); the other warning once
    assert fig["warnings"] == ["rank 0 was a straggler in 1 of 2 epochs (36% slower than the median rank): every "
                               "other rank waits for it", "disk almost full"]


def test_a_rank_straggling_in_several_epochs_is_one_sentence_not_one_per_epoch():
    from engine.timeline import straggler_warnings

    times = [[1.0, 1.3, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [1.0, 1.25, 1.0, 1.0], [2.0, 2.5, 2.0, 2.0]]
    records = [_rec(0, 0.0, 0, 0, epoch_time_s=1.0, samples=100.0, rank_compute_s=[9.0, 1.0, 1.0, 1.0],
                    warnings=straggler_warnings([9.0, 1.0, 1.0, 1.0]))]  # the first epoch is not counted
    records += [_rec(i + 1, 0.0, 0, 0, epoch_time_s=1.0, samples=100.0, rank_compute_s=t, rank_comm_s=[0.1] * 4,
                     warnings=straggler_warnings(t)) for i, t in enumerate(times)]
    assert sum(len(r["warnings"]) for r in records) == 4  # as the engine writes them: one per epoch
    assert summarize_records(records)["warnings"] == [
        "rank 1 was a straggler in 3 of 4 epochs (25-30% slower than the median rank): every other rank waits for it"]


# ----------------------------------------------------------------------------- the table


def _plan(ranks, mode="strong", repeat=1, batch=64):
    return SweepPlan(spec_path="/x.json", spec_sha256="0", profile="local", mode=mode, ranks=tuple(ranks),
                     nodes=(1,) * len(ranks), repeat=repeat, base_batch=batch)


def _done(ranks, rate, repeat=0, **figures):
    return SweepRun(ranks=ranks, nodes=1, repeat=repeat, job_id=f"L{ranks}{repeat}", state="COMPLETED",
                    figures={"samples_per_s": rate, "compute_s": 1.0, "comm_s": 0.1, "wait_s": None, **figures})


def test_speedup_is_the_rate_over_the_one_rank_rate_and_efficiency_the_speedup_over_ranks():
    plan = _plan([1, 2, 4])
    rows = scaling_rows(plan, [_done(1, 100.0), _done(2, 180.0), _done(4, 300.0)])
    assert [r["ranks"] for r in rows] == [1, 2, 4]
    assert [r["speedup"] for r in rows] == pytest.approx([1.0, 180 / 100, 300 / 100])
    assert [r["efficiency"] for r in rows] == pytest.approx([1.0, 1.8 / 2, 3.0 / 4])
    assert [r["per_rank_samples_per_s"] for r in rows] == pytest.approx([100, 90, 75])
    assert all(set(ROW_KEYS) <= set(r) for r in rows)
    # Rows missing their base have no speedup yet; unfinished runs are no rows.
    rows = scaling_rows(plan, [_done(2, 180.0), SweepRun(ranks=1, nodes=1, repeat=0, state="FAILED")])
    assert len(rows) == 1 and rows[0]["speedup"] is None and rows[0]["efficiency"] is None


def test_repeats_are_combined_by_their_median_and_a_base_above_one_counts_as_its_ranks():
    plan = _plan([2, 4], repeat=3)
    runs = [_done(2, 90.0, 0), _done(2, 100.0, 1), _done(2, 400.0, 2), _done(4, 150.0, 0), _done(4, 170.0, 1),
            SweepRun(ranks=4, nodes=1, repeat=2, state="FAILED")]
    rows = scaling_rows(plan, runs)
    assert rows[0]["samples_per_s"] == 100.0 and rows[0]["runs"] == 3
    assert rows[1]["samples_per_s"] == 160.0 and rows[1]["runs"] == 2
    assert rows[0]["speedup"] == pytest.approx(2.0)
    assert rows[1]["speedup"] == pytest.approx(2 * 160 / 100) and rows[1]["efficiency"] == pytest.approx(3.2 / 4)


def test_weak_scaling_grows_the_global_batch_strong_keeps_it():
    assert [_plan([1, 2, 4], "weak", batch=32).global_batch(r) for r in (1, 2, 4)] == [32, 64, 128]
    assert [_plan([2, 4], "weak", batch=32).global_batch(r) for r in (2, 4)] == [32, 64]
    assert [_plan([1, 2, 4], "strong", batch=32).global_batch(r) for r in (1, 2, 4)] == [32, 32, 32]


def test_amdahl_fit_recovers_the_serial_fraction_and_matches_the_closed_form_least_squares():
    n = np.array([2.0, 4.0, 8.0, 16.0])
    assert fit_serial_fraction(n, amdahl_speedup(0.1, n)) == pytest.approx(0.1)
    assert fit_serial_fraction([1, 2, 4], [1.0, 2.0, 4.0]) == pytest.approx(0.0)
    measured = np.array([1.7, 2.9, 4.1, 5.0])
    x, y = 1 - 1 / n, 1 / measured - 1 / n
    closed = float(x @ y / (x @ x))
    assert fit_serial_fraction(n, measured) == pytest.approx(closed)
    # the fitted curve passes exactly through a single point
    f = fit_serial_fraction([1, 4], [1.0, 3.0])
    assert amdahl_speedup(f, 4) == pytest.approx(3.0)
    assert fit_serial_fraction([1], [1.0]) is None


def test_missing_figures_show_as_a_dash_and_empty_csv_cells():
    rows = scaling_rows(_plan([1, 2]), [_done(1, 100.0), _done(2, 150.0)])
    text = format_table(rows)
    assert "—" in text.splitlines()[1] and "75%" in text.splitlines()[2]
    read = list(csv.DictReader(table_csv(rows).splitlines()))
    assert read[1]["wait_s"] == "" and float(read[1]["speedup"]) == pytest.approx(1.5)
    assert list(read[0]) == list(ROW_KEYS)


# ----------------------------------------------------------------------------- bad requests


@pytest.mark.parametrize("text, words", [("1,x", "'x' is not a whole number"), ("0,2", "0 is below 1"),
                                         ("1,-2", "-2 is below 1"), ("", "empty"), ("1,2,2", "twice"),
                                         ("1.5", "'1.5' is not a whole number")])
def test_rank_lists_that_are_not_counts_are_refused(text, words):
    with pytest.raises(SweepInputError, match=words):
        parse_counts(text, "ranks")


def test_plans_that_cannot_run_are_refused_naming_the_problem(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    ssh = Profile(name="c", host="h")
    with pytest.raises(SweepInputError, match="2 nodes for 1 rank"):
        make_plan(spec, ssh, [1, 2], [2])
    with pytest.raises(SweepInputError, match="3 ranks do not divide evenly over 2 nodes"):
        make_plan(spec, ssh, [3], [2])
    with pytest.raises(SweepInputError, match="local profile is one computer"):
        make_plan(spec, local_profile(), [2], [2])
    with pytest.raises(SweepInputError, match="3 ranks do not divide it evenly"):
        make_plan(spec, ssh, [1, 3])
    with pytest.raises(SweepInputError, match="gives 2 counts for 3 rank counts"):
        make_plan(spec, ssh, [1, 2, 4], [1, 2])
    plan = make_plan(spec, ssh, [2, 4], [1, 2], mode="weak")
    assert plan.nodes == (1, 2) and plan.global_batch(4) == 80
    svm = tmp_path / "svm.json"
    svm.write_text(json.dumps({**SPEC, "model": {"kind": "svm"}}))
    with pytest.raises(SweepInputError, match="does not train data-parallel"):
        make_plan(svm, ssh, [1])


def _cli(tmp_path, *args, timeout=300):
    env = {**os.environ, "SCALELAB_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "remote", "--config", str(tmp_path / "profiles.toml"),
                           "--store", str(tmp_path / "jobs.sqlite"), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout)


@pytest.fixture
def sweep_env(tmp_path):
    (tmp_path / "profiles.toml").write_text(f'[profiles.local]\nworkdir = "{tmp_path / "work"}"\n'
                                            f'python = "{sys.executable}"\n')
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    return tmp_path, spec


@pytest.mark.parametrize("args, words", [
    (["--ranks", "0,1"], "--ranks: 0 is below 1"),
    (["--ranks", "1,two"], "'two' is not a whole number"),
    (["--ranks", "1,2", "--nodes", "1,4"], "4 nodes for 2 ranks"),
    (["--ranks", "1,3"], "3 ranks do not divide it evenly"),
    (["--ranks", "1,2", "--repeat", "0"], "--repeat 0 is below 1"),
    (["--ranks", "1", "--mode", "sideways"], "invalid choice"),
])
def test_bad_sweep_requests_are_one_line_exit_2_and_nothing_is_submitted(sweep_env, args, words):
    tmp, spec = sweep_env
    out = _cli(tmp, "sweep", "--profile", "local", str(spec), *args)
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and words in out.stderr and out.stderr.startswith("error:")
    assert not (tmp / "work").exists() and not (tmp / "data" / "sweeps").exists()
    if (tmp / "jobs.sqlite").exists():
        with JobStore(tmp / "jobs.sqlite") as store:
            assert store.jobs() == []


def test_resume_of_a_folder_without_a_sweep_is_one_line(sweep_env):
    tmp, _ = sweep_env
    out = _cli(tmp, "sweep", "--resume", str(tmp))
    assert out.returncode == 2 and "holds no sweep" in out.stderr and len(out.stderr.splitlines()) == 1


# ----------------------------------------------------------------------------- real sweeps


def _rate_by_hand(metrics_path):
    records = [json.loads(line) for line in open(metrics_path)][1:]
    times = [r["compute_s"] + r["comm_s"] for r in records]
    return sum(r["samples_per_s"] * t for r, t in zip(records, times)) / sum(times)


@pytest.mark.mpi
def test_a_local_sweep_on_one_and_two_ranks_writes_the_table_from_its_jobs(sweep_env):
    require(_mpi_ready(), "mpirun and mpi4py are needed for 2 local ranks")
    tmp, spec = sweep_env
    out = _cli(tmp, "sweep", "--profile", "local", str(spec), "--ranks", "1,2", "--out", str(tmp / "sw"))
    assert out.returncode == 0, out.stderr
    folder = out.stdout.strip().splitlines()[-1]
    assert folder == str(tmp / "sw")
    assert "submitted" in out.stderr and "COMPLETED" in out.stderr
    table = json.load(open(os.path.join(folder, "scaling.json")))
    rows = table["rows"]
    assert [r["ranks"] for r in rows] == [1, 2] and table["aggregate"] == "median"
    with JobStore(tmp / "jobs.sqlite") as store:
        jobs = {j.job_id: j for j in store.jobs("local")}
        assert len(jobs) == 2 and all(j.state == "COMPLETED" for j in jobs.values())
        for row in rows:
            (job_id,) = row["job_ids"]
            assert f"job {job_id}" in out.stderr
            job_dir = jobs[job_id].job_dir
            assert json.load(open(os.path.join(job_dir, "spec.json")))["train"]["batch_size"] == 40
            assert json.load(open(os.path.join(job_dir, "result.json")))["ranks"] == row["ranks"]
            assert row["samples_per_s"] == pytest.approx(_rate_by_hand(os.path.join(job_dir, "metrics.jsonl")))
    r1, r2 = rows
    assert r2["speedup"] == pytest.approx(r2["samples_per_s"] / r1["samples_per_s"])
    assert r2["efficiency"] == pytest.approx(r2["speedup"] / 2)
    assert r1["comm_s"] == 0 and r2["comm_s"] > 0
    assert r2["wait_s"] is None or r2["wait_s"] >= 0  # per-rank wait times only where the engine records them
    read = list(csv.DictReader(open(os.path.join(folder, "scaling.csv"))))
    assert [int(r["ranks"]) for r in read] == [1, 2]
    assert float(read[1]["speedup"]) == pytest.approx(r2["speedup"])
    # The printed table has the same figures.
    assert f"{r1['samples_per_s']:.0f}" in out.stdout


@pytest.mark.mpi
def test_a_weak_sweep_grows_the_global_batch_with_the_ranks(sweep_env):
    require(_mpi_ready(), "mpirun and mpi4py are needed for 2 local ranks")
    tmp, spec = sweep_env
    out = _cli(tmp, "sweep", "--profile", "local", str(spec), "--ranks", "1,2", "--mode", "weak")
    assert out.returncode == 0, out.stderr
    rows = json.load(open(os.path.join(out.stdout.strip().splitlines()[-1], "scaling.json")))["rows"]
    assert [r["global_batch"] for r in rows] == [40, 80]
    with JobStore(tmp / "jobs.sqlite") as store:
        batches = sorted(json.load(open(os.path.join(j.job_dir, "spec.json")))["train"]["batch_size"]
                         for j in store.jobs("local"))
    assert batches == [40, 80]


@pytest.mark.mpi
def test_an_interrupted_sweep_keeps_its_rows_and_resume_runs_only_the_missing_ones(sweep_env):
    require(_mpi_ready(), "mpirun and mpi4py are needed for 2 local ranks")
    tmp, spec = sweep_env
    long_spec = {**SPEC, "dataset": {**SPEC["dataset"], "n_samples": 20000}, "train": {**SPEC["train"], "epochs": 3}}
    spec.write_text(json.dumps(long_spec))
    env = {**os.environ, "SCALELAB_DATA_DIR": str(tmp / "data"), "PYTHONPATH": ROOT}
    folder = tmp / "sw"
    proc = subprocess.Popen([sys.executable, "-m", "remote", "--config", str(tmp / "profiles.toml"), "--store",
                             str(tmp / "jobs.sqlite"), "sweep", "--profile", "local", str(spec), "--ranks", "1,2",
                             "--out", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=ROOT)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("[2/2] job") and "submitted" in line:
            proc.send_signal(signal.SIGINT)
            break
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(seen) + stderr
    assert stdout.strip().splitlines()[-1] == str(folder)
    assert "--resume" in stderr
    state = json.load(open(folder / "sweep.json"))
    first, second = state["runs"]
    assert first["state"] == "COMPLETED" and second["state"] == "CANCELLED"
    rows = json.load(open(folder / "scaling.json"))["rows"]
    assert [r["ranks"] for r in rows] == [1]

    out = _cli(tmp, "sweep", "--resume", str(folder))
    assert out.returncode == 0, out.stderr
    assert "1 finished run(s) kept, 1 to run" in out.stderr
    assert f"job {first['job_id']}" not in out.stderr  # the finished run is not run again
    state = json.load(open(folder / "sweep.json"))
    assert state["runs"][0]["job_id"] == first["job_id"]
    assert state["runs"][1]["state"] == "COMPLETED" and state["runs"][1]["job_id"] != second["job_id"]
    rows = json.load(open(folder / "scaling.json"))["rows"]
    assert [r["ranks"] for r in rows] == [1, 2]
    assert rows[1]["speedup"] == pytest.approx(rows[1]["samples_per_s"] / rows[0]["samples_per_s"])
    with JobStore(tmp / "jobs.sqlite") as store:
        assert len(store.jobs("local")) == 3
    # A finished sweep resumed again submits nothing.
    again = _cli(tmp, "sweep", "--resume", str(folder))
    assert again.returncode == 0 and "0 to run" in again.stderr


def test_a_resumed_sweep_refuses_a_changed_spec(sweep_env):
    tmp, spec = sweep_env
    plan = make_plan(spec, local_profile(), [1, 2])
    state = SweepState.create(plan, str(tmp / "sw"))
    assert SweepState.load(state.folder).plan == plan
    spec.write_text(json.dumps({**SPEC, "train": {**SPEC["train"], "epochs": 9}}))
    with pytest.raises(SweepInputError, match="changed since the sweep started"):
        SweepState.load(state.folder)
    with pytest.raises(SweepInputError, match="already holds a sweep"):
        SweepState.create(plan, state.folder)


def test_a_failed_job_keeps_the_sweep_going_and_the_exit_status_is_1(sweep_env):
    tmp, spec = sweep_env
    (tmp / "bad.csv").write_text("a,b,label\n1,2,x\nfoo,bar\n")
    bad = tmp / "bad.json"
    bad.write_text(json.dumps({"dataset": {"kind": "csv", "path": "bad.csv"}, "model": {"kind": "mlp", "hidden": [4]},
                               "train": {"epochs": 2, "batch_size": 4}}))
    out = _cli(tmp, "sweep", "--profile", "local", str(bad), "--ranks", "1", "--out", str(tmp / "sw"))
    assert out.returncode == 1, out.stderr
    assert out.stdout.strip().splitlines()[-1] == str(tmp / "sw") and "no run finished yet" in out.stdout
    assert "not every job completed" in out.stderr and "FAILED" in out.stderr and "remote log" in out.stderr
    state = json.load(open(tmp / "sw" / "sweep.json"))
    assert [r["state"] for r in state["runs"]] == ["FAILED"]
    assert json.load(open(tmp / "sw" / "scaling.json"))["rows"] == []
    assert open(tmp / "sw" / "scaling.csv").read().splitlines() == [",".join(ROW_KEYS)]
