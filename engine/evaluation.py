"""Model evaluation: K-fold cross-validation, learning curves and validation curves.

One engine for ``python -m engine cv`` / ``curve`` and the Playground's Evaluation panel.
Every study is a list of *units* (one training each: a fold, or a fold of one curve point)
run one after another by a generator that yields an event per unit, so a caller can show
progress and stop between units (or inside one: the stop reaches the model's own fitter).
A unit that was stopped half-way is dropped; every finished one is kept, and a study can be
resumed from the units it finished.

Rows: cross-validation uses every row of the data set (the spec's ``test_fraction`` does
not apply), numbered in the data file's order (a preset's: as generated). The rows are dealt
into K folds after a seeded shuffle; ``stratified`` deals every class separately so each fold
holds its share of every class. Standardization, when the spec asks for it, is fitted on
each training part alone, so no fold peeks at its test rows.

Scores: accuracy for classification (plus macro F1 and the macro one-vs-rest AUC), R^2 for
regression (plus the MSE). Spread is the population standard deviation over the finished
folds (``ddof=0``, NumPy's default). A fold whose training diverged has no scores and is
left out of the means (``diverged`` counts such folds).

Any supervised model kind of ``engine.estimators`` works; clustering kinds are refused.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from .spec import RunSpec, SpecError

__all__ = ["EvaluationError", "EvalData", "load_eval_data", "fold_assignment", "check_folds", "parse_number_list",
           "spec_with_value", "CrossValidation", "LearningCurve", "ValidationCurve", "summarize"]

DEFAULT_SIZES = (0.1, 0.25, 0.5, 1.0)


class EvaluationError(SpecError):
    """A bad evaluation request (folds, sizes, a spec field path): one line for the user."""

    def __init__(self, message: str, option: str = ""):
        super().__init__(option, message)


# ----------------------------------------------------------------------------- data and folds


@dataclass(frozen=True, eq=False)
class EvalData:
    """Every row of a spec's data set, in the data file's order.

    Attributes
    ----------
    X : ndarray, shape (n, d), float64
        Raw features.
    y : ndarray, shape (n,)
        Class indices 0..C-1 (int64) or regression targets (float64).
    task : str
    n_classes : int
    class_names : tuple of str
    feature_names : tuple of str
    standardize : bool
        Fit a standardization on each training part.
    """

    X: np.ndarray
    y: np.ndarray
    task: str
    n_classes: int
    class_names: tuple
    feature_names: tuple
    standardize: bool

    @property
    def n(self) -> int:
        return int(len(self.y))

    @property
    def is_classification(self) -> bool:
        return self.task == "classification"

    def part(self, train: np.ndarray, test: np.ndarray):
        """A :class:`engine.data.Dataset` of these training and test rows."""
        from .data import Dataset, standardization

        mean = std = None
        if self.standardize:
            mean, std = standardization(self.X[train])
        return Dataset(X_train=self.X[train], y_train=self.y[train], X_test=self.X[test], y_test=self.y[test],
                       task=self.task, n_classes=self.n_classes, class_names=self.class_names, mean=mean, std=std,
                       feature_names=self.feature_names)


def check_supervised(spec: RunSpec) -> None:
    """Refuse model kinds that do not predict a label (clustering)."""
    from .estimators import model_kind

    kind = model_kind(spec.model.kind)
    if kind.output != "label":
        raise EvaluationError(f"{spec.model.kind!r} is a clustering model; cross-validation and curves score "
                              "models that predict a label (a class or a number)", "model.kind")


def load_eval_data(spec: RunSpec) -> EvalData:
    """All rows of ``spec``'s data set (training and test parts together), in file order.

    Raises
    ------
    SpecError, DataError
        The spec or its data are invalid; a clustering model kind.
    """
    from .data import load_dataset
    from .datasets import split_indices

    check_supervised(spec)
    whole = spec.with_(dataset=dataclasses.replace(spec.dataset, test_fraction=0.0, standardize=False))
    ds = load_dataset(whole)
    # With no test part the loader keeps a seeded permutation of the rows: undo it.
    shuffled = split_indices(np.zeros(ds.n_train), 0.0, spec.dataset.seed)[0]
    order = np.argsort(shuffled)
    return EvalData(X=np.asarray(ds.X_train)[order], y=np.asarray(ds.y_train)[order], task=ds.task,
                    n_classes=ds.n_classes, class_names=tuple(ds.class_names), feature_names=tuple(ds.feature_names),
                    standardize=bool(spec.dataset.standardize))


def check_folds(data: EvalData, folds: int, stratified: bool) -> None:
    """Raise :class:`EvaluationError` unless ``folds`` folds of ``data`` can be made."""
    if folds < 2:
        raise EvaluationError(f"{folds} folds: cross-validation needs at least 2", "--folds")
    if folds > data.n:
        raise EvaluationError(f"{folds} folds but the data set has only {data.n} rows", "--folds")
    if stratified:
        if not data.is_classification:
            raise EvaluationError("stratified folds need classes; these data have a regression target",
                                  "--stratified")
        counts = np.bincount(data.y, minlength=data.n_classes)
        present = counts[counts > 0]
        smallest = int(np.argmin(np.where(counts > 0, counts, np.iinfo(np.int64).max)))
        if folds > present.min():
            raise EvaluationError(f"{folds} stratified folds but class {data.class_names[smallest]!r} has only "
                                  f"{int(counts[smallest])} rows (at most {int(present.min())} folds)", "--folds")


def fold_assignment(y: np.ndarray, folds: int, stratified: bool, seed: int) -> np.ndarray:
    """The test fold of every row.

    Parameters
    ----------
    y : ndarray, shape (n,)
        Class indices (used when ``stratified``).
    folds : int
        K >= 2.
    stratified : bool
        Deal each class over the folds on its own, so every fold holds its share of it.
    seed : int

    Returns
    -------
    ndarray, shape (n,), int64
        Fold 0..K-1 per row; fold sizes differ by at most one (per class when stratified).
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    out = np.empty(n, np.int64)
    if not stratified:
        out[rng.permutation(n)] = np.arange(n) % folds
        return out
    offset = 0
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        # continue the round-robin where the previous class stopped: the folds stay even
        out[rows] = (np.arange(len(rows)) + offset) % folds
        offset += len(rows)
    return out


