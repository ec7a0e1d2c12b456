"""The vectorization lesson: the dot product of two n-vectors three ways, timed.

``python -m engine vectorize`` (and the GUI's Vectorization view) time, for n from 10^3 to
10^7 (half-decade steps):

- ``loop``: the course's Python loop, ``s += a[i] * b[i]`` over the two NumPy arrays, one
  element at a time. Each step runs the interpreter: fetch ``a[i]`` (a new Python float
  object), the same for ``b[i]``, multiply, add, loop. Once the previous size's time,
  scaled by n, predicts more than ``loop_limit_s`` the loop is not run and the row says
  ``skipped: would take ~N s``;
- ``numpy``: one call ``np.dot(a, b)``: one trip into compiled BLAS code (``ddot``), which
  reads the arrays straight from memory with SIMD instructions, several products per
  instruction; for large n it runs at the speed memory delivers the data;
- ``mpi``: the vectors split over ``ranks`` MPI processes (``mpirun``), each ``np.dot``-ing
  its contiguous slice, then one ``Allreduce`` sums the parts: worth it only when the
  slices are long enough to pay for the message.

Every figure is the best of several runs (the machine is shared; the best run is the one
least disturbed), each repeated until it lasts long enough for the clock. The loop and
NumPy give the same sum up to rounding; each row carries both values, and the MPI one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

from .parallel import local_mpirun, mpirun_unavailable
from .threads import one_thread_environment

#: n from 10^3 to 10^7 in half-decade steps
DEFAULT_SIZES = (1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000, 10_000_000)
#: a loop predicted to take longer than this is skipped
LOOP_LIMIT_S = 2.0
#: one measurement calls the function until it lasts at least this long
MIN_MEASURE_S = 0.005
#: measurements of a short call: the least disturbed of many short ones beats a few long ones
SHORT_CALL_MEASUREMENTS = 15


def vectors(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The two float64 vectors of length ``n`` (uniform in [0, 1), the same for a seed)."""
    rng = np.random.default_rng(seed)
    return rng.random(n), rng.random(n)


def loop_dot(a: np.ndarray, b: np.ndarray) -> float:
    """The dot product as the course writes it first: a Python loop over the elements."""
    s = 0.0
    for i in range(len(a)):
        s += a[i] * b[i]
    return float(s)


def numpy_dot(a: np.ndarray, b: np.ndarray) -> float:
    """The dot product as one NumPy call."""
    return float(np.dot(a, b))


def best_time(fn, repeats: int = 3, min_s: float = MIN_MEASURE_S) -> tuple[float, object]:
    """Seconds per call of ``fn()``: the best of several measurements (``repeats``, or
    :data:`SHORT_CALL_MEASUREMENTS` for calls well under ``min_s``), each calling it often
    enough to last ``min_s``. Returns (seconds, the last value)."""
    once = math.inf
    for _ in range(3):  # the least disturbed of a few calls sets the calls per measurement
        t0 = time.perf_counter()
        value = fn()
        once = min(once, time.perf_counter() - t0)
        if once > 0.3:
            return once, value  # a long call: its clock error is tiny, one is enough
    calls = max(1, int(min_s / once)) if once > 0 else 1000
    best = once
    if once < min_s / 4:
        repeats = max(repeats, SHORT_CALL_MEASUREMENTS)
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            value = fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best, value


def measure(sizes=DEFAULT_SIZES, loop_limit_s: float = LOOP_LIMIT_S, repeats: int = 3, stop=None):
    """Time the loop and NumPy for each size; yields one row per size as it is measured.

    Parameters
    ----------
    sizes : sequence of int
        Increasing vector lengths.
    loop_limit_s : float
        The loop is skipped from the first size whose predicted time exceeds this.
    repeats : int
        Measurements per figure (the best is kept).
    stop : callable, optional
        Asked between sizes; True ends the measurement.

    Yields
    ------
    dict
        ``n``; ``loop_s`` (None when skipped) and ``loop_estimate_s`` (the prediction that
        skipped it); ``numpy_s``; ``speedup`` (loop / numpy, None when skipped);
        ``loop_value`` and ``numpy_value``.
    """
    with one_blas_thread():
        yield from _measure(sizes, loop_limit_s, repeats, stop)


class one_blas_thread:
    """Pin BLAS to one thread while measuring (through threadpoolctl, when installed).

    The lesson is about one core's SIMD units; a threaded ``ddot`` on a machine whose
    cores are busy waits for its helper threads and times the scheduler instead.
    ``pinned`` says whether it could.
    """

    def __enter__(self):
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            self._limits, self.pinned = None, False
        else:
            self._limits, self.pinned = threadpool_limits(limits=1, user_api="blas"), True
        return self

    def __exit__(self, *exc):
        if self._limits is not None:
            self._limits.restore_original_limits()
        return False


