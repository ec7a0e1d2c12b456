"""The Scaling tab driven as a user would: typing, clicking Run, choosing rows, toggling the reference, exporting."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtTest import QTest

from engine.spec import load_spec
from gui.scaling import tips
from gui.scaling.table import COLUMNS, format_cell
from gui.scaling.view import ScalingView
from remote.config import local_profile
from remote.store import JobStore
from remote.sweep import SweepPlan, SweepRun, SweepState, amdahl_speedup, fit_serial_fraction
from tests.conftest import require
from tests.remote.test_local_jobs import _mpi_ready

SPEC = {"dataset": {"kind": "spiral", "n_samples": 2000, "seed": 2}, "model": {"kind": "mlp", "hidden": [16]},
        "train": {"epochs": 3, "batch_size": 40, "seed": 1}}


@pytest.fixture
def view(qtbot, tmp_path):
    config = tmp_path / "profiles.toml"
    config.write_text(f'[profiles.local]\nworkdir = "{tmp_path / "work"}"\npython = "{sys.executable}"\n')
    v = ScalingView(config_path=str(config), store_path=str(tmp_path / "jobs.sqlite"),
                    sweeps_dir=str(tmp_path / "sweeps"))
    qtbot.addWidget(v)
    v.resize(1500, 900)
    v.show()
    yield v
    v.shutdown()


def _type(widget: QtWidgets.QLineEdit, text: str) -> None:
    widget.selectAll()
    QTest.keyClick(widget, QtCore.Qt.Key_Delete)
    QTest.keyClicks(widget, text)


def _click(button: QtWidgets.QAbstractButton) -> None:
    QTest.mouseClick(button, QtCore.Qt.LeftButton)


def _click_row(table: QtWidgets.QTableWidget, row: int) -> None:
    rect = table.visualItemRect(table.item(row, 0))
    QTest.mouseClick(table.viewport(), QtCore.Qt.LeftButton, pos=rect.center())


def _cells(table: QtWidgets.QTableWidget) -> list[list[str]]:
    return [[table.item(i, j).text() for j in range(table.columnCount())] for i in range(table.rowCount())]


@pytest.mark.mpi
def test_a_sweep_started_with_clicks_fills_the_table_and_plots_from_its_jobs(view, qtbot, tmp_path, monkeypatch):
    require(_mpi_ready(), "mpirun and mpi4py are needed for 2 local ranks")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    _type(view.spec_edit, str(spec))
    _type(view.ranks_edit, "1,2")
    assert view.profile_combo.currentText() == "local"
    _click(view.run_button)
    assert view.sweeping and not view.run_button.isEnabled() and view.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not view.sweeping, timeout=180_000)
    assert view.run_button.isEnabled() and not view.stop_button.isEnabled()
    assert "every job completed" in view.status.text()

    folder = view.sweep.folder
    table = json.load(open(os.path.join(folder, "scaling.json")))
    rows = table["rows"]
    assert [r["ranks"] for r in rows] == [1, 2]
    # The table shows the file's figures.
    assert _cells(view.table) == [[format_cell(r.get(key), fmt) for _, key, fmt, _ in COLUMNS] for r in rows]
    # the engine records each rank's compute, communication and wait time per epoch
    assert rows[1]["wait_s"] is not None and rows[1]["wait_s"] >= 0 and view.table.item(1, 10).text() != "—"
    assert [len(rows[1][k]) for k in ("rank_compute_s", "rank_comm_s", "rank_wait_s")] == [2, 2, 2]
    # The jobs are ordinary jobs of the store (the Cluster view lists them).
    with JobStore(tmp_path / "jobs.sqlite") as store:
        assert sorted(j.job_id for j in store.jobs("local")) == sorted(r["job_ids"][0] for r in rows)
    assert [view.runs_table.item(i, 4).text() for i in range(2)] == ["COMPLETED", "COMPLETED"]

    # Speedup plot: measured points, ideal line, Amdahl's law with the fitted fraction.
    measured = view.speedup.measured
    assert list(measured.xData) == [1, 2]
    assert measured.yData == pytest.approx([1.0, rows[1]["samples_per_s"] / rows[0]["samples_per_s"]])
    f = fit_serial_fraction([1, 2], [r["speedup"] for r in rows])
    assert view.speedup.serial_fraction == pytest.approx(f) and table["serial_fraction"] == pytest.approx(f)
    assert view.speedup.ideal.yData == pytest.approx(view.speedup.ideal.xData)
    assert view.speedup.amdahl.yData == pytest.approx(amdahl_speedup(f, view.speedup.amdahl.xData))
    assert f"{f:.3f}" in view.fraction_label.text()
    # Efficiency bars: speedup / ranks, in percent.
    assert view.efficiency.bars.opts["height"] == pytest.approx([100.0, 100 * rows[1]["speedup"] / 2])

    # Choosing the 1-rank row shows its times in the timeline.
    _click_row(view.table, 0)
    assert view.table.currentRow() == 0
    assert view.timeline.labels == ["rank 0"]
    assert view.timeline.values["compute"] == pytest.approx(rows[0]["rank_compute_s"])
    _click_row(view.table, 1)
    assert view.timeline.labels == ["rank 0", "rank 1"]
    assert view.timeline.comm.opts["height"] == pytest.approx(rows[1]["rank_comm_s"])
    assert view.timeline.comm.opts["y0"] == pytest.approx(rows[1]["rank_compute_s"])
    assert view.timeline.wait.opts["y0"] == pytest.approx(np.add(rows[1]["rank_compute_s"], rows[1]["rank_comm_s"]))

    # The course's table overlaid, normalized to its own 1-GPU figure.
    _click(view.reference_check)
    ref = view.speedup.reference
    assert list(ref.xData) == [1, 4, 8, 16, 32, 64, 128]
    assert ref.yData == pytest.approx(np.array([55, 178, 357, 689, 1230, 2276, 5562]) / 55)
    assert ref in view.speedup.widget.getPlotItem().items
    _click(view.reference_check)
    assert ref not in view.speedup.widget.getPlotItem().items

    # Export: the CSV reads back as the folder's table; the PNG is a picture of the plots.
    out_csv, out_png = tmp_path / "out.csv", tmp_path / "out.png"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(out_csv if "csv" in a[2] else out_png), "")))
    _click(view.export_csv_button)
    _click(view.export_png_button)
    assert out_csv.read_text() == open(os.path.join(folder, "scaling.csv")).read()
    assert [int(r["ranks"]) for r in csv.DictReader(open(out_csv))] == [1, 2]
    image = QtGui.QImage(str(out_png))
    assert image.width() == view.plots_widget.width() and image.height() == view.plots_widget.height()


def test_a_bad_request_is_one_line_in_the_tab_and_submits_nothing(view, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    _type(view.spec_edit, str(spec))
    for ranks, nodes, words in (("0,2", "1", "0 is below 1"), ("1,x", "1", "'x' is not a whole number"),
                                ("1,2", "2", "2 nodes for 1 rank"), ("1,3", "1", "3 ranks do not divide it evenly")):
        _type(view.ranks_edit, ranks)
        _type(view.nodes_edit, nodes)
        _click(view.run_button)
        assert words in view.status.text() and "\n" not in view.status.text()
        assert not view.sweeping and not view.runner.running
    assert not (tmp_path / "sweeps").exists() and not (tmp_path / "work").exists()


def _synthetic_sweep(tmp_path) -> str:
    """A sweep folder whose runs carry per-rank lists and a straggler warning, as the engine writes them."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    plan = SweepPlan(spec_path=str(spec), spec_sha256=hashlib.sha256(spec.read_bytes()).hexdigest(),
                     profile="local", mode="strong", ranks=(1, 2, 4), nodes=(1, 1, 1), repeat=1, base_batch=40)
    fig2 = {"samples_per_s": 1800.0, "compute_s": 1.1, "comm_s": 0.3, "wait_s": 0.25, "rank_compute_s": [1.0, 1.2],
            "rank_comm_s": [0.3, 0.3], "rank_wait_s": [0.5, 0.0],
            "warnings": ["rank 1 took 20% longer than the median"]}
    runs = [SweepRun(1, 1, 0, "L1", "COMPLETED", {"samples_per_s": 1000.0, "compute_s": 2.0, "comm_s": 0.0}),
            SweepRun(2, 1, 0, "L2", "COMPLETED", fig2), SweepRun(4, 1, 0, "L3", "CANCELLED", {})]
    state = SweepState(str(tmp_path / "sw"), plan, runs)
    os.makedirs(state.folder)
    state.save()
    return state.folder


