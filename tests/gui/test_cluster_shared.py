"""The command line and the Cluster view do shared things through the same functions of ``remote/``.

Each test drives ``python -m remote`` (a real subprocess) and the view (as a user would) on
the same job and store, and compares what they produce: the order of job ids, the doctor's
findings, a job's output, the fetched files, and how a fetch that would replace different
files is stopped. Jobs run on the built-in ``local`` profile; the same on a real cluster
is in ``test_cluster_remote.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PySide6 import QtCore, QtWidgets

from gui.cluster.job_list import JobList
from gui.cluster.queue_table import QueueTable
from remote.cli import queue_order
from remote.slurm import QueueEntry, job_id_key
from remote.store import JobStore
from tests.conftest import ROOT
from tests.gui.test_cluster_view import answer_dialog

IDS = ["120", "9", "30_10", "17", "30", "30_2", "1000"]


def entry(job_id: str, state: str = "RUNNING") -> QueueEntry:
    return QueueEntry(job_id=job_id, name="j", user="u", state=state, partition="p", nodes=1, elapsed="0:01",
                      time_limit="10:00", reason="", nodelist="n1", submit_time="", start_time="")


def test_one_job_id_order_in_the_command_line_the_queue_table_the_store_and_the_job_list(qtbot, tmp_path):
    numeric = ["9", "17", "30", "30_2", "30_10", "120", "1000"]
    assert sorted(IDS, key=job_id_key) == numeric
    # The command line's queue: newest (highest id) first.
    cli = [e.job_id for e in queue_order([entry(i) for i in IDS])]
    assert cli == numeric[::-1]
    # The queue table, sorted by its ID column.
    table = QueueTable()
    qtbot.addWidget(table)
    table.scope_combo.setCurrentIndex(1)  # everyone's jobs
    table.set_entries([entry(i) for i in IDS])
    table.view.sortByColumn(0, QtCore.Qt.SortOrder.DescendingOrder)
    assert table.visible_job_ids() == cli
    # The store (jobs submitted at the same moment: the id decides) and the job list over it.
    with JobStore(str(tmp_path / "jobs.sqlite")) as store:
        for job_id in IDS:
            store.add_job("p", job_id, submitted_at=1000.0)
        assert [j.job_id for j in store.jobs()] == cli
        jobs = JobList(store)
        qtbot.addWidget(jobs)
        assert [row[0] for row in jobs.row_texts()] == cli
        # A job arriving later is inserted where the store's order puts it; the others keep their rows.
        store.add_job("p", "31", submitted_at=1000.0)
        jobs.model.update_job("p", "31")
        assert [row[0] for row in jobs.row_texts()] == [j.job_id for j in store.jobs()]


# ----------------------------------------------------------------------------- one local job, two front ends


def cli(env, *args, check: bool = True):
    out = subprocess.run([sys.executable, "-m", "remote", "--config", str(env / "config" / "profiles.toml"),
                          "--store", str(env / "jobs.sqlite"), *args], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)
    if check:
        assert out.returncode == 0, out.stderr
    return out


@pytest.fixture
def finished_job(cluster_env):
    """A tiny job submitted and watched to its end with the command line; its id."""
    spec = cluster_env / "xor.json"
    spec.write_text(json.dumps({"dataset": {"kind": "xor", "n_samples": 120, "seed": 1},
                                "model": {"kind": "mlp", "hidden": [4]}, "train": {"epochs": 6}}))
    job_id = cli(cluster_env, "submit", "--profile", "local", str(spec)).stdout.split()[-1]
    watch = cli(cluster_env, "watch", "--profile", "local", job_id, "--min-delay", "0.2", check=False)
    assert watch.returncode == 0, watch.stderr
    return job_id


def test_output_shown_is_what_remote_log_prints(view, qtbot, cluster_env, finished_job):
    printed = cli(cluster_env, "log", "--profile", "local", finished_job).stdout
    assert "Finished" in printed
    view.show_job("local", finished_job)
    qtbot.waitUntil(lambda: view.job_view.output_text() != "", timeout=10000)
    assert view.job_view.output_text() == printed


def test_fetch_writes_the_same_files_and_asks_in_its_own_words(view, qtbot, cluster_env, finished_job):
    cli_dir = cluster_env / "cli-fetch"
    written = cli(cluster_env, "fetch", "--profile", "local", finished_job, "--out", str(cli_dir)).stdout.split()
    names = sorted(os.path.basename(p) for p in written)
    assert {"metrics.jsonl", "model.npz", "result.json"} <= set(names)

    view.show_job("local", finished_job)
    with qtbot.waitSignal(view.job_actions.fetched, timeout=20000):
        view.job_view.fetch_button.click()
    gui_dir = view.job_actions.fetched_dir(view.store.get("local", finished_job))
    assert sorted(os.listdir(gui_dir)) == names
    for name in names:
        assert (cli_dir / name).read_bytes() == open(os.path.join(gui_dir, name), "rb").read(), name

    # Two local copies changed since: the command line refuses with its advice ...
    for folder in (str(cli_dir), gui_dir):
        for name in ("metrics.jsonl", "result.json"):
            with open(os.path.join(folder, name), "w") as fh:
                fh.write("edited here\n")
    refused = cli(cluster_env, "fetch", "--profile", "local", finished_job, "--out", str(cli_dir), check=False)
    assert refused.returncode == 2 and "would overwrite" in refused.stderr and "--force" in refused.stderr
    # ... and the view asks, in its own words, before replacing them.
    asked = {}

    def replace(box):
        asked["text"] = box.text()
        next(b for b in box.buttons() if b.text() == "Replace").click()

    answered = answer_dialog(QtWidgets.QMessageBox, replace)
    with qtbot.waitSignal(view.job_actions.fetched, timeout=20000):
        view.job_view.fetch_button.click()
    assert "dialog" in answered
    assert asked["text"].startswith(f"Replace the 2 files in {gui_dir} that differ from the job's?")
    assert "--force" not in asked["text"] and "--out" not in asked["text"]
    forced = cli(cluster_env, "fetch", "--profile", "local", finished_job, "--out", str(cli_dir), "--force")
    assert forced.returncode == 0
    for name in names:
        assert (cli_dir / name).read_bytes() == open(os.path.join(gui_dir, name), "rb").read(), name


def test_declining_the_replace_keeps_the_local_files(view, qtbot, cluster_env, finished_job):
    view.show_job("local", finished_job)
    with qtbot.waitSignal(view.job_actions.fetched, timeout=20000):
        view.job_view.fetch_button.click()
    gui_dir = view.job_actions.fetched_dir(view.store.get("local", finished_job))
    edited = os.path.join(gui_dir, "result.json")
    with open(edited, "w") as fh:
        fh.write("my notes\n")
    answered = answer_dialog(QtWidgets.QMessageBox,
                             lambda box: next(b for b in box.buttons() if b.text() == "Keep it").click())
    with qtbot.waitSignal(view.job_actions.fetch_failed, timeout=20000):
        view.job_view.fetch_button.click()
    assert "dialog" in answered
    assert open(edited).read() == "my notes\n"
    assert "earlier copy was kept" in view.job_view.message.text()


def test_the_check_dialog_finds_what_remote_doctor_finds(view, qtbot, cluster_env):
    printed = cli(cluster_env, "doctor", "--profile", "local", check=False).stdout.splitlines()
    cli_checks = []
    for line in printed:
        if line.startswith(("[ok] ", "[FAIL] ")):
            verdict, rest = line.split(" ", 1)
            name, detail = rest.split(": ", 1)
            cli_checks.append((name, verdict == "[ok]", detail))
    assert [name for name, _, _ in cli_checks][:1] == ["python"]
    view.select_profile("local")
    view.profile_bar.check_button.click()
    qtbot.waitUntil(lambda: view.profiles_control.doctor_dialog is not None and
                    not view.profiles_control.doctor_dialog.status.text().startswith("running"), timeout=60000)
    dialog = view.profiles_control.doctor_dialog
    assert dialog.results == cli_checks
    dialog.close()
