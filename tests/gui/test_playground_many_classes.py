"""Imported data with more classes than the eight painting colours: a larger palette."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from PySide6 import QtCore, QtGui

from gui import theme
from tests.conftest import ROOT

LEFT = QtCore.Qt.MouseButton.LeftButton


def _circle_csv(path, n_classes, per_class=12):
    rng = np.random.default_rng(0)
    angles = 2 * np.pi * np.arange(n_classes) / n_classes
    rows = []
    for c, a in enumerate(angles):
        for p in 4 * np.array([np.cos(a), np.sin(a)]) + rng.normal(0, 0.25, size=(per_class, 2)):
            rows.append(f"{p[0]:.4f},{p[1]:.4f},{c + 1}")
    path.write_text("x1,x2,label\n" + "\n".join(rows) + "\n")


def test_palette_has_up_to_100_distinct_colours_and_keeps_the_eight():
    assert theme.class_colors(8) == theme.CLASS_COLORS
    colors = theme.class_colors(100)
    assert len(set(colors)) == 100
    lab = theme._srgb_to_lab(theme.class_rgb(100).astype(np.float64))
    assert lab[8:, 0].max() <= 85  # nothing paler than the Okabe-Ito yellow on the white plot
    d = np.linalg.norm(lab[:, None] - lab[None], axis=2)
    d[np.diag_indices(100)] = np.inf
    assert d.min() > 15  # CIE76: clearly different colours side by side
    # the closed form of CIELAB at two known points (sRGB white and black)
    np.testing.assert_allclose(theme._srgb_to_lab(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])),
                               [[100, 0, 0], [0, 0, 0]], atol=0.01)
    assert theme.class_colors(101)[100] == colors[0]


def test_sixteen_imported_classes_are_drawn_in_sixteen_colours(qtbot, playground, tmp_path):
    view = playground
    path = tmp_path / "pines.csv"
    _circle_csv(path, 16)
    view.dataset_panel.import_csv(str(path))
    assert view.store.n_classes == 16
    expected = theme.class_colors(16)
    brushes = view.data_plot.train_scatter.data["brush"]
    labels = view.store.y[~view.store.test].astype(int)
    drawn = {int(c): b.color().name().upper() for c, b in zip(labels, brushes)}
    assert drawn == {c: expected[c] for c in range(16)}
    # the class list shows each class's colour
    icons = [view.dataset_panel.paint.class_list.item(i).icon().pixmap(14, 14).toImage().pixelColor(7, 7).name().upper()
             for i in range(16)]
    assert icons == list(expected)
    # painting stays limited to the eight painting colours
    assert not view.dataset_panel.paint.add_class_button.isEnabled()
    # one training step: the decision regions use the same 16 colours
    view.step()
    qtbot.waitUntil(lambda: not view.session.running, timeout=10000)
    view.draw_frame()
    img = view.data_plot.image.image
    assert img is not None and img.shape[-1] == 3


def test_screenshot_of_a_sixteen_class_data_set(tmp_path):
    _circle_csv(tmp_path / "pines.csv", 16)
    spec = tmp_path / "pines.json"
    spec.write_text('{"dataset": {"kind": "csv", "path": "pines.csv"}, "model": {"kind": "mlp", "hidden": [16]}}')
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "main.py", str(spec), "--screenshot", str(out), "--view", "playground",
                           "--size", "1400x900"], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    img = QtGui.QImage(str(out))
    assert img.width() == 1400
    seen = {img.pixelColor(x, y).name().upper() for x in range(0, img.width(), 2) for y in range(0, img.height(), 2)}
    # every class colour appears somewhere (points, class list)
    assert set(theme.class_colors(16)) <= seen, set(theme.class_colors(16)) - seen


def test_whole_number_targets_import_as_regression_when_the_problem_type_says_so(qtbot, playground):
    view = playground
    sample = os.path.join(ROOT, "resources", "data", "diabetes_2d_semicolon.csv")
    view.dataset_panel.import_csv(sample)
    assert view.store.task == "classification" and view.store.n_classes > 100  # type_of_target: multiclass
    combo = view.settings_bar.problem_combo
    combo.setCurrentIndex(combo.findData("regression"))
    qtbot.waitUntil(lambda: view.dataset_panel.task == "regression", timeout=3000)
    view.dataset_panel.import_csv(sample)
    assert view.store.task == "regression" and len(view.store) == 442
    assert sorted(np.unique(view.store.y))[:3] == [25.0, 31.0, 37.0]
