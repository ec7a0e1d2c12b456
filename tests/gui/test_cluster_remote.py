"""The Cluster view against the real test cluster (sshd + SLURM from tests/cluster).

Fill the form, check the script, submit, see the job in the queue table and its records in
the plot, cancel a second job through the confirmation dialog, follow a job submitted by
hand that prints Keras output, and meet the host-key dialogs (unknown and changed key).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
from PySide6 import QtWidgets

from engine.spec import DatasetSpec, ModelSpec, RunSpec, TrainSpec
from gui.cluster.dialogs import HostKeyChangedDialog, HostKeyDialog, WatchJobDialog
from gui.cluster.view import ClusterView
from remote.config import save_profiles
from remote.store import JobStore
from tests.conftest import ROOT
from tests.gui.test_cluster_view import answer_dialog

pytestmark = pytest.mark.cluster

SAMPLES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "remote", "data", "keras-logs")


def spec(epochs: int, n_samples: int = 200, batch_size: int = 20) -> RunSpec:
    return RunSpec(
        dataset=DatasetSpec(kind="xor", n_samples=n_samples, noise=0.05, seed=4),
        model=ModelSpec(kind="mlp", hidden=(8,), activation="tanh"),
        train=TrainSpec(epochs=epochs, batch_size=batch_size, learning_rate=0.05, optimizer="adam"),
    )


def make_view(qtbot, tmp_path, monkeypatch, profile):
    config = tmp_path / "config" / "profiles.toml"
    save_profiles({profile.name: profile}, str(config))
    monkeypatch.setenv("SCALELAB_CONFIG", str(config))
    monkeypatch.setenv("SCALELAB_DATA_DIR", str(tmp_path / "data"))
    store = JobStore(str(tmp_path / "jobs.sqlite"))
    view = ClusterView(config_path=str(config), store=store)
    qtbot.addWidget(view)
    view.resize(1400, 900)
    view.show()
    qtbot.waitExposed(view)
    return view, store


@pytest.fixture
def remote_view(qtbot, tmp_path, monkeypatch, test_cluster):
    view, store = make_view(qtbot, tmp_path, monkeypatch, test_cluster.profile)
    view.select_profile(test_cluster.profile.name)
    qtbot.waitUntil(lambda: view.connections.state(test_cluster.profile.name)[0] == "connected", timeout=30000)
    yield view
    view.shutdown()
    store.close()


def wait_state(qtbot, view, profile, job_id, states, timeout=60000):
    def ok():
        job = view.store.get(profile, job_id)
        return job is not None and job.state in states
    qtbot.waitUntil(ok, timeout=timeout)


def test_submit_watch_and_cancel(remote_view, qtbot, test_cluster):
    view = remote_view
    name = test_cluster.profile.name
    # Partitions come from sinfo; defaults from the profile.
    qtbot.waitUntil(lambda: view.form.widgets["partition"].findText("debug") >= 0, timeout=20000)
    assert view.form.values()["partition"] == "debug"
    epochs = 20
    view.compose_job(spec(epochs), "xor.json")
    view.form.widgets["job_name"].setText("gui-2ranks")
    view.form.widgets["ntasks"].setValue(2)
    view.form.widgets["time"].setText("00:05:00")
    text = view.script_text()
    home = str(test_cluster.home)
    for line in ("#SBATCH --job-name=gui-2ranks", "#SBATCH --ntasks=2", "#SBATCH --time=00:05:00",
                 "#SBATCH --partition=debug", "srun --mpi=pmix"):
        assert line in text
    assert f"JOB_DIR={home}/scalelab/" in text  # the work folder, expanded on the cluster
    view.submit()
    qtbot.waitUntil(lambda: view.job_view.job is not None or bool(view.last_submit_error), timeout=30000)
    assert not view.last_submit_error
    job_id = view.job_view.job.job_id
    assert job_id.isdigit()
    # The queue table (squeue of this user, finished jobs included for a while) lists it.
    view.tabs.setCurrentWidget(view.queue_table)
    qtbot.waitUntil(lambda: view.queue_table.row_of(job_id) >= 0, timeout=30000)
    assert view.queue_table.cell_text(job_id, 1) == "gui-2ranks"
    assert view.queue_table.cell_text(job_id, 4) == "debug"
    # Records arrive in the job view's plot.
    view.show_job(name, job_id)
    qtbot.waitUntil(lambda: len(view.job_view.curve_data("loss", "test")[0]) == epochs, timeout=60000)
    wait_state(qtbot, view, name, job_id, {"COMPLETED"})
    records = view.store.records(name, job_id)
    assert [r["ranks"] for r in records] == [2] * epochs  # really two MPI ranks
    x, y = view.job_view.curve_data("loss", "test")
    assert list(x) == list(range(1, epochs + 1))
    assert np.allclose(y, [r["test_loss"] for r in records])
    # The store is written in the poll's worker; the timeline follows when its event arrives.
    qtbot.waitUntil(lambda: "Completed" in view.job_view.timeline.text(), timeout=10000)

    # A second, long job: cancel it from the queue table, answering the confirmation.
    view.compose_job(spec(1000, n_samples=40000, batch_size=8), "slow.json")
    view.form.widgets["job_name"].setText("gui-cancel-me")
    view.form.widgets["ntasks"].setValue(1)
    view.submit()
    qtbot.waitUntil(lambda: (view.job_view.job is not None and view.job_view.job.job_id != job_id)
                    or bool(view.last_submit_error), timeout=30000)
    assert not view.last_submit_error
    second = view.job_view.job.job_id
    view.tabs.setCurrentWidget(view.queue_table)
    qtbot.waitUntil(lambda: view.queue_table.cell_text(second, 3) in ("PENDING", "RUNNING"), timeout=30000)
    assert view.queue_table.select_job(second)
    assert view.queue_table.cancel_button.isEnabled()

    def agree(box):
        yes = next(b for b in box.buttons() if b.text() == "Cancel the job")
        yes.click()

    answered = answer_dialog(QtWidgets.QMessageBox, agree)
    view.queue_table.cancel_button.click()
    assert "dialog" in answered
    wait_state(qtbot, view, name, second, {"CANCELLED"})
    qtbot.waitUntil(lambda: view.queue_table.cell_text(second, 3) == "CANCELLED", timeout=30000)


def test_follow_a_job_submitted_outside_with_keras_output(remote_view, qtbot, test_cluster):
    view = remote_view
    name = test_cluster.profile.name
    # A job of the test user's own, printing real Keras 3 output.
    sample = test_cluster.home / "keras3-warnings.out"
    shutil.copy(os.path.join(SAMPLES, "keras3-warnings.out"), sample)
    os.chmod(sample, 0o644)
    out = test_cluster.as_user(["sbatch", "--parsable", "--output", f"{test_cluster.home}/keras-%j.out",
                                "--wrap", f"cat {sample}"])
    assert out.returncode == 0, out.stderr
    job_id = out.stdout.strip().split(";")[0]
    # Only the id is given: SLURM (scontrol) names the output file the curves come from.
    view.watch_job(name, job_id)
    qtbot.waitUntil(lambda: len(view.job_view.curve_data("loss", "train")[0]) == 2, timeout=60000)
    assert view.store.get(name, job_id).output_path == f"{test_cluster.home}/keras-{job_id}.out"
    x, train = view.job_view.curve_data("loss", "train")
    _, test = view.job_view.curve_data("loss", "test")
    assert list(x) == [1, 2]
    assert np.allclose(train, [0.4982, 0.0089]) and np.allclose(test, [0.0227, 3.8914e-04])
    _, acc = view.job_view.curve_data("accuracy", "test")
    assert np.allclose(acc, [1.0, 1.0])
    wait_state(qtbot, view, name, job_id, {"COMPLETED"})
    assert "UserWarning" in view.job_view.output_text() or view.job_view.output_text() == ""
    # An id SLURM does not know is refused in SLURM's words, and nothing is tracked.
    view.watch_job(name, "987654")
    qtbot.waitUntil(lambda: "Cannot follow job 987654" in view.status.text(), timeout=30000)
    assert "Invalid job id specified" in view.status.text()
    assert view.store.get(name, "987654") is None


def _fingerprint_of_pub(path) -> str:
    blob = base64.b64decode(open(path).read().split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def test_unknown_host_key_asks_and_trusts(qtbot, tmp_path, monkeypatch, test_cluster):
    known = tmp_path / "known_hosts"
    profile = replace(test_cluster.profile, known_hosts=str(known))
    view, store = make_view(qtbot, tmp_path, monkeypatch, profile)
    try:
        seen = {}

        def trust(dialog):
            seen["fingerprint"] = dialog.fingerprint_label.text()
            dialog.trust_button.click()

        answered = answer_dialog(HostKeyDialog, trust)
        view.select_profile(profile.name)
        qtbot.waitUntil(lambda: view.connections.state(profile.name)[0] == "connected", timeout=30000)
        assert "dialog" in answered
        assert seen["fingerprint"] == _fingerprint_of_pub(f"{test_cluster.host_key}.pub")
        assert f"[127.0.0.1]:{test_cluster.ssh_port} ssh-ed25519" in known.read_text()
    finally:
        view.shutdown()
        store.close()


def test_changed_host_key_is_refused(qtbot, tmp_path, monkeypatch, test_cluster):
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{test_cluster.ssh_port} " + " ".join(open(f"{other}.pub").read().split()[:2]) + "\n")
    before = known.read_text()
    profile = replace(test_cluster.profile, known_hosts=str(known))
    view, store = make_view(qtbot, tmp_path, monkeypatch, profile)
    try:
        seen = {}

        def close(dialog):
            seen["buttons"] = [b.text() for b in dialog.findChildren(QtWidgets.QPushButton)]
            seen["command"] = dialog.command_edit.text()
            dialog.close_button.click()

        answered = answer_dialog(HostKeyChangedDialog, close)
        view.select_profile(profile.name)
        qtbot.waitUntil(lambda: view.connections.state(profile.name)[0] == "error", timeout=30000)
        assert "dialog" in answered and seen["buttons"] == ["Close"]
        assert "CHANGED" in view.connections.state(profile.name)[1]
        assert known.read_text() == before  # nothing was trusted
        # The command it gives removes exactly that line (the user runs it once the new key is confirmed).
        assert seen["command"] == f"ssh-keygen -R '[127.0.0.1]:{test_cluster.ssh_port}' -f {known}"
        assert subprocess.run(["bash", "-c", seen["command"]], capture_output=True).returncode == 0
        assert f"[127.0.0.1]:{test_cluster.ssh_port}" not in known.read_text()
    finally:
        view.shutdown()
        store.close()


def test_refusal_text_and_doctor(remote_view, qtbot, test_cluster):
    view = remote_view
    name = test_cluster.profile.name
    view.compose_job(spec(5), "xor.json")
    view.form.widgets["partition"].setEditText("nosuchpartition")
    assert "#SBATCH --partition=nosuchpartition" in view.script_text()
    view.submit()
    qtbot.waitUntil(lambda: bool(view.last_submit_error), timeout=30000)
    # SLURM's own words, as sbatch printed them.
    assert "sbatch: error:" in view.compose.submit_result.toPlainText()
    assert "invalid partition" in view.compose.submit_result.toPlainText().lower()
    assert view.store.jobs(name) == []
    # The doctor: every check ticked or explained.
    view.profile_bar.check_button.click()
    qtbot.waitUntil(lambda: view.profiles_control.doctor_dialog.status.text().startswith(("All", "Stopped")) or
                    "checks failed" in view.profiles_control.doctor_dialog.status.text(), timeout=60000)
    results = {n: ok for n, ok, _ in view.profiles_control.doctor_dialog.results}
    assert results["log in"] and results["sbatch found"] and results["partitions"]
    assert results["numpy"] and results["workdir writable"]
    view.profiles_control.doctor_dialog.close()


def test_the_view_says_when_the_connection_is_lost_and_recovers(remote_view, qtbot, test_cluster):
    view = remote_view
    name = test_cluster.profile.name
    qtbot.waitUntil(lambda: name in view.pollers, timeout=30000)
    poller = view.pollers[name]
    test_cluster.stop_sshd()
    try:
        poller.refresh()
        qtbot.waitUntil(lambda: view.connections.state(name)[0] == "reconnecting", timeout=30000)
        qtbot.waitUntil(lambda: "reconnecting" in view.profile_bar.state_label.text(), timeout=10000)
        assert "127.0.0.1" in view.connections.state(name)[1]  # the reason, as a tooltip
    finally:
        test_cluster.start_sshd()
    poller.refresh()
    qtbot.waitUntil(lambda: view.connections.state(name)[0] == "connected", timeout=40000)
    qtbot.waitUntil(lambda: view.profile_bar.state_label.text().endswith("</span> connected"), timeout=10000)


def test_closing_while_the_cluster_is_unreachable_is_quick(remote_view, qtbot, test_cluster):
    view = remote_view
    name = test_cluster.profile.name
    qtbot.waitUntil(lambda: name in view.pollers, timeout=30000)
    test_cluster.stop_sshd()
    try:
        view.pollers[name].refresh()  # this poll now waits between reconnect attempts (0.5 + 1 + 2 s)
        view.profiles_control.connect_profile(name)  # and this operation waits behind it
        qtbot.wait(400)
        started = time.monotonic()
        view.shutdown()
        took_s = time.monotonic() - started
    finally:
        test_cluster.start_sshd()
    assert took_s < 2.0, f"closing took {took_s:.1f} s"


# ----------------------------------------------------------------------------- the same functions as python -m remote


def _remote_cli(test_cluster, data_dir, *args):
    env = {**os.environ, "SCALELAB_DATA_DIR": str(data_dir), "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "remote", "--config", str(test_cluster.config_path), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=180)


def test_the_watch_dialog_follows_a_job_as_remote_watch_does(remote_view, qtbot, test_cluster, tmp_path):
    """Job folder, output file, metrics file, name, state and records: the same store rows."""
    view = remote_view
    name = test_cluster.profile.name
    job_dir = test_cluster.home / f"followed-{time.time_ns()}"
    test_cluster.as_user(["mkdir", "-p", str(job_dir)])
    script = ("#!/bin/bash\nfor i in 1 2 3; do\n"
              "  echo \"{\\\"epoch\\\": $i, \\\"train_loss\\\": 0.$i}\" >> metrics.jsonl; echo step $i; sleep 0.3\n"
              "done\n")
    test_cluster.as_user(["sh", "-c", f"cat > {job_dir}/run.sh <<'EOF'\n{script}EOF\n"])
    sub = test_cluster.as_user(["sbatch", "--parsable", f"--chdir={job_dir}", "--output=run-%j.out",
                                f"{job_dir}/run.sh"])
    assert sub.returncode == 0, sub.stderr
    job_id = sub.stdout.strip()
    cli_data = tmp_path / "cli-data"
    watch = _remote_cli(test_cluster, cli_data, "watch", "--profile", name, job_id, "--min-delay", "0.3")
    assert watch.returncode == 0, watch.stderr

    def follow(dialog):
        dialog.id_edit.setText(job_id)
        dialog.ok_button.click()

    answered = answer_dialog(WatchJobDialog, follow)
    view.job_list.watch_button.click()
    assert "dialog" in answered
    wait_state(qtbot, view, name, job_id, {"COMPLETED"})
    qtbot.waitUntil(lambda: view.store.get(name, job_id).n_records == 3, timeout=30000)
    with JobStore(str(cli_data / "jobs.sqlite")) as cli_store:
        by_cli = cli_store.get(name, job_id)
        cli_lines = cli_store.record_lines(name, job_id)
    by_gui = view.store.get(name, job_id)
    fields = ("kind", "name", "job_dir", "output_path", "metrics_path", "state", "n_records")
    assert [getattr(by_gui, f) for f in fields] == [getattr(by_cli, f) for f in fields]
    assert by_gui.job_dir == str(job_dir) and by_gui.metrics_path == f"{job_dir}/metrics.jsonl"
    assert view.store.record_lines(name, job_id) == cli_lines
    # The store is written in the poll's worker; the plot follows when its event arrives.
    qtbot.waitUntil(lambda: len(view.job_view.curve_data("loss", "train")[0]) == 3, timeout=10000)
    x, y = view.job_view.curve_data("loss", "train")
    assert list(x) == [1, 2, 3] and list(y) == [0.1, 0.2, 0.3]


def test_the_form_offers_the_partitions_remote_doctor_lists(remote_view, qtbot, test_cluster, tmp_path):
    view = remote_view
    doctor = _remote_cli(test_cluster, tmp_path / "cli-data", "doctor", "--profile", test_cluster.profile.name)
    line = next(ln for ln in doctor.stdout.splitlines() if ln.startswith("[ok] partitions: "))
    listed = [label.rstrip("*") for label in line.split(": ", 1)[1].split(", ")]
    combo = view.form.widgets["partition"]
    qtbot.waitUntil(lambda: combo.count() > 1, timeout=20000)
    offered = [combo.itemText(i) for i in range(combo.count()) if combo.itemText(i)]
    assert offered == listed == ["debug"]
