"""``python -m engine bench --case svm``: fitting an RBF SVM, the engine against scikit-learn.

Two problems, each fitted by the engine on one rank, by scikit-learn's ``SVC`` (libsvm)
on one thread, and by the engine on two MPI ranks (``mpirun -n 2``, when mpirun and
mpi4py are there):

- ``binary``: 5,000 x 50, 2 overlapping Gaussian classes, C 1, gamma ``scale``; one pair,
  so two ranks split its rows (piSVM's data parallelism);
- ``hyperspectral``: 10,000 x 200, the ``hyperspectral`` preset's 16 classes of Indian
  Pines sizes, C 100, gamma 8 (the course's piSVM settings); 120 pairs, dealt out to the
  ranks.

Each figure is the best of a few fits, the contestants taking turns (the machine is
shared; the best run is the least disturbed): 7 rounds for the short binary problem, 3 for
the long one. The two ranks fit twice per round and keep the faster, their first fit being
the cold start of a new process. Targets: the engine no slower than scikit-learn; two ranks at least 1.6x
faster than one. Next to the wall-clock times the line gives the CPU time of one rank and
of the busiest of two: on a machine with fewer free cores than ranks the wall clock says
little, the CPU split says how the work was shared (an MPI wait that spins counts as CPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from .parallel import local_mpirun, mpirun_unavailable
from .threads import one_thread_environment

PROBLEMS = {
    "binary": dict(n=5000, d=50, classes=2, C=1.0, gamma="scale"),
    "hyperspectral": dict(n=10_000, d=200, classes=16, C=100.0, gamma=8.0),
}
#: rounds per problem: a fit of a fraction of a second is disturbed more easily, so the
#: short problem gets more turns (every contestant the same number)
ROUNDS = {"binary": 7, "hyperspectral": 3}
TARGET_VS_SKLEARN = 1.0
TARGET_TWO_RANKS = 1.6


def problem_data(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The inputs (n, d) float64 and class indices (n,) of problem ``name``."""
    p = PROBLEMS[name]
    if name == "binary":
        rng = np.random.default_rng(0)
        y = rng.integers(0, 2, p["n"])
        shift = 0.35 * (rng.normal(size=p["d"]) > 0)
        X = rng.normal(size=(p["n"], p["d"])) + (2 * y[:, None] - 1) * shift
        return X, y.astype(np.int64)
    from .datasets import make_preset

    return make_preset("hyperspectral", p["n"], 0.0, 1, p["classes"], n_features=p["d"])


def _fit_engine(name: str, comm=None) -> tuple[float, dict]:
    from .svm import OneVsOneFit, SvmSettings

    p = PROBLEMS[name]
    X, y = problem_data(name)
    if comm is not None:
        comm.barrier()
    t0, c0 = time.perf_counter(), time.process_time()
    fit = OneVsOneFit(X, y, p["classes"], SvmSettings(C=p["C"], gamma=p["gamma"]), comm)
    for _ in fit.run():
        pass
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return seconds, {"iterations": sum(fit.iterations), "n_support": int(fit.model.n_support.sum()),
                     "dual_objective": sum(fit.objectives), "cpu_s": cpu}


def _fit_sklearn(name: str) -> tuple[float, dict] | str:
    try:
        from sklearn.svm import SVC
    except ImportError:
        return "not installed"
    p = PROBLEMS[name]
    X, y = problem_data(name)
    t0, c0 = time.perf_counter(), time.process_time()
    clf = SVC(C=p["C"], gamma=p["gamma"], tol=1e-3, cache_size=200).fit(X, y)
    return time.perf_counter() - t0, {"iterations": int(np.sum(clf.n_iter_)), "n_support": int(clf.n_support_.sum()),
                                      "cpu_s": time.process_time() - c0}


def _fit_two_ranks(name: str, repeats: int) -> tuple[float, float] | str:
    why = mpirun_unavailable()
    if why is not None:
        return why
    cmd = local_mpirun(2) + [sys.executable, "-m", "engine.bench_svm", "worker", name, str(repeats)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(one_thread_environment(), PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=3600)
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            found = json.loads(line)
            return float(found["seconds"]), float(found["busiest_cpu_s"])
    return f"failed ({(proc.stderr.strip().splitlines() or ['no output'])[-1]})"


def _keep_best(best, out):
    """The faster of two results (a message, once there, stays)."""
    if isinstance(best, str):
        return best
    if isinstance(out, str):
        return out
    return out if best is None or out[0] < best[0] else best


def run(quick: bool = False) -> int:
    """Print one line per problem; returns the number of targets missed.

    The three fits of a problem take turns, round after round (one round with ``quick``,
    else :data:`ROUNDS`), and each keeps its best: a stretch of time when the machine is slower
    then costs every contestant a round, not one of them its figure.
    """
    failures = 0
    for name, p in PROBLEMS.items():
        best_engine = best_sk = best_two = None
        for _ in range(1 if quick else ROUNDS[name]):
            best_engine = _keep_best(best_engine, _fit_engine(name))
            best_sk = _keep_best(best_sk, _fit_sklearn(name))
            best_two = _keep_best(best_two, _fit_two_ranks(name, 2))
        eng_s, eng = best_engine
        sk, two = best_sk, best_two
        line = (f"svm {name:13s} {p['n']:>6,} x {p['d']:<3d} {p['classes']:>2d} classes C {p['C']:g} gamma {p['gamma']}: "
                f"engine {eng_s:7.2f} s ({eng['iterations']:,} it, {eng['n_support']:,} SVs)")
        if isinstance(sk, str):
            line += f" | scikit-learn {sk}"
        else:
            ratio = sk[0] / eng_s
            ok = ratio >= TARGET_VS_SKLEARN
            failures += not ok
            line += (f" | scikit-learn {sk[0]:7.2f} s ({sk[1]['iterations']:,} it, {sk[1]['n_support']:,} SVs): "
                     f"{ratio:.2f}x, target {TARGET_VS_SKLEARN:g}x {'met' if ok else 'MISSED'} "
                     f"(CPU: engine {eng['cpu_s']:.2f} s, scikit-learn {sk[1]['cpu_s']:.2f} s)")
        if isinstance(two, str):
            line += f" | 2 ranks: {two}"
        else:
            speedup = eng_s / two[0]
            ok = speedup >= TARGET_TWO_RANKS
            failures += not ok
            line += (f" | 2 ranks {two[0]:7.2f} s: {speedup:.2f}x, target {TARGET_TWO_RANKS:g}x "
                     f"{'met' if ok else 'MISSED'} (CPU: 1 rank {eng['cpu_s']:.2f} s, busiest of 2 {two[1]:.2f} s)")
        print(line, flush=True)
    return failures


def _worker(name: str, repeats: int) -> None:
    from .parallel import world_comm

    comm = world_comm()
    runs = [_fit_engine(name, comm) for _ in range(repeats)]
    seconds, info = min(runs, key=lambda r: r[0])
    cpu = np.array([info["cpu_s"]])
    comm.allreduce_max(cpu)
    if comm.rank == 0:
        print(json.dumps({"seconds": seconds, "busiest_cpu_s": float(cpu[0]), "ranks": comm.size}), flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "worker":
        _worker(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    else:
        sys.exit(1 if run("--quick" in sys.argv) else 0)
