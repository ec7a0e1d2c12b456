"""Measure the Playground's responsiveness while it trains: ``python -m gui.bench``.

Opens the Playground offscreen on the spiral with a 2-8-8-2 network (inputs x1, x2),
presses play at full speed and, for ``--seconds``, counts:

- frames/s: decision-region images actually put on screen (the curves, the counter and
  the network follow at paces of their own, :mod:`gui.playground.pacing`),
- training steps/s and epochs/s of the worker,
- the event loop's worst stall: a ``QTimer`` asks to run every 5 ms and records how late
  it is each time; a blocked GUI thread shows up as lateness. The same is measured first
  with nothing training, as a baseline for what the machine's other programs cause;
- then, for 3 s, the epochs/s of a run limited to 100 epochs/s (the speed slider), in
  real time. The tests check the schedule on a fake clock; this is the check on a real one;
- last, the same spec trained headless (no window, no pictures) for a few seconds, in a
  process of its own started as the window's trainer is (one BLAS thread): the steps/s the
  window's training is compared with.

It ends with the three targets a smooth Playground meets: at least ``TARGET_FPS`` frames/s,
no event-loop stall over ``TARGET_STALL_MS``, and training in the window at least
``TARGET_SHARE`` of the headless speed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


PACED_SPEED = 100.0
TARGET_FPS = 55.0
TARGET_STALL_MS = 20.0
TARGET_SHARE = 0.5


def bench_spec():
    """The spiral with a 2-8-8-2 tanh network, batch 10, Adam: the benchmark's run."""
    from engine.spec import DatasetSpec, ModelSpec, RunSpec, TrainSpec

    return RunSpec(
        dataset=DatasetSpec(kind="spiral", n_samples=500, noise=0.0, seed=1, test_fraction=0.3),
        features=("x1", "x2"), model=ModelSpec(kind="mlp", hidden=(8, 8), activation="tanh"),
        # (an epoch limit far away: a run that completes would stop the clock early)
        train=TrainSpec(epochs=1_000_000, batch_size=10, optimizer="adam", learning_rate=0.03))


def headless_steps_per_s(seconds: float = 3.0) -> float:
    """Optimizer steps per second of the benchmark's run trained with no window at all."""
    from engine.data import load_dataset
    from gui.playground.training_run import TrainingRun

    spec = bench_spec()
    run = TrainingRun(spec, load_dataset(spec), 1)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds and run.status == "running":
        run.train_epoch()
    elapsed = time.perf_counter() - t0
    return run.unsent[-1]["step"] / elapsed


