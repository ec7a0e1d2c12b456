"""The Cluster view's details: any record stream charted, run warnings, identical runs in
Compare, the float32 drift note, and the small things a user trips over (empty charts, the
profile name, the changed-key command, the doctor's advice, cancel for one's own job).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
import subprocess

import numpy as np
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from gui.cluster.compare import FLOAT32_NOTE, LEGEND_CHARS, Run
from gui.cluster.dialogs import HostKeyChangedDialog, WatchJobDialog
from gui.cluster.profiles import DoctorDialog, ProfileEditor
from remote.logparse import parse_metrics_file
from tests.conftest import require
from tests.gui.test_cluster_view import small_spec

SAMPLES_KERAS = Path(__file__).parent.parent / "remote" / "data" / "keras-logs"


def store_job(view, job_id: str, records: list[dict], kind: str = "tracked", state: str = "COMPLETED"):
    """A job of the ``local`` profile with ``records`` in the store, shown in the Job tab."""
    lines = [json.dumps(r) for r in records]
    view.store.add_job("local", job_id, name=f"job-{job_id}", kind=kind, ntasks=2, submitted_at=1000.0, state=state)
    if lines:
        view.store.append_records("local", job_id, lines, 0, sum(len(ln) + 1 for ln in lines))
    view.store.update("local", job_id, active=False)
    view.job_list.model.update_job("local", job_id)
    view.show_job("local", job_id)


SVM_RECORDS = [
    {"iteration": i * 1000, "pair": 1, "pairs": 3, "dual_objective": -50.0 + i, "n_support": 40 + i,
     "max_violation": 2.0 / i, "elapsed_s": 0.1 * i, "ranks": 2,
     "rank_compute_s": [0.1 * i, 0.1 * i], "rank_comm_s": [0.01, 0.02], "rank_wait_s": [0.0, 0.003]}
    for i in range(1, 6)
]


def test_svm_records_get_their_own_charts_on_an_iteration_axis(view):
    warned = dict(SVM_RECORDS[2], warnings=["rank 1 waited 40% of the step for the others (a straggler)"])
    repeated = dict(SVM_RECORDS[3], warnings=["rank 1 waited 40% of the step for the others (a straggler)"])
    store_job(view, "S1", SVM_RECORDS[:2] + [warned, repeated] + SVM_RECORDS[4:])
    jv = view.job_view
    assert jv.shown_families() == ["dual_objective", "max_violation", "n_support"]
    x, y = jv.curve_data("dual_objective")
    assert list(x) == [1000, 2000, 3000, 4000, 5000]
    assert np.allclose(y, [r["dual_objective"] for r in SVM_RECORDS])
    x, y = jv.curve_data("max_violation")
    assert np.allclose(y, [2.0 / i for i in range(1, 6)])
    plot = jv.plots["dual_objective"].getPlotItem()
    assert plot.getAxis("bottom").labelText == "iteration"
    assert "SVM dual objective" in plot.titleLabel.text
    # Per-rank lists are not curves; no loss chart without a loss.
    assert "loss" not in jv.shown_families()
    assert not jv.legend_label.isVisible()  # no train/test pair to explain
    # The run's warning, once, in plain words.
    assert jv.warnings_label.isVisible()
    assert jv.warnings_label.text().count("straggler") == 1
    assert jv.summary.text().startswith("5,000 iterations")


def test_kmeans_records_chart_inertia_and_shift(view):
    records = [{"iteration": i, "inertia": 100.0 / i, "shift": 1.0 / (i * i), "elapsed_s": 0.01 * i}
               for i in range(1, 8)]
    store_job(view, "K1", records)
    assert view.job_view.shown_families() == ["inertia", "shift"]
    x, y = view.job_view.curve_data("inertia")
    assert list(x) == list(range(1, 8)) and np.allclose(y, [100.0 / i for i in range(1, 8)])
    assert "k-means centre shift" in view.job_view.plots["shift"].getPlotItem().titleLabel.text
    assert not view.job_view.warnings_label.isVisible()


def test_a_new_jobs_empty_charts_forget_the_previous_axes(view, qtbot):
    records = [{"epoch": e, "train_loss": 5.0 / e, "test_loss": 6.0 / e, "train_accuracy": 0.5, "test_accuracy": 0.5,
                "elapsed_s": 0.1 * e, "ranks": 1} for e in range(1, 51)]
    store_job(view, "A", records)
    qtbot.waitUntil(lambda: view.job_view.loss_plot.getPlotItem().viewRange()[0][1] > 40, timeout=5000)
    store_job(view, "B", [], state="PENDING")
    qtbot.wait(50)  # a redraw: an autorange left over from job A would move the axes now
    assert view.job_view.shown_families() == ["loss", "accuracy"]
    for plot in (view.job_view.loss_plot, view.job_view.acc_plot):
        (x0, x1), (y0, y1) = plot.getPlotItem().viewRange()
        assert (x0, x1) == (0, 1) and (y0, y1) == (0, 1)
    assert view.job_view.summary.text() == "no records yet"


def test_wall_time_and_training_time_are_told_apart(view):
    records = [{"epoch": e, "train_loss": 1.0 / e, "test_loss": 1.0 / e, "elapsed_s": 0.05 * e, "ranks": 1}
               for e in range(1, 3)]
    store_job(view, "W", records)
    view.store.update("local", "W", started_at=1002.0, ended_at=1004.0)
    view.show_job("local", "W")
    assert "job ran 2 s" in view.job_view.timeline.text()
    assert "training 0.1 s" in view.job_view.summary.text()


def test_keras_lines_of_under_a_second_count_their_steps(view):
    with open(f"{SAMPLES_KERAS}/keras3-xla.out", encoding="utf-8") as fh:
        records = parse_metrics_file("slurm-9.out", fh.read())
    store_job(view, "KX", records)
    # 2 s for epoch 1, then "0s 2ms/step" over 32 steps: 0.064 s, not 0.
    assert "training 2.1 s" in view.job_view.summary.text()


def _identical_runs(view):
    records = [{"epoch": e, "train_loss": 1.0 / e, "test_loss": 1.2 / e, "elapsed_s": 0.1 * e, "ranks": 1}
               for e in range(1, 21)]
    long_name = "a-rather-long-job-name-that-a-course-might-choose-for-its-runs"
    one = Run(key="one", label=f"7 · 1 rank · local · {long_name}", records=records)
    two = Run(key="two", label=f"8 · 2 ranks · local · {long_name}",
              records=[dict(r, ranks=2, elapsed_s=0.2 * r["epoch"]) for r in records])
    view.tabs.setCurrentWidget(view.compare)
    view.compare.set_run(one, checked=True)
    view.compare.set_run(two, checked=True)
    return one, two


def test_compare_marks_a_run_that_lies_on_another_and_elides_long_names(view):
    one, two = _identical_runs(view)
    compare = view.compare
    x1, y1 = compare.curve_data("one")
    x2, y2 = compare.curve_data("two")
    assert np.array_equal(y1, y2)  # really on top of each other
    first, second = (compare.plots["loss"].curves[k][1] for k in ("one", "two"))
    assert first.opts["symbol"] is not None and second.opts["symbol"] is not None
    assert first.opts["symbol"] != second.opts["symbol"]
    assert second.opts["pen"].style() == QtCore.Qt.PenStyle.DashDotLine
    assert "lies exactly on" in compare.note_label.text()
    # Long names: elided in the list and legend (the job id and rank count stay), whole in the tooltip.
    assert compare.list.textElideMode() == QtCore.Qt.TextElideMode.ElideRight
    item = compare.list.item(1)
    # Elided, not cut: the list never scrolls sideways, and the text drawn keeps both ends.
    assert compare.list.horizontalScrollBarPolicy() == QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    width = compare.list.viewport().width()
    assert compare.list.fontMetrics().horizontalAdvance(item.text()) > width  # too long to show whole
    shown = compare.list.fontMetrics().elidedText(item.text(), QtCore.Qt.TextElideMode.ElideRight, width)
    assert shown.startswith("8 · 2 ranks") and "…" in shown
    assert two.label in item.toolTip() and "20 epochs" in item.toolTip()
    legend_names = [label.text for _sample, label in compare.plots["loss"].legend.items]
    assert all(len(n) <= LEGEND_CHARS for n in legend_names) and any(n.endswith("…") for n in legend_names)
    # Different curves: no markers.
    compare.set_run(Run(key="two", label=two.label, records=[dict(r, test_loss=r["test_loss"] * 1.01)
                                                             for r in two.records]))
    assert compare.plots["loss"].curves["two"][1].opts["symbol"] is None
    assert "lies exactly on" not in compare.note_label.text()


def test_float32_drift_is_explained_and_float64_offered(view, qtbot):
    _identical_runs(view)
    compare = view.compare
    assert compare.note_label.isVisible()
    assert "float32" in compare.note_label.text() and "order" in compare.note_label.text()
    view.compose_job(small_spec(), "xor.json")
    assert not view.compose.float64_check.isChecked()
    view.tabs.setCurrentWidget(view.compare)
    # The note's link (what a click on it sends).
    compare.note_label.linkActivated.emit("float64")
    assert view.tabs.currentWidget() is view.compose
    assert view.compose.float64_check.isChecked()
    assert view.compose.spec.train.dtype == "float64"
    assert "float64" in view.compose.spec_label.text()
    # The job folder's spec.json says so too.
    QTest.mouseClick(view.compose.float64_check, QtCore.Qt.MouseButton.LeftButton)
    assert view.compose.spec.train.dtype == "float32"
    assert FLOAT32_NOTE.split(":")[0] in compare.note_label.text()


def test_add_profile_names_it_after_the_host_not_its_first_keystroke(qtbot, cluster_env):
    editor = ProfileEditor(None, ["local"])
    qtbot.addWidget(editor)
    host = editor.host_combo.lineEdit()
    QTest.keyClicks(host, "login1.hpc.example.org")
    assert editor.name_edit.text() == "login1"
    host.clear()
    QTest.keyClicks(host, "10.0.0.5")
    assert editor.name_edit.text() == "10-0-0-5"
    editor.name_edit.clear()
    QTest.keyClicks(editor.name_edit, "course")
    QTest.keyClicks(host, "1")
    assert editor.name_edit.text() == "course"


def test_the_changed_key_dialog_gives_the_exact_command_and_it_works(qtbot, tmp_path):
    require(shutil.which("ssh-keygen") is not None, "ssh-keygen (openssh-client) is needed")
    known = tmp_path / "my known_hosts"
    key = subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")],
                         capture_output=True)
    assert key.returncode == 0
    pub = (tmp_path / "k.pub").read_text().split()[:2]
    known.write_text(f"[127.0.0.1]:2222 {' '.join(pub)}\nother.example.org {' '.join(pub)}\n")
    dialog = HostKeyChangedDialog("127.0.0.1:2222", "ssh-ed25519", "SHA256:x", known_hosts=str(known))
    qtbot.addWidget(dialog)
    assert dialog.command == f"ssh-keygen -R '[127.0.0.1]:2222' -f '{known}'"
    assert dialog.command_edit.text() == dialog.command
    assert subprocess.run(["bash", "-c", dialog.command], capture_output=True).returncode == 0
    assert known.read_text().splitlines()[-1].startswith("other.example.org")
    assert "[127.0.0.1]:2222" not in known.read_text()
    plain = HostKeyChangedDialog("login1", "ssh-ed25519", "SHA256:x", known_hosts="/tmp/kh")
    qtbot.addWidget(plain)
    assert plain.command == "ssh-keygen -R login1 -f /tmp/kh"


def test_the_doctors_advice_is_wrapped_not_cut(qtbot):
    dialog = DoctorDialog("hpc")
    qtbot.addWidget(dialog)
    dialog.show()
    advice = ("not in PATH: is this a SLURM login node? add a `module load slurm` line to setup; "
              "without it sbatch, squeue and sinfo cannot be found and no job can be submitted")
    dialog.add_check("sbatch found", False, advice)
    item = dialog.list.topLevelItem(0)
    label = dialog.list.itemWidget(item, 2)
    assert isinstance(label, QtWidgets.QLabel) and label.wordWrap() and label.text() == advice


def test_the_watch_dialog_shows_its_placeholders_whole(qtbot):
    dialog = WatchJobDialog("hpc")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    for edit in (dialog.id_edit, dialog.output_edit, dialog.metrics_edit):
        assert edit.width() >= edit.fontMetrics().horizontalAdvance(edit.placeholderText()) + 12


def test_cancel_is_offered_for_a_followed_job_that_is_the_users_own(view):
    store_job(view, "77", [], kind="external", state="RUNNING")
    view.store.update("local", "77", active=True, state="RUNNING")
    view.show_job("local", "77")
    assert not view.job_view.cancel_button.isEnabled()
    view.job_view.set_own_jobs("local", {"77"})
    assert view.job_view.cancel_button.isEnabled()
