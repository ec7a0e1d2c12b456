"""The SVM in the Playground, driven with the mouse and keyboard: picker, C and gamma, play, pause.

What is drawn is checked against the engine: the support vectors circled are the engine's,
the boundary and margin lines lie where its decision value is 0 and +-1, and the count shown
is its count.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from engine.estimators import SvmFitter
from engine.spec import RunSpec

LEFT = QtCore.Qt.MouseButton.LeftButton

MOONS = {"dataset": {"kind": "moons", "n_samples": 160, "noise": 0.15, "seed": 3, "test_fraction": 0.25},
         "features": ["x1", "x2"], "model": {"kind": "mlp", "hidden": [4], "activation": "tanh"}}


def choose(qtbot, combo, data) -> None:
    """Open ``combo``'s list with a click and click the item whose data is ``data``."""
    # (a click just after another popup closed is taken as closing it)
    qtbot.wait(QtWidgets.QApplication.doubleClickInterval() + 50)
    # an editable box opens its list from the arrow on its right
    at = QtCore.QPoint(combo.width() - 8, combo.height() // 2) if combo.isEditable() else combo.rect().center()
    qtbot.mouseClick(combo, LEFT, pos=at)
    popup = combo.view()
    qtbot.waitUntil(popup.isVisible, timeout=3000)
    index = combo.model().index(combo.findData(data), 0)
    popup.scrollTo(index)
    # (the list ignores a release that comes within a double-click interval of opening)
    qtbot.wait(QtWidgets.QApplication.doubleClickInterval() + 50)
    qtbot.mouseClick(popup.viewport(), LEFT, pos=popup.visualRect(index).center())
    qtbot.waitUntil(lambda: not popup.isVisible(), timeout=3000)
    assert combo.currentData() == data


def type_into(qtbot, combo, text: str) -> None:
    """Click an editable combo's text, replace it with ``text`` and press Enter."""
    edit = combo.lineEdit()
    qtbot.mouseClick(edit, LEFT)
    qtbot.keyClick(edit, QtCore.Qt.Key.Key_A, QtCore.Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, QtCore.Qt.Key.Key_Return)


def open_moons(view, tmp_path, **model) -> None:
    spec = dict(MOONS)
    if model:
        spec = {**MOONS, "model": model}
    path = tmp_path / "moons.json"
    path.write_text(json.dumps(spec))
    view.open(str(path))


def engine_fit(snap) -> SvmFitter:
    """The engine's own fit of the snapshot's spec and data, run to the end."""
    fitter = SvmFitter(snap.spec, snap.dataset)
    for _ in fitter.run():
        pass
    return fitter


def shown_line(view) -> str:
    return view.data_plot.overlays.status.textItem.toPlainText()


def plotted(view, name: str) -> np.ndarray:
    x, y = view.data_plot.overlays.items[name].getData()
    return np.column_stack([x, y])


def test_svm_from_the_picker_trains_to_the_engines_solution_and_draws_it(qtbot, playground, tmp_path):
    view = playground
    open_moons(view, tmp_path)
    bar = view.settings_bar
    assert not bar.svm_controls.isVisible()
    choose(qtbot, bar.model_combo, "svm")
    assert bar.svm_controls.isVisible() and not bar.lr_combo.isVisible() and not bar.fine_settings.isVisible()
    choose(qtbot, bar.svm_controls.kernel_combo, "rbf")
    type_into(qtbot, bar.svm_controls.c_combo, "10")
    choose(qtbot, bar.svm_controls.gamma_combo, 2.0)
    assert view.settings.svm_C == 10.0 and view.settings.svm_gamma == 2.0
    qtbot.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: view.session.state == "completed", timeout=120_000)
    view.draw_frame()
    snap = view.session.snapshot
    m = snap.spec.model
    assert (m.kind, m.kernel, m.C, m.gamma) == ("svm", "rbf", 10.0, 2.0)

    fitter = engine_fit(snap)
    model = fitter.model
    n_sv = int(model.n_support.sum())
    # the count shown, and the counter, are the engine's
    assert re.match(rf"{n_sv} support vectors · iteration {sum(fitter.fit.iterations):,}", shown_line(view))
    assert view.controls.counter_title.text() == "Iteration"
    assert view.controls.epoch_label.text().replace(",", "").lstrip("0") == str(sum(fitter.fit.iterations))
    # the circled points are the engine's support vectors, where the data are plotted
    rings = plotted(view, "svm_support")
    expected = np.asarray(snap.dataset.X_train)[model.train_rows]
    assert len(rings) == n_sv
    np.testing.assert_allclose(np.sort(rings, axis=0), np.sort(expected, axis=0))
    # the boundary and margins are the engine's level lines 0 and +-1 (up to the grid's interpolation)
    pre = fitter.preprocess
    boundary, margins = plotted(view, "svm_boundary"), plotted(view, "svm_margins")
    assert len(boundary) > 20 and len(margins) > 40
    f_boundary = model.decision_values(pre(boundary))[:, 0]
    f_margins = model.decision_values(pre(margins))[:, 0]
    assert np.abs(f_boundary).max() < 0.05
    assert np.abs(np.abs(f_margins) - 1.0).max() < 0.05
    assert (f_margins > 0).any() and (f_margins < 0).any()
    # every free support vector (0 < alpha < C) lies on its margin: |f| = 1
    alpha = np.abs(model.dual_coef[0])
    free = (alpha > 1e-8) & (alpha < 10.0 - 1e-8)
    assert free.any()
    np.testing.assert_allclose(np.abs(model.decision_values(model.support_vectors[free])[:, 0]), 1.0, atol=2e-3)
    # the test panel and the losses agree with the engine's prediction
    pred = model.predict(pre(np.asarray(snap.dataset.X_test)))
    assert snap.report["accuracy"] == pytest.approx(np.mean(pred == snap.dataset.y_test))
    assert "converged after" in view.output.status()
    # play again: nothing to do, and it says so in one line
    qtbot.mouseClick(view.controls.play_button, LEFT)
    assert not view.session.running and "Change a setting or the points" in view.output.status()