def _measure(sizes, loop_limit_s, repeats, stop):
    previous: tuple[int, float] | None = None
    skipping = False
    for n in sizes:
        if stop is not None and stop():
            return
        a, b = vectors(n)
        row: dict = {"n": int(n), "loop_s": None, "loop_estimate_s": None, "loop_value": None}
        estimate = previous[1] * n / previous[0] if previous else 0.0
        if skipping or estimate > loop_limit_s:
            skipping = True
            row["loop_estimate_s"] = estimate
        else:
            seconds, value = best_time(lambda: loop_dot(a, b), repeats)
            row["loop_s"], row["loop_value"] = seconds, value
            previous = (n, seconds)
        seconds, value = best_time(lambda: numpy_dot(a, b), repeats)
        row["numpy_s"], row["numpy_value"] = seconds, value
        row["speedup"] = row["loop_s"] / seconds if row["loop_s"] is not None else None
        if skipping and previous is not None:
            # Keep predicting from the last measured size.
            row["loop_estimate_s"] = previous[1] * n / previous[0]
        yield row


def mpi_unavailable() -> str | None:
    """Why the MPI column cannot be measured here (None: it can)."""
    return mpirun_unavailable()


def mpi_command(sizes, ranks: int = 2, repeats: int = 3) -> list[str]:
    """The ``mpirun`` command line of the MPI measurement."""
    return local_mpirun(ranks) + [sys.executable, "-m", "engine.vectorize", "--mpi-worker",
                                  ",".join(str(int(n)) for n in sizes), "--repeats", str(repeats)]


