"""The Cluster view without a cluster: form, script preview, templates, and real local jobs.

Jobs here run on the built-in ``local`` profile (``bash job.sh`` in a job folder, the same
bundle a cluster gets), so submit -> records in the plot -> compare is exercised for real.
"""

from __future__ import annotations

import json
import os

import numpy as np
from PySide6 import QtCore, QtWidgets

from engine.spec import DatasetSpec, ModelSpec, RunSpec, TrainSpec, save_spec
from gui.cluster.dialogs import HostKeyChangedDialog, HostKeyDialog, SecretDialog
from gui.cluster.job_form import description_errors
from gui.cluster.script_preview import explain_line
from gui.cluster.view import ClusterView
from remote.slurm import DIRECTIVE_HELP, JobDescription, render_job_script, script_output_name
from remote.store import JobStore


def small_spec(epochs: int = 12) -> RunSpec:
    return RunSpec(
        dataset=DatasetSpec(kind="xor", n_samples=200, noise=0.05, seed=2),
        model=ModelSpec(kind="mlp", hidden=(8,), activation="tanh"),
        train=TrainSpec(epochs=epochs, batch_size=20, learning_rate=0.05, optimizer="adam"),
    )


def find_dialog(cls):
    for w in QtWidgets.QApplication.topLevelWidgets():
        if isinstance(w, cls) and w.isVisible():
            return w
    return None


def answer_dialog(cls, action, timeout_ms: int = 20000):
    """Run ``action(dialog)`` as soon as a visible ``cls`` dialog shows up (from a modal exec()).

    The polling timer belongs to the application, so it lives until it has answered; if no
    answer came within ``timeout_ms`` a dialog that is still open is rejected, so a failing
    test ends instead of waiting in a modal loop forever.
    """
    seen = {}
    timer = QtCore.QTimer(QtWidgets.QApplication.instance())
    timer.setInterval(30)
    elapsed = QtCore.QElapsedTimer()
    elapsed.start()

    def poll():
        dialog = find_dialog(cls)
        if dialog is not None and "dialog" not in seen:
            seen["dialog"] = dialog
            timer.stop()
            timer.deleteLater()
            action(dialog)
        elif elapsed.elapsed() > timeout_ms:
            timer.stop()
            timer.deleteLater()
            if dialog is not None:
                dialog.reject()

    timer.timeout.connect(poll)
    timer.start()
    return seen


# ----------------------------------------------------------------------------- form and script


def test_form_marks_every_bad_field_and_explains_sbatch_lines(view, qtbot):
    view.select_profile("local")
    assert view.form.widgets["time"].isEnabled() is False  # SLURM-only fields are off for 'local'
    errors = description_errors(JobDescription(job_name="bad name", time="1:99", mem="4X", job_dir="/x"))
    assert set(errors) == {"job_name", "time", "mem"}
    assert "1:99" in errors["time"]

    text = render_job_script(JobDescription(job_name="demo", nodes=2, ntasks=8, ntasks_per_node=4,
                                         job_dir="~/scalelab/demo-1"))
    assert 'JOB_DIR="$HOME"/scalelab/demo-1' in text
    line = next(ln for ln in text.splitlines() if ln.startswith("#SBATCH --ntasks-per-node"))
    explanation = explain_line(line, DIRECTIVE_HELP)
    assert explanation.startswith("--ntasks-per-node=4: ")
    assert DIRECTIVE_HELP["--ntasks-per-node"] in explanation
    assert explain_line("srun python3 -m engine", DIRECTIVE_HELP) is None
    assert script_output_name("#SBATCH --output=run-%j.log   # x\n", "slurm-%j.out") == "run-%j.log"