def test_an_opened_sweep_shows_per_rank_bars_stacked_and_straggler_warnings(view, tmp_path, monkeypatch):
    folder = _synthetic_sweep(tmp_path)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: folder))
    _click(view.open_button)
    assert view.table.rowCount() == 2 and view.runs_table.rowCount() == 3
    assert "2 of 3 runs finished" in view.status.text() and view.resume_button.isEnabled()
    assert view.table.currentRow() == 1  # the newest row is shown
    tl = view.timeline
    assert tl.labels == ["rank 0", "rank 1"]
    assert tl.compute.opts["height"] == pytest.approx([1.0, 1.2])
    assert tl.comm.opts["y0"] == pytest.approx([1.0, 1.2]) and tl.comm.opts["height"] == pytest.approx([0.3, 0.3])
    assert tl.wait.opts["y0"] == pytest.approx([1.3, 1.5]) and tl.wait.opts["height"] == pytest.approx([0.5, 0.0])
    assert "rank 1 took 20% longer than the median" in view.warnings_label.text()
    assert view.speedup.measured.yData == pytest.approx([1.0, 1.8])
    assert view.efficiency.bars.opts["height"] == pytest.approx([100.0, 90.0])


def test_every_figure_explains_itself_on_hover(view):
    assert "samples per second on N ranks divided by" in view.speedup.widget.toolTip()
    assert "Amdahl" in view.speedup.widget.toolTip()
    assert "speedup divided by the number of ranks" in view.efficiency.widget.toolTip()
    assert "straggler" in view.timeline.widget.toolTip() and "Allreduce" in view.timeline.widget.toolTip()
    assert view.mode_combo.itemData(0, QtCore.Qt.ToolTipRole) == tips.STRONG
    assert view.mode_combo.itemData(1, QtCore.Qt.ToolTipRole) == tips.WEAK
    assert "Serial fraction" in view.fraction_label.toolTip()
    assert "straggler" in view.warnings_label.toolTip()
    assert "course" in view.reference_check.toolTip()
    headers = {view.table.horizontalHeaderItem(j).text(): view.table.horizontalHeaderItem(j).toolTip()
               for j in range(view.table.columnCount())}
    assert "Allreduce" in headers["Comm s"] and "another rank" in headers["Wait s"]
    assert all(headers.values())


