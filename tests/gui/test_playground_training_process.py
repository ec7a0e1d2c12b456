"""The Playground's trainer in a process of its own: edits reach it, pause/step/stop work, no Qt in it."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import numpy as np

from engine.data import load_dataset
from engine.spec import DatasetSpec, ModelSpec, RunSpec, TrainSpec
from gui.playground.training import SessionState, TrainingSession

SPEC = RunSpec(dataset=DatasetSpec(kind="xor", n_samples=200, seed=5, test_fraction=0.25), features=("x1", "x2"),
               model=ModelSpec(kind="mlp", hidden=(5,), activation="tanh"),
               train=TrainSpec(epochs=100_000, batch_size=16, optimizer="adam", learning_rate=0.05, seed=2))


def _wait_for(qtbot, session, epochs: int) -> None:
    qtbot.waitUntil(lambda: session.epoch >= epochs, timeout=20_000)


def test_the_trainer_process_imports_no_qt():
    code = ("import sys, gui.playground.training_process as t; "
            "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken', 'pyqtgraph', 'superqt'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_training_in_the_process_takes_edits_between_epochs_and_stops_where_asked(qtbot):
    session = TrainingSession(in_process=True)
    try:
        ds = load_dataset(SPEC)
        session.reset(SPEC, ds)
        assert session._proc is not None and session._proc.alive
        first = session.snapshot
        assert first.epoch == 0 and first.generation == session._generation
        # a single step trains exactly one epoch and stops
        with qtbot.waitSignal(session.state_changed, timeout=20_000, check_params_cb=lambda s: s == "paused"):
            assert session.step()
        assert session.epoch == 1 and not session.running
        # frames arrive while the process trains; the curves get every epoch's record once
        assert session.start()
        assert session.state == SessionState.RUNNING
        _wait_for(qtbot, session, 20)
        # new settings and new data while training reach the run between two epochs
        half = replace(ds, X_train=ds.X_train[:60], y_train=ds.y_train[:60])
        session.set_spec(SPEC.with_(train=replace(SPEC.train, learning_rate=0.01)))
        session.set_dataset(half)
        # a typed weight, then stop: nothing trains after the edit
        session.set_weight(0, 0, 1, 2.5)
        assert session.stop()
        assert session.state == SessionState.PAUSED and not session.running
        snap = session.snapshot
        assert snap.weights[0]["W"][0, 1] == 2.5
        assert snap.spec.train.learning_rate == 0.01
        assert snap.dataset.n_train == 60
        records = session.take_records()
        epochs = [r["epoch"] for r in records]
        assert epochs == list(range(1, snap.epoch + 1))
        # an idle edit is applied and drawn at once
        session.set_weight(0, 1, 0, -1.25)
        assert session.snapshot.weights[0]["W"][1, 0] == -1.25
        # a preview is computed in the process on request
        pic = session.preview_picture(1, 0)
        assert pic.shape == (100, 100) and np.isfinite(pic).all()
    finally:
        session.close()
    assert session._proc is None


def test_a_reset_while_training_swaps_the_network_and_old_frames_are_dropped(qtbot):
    session = TrainingSession(in_process=True)
    try:
        ds = load_dataset(SPEC)
        session.reset(SPEC, ds)
        session.start()
        _wait_for(qtbot, session, 5)
        session.reset(SPEC.with_(train=replace(SPEC.train, seed=9)), ds)
        gen = session._generation
        assert session.running and session.snapshot is None
        qtbot.waitUntil(lambda: session.snapshot is not None and session.epoch >= 3, timeout=20_000)
        assert session.snapshot.generation == gen
        session.pause()
        qtbot.waitUntil(lambda: not session.running, timeout=20_000)
        assert session.state == SessionState.PAUSED
        # the new run counts from zero and its first record is epoch 1
        assert session.take_records()[0]["epoch"] == 1
    finally:
        session.close()


def test_a_run_at_its_epoch_limit_completes_in_the_process(qtbot):
    spec = SPEC.with_(train=replace(SPEC.train, epochs=15))
    session = TrainingSession(in_process=True)
    try:
        session.reset(spec, load_dataset(spec))
        with qtbot.waitSignal(session.state_changed, timeout=20_000, check_params_cb=lambda s: s == "completed"):
            session.start()
        assert session.epoch == 15 and not session.start()  # nothing left to train
    finally:
        session.close()


def test_a_trainer_process_that_dies_is_reported_and_a_reset_starts_a_new_one(qtbot):
    session = TrainingSession(in_process=True)
    try:
        ds = load_dataset(SPEC)
        session.reset(SPEC, ds)
        session.start()
        _wait_for(qtbot, session, 3)
        with qtbot.waitSignal(session.failed, timeout=20_000) as failed:
            session._proc.process.kill()
        assert "ended unexpectedly" in failed.args[0]
        assert not session.running and session.state == SessionState.PAUSED
        session.reset(SPEC, ds)
        assert session._proc.alive and session.snapshot.epoch == 0
        assert session.step()
        qtbot.waitUntil(lambda: not session.running and session.epoch == 1, timeout=20_000)
    finally:
        session.close()


def test_the_trainer_process_runs_at_a_lower_priority_than_the_window(qtbot):
    import os

    from gui.playground.training_process import NICENESS

    session = TrainingSession(in_process=True)
    try:
        session.reset(SPEC, load_dataset(SPEC))
        pid = session._proc.process.pid
        # (the process lowers its own priority as it starts serving)
        assert session.step()
        qtbot.waitUntil(lambda: not session.running, timeout=20_000)
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, mine + NICENESS)
    finally:
        session.close()


def test_the_trainer_process_runs_blas_on_one_thread_and_leaves_the_window_environment_alone(qtbot):
    """A second BLAS thread in the trainer only spins between its small products, taking a core
    the window needs: the forkserver sets one before NumPy loads there. The window's own
    environment (which the jobs it starts inherit) is not changed."""
    from pathlib import Path

    from engine.threads import THREAD_VARIABLES
    from tests.conftest import require

    require(sys.platform.startswith("linux"), "the trainer's threads are counted in /proc")
    from gui.bench import bench_spec

    before = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    spec = bench_spec()  # (a 2-8-8-2 network: its grid products are large enough to be threaded)
    session = TrainingSession(in_process=True)
    try:
        session.reset(spec, load_dataset(spec))
        session.speed = None
        pid = session._proc.process.pid
        assert session.start()
        _wait_for(qtbot, session, 100)
        session.pause()
        qtbot.waitUntil(lambda: not session.running, timeout=20_000)
        # trained, and drawn the regions on the full grid once paused (products large enough
        # for BLAS to use every thread it has): one thread in the process
        assert session.snapshot.boundary is not None
        assert len(list(Path(f"/proc/{pid}/task").iterdir())) == 1
    finally:
        session.close()
    assert {name: os.environ.get(name) for name in THREAD_VARIABLES} == before


def test_the_forkserver_preload_sets_one_thread_before_numpy_loads():
    """The preload module, imported first in a fresh process (as the forkserver does), leaves
    NumPy with one BLAS thread; the BLAS library reports it itself."""
    code = ("import sys; assert 'numpy' not in sys.modules; import gui.playground.trainer_preload; "
            "import numpy, threadpoolctl; "
            "print(max(p['num_threads'] for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas'))")
    from engine.threads import THREAD_VARIABLES

    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "1"


def _trainer_readers() -> int:
    import threading

    return sum(1 for t in threading.enumerate() if t.name == "scalelab-trainer-reader" and t.is_alive())


def test_a_closed_session_starts_no_process_again(qtbot):
    """An event still queued for a closing window (a reset, a refresh, a start) must not start a
    trainer process that nobody ends: its reader thread would hand frames to a deleted window."""
    session = TrainingSession(in_process=True)
    ds = load_dataset(SPEC)
    session.reset(SPEC, ds)
    assert session._proc is not None and session._proc.alive
    before = _trainer_readers()
    session.close()
    qtbot.waitUntil(lambda: _trainer_readers() == before - 1, timeout=5000)
    session.reset(SPEC, ds)
    session.refresh()
    assert session.start() is False
    assert session._proc is None and not session.running
    assert _trainer_readers() == before - 1


def test_a_data_change_settling_after_shutdown_builds_nothing(qtbot):
    """The Playground waits 60 ms for painted or chosen data to settle; a window shut down
    within them must not build a network (and start a trainer process) afterwards."""
    from gui.playground.view import PlaygroundView
    from tests.gui.conftest import shown

    view = shown(qtbot, PlaygroundView(), 1200, 800)
    qtbot.waitUntil(lambda: not view.data_pending, timeout=5000)
    view.session.reset(view.session.spec, view.session.dataset)
    qtbot.waitUntil(lambda: view.session._proc is not None, timeout=5000)
    before = _trainer_readers()
    view.dataset_panel.choose_preset("moons")  # settles 60 ms later
    assert view.data_pending
    view.shutdown()
    qtbot.waitUntil(lambda: _trainer_readers() == before - 1, timeout=5000)
    qtbot.wait(300)
    assert view.session._proc is None
    assert _trainer_readers() == before - 1