def test_preview_follows_the_form_until_edited(view, qtbot):
    view.compose_job(small_spec(), "xor.json")
    view.select_profile("local")
    view.form.widgets["ntasks"].setValue(3)
    assert "mpirun" in view.script_text() and "-n 3" in view.script_text()
    assert view.compose.submit_button.isEnabled()
    # An invalid name: marked at once, no script, no submit.
    view.form.widgets["job_name"].setText("no spaces please")
    assert "job_name" in view.form.errors()
    assert "border" in view.form.widgets["job_name"].styleSheet()
    assert not view.compose.submit_button.isEnabled()
    view.form.widgets["job_name"].setText("xor-run")
    assert view.compose.submit_button.isEnabled()
    # Hover help: the tooltip text for the line under the mouse.
    editor = view.compose.preview.editor
    block = next(b for b in range(editor.document().blockCount())
                 if editor.document().findBlockByNumber(b).text().startswith("#SBATCH --ntasks="))
    cursor = editor.textCursor()
    cursor.setPosition(editor.document().findBlockByNumber(block).position())
    rect = editor.cursorRect(cursor)
    assert editor.explanation_at(rect.center()).startswith("--ntasks=3: ")
    # Editing by hand stops regeneration until "Regenerate".
    editor.appendPlainText("# my note")
    assert view.compose.preview.edited
    view.form.widgets["ntasks"].setValue(2)
    assert "-n 3" in view.script_text() and "# my note" in view.script_text()
    view.compose.preview.regenerate_button.click()
    assert "-n 2" in view.script_text() and "# my note" not in view.script_text()


def test_templates_save_and_start_from(view, cluster_env):
    view.form.widgets["ntasks"].setValue(6)
    view.form.widgets["time"].setText("00:07:00")
    from gui.cluster.templates import list_templates, save_template

    save_template("six ranks", view.form.values())
    view.compose.reload_templates()
    builtin = [t.name for t in list_templates() if t.builtin]
    assert any("4 ranks" in n for n in builtin)
    view.compose.apply_template(next(n for n in builtin if "4 ranks" in n))
    assert view.form.values()["ntasks"] == 4
    assert view.compose.apply_template("six ranks")
    assert view.form.values()["ntasks"] == 6 and view.form.values()["time"] == "00:07:00"
    saved = json.loads((cluster_env / "config" / "templates" / "six_ranks.json").read_text())
    assert saved["values"]["ntasks"] == 6


def test_dialogs_guard_the_connection(qtbot):
    unknown = HostKeyDialog("login.example.org:2222", "ssh-ed25519", "SHA256:abc", "~/.ssh/known_hosts")
    qtbot.addWidget(unknown)
    assert unknown.cancel_button.isDefault() and not unknown.trust_button.isDefault()
    assert unknown.fingerprint_label.text() == "SHA256:abc"
    changed = HostKeyChangedDialog("login.example.org", "ssh-ed25519", "SHA256:new")
    qtbot.addWidget(changed)
    buttons = changed.findChildren(QtWidgets.QPushButton)
    assert [b.text() for b in buttons] == ["Close"]  # nothing to click through
    secret = SecretDialog("Password", "Password for a@b:")
    qtbot.addWidget(secret)
    assert secret.edit.echoMode() == QtWidgets.QLineEdit.EchoMode.Password
    secret.edit.setText("hunter2")
    secret.reject()
    assert secret.edit.text() == ""  # a cancelled secret is not kept


# ----------------------------------------------------------------------------- real local jobs


