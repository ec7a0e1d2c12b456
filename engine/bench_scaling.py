"""``python -m engine bench --ranks N``: data-parallel training speed on 1 and N ranks.

The large case of the scaling lab: 20,000 x 200 inputs (8 Gaussian classes), network
200-256-128-8 (ReLU), batch 128, Adam, float32. Each configuration runs in its own
processes with ONE BLAS/OpenMP thread per rank: one rank as a plain process, N ranks under
``mpirun -n N`` (started here).

Lines, each the best epoch of several (the least disturbed on a shared machine):

- *strong scaling*, the global batch of 128 split over the N ranks (128/N rows per rank
  and step), once per gradient reduction (``engine.grad_reduce``): node shared memory
  with a sharded optimizer step (the default on one node), overlapped ``Iallreduce``
  buckets and one blocking ``Allreduce`` (``--reduction`` picks one);
- *weak scaling*, 128 rows per rank and step (a global batch of 128 N), as Horovod's
  benchmarks count a batch per GPU, with the default reduction.

Each line gives the samples per second, the speedup over one rank, the efficiency
(speedup / N) and each rank's compute, communication and wait time in that epoch. Target:
90% efficiency on 2 ranks on a quiet machine; the load average is printed next to the
figures, and a *steadiness* line compares each configuration's best epoch with its median
one: on a quiet machine they are a few percent apart, and the efficiencies (best against
best) mean what they say; tens of percent apart, the cores' speed drifted during the run,
and N ranks, which need every core at full speed for a whole epoch, lose more to it than
one rank does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from .parallel import local_mpirun, mpirun_unavailable
from .threads import one_thread_environment

CASE = dict(n=20_000, d=200, classes=8, hidden=(256, 128), batch=128, optimizer="adam", lr=0.001, data="blobs200")
TARGET_EFFICIENCY = 0.90
#: the gradient reductions, and the environment that picks each (``engine.grad_reduce``)
REDUCTIONS = {
    "shared": {"SCALELAB_SHARED_MEMORY": "1", "SCALELAB_OVERLAP": "1"},
    "overlapped": {"SCALELAB_SHARED_MEMORY": "0", "SCALELAB_OVERLAP": "1"},
    "blocking": {"SCALELAB_SHARED_MEMORY": "0", "SCALELAB_OVERLAP": "0"},
}
_LABELS = {"shared": "shared memory", "overlapped": "overlapped", "blocking": "blocking"}


def _root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _launch(ranks: int, reduction: str, epochs: int, batch: int) -> dict | str:
    """Run the worker on ``ranks`` ranks with global batch ``batch``; its JSON result, or why there is none."""
    env = dict(one_thread_environment(), PYTHONPATH=_root() + os.pathsep + os.environ.get("PYTHONPATH", ""),
               **REDUCTIONS[reduction])
    cmd = [sys.executable, "-m", "engine.bench_scaling", "worker", str(epochs), str(batch)]
    if ranks > 1:
        why = mpirun_unavailable()
        if why is not None:
            return why
        cmd = local_mpirun(ranks) + cmd
    proc = subprocess.run(cmd, cwd=_root(), env=env, capture_output=True, text=True, timeout=1800)
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    return f"failed ({(proc.stderr.strip().splitlines() or ['no output'])[-1]})"


def _timeline_text(res: dict) -> str:
    parts = []
    for r, (c, m, w) in enumerate(zip(res["rank_compute_s"], res["rank_comm_s"], res["rank_wait_s"])):
        parts.append(f"rank {r} {c * 1e3:.0f}/{m * 1e3:.0f}/{w * 1e3:.0f}")
    return "compute/comm/wait ms: " + ", ".join(parts)


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"


def run(ranks: int = 2, reductions: tuple[str, ...] = tuple(REDUCTIONS), quick: bool = False) -> int:
    """Print the 1-rank line, then strong scaling per reduction and weak scaling; returns the
    number of lines below the target.

    Every configuration runs once per round, the rounds interleaved (5 of 12 epochs; 1 of
    3 with ``quick``), and keeps its best epoch of all: a core slowed for a few seconds by
    something else on the machine then costs one round, not the comparison.
    """
    epochs, rounds = (3, 1) if quick else (12, 5)
    batch = CASE["batch"]
    print(f"data parallel: {CASE['n']:,} x {CASE['d']}, {CASE['d']}-" + "-".join(map(str, CASE["hidden"]))
          + f"-{CASE['classes']}, batch {batch}, {CASE['optimizer']}, float32, one BLAS thread per rank, "
          f"best epoch of {rounds} x {epochs}; {os.cpu_count()} CPUs, load average {_load()}", flush=True)
    configs = [("1 rank", 1, reductions[0], batch)]
    configs += [(f"{ranks} ranks, strong, {_LABELS[r]}", ranks, r, batch) for r in reductions]
    configs.append((f"{ranks} ranks, weak, {_LABELS[reductions[0]]}", ranks, reductions[0], batch * ranks))
    best: dict[str, dict | str] = {}
    rates: dict[str, list[float]] = {label: [] for label, *_ in configs}
    for _ in range(rounds):
        for label, n, reduction, global_batch in configs:
            res = _launch(n, reduction, epochs, global_batch)
            if isinstance(res, dict):
                rates[label] += res["epochs_samples_per_s"]
            old = best.get(label)
            if isinstance(res, dict) and (not isinstance(old, dict) or res["samples_per_s"] > old["samples_per_s"]):
                best[label] = res
            elif old is None:
                best[label] = res
    one = best["1 rank"]
    if isinstance(one, str):
        print(f"1 rank: {one}")
        return 1
    print(f"{f'1 rank (batch {batch}):':<54}{one['samples_per_s']:>9,.0f} samples/s", flush=True)
    failures = 0
    described = {}
    for label, n, reduction, global_batch in configs[1:]:
        res = best[label]
        label = f"{label} (batch {global_batch // n} per rank):"
        if isinstance(res, str):
            print(f"{label} {res}")
            failures += 1
            continue
        described.setdefault(reduction, res["reduction"])
        speedup = res["samples_per_s"] / one["samples_per_s"]
        efficiency = speedup / n
        ok = efficiency >= TARGET_EFFICIENCY
        failures += not ok
        print(f"{label:<54}{res['samples_per_s']:>9,.0f} samples/s, speedup {speedup:.2f}x, efficiency "
              f"{efficiency:.0%} (target {TARGET_EFFICIENCY:.0%} {'met' if ok else 'MISSED'}); "
              f"{_timeline_text(res)}", flush=True)
    for reduction, text in described.items():
        print(f"{_LABELS[reduction]}: {text}")
    print(steadiness_text(rates))
    print(f"load average after: {_load()}")
    return failures


def steadiness_text(rates: dict[str, list[float]]) -> str:
    """How far each configuration's median epoch fell below its best (samples/s per epoch)."""
    parts = []
    for label, values in rates.items():
        if values:
            best, median = max(values), float(np.median(values))
            parts.append(f"{label} {1.0 - median / best:.0%}")
    return ("steadiness (median epoch below the best; a few % on a quiet machine): " + ", ".join(parts)
            if parts else "steadiness: no epochs measured")


