"""``python -m engine bench``: the engine's training speed against scikit-learn and PyTorch.

Every case trains the same data, architecture (ReLU hidden layers, softmax
cross-entropy), batch size and optimizer in all three, in float32, on ONE BLAS/OpenMP
thread, and prints samples per second and the engine's speed ratio to each peer. Every
figure is the best of several timed epochs (other processes share the machine; the best
run is the one least disturbed). PyTorch runs a plain training loop (pre-shuffled tensors,
slices, ``zero_grad``/``backward``/``step``), scikit-learn ``MLPClassifier.partial_fit``
(one epoch per call). A peer that is not installed is reported as such.

Cases (from the engine's specification):

- ``tiny``: 2-D spiral, 1,000 points, 2-8-8-2, batch 10, SGD;
- ``wide``: 100,000 2-D points, 2-64-64-2, batch 256, Adam;
- ``large``: 20,000 x 200, 16 classes, 200-256-128-16, batch 128, Adam;
- ``grid``: the decision grid, 200 x 200 points, for 2-8-8-2 and 2-64-64-2;
- ``svm``: fitting RBF SVMs, against scikit-learn's SVC and on 2 MPI ranks
  (``engine.bench_svm``; only when asked for with ``--case svm``);
- ``clustering``: k-means and DBSCAN against scikit-learn (``engine.bench_clustering``;
  only with ``--case clustering``).
- ``--ranks N``: data-parallel training on 1 and N ranks, strong and weak scaling, with each
  gradient reduction (``engine.bench_scaling``).

Targets: tiny >= 10x scikit-learn and >= 18x PyTorch; large >= 1.5x scikit-learn and
>= 1.35x PyTorch; grid for 2-8-8-2 under 1.5 ms.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import numpy as np

from .threads import THREAD_VARIABLES, one_thread_environment

CASES = {
    "tiny": dict(n=1000, d=2, classes=2, hidden=(8, 8), batch=10, optimizer="sgd", lr=0.05,
                 data="spiral", epochs=(8, 30), targets={"scikit-learn": 10.0, "PyTorch": 18.0}),
    "wide": dict(n=100_000, d=2, classes=2, hidden=(64, 64), batch=256, optimizer="adam", lr=0.001,
                 data="gauss", epochs=(2, 4), targets={}),
    "large": dict(n=20_000, d=200, classes=16, hidden=(256, 128), batch=128, optimizer="adam", lr=0.001,
                  data="blobs200", epochs=(2, 4), targets={"scikit-learn": 1.5, "PyTorch": 1.35}),
}
GRID_TARGET_MS = 1.5


# ----------------------------------------------------------------------------- one thread


def _limit_threads() -> object | None:
    """Pin BLAS/OpenMP to one thread; returns a threadpoolctl handle to keep alive.

    Without threadpoolctl the thread counts must be set before NumPy loads its BLAS: the
    process re-executes itself once with the environment variables set.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if os.environ.get("SCALELAB_BENCH_REEXEC") != "1":
            env = dict(one_thread_environment(), SCALELAB_BENCH_REEXEC="1")
            sys.stdout.flush()
            os.execve(sys.executable, [sys.executable, "-m", "engine", *sys.argv[1:]], env)
        return None
    return threadpool_limits(limits=1)


# ----------------------------------------------------------------------------- data