def test_local_job_records_reach_the_plot_and_compare(view, qtbot, cluster_env):
    epochs = 15
    spec_path = cluster_env / "xor.json"
    save_spec(small_spec(epochs), str(spec_path))
    assert view.open_spec_file(str(spec_path))
    view.select_profile("local")
    view.form.widgets["job_name"].setText("xor-local")
    view.submit()
    qtbot.waitUntil(lambda: view.job_view.job is not None, timeout=20000)
    job = view.store.jobs("local")[0]
    assert view.job_view.job.job_id == job.job_id
    assert view.tabs.currentWidget() is view.job_view
    assert "Submitted job" in view.compose.submit_result.toPlainText()
    qtbot.waitUntil(lambda: len(view.job_view.curve_data("loss", "test")[0]) == epochs, timeout=60000)
    x, y = view.job_view.curve_data("loss", "test")
    assert list(x) == list(range(1, epochs + 1))
    stored = view.store.records("local", job.job_id)
    assert np.allclose(y, [r["test_loss"] for r in stored])
    qtbot.waitUntil(lambda: view.store.get("local", job.job_id).state == "COMPLETED", timeout=60000)
    # The store is written in the poll's worker; the timeline follows when its event arrives.
    qtbot.waitUntil(lambda: "Completed" in view.job_view.timeline.text(), timeout=10000)
    # The local profile's queue table lists the job too.
    qtbot.waitUntil(lambda: view.queue_table.row_of(job.job_id) >= 0, timeout=30000)
    # Fetch the results and find the model.
    view.fetch("local", job.job_id)
    qtbot.waitUntil(lambda: view.job_view.open_button.isEnabled(), timeout=20000)
    assert os.path.exists(view.job_view.fetched_model)
    # Open the fetched model in a real Playground (MainWindow wires the same signal).
    from engine.model_io import load_model
    from gui.playground.view import PlaygroundView

    playground = PlaygroundView()
    qtbot.addWidget(playground)
    try:
        view.open_model_requested.connect(playground.open_model)
        view.job_view.open_button.click()
        _, _, network = load_model(view.job_view.fetched_model)
        shown = playground.current_spec()
        assert shown.dataset.kind == "xor" and shown.model.hidden == (8,)
        assert np.allclose(np.asarray(shown.weights[0]["W"]), network.get_weights()[0]["W"])
    finally:
        playground.shutdown()
    # Compare: the run is there with its records on the epoch axis.
    view.tabs.setCurrentWidget(view.compare)
    key = f"local/{job.job_id}"
    view.compare.set_checked(key, True)
    cx, cy = view.compare.curve_data(key, "loss", "test")
    assert np.allclose(cy, y)
    view.compare.set_axis("elapsed_s")
    ex, _ = view.compare.curve_data(key, "loss", "test")
    assert np.allclose(ex, [r["elapsed_s"] for r in stored])


def test_tracked_jobs_survive_a_restart(qtbot, cluster_env):
    store_path = str(cluster_env / "jobs.sqlite")
    store = JobStore(store_path)
    store.add_job("local", "L4242", name="old-run", job_dir=str(cluster_env / "gone"), ntasks=2)
    lines = [json.dumps({"epoch": e, "train_loss": 1.0 / e, "test_loss": 1.2 / e}) for e in (1, 2, 3)]
    store.append_records("local", "L4242", lines, 0, 100)
    store.update("local", "L4242", state="COMPLETED", active=False)
    store.close()
    store = JobStore(store_path)
    v = ClusterView(config_path=str(cluster_env / "config" / "profiles.toml"), store=store)
    qtbot.addWidget(v)
    try:
        assert v.job_list.row_texts()[0][0].startswith("L4242")
        v.show_job("local", "L4242")
        x, y = v.job_view.curve_data("loss", "train")
        assert list(x) == [1, 2, 3] and np.allclose(y, [1.0, 0.5, 1 / 3])
    finally:
        v.shutdown()
        store.close()


def test_records_already_shown_are_not_plotted_twice(view, cluster_env):
    """A poll stores records before its events reach the GUI thread; a reload in between shows them."""
    from remote.monitor import MonitorEvent

    store = view.store
    store.add_job("local", "L77", name="race", job_dir=str(cluster_env / "gone"), ntasks=2)
    view.show_job("local", "L77")
    lines = [json.dumps({"epoch": e, "train_loss": 1.0 / e, "test_loss": 1.5 / e}) for e in (1, 2, 3)]
    store.append_records("local", "L77", lines, 0, 60)
    store.update("local", "L77", state="RUNNING")
    records = tuple(json.loads(line) for line in lines)
    # The first poll after a job starts: its state change, then its records, in one batch.
    view.apply_events([MonitorEvent("state", "local", "L77", state="RUNNING"),
                     MonitorEvent("records", "local", "L77", records=records, lines=tuple(lines))])
    x, _ = view.job_view.curve_data("loss", "test")
    assert list(x) == [1, 2, 3]
    # The next batch appends just its own records.
    more = [json.dumps({"epoch": 4, "train_loss": 0.2, "test_loss": 0.3})]
    store.append_records("local", "L77", more, 60, 80)
    view.apply_events([MonitorEvent("records", "local", "L77", records=(json.loads(more[0]),), lines=tuple(more))])
    x, y = view.job_view.curve_data("loss", "test")
    assert list(x) == [1, 2, 3, 4] and np.allclose(y, [1.5, 0.75, 0.5, 0.3])


