"""Model kinds, regression painting and the main window's menus around the Playground."""

from __future__ import annotations

import itertools

import numpy as np
from PySide6 import QtCore

from engine.spec import (
    MODEL_KINDS,
    RunSpec,
    load_spec,
    model_allows_task,
    model_has_hidden_layers,
    optimizers_for_model,
)
from tests.gui.conftest import click_data

LEFT = QtCore.Qt.MouseButton.LeftButton


def _train_epochs(qtbot, view, n: int) -> None:
    view.settings_bar.stop_epochs_check.setChecked(True)
    view.settings_bar.stop_epochs_spin.setValue(view.session.epoch + n)
    view.play()
    qtbot.waitUntil(lambda: not view.session.running, timeout=20_000)
    view.draw_frame()


def test_logistic_and_perceptron_draw_straight_boundaries(qtbot, playground):
    view = playground
    view.dataset_panel.choose_preset("linear")
    for kind in ("logistic", "perceptron"):
        view.settings_bar.model_combo.setCurrentIndex(view.settings_bar.model_combo.findData(kind))
        assert view.network.hidden == [] and not view.network.add_layer_button.isEnabled()
        assert view.session.snapshot.spec.model.kind == kind
        _train_epochs(qtbot, view, 15)
        acc = view.curves.buffer.column("test_accuracy")
        assert acc[-1] > 0.9, (kind, acc[-5:])
        img = view.data_plot.image.image
        assert img.reshape(-1, 3).std(axis=0).max() > 10
    assert view.current_spec().train.optimizer == "sgd"  # the perceptron's own rule
    view.settings_bar.model_combo.setCurrentIndex(view.settings_bar.model_combo.findData("mlp"))
    assert view.network.hidden and view.network.add_layer_button.isEnabled()


def test_the_top_bar_offers_what_the_validator_accepts_for_every_model_and_problem(qtbot, playground):
    """Pick each problem type and model in the combos, in both orders: the bar ends on a combination
    the engine's rules allow, enables the optimizer and dropout only where the model uses them, and
    the spec on screen is one the validator keeps as it is."""
    view = playground
    bar = view.settings_bar
    for problem, kind in itertools.product(("classification", "regression"), MODEL_KINDS):
        for combos in ((bar.problem_combo, bar.model_combo), (bar.model_combo, bar.problem_combo)):
            for box in combos:
                box.setCurrentIndex(box.findData(problem if box is bar.problem_combo else kind))
            qtbot.waitUntil(lambda: not view.data_pending, timeout=3000)
            shown_kind, shown_problem = bar.model_combo.currentData(), bar.problem_combo.currentData()
            assert model_allows_task(shown_kind, shown_problem)
            last = combos[-1]
            assert last.currentData() == (kind if last is bar.model_combo else problem)
            assert bar.optimizer_combo.isEnabled() == (len(optimizers_for_model(shown_kind)) > 1)
            assert bar.dropout_spin.isEnabled() == model_has_hidden_layers(shown_kind)
            assert view.store.task == shown_problem
            spec = view.current_spec()
            assert spec.model.kind == shown_kind
            assert RunSpec.from_dict(spec.to_dict()) == spec
            assert spec.train.optimizer in optimizers_for_model(shown_kind)
            assert view.session.snapshot.spec.model.kind == shown_kind


def test_regression_paint_values_and_train(qtbot, playground):
    view = playground
    view.settings_bar.problem_combo.setCurrentIndex(view.settings_bar.problem_combo.findData("regression"))
    assert view.store.task == "regression" and view.dataset_panel.kind == "plane"
    assert not view.dataset_panel.paint.class_list.isVisible() and view.dataset_panel.paint.value_spin.isVisible()
    assert view.network.n_outputs == 1
    qtbot.mouseClick(view.dataset_panel.paint.clear_button, LEFT)
    rng = np.random.default_rng(0)
    for value, xs in ((-2.0, -4.0), (2.0, 4.0)):
        view.dataset_panel.paint.value_spin.setValue(value)
        for _ in range(6):
            click_data(qtbot, view, xs + rng.uniform(-1, 1), rng.uniform(-4, 4))
    assert sorted(set(view.store.y)) == [-2.0, 2.0]
    qtbot.waitUntil(lambda: not view.data_pending and view.session.has_network
                    and view.session.dataset.n_train + view.session.dataset.n_test == 12,
                    timeout=3000)
    _train_epochs(qtbot, view, 60)
    loss = view.curves.buffer.column("train_loss")
    assert loss[-1] < loss[0]
    assert not view.curves.acc_plot.isVisible()
    left = view.data_plot.image.image[100, 10].astype(float)
    right = view.data_plot.image.image[100, 190].astype(float)
    assert left[0] > left[2] and right[2] > right[0]  # orange for negative values, blue for positive
    assert "R²" in view.confusion.summary.text()


def test_painting_while_training_changes_the_data_trained_on(qtbot, playground):
    view = playground
    n_train = view.session.dataset.n_train
    view.play()
    for k in range(12):
        click_data(qtbot, view, -5.5 + 0.3 * k, 5.5)
    assert len(view.store) == 512, len(view.store)
    qtbot.waitUntil(lambda: view.session.dataset.n_train + view.session.dataset.n_test
                    == 512, timeout=10_000)
    assert view.session.running
    view.pause()
    qtbot.waitUntil(lambda: not view.session.running, timeout=5000)
    assert view.session.dataset.n_train >= n_train


