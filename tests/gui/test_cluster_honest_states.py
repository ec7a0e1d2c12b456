"""The Cluster view's states against the real test cluster, as an HPC user meets them.

A login node that never answers is red, never "connected"; a template with one field changed
follows through (tasks per node, job name) and is checked against the partition's nodes; a
refused submit takes its folder back; an sshd outage reads "reconnecting (attempt N, next in
M s)" and "Retry now" tries at once; times are SLURM's own (no start for a job cancelled while
pending); pending reasons are in words, and a limit that can never be met says so.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from gui.cluster import polling
from gui.cluster.job_form import partition_limit_errors
from gui.cluster.profiles import STATE_COLORS
from remote.config import Profile
from remote.slurm import explain_reason
from remote.states import ConnectionStatus
from tests.gui.test_cluster_remote import make_view, spec, wait_state
from tests.gui.test_cluster_view import answer_dialog
from tests.remote.test_ssh_robust import _Listener

pytestmark = pytest.mark.cluster


def click(button: QtWidgets.QAbstractButton) -> None:
    QTest.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)


def slurm(test_cluster, *argv: str) -> str:
    """Run a SLURM command here (as the cluster's administrator), times as Unix seconds."""
    env = {**test_cluster.env, "SLURM_TIME_FORMAT": "%s"}
    return subprocess.run(list(argv), env=env, capture_output=True, text=True, check=True, timeout=30).stdout


def slurm_times(test_cluster, job_id: str) -> dict[str, float | None]:
    text = slurm(test_cluster, "scontrol", "show", "job", job_id)
    out = {}
    for key in ("SubmitTime", "StartTime", "EndTime"):
        m = re.search(rf"\b{key}=(\S+)", text)
        out[key] = float(m.group(1)) if m and m.group(1).isdigit() else None
    out["NodeList"] = re.search(r"(?:^|\s)NodeList=(\S*)", text).group(1)
    return out


@pytest.fixture
def remote_view(qtbot, tmp_path, monkeypatch, test_cluster):
    view, store = make_view(qtbot, tmp_path, monkeypatch, test_cluster.profile)
    view.select_profile(test_cluster.profile.name)
    qtbot.waitUntil(lambda: view.connections.state(test_cluster.profile.name)[0] == "connected", timeout=30000)
    yield view
    view.shutdown()
    store.close()


# ----------------------------------------------------------------------------- 1: no banner


def test_a_login_node_that_never_sends_a_banner_is_red_never_connected(qtbot, tmp_path, monkeypatch):
    server = _Listener("silent")
    profile = Profile(name="silent", host="127.0.0.1", port=server.port, user="ada",
                      known_hosts=str(tmp_path / "kh"), ssh_config="/dev/null", connect_timeout_s=1.0)
    try:
        view, store = make_view(qtbot, tmp_path, monkeypatch, profile)
        seen: list[str] = []
        view.connections.state_changed.connect(lambda name, state, _m: seen.append(state))
        view.select_profile("silent")
        qtbot.waitUntil(lambda: view.connections.state("silent")[0] == ConnectionStatus.ERROR, timeout=30000)
        state, message = view.connections.state("silent")
        assert message == f"could not log in: the server at 127.0.0.1:{server.port} does not speak SSH (timed out)"
        assert ConnectionStatus.CONNECTED not in seen
        label = view.profile_bar.state_label.text()
        assert STATE_COLORS[ConnectionStatus.ERROR] in label and "does not speak SSH" in label
        assert "connected" not in label.replace("not connected", "")
        assert view.profile_bar.connect_button.isVisible()
        # Connect again: still red, still no "connected" on the way.
        seen.clear()
        click(view.profile_bar.connect_button)
        qtbot.waitUntil(lambda: ConnectionStatus.ERROR in seen, timeout=30000)
        assert ConnectionStatus.CONNECTED not in seen
        # The doctor says it in one line.
        click(view.profile_bar.check_button)
        dialog = view.profiles_control.doctor_dialog
        qtbot.waitUntil(lambda: bool(dialog.results) and dialog.status.text() != "running the checks…",
                        timeout=30000)
        assert [(n, ok) for n, ok, _ in dialog.results] == [("log in", False)]
        assert "does not speak SSH (timed out)" in dialog.results[0][2]
        dialog.close()
        view.shutdown()
        store.close()
    finally:
        server.close()


# ----------------------------------------------------------------------------- 2: the form and sbatch


def test_a_template_with_one_field_changed_follows_and_is_checked_against_the_nodes(remote_view, qtbot,
                                                                                    test_cluster):
    view = remote_view
    form = view.form
    qtbot.waitUntil(lambda: "debug" in form.partitions, timeout=20000)
    # The partition as sinfo describes it: two nodes of 2 CPUs, no time limit.
    assert form.partitions["debug"].cpus_per_node == (2,)
    view.compose_job(spec(3), "xor.json")
    assert view.compose.apply_template("Classroom: 4 ranks on 1 node, 10 minutes")
    assert form.values()["ntasks_per_node"] == 4 and form.values()["job_name"] == "scalelab-4ranks"
    # 4 tasks x 1 CPU on one node of 2 CPUs: marked on the field, in words; no submit.
    assert "ntasks_per_node" in form.errors()
    assert "the nodes of partition debug have 2" in form.widgets["ntasks_per_node"].toolTip()
    assert not view.compose.submit_button.isEnabled()
    # Tasks set to 2 (as a user types it): tasks per node and the name follow.
    spin = form.widgets["ntasks"]
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "2")
    assert form.values()["ntasks"] == 2
    assert form.values()["ntasks_per_node"] == 2
    assert form.values()["job_name"] == "scalelab-2ranks"
    assert "Tasks per node set to 2" in form.follow_label.text()
    assert form.is_valid() and view.compose.submit_button.isEnabled()
    assert "#SBATCH --ntasks-per-node=2" in view.script_text()
    assert "Partition debug: 2 nodes x 2 CPUs" in form.partition_info.text()
    # Three nodes do not exist here.
    form.widgets["nodes"].setValue(3)
    assert "nodes" in form.errors() and not view.compose.submit_button.isEnabled()
    assert partition_limit_errors(dict(form.values(), ntasks=6), form.partitions["debug"])["nodes"] == \
        "partition debug has 2 nodes; 3 can never be given"
    form.widgets["nodes"].setValue(1)
    assert form.is_valid()

    # SLURM accepts what the form lets through.
    view.submit()
    qtbot.waitUntil(lambda: view.job_view.job is not None or bool(view.last_submit_error), timeout=30000)
    assert not view.last_submit_error
    job_id = view.job_view.job.job_id
    wait_state(qtbot, view, test_cluster.profile.name, job_id, {"COMPLETED"})
    # (the last records may arrive with the poll after the one that saw the job end)
    qtbot.waitUntil(lambda: len(view.store.records(test_cluster.profile.name, job_id)) == 3, timeout=30000)
    assert [r["ranks"] for r in view.store.records(test_cluster.profile.name, job_id)] == [2] * 3