# ----------------------------------------------------------------------------- profiles, prompts, queue


def test_profile_editor_validates_and_offers_ssh_config_hosts(qtbot, tmp_path, view, cluster_env):
    from gui.cluster.profiles import ProfileEditor, ssh_config_hosts

    cfg = tmp_path / "ssh_config"
    cfg.write_text("Host login1 login2\n  HostName l1.example.org\nHost *.internal\nHost !bad gw\n")
    assert ssh_config_hosts(str(cfg)) == ["login1", "login2", "gw"]
    editor = ProfileEditor(None, ["local", "hpc"])
    qtbot.addWidget(editor)
    editor.name_edit.setText("hpc")
    editor.host_combo.setEditText("login.example.org")
    editor.save_button.click()
    assert "exists already" in editor.error_label.text()
    editor.name_edit.setText("teaching")
    editor.partition_edit.setText("bad partition!")
    editor.save_button.click()
    assert "partition" in editor.error_label.text() and editor.result_profile is None
    editor.partition_edit.setText("batch")
    editor.port_spin.setValue(2222)
    editor.save_button.click()
    p = editor.result_profile
    assert (p.name, p.host, p.port, p.partition) == ("teaching", "login.example.org", 2222, "batch")
    # Saved through the view: the profile file holds it and the bar offers it.
    profiles = dict(view.profiles)
    profiles[p.name] = p
    assert view.profiles_control.save_profiles(profiles)
    view.reload_profiles()
    assert view.profile_bar.combo.findData("teaching") >= 0
    text = (cluster_env / "config" / "profiles.toml").read_text()
    assert "[profiles.teaching]" in text and "password" not in text.lower()


def test_password_prompt_from_a_worker_thread_is_answered_and_forgotten(qtbot):
    import threading

    from gui.cluster.connections import PromptBridge

    bridge = PromptBridge()
    answers = []
    done = threading.Event()

    def worker():
        answers.append(bridge("Verification code: ", False))
        answers.append(bridge("Password for a@b: ", True))
        done.set()

    titles = []

    def answer(dialog):
        # Both prompts may come while the test waits, so one answerer handles them in turn.
        titles.append(dialog.windowTitle())
        if dialog.windowTitle() == "One-time code":
            assert dialog.edit.echoMode() == QtWidgets.QLineEdit.EchoMode.Normal
            dialog.edit.setText("123456")
            dialog.accept()
        else:
            assert dialog.edit.echoMode() == QtWidgets.QLineEdit.EchoMode.Password
            dialog.edit.setText("secret")
            dialog.reject()

    handled = set()

    def poll():
        dialog = find_dialog(SecretDialog)
        if dialog is not None and dialog.windowTitle() not in handled:
            handled.add(dialog.windowTitle())
            answer(dialog)

    timer = QtCore.QTimer(QtWidgets.QApplication.instance())
    timer.setInterval(30)
    timer.timeout.connect(poll)
    timer.start()
    thread = threading.Thread(target=worker, daemon=True)
    try:
        thread.start()
        qtbot.waitUntil(done.is_set, timeout=20000)
        thread.join()
    finally:
        timer.stop()
        timer.deleteLater()
    assert titles == ["One-time code", "Password"]
    assert answers == ["123456", None]
    assert not hasattr(bridge, "answer") and not bridge.__dict__.get("_last")