def _data(case: dict, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from .datasets import make_preset

    n, kind = case["n"], case["data"]
    if kind == "blobs200":
        rng = np.random.default_rng(seed)
        centers = rng.normal(0.0, 1.0, size=(case["classes"], case["d"]))
        y = rng.integers(0, case["classes"], n)
        X = centers[y] + rng.normal(0.0, 2.0, size=(n, case["d"]))
        return X.astype(np.float32), y.astype(np.int64)
    X, y = make_preset(kind, n, 0.1, seed)
    return np.asarray(X, np.float32), np.asarray(y, np.int64)


# ----------------------------------------------------------------------------- the three


def _time_engine(case, X, y, epochs) -> float:
    """Best samples/s of one engine training epoch."""
    from .data import Dataset
    from .spec import RunSpec
    from .trainer import Trainer

    ds = Dataset(X_train=X.astype(np.float64), y_train=y, X_test=np.zeros((0, X.shape[1])),
                 y_test=np.zeros(0, np.int64), task="classification", n_classes=case["classes"],
                 class_names=tuple(str(c) for c in range(case["classes"])))
    spec = RunSpec.from_dict({
        "model": {"kind": "mlp", "hidden": list(case["hidden"]), "activation": "relu"},
        "train": {"epochs": epochs + 1, "batch_size": case["batch"], "optimizer": case["optimizer"],
                  "learning_rate": case["lr"], "dtype": "float32", "seed": 0},
    })
    trainer = Trainer(spec, dataset=ds)
    trainer.train_epoch()  # warm-up: buffers, caches
    best = 0.0
    for _ in range(epochs):
        t0 = time.perf_counter()
        trainer.train_epoch()
        best = max(best, X.shape[0] / (time.perf_counter() - t0))
    return best


def _time_sklearn(case, X, y, epochs) -> float | str:
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return "not installed"
    sgd = case["optimizer"] == "sgd"
    clf = MLPClassifier(hidden_layer_sizes=case["hidden"], activation="relu", solver=case["optimizer"],
                        alpha=0.0, batch_size=case["batch"], learning_rate_init=case["lr"],
                        momentum=0.0 if sgd else 0.9, nesterovs_momentum=False, shuffle=True,
                        random_state=0)
    classes = np.arange(case["classes"])
    best = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.partial_fit(X, y, classes=classes)  # warm-up
        for _ in range(epochs):
            t0 = time.perf_counter()
            clf.partial_fit(X, y)
            best = max(best, X.shape[0] / (time.perf_counter() - t0))
    return best


def _torch_model(torch, case, d):
    layers = []
    width = d
    for h in case["hidden"]:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    layers.append(torch.nn.Linear(width, case["classes"]))
    return torch.nn.Sequential(*layers)


def _time_torch(case, X, y, epochs) -> float | str:
    try:
        import torch
    except ImportError:
        return "not installed"
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = _torch_model(torch, case, X.shape[1])
    loss_fn = torch.nn.CrossEntropyLoss()
    if case["optimizer"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=case["lr"])
    else:
        opt = torch.optim.Adam(model.parameters(), lr=case["lr"])
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y)
    n, b = X.shape[0], case["batch"]

    def epoch():
        perm = torch.randperm(n)
        Xp, yp = Xt[perm], yt[perm]
        for s in range(0, n, b):
            opt.zero_grad()
            loss = loss_fn(model(Xp[s:s + b]), yp[s:s + b])
            loss.backward()
            opt.step()

    epoch()  # warm-up
    best = 0.0
    for _ in range(epochs):
        t0 = time.perf_counter()
        epoch()
        best = max(best, n / (time.perf_counter() - t0))
    return best


# ----------------------------------------------------------------------------- grid