def measure_mpi(sizes=DEFAULT_SIZES, ranks: int = 2, repeats: int = 3, on_started=None):
    """Time the dot product split over ``ranks`` MPI processes; yields one row per size.

    Yields
    ------
    dict
        ``n``, ``mpi_s`` (the slowest rank's local dot plus the ``Allreduce``, best of
        ``repeats``), ``mpi_value`` and ``ranks``.

    Raises
    ------
    RuntimeError
        MPI is not available, or the run failed (the message says why).
    """
    why = mpi_unavailable()
    if why:
        raise RuntimeError(why)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(one_thread_environment(), PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(mpi_command(sizes, ranks, repeats), cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if on_started is not None:
        on_started(proc)
    try:
        for line in proc.stdout:
            if line.startswith("{"):
                yield json.loads(line)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        err = (proc.stderr.read().strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise RuntimeError(f"mpirun failed: {err}")


def _mpi_worker(sizes, repeats: int) -> None:
    from .parallel import split_range, world_comm

    comm = world_comm()
    for n in sizes:
        a, b = vectors(n)
        lo, hi = split_range(n, comm.size, comm.rank)
        a_part, b_part = np.ascontiguousarray(a[lo:hi]), np.ascontiguousarray(b[lo:hi])
        del a, b
        total = np.zeros(1)

        def split_dot():
            total[0] = np.dot(a_part, b_part)
            comm.allreduce_sum(total)
            return float(total[0])

        # Every rank runs the same number of calls (from the slowest rank's least disturbed
        # warm-up call), in step. A rank waiting in Allreduce on a busy machine can lose its
        # core for a time slice: many short measurements find the undisturbed ones.
        once = np.array([math.inf])
        for _ in range(3):
            comm.barrier()
            t0 = time.perf_counter()
            split_dot()
            once[0] = min(once[0], time.perf_counter() - t0)
        comm.allreduce_max(once)
        calls = max(1, int(MIN_MEASURE_S / once[0])) if once[0] > 0 else 1000
        best = math.inf
        value = 0.0
        for _ in range(max(repeats, SHORT_CALL_MEASUREMENTS)):
            comm.barrier()
            t0 = time.perf_counter()
            for _ in range(calls):
                value = split_dot()
            elapsed = np.array([(time.perf_counter() - t0) / calls])
            comm.allreduce_max(elapsed)
            best = min(best, float(elapsed[0]))
        if comm.rank == 0:
            print(json.dumps({"n": int(n), "mpi_s": best, "mpi_value": value, "ranks": comm.size}), flush=True)


def format_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} us"


def format_ratio(r: float | None) -> str:
    """A speedup for people: ``"7,742x"``, ``"1.20x"``, or below 0.5 ``"15,000x slower"``."""
    if r is None or not math.isfinite(r) or r <= 0:
        return "-"
    if r >= 10:
        return f"{r:,.0f}x"
    if r >= 0.5:
        return f"{r:.2f}x"
    return f"{1 / r:,.0f}x slower" if 1 / r >= 10 else f"{1 / r:.1f}x slower"


def table_line(row: dict) -> str:
    """One printed row: n, loop, numpy, MPI, speedups."""
    if row.get("loop_s") is not None:
        loop = format_seconds(row["loop_s"])
    elif row.get("loop_estimate_s") is not None:
        loop = f"skipped: would take ~{row['loop_estimate_s']:.0f} s"
    else:
        loop = "-"
    mpi = format_seconds(row.get("mpi_s")) if row.get("mpi_s") is not None else row.get("mpi_note", "-")
    speed = format_ratio(row.get("speedup"))
    mpi_speed = format_ratio(row["numpy_s"] / row["mpi_s"]) if row.get("mpi_s") else "-"
    return f"{row['n']:>12,}  {loop:>30}  {format_seconds(row['numpy_s']):>10}  {mpi:>13}  {speed:>14}  {mpi_speed:>15}"


def main(argv=None) -> int:
    """``python -m engine vectorize``: print the table; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m engine vectorize",
                                     description="Time a dot product as a Python loop, one NumPy call and split over MPI ranks.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-n", type=float, default=1e7, help="the largest n (1e7)")
    parser.add_argument("--loop-limit", type=float, default=LOOP_LIMIT_S,
                        help=f"skip the loop where it would take longer than this many seconds ({LOOP_LIMIT_S:g})")
    parser.add_argument("--ranks", type=int, default=2, help="MPI ranks for the split version (2; 0: none)")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per figure, the best kept (3)")


def check_arguments(max_n: float, loop_limit: float, ranks: int, repeats: int) -> tuple[int, ...]:
    """The sizes up to ``max_n``; ValueError naming a bad value."""
    if not 1_000 <= max_n <= 1e9:
        raise ValueError(f"--max-n {max_n:g} is out of range [1000, 1e9]")
    if not loop_limit > 0:
        raise ValueError(f"--loop-limit {loop_limit:g} must be positive")
    if ranks < 0 or ranks == 1:
        raise ValueError(f"--ranks {ranks}: give 0 (no MPI column) or 2 or more")
    if repeats < 1:
        raise ValueError(f"--repeats {repeats} must be at least 1")
    sizes = tuple(n for n in DEFAULT_SIZES if n <= max_n)
    extra = 10_000_000 * 3
    while extra <= max_n:  # beyond the default range, keep the half-decades
        sizes += (extra,)
        extra = extra * 10 // 3 if str(extra).startswith("3") else extra * 3
    return sizes


def lesson(sizes=DEFAULT_SIZES, loop_limit_s: float = LOOP_LIMIT_S, ranks: int = 2, repeats: int = 3,
           stop=None, on_mpi_started=None):
    """The whole measurement, as events: what the CLI prints and the GUI plots.

    Yields
    ------
    dict
        First one row per size from :func:`measure` (``"event": "row"``); then, when
        ``ranks`` >= 2, one per size from :func:`measure_mpi` (``"event": "mpi"``: ``n``,
        ``mpi_s``, ``mpi_value``, ``ranks``), or one ``{"event": "mpi_error", "message"}``
        saying why there is no MPI column.
    """
    for row in measure(sizes, loop_limit_s, repeats, stop):
        yield {"event": "row", **row}
    if ranks < 2 or (stop is not None and stop()):
        return
    try:
        for found in measure_mpi(sizes, ranks, repeats, on_started=on_mpi_started):
            yield {"event": "mpi", **found}
    except RuntimeError as exc:
        yield {"event": "mpi_error", "message": str(exc)}


def run(args) -> int:
    try:
        sizes = check_arguments(args.max_n, args.loop_limit, args.ranks, args.repeats)
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    with one_blas_thread() as pin:
        threads = "one BLAS thread" if pin.pinned else "BLAS threads as configured (threadpoolctl not installed)"
    print(f"dot product of two float64 vectors; {threads}; best of several runs; "
          f"load average {os.getloadavg()[0]:.2f}")
    mpi_title = f"MPI ({args.ranks} ranks)" if args.ranks else "MPI"
    print(f"{'n':>12}  {'Python loop':>30}  {'np.dot':>10}  {mpi_title:>13}  {'np.dot vs loop':>14}  {'MPI vs np.dot':>15}")
    rows: dict[int, dict] = {}
    note = None
    for event in lesson(sizes, args.loop_limit, args.ranks, args.repeats):
        if event["event"] == "row":
            rows[event["n"]] = event
            if not args.ranks:
                print(table_line(event), flush=True)
        elif event["event"] == "mpi":
            rows[event["n"]].update(mpi_s=event["mpi_s"], mpi_value=event["mpi_value"])
        else:
            note = f"MPI: {event['message']}"
            for r in rows.values():
                r["mpi_note"] = "n/a"
    if args.ranks:
        for r in rows.values():
            print(table_line(r), flush=True)
    if note:
        print(note)
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--mpi-worker":
        reps = int(sys.argv[4]) if len(sys.argv) >= 5 and sys.argv[3] == "--repeats" else 3
        _mpi_worker([int(s) for s in sys.argv[2].split(",")], reps)
    else:
        sys.exit(main())