def headless_in_a_process(seconds: float = 3.0) -> float:
    """:func:`headless_steps_per_s` in a fresh process started as the window's trainer is (one
    BLAS thread, :mod:`gui.playground.training_process`), so that the two are compared on the
    same terms."""
    import subprocess

    from engine.threads import one_thread_environment

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = f"from gui.bench import headless_steps_per_s; print(headless_steps_per_s({float(seconds)!r}))"
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=one_thread_environment(),
                         capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def run(seconds: float = 8.0, size: str = "1500x950", presentation: bool = False,
        paced_seconds: float = 3.0, in_thread: bool = False) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtWidgets

    from gui import freeze_startup_objects
    from gui.playground.pacing import SPEEDS
    from gui.playground.view import PlaygroundView

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    view = PlaygroundView()
    w, h = (int(v) for v in size.lower().split("x"))
    view.resize(w, h)
    view.show()
    if in_thread:
        # The way the Playground trained before it had a training process: for comparison.
        view.session.close()
        view.session.in_process = False
    view.load_run_spec(bench_spec())
    view.settings.set(speed_index=len(SPEEDS) - 1)  # full speed (a new Playground starts at a slower pace)
    if presentation:
        view.set_presentation(True)
    for _ in range(5):
        app.processEvents()
    freeze_startup_objects()  # as the app does once its window is up

    interval_ms = 5
    lateness: list[float] = []
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        lateness.append(max(0.0, now - last[0] - interval_ms / 1000.0))
        last[0] = now

    meter = QtCore.QTimer()
    meter.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    meter.setInterval(interval_ms)
    meter.timeout.connect(tick)

    def spin(duration_s: float) -> None:
        t_end = time.perf_counter() + duration_s
        while time.perf_counter() < t_end:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.001)

    # Baseline: the same event loop with nothing training, so that stalls caused by
    # other programs on the machine can be told apart from ours.
    last[0] = time.perf_counter()
    meter.start()
    spin(min(2.0, seconds / 3))
    meter.stop()
    idle = sorted(lateness)
    lateness.clear()

    session = view.session
    frames0 = view.frames.frames_drawn
    boundary0 = view.frames.boundary_frames
    epoch0 = session.epoch
    view.play()
    t0 = time.perf_counter()
    last[0] = time.perf_counter()
    meter.start()
    spin(seconds)
    meter.stop()
    view.pause()
    while session.running:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
    elapsed = time.perf_counter() - t0
    # (one network all along: the records' step count is the worker's)
    steps = session.snapshot.last_record["step"]
    epochs = session.epoch - epoch0
    frames = view.frames.frames_drawn - frames0
    boundary_frames = view.frames.boundary_frames - boundary0
    lateness.sort()

    # The speed limit in real time: 100 epochs/s asked, frames drawn as they come.
    view.settings.set(speed_index=SPEEDS.index(PACED_SPEED))
    epoch0 = session.epoch
    view.play()
    t0 = time.perf_counter()
    spin(paced_seconds)
    paced_rate = (session.epoch - epoch0) / (time.perf_counter() - t0)
    view.shutdown()
    result = {
        "seconds": round(elapsed, 2),
        "frames_per_s": round(frames / elapsed, 1),
        "boundary_frames_per_s": round(boundary_frames / elapsed, 1),
        "train_steps_per_s": round(steps / elapsed),
        "epochs_per_s": round(epochs / elapsed, 1),
        "worst_stall_ms": round(1000 * lateness[-1], 1) if lateness else None,
        "p99_stall_ms": round(1000 * lateness[int(0.99 * (len(lateness) - 1))], 1) if lateness else None,
        "timer_ticks": len(lateness),
        "idle_worst_stall_ms": round(1000 * idle[-1], 1) if idle else None,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "paced_asked_epochs_per_s": PACED_SPEED,
        "paced_epochs_per_s": round(paced_rate, 1),
    }
    view.close()
    view.deleteLater()
    app.processEvents()
    headless = headless_in_a_process(min(3.0, seconds))
    result["headless_steps_per_s"] = round(headless)
    result["window_share_of_headless"] = round(result["train_steps_per_s"] / headless, 2) if headless else None
    result["meets_targets"] = {
        "frames_per_s": result["frames_per_s"] >= TARGET_FPS,
        "worst_stall_ms": result["worst_stall_ms"] is not None and result["worst_stall_ms"] <= TARGET_STALL_MS,
        "window_share_of_headless": (result["window_share_of_headless"] or 0) >= TARGET_SHARE,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gui.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="how long to train (default 8)")
    parser.add_argument("--size", default="1500x950", help="window size WIDTHxHEIGHT")
    parser.add_argument("--presentation", action="store_true", help="measure in presentation mode")
    parser.add_argument("--thread", action="store_true",
                        help="train in a thread of the window's process instead of a training process (to compare)")
    args = parser.parse_args(argv)
    r = run(args.seconds, args.size, args.presentation, in_thread=args.thread)
    where = "a thread of the window's process" if args.thread else "a training process"
    print(f"Playground while training the 2-8-8-2 spiral at full speed in {where} ({r['seconds']} s, offscreen):")
    print(f"  frames drawn          {r['frames_per_s']:8.1f} /s   (decision regions {r['boundary_frames_per_s']:.1f} /s)")
    print(f"  training steps        {r['train_steps_per_s']:8d} /s   ({r['epochs_per_s']} epochs/s)")
    print(f"  worst event-loop stall {r['worst_stall_ms']:7.1f} ms  (99th percentile {r['p99_stall_ms']} ms,"
          f" {r['timer_ticks']} ticks)")
    print(f"  same, not training     {r['idle_worst_stall_ms']:7.1f} ms  (the machine's own baseline)")
    print(f"  speed limit            {r['paced_epochs_per_s']:7.1f} epochs/s when {r['paced_asked_epochs_per_s']:g} are asked"
          " (real time: the machine's load shows here)")
    print(f"  headless training     {r['headless_steps_per_s']:8d} steps/s (same spec, no window)")
    print(f"  machine load average   {r['load_average_1min']} on {r['cpus']} CPUs (other programs slow all of the above)")
    ok = r["meets_targets"]
    print("Targets:")
    print(f"  frames/s >= {TARGET_FPS:g}:{'':14}{r['frames_per_s']:8.1f}   {'met' if ok['frames_per_s'] else 'NOT met'}")
    print(f"  worst stall <= {TARGET_STALL_MS:g} ms:{'':7}{r['worst_stall_ms']:8.1f}   "
          f"{'met' if ok['worst_stall_ms'] else 'NOT met'}")
    print(f"  window/headless training >= {TARGET_SHARE:g}: {r['window_share_of_headless']:8.2f}   "
          f"{'met' if ok['window_share_of_headless'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
