"""``python -m remote`` without a cluster: dry runs, and one clear line (exit 2) for every error."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def env(tmp_path):
    config = tmp_path / "profiles.toml"
    config.write_text(
        '[profiles.hpc]\nhost = "127.0.0.1"\n'
        f'port = {_free_port()}\nuser = "nobody"\nknown_hosts = "{tmp_path / "kh"}"\nssh_config = "/dev/null"\n'
        'partition = "batch"\nsetup = ["module load mpi4py"]\nconnect_timeout_s = 3\n'
    )
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"dataset": {"kind": "spiral", "n_samples": 100}, "train": {"epochs": 2}}))
    return config, spec, {**os.environ, "SCALELAB_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": ROOT}


def run(env, *args):
    config, _, e = env
    return subprocess.run([sys.executable, "-m", "remote", "--config", str(config), *args], capture_output=True,
                          text=True, env=e, cwd=ROOT, timeout=60)


def test_profiles(env):
    out = run(env, "profiles")
    assert out.returncode == 0
    assert "hpc" in out.stdout and "local" in out.stdout


def test_dry_run_prints_job_sh_and_connects_to_nothing(env):
    _, spec, _ = env
    out = run(env, "submit", "--profile", "hpc", str(spec), "--ntasks", "4", "--nodes", "2", "--time", "00:20:00",
              "--job-name", "demo", "--gpus", "2", "--dry-run")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("#!/bin/bash")
    for line in ("#SBATCH --job-name=demo", "#SBATCH --ntasks=4", "#SBATCH --nodes=2", "#SBATCH --time=00:20:00",
                 "#SBATCH --partition=batch", "#SBATCH --gpus=2", "module load mpi4py",
                 "srun --mpi=pmix python3 -m engine train spec.json --out ."):
        assert line in out.stdout
    assert "dry run" in out.stderr
    assert not os.path.exists(os.path.join(env[2]["SCALELAB_DATA_DIR"], "jobs.sqlite"))


@pytest.mark.parametrize("args,words", [
    (["submit", "--profile", "hpc", "SPEC", "--job-name", "$(touch /tmp/pwned)", "--dry-run"], "job_name"),
    (["submit", "--profile", "hpc", "SPEC", "--time", "99:99", "--dry-run"], "time"),
    (["submit", "--profile", "hpc", "SPEC", "--partition", "a;b", "--dry-run"], "partition"),
    (["submit", "--profile", "hpc", "/nonexistent/spec.json", "--dry-run"], "cannot read spec file"),
    (["submit", "--profile", "nope", "SPEC", "--dry-run"], "no such profile"),
    (["queue", "--profile", "hpc"], "cannot reach 127.0.0.1"),
    (["cancel", "--profile", "hpc", "1;rm -rf ~"], "not a job id"),
    (["submit", "--profile", "hpc", "SPEC", "--ntasks", "two", "--dry-run"], "invalid int value: 'two'"),
    (["watch", "--profile", "hpc"], "required: job_id"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_errors_are_one_line_with_exit_2(env, args, words):
    _, spec, _ = env
    out = run(env, *[str(spec) if a == "SPEC" else a for a in args])
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], out.stderr
    assert "Traceback" not in out.stderr
    assert not os.path.exists("/tmp/pwned") or os.path.getmtime("/tmp/pwned") < os.path.getmtime(spec)


def test_bad_spec_names_the_field(env):
    _, spec, _ = env
    spec.write_text(json.dumps({"model": {"activation": "swish"}}))
    out = run(env, "submit", "--profile", "hpc", str(spec), "--dry-run")
    assert out.returncode == 2 and "model.activation" in out.stderr and "Traceback" not in out.stderr


def test_bad_config_is_one_line(env):
    config, _, _ = env
    config.write_text("[profiles.hpc]\nport = 22\n")
    out = run(env, "profiles")
    assert out.returncode == 2 and "profiles.hpc.host" in out.stderr and str(config) in out.stderr


def test_queue_lists_waiting_and_running_jobs_first_newest_first():
    from remote.cli import queue_order
    from remote.slurm import QueueEntry

    def entry(job_id, state):
        return QueueEntry(job_id=job_id, name="j", user="u", state=state, partition="p", nodes=1, elapsed="0:01",
                          time_limit="10:00", reason="None", nodelist="", submit_time="", start_time="")

    # squeue -t all lists them in its own order: finished jobs may come first.
    shown = queue_order([entry("14", "CANCELLED"), entry("9", "COMPLETED"), entry("28", "RUNNING"),
                         entry("29", "PENDING"), entry("100", "COMPLETED"), entry("30_2", "PENDING")])
    assert [e.job_id for e in shown] == ["30_2", "29", "28", "100", "14", "9"]


def test_a_reader_that_stops_early_is_no_error(env):
    """`python -m remote ... | head -1`: the closed pipe ends the command quietly."""
    config, spec, e = env
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before anything is written
    try:
        out = subprocess.run([sys.executable, "-m", "remote", "--config", str(config), "submit", "--profile", "hpc",
                              str(spec), "--dry-run"], stdout=write_end, stderr=subprocess.PIPE, text=True, env=e,
                             cwd=ROOT, timeout=60)
    finally:
        os.close(write_end)
    assert out.returncode == 141
    assert "error" not in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_doctor_gives_the_hint_that_fits_the_failure(env):
    out = run(env, "doctor", "--profile", "hpc")  # nothing listens on the profile's port
    assert out.returncode == 1
    line = out.stdout.splitlines()[0]
    assert line.startswith("[FAIL] log in: cannot reach 127.0.0.1") and "check host and port" in line
    assert "authorized_keys" not in line