def _time_grid(hidden, activation, repeats) -> dict:
    from .features import Preprocessor
    from .grid import decision_grid, grid_points
    from .model import Network

    net = Network(2, hidden, (activation,) * len(hidden), 2, seed=0)
    pre = Preprocessor(("x1", "x2"))
    box, shape = (-6.0, 6.0, -6.0, 6.0), (200, 200)
    out = np.empty((200, 200, 2), np.float32)
    decision_grid(net, pre, box, shape, out=out)
    result = {"engine": _best_ms(lambda: decision_grid(net, pre, box, shape, out=out), repeats)}
    P = grid_points(box, shape).astype(np.float32)
    try:
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(hidden_layer_sizes=hidden, activation=activation, max_iter=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(P[:200], (P[:200, 0] > 0).astype(int))
        result["scikit-learn"] = _best_ms(lambda: clf.predict_proba(P), repeats)
    except ImportError:
        result["scikit-learn"] = "not installed"
    try:
        import torch

        torch.set_num_threads(1)
        model = _torch_model(torch, {"hidden": hidden, "classes": 2}, 2)
        Pt = torch.from_numpy(P)

        def fwd():
            with torch.no_grad():
                return torch.softmax(model(Pt), dim=1).numpy()

        result["PyTorch"] = _best_ms(fwd, repeats)
    except ImportError:
        result["PyTorch"] = "not installed"
    return result


def _best_ms(fn, repeats) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


# ----------------------------------------------------------------------------- report


def _cell(v, fmt="{:,.0f}") -> str:
    return v if isinstance(v, str) else fmt.format(v)


def run_case(name: str, quick: bool = False) -> dict:
    """Measure one training case; returns samples/s per framework and the ratios."""
    case = CASES[name]
    X, y = _data(case)
    epochs = case["epochs"][0] if quick else case["epochs"][1]
    res = {"engine": _time_engine(case, X, y, epochs),
           "scikit-learn": _time_sklearn(case, X, y, max(1, epochs // 2) if quick else epochs),
           "PyTorch": _time_torch(case, X, y, max(1, epochs // 2) if quick else epochs)}
    return res


def main(quick: bool = False, cases=None, ranks: int | None = None, reductions=None) -> int:
    """Run the benchmark cases and print the table; returns 0 (2 for a bad ``ranks``).

    With ``ranks`` (and no ``cases``) only the data-parallel benchmark runs
    (:mod:`engine.bench_scaling`), with the gradient ``reductions`` named (default all).
    """
    if ranks is not None:
        if ranks < 2:
            sys.stderr.write(f"error: bench --ranks: {ranks} is not a number of ranks to compare with one; give 2 or more\n")
            return 2
        from .bench_scaling import REDUCTIONS, run as run_scaling

        run_scaling(ranks, tuple(dict.fromkeys(reductions or REDUCTIONS)), quick)
        if not cases:
            return 0
    limiter = _limit_threads()  # noqa: F841  (kept alive for the whole run)
    cases = list(dict.fromkeys(cases or ["tiny", "wide", "large", "grid"]))
    import platform

    print(f"engine benchmark: one BLAS thread, float32, best of several epochs; "
          f"Python {platform.python_version()}, NumPy {np.__version__}, {platform.machine()}")
    if limiter is not None:
        from threadpoolctl import threadpool_info

        pools = ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info())
        print(f"thread pools (threadpoolctl): {pools or 'none loaded yet'}")
    else:
        print("thread pools: limited to 1 through " + ", ".join(THREAD_VARIABLES[:3]))
    for env in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(env):
            print(f"note: {env}={os.environ[env]} is set; it changes OpenBLAS's kernels")
    failures = 0
    for name in cases:
        if name == "svm":
            from .bench_svm import run as run_svm

            failures += run_svm(quick)
            continue
        if name == "clustering":
            from .bench_clustering import run as run_clustering

            failures += run_clustering(quick)
            continue
        if name == "grid":
            repeats = 30 if quick else 200
            for hidden in ((8, 8), (64, 64)):
                for act in ("relu", "tanh"):
                    r = _time_grid(hidden, act, repeats)
                    arch = "2-" + "-".join(map(str, hidden)) + "-2"
                    line = f"grid 200x200 {arch:10s} {act:5s} engine {r['engine']:7.3f} ms"
                    for peer in ("scikit-learn", "PyTorch"):
                        v = r[peer]
                        line += f" | {peer} " + (v if isinstance(v, str) else f"{v:7.3f} ms ({v / r['engine']:.1f}x)")
                    if hidden == (8, 8):
                        ok = r["engine"] < GRID_TARGET_MS
                        failures += not ok
                        line += f"  target < {GRID_TARGET_MS} ms: {'met' if ok else 'MISSED'}"
                    print(line, flush=True)
            continue
        case = CASES[name]
        res = run_case(name, quick)
        arch = f"{case['d']}-" + "-".join(map(str, case["hidden"])) + f"-{case['classes']}"
        eng = res["engine"]
        line = (f"{name:5s} {case['n']:>7,} x {case['d']:<3d} {arch:14s} batch {case['batch']:<4d} "
                f"{case['optimizer']:4s} engine {_cell(eng):>10s} samples/s ({1e6 * case['batch'] / eng:7.1f} us/step)")
        for peer in ("scikit-learn", "PyTorch"):
            v = res[peer]
            if isinstance(v, str):
                line += f" | {peer} {v}"
                continue
            ratio = eng / v
            line += f" | {peer} {_cell(v):>9s} ({ratio:.2f}x"
            target = case["targets"].get(peer)
            if target:
                ok = ratio >= target
                failures += not ok
                line += f", target {target:g}x {'met' if ok else 'MISSED'}"
            line += ")"
        print(line, flush=True)
    if failures:
        print(f"{failures} target(s) missed on this run (timings vary with machine load; rerun to confirm)")
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv))
