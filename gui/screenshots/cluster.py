"""The Cluster view's picture: two real tiny jobs (1 and 2 ranks) on the ``local`` profile.

Everything happens in a temporary folder with its own job store, so nothing of the user's
jobs shows or changes. The jobs are submitted with the function the view's submit uses and
followed by the view's own poller; :func:`stage` waits on the poller's events (and then on
the output tail) with a deadline instead of sleeping.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import replace
from typing import Callable

from PySide6 import QtCore

from engine.spec import DatasetSpec, ModelSpec, RunSpec, TrainSpec
from gui.cluster.compose import description_for
from gui.cluster.view import ClusterView
from remote.backend import LocalBackend
from remote.bundle import build_bundle, job_folder_name
from remote.config import LOCAL_PROFILE, local_profile
from remote.jobs import submit_bundle
from remote.slurm import render_job_script
from remote.store import JobStore

DEADLINE_MS = 120_000
OUTPUT_DEADLINE_MS = 10_000


def wait_for(signal, done: Callable[[], bool], deadline_ms: int) -> bool:
    """Run the event loop until ``done()`` holds, checking each time ``signal`` fires; ``False`` at the deadline."""
    if done():
        return True
    loop = QtCore.QEventLoop()
    deadline = QtCore.QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)

    def check(*_):
        if done():
            loop.quit()

    signal.connect(check)
    deadline.start(deadline_ms)
    try:
        loop.exec()
    finally:
        deadline.stop()
        signal.disconnect(check)
    return done()


def stage(view: ClusterView) -> Callable[[], None]:
    """Run a real tiny job on ``local`` with 1 and 2 ranks and show the 2-rank one; returns the cleanup.

    Blocks until both jobs have finished (a few seconds; at most :data:`DEADLINE_MS`).
    """
    scratch = tempfile.mkdtemp(prefix="scalelab-shot-")
    control = view.profiles_control
    control.remember = False  # the picture's choice of profile is not the user's
    control.poll_delays_s = (0.2, 0.5)  # the timeline's end times are as exact as the polls
    view.select_profile(LOCAL_PROFILE)
    store = JobStore(os.path.join(scratch, "jobs.sqlite"))
    view.use_store(store, fetch_root=os.path.join(scratch, "fetched"))
    profile = replace(local_profile(), workdir=os.path.join(scratch, "jobs"), python=sys.executable)
    control.use_profile(profile)
    spec = RunSpec(
        dataset=DatasetSpec(kind="spiral", n_samples=600, noise=0.1, seed=3),
        model=ModelSpec(kind="mlp", hidden=(16, 16), activation="tanh"),
        train=TrainSpec(epochs=300, batch_size=32, learning_rate=0.01, optimizer="adam"),
    )
    view.compose_job(spec, "spiral.json")
    backend = LocalBackend(profile)
    job_ids = []
    for ranks in (1, 2):
        name = f"spiral-{ranks}rank"
        desc = description_for(profile, f"{profile.workdir}/{job_folder_name(name)}",
                               {**view.form.values(), "ntasks": ranks, "job_name": name})
        job = submit_bundle(backend, desc, build_bundle(spec, render_job_script(desc)), store=store)
        job_ids.append(job.job_id)
        view.job_list.model.update_job(LOCAL_PROFILE, job.job_id)
    control.refresh(LOCAL_PROFILE)
    wait_for(control.events_arrived, lambda: not store.jobs(LOCAL_PROFILE, active_only=True), DEADLINE_MS)
    view.tabs.setCurrentWidget(view.job_view)
    view.show_job(LOCAL_PROFILE, job_ids[-1])
    view.job_list.clear_selection()  # the picture shows the job, not a click on the list
    wait_for(view.output_tail.output_arrived, lambda: bool(view.job_view.output_text()), OUTPUT_DEADLINE_MS)
    view.sync_compare_runs()
    for job_id in job_ids:
        view.compare.set_checked(f"{LOCAL_PROFILE}/{job_id}", True)
    view.compare.set_axis("elapsed_s")

    def cleanup() -> None:
        view.shutdown()
        store.close()
        shutil.rmtree(scratch, ignore_errors=True)

    return cleanup


__all__ = ["stage", "wait_for"]
