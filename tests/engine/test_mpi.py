"""Data parallelism: the share arithmetic, and 2 ranks under mpirun equal 1 rank."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from engine.parallel import (ParallelError, SerialComm, batch_shares, launcher_size, local_mpirun,
                             mpirun_unavailable, split_range, world_comm)
from engine.model_io import load_model
from tests.conftest import ROOT, require


@pytest.mark.parametrize("n, batch, size", [(20, 7, 2), (20, 7, 3), (5, 16, 4), (100, 10, 1), (9, 2, 3)])
def test_batch_shares_cover_every_row_once(n, batch, size):
    per_rank = [batch_shares(n, batch, size, r) for r in range(size)]
    all_positions = np.sort(np.concatenate([p for p, _ in per_rank]))
    np.testing.assert_array_equal(all_positions, np.arange(n))
    n_batches = -(-n // batch)
    for b in range(n_batches):
        sizes = [hi - lo for _, batches in per_rank for lo, hi, _ in [batches[b]]]
        globals_ = {batches[b][2] for _, batches in per_rank}
        assert len(globals_) == 1 and sum(sizes) == globals_.pop()
        assert max(sizes) - min(sizes) <= 1
        # each rank's rows of a batch are a contiguous piece of that global batch
        for positions, batches in per_rank:
            lo, hi, _ = batches[b]
            rows = positions[lo:hi]
            if rows.size:
                assert np.all(np.diff(rows) == 1)
                assert b * batch <= rows[0] and rows[-1] < (b + 1) * batch


def test_split_range():
    parts = [split_range(10, 3, r) for r in range(3)]
    assert parts == [(0, 4), (4, 7), (7, 10)]


def test_no_launcher_means_one_rank_without_mpi():
    assert launcher_size({}) == 1
    assert isinstance(world_comm({}), SerialComm)
    assert launcher_size({"OMPI_COMM_WORLD_SIZE": "4"}) == 4
    assert launcher_size({"SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "3"}) == 3
    assert launcher_size({"SLURM_NTASKS": "3"}) == 1  # inside sbatch but not srun: one process


def test_announced_ranks_without_a_matching_mpi_world_is_an_error():
    if importlib.util.find_spec("mpi4py") is None:
        with pytest.raises(ParallelError, match="mpi4py is not installed"):
            world_comm({"OMPI_COMM_WORLD_SIZE": "2"})
        return
    # In a plain process MPI's world has 1 rank, not the 2 announced.
    code = ("from engine.parallel import world_comm, ParallelError\n"
            "try:\n    world_comm({'PMI_SIZE': '2'})\nexcept ParallelError as e:\n    print('refused:', e)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert "refused: the launcher announced 2 ranks but MPI sees 1" in proc.stdout, proc.stderr


SPEC = {
    "dataset": {"kind": "spiral", "n_samples": 160, "noise": 0.1, "seed": 1, "test_fraction": 0.25},
    "features": ["x1", "x2", "sin(x1)", "sin(x2)"],
    "model": {"kind": "mlp", "hidden": [8, 6], "activation": ["tanh", "relu"]},
    # 120 training rows in global batches of 7: shares of 4 and 3, and a last batch of 1
    # where one rank has nothing to contribute.
    "train": {"epochs": 6, "batch_size": 7, "optimizer": "adam", "learning_rate": 0.01, "dtype": "float64",
              "l2": 0.001},
}


def _mpirun(tmp_path, spec_path, out, reduction_env, extra_ranks=None, timeout=180, ranks=2):
    """``mpirun -n RANKS python -m engine train`` (or a 2-rank MPMD line with ``extra_ranks``)."""
    require(mpirun_unavailable() is None, "needs mpirun (Open MPI) and mpi4py")
    env = dict(os.environ, PYTHONPATH=ROOT, TMPDIR=str(tmp_path), OMPI_MCA_rmaps_base_oversubscribe="1",
               **reduction_env)
    train = ["train", str(spec_path), "--out", str(out), "--verbose"]
    if extra_ranks is None:
        cmd = local_mpirun(ranks) + [sys.executable, "-m", "engine", *train]
    else:
        cmd = local_mpirun(1) + [sys.executable, "-m", "engine", *train, ":", "-n", "1", *extra_ranks, *train]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    proc.wall_s = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _one_rank(tmp_path, spec_path):
    """``python -m engine train`` on one rank into ``tmp_path/one``."""
    env = dict(os.environ, PYTHONPATH=ROOT, TMPDIR=str(tmp_path))
    one = subprocess.run([sys.executable, "-m", "engine", "train", str(spec_path), "--out", str(tmp_path / "one")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert one.returncode == 0, one.stderr


def _records(folder):
    return [json.loads(x) for x in (folder / "metrics.jsonl").read_text().splitlines()]


def _check_timeline(rec, ranks):
    """The per-rank timeline: one entry per rank, none negative; rank 0's parts add up to
    the record's epoch time. (Another rank's epoch may be longer than rank 0's: its first
    step waits while rank 0 writes the previous record; :func:`_check_run_wall` bounds it.)"""
    for key in ("rank_compute_s", "rank_comm_s", "rank_wait_s"):
        assert len(rec[key]) == ranks and all(v >= 0 for v in rec[key]), (key, rec[key])
    wall = rec["epoch_time_s"]
    totals = [c + m + w for c, m, w in zip(rec["rank_compute_s"], rec["rank_comm_s"], rec["rank_wait_s"])]
    assert totals[0] == pytest.approx(wall, rel=1e-9)
    assert rec["rank_compute_s"][0] == pytest.approx(rec["compute_s"], rel=1e-9)
    assert rec["rank_comm_s"][0] + rec["rank_wait_s"][0] == pytest.approx(rec["comm_s"], rel=1e-9)
    assert rec["samples_per_s"] == pytest.approx(rec["samples"] / wall, rel=1e-9)


def _check_run_wall(records, wall_s):
    """Every rank's compute + communication + wait over all epochs fits in the run's wall time."""
    ranks = len(records[0]["rank_compute_s"])
    for r in range(ranks):
        total = sum(rec["rank_compute_s"][r] + rec["rank_comm_s"][r] + rec["rank_wait_s"][r] for rec in records)
        assert 0 < total <= wall_s, (r, total, wall_s)


#: the reductions a 2-rank run can use: in node shared memory with a sharded optimizer
#: step (the default on one node), and with MPI messages: overlapped with every tensor on
#: its own, with small tensors fused (bucket threshold 200 bytes), and one blocking Allreduce
REDUCTIONS = {
    # 108 parameters: 54 per rank
    "shared-memory": ({}, "node shared memory, no messages: each of the 2 ranks sums the gradients of its 54 of "
                          "the 108 parameters"),
    "overlapped-per-tensor": ({"SCALELAB_SHARED_MEMORY": "0", "SCALELAB_OVERLAP": "1", "SCALELAB_FUSION_BYTES": "0"},
                              "7 bucketed Iallreduce"),
    "overlapped-fused": ({"SCALELAB_SHARED_MEMORY": "0", "SCALELAB_OVERLAP": "1", "SCALELAB_FUSION_BYTES": "200"},
                         "3 bucketed Iallreduce"),
    # 108 gradients, the stop flag and each rank's arrival time
    "blocking": ({"SCALELAB_SHARED_MEMORY": "0", "SCALELAB_OVERLAP": "0"}, "one blocking Allreduce of 111 values"),
}


@pytest.mark.parametrize("reduction", list(REDUCTIONS))
def test_two_ranks_under_mpirun_match_one_rank(tmp_path, reduction):
    env_vars, described = REDUCTIONS[reduction]
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(SPEC))
    _one_rank(tmp_path, spec_path)
    two = _mpirun(tmp_path, spec_path, tmp_path / "two", env_vars)
    # the reduction asked for is the one that ran, on both ranks
    for rank in (0, 1):
        assert f"rank {rank}: gradient reduction: {described}" in two.stderr
    rec1 = _records(tmp_path / "one")
    rec2 = _records(tmp_path / "two")
    assert [r["ranks"] for r in rec2] == [2] * 6  # really ran on 2 MPI ranks
    assert all(r["comm_s"] > 0 for r in rec2)
    for r in rec2:
        _check_timeline(r, 2)
        assert r["samples"] == 120
    _check_run_wall(rec2, two.wall_s)
    for r in rec1:
        _check_timeline(r, 1)
    assert len(rec1) == len(rec2) == 6
    for a, b in zip(rec1, rec2):
        assert a["step"] == b["step"]
        for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
            assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12)
    with np.load(tmp_path / "one" / "model.npz", allow_pickle=False) as z1, \
            np.load(tmp_path / "two" / "model.npz", allow_pickle=False) as z2:
        for i in range(3):
            np.testing.assert_allclose(z2[f"W{i}"], z1[f"W{i}"], atol=1e-5, rtol=0)
            np.testing.assert_allclose(z2[f"b{i}"], z1[f"b{i}"], atol=1e-5, rtol=0)
            assert not np.array_equal(z1[f"W{i}"], np.zeros_like(z1[f"W{i}"]))
    # only rank 0 wrote: one record per epoch, not two
    assert json.loads((tmp_path / "two" / "result.json").read_text())["ranks"] == 2


def test_three_ranks_share_the_optimizer_step_and_match_one_rank(tmp_path):
    # 108 parameters in shards of 36; each shard sums three ranks' gradients in rank order.
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(SPEC))
    _one_rank(tmp_path, spec_path)
    three = _mpirun(tmp_path, spec_path, tmp_path / "three", {}, ranks=3)
    for rank in range(3):
        assert (f"rank {rank}: gradient reduction: node shared memory, no messages: each of the 3 ranks sums the "
                f"gradients of its 36 of the 108 parameters") in three.stderr
    rec1, rec3 = _records(tmp_path / "one"), _records(tmp_path / "three")
    assert [r["ranks"] for r in rec3] == [3] * 6
    for a, b in zip(rec1, rec3, strict=True):
        for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
            assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12)
        _check_timeline(b, 3)
    with np.load(tmp_path / "one" / "model.npz", allow_pickle=False) as z1, \
            np.load(tmp_path / "three" / "model.npz", allow_pickle=False) as z3:
        for i in range(3):
            np.testing.assert_allclose(z3[f"W{i}"], z1[f"W{i}"], atol=1e-9, rtol=0)


def test_sigterm_to_mpirun_stops_every_rank_at_the_same_step(tmp_path):
    mpirun = shutil.which("mpirun")
    require(mpirun is not None and importlib.util.find_spec("mpi4py") is not None,
            "needs mpirun (Open MPI) and mpi4py")
    import signal

    spec = json.loads(json.dumps(SPEC))
    spec["train"]["epochs"] = 10_000_000
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=ROOT, TMPDIR=str(tmp_path))
    cmd = [mpirun, "-n", "2"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    cmd += ["--oversubscribe", sys.executable, "-m", "engine", "train", str(spec_path), "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        metrics = out / "metrics.jsonl"
        while time.time() < deadline and not (metrics.exists() and len(metrics.read_text().splitlines()) >= 3):
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)  # a rank left behind in Allreduce would hang here
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "stopped"
    assert result["ranks"] == 2
    _, _, net = load_model(out / "model.npz")
    assert np.all(np.isfinite(net.params))


DROPOUT_SPEC = json.loads(json.dumps(SPEC))
DROPOUT_SPEC["train"]["dropout"] = 0.2


def test_overlapped_and_shared_reductions_of_unplanned_steps_match_the_blocking_one(tmp_path):
    # Dropout steps run through Network.train_batch (no step plan): its layer hook starts
    # the buckets. Both runs draw the same masks per rank, so only the reduction differs.
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(DROPOUT_SPEC))
    _mpirun(tmp_path, spec_path, tmp_path / "blocking", REDUCTIONS["blocking"][0])
    fused = _mpirun(tmp_path, spec_path, tmp_path / "overlapped", REDUCTIONS["overlapped-fused"][0])
    assert "gradient reduction: 3 bucketed Iallreduce" in fused.stderr
    shared = _mpirun(tmp_path, spec_path, tmp_path / "shared", REDUCTIONS["shared-memory"][0])
    assert "gradient reduction: node shared memory" in shared.stderr
    for other in ("overlapped", "shared"):
        for a, b in zip(_records(tmp_path / "blocking"), _records(tmp_path / other), strict=True):
            for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
                assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12)
        with np.load(tmp_path / "blocking" / "model.npz", allow_pickle=False) as z1, \
                np.load(tmp_path / other / "model.npz", allow_pickle=False) as z2:
            for i in range(3):
                np.testing.assert_allclose(z2[f"W{i}"], z1[f"W{i}"], atol=1e-9, rtol=0)


STRAGGLER_SLEEP_S = 0.01


@pytest.mark.parametrize("reduction", ["shared-memory", "overlapped-fused", "blocking"])
def test_a_slow_rank_is_named_a_straggler_and_the_other_waits_for_it(tmp_path, reduction):
    # Rank 1 runs through tests/engine/straggler_rank.py, which adds a sleep to every
    # optimizer step of that process only (MPMD mpirun): no hook in the product.
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(SPEC))
    helper = os.path.join(ROOT, "tests", "engine", "straggler_rank.py")
    run = _mpirun(tmp_path, spec_path, tmp_path / "run",
                  dict(REDUCTIONS[reduction][0], STRAGGLER_SLEEP_S=str(STRAGGLER_SLEEP_S)),
                  extra_ranks=[sys.executable, helper])
    records = _records(tmp_path / "run")
    assert len(records) == 6
    _check_run_wall(records, run.wall_s)
    steps = 18  # 120 rows in batches of 7
    for rec in records:
        _check_timeline(rec, 2)
        compute, wait = rec["rank_compute_s"], rec["rank_wait_s"]
        # rank 1 slept 10 ms in each of its 18 steps
        assert compute[1] >= steps * STRAGGLER_SLEEP_S
        assert compute[1] > compute[0]
        # ... and rank 0 waited for it at the reduction of every step but the first
        assert wait[0] >= 0.5 * (steps - 1) * STRAGGLER_SLEEP_S
        assert wait[0] > wait[1]
        assert len(rec["warnings"]) == 1
        assert rec["warnings"][0].startswith("rank 1 is ")
        assert "slower than the median rank (compute " in rec["warnings"][0]
        assert rec["warnings"][0].endswith("): a straggler; every other rank waits for it")


_COUNTER_SCRIPT = """
import json, sys, time
from engine.parallel import world_comm
comm = world_comm()
counter = comm.work_counter()
taken = []
comm.barrier()
while (k := counter.next()) < 300:
    taken.append(k)
    time.sleep(0.004 if comm.rank == 0 else 0.001)  # a slow rank takes fewer numbers
counter.free()
with open(f"{sys.argv[1]}/rank{comm.rank}.json", "w") as f:
    json.dump(taken, f)
"""


def test_the_work_counter_hands_every_number_to_exactly_one_rank(tmp_path):
    require(mpirun_unavailable() is None, "needs mpirun (Open MPI) and mpi4py")
    script = tmp_path / "counter.py"
    script.write_text(_COUNTER_SCRIPT)
    cmd = local_mpirun(3) + [sys.executable, str(script), str(tmp_path)]
    proc = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT, TMPDIR=str(tmp_path)),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = {r: json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(3)}
    everything = sorted(k for taken in runs.values() for k in taken)
    assert everything == list(range(300))
    for taken in runs.values():
        assert taken == sorted(taken)
    # not a fixed third each: the rank that sleeps longest takes fewer, the others more
    assert len(runs[0]) < 100 < max(len(runs[1]), len(runs[2]))
