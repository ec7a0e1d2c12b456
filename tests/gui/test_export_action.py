"""File > Export as Keras script or notebook: files written from what the Playground shows."""

from __future__ import annotations

import importlib.util
import runpy

import numpy as np
from PySide6 import QtWidgets

from engine.spec import DatasetSpec, ModelSpec, RunSpec, TrainSpec, save_spec
from engine.trainer import Trainer
from gui.playground.export_action import KERAS_FILTER, NOTEBOOK_FILTER
from tests.gui.test_main_window import _shutdown, _window


def _menu_action(window, text):
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    return next(a for a in file_menu.actions() if a.text() == text)


def test_export_writes_the_playground_run_with_its_data_and_weights(qtbot, tmp_path, monkeypatch):
    spec = RunSpec(dataset=DatasetSpec(kind="circle", n_samples=100, seed=5, noise=0.1, standardize=True),
                   features=("x1", "x2", "x1^2", "x2^2"),
                   model=ModelSpec(kind="mlp", hidden=(4,), activation="relu"),
                   train=TrainSpec(epochs=2, batch_size=10, seed=1))
    trainer = Trainer(spec)
    list(trainer.run())
    spec_path = tmp_path / "circle.json"
    save_spec(spec.with_(weights=tuple(trainer.model.get_weights())), spec_path)

    window = _window(qtbot)
    try:
        playground = window.views["playground"]
        playground.open(str(spec_path))
        answers = [(str(tmp_path / "out" / "circle_lesson.py"), KERAS_FILTER),
                   (str(tmp_path / "out" / "circle_notebook"), NOTEBOOK_FILTER)]
        asked = []

        def fake_dialog(parent, caption, directory, filters):
            asked.append(filters)
            return answers.pop(0)

        monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", staticmethod(fake_dialog))
        (tmp_path / "out").mkdir()
        action = _menu_action(window, "Export as Keras script or notebook…")
        assert action.isEnabled()
        action.trigger()
        assert KERAS_FILTER in asked[0] and NOTEBOOK_FILTER in asked[0]
        message = window.statusBar().currentMessage()
        assert "circle_lesson.py" in message and "circle_lesson_data.csv" in message
        assert "circle_lesson_weights.npz" in message

        ns = runpy.run_path(str(tmp_path / "out" / "circle_lesson.py"), run_name="exported_script")
        X_train, y_train, X_test, y_test = ns["load_data"](ns["DATA_FILE"])
        shown = playground.session.dataset
        assert np.array_equal(X_train, shown.X_train) and np.array_equal(y_test, shown.y_test)
        assert ns["FEATURES"] == ["x1", "x2", "x1^2", "x2^2"] and ns["HIDDEN"] == [4]
        with np.load(tmp_path / "out" / "circle_lesson_weights.npz", allow_pickle=False) as z:
            np.testing.assert_allclose(z["W0"], trainer.model.layers[0].W, atol=1e-6)

        # A name typed without an extension gets the chosen kind's.
        action.trigger()
        if importlib.util.find_spec("nbformat") is not None:
            assert "circle_notebook.ipynb" in window.statusBar().currentMessage()
            assert (tmp_path / "out" / "circle_notebook.ipynb").is_file()
            assert (tmp_path / "out" / "circle_notebook_data.csv").is_file()
        else:
            assert "nbformat" in window.statusBar().currentMessage()
    finally:
        _shutdown(window)


def test_an_export_that_cannot_be_written_is_reported(qtbot, tmp_path, monkeypatch):
    window = _window(qtbot)
    try:
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                            staticmethod(lambda *a: (str(blocker / "x.py"), KERAS_FILTER)))
        warned = []
        monkeypatch.setattr(QtWidgets.QMessageBox, "warning", staticmethod(lambda *a, **k: warned.append(a[2])))
        _menu_action(window, "Export as Keras script or notebook…").trigger()
        assert warned and "cannot write" in warned[0]
        assert window.statusBar().currentMessage().startswith("Export failed: cannot write")
    finally:
        _shutdown(window)
