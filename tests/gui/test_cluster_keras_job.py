"""The "Keras script" template: an exported Keras script sent from the job form, its curves plotted live.

The job runs under the ``local`` profile (the same ``job.sh`` and job folder a cluster gets):
the test cluster's job Python has no Keras (see tests/remote/test_keras_job.py).
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from engine.export import export_run
from engine.export_keras import prepare_export
from engine.spec import RunSpec
from remote.logparse import parse_metrics_file
from tests.conftest import require

pytestmark = pytest.mark.slow

SPEC = {
    "dataset": {"kind": "moons", "n_samples": 160, "noise": 0.1, "seed": 4, "test_fraction": 0.25},
    "model": {"kind": "mlp", "hidden": [5], "activation": "relu"},
    "train": {"epochs": 4, "batch_size": 16, "optimizer": "sgd", "learning_rate": 0.1},
}


def test_keras_script_template_submits_the_script_and_plots_its_curves(view, qtbot, cluster_env, monkeypatch):  # noqa: F811
    for module in ("keras", "torch"):
        require(importlib.util.find_spec(module) is not None, f"{module} is not installed (pip install -e '.[keras]')")
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    script = cluster_env / "export" / "moons_keras.py"
    export_run(prepare_export(RunSpec.from_dict(SPEC)), keras_path=str(script))
    asked = []

    def fake_open(parent, caption, directory, filters):
        asked.append(filters)
        return str(script), filters

    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", staticmethod(fake_open))
    view.select_profile("local")

    # The user opens the template list and clicks "Keras script"; it asks for the script to run.
    combo = view.compose.template_combo
    names = [combo.itemText(i) for i in range(combo.count())]
    combo.showPopup()
    popup = combo.view()
    qtbot.waitUntil(popup.isVisible, timeout=5000)
    rect = popup.visualRect(combo.model().index(names.index("Keras script"), 0))
    QTest.mouseClick(popup.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())
    assert asked == ["Python script (*.py)"]
    assert "moons_keras.py with moons_keras_data.csv" in view.compose.spec_label.text()
    assert view.form.values()["job_name"] == "keras-script" and view.form.values()["ntasks"] == 1
    assert f"{view.profile.python} -u moons_keras.py" in view.script_text()
    assert view.compose.submit_button.isEnabled()

    QTest.mouseClick(view.compose.submit_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.job_view.job is not None, timeout=20000)
    job = view.store.jobs("local")[0]
    assert job.metrics_path == job.output_path
    qtbot.waitUntil(lambda: len(view.job_view.curve_data("loss", "test")[0]) == 4, timeout=90000)
    x, y = view.job_view.curve_data("loss", "test")
    assert list(x) == [1, 2, 3, 4]
    with open(job.output_path, encoding="utf-8") as fh:
        output = fh.read()
    parsed = parse_metrics_file(os.path.basename(job.output_path), output)
    assert np.allclose(y, [r["test_loss"] for r in parsed])
    assert "Epoch 4/4" in output and "val_loss" in output