def test_a_refused_submit_takes_back_the_folder_it_uploaded(remote_view, qtbot, test_cluster):
    view = remote_view
    workdir = test_cluster.home / "scalelab"
    before = set(os.listdir(workdir)) if workdir.exists() else set()
    view.compose_job(spec(2), "xor.json")
    view.form.widgets["partition"].setEditText("nosuchpartition")
    assert "sinfo lists no partition 'nosuchpartition'" in view.form.partition_info.text()
    view.submit()
    qtbot.waitUntil(lambda: bool(view.last_submit_error), timeout=30000)
    assert "invalid partition" in view.compose.submit_result.toPlainText().lower()
    after = set(os.listdir(workdir)) if workdir.exists() else set()
    assert after == before, f"left on the cluster: {sorted(after - before)}"


# ----------------------------------------------------------------------------- 3: an outage


def test_an_outage_counts_its_attempts_and_retry_now_tries_at_once(remote_view, qtbot, test_cluster, monkeypatch):
    view = remote_view
    name = test_cluster.profile.name
    # Waits long enough that only the button can bring the connection back within the test.
    monkeypatch.setattr(polling, "RECONNECT_DELAYS_S", (3.0, 600.0))
    qtbot.waitUntil(lambda: name in view.pollers, timeout=30000)
    poller = view.pollers[name]
    bar = view.profile_bar
    test_cluster.stop_sshd()
    try:
        poller.refresh()
        qtbot.waitUntil(lambda: view.connections.state(name)[0] == ConnectionStatus.RECONNECTING, timeout=30000)
        qtbot.waitUntil(lambda: re.search(r"reconnecting \(attempt \d, next in \d+ s\)", bar.state_label.text())
                        is not None, timeout=10000)
        assert "connection failed" not in bar.state_label.text()
        qtbot.waitUntil(lambda: "attempt 2," in bar.state_label.text(), timeout=30000)
        assert re.search(r"attempt 2, next in \d{3} s", bar.state_label.text())
        assert bar.connect_button.isVisible() and bar.connect_button.text() == "Retry now"
    finally:
        test_cluster.start_sshd()
    polls = poller.polls
    click(bar.connect_button)
    qtbot.waitUntil(lambda: view.connections.state(name)[0] == ConnectionStatus.CONNECTED, timeout=30000)
    assert poller.polls > polls
    assert bar.state_label.text().endswith("</span> connected")
    assert not bar.connect_button.isVisible()