def test_smo_progress_is_drawn_at_the_playgrounds_pace_and_pause_stops_it(qtbot, playground, tmp_path):
    view = playground
    open_moons(view, tmp_path, kind="svm", kernel="rbf", C=100.0, gamma=8.0)
    bar = view.settings_bar
    assert bar.svm_controls.c_combo.currentText() == "100" and bar.svm_controls.gamma_combo.currentText() == "8"
    bar.speed_slider.setFocus()
    qtbot.keyClick(bar.speed_slider, QtCore.Qt.Key.Key_Home)
    qtbot.keyClick(bar.speed_slider, QtCore.Qt.Key.Key_Right)
    qtbot.keyClick(bar.speed_slider, QtCore.Qt.Key.Key_Right)  # 10 iterations a second
    assert view.session.speed == 10.0 and bar.speed_label.text() == "10 iterations/s"
    seen = []

    def note():
        snap = view.session.snapshot
        if snap is not None and (not seen or snap.epoch != seen[-1][0]):
            seen.append((snap.epoch, plotted(view, "svm_boundary").copy(), shown_line(view)))

    view.session.snapshot_arrived.connect(note)
    qtbot.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: len(seen) >= 4, timeout=20000)
    qtbot.mouseClick(view.controls.play_button, LEFT)  # pause
    qtbot.waitUntil(lambda: not view.session.running, timeout=5000)
    view.session.snapshot_arrived.disconnect(note)
    assert view.session.state == "paused"
    epochs = [s[0] for s in seen]
    assert epochs == sorted(epochs) and epochs[-1] >= 3
    # one SMO iteration per step: the count of support vectors grows from nothing, and the
    # boundary moves from frame to frame
    counts = [int(s[2].split()[0]) for s in seen]
    assert counts[-1] > counts[0]
    assert any(len(a[1]) != len(b[1]) or not np.allclose(a[1], b[1]) for a, b in zip(seen, seen[1:]))
    # paused: no more iterations, far from convergence; +1 trains exactly one more
    at = view.session.epoch
    qtbot.wait(300)
    assert view.session.epoch == at and view.session.snapshot.status == "running"
    qtbot.mouseClick(view.controls.step_button, LEFT)
    qtbot.waitUntil(lambda: not view.session.running and view.session.epoch == at + 1, timeout=5000)


def test_a_bad_C_is_one_line_and_the_setting_stays(qtbot, playground, tmp_path):
    view = playground
    open_moons(view, tmp_path, kind="svm", C=3.0)
    c_combo = view.settings_bar.svm_controls.c_combo
    type_into(qtbot, c_combo, "-2")
    assert view.output.error_banner.isVisible()
    assert view.output.error_banner.text() == "C: '-2' is not a number > 0"
    assert view.settings.svm_C == 3.0 and c_combo.currentText() == "3"
    type_into(qtbot, view.settings_bar.svm_controls.gamma_combo, "wide")
    assert view.output.error_banner.text() == "gamma: 'wide' is not a number > 0 or 'scale' / 'auto'"


def test_polynomial_kernel_degree_and_the_saved_file_trains_headless_alike(qtbot, playground, tmp_path):
    view = playground
    open_moons(view, tmp_path)
    bar = view.settings_bar
    choose(qtbot, bar.model_combo, "svm")
    assert not bar.svm_controls.degree_box.isVisible()
    choose(qtbot, bar.svm_controls.kernel_combo, "poly")
    assert bar.svm_controls.degree_box.isVisible()
    bar.svm_controls.degree_spin.setFocus()
    qtbot.keyClick(bar.svm_controls.degree_spin, QtCore.Qt.Key.Key_Down)  # 3 -> 2
    assert view.settings.svm_degree == 2
    choose(qtbot, bar.svm_controls.kernel_combo, "linear")
    assert not bar.svm_controls.gamma_box.isEnabled()
    choose(qtbot, bar.svm_controls.kernel_combo, "poly")
    view.session.train_now(100_000)
    view.draw_frame()
    assert view.session.state == "completed"
    path = tmp_path / "saved.json"
    view.save(str(path))
    saved = RunSpec.from_dict(json.loads(path.read_text()))
    assert (saved.model.kind, saved.model.kernel, saved.model.degree) == ("svm", "poly", 2)
    fitter = SvmFitter(saved)  # the file alone: its preset regenerates the same points
    for _ in fitter.run():
        pass
    assert shown_line(view).startswith(f"{int(fitter.model.n_support.sum())} support vectors")


def test_switching_back_to_a_network_clears_the_svm_pictures(qtbot, playground, tmp_path):
    view = playground
    open_moons(view, tmp_path, kind="svm")
    assert view.data_plot.overlays.items["svm_support"].isVisible()
    choose(qtbot, view.settings_bar.model_combo, "mlp")
    view.draw_frame()
    assert not view.data_plot.overlays.items["svm_support"].isVisible()
    assert not view.data_plot.overlays.status.isVisible()
    assert view.controls.counter_title.text() == "Epoch"
    assert view.settings_bar.lr_combo.isVisible() and not view.settings_bar.svm_controls.isVisible()