def test_queue_filters_sort_and_explain(qtbot):
    from gui.cluster.queue_table import QueueTable
    from remote.slurm import parse_squeue

    rows = "\n".join([
        "17|ana|PENDING|batch|2|0:00|1:00:00|2026-01-01T10:00:00|N/A|N/A|(Priority)|train-a",
        "9|ana|RUNNING|batch|1|12:03|30:00|2026-01-01T09:00:00|2026-01-01T09:01:00|N/A|node01|train-b",
        "120|bob|COMPLETED|gpu|4|1:02:03|2:00:00|2026-01-01T08:00:00|2026-01-01T08:00:05|2026-01-01T09:02:08|node[02-05]|big",
        "18|ana|PENDING|batch|1|0:00|1:00:00|2026-01-01T10:01:00|N/A|N/A|(None)|train-c",
    ])
    table = QueueTable()
    qtbot.addWidget(table)
    table.set_user("ana")
    table.set_entries(parse_squeue(rows))
    assert sorted(table.visible_job_ids(), key=int) == ["9", "17", "18"]  # "my jobs"
    assert table.cell_text("17", 7) == "Other jobs with a higher priority are ahead of this one in the queue."
    # Pending without a reason yet is not "not waiting for anything".
    assert table.cell_text("18", 7) == "Just submitted: SLURM has not looked at it yet."
    assert table.cell_text("9", 6) == "12:03 / 30:00"
    table.scope_combo.setCurrentIndex(1)  # all jobs
    assert len(table.visible_job_ids()) == 4
    table.state_combo.setCurrentText("finished")
    assert table.visible_job_ids() == ["120"]
    table.state_combo.setCurrentText("all states")
    table.view.sortByColumn(0, QtCore.Qt.SortOrder.AscendingOrder)
    assert table.visible_job_ids() == ["9", "17", "18", "120"]  # numeric, not text order
    table.view.sortByColumn(6, QtCore.Qt.SortOrder.DescendingOrder)
    assert table.visible_job_ids()[0] == "120"  # longest elapsed first
    assert table.select_job("120") and not table.cancel_button.isEnabled()  # finished: nothing to cancel
    assert table.select_job("9") and table.cancel_button.isEnabled()
    assert "last updated" in table.updated_label.text()


def test_presentation_mode_thickens_curves(view, qtbot):
    view.store.add_job("local", "L1", name="r", job_dir="/nonexistent", ntasks=1)
    view.store.append_records("local", "L1", ['{"epoch": 1, "train_loss": 1.0, "test_loss": 1.1}',
                                              '{"epoch": 2, "train_loss": 0.5, "test_loss": 0.6}'], 0, 10)
    view.show_job("local", "L1")
    test_curve = view.job_view.loss_plot.curves["job"][1]
    before = test_curve.opts["pen"].widthF()
    view.set_presentation(True)
    assert test_curve.opts["pen"].widthF() > 2 * before
    assert "font-size: 16pt" in view.styleSheet()
    view.set_presentation(False)
    assert test_curve.opts["pen"].widthF() == before


def test_compare_metrics_files_from_disk(view, tmp_path):
    samples = os.path.join(os.path.dirname(os.path.dirname(__file__)), "remote", "data", "keras-logs")
    run = view.compare.add_file(os.path.join(samples, "keras2-acc-lr.out"))
    assert run is not None and view.compare.is_checked(run.key)
    x, train = view.compare.curve_data(run.key, "loss", "train")
    _, test = view.compare.curve_data(run.key, "loss", "test")
    assert list(x) == [1, 2, 3]
    assert np.allclose(train, [0.2118, 0.0696, 0.0461]) and np.allclose(test, [0.0951, 0.0608, 0.0484])
    csv_path = tmp_path / "training.log"
    csv_path.write_text("epoch,accuracy,loss,val_accuracy,val_loss\n0,0.5,0.9,0.55,0.8\n1,0.7,0.6,0.72,0.5\n")
    csv_run = view.compare.add_file(str(csv_path))
    view.compare.set_axis("elapsed_s")
    # Keras printed epoch times (62 s, 49 s, 48 s): the wall-time axis is their running sum.
    ex, _ = view.compare.curve_data(run.key, "loss", "test")
    assert list(ex) == [62.0, 111.0, 159.0]
    # A CSVLogger file has no times: it has nothing to draw on a wall-time axis.
    assert len(view.compare.curve_data(csv_run.key, "loss", "test")[0]) == 0
    view.compare.set_axis("epoch")
    assert np.allclose(view.compare.curve_data(csv_run.key, "accuracy", "test")[1], [0.55, 0.72])
    legend_labels = [item[1].text for item in view.compare.loss_plot.legend.items]
    assert any("keras2-acc-lr.out" in label for label in legend_labels)
    # With nothing ticked the empty chart says what to do.
    view.compare.set_checked(run.key, False)
    view.compare.set_checked(csv_run.key, False)
    assert "tick runs on the left" in view.compare.loss_plot.getPlotItem().titleLabel.text
    bad = tmp_path / "notes.txt"
    bad.write_text("nothing to see\n")
    assert view.compare.add_file(str(bad)) is None
    assert "no epoch records" in view.compare.error_label.text()