def test_the_playgrounds_spec_becomes_the_sweeps_spec(qtbot, tmp_path):
    from gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    try:
        scaling = window.show_view("scaling")
        scaling.sweeps_dir = str(tmp_path / "sweeps")
        _click(scaling.playground_button)
        path = scaling.spec_edit.text()
        assert path.startswith(str(tmp_path / "sweeps")) and "Playground" in scaling.status.text()
        saved = load_spec(path)
        shown = window.views["playground"].current_spec()
        assert saved.model == shown.model and saved.dataset == shown.dataset and saved.train == shown.train
    finally:
        for v in window.views.values():
            if hasattr(v, "shutdown"):
                v.shutdown()


def test_local_profile_is_offered_first(view):
    assert view.profile_combo.itemText(0) == local_profile().name


def test_speedup_axes_are_labelled_in_powers_of_two():
    from gui.scaling.plots import power_of_two_ticks

    ticks = power_of_two_ticks(0.2, 128)
    assert [label for _, label in ticks] == ["1/8", "1/4", "1/2", "1", "2", "4", "8", "16", "32", "64", "128"]
    assert [pos for pos, _ in ticks] == pytest.approx(np.log10([2.0 ** k for k in range(-3, 8)]))


@pytest.mark.mpi
def test_stop_keeps_the_finished_rows_and_resume_runs_only_the_rest(view, qtbot, tmp_path):
    require(_mpi_ready(), "mpirun and mpi4py are needed for 2 local ranks")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({**SPEC, "dataset": {**SPEC["dataset"], "n_samples": 20000}}))
    _type(view.spec_edit, str(spec))
    _type(view.ranks_edit, "1,2")
    _click(view.run_button)
    # Stop as soon as the second job is in flight.
    qtbot.waitUntil(lambda: view.runs_table.item(1, 3).text() != "—", timeout=180_000)
    first_job = view.runs_table.item(0, 3).text()
    _click(view.stop_button)
    qtbot.waitUntil(lambda: not view.sweeping, timeout=60_000)
    assert view.runs_table.item(0, 4).text() == "COMPLETED" and view.runs_table.item(1, 4).text() == "CANCELLED"
    assert view.table.rowCount() == 1 and view.resume_button.isEnabled()
    assert "Resume runs the rest" in view.status.text()
    _click(view.resume_button)
    qtbot.waitUntil(lambda: not view.sweeping, timeout=180_000)
    assert view.table.rowCount() == 2 and "every job completed" in view.status.text()
    assert view.runs_table.item(0, 3).text() == first_job  # not run again
    with JobStore(tmp_path / "jobs.sqlite") as store:
        assert len(store.jobs("local")) == 3


