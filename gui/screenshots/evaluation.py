"""Staging for the Playground's Evaluation tab and its ROC tab (``--stage evaluation`` / ``roc``)."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from engine.spec import RunSpec

#: a data set and network small enough that the three studies finish in seconds
DEMO_SPEC = {
    "dataset": {"kind": "xor", "n_samples": 300, "noise": 0.3, "seed": 2, "test_fraction": 0.3},
    "features": ["x1", "x2"],
    "model": {"kind": "mlp", "hidden": [6], "activation": "tanh"},
    "train": {"epochs": 40, "batch_size": 16, "optimizer": "adam", "learning_rate": 0.03},
}


def _wait_for(panel, timeout_s: float = 300) -> None:
    timer = QtCore.QElapsedTimer()
    timer.start()
    while panel.running and timer.elapsed() < timeout_s * 1000:
        QtWidgets.QApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)


def stage(view) -> None:
    """Run the three studies of the demo spec and show the Evaluation tab."""
    view.load_run_spec(RunSpec.from_dict(DEMO_SPEC))
    view.prepare_screenshot(epochs=40)
    view.output_tabs.setCurrentIndex(1)
    panel = view.evaluation
    QtWidgets.QApplication.processEvents()
    panel.start("cv")
    _wait_for(panel)
    panel.start("learning")
    _wait_for(panel)
    panel.param.setCurrentText("train.learning_rate")
    panel.values.setText("0.0003,0.003,0.03,0.3,3")
    panel.start("validation")
    _wait_for(panel)
    QtWidgets.QApplication.processEvents()
    return None


def stage_roc(view) -> None:
    """Train the opening demo and show the test panel's ROC tab."""
    view.load_run_spec(RunSpec.from_dict({**DEMO_SPEC, "dataset": {**DEMO_SPEC["dataset"], "n_classes": 3,
                                                                   "kind": "blobs", "noise": 1.2}}))
    view.prepare_screenshot(epochs=60)
    view.test_switch.setCurrentIndex(1)
    QtWidgets.QApplication.processEvents()
    return None