def _prefix_order(y: np.ndarray, rows: np.ndarray, classification: bool, rng) -> np.ndarray:
    """``rows`` in an order whose every prefix keeps the classes' shares (for learning curves)."""
    rows = rng.permutation(rows)
    if not classification:
        return rows
    key = np.empty(len(rows))
    for c in np.unique(y[rows]):
        at = np.flatnonzero(y[rows] == c)
        key[at] = (np.arange(len(at)) + rng.random(len(at))) / len(at)
    return rows[np.argsort(key, kind="stable")]


# ----------------------------------------------------------------------------- values


def parse_number_list(text: str, option: str) -> list[float]:
    """``"0.1,0.25,1"`` to floats; one clear line for anything else."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise EvaluationError("needs at least one number", option)
    values = []
    for p in parts:
        try:
            v = float(p)
        except ValueError:
            raise EvaluationError(f"{p!r} is not a number", option) from None
        if not math.isfinite(v):
            raise EvaluationError(f"{p!r} is not a finite number", option)
        values.append(v)
    return values


def check_sizes(sizes) -> list[float]:
    """Learning-curve sizes: shares of each training part in (0, 1], rising."""
    out = []
    for s in sizes:
        if not 0.0 < s <= 1.0:
            raise EvaluationError(f"{s:g} is not a share of the training rows in (0, 1]", "--sizes")
        out.append(float(s))
    if len(set(out)) != len(out):
        raise EvaluationError("a size is given twice", "--sizes")
    return sorted(out)


def spec_with_value(spec: RunSpec, path: str, value: float) -> RunSpec:
    """``spec`` with the numeric field at dotted ``path`` set to ``value``.

    ``path`` names a field of the spec's JSON (``train.learning_rate``, ``model.C``,
    ``model.hidden.0`` for the first hidden layer's width). An integer field takes whole
    numbers only.

    Raises
    ------
    EvaluationError
        The path names no field, a field that is not a number, or the value is not allowed
        there (the spec's own rule, e.g. a learning rate <= 0).
    """
    d = spec.to_dict()
    parts = [p for p in str(path).split(".")]
    if not path or any(not p for p in parts):
        raise EvaluationError(f"{path!r} is not a dotted field path such as train.learning_rate", "--param")
    node = d
    for i, part in enumerate(parts[:-1]):
        node = _child(node, part, path)
    last = parts[-1]
    current = _get(node, last, path, spec)
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        raise EvaluationError(f"{path} is not a numeric field (it holds {current!r})", "--param")
    if isinstance(current, int) and not isinstance(current, bool) and not _is_float_field(spec, parts):
        if value != round(value):
            raise EvaluationError(f"{path} takes whole numbers, not {value:g}", "--values")
        value = int(round(value))
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    try:
        return RunSpec.from_dict(d, base_dir=spec.base_dir)
    except SpecError as exc:
        raise EvaluationError(f"{value:g} for {path}: {exc.message}", "--values") from None


def _is_float_field(spec: RunSpec, parts: list[str]) -> bool:
    """Whether the dataclass field is declared as a float (a float written as ``1`` in JSON)."""
    obj = spec
    for p in parts:
        if isinstance(obj, (list, tuple)):
            try:
                obj = obj[int(p)]
            except (ValueError, IndexError):
                return False
        else:
            obj = getattr(obj, p, None)
    return isinstance(obj, float)


def _child(node, part: str, path: str):
    if isinstance(node, dict) and part in node and isinstance(node[part], (dict, list)):
        return node[part]
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    raise EvaluationError(f"{path} is not a field of the spec", "--param")


def _get(node, last: str, path: str, spec: RunSpec):
    if isinstance(node, list):
        if last.isdigit() and int(last) < len(node):
            return node[int(last)]
        raise EvaluationError(f"{path} is not a field of the spec", "--param")
    if isinstance(node, dict) and last in node:
        return node[last]
    # a field left out of the JSON because it holds its default
    obj = spec
    for p in path.split("."):
        obj = getattr(obj, p, None)
        if obj is None:
            raise EvaluationError(f"{path} is not a field of the spec", "--param")
    return obj


# ----------------------------------------------------------------------------- one training


def _fitted_model(kind, spec: RunSpec, fitter):
    """The fitter's model as the registry loads it (the same object ``predict`` reads)."""
    from .estimators import read_model

    with tempfile.TemporaryDirectory(prefix="scalelab-eval-") as folder:
        path = os.path.join(folder, "model.npz")
        kind.save(path, spec, fitter)
        if not os.path.exists(path):
            return None
        return read_model(path)[1]


def score_model(fitted, X: np.ndarray, y: np.ndarray, task: str, n_classes: int, prefix: str,
                with_details: bool = True) -> dict:
    """Scores of a fitted model on rows ``X (n, d)`` with truth ``y (n,)``, keys prefixed."""
    from .metrics import classification_report, mean_squared_error, r2_score, roc_report

    if len(y) == 0:
        return {}
    F = fitted.preprocess(np.asarray(X, np.float64))
    pred = fitted.predict(F)
    if task == "classification":
        report = classification_report(y, pred, n_classes)
        out = {f"{prefix}_accuracy": report["accuracy"]}
        if with_details:
            out[f"{prefix}_macro_f1"] = report["macro_f1"]
            if hasattr(fitted, "class_scores"):
                roc = roc_report(y, fitted.class_scores(F))
                out[f"{prefix}_auc"] = roc["auc"] if roc is not None else None
        return out
    out = {f"{prefix}_r2": r2_score(y, pred)}
    if with_details:
        out[f"{prefix}_mse"] = mean_squared_error(y, pred)
    return out


def train_and_score(spec: RunSpec, data: EvalData, train: np.ndarray, test: np.ndarray, stop=None,
                    details: bool = True) -> dict | None:
    """Train ``spec``'s model on rows ``train`` and score it on ``train`` and ``test``.

    Returns
    -------
    dict or None
        ``status``, ``n_train``, ``n_test``, ``wall_s`` and the scores (``train_*``,
        ``test_*``; none when the training diverged); None when ``stop`` stopped it.
    """
    from .estimators import model_kind

    kind = model_kind(spec.model.kind)
    started = time.perf_counter()
    ds = data.part(train, test)
    fitter = kind.fitter(spec, dataset=ds)
    for _ in fitter.run(stop):
        pass
    status = str(getattr(fitter, "status", "completed"))
    if status == "stopped" or _asked(stop):
        return None
    out = {"status": status, "n_train": int(len(train)), "n_test": int(len(test))}
    if status != "diverged":
        fitted = _fitted_model(kind, spec, fitter)
        if fitted is not None:
            out.update(score_model(fitted, data.X[train], data.y[train], data.task, data.n_classes, "train", details))
            out.update(score_model(fitted, data.X[test], data.y[test], data.task, data.n_classes, "test", details))
    out["wall_s"] = time.perf_counter() - started
    return out


def _asked(stop) -> bool:
    if stop is None:
        return False
    return bool(stop.is_set() if hasattr(stop, "is_set") else stop())


def summarize(results: list[dict]) -> tuple[dict, dict]:
    """Mean and population standard deviation of every score over the results that have it."""
    keys = []
    for r in results:
        for k, v in r.items():
            if (k.startswith("train_") or k.startswith("test_")) and k not in keys and isinstance(v, (int, float)):
                keys.append(k)
    mean, std = {}, {}
    for k in keys:
        vals = np.array([r[k] for r in results if isinstance(r.get(k), (int, float)) and r[k] is not None], float)
        vals = vals[np.isfinite(vals)]
        mean[k] = float(vals.mean()) if len(vals) else None
        std[k] = float(vals.std()) if len(vals) else None
    return mean, std


# ----------------------------------------------------------------------------- studies


@dataclass
class _Study:
    """What every study shares: the spec, the rows, the folds and the finished units."""

    spec: RunSpec
    folds: int
    stratified: bool = False
    seed: int = 0
    data: EvalData | None = None
    results: dict = field(default_factory=dict)  # unit key -> result
    status: str = "running"

    def __post_init__(self):
        if self.data is None:
            self.data = load_eval_data(self.spec)
        check_folds(self.data, self.folds, self.stratified)
        self.assignment = fold_assignment(self.data.y, self.folds, self.stratified, self.seed)

    @property
    def score_name(self) -> str:
        return "accuracy" if self.data.is_classification else "r2"

    def fold_rows(self, fold: int) -> tuple[np.ndarray, np.ndarray]:
        test = np.flatnonzero(self.assignment == fold)
        train = np.flatnonzero(self.assignment != fold)
        return train, test

    def units(self) -> list:
        raise NotImplementedError

    def run_unit(self, unit, stop) -> dict | None:
        raise NotImplementedError

    def run(self, stop=None):
        """Train every unit not finished yet; yields one event per unit.

        Events: ``{"event": "started", "unit": key, "done": i, "total": n}`` before a
        training and ``{"event": "finished", "unit": key, "result": ..., "done": i + 1,
        "total": n}`` after it. Sets :attr:`status` to ``completed`` or ``stopped``.
        """
        units = self.units()
        total = len(units)
        for key in units:
            if key in self.results:
                continue
            if _asked(stop):
                break
            yield {"event": "started", "unit": key, "done": len(self.results), "total": total}
            result = self.run_unit(key, stop)
            if result is None:
                break
            self.results[key] = result
            yield {"event": "finished", "unit": key, "result": result, "done": len(self.results), "total": total}
        self.status = "completed" if len(self.results) == total else "stopped"

    def header(self, command: str) -> dict:
        return {"command": command, "status": self.status, "model": self.spec.model.kind, "task": self.data.task,
                "score": self.score_name, "folds": self.folds, "stratified": self.stratified, "seed": self.seed,
                "rows": self.data.n, "spec_content": self.spec.with_(weights=None).to_dict()}

    def same_setup(self, saved: dict) -> str | None:
        """Why a saved study cannot be resumed by this one (None: it can)."""
        import json

        # compared as JSON reads back (tuples become lists, NaN null)
        mine = json.loads(json.dumps({k: v for k, v in self.to_json().items()
                                      if k not in ("per_fold", "points", "assignment")}, default=str))
        for key in ("command", "kind", "param", "values", "sizes", "folds", "stratified", "seed", "rows",
                    "spec_content"):
            if saved.get(key) != mine.get(key):
                return f"its {key} differs ({saved.get(key)!r} there, {mine.get(key)!r} now)"
        return None


class CrossValidation(_Study):
    """K-fold cross-validation of one spec: K trainings, each row in exactly one test fold."""

    def units(self) -> list:
        return list(range(self.folds))

    def run_unit(self, fold, stop):
        train, test = self.fold_rows(fold)
        result = train_and_score(self.spec, self.data, train, test, stop)
        if result is not None:
            result = {"fold": int(fold), **result}
        return result

    def to_json(self) -> dict:
        per_fold = [self.results[k] for k in sorted(self.results)]
        mean, std = summarize(per_fold)
        return {**self.header("cv"), "finished_folds": len(per_fold),
                "diverged": sum(1 for r in per_fold if r["status"] == "diverged"),
                "per_fold": per_fold, "mean": mean, "std": std, "assignment": self.assignment.tolist()}

    def load_results(self, saved: dict) -> None:
        for r in saved.get("per_fold", []):
            self.results[int(r["fold"])] = r


@dataclass
class _Curve(_Study):
    """A curve: for every point, K folds, each scored on its training rows and its test fold."""

    def points(self) -> list[float]:
        raise NotImplementedError

    def units(self) -> list:
        return [(p, f) for p in range(len(self.points())) for f in range(self.folds)]

    def point_json(self, p: int) -> dict:
        rs = [self.results[(p, f)] for f in range(self.folds) if (p, f) in self.results]
        name = self.score_name
        train = [r.get(f"train_{name}") for r in rs]
        valid = [r.get(f"test_{name}") for r in rs]
        mean, std = summarize(rs)
        return {"x": self.points()[p], "finished_folds": len(rs),
                "n_train": [r["n_train"] for r in rs], "status": [r["status"] for r in rs],
                "train_scores": train, "validation_scores": valid,
                "train_mean": mean.get(f"train_{name}"), "train_std": std.get(f"train_{name}"),
                "validation_mean": mean.get(f"test_{name}"), "validation_std": std.get(f"test_{name}")}

    def to_json(self) -> dict:
        return {**self.header("curve"), **self.curve_fields(),
                "points": [self.point_json(p) for p in range(len(self.points()))]}

    def load_results(self, saved: dict) -> None:
        for p, point in enumerate(saved.get("points", [])):
            for f, r in enumerate(point.get("fold_results", [])):
                if r is not None:
                    self.results[(p, f)] = r

    def fold_results_json(self, out: dict) -> dict:
        for p, point in enumerate(out["points"]):
            point["fold_results"] = [self.results.get((p, f)) for f in range(self.folds)]
        return out


@dataclass
class LearningCurve(_Curve):
    """Training and validation score against the share of each training part used."""

    sizes: tuple = DEFAULT_SIZES

    def __post_init__(self):
        super().__post_init__()
        self.sizes = tuple(check_sizes(self.sizes))
        for f in range(self.folds):
            train, _ = self.fold_rows(f)
            smallest = int(round(self.sizes[0] * len(train)))
            if smallest < 1:
                raise EvaluationError(f"{self.sizes[0]:g} of a training part of {len(train)} rows is no row at all",
                                      "--sizes")
        self._orders = {}

    def points(self) -> list[float]:
        return list(self.sizes)

    def curve_fields(self) -> dict:
        return {"kind": "learning", "param": None, "sizes": list(self.sizes), "x_label": "share of training rows"}

    def run_unit(self, unit, stop):
        p, f = unit
        train, test = self.fold_rows(f)
        if f not in self._orders:
            rng = np.random.default_rng([self.seed, f])
            self._orders[f] = _prefix_order(self.data.y, train, self.data.is_classification, rng)
        m = max(1, int(round(self.sizes[p] * len(train))))
        return train_and_score(self.spec, self.data, np.sort(self._orders[f][:m]), test, stop, details=False)

    def to_json(self) -> dict:
        return self.fold_results_json(super().to_json())


@dataclass
class ValidationCurve(_Curve):
    """Training and validation score against the values of one numeric spec field."""

    param: str = "train.learning_rate"
    values: tuple = ()

    def __post_init__(self):
        check_supervised(self.spec)
        if not self.values:
            raise EvaluationError("needs at least one value", "--values")
        # every value checked before the first training
        self._specs = [spec_with_value(self.spec, self.param, v) for v in self.values]
        self.values = tuple(float(v) for v in self.values)
        super().__post_init__()

    def points(self) -> list[float]:
        return list(self.values)

    def curve_fields(self) -> dict:
        return {"kind": "validation", "param": self.param, "values": list(self.values), "x_label": self.param}

    def run_unit(self, unit, stop):
        p, f = unit
        train, test = self.fold_rows(f)
        return train_and_score(self._specs[p], self.data, train, test, stop, details=False)

    def to_json(self) -> dict:
        return self.fold_results_json(super().to_json())