# ----------------------------------------------------------------------------- 4, 5, 6: SLURM's times and reasons


def test_times_are_slurms_and_a_job_that_finished_at_once_waited_what_slurm_says(remote_view, qtbot, test_cluster):
    view = remote_view
    name = test_cluster.profile.name
    view.compose_job(spec(2), "xor.json")
    view.form.widgets["ntasks"].setValue(1)
    view.submit()
    qtbot.waitUntil(lambda: view.job_view.job is not None or bool(view.last_submit_error), timeout=30000)
    assert not view.last_submit_error
    job_id = view.job_view.job.job_id
    wait_state(qtbot, view, name, job_id, {"COMPLETED"})
    qtbot.waitUntil(lambda: "Completed" in view.job_view.timeline.text(), timeout=10000)
    truth = slurm_times(test_cluster, job_id)
    job = view.store.get(name, job_id)
    assert (job.submitted_at, job.started_at, job.ended_at) == (truth["SubmitTime"], truth["StartTime"],
                                                                truth["EndTime"])
    assert all(job.from_slurm(w) for w in ("submitted", "started", "ended"))
    text = view.job_view.timeline.text()
    waited = int(truth["StartTime"] - truth["SubmitTime"])
    ran = int(truth["EndTime"] - truth["StartTime"])
    assert f"waited {waited} s" in text and f"job ran {ran} s" in text
    assert "seen at" not in text
    # The summary's time is the training's, and says so.
    assert "training " in view.job_view.summary.text()


def test_a_job_cancelled_while_pending_never_started_and_limits_say_to_resubmit(remote_view, qtbot, test_cluster):
    view = remote_view
    name = test_cluster.profile.name
    slurm(test_cluster, "scontrol", "update", "PartitionName=debug", "State=DOWN")
    try:
        view.compose_job(spec(2), "xor.json")
        view.form.widgets["time"].setText("00:05:00")
        view.submit()
        qtbot.waitUntil(lambda: view.job_view.job is not None or bool(view.last_submit_error), timeout=30000)
        assert not view.last_submit_error
        job_id = view.job_view.job.job_id
        qtbot.waitUntil(lambda: (view.store.get(name, job_id).reason or "") == "PartitionDown", timeout=30000)
        qtbot.waitUntil(lambda: view.job_view.reason_label.isVisible(), timeout=10000)
        # The Queue tab's words, in the Job tab; a partition that is down is waited out.
        assert explain_reason("PartitionDown") in view.job_view.reason_label.text()
        assert "never start" not in view.job_view.reason_label.text()
        # A limit the job can never meet: its time limit above the partition's.
        slurm(test_cluster, "scontrol", "update", "PartitionName=debug", "MaxTime=00:01:00", "State=UP")
        qtbot.waitUntil(lambda: (view.store.get(name, job_id).reason or "") == "PartitionTimeLimit", timeout=60000)
        qtbot.waitUntil(lambda: "never start as asked" in view.job_view.reason_label.text(), timeout=10000)
        words = view.job_view.reason_label.text()
        assert explain_reason("PartitionTimeLimit") in words and "submit it again" in words
        assert "lower the time limit" in words
        assert view.store.get(name, job_id).started_at is None
        # Cancel it from the Job tab.
        answered = answer_dialog(QtWidgets.QMessageBox, lambda box: next(
            b for b in box.buttons() if b.text() == "Cancel the job").click())
        click(view.job_view.cancel_button)
        assert "dialog" in answered
        wait_state(qtbot, view, name, job_id, {"CANCELLED"})
        qtbot.waitUntil(lambda: "Cancelled" in view.job_view.timeline.text(), timeout=10000)
    finally:
        slurm(test_cluster, "scontrol", "update", "PartitionName=debug", "MaxTime=INFINITE", "State=UP")
    truth = slurm_times(test_cluster, job_id)
    assert truth["NodeList"] in ("", "(null)")  # SLURM never gave it a node
    job = view.store.get(name, job_id)
    assert job.started_at is None and not job.from_slurm("started")
    assert job.submitted_at == truth["SubmitTime"] and job.ended_at == truth["EndTime"]
    text = view.job_view.timeline.text()
    assert "Never started" in text and "never ran" in text
    assert "Started" not in text.replace("Never started", "")
    assert not view.job_view.reason_label.isVisible()
