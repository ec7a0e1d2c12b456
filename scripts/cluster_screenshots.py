"""Retake the Cluster view's pictures in docs/images.

``cluster.png`` and ``cluster-compare.png`` come from the ``--screenshot`` staging
(``gui.screenshots.cluster``: two real tiny jobs on the ``local`` profile). ``cluster-compose.png``,
``cluster-remote-job.png`` and ``cluster-queue.png`` come from the same view driven against the
test cluster (``tests/cluster``: a real sshd and SLURM, started here when none runs): the form
for a 2-rank job, that job run to its end, then three longer jobs queued behind each other
(cancelled once pictured). The test cluster is shared: the script waits until its queue is
empty first, saves no picture whose state it did not reach, and cancels every job it
submitted, whatever happens. Everything happens in a temporary folder and job store.

Usage: ``QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/cluster_screenshots.py [OUT_DIR]``
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from PySide6 import QtWidgets  # noqa: E402

from engine.spec import DatasetSpec, ModelSpec, RunSpec, TrainSpec  # noqa: E402
from remote.config import save_profiles  # noqa: E402
from tests.cluster.cluster import TestCluster  # noqa: E402

SIZE = (1600, 1000)
IDLE_DEADLINE_S = 900


class NotReached(RuntimeError):
    """The view did not reach the state a picture shows (within its deadline)."""


def wait_idle(cluster: TestCluster) -> None:
    """Wait until the shared cluster runs and queues nothing, so the pictures show our jobs only."""
    deadline = time.monotonic() + IDLE_DEADLINE_S
    while cluster.as_user(["squeue", "--noheader"]).stdout.strip():
        if time.monotonic() > deadline:
            raise NotReached(f"the test cluster was not idle within {IDLE_DEADLINE_S} s")
        time.sleep(5)


def grab(w, path: str, reached: bool, what: str) -> None:
    if not reached:
        raise NotReached(f"{os.path.basename(path)}: {what}")
    w.grab().save(path)


def spiral(epochs: int, n_samples: int = 600) -> RunSpec:
    return RunSpec(dataset=DatasetSpec(kind="spiral", n_samples=n_samples, noise=0.1, seed=3),
                   model=ModelSpec(kind="mlp", hidden=(16, 16), activation="tanh"),
                   train=TrainSpec(epochs=epochs, batch_size=32, learning_rate=0.01, optimizer="adam"))


def window(app):
    from gui.main_window import MainWindow

    w = MainWindow()
    view = w.show_view("cluster")
    w.resize(*SIZE)
    w.show()
    app.processEvents()
    return w, view


def local_pictures(app, out: str) -> None:
    from gui.screenshots.cluster import stage

    w, view = window(app)
    cleanup = stage(view)
    app.processEvents()
    w.grab().save(os.path.join(out, "cluster.png"))
    view.tabs.setCurrentWidget(view.compare)
    app.processEvents()
    w.grab().save(os.path.join(out, "cluster-compare.png"))
    w.close()
    cleanup()


def cluster_pictures(app, out: str, cluster: TestCluster, submitted: list[str]) -> None:
    from gui.screenshots.cluster import wait_for

    w, view = window(app)
    control = view.profiles_control
    name = cluster.profile.name
    view.select_profile(name)
    if not wait_for(control.probed, lambda: view.form.widgets["partition"].count() > 1, 60_000):
        raise NotReached("no partitions from the test cluster")
    view.form.set_values({**view.form.values(), "partition": "debug"})

    def compose(spec: RunSpec, ntasks: int) -> None:
        view.compose_job(spec, "spiral.json")
        view.form.widgets["job_name"].setText("spiral-2ranks")
        view.form.widgets["ntasks"].setValue(ntasks)
        view.form.widgets["ntasks_per_node"].setValue(ntasks)
        view.form.widgets["time"].setText("00:10:00")

    compose(spiral(300), 2)
    app.processEvents()
    grab(w, os.path.join(out, "cluster-compose.png"), True, "")

    wait_idle(cluster)
    compose(spiral(200), 2)
    view.submit()
    wait_for(view.job_submitted, lambda: view.job_view.job is not None or bool(view.last_submit_error), 60_000)
    job = view.job_view.job
    if job is None:
        raise NotReached(f"the job was not submitted: {view.last_submit_error}")
    submitted.append(job.job_id)
    wait_for(control.events_arrived, lambda: "Completed" in view.job_view.timeline.text(), 180_000)
    view.show_job(name, job.job_id)
    wait_for(view.output_tail.output_arrived, lambda: bool(view.job_view.output_text()), 20_000)
    app.processEvents()
    grab(w, os.path.join(out, "cluster-remote-job.png"), "Completed" in view.job_view.timeline.text(),
         "the job did not complete")

    queued: list[str] = []
    for _ in range(3):
        compose(spiral(1500, n_samples=20000), 2)
        known = {j.job_id for j in view.store.jobs(name)}
        view.submit()
        wait_for(view.job_submitted, lambda: {j.job_id for j in view.store.jobs(name)} - known, 60_000)
        queued += [j.job_id for j in view.store.jobs(name) if j.job_id not in known]
        submitted[:] = submitted + queued[-1:]
    view.tabs.setCurrentWidget(view.queue_table)
    view.queue_table.state_combo.setCurrentText("queued or running")

    def queue_shows_them() -> bool:
        states = [view.queue_table.cell_text(job_id, 3) for job_id in queued]
        return "RUNNING" in states and states.count("PENDING") == 2

    view.queue_table.refresh_button.click()
    reached = wait_for(control.queue_arrived, queue_shows_them, 60_000)
    app.processEvents()
    grab(w, os.path.join(out, "cluster-queue.png"), reached, "the three jobs were not queued and running")
    w.close()


def main(argv: list[str]) -> int:
    out = os.path.abspath(argv[0] if argv else os.path.join(ROOT, "docs", "images"))
    os.makedirs(out, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="scalelab-pictures-")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    cluster = TestCluster()
    cluster.root.mkdir(parents=True, exist_ok=True)
    users = open(cluster.root / "users.lock", "w")
    # Like the tests: every user of the cluster holds a shared lock; the last one out stops it.
    fcntl.flock(users, fcntl.LOCK_SH)
    try:
        cluster.start(log=lambda message: None)
        config = os.path.join(scratch, "profiles.toml")
        save_profiles({cluster.profile.name: cluster.profile}, config)
        os.environ["SCALELAB_CONFIG"] = config
        os.environ["SCALELAB_DATA_DIR"] = os.path.join(scratch, "data")
        local_pictures(app, out)
        submitted: list[str] = []
        try:
            cluster_pictures(app, out, cluster, submitted)
        finally:
            if submitted:  # nothing of ours keeps the shared cluster busy
                cluster.as_user(["scancel", *submitted])
    except NotReached as exc:
        print(f"not retaken: {exc}", file=sys.stderr)
        return 1
    finally:
        fcntl.flock(users, fcntl.LOCK_UN)
        with contextlib.suppress(OSError):
            fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if not cluster.persistent_marker.exists():
                cluster.stop()
        users.close()
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"pictures in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