def test_timeline_of_a_job_followed_from_elsewhere():
    from gui.cluster.job_timeline import timeline_text
    from remote.store import StoredJob

    base = dict(profile="p", job_id="7", name="x", reason="", job_dir="", output_path="", metrics_path="",
                metrics_offset=0, n_records=0, exit_code=0, ntasks=None, updated_at=0.0, active=False, message="")
    ours = StoredJob(kind="tracked", state="COMPLETED", submitted_at=1000.0, started_at=1030.0, ended_at=1090.0,
                     **base)
    steps = timeline_text(ours, now_s=2000.0)
    assert steps[0][0] == "Submitted" and "waited 30 s" in steps[1][1] and "ran 1 min 00 s" in steps[2][1]
    # Followed at 1000 s, running since 400 s: no "waited" made up from when we began to follow it.
    theirs = StoredJob(kind="external", state="COMPLETED", submitted_at=1000.0, started_at=400.0,
                       ended_at=1090.0, **base)
    steps = timeline_text(theirs, now_s=2000.0)
    assert steps[0][0] == "Followed"
    assert "waited" not in steps[1][1] and "before it was followed" in steps[1][1]
    assert "ran 11 min 30 s" in steps[2][1]


def test_the_profile_picked_last_time_is_picked_again(qtbot, cluster_env):
    config = cluster_env / "config" / "profiles.toml"
    config.write_text(config.read_text() + '\n[profiles.hpc]\nhost = "127.0.0.1"\nport = 9\nuser = "u"\n')
    store = JobStore(str(cluster_env / "jobs.sqlite"))
    try:
        first = ClusterView(config_path=str(config), store=store)
        qtbot.addWidget(first)
        assert first.profile_bar.current() == "local"
        first.select_profile("hpc")
        first.shutdown()
        again = ClusterView(config_path=str(config), store=store)
        qtbot.addWidget(again)
        assert again.profile_bar.current() == "hpc"
        again.shutdown()
    finally:
        store.close()


def test_output_tail_waits_until_the_job_starts(view, qtbot, cluster_env):
    # An earlier job's file already stands where this job's output will go.
    output = cluster_env / "job.out"
    output.write_text("an earlier job's output\n")
    view.store.add_job("local", "L1-1", name="waiting", job_dir=str(cluster_env), output_path=str(output))
    view.store.update("local", "L1-1", state="PENDING")
    view.show_job("local", "L1-1")
    view.tabs.setCurrentWidget(view.job_view)
    view.output_tail.poll()
    qtbot.wait(300)
    assert view.job_view.output_text() == ""

    # The job starts: SLURM truncates the file and the job writes its own lines.
    output.write_text("epoch 1 of this job\n")
    view.store.update("local", "L1-1", state="RUNNING")
    view.output_tail.poll()
    qtbot.waitUntil(lambda: "epoch 1 of this job" in view.job_view.output_text(), timeout=5000)
    assert "earlier job" not in view.job_view.output_text()


def test_an_unreadable_profile_file_is_kept_when_a_profile_is_saved(qtbot, cluster_env):
    from remote.config import Profile, load_profiles

    config = cluster_env / "config" / "profiles.toml"
    broken = b'[profiles.hpc.uni]\nhost = "login"\n[profiles.other]\nport = "22"\n'
    config.write_bytes(broken)
    store = JobStore(str(cluster_env / "jobs.sqlite"))
    v = ClusterView(config_path=str(config), store=store)
    qtbot.addWidget(v)
    try:
        assert "only 'local' is available" in v.status.text()
        profiles = dict(v.profiles)
        profiles["hpc.uni"] = Profile(name="hpc.uni", host="login.example.org")
        assert v.profiles_control.save_profiles(profiles)
        v.reload_profiles()
        qtbot.waitUntil(lambda: "kept as" in v.status.text(), timeout=5000)
        backup = v.status.text().split("kept as ")[1].split(" and a new")[0]
        assert open(backup, "rb").read() == broken
        assert load_profiles(config)["hpc.uni"].host == "login.example.org"
        assert v.profile_bar.combo.findData("hpc.uni") >= 0
    finally:
        v.shutdown()
        store.close()


