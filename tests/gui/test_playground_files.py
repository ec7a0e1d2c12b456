"""Playground files: save/open round trip, the engine trains them, models, CSV, pictures."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
from PySide6 import QtCore, QtGui

from engine.spec import load_spec
from tests.conftest import ROOT
from tests.gui.conftest import click_data

LEFT = QtCore.Qt.MouseButton.LeftButton


def _train_a_little(qtbot, view, epochs: int = 3) -> None:
    for _ in range(epochs):
        view.step()
        qtbot.waitUntil(lambda: not view.session.running, timeout=5000)
    view.draw_frame()


def _engine_train(spec_path: str, out_dir: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", "train", spec_path, "--out", out_dir],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_save_and_reopen_round_trip_and_engine_trains_it(qtbot, playground, tmp_path):
    view = playground
    # a painted data set, a per-layer activation, regularization and a stop rule
    click_data(qtbot, view, 1.0, 1.0)
    qtbot.waitUntil(lambda: view.session.dataset.n_train + view.session.dataset.n_test == 501,
                    timeout=3000)
    view.network.set_layer_activation(1, "relu")
    view.settings_bar.reg_combo.setCurrentIndex(view.settings_bar.reg_combo.findData("l2"))
    view.settings_bar.reg_rate_combo.setCurrentIndex(view.settings_bar.reg_rate_combo.findData(0.001))
    view.settings_bar.stop_epochs_check.setChecked(True)
    view.settings_bar.stop_epochs_spin.setValue(4)
    view.plot_box.discretize_check.setChecked(True)
    _train_a_little(qtbot, view)
    path = str(tmp_path / "class.json")
    view.save(path)

    spec = load_spec(path)
    assert spec == view.current_spec()  # data, features, model, settings and weights
    assert spec.dataset.kind == "points" and len(spec.dataset.points) == 501
    assert spec.model.activation == ("tanh", "relu")
    assert spec.train.l2 == 0.001 and spec.train.epochs == 4
    W0 = np.asarray(spec.weights[0]["W"])
    assert np.allclose(W0, view.session.snapshot.weights[0]["W"], atol=1e-6)
    assert spec.meta["playground"]["discretize"] is True

    from gui.playground.view import PlaygroundView

    other = PlaygroundView()
    qtbot.addWidget(other)
    try:
        other.open(path)
        assert other.current_spec() == spec
        assert other.plot_box.discretize_check.isChecked()
        assert np.allclose(other.session.snapshot.weights[0]["W"], W0, atol=1e-6)
        assert len(other.store) == 501
    finally:
        other.shutdown()

    # the same file is a run spec the headless engine accepts unchanged
    out = tmp_path / "run"
    proc = _engine_train(path, str(out))
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    assert [r["epoch"] for r in records][-1] == 4

    # and the model it writes opens in the Playground with its weights
    view.open_model(str(out / "model.npz"))
    from engine.model_io import load_model

    _spec, _pre, net = load_model(str(out / "model.npz"))
    assert np.allclose(view.session.snapshot.weights[0]["W"], net.layers[0].W)
    assert len(view.store) == 501


def test_preset_file_stays_a_preset(qtbot, playground, tmp_path):
    view = playground
    view.dataset_panel.choose_preset("xor")
    path = str(tmp_path / "xor.json")
    view.save(path)
    spec = load_spec(path)
    assert spec.dataset.kind == "xor" and spec.dataset.points is None
    view.dataset_panel.choose_preset("circle")
    view.open(path)
    assert view.dataset_panel.kind == "xor"
    assert view.dataset_panel.preset_buttons["xor"].isChecked()


def test_open_a_broken_file_names_the_problem(qtbot, playground, tmp_path):
    import pytest

    from engine.spec import SpecError

    bad = tmp_path / "bad.json"
    bad.write_text('{"model": {"kind": "forest"}}')
    with pytest.raises(SpecError, match="model.kind"):
        playground.open(str(bad))
    assert len(playground.store) == 500  # nothing changed


def test_csv_export_and_import(qtbot, playground, tmp_path):
    view = playground
    path = str(tmp_path / "points.csv")
    view.dataset_panel.export_csv(path)
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["x1", "x2", "label"] and len(rows) == 501
    qtbot.mouseClick(view.dataset_panel.paint.clear_button, LEFT)
    view.dataset_panel.import_csv(path)
    assert len(view.store) == 500
    assert sorted(view.store.class_names) == ["class 0", "class 1"]
    # data far outside the default square widens the plot (and the regions) to fit it
    wide = tmp_path / "wide.csv"
    wide.write_text("x1,x2,label\n" + "".join(f"{20 * np.cos(t):.3f},{10 * np.sin(t):.3f},{int(t > 3)}\n"
                                              for t in np.linspace(0, 6, 60)))
    view.dataset_panel.import_csv(str(wide))
    qtbot.waitUntil(lambda: not view.data_pending, timeout=3000)
    x0, x1, y0, y1 = view.data_plot.box
    assert x0 < -19 and x1 > 19 and y0 < -9 and y1 > 9
    assert view.session.render_options.box == view.data_plot.box
    errors = []
    view.dataset_panel.error_raised.connect(errors.append)
    broken = tmp_path / "broken.csv"
    broken.write_text("x1,x2,label\n1,2,a\n3,oops,b\n")
    view.dataset_panel.import_csv(str(broken))
    assert errors and "broken.csv" in errors[0] and "line 3" in errors[0]
    assert len(view.store) == 60


def test_curves_export_and_hover(qtbot, playground, tmp_path):
    view = playground
    _train_a_little(qtbot, view, 3)
    csv_path = str(tmp_path / "curves.csv")
    view.curves.export_csv(csv_path)
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(float(r["epoch"])) for r in rows] == [1, 2, 3]
    assert all(float(r["train_loss"]) > 0 for r in rows)
    png = str(tmp_path / "curves.png")
    assert view.curves.export_png(png)
    assert QtGui.QImage(png).width() > 100
    # hovering the loss plot shows the exact numbers of the nearest epoch
    plot = view.curves.loss_plot
    vb = plot.getPlotItem().vb
    scene_pos = vb.mapViewToScene(QtCore.QPointF(2.0, float(np.mean(vb.viewRange()[1]))))
    plot.scene().sigMouseMoved.emit(scene_pos)
    text = plot.readout.textItem.toPlainText()
    assert plot.readout.isVisible() and "epoch 2" in text
    assert f"{float(rows[1]['train_loss']):.4f}"[:5] in text
    # smoothing changes what is drawn, not the data
    view.curves.smoothing_slider.setValue(90)
    _, smoothed = view.curves.curve_data("train_loss")
    raw = view.curves.buffer.column("train_loss")
    assert np.isclose(smoothed[0], raw[0]) and not np.allclose(smoothed, raw)
    # the readout still gives the exact value, with the smoothed one the curve shows
    plot.scene().sigMouseMoved.emit(scene_pos)
    text = plot.readout.textItem.toPlainText()
    assert f"train {raw[1]:.4f}  (smoothed {smoothed[1]:.4f})" in text


def test_screenshot_command_line(tmp_path):
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "main.py", "--screenshot", str(out), "--view", "playground",
                           "--size", "1200x800"], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    img = QtGui.QImage(str(out))
    assert (img.width(), img.height()) == (1200, 800)


def test_screenshot_of_a_broken_file_fails_with_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"train": {"learning_rate": -1}}')
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "main.py", str(bad), "--screenshot", str(tmp_path / "x.png")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 1
    assert "train.learning_rate" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.png").exists()