def test_profiles_added_elsewhere_are_offered_when_the_tab_is_shown_again(view, tmp_path):
    config = tmp_path / "profiles.toml"
    config.write_text(config.read_text() + '\n[profiles.hpc]\nhost = "login.example.org"\n')
    assert view.profile_combo.findText("hpc") < 0
    view.hide()
    view.show()
    assert [view.profile_combo.itemText(i) for i in range(view.profile_combo.count())] == ["local", "hpc"]


def _deep_sweep(tmp_path) -> str:
    """The synthetic sweep in a folder with a long path, as a user's home can give."""
    deep = tmp_path / ("a-rather-long-folder-name-for-sweeps-" * 3) / "course" / "week-7"
    deep.mkdir(parents=True)
    return _synthetic_sweep(deep)


def _legend_inside(plot) -> bool:
    pi = plot.widget.getPlotItem()
    legend = pi.legend
    box = pi.vb.sceneBoundingRect()
    return box.contains(legend.sceneBoundingRect())


def test_a_long_sweep_folder_never_makes_the_tab_wider_than_a_projector(view, qtbot, tmp_path):
    folder = _deep_sweep(tmp_path)
    assert view.open_sweep(folder)
    assert len(f"Sweep folder: {folder}") > 150
    # whole in text() and tooltip; shortened in the middle on screen, its last folder kept
    assert view.folder_label.text() == f"Sweep folder: {folder}" == view.folder_label.toolTip()
    view.resize(1280, 760)
    qtbot.waitUntil(lambda: "…" in view.folder_label.shown_text())
    assert view.folder_label.shown_text().endswith(os.path.basename(folder))
    for on in (False, True):
        view.set_presentation(on)
        QtWidgets.QApplication.processEvents()
        assert view.minimumSizeHint().width() <= 1240, on
        view.resize(1280, 760)
        qtbot.wait(50)
        for plot in (view.speedup, view.timeline):
            pi = plot.widget.getPlotItem()
            assert _legend_inside(plot), (on, plot, pi.legend.sceneBoundingRect(), pi.vb.sceneBoundingRect())
        # every column shows its whole header: sized to contents, the spare width shared out
        header = view.table.horizontalHeader()
        for j in range(view.table.columnCount()):
            assert view.table.columnWidth(j) >= header.sectionSizeFromContents(j).width(), (on, j)
        assert sum(view.table.columnWidth(j) for j in range(view.table.columnCount())) <= \
            view.table.viewport().width()