def _worker(epochs: int, batch: int) -> None:
    from .bench import _data
    from .data import Dataset
    from .parallel import world_comm
    from .spec import RunSpec
    from .trainer import Trainer

    comm = world_comm()
    X, y = _data(CASE)
    k = CASE["classes"]
    ds = Dataset(X_train=X.astype(np.float64), y_train=y, X_test=np.zeros((0, X.shape[1])),
                 y_test=np.zeros(0, np.int64), task="classification", n_classes=k,
                 class_names=tuple(str(c) for c in range(k)))
    spec = RunSpec.from_dict({
        "model": {"kind": "mlp", "hidden": list(CASE["hidden"]), "activation": "relu"},
        "train": {"epochs": epochs + 1, "batch_size": batch, "optimizer": CASE["optimizer"],
                  "learning_rate": CASE["lr"], "dtype": "float32", "seed": 0},
    })
    trainer = Trainer(spec, dataset=ds, comm=comm)
    trainer.train_epoch()  # warm-up: buffers, caches, MPI connections
    records = [trainer.train_epoch() for _ in range(epochs)]
    best = max(records, key=lambda r: r["samples_per_s"])
    if comm.rank == 0:
        print(json.dumps({
            "ranks": comm.size, "samples_per_s": best["samples_per_s"],
            "rank_compute_s": best["rank_compute_s"], "rank_comm_s": best["rank_comm_s"],
            "rank_wait_s": best["rank_wait_s"],
            "epochs_samples_per_s": [r["samples_per_s"] for r in records],
            "reduction": trainer.gradient_reduction or "one rank: no reduction",
        }), flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "worker":
        _worker(int(sys.argv[2]) if len(sys.argv) > 2 else 8, int(sys.argv[3]) if len(sys.argv) > 3 else CASE["batch"])
    else:
        sys.exit(1 if run() else 0)
