"""The main window's wiring between the Playground and the Cluster view."""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from engine.model_io import load_model, save_model
from engine.spec import DatasetSpec, ModelSpec, RunSpec, TrainSpec
from engine.trainer import Trainer


def _window(qtbot):
    from gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    return window


def _shutdown(window):
    for view in window.views.values():
        if hasattr(view, "shutdown"):
            view.shutdown()


def test_a_fetched_model_opens_in_the_playground(qtbot, tmp_path):
    spec = RunSpec(dataset=DatasetSpec(kind="xor", n_samples=120, seed=4),
                   model=ModelSpec(kind="mlp", hidden=(5,), activation="tanh"),
                   train=TrainSpec(epochs=3, batch_size=10, seed=2))
    trainer = Trainer(spec)
    for _ in range(3):
        trainer.train_epoch()
    path = str(tmp_path / "model.npz")
    save_model(path, spec, trainer.preprocess, trainer.model, trainer.dataset.class_names)

    window = _window(qtbot)
    try:
        cluster, playground = window.views["cluster"], window.views["playground"]
        window.show_view("cluster")
        cluster.open_model_requested.emit(path)
        assert window.tabs.currentWidget() is playground
        _spec, _pre, network = load_model(path)
        shown = playground.current_spec()
        assert shown.dataset.kind == "xor" and shown.model.hidden == (5,)
        assert np.allclose(np.array(shown.weights[0]["W"]), network.layers[0].W, atol=1e-6)
    finally:
        _shutdown(window)


def test_a_broken_model_file_is_reported_not_raised(qtbot, tmp_path, monkeypatch):
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"not a zip file")
    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", staticmethod(lambda *a, **k: shown.append(a[2])))
    window = _window(qtbot)
    try:
        window.show_view("cluster")
        window.views["cluster"].open_model_requested.emit(str(bad))
        assert shown and str(bad) in shown[0]
        assert window.tabs.currentWidget() is window.views["cluster"]
    finally:
        _shutdown(window)


def _long_named_job(tmp_path):
    import time

    from remote.store import StoredJob

    now = time.time()
    name = "indian-pines-svm-C100-gamma8-one-vs-one-16-classes-" * 2
    job = StoredJob(profile="course-cluster-with-a-long-name", job_id="1234567890", name=name, kind="tracked",
                    state="COMPLETED", reason="", job_dir=str(tmp_path), output_path="", metrics_path="",
                    metrics_offset=0, n_records=3, exit_code=0, ntasks=48, submitted_at=now - 3600,
                    started_at=now - 3500, ended_at=now - 100, updated_at=now, active=False, message="")
    records = [{"epoch": e, "train_loss": 0.5 / e, "test_loss": 0.6 / e, "train_accuracy": 0.9, "test_accuracy": 0.88,
                "elapsed_s": 10.0 * e, "samples_per_s": 123456.0, "iteration": 1000 * e, "dual_objective": -12.5,
                "n_support": 1234, "max_violation": 0.001} for e in (1, 2, 3)]
    return job, records


def test_every_view_fits_a_1280_pixel_projector_in_presentation_mode(qtbot, tmp_path):
    """The tabs share one window: a view that grows past 1280 pixels widens all of them.

    With content that makes texts long: a job with a long name and many metrics, a sweep in
    a deep folder."""
    from tests.gui.test_scaling_view import _deep_sweep

    window = _window(qtbot)
    try:
        job, records = _long_named_job(tmp_path)
        window.views["cluster"].job_view.show_job(job, records)
        assert window.views["scaling"].open_sweep(_deep_sweep(tmp_path))
        window.set_presentation(True)
        window.resize(1280, 800)
        window.show()
        qtbot.waitExposed(window)
        QtWidgets.QApplication.processEvents()
        wide = {name: view.minimumSizeHint().width() for name, view in window.views.items()
                if view.minimumSizeHint().width() > 1260}
        assert not wide, f"views wider than a 1280-pixel projector allows: {wide}"
        window.resize(1280, 800)
        QtWidgets.QApplication.processEvents()
        assert window.width() == 1280
        for name in ("cluster", "scaling"):
            window.show_view(name)
            QtWidgets.QApplication.processEvents()
            assert window.width() == 1280, name
        # the New job page in large type: the form's fields whole (no sideways scrolling), the
        # spec's summary a line across the page, not a column of single words
        compose = window.views["cluster"].compose
        window.views["cluster"].tabs.setCurrentWidget(compose)
        window.show_view("cluster")
        QtWidgets.QApplication.processEvents()
        from gui.widgets.scroll import VerticalScrollArea

        form_scroll = compose.findChild(VerticalScrollArea)
        assert form_scroll.isVisible() and not form_scroll.horizontalScrollBar().isVisible()
        assert form_scroll.width() >= compose.form.minimumSizeHint().width()
        assert compose.spec_label.width() > 700
        title = window.views["cluster"].job_view.title
        assert job.name in title.text() and job.name in title.toolTip()
        assert "…" in title.shown_text()  # shortened on screen, whole in text() and the tooltip
    finally:
        _shutdown(window)