def test_submit_asks_before_uploading_data_from_outside_the_spec_folder(view, qtbot, cluster_env):
    outside = cluster_env / "shared" / "points.csv"
    outside.parent.mkdir()
    outside.write_text("x1,x2,label\n" + "\n".join(f"{i % 2},{i % 3},{i % 2}" for i in range(40)) + "\n")
    spec_path = cluster_env / "proj" / "spec.json"
    spec_path.parent.mkdir()
    spec_path.write_text(json.dumps({"dataset": {"kind": "csv", "path": "../shared/points.csv"},
                                     "model": {"kind": "logistic"}, "train": {"epochs": 2, "batch_size": 8}}))
    assert view.open_spec_file(str(spec_path))
    view.select_profile("local")
    view.form.widgets["job_name"].setText("outside")
    questions = []

    def answer(button):
        def act(box):
            questions.append(box.text())
            box.button(button).click()
        return act

    answer_dialog(QtWidgets.QMessageBox, answer(QtWidgets.QMessageBox.StandardButton.No))
    qtbot.mouseClick(view.compose.submit_button, QtCore.Qt.MouseButton.LeftButton)
    assert str(outside) in questions[0]
    assert "Not submitted" in view.compose.submit_result.toPlainText() and view.store.jobs("local") == []
    answer_dialog(QtWidgets.QMessageBox, answer(QtWidgets.QMessageBox.StandardButton.Yes))
    qtbot.mouseClick(view.compose.submit_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Submitted job" in view.compose.submit_result.toPlainText(), timeout=20000)
    job = view.store.jobs("local")[0]
    assert open(os.path.join(job.job_dir, "data", "points.csv")).read() == outside.read_text()
    qtbot.waitUntil(lambda: view.store.get("local", job.job_id).state == "COMPLETED", timeout=60000)


def test_the_job_list_is_updated_row_by_row_not_rebuilt(view, qtbot, cluster_env):
    """A poll's events change the rows they concern; the list is not reset and keeps the user's pick."""
    from remote.monitor import MonitorEvent

    store = view.store
    for job_id, at in (("L10-1", 100.0), ("L11-1", 200.0)):
        store.add_job("local", job_id, name=f"run-{job_id}", job_dir=str(cluster_env / "gone"), submitted_at=at)
        view.job_list.model.update_job("local", job_id)
    assert [row[0] for row in view.job_list.row_texts()] == ["L11-1 run-L11-1", "L10-1 run-L10-1"]
    # The user picks the older job in the list: the Job tab shows it.
    rect = view.job_list.view.visualRect(view.job_list.model.index(1, 0))
    qtbot.mouseClick(view.job_list.view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.job_view.job.job_id == "L10-1" and view.tabs.currentWidget() is view.job_view
    resets, changed = [], []
    view.job_list.model.modelReset.connect(lambda: resets.append(True))
    view.job_list.model.dataChanged.connect(lambda top, bottom, *_: changed.append((top.row(), bottom.row())))
    store.update("local", "L10-1", state="RUNNING")
    view.apply_events([MonitorEvent("state", "local", "L10-1", state="RUNNING")])
    assert resets == [] and changed == [(1, 1)]
    assert view.job_list.row_texts()[1] == ("L10-1 run-L10-1", "RUNNING", "local")
    # A job submitted elsewhere meanwhile arrives as a new row on top; the pick stays on its job.
    store.add_job("local", "L12-1", name="newest", job_dir=str(cluster_env / "gone"), submitted_at=300.0)
    view.apply_events([MonitorEvent("state", "local", "L12-1", state="PENDING")])
    assert resets == [] and [row[0] for row in view.job_list.row_texts()][0] == "L12-1 newest"
    picked = view.job_list.view.selectionModel().selectedRows()
    assert [index.data(QtCore.Qt.ItemDataRole.UserRole) for index in picked] == [("local", "L10-1")]