def test_presentation_mode_shows_the_results_large_and_hides_the_controls(view, qtbot, tmp_path):
    assert view.open_sweep(_synthetic_sweep(tmp_path))
    pi = view.timeline.widget.getPlotItem()
    tick_pt = pi.getAxis("bottom").style["tickFont"]
    assert tick_pt is None or tick_pt.pointSizeF() == pytest.approx(9.0)
    view.set_presentation(True)
    assert not view.controls_widget.isVisible() and not view.run_button.isVisible()
    for plot in (view.speedup, view.efficiency, view.timeline):
        pi = plot.widget.getPlotItem()
        assert pi.getAxis("left").style["tickFont"].pointSizeF() == pytest.approx(9.0 * 1.6)
        assert "font-size:16pt" in pi.titleLabel.item.toHtml()
    assert view.speedup.measured.opts["pen"].widthF() == pytest.approx(2.0 * 1.6)
    assert "font-size:14pt" in view.timeline.legend.items[0][1].item.toHtml()
    view.set_presentation(False)
    assert view.controls_widget.isVisible() and view.run_button.isVisible()
    assert view.speedup.measured.opts["pen"].widthF() == pytest.approx(2.0)
    assert view.speedup.widget.getPlotItem().getAxis("left").style["tickFont"].pointSizeF() == pytest.approx(9.0)


def test_the_fitted_serial_fraction_is_in_the_speedup_plots_legend(view, tmp_path):
    assert view.open_sweep(_synthetic_sweep(tmp_path))
    f = view.serial_fraction
    label = view.speedup.legend.getLabel(view.speedup.amdahl).text
    assert label == f"Amdahl, serial {f:.3f} (max {1 / f:.3g}x)"
    # both rank counts' points lie inside the x range, not on its edges
    lo, hi = view.speedup.widget.getPlotItem().vb.viewRange()[0]
    assert lo < np.log10(1.0) and np.log10(2.0) < hi


def test_many_ranks_are_numbered_every_kth_bar():
    from gui.scaling.plots import RankTimeline

    tl = RankTimeline()
    n = 48
    tl.set_row({"ranks": n, "nodes": 2, "rank_compute_s": [1.0] * n, "rank_comm_s": [0.1] * n,
                "rank_wait_s": [0.0] * n})
    shown = [label for label in tl.labels if label]
    assert shown == [str(i) for i in range(0, n, 4)] and len(tl.labels) == n
    assert tl.note == "rank (of 48, 2 nodes)"
    tl.set_row({"ranks": 4, "nodes": 1, "rank_compute_s": [1.0] * 4, "rank_comm_s": [0.1] * 4})
    assert tl.labels == ["rank 0", "rank 1", "rank 2", "rank 3"] and tl.note == "4 ranks, 1 node"


def test_before_any_sweep_the_plots_show_a_readable_empty_frame(view):
    speedup = view.speedup.widget.getPlotItem()
    ticks = speedup.getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == ["1", "2", "4"]
    assert view.speedup.ideal.xData[[0, -1]] == pytest.approx([1.0, 4.0])
    assert len(view.speedup.measured.xData or []) == 0
    eff = view.efficiency.widget.getPlotItem()
    low, high = eff.vb.viewRange()[1]
    assert -10 < low <= 0 and 110 <= high < 125  # 0-110% with the plot's padding
    assert not eff.getAxis("bottom").autoSIPrefix and eff.getAxis("bottom").labelUnitPrefix == ""
    tl = view.timeline.widget.getPlotItem()
    assert tl.getAxis("bottom")._tickLevels[0] == [] and view.timeline.labels == []