def test_run_on_cluster_emits_the_spec(qtbot, playground):
    with qtbot.waitSignal(playground.run_on_cluster_requested, timeout=2000) as blocker:
        qtbot.mouseClick(playground.settings_bar.cluster_button, LEFT)
    spec = blocker.args[0]
    assert isinstance(spec, RunSpec)
    assert spec == playground.current_spec()
    assert spec.weights is not None and spec.dataset.kind == "spiral"


def test_main_window_menus(qtbot, tmp_path):
    from gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()  # a user clicks a window on screen: its layouts are active
    qtbot.waitExposed(window)
    try:
        view = window.views["playground"]
        titles = [a.text() for a in window.menuBar().actions()]
        assert titles == ["&File", "&View", "&Help"]
        window.presentation_action.setChecked(True)
        assert view.presentation
        window.presentation_action.setChecked(False)
        assert not view.presentation
        path = str(tmp_path / "p.json")
        window._save_to(path)
        assert load_spec(path) == view.current_spec()
        bad = tmp_path / "bad.json"
        bad.write_text("{not json")
        shown = []
        from PySide6 import QtWidgets

        orig = QtWidgets.QMessageBox.warning
        QtWidgets.QMessageBox.warning = staticmethod(lambda *a, **k: shown.append(a[2]))
        try:
            assert not window.open_spec(str(bad))
        finally:
            QtWidgets.QMessageBox.warning = orig
        assert shown and "not valid JSON" in shown[0] and "line 1" in shown[0]
        assert window.open_spec(path)
        assert not view.undo_stack.canUndo()  # an opened file starts a fresh history
        cluster = window.views.get("cluster")
        if cluster is not None and hasattr(cluster, "compose_job"):
            qtbot.mouseClick(view.settings_bar.cluster_button, LEFT)
            assert window.tabs.currentWidget() is cluster
            assert cluster.spec == view.current_spec()
    finally:
        for v in window.views.values():
            if hasattr(v, "shutdown"):
                v.shutdown()


def test_view_registry_skips_only_a_missing_view_module(monkeypatch):
    import pytest

    from gui import main_window

    assert main_window._load_view_class("gui.no_such_view_module:Thing") is None

    def broken_import(name):
        # the view module exists, but something it imports is missing: a real error
        raise ModuleNotFoundError("No module named 'paramiko'", name="paramiko")

    monkeypatch.setattr(main_window.importlib, "import_module", broken_import)
    with pytest.raises(ModuleNotFoundError):
        main_window._load_view_class("gui.cluster.view:ClusterView")


def test_speed_limit_and_early_stopping(qtbot, playground):
    import time

    view = playground
    view.settings_bar.speed_slider.setValue(2)  # 10 epochs per second
    assert view.settings_bar.speed_label.text() == "10 epochs/s"
    t0 = time.perf_counter()
    view.play()
    # (a busy machine only slows the run down: the limit is checked as an upper bound)
    qtbot.waitUntil(lambda: view.session.epoch >= 3, timeout=20_000)
    view.pause()
    qtbot.waitUntil(lambda: not view.session.running, timeout=5000)
    elapsed = time.perf_counter() - t0
    assert 3 <= view.session.epoch <= 10 * elapsed + 2

    view.settings_bar.speed_slider.setValue(view.settings_bar.speed_slider.maximum())
    view.dataset_panel.choose_preset("gauss")
    qtbot.waitUntil(lambda: not view.data_pending, timeout=3000)  # the new data reached the run
    view.settings_bar.stop_patience_check.setChecked(True)
    view.settings_bar.patience_spin.setValue(3)
    view.settings_bar.lr_combo.setCurrentIndex(view.settings_bar.lr_combo.findData(0.1))
    view.play()
    qtbot.waitUntil(lambda: view.session.state == "completed", timeout=30_000)
    assert "stopped early" in view.output.status_label.text()
    assert view.current_spec().train.patience == 3


def test_show_test_points_and_delete_selection_and_plot_picture(qtbot, playground, tmp_path):
    from PySide6 import QtGui

    from tests.gui.conftest import drag_data

    view = playground
    n_test = int(view.store.test.sum())
    assert len(view.data_plot.test_scatter.data) == n_test
    view.plot_box.show_test_check.setChecked(False)
    assert len(view.data_plot.test_scatter.data) == 0
    view.plot_box.show_test_check.setChecked(True)
    qtbot.mouseClick(view.dataset_panel.paint.tool_buttons["select"], LEFT)
    drag_data(qtbot, view, [(-6.0, -6.0), (-3.0, -3.0), (0.0, 0.0)])
    selected = len(view.data_plot.selection)
    assert selected > 0 and view.dataset_panel.paint.delete_button.isEnabled()
    qtbot.keyClick(view.data_plot, QtCore.Qt.Key.Key_Delete)
    assert len(view.store) == 500 - selected
    view.undo_stack.undo()
    assert len(view.store) == 500
    path = str(tmp_path / "plot.png")
    view.data_plot.export_png(path, width_px=600)
    img = QtGui.QImage(path)
    assert img.width() == 600 and img.height() > 300
