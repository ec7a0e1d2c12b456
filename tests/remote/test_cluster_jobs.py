"""Against the real test cluster: OpenSSH's sshd and a single-node SLURM, both really running.

Each test submits small jobs (a few seconds of training) and checks what a user would see:
records arriving, states, SLURM's own refusal text, host-key refusals, quoting, reconnects.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import paramiko
import pytest

from remote.backend import SshBackend, open_backend
from remote.config import Profile, save_profiles
from remote.jobs import JobError, JobOptions, SubmitError, cancel_job, fetch_job, submit_job
from remote.monitor import Monitor
from remote.slurm import time_to_seconds
from remote.ssh import HostKeyChangedError, HostKeyUnknownError, fingerprint_sha256
from remote.store import JobStore
from tests.conftest import ROOT

pytestmark = pytest.mark.cluster

SHORT = {"dataset": {"kind": "spiral", "n_samples": 300, "seed": 2}, "model": {"kind": "mlp", "hidden": [8]},
         "train": {"epochs": 8, "batch_size": 20, "seed": 1}}
# About 3-8 s of training on two ranks: long enough to stop sshd in the middle of it.
LONG = {"dataset": {"kind": "spiral", "n_samples": 40000, "seed": 2}, "model": {"kind": "mlp", "hidden": [64, 64]},
        "train": {"epochs": 60, "batch_size": 64, "seed": 1}}
N_LONG = LONG["train"]["epochs"]
ENDLESS = {**LONG, "train": {**LONG["train"], "epochs": 1_000_000}}
PWNED = "/tmp/pwned"


def _spec(tmp_path, spec, name="spec.json"):
    path = tmp_path / name
    path.write_text(json.dumps(spec))
    return path


def _cli(cluster, tmp_path, *args, config=None, timeout=180):
    env = {**os.environ, "SCALELAB_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "remote", "--config", str(config or cluster.config_path), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout)


def _epochs(lines):
    return [json.loads(line)["epoch"] for line in lines if line.strip()]


def test_submit_two_ranks_watch_every_record_fetch_model(test_cluster, tmp_path):
    spec = _spec(tmp_path, SHORT)
    sub = _cli(test_cluster, tmp_path, "submit", "--profile", "testcluster", str(spec), "--ntasks", "2",
               "--time", "00:05:00", "--job-name", "two-ranks")
    assert sub.returncode == 0, sub.stderr
    job_id = sub.stdout.strip().splitlines()[-1]
    assert job_id.isdigit()
    watch = _cli(test_cluster, tmp_path, "watch", "--profile", "testcluster", job_id, "--min-delay", "0.5")
    assert watch.returncode == 0, watch.stderr
    records = [json.loads(line) for line in watch.stdout.splitlines()]
    assert [r["epoch"] for r in records] == list(range(1, 9))
    assert {r["ranks"] for r in records} == {2}, "srun --mpi=pmix must give one MPI world of 2 ranks"
    assert "COMPLETED" in watch.stderr
    out = tmp_path / "fetched"
    fetch = _cli(test_cluster, tmp_path, "fetch", "--profile", "testcluster", job_id, "--out", str(out))
    assert fetch.returncode == 0, fetch.stderr
    assert sorted(os.listdir(out)) == sorted(["metrics.jsonl", "model.npz", "result.json", f"slurm-{job_id}.out"])
    with np.load(out / "model.npz", allow_pickle=False) as model:
        assert model["W0"].shape == (2, 8) and np.all(np.isfinite(model["W0"]))
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "completed" and result["ranks"] == 2
    assert _epochs((out / "metrics.jsonl").read_text().splitlines()) == list(range(1, 9))
    # The output file says where and when it ran, and where the results are.
    output = (out / f"slurm-{job_id}.out").read_text().splitlines()
    assert output[0].startswith(f"ScaleLab job {job_id} on ") and ": 2 ranks, started 20" in output[0]
    assert output[-1].startswith("Finished 20") and output[-1].endswith(f"are in {result['spec'][:-10]}")
    # the job folder on the cluster is private
    with JobStore(tmp_path / "data" / "jobs.sqlite") as store:
        job = store.get("testcluster", job_id)
    assert job.state == "COMPLETED" and job.exit_code == 0
    mode = test_cluster.as_user(["stat", "-c", "%a", job.job_dir]).stdout.strip()
    assert mode == "700"
    queue = _cli(test_cluster, tmp_path, "queue", "--profile", "testcluster")
    assert queue.returncode == 0 and "two-ranks" in queue.stdout
    log = _cli(test_cluster, tmp_path, "log", "--profile", "testcluster", job_id)
    assert log.returncode == 0


def test_one_squeue_per_poll_for_all_jobs(test_cluster, tmp_path):
    backend = open_backend(test_cluster.profile)
    calls: list[list[str]] = []
    real_run = backend.run

    def counting_run(argv, timeout_s=60.0, cwd=None):
        calls.append(list(argv))
        return real_run(argv, timeout_s, cwd)

    backend.run = counting_run
    try:
        with JobStore(tmp_path / "jobs.sqlite") as store:
            a = submit_job(backend, _spec(tmp_path, SHORT), JobOptions(ntasks=2), store=store)
            b = submit_job(backend, _spec(tmp_path, SHORT, "b.json"), JobOptions(ntasks=1), store=store)
            monitor = Monitor(backend, store, min_delay_s=0.3, max_delay_s=1.0)
            calls.clear()
            seen_states: dict[str, set] = {a.job_id: set(), b.job_id: set()}
            deadline = time.monotonic() + 120
            while monitor.next_delay_s() is not None and time.monotonic() < deadline:
                for e in monitor.poll_once():
                    if e.kind == "state":
                        seen_states[e.job_id].add(e.state)
                time.sleep(monitor.next_delay_s() or 0)
            squeues = [c for c in calls if "squeue" in c[:3]]  # env SLURM_TIME_FORMAT=%s squeue ...
            assert len(squeues) == monitor.polls, "exactly one squeue per poll"
            assert all(c[c.index("--jobs") + 1] in (f"{a.job_id},{b.job_id}", a.job_id, b.job_id) for c in squeues)
            assert f"{a.job_id},{b.job_id}" in squeues[0]
            assert [c[0] for c in calls].count("sacct") <= 2  # one per batch of finished jobs
            for job in (a, b):
                stored = store.get("testcluster", job.job_id)
                assert stored.state == "COMPLETED" and not stored.active
                assert [r["epoch"] for r in store.records("testcluster", job.job_id)] == list(range(1, 9))
            assert {r["ranks"] for r in store.records("testcluster", a.job_id)} == {2}
            assert {r["ranks"] for r in store.records("testcluster", b.job_id)} == {1}
    finally:
        backend.close()


def test_a_job_first_seen_late_gets_slurms_run_time(test_cluster, tmp_path):
    """Polls back off to a minute: the timeline must not say a job started when it was first seen."""
    backend = open_backend(test_cluster.profile)
    try:
        with JobStore(tmp_path / "jobs.sqlite") as store:
            # An edited job.sh that just runs for 2 seconds.
            job = submit_job(backend, _spec(tmp_path, SHORT), JobOptions(ntasks=1), store=store,
                             script="#!/bin/bash\n#SBATCH --ntasks=1\nsleep 2\n")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if "JobState=COMPLETED" in backend.run(["scontrol", "show", "job", job.job_id]).stdout:
                    break
                time.sleep(0.5)
            time.sleep(2.5)  # the monitor's first poll comes well after the end
            Monitor(backend, store).poll_once()
            stored = store.get("testcluster", job.job_id)
            assert stored.state == "COMPLETED"
            elapsed = backend.run(["squeue", "--noheader", "--states=all", "--jobs", job.job_id,
                                   "--format", "%M"]).stdout.strip()
            assert time_to_seconds(elapsed) >= 2
            assert abs((stored.ended_at - stored.started_at) - time_to_seconds(elapsed)) < 1.0
            assert stored.submitted_at <= stored.started_at <= stored.ended_at <= time.time()
    finally:
        backend.close()


def test_refused_job_shows_slurms_own_text(test_cluster, tmp_path):
    spec = _spec(tmp_path, SHORT)
    out = _cli(test_cluster, tmp_path, "submit", "--profile", "testcluster", str(spec), "--partition", "nosuch")
    assert out.returncode == 2
    direct = test_cluster.as_user(["sbatch", "--parsable", "--partition=nosuch", "--wrap=true"])
    assert direct.returncode != 0
    slurm_says = direct.stderr.strip()
    assert "invalid partition" in slurm_says.lower()
    assert out.stderr.strip() == f"error: {slurm_says}", "SLURM's text, verbatim"
    assert "Traceback" not in out.stderr


def test_cancel(test_cluster, tmp_path):
    backend = open_backend(test_cluster.profile)
    try:
        with JobStore(tmp_path / "jobs.sqlite") as store:
            job = submit_job(backend, _spec(tmp_path, ENDLESS), JobOptions(ntasks=1, time="00:03:00"), store=store)
            monitor = Monitor(backend, store, min_delay_s=0.3, max_delay_s=1.0)
            deadline = time.monotonic() + 60
            while store.get("testcluster", job.job_id).n_records == 0 and time.monotonic() < deadline:
                monitor.poll_once()
                time.sleep(0.3)
            assert store.get("testcluster", job.job_id).state == "RUNNING"
        out = _cli(test_cluster, tmp_path, "cancel", "--profile", "testcluster", job.job_id,
                   config=test_cluster.config_path)
        assert out.returncode == 0, out.stderr
        with JobStore(tmp_path / "jobs.sqlite") as store:
            monitor = Monitor(backend, store, min_delay_s=0.3, max_delay_s=1.0)
            events = list(monitor.watch(job.job_id, max_wait_s=60))
            assert events[-1].kind == "finished" and events[-1].state == "CANCELLED"
        # Cancelling it again is refused in one line: SLURM says it has already ended.
        again = _cli(test_cluster, tmp_path, "cancel", "--profile", "testcluster", job.job_id)
        assert again.returncode == 2 and "already completing or completed" in again.stderr, again.stderr
        assert again.stderr.count("\n") == 1 and "Traceback" not in again.stderr
        with JobStore(tmp_path / "jobs.sqlite") as store:
            records = store.records("testcluster", job.job_id)
            assert [r["epoch"] for r in records] == list(range(1, len(records) + 1))
        # the job.sh trap recorded how the script ended
        status = test_cluster.as_user(["cat", f"{job.job_dir}/exit_status"]).stdout.strip()
        assert status == "143", status  # the TERM trap: exit 143, recorded by the EXIT trap
    finally:
        backend.close()


def _profile_file(tmp_path, profile: Profile):
    path = tmp_path / "profiles.toml"
    save_profiles({profile.name: profile}, path)
    return path


def test_unknown_host_key_is_refused_then_trusted(test_cluster, tmp_path):
    kh = tmp_path / "known_hosts"
    profile = Profile(**{**test_cluster.profile.__dict__, "known_hosts": str(kh)})
    config = _profile_file(tmp_path, profile)
    pub = (test_cluster.host_key.parent / (test_cluster.host_key.name + ".pub")).read_text().split()
    host_key = paramiko.PKey.from_type_string(pub[0], base64.b64decode(pub[1]))
    fp = fingerprint_sha256(host_key)

    with pytest.raises(HostKeyUnknownError) as info:
        SshBackend(profile).connect()
    assert info.value.fingerprint_sha256 == fp and info.value.port == test_cluster.ssh_port

    out = _cli(test_cluster, tmp_path, "queue", "--profile", "testcluster", config=config)
    assert out.returncode == 2
    assert "unknown" in out.stderr and fp in out.stderr
    # The command it suggests can be pasted as it is: it names the profile file in use.
    assert f"python -m remote --config {config} trust --profile testcluster" in out.stderr
    assert not kh.exists()
    wrong = _cli(test_cluster, tmp_path, "trust", "--profile", "testcluster", "--fingerprint", "SHA256:AAAA",
                 config=config)
    assert wrong.returncode == 2 and not kh.exists()
    ok = _cli(test_cluster, tmp_path, "trust", "--profile", "testcluster", "--fingerprint", fp, config=config)
    assert ok.returncode == 0, ok.stderr
    assert kh.read_text().startswith(f"[127.0.0.1]:{test_cluster.ssh_port} ssh-ed25519 ")
    out = _cli(test_cluster, tmp_path, "queue", "--profile", "testcluster", config=config)
    assert out.returncode == 0, out.stderr


def test_changed_host_key_is_refused(test_cluster, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    other = (tmp_path / "other.pub").read_text().split()
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{test_cluster.ssh_port} {other[0]} {other[1]}\n")
    profile = Profile(**{**test_cluster.profile.__dict__, "known_hosts": str(kh)})
    config = _profile_file(tmp_path, profile)
    with pytest.raises(HostKeyChangedError):
        SshBackend(profile).connect()
    for args in (["queue", "--profile", "testcluster"], ["trust", "--profile", "testcluster"]):
        out = _cli(test_cluster, tmp_path, *args, config=config)
        assert out.returncode == 2
        assert "has CHANGED" in out.stderr and "refusing" in out.stderr
    doctor = _cli(test_cluster, tmp_path, "doctor", "--profile", "testcluster", config=config)
    assert doctor.returncode == 1 and "has CHANGED" in doctor.stdout
    assert "authorized_keys" not in doctor.stdout  # a key problem of the server's, not of the login
    assert kh.read_text() == f"[127.0.0.1]:{test_cluster.ssh_port} {other[0]} {other[1]}\n"


def test_shell_syntax_runs_nothing(test_cluster, tmp_path):
    if os.path.exists(PWNED):
        os.remove(PWNED)
    spec = _spec(tmp_path, SHORT)
    for name in ("$(touch /tmp/pwned)", "a;touch /tmp/pwned", "a\ntouch /tmp/pwned", "`touch /tmp/pwned`"):
        out = _cli(test_cluster, tmp_path, "submit", "--profile", "testcluster", str(spec), "--job-name", name)
        assert out.returncode == 2 and "job_name" in out.stderr
    # arguments reach the cluster quoted, as plain text
    backend = open_backend(test_cluster.profile)
    try:
        r = backend.run(["echo", "$(touch /tmp/pwned)", ";", "touch", "/tmp/pwned", "`touch /tmp/pwned`"])
        assert r.stdout == "$(touch /tmp/pwned) ; touch /tmp/pwned `touch /tmp/pwned`\n"
        os.remove(PWNED)  # that run was `echo ... touch /tmp/pwned` as words: echo created nothing
    except FileNotFoundError:
        pass
    finally:
        backend.close()
    assert not os.path.exists(PWNED)
    # a spec file whose name is shell syntax: the derived job name is sanitized, the job runs normally
    weird = tmp_path / "we$(touch pwned-here);ird dir"
    weird.mkdir()
    spec2 = _spec(weird, SHORT, "x$(touch pwned-here);y`touch pwned-here`.json")
    out = _cli(test_cluster, tmp_path, "submit", "--profile", "testcluster", str(spec2))
    assert out.returncode == 0, out.stderr
    job_id = out.stdout.strip().splitlines()[-1]
    watch = _cli(test_cluster, tmp_path, "watch", "--profile", "testcluster", job_id, "--min-delay", "0.5")
    assert watch.returncode == 0 and _epochs(watch.stdout.splitlines()) == list(range(1, 9))
    with JobStore(tmp_path / "data" / "jobs.sqlite") as store:
        job = store.get("testcluster", job_id)
    assert job.name == "scalelab-x__touch_pwned-here__y_touch_pwned-here"
    assert not os.path.exists(PWNED)
    for folder in (weird, tmp_path, ROOT, test_cluster.home, job.job_dir):
        assert not os.path.exists(os.path.join(folder, "pwned-here")), folder


def test_sshd_stopped_during_watch_every_record_once(test_cluster, tmp_path):
    backend = open_backend(test_cluster.profile)
    outage = threading.Event()
    done = threading.Event()

    def stop_for_a_while():
        test_cluster.stop_sshd()
        outage.set()
        time.sleep(3.0)
        test_cluster.start_sshd()
        done.set()

    try:
        with JobStore(tmp_path / "jobs.sqlite") as store:
            job = submit_job(backend, _spec(tmp_path, LONG), JobOptions(ntasks=2), store=store)
            # Poll often, so the first records are seen while most of the run is still ahead.
            monitor = Monitor(backend, store, min_delay_s=0.3, max_delay_s=0.3)
            epochs, kinds, n_at_stop = [], [], None
            stopper = None
            for event in monitor.watch(job.job_id, max_wait_s=150):
                kinds.append((event.kind, event.state))
                if event.kind == "records":
                    epochs += [r["epoch"] for r in event.records]
                    if stopper is None:
                        n_at_stop = len(epochs)
                        stopper = threading.Thread(target=stop_for_a_while)
                        stopper.start()
                        outage.wait(10)
            stopper.join()
            assert done.is_set()
            assert n_at_stop < N_LONG, "the outage must start while the job still runs"
            assert epochs == list(range(1, N_LONG + 1)), "every record exactly once, in order"
            assert kinds[-1] == ("finished", "COMPLETED")
            assert backend.connection.connects >= 2, "the connection was really dropped and made again"
            assert ("connection", "reconnecting") in kinds or backend.connection.connects >= 2
            assert [r["epoch"] for r in store.records("testcluster", job.job_id)] == list(range(1, N_LONG + 1))
    finally:
        if not done.is_set():
            test_cluster.start_sshd()
        backend.close()


def test_watcher_restart_continues_from_the_store(test_cluster, tmp_path):
    spec = _spec(tmp_path, LONG)
    sub = _cli(test_cluster, tmp_path, "submit", "--profile", "testcluster", str(spec), "--ntasks", "2")
    assert sub.returncode == 0, sub.stderr
    job_id = sub.stdout.strip().splitlines()[-1]
    env = {**os.environ, "SCALELAB_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": ROOT}
    first = subprocess.Popen([sys.executable, "-m", "remote", "--config", str(test_cluster.config_path), "watch",
                              "--profile", "testcluster", job_id, "--min-delay", "0.5", "--max-delay", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    seen = []
    try:
        while len(seen) < 3:
            line = first.stdout.readline()
            assert line, "the first watcher ended early"
            seen.append(line)
    finally:
        first.send_signal(signal.SIGKILL)  # a crash, not a clean exit
        first.wait()
    with JobStore(tmp_path / "data" / "jobs.sqlite") as store:
        stored_before = store.get("testcluster", job_id).n_records
    assert stored_before >= 3
    second = _cli(test_cluster, tmp_path, "watch", "--profile", "testcluster", job_id, "--min-delay", "0.5",
                  "--max-delay", "1")
    assert second.returncode == 0, second.stderr
    assert _epochs(second.stdout.splitlines()) == list(range(1, N_LONG + 1))
    assert _epochs(seen) == [1, 2, 3]
    with JobStore(tmp_path / "data" / "jobs.sqlite") as store:
        assert [r["epoch"] for r in store.records("testcluster", job_id)] == list(range(1, N_LONG + 1))
        job = store.get("testcluster", job_id)
    # the offset covers the whole file: the second watcher read on from where the first stopped
    size = int(test_cluster.as_user(["stat", "-c", "%s", f"{job.job_dir}/metrics.jsonl"]).stdout)
    assert job.metrics_offset == size
    new_only = _cli(test_cluster, tmp_path, "watch", "--profile", "testcluster", job_id, "--new-only")
    assert new_only.returncode == 0 and new_only.stdout == ""


def test_fetch_never_overwrites_silently(test_cluster, tmp_path):
    backend = open_backend(test_cluster.profile)
    try:
        with JobStore(tmp_path / "jobs.sqlite") as store:
            job = submit_job(backend, _spec(tmp_path, SHORT), JobOptions(ntasks=1), store=store)
            list(Monitor(backend, store, min_delay_s=0.3).watch(job.job_id, max_wait_s=60))
        out = tmp_path / "out"
        out.mkdir()
        (out / "model.npz").write_bytes(b"my own model")
        with pytest.raises(Exception, match="would overwrite"):
            fetch_job(backend, job.job_dir, out, job.output_path)
        assert (out / "model.npz").read_bytes() == b"my own model"
        assert sorted(os.listdir(out)) == ["model.npz"]
    finally:
        backend.close()


def test_cancel_refuses_garbage_and_unknown(test_cluster, tmp_path):
    backend = open_backend(test_cluster.profile)
    try:
        with pytest.raises(Exception, match="not a job id"):
            cancel_job(backend, "1 2")
        # scancel itself exits 0 here; the user must still learn that nothing was cancelled.
        with pytest.raises(JobError, match="Invalid job id specified"):
            cancel_job(backend, "987654")
        with pytest.raises(SubmitError, match="Invalid generic resource"):
            submit_job(backend, _spec(tmp_path, SHORT), JobOptions(ntasks=1, gpus=1))  # the node has no GPUs
    finally:
        backend.close()



def test_doctor_passes_on_the_test_cluster(test_cluster, tmp_path):
    out = _cli(test_cluster, tmp_path, "doctor", "--profile", "testcluster")
    assert out.returncode == 0, out.stdout + out.stderr
    for check in ("log in", "sbatch found", "partition debug", "numpy", "mpi4py", "srun --mpi=pmix",
                  "workdir writable"):
        assert f"[ok] {check}" in out.stdout
    assert "[FAIL]" not in out.stdout


def test_doctor_says_what_to_do(test_cluster, tmp_path):
    profile = Profile(**{**test_cluster.profile.__dict__, "python": "/nonexistent/python", "partition": "gpu"})
    out = _cli(test_cluster, tmp_path, "doctor", "--profile", "testcluster", config=_profile_file(tmp_path, profile))
    assert out.returncode == 1
    assert "[FAIL] partition gpu: not found; set partition to one of debug" in out.stdout
    assert "[FAIL] python: /nonexistent/python did not run" in out.stdout


def test_proxy_jump_through_one_jump_host(test_cluster, tmp_path):
    """The sshd is its own jump host: login there, then a direct-tcpip channel to itself."""
    profile = Profile(**{**test_cluster.profile.__dict__,
                         "proxy_jump": f"{test_cluster.user}@127.0.0.1:{test_cluster.ssh_port}"})
    backend = SshBackend(profile).connect()
    try:
        assert backend.connection._jump is not None and backend.connection._jump.state.status == "connected"
        r = backend.run(["sh", "-c", 'echo "$SSH_CONNECTION"'])
        assert r.ok and r.stdout.split()[0] == "127.0.0.1"
        assert set(backend.run(["sinfo", "-h", "-o", "%P"]).stdout.split()) == {"debug*"}
    finally:
        backend.close()


def test_watch_and_follow_a_job_submitted_elsewhere(test_cluster, tmp_path):
    """Any job id: looked up with scontrol, its output followed, its metrics file watched."""
    job_dir = test_cluster.home / f"external-{time.time_ns()}"
    test_cluster.as_user(["mkdir", "-p", str(job_dir)])
    script = ("#!/bin/bash\nfor i in 1 2 3 4; do echo \"{\\\"epoch\\\": $i}\" >> metrics.jsonl; "
              "echo line $i; sleep 0.5; done\n")
    test_cluster.as_user(["sh", "-c", f"cat > {job_dir}/ext.sh <<'EOF'\n{script}EOF\n"])
    sub = test_cluster.as_user(["sbatch", "--parsable", f"--chdir={job_dir}", "--output=ext-%j.out",
                                f"{job_dir}/ext.sh"])
    assert sub.returncode == 0, sub.stderr
    job_id = sub.stdout.strip()
    log = _cli(test_cluster, tmp_path, "log", "--profile", "testcluster", job_id, "--follow", "--interval", "0.3")
    assert log.returncode == 0, log.stderr
    assert log.stdout.splitlines() == ["line 1", "line 2", "line 3", "line 4"]
    watch = _cli(test_cluster, tmp_path, "watch", "--profile", "testcluster", job_id, "--min-delay", "0.3")
    assert watch.returncode == 0, watch.stderr
    assert _epochs(watch.stdout.splitlines()) == [1, 2, 3, 4]
    with JobStore(tmp_path / "data" / "jobs.sqlite") as store:
        job = store.get("testcluster", job_id)
    assert job.kind == "external" and job.state == "COMPLETED" and job.name == "ext.sh"


def test_mpirun_launcher_inside_the_allocation(test_cluster, tmp_path):
    profile = Profile(**{**test_cluster.profile.__dict__, "launcher": "mpirun", "mpi_plugin": ""})
    backend = open_backend(profile)
    try:
        with JobStore(tmp_path / "jobs.sqlite") as store:
            job = submit_job(backend, _spec(tmp_path, SHORT), JobOptions(ntasks=2), store=store)
            assert "\nmpirun -n 2 " in job.script
            events = list(Monitor(backend, store, min_delay_s=0.3).watch(job.job_id, max_wait_s=90))
            assert events[-1].state == "COMPLETED"
            assert [r["ranks"] for r in store.records("testcluster", job.job_id)] == [2] * 8
    finally:
        backend.close()


def test_dropped_connection_is_a_state_and_a_typed_error(test_cluster, tmp_path):
    from remote.ssh import ConnectionLostError

    backend = SshBackend(test_cluster.profile).connect()
    try:
        assert backend.state.status == "connected"
        test_cluster.stop_sshd()
        try:
            with pytest.raises(ConnectionLostError) as info:
                backend.run(["true"])
            assert "Traceback" not in str(info.value) and "127.0.0.1" in str(info.value)
            assert backend.state.status == "reconnecting" and backend.state.last_error
            with pytest.raises(ConnectionLostError, match="lost"):
                backend.run(["true"])  # reconnect attempts with backoff, then give up
        finally:
            test_cluster.start_sshd()
        assert backend.run(["echo", "back"]).stdout == "back\n"
        assert backend.state.status == "connected" and backend.connection.connects == 2
        assert backend.read_bytes("~/.ssh/authorized_keys").startswith(b"ssh-ed25519 ")
    finally:
        backend.close()


def test_trust_through_an_unknown_jump_host(test_cluster, tmp_path):
    kh = tmp_path / "known_hosts"
    profile = Profile(**{**test_cluster.profile.__dict__, "known_hosts": str(kh),
                         "proxy_jump": f"{test_cluster.user}@127.0.0.1:{test_cluster.ssh_port}"})
    config = _profile_file(tmp_path, profile)
    out = _cli(test_cluster, tmp_path, "queue", "--profile", "testcluster", config=config)
    assert out.returncode == 2 and "unknown" in out.stderr and "trust --profile testcluster" in out.stderr
    pub = (test_cluster.host_key.parent / (test_cluster.host_key.name + ".pub")).read_text().split()
    fp = fingerprint_sha256(paramiko.PKey.from_type_string(pub[0], base64.b64decode(pub[1])))
    ok = _cli(test_cluster, tmp_path, "trust", "--profile", "testcluster", "--fingerprint", fp, config=config)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert len(kh.read_text().splitlines()) == 1  # jump and target are the same server here
    out = _cli(test_cluster, tmp_path, "queue", "--profile", "testcluster", config=config)
    assert out.returncode == 0, out.stderr


def test_ssh_agent_login_and_one_connection_for_commands_and_sftp(test_cluster, tmp_path, monkeypatch):
    agent_sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(agent_sock)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if agent_sock.exists():
                break
            time.sleep(0.05)
        env = {**os.environ, "SSH_AUTH_SOCK": str(agent_sock)}
        subprocess.run(["ssh-add", "-q", str(test_cluster.client_key)], env=env, check=True, capture_output=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(agent_sock))
        monkeypatch.setenv("HOME", str(tmp_path))  # no default keys in ~/.ssh: only the agent can log in
        profile = Profile(**{**test_cluster.profile.__dict__, "key_file": ""})
        backend = SshBackend(profile).connect()
        try:
            transport = backend.connection.transport()
            assert backend.run(["whoami"]).stdout.strip() == test_cluster.user
            assert backend.exists("~/.ssh/authorized_keys")
            assert backend.run(["true"]).ok
            assert backend.connection.connects == 1 and backend.connection.transport() is transport
        finally:
            backend.close()
    finally:
        agent.terminate()
        agent.wait()
