"""Model kinds: one registry that gives every kind the same few verbs.

``MODEL_REGISTRY`` maps ``spec.model.kind`` to a :class:`ModelKind`. The runner, and
whatever else trains, evaluates or draws a model, asks the registry instead of testing
the kind:

- ``fitter(spec, dataset, comm)``: an object whose ``run(stop)`` yields metrics records
  (epochs for networks, SMO iterations for SVMs, Lloyd iterations for k-means) and
  which, given an MPI communicator, trains data-parallel; afterwards ``status``,
  ``message``, ``last_record``, ``preprocess`` and ``dataset``;
- ``save(path, spec, fitter)``: write ``model.npz`` (plain arrays, no pickle; every file
  holds ``format``, ``kind`` is implied by its ``spec``);
- ``load(path, arrays, spec)``: a fitted model with ``preprocess``, ``n_inputs`` (the
  model's inputs after preprocessing), ``task``, ``class_names``, ``predict(F)`` and
  ``decision_values(F)`` (what the Playground draws: a boundary's levels, margins);
  a classifier also has ``class_scores(F)``, one score per row and class (higher: more
  likely), which ROC curves rank;
- ``describe(spec, dataset, preprocess)``: the lines ``validate`` prints;
- ``result_fields(fitter)``: what ``result.json`` adds for the kind, and
  ``progress_text(fitter, record)``: the terminal's progress line (None: the runner's
  epoch line);
- ``write_outputs(out_dir, fitter)``: files of the kind's own next to ``result.json``
  (None: none; clustering writes ``clusters.csv``).

``output`` says what a prediction is. Classifiers and regressors predict a ``label``
per row (a class index, or a number). Clustering (k-means,
DBSCAN) predicts an ``assignment``: a cluster index per row that names no class of the
data (its count comes from the model, DBSCAN's noise is -1, and accuracy does not apply;
the data's labels, when there are any, only score the clustering). The clustering kinds
``kmeans`` and ``dbscan`` (``engine.clustering``) register with ``output="assignment"``;
their ``describe`` takes an ``engine.clustering.ClusteringData`` (every row, no split).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .spec import RunSpec, SpecError

OUTPUTS = ("label", "assignment")


@dataclass(frozen=True)
class ModelKind:
    """How one model kind trains, saves, loads and describes itself (see the module docstring)."""

    name: str
    title: str
    family: str
    output: str
    fitter: Callable[..., Any]
    save: Callable[..., None]
    load: Callable[..., Any]
    describe: Callable[..., list]
    result_fields: Callable[..., dict]
    progress_text: Callable[..., str] | None = None
    write_outputs: Callable[..., None] | None = None


MODEL_REGISTRY: dict[str, ModelKind] = {}


def register(kind: ModelKind) -> ModelKind:
    """Add ``kind`` to the registry (a later registration of the same name replaces it)."""
    if kind.output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {kind.output!r}")
    MODEL_REGISTRY[kind.name] = kind
    return kind


def model_kind(name: str) -> ModelKind:
    """The registered kind ``name``; a SpecError naming ``model.kind`` when there is none."""
    try:
        return MODEL_REGISTRY[name]
    except KeyError:
        raise SpecError("model.kind", f"{name!r} is not one of {', '.join(MODEL_REGISTRY)}") from None


def read_model(path) -> tuple[RunSpec, Any]:
    """Read any ``model.npz`` written by ``python -m engine train``.

    Returns
    -------
    spec : RunSpec
    model
        The fitted model of the spec's kind (see ``ModelKind.load``).

    Raises
    ------
    SpecError
        The file is missing, not a model file, or damaged; the message names it.
    """
    import os

    from .model_io import read_model_arrays

    path = os.fspath(path)
    arrays = read_model_arrays(path)
    try:
        spec = RunSpec.from_dict(json.loads(str(arrays["spec"])))
    except SpecError as exc:
        raise SpecError(exc.field, f"{path}: {exc.message}") from None
    except (KeyError, ValueError, TypeError, RecursionError) as exc:
        raise SpecError("", f"{path} is damaged or incomplete: {exc}") from None
    return spec, model_kind(spec.model.kind).load(path, arrays, spec)


def _check_classification(spec: RunSpec, dataset, what: str) -> None:
    if dataset.task != "classification":
        raise SpecError("model.kind", f"{what} is a classifier; these data have a regression target")
    present = np.unique(np.asarray(dataset.y_train))
    if len(present) < 2:
        name = dataset.class_names[int(present[0])] if len(present) else "none"
        raise SpecError("dataset", f"the training part holds only one class ({name!r}); {what} needs two or more")


# ----------------------------------------------------------------------------- networks


class FittedNetwork:
    """A trained network behind the fitted-model verbs."""

    def __init__(self, preprocess, network, class_names):
        self.preprocess = preprocess
        self.network = network
        self.n_inputs = network.n_inputs
        self.task = network.task
        self.dtype = network.dtype
        self.class_names = tuple(class_names)

    def predict(self, F: np.ndarray) -> np.ndarray:
        return self.network.predict(F)

    def decision_values(self, F: np.ndarray) -> np.ndarray:
        """The output layer's scores, shape (n, outputs)."""
        return self.network.scores(F)

    def class_scores(self, F: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, C); a perceptron's raw scores (it has no probabilities)."""
        return network_class_scores(self.network, F)


def network_class_scores(network, F: np.ndarray) -> np.ndarray:
    """A network's score per class, shape (n, C): softmax probabilities, or a perceptron's
    raw scores (two classes: ``-z`` and ``z``)."""
    from .losses import PerceptronCriterion

    z = np.asarray(network.scores(F), np.float64)
    if isinstance(network.loss, PerceptronCriterion):
        return np.column_stack([-z[:, 0], z[:, 0]]) if network.loss.binary else z
    return np.asarray(network.proba_from_scores(z), np.float64)


def _network_fitter(spec, dataset=None, comm=None):
    from .trainer import Trainer

    return Trainer(spec, dataset=dataset, comm=comm)


def _network_save(path, spec, trainer) -> None:
    from .model_io import save_model

    save_model(path, spec, trainer.preprocess, trainer.model, trainer.dataset.class_names)


def _network_load(path, arrays, spec):
    from .model_io import load_model

    _, pre, net = load_model(path)
    return FittedNetwork(pre, net, [str(c) for c in arrays.get("class_names", ())])


def _network_describe(spec, dataset, preprocess) -> list[str]:
    from .memory import available_memory, check_memory, estimate_run_memory, format_bytes
    from .value_checks import check_inputs_fit

    n_in = preprocess.n_outputs(dataset.n_features_raw)
    n_out = dataset.n_classes if dataset.task == "classification" else 1
    # Refuse before building the network: its parameters alone may not fit.
    estimate = estimate_run_memory(spec, dataset, n_in)
    available, source = available_memory()
    check_memory(estimate, available, source)
    for X in (dataset.X_train, dataset.X_test):
        check_inputs_fit(X, preprocess, np.dtype(spec.train.dtype), dataset.feature_names)
    widths, n_parameters = _network_shape(spec, n_in, n_out)
    t = spec.train
    room = f"{format_bytes(available)} available ({source})" if available is not None else "available memory unknown"
    return [f"model: {spec.model.kind} {widths}, {n_parameters} parameters",
            f"train: {t.epochs} epochs, batch {t.batch_size}, {t.optimizer} lr {t.learning_rate:g}, {t.dtype}",
            f"memory: {estimate.summary()} per process; {room}"]


def _network_shape(spec: RunSpec, n_in: int, n_out: int) -> tuple[str, int]:
    """``("2-8-8-3", n_parameters)`` of the network a spec builds, without allocating it.

    Spec weights are checked against the shapes by building the network (they are small
    enough to be written in JSON).
    """
    from .losses import make_loss
    from .model import Network

    if spec.weights is not None:
        net = Network.from_spec(spec, n_in, n_out)
        widths = [n_in] + [layer.n_out for layer in net.layers]
    else:
        if n_out == 1 and spec.model.kind != "mlp":
            raise SpecError("model.kind", f"{spec.model.kind!r} is a classifier; a regression data set needs 'mlp'")
        task = "regression" if n_out == 1 else "classification"
        widths = [n_in, *spec.model.hidden, make_loss(spec.model.kind, task, n_out).n_outputs(n_out)]
    n_parameters = sum(widths[i] * widths[i + 1] + widths[i + 1] for i in range(len(widths) - 1))
    return "-".join(str(w) for w in widths), n_parameters



def _network_result_fields(trainer) -> dict:
    return {"epochs": trainer.epoch, "steps": trainer.step}


for _name, _title in (("mlp", "Neural network"), ("logistic", "Logistic regression"), ("perceptron", "Perceptron")):
    register(ModelKind(name=_name, title=_title, family="network", output="label", fitter=_network_fitter,
                       save=_network_save, load=_network_load, describe=_network_describe,
                       result_fields=_network_result_fields))


# ----------------------------------------------------------------------------- SVM


def _svm_settings(spec: RunSpec):
    from .svm import SvmSettings

    m = spec.model
    return SvmSettings(kernel=m.kernel, C=m.C, gamma=m.gamma, degree=m.degree, coef0=m.coef0, tol=m.tol,
                       max_iter=m.max_iter, cache_mb=m.cache_mb, shrinking=m.shrinking)


def _check_cache(spec: RunSpec) -> None:
    from .svm import available_memory_bytes

    memory = available_memory_bytes()
    if memory is not None and spec.model.cache_mb * 2**20 > memory:
        raise SpecError("model.cache_mb", f"{spec.model.cache_mb:g} MB is more than this machine's memory "
                                          f"({memory / 2**20:,.0f} MB)")


class SvmFitter:
    """Trains a one-vs-one SVM (``engine.svm``); a metrics record every ``REPORT_EVERY`` SMO
    iterations (``report_every`` when given: 1 for the Playground, which draws
    :meth:`current_model` between records) and after each pair, the last one with
    ``train_accuracy`` and ``test_accuracy``.

    Raises
    ------
    SpecError
        A regression target, a single class in the training part, a cache larger than the
        machine's memory, features that do not fit the data.
    """

    def __init__(self, spec: RunSpec, dataset=None, comm=None, report_every: int | None = None):
        from .data import load_dataset
        from .features import Preprocessor
        from .parallel import SerialComm
        from .svm import OneVsOneFit

        self.spec = spec
        self.comm = comm if comm is not None else SerialComm()
        self.dataset = ds = dataset if dataset is not None else load_dataset(spec)
        _check_classification(spec, ds, "an SVM")
        _check_cache(spec)
        self.preprocess = Preprocessor.for_dataset(spec, ds)
        self._F_train = np.ascontiguousarray(self.preprocess(np.asarray(ds.X_train, np.float64)))
        self._F_test = np.ascontiguousarray(self.preprocess(np.asarray(ds.X_test, np.float64)))
        self.fit = OneVsOneFit(self._F_train, ds.y_train, ds.n_classes, _svm_settings(spec), self.comm)
        self.report_every = report_every
        self.status = "running"
        self.message = ""
        self.last_record: dict | None = None

    @property
    def model(self):
        return self.fit.model

    def current_model(self):
        """The solution so far (an ``engine.svm.SvmModel``), between two records of :meth:`run`."""
        return self.fit.current_model()

    def _accuracy(self, F: np.ndarray, y: np.ndarray) -> float | None:
        """Accuracy over all ranks, each scoring a contiguous part of the rows."""
        from .parallel import split_range

        if len(y) == 0:
            return None
        a, b = split_range(len(y), self.comm.size, self.comm.rank)
        counts = np.array([float(np.sum(self.fit.model.predict(F[a:b]) == y[a:b])) if b > a else 0.0])
        self.comm.allreduce_sum(counts)
        return counts[0] / len(y)

    def run(self, stop=None):
        def asked() -> bool:
            return stop is not None and bool(stop.is_set() if hasattr(stop, "is_set") else stop())

        def should_stop() -> bool:
            flag = np.array([1.0 if asked() else 0.0])
            self.comm.allreduce_max(flag)  # every rank leaves at the same iteration
            return bool(flag[0])

        started = time.perf_counter()
        record = None
        every = {} if self.report_every is None else {"report_every": self.report_every}
        for record in self.fit.run(should_stop, started, stop_local=asked, **every):
            self.last_record = record
            yield record
        if self.fit.model is None:
            self.status = "stopped"
            self.message = "stopped before every pair of classes was trained; no model was written"
            return
        ds = self.dataset
        final = dict(record)
        final["train_accuracy"] = self._accuracy(self._F_train, np.asarray(ds.y_train))
        final["test_accuracy"] = self._accuracy(self._F_test, np.asarray(ds.y_test))
        final["elapsed_s"] = time.perf_counter() - started
        self.last_record = final
        yield final
        if self.fit.stopped_early:
            self.status = "stopped"
            self.message = "stopped early: the model is the last pair's state when asked to stop"
        else:
            self.status = "completed"
            self.message = f"completed {sum(self.fit.iterations):,} iterations over {len(self.fit.iterations)} pair(s)"
            if not self.fit.converged:
                self.message += (f"; max_iter {self.spec.model.max_iter} was reached in some pairs before the "
                                 f"tolerance {self.spec.model.tol:g}")

    def progress_text(self, rec: dict) -> str:
        parts = [f"iteration {rec['iteration']:,}", f"pair {rec['pair']}/{rec['pairs']}",
                 f"dual {rec['dual_objective']:.6g}", f"{rec['n_support']} SVs"]
        if rec.get("max_violation") is not None:
            parts.append(f"violation {rec['max_violation']:.3g}")
        if rec.get("test_accuracy") is not None:
            parts.append(f"test acc {rec['test_accuracy']:.3f}")
        return "  ".join(parts)

    def result_fields(self) -> dict:
        model = self.fit.model
        return {
            "iterations": int(sum(self.fit.iterations)),
            "iterations_per_pair": [int(i) for i in self.fit.iterations],
            "dual_objective": float(sum(self.fit.objectives)),
            "dual_objective_per_pair": [float(o) for o in self.fit.objectives],
            "n_support": [] if model is None else [int(c) for c in model.n_support],
            "gamma": self.fit.kernel.gamma,
        }


class FittedSvm:
    """A trained SVM behind the fitted-model verbs."""

    task = "classification"

    def __init__(self, preprocess, model, class_names):
        self.preprocess = preprocess
        self.model = model
        self.n_inputs = model.support_vectors.shape[1]
        self.class_names = tuple(class_names)

    def predict(self, F: np.ndarray) -> np.ndarray:
        return self.model.predict(F)

    def decision_values(self, F: np.ndarray) -> np.ndarray:
        """One-vs-one decision values, shape (n, k (k - 1) / 2)."""
        return self.model.decision_values(F)

    def class_scores(self, F: np.ndarray) -> np.ndarray:
        """A score per class, shape (n, k): see :func:`svm_class_scores`."""
        return svm_class_scores(self.model.decision_values(F), self.model.classes)


def svm_class_scores(decision: np.ndarray, k: int) -> np.ndarray:
    """One-vs-one decision values to one score per class, shape (n, k).

    Two classes: the decision value for class 0 and its negative for class 1. More: the
    votes plus the summed confidences squashed into (-1/3, 1/3), so that the votes decide
    and the confidences break ties (scikit-learn's ``decision_function_shape="ovr"``).
    """
    decision = np.asarray(decision, np.float64)
    if k == 2:
        return np.column_stack([decision[:, 0], -decision[:, 0]])
    from .svm import class_pairs, ovo_votes

    confidence = np.zeros((len(decision), k))
    for p, (a, b) in enumerate(class_pairs(k)):
        confidence[:, a] += decision[:, p]
        confidence[:, b] -= decision[:, p]
    return ovo_votes(decision, k) + confidence / (3.0 * (np.abs(confidence) + 1.0))


def _svm_save(path, spec, fitter: SvmFitter) -> None:
    from .fileio import atomic_write_with
    from .model_io import MODEL_FORMAT

    model = fitter.model
    if model is None:
        return
    pre = fitter.preprocess
    names = fitter.dataset.class_names
    arrays = {
        "format": np.array(MODEL_FORMAT),
        "spec": np.array(spec.with_(weights=None).to_json()),
        "features": np.array(list(pre.features)),
        "mean": np.zeros(0) if pre.mean is None else np.asarray(pre.mean, np.float64),
        "std": np.zeros(0) if pre.std is None else np.asarray(pre.std, np.float64),
        "task": np.array("classification"),
        "n_classes": np.array(model.classes),
        "class_names": np.array(list(names), dtype=str) if len(names) else np.zeros(0, dtype="<U1"),
        "kernel": np.array(model.kernel.kind),
        "gamma": np.array(model.kernel.gamma),
        "degree": np.array(model.kernel.degree),
        "coef0": np.array(model.kernel.coef0),
        "support_vectors": model.support_vectors,
        "n_support": model.n_support,
        "dual_coef": model.dual_coef,
        "intercept": model.intercept,
    }

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    atomic_write_with(path, write)


def _svm_load(path, arrays, spec):
    from .features import Preprocessor
    from .svm import Kernel, SvmModel

    try:
        mean = arrays["mean"] if arrays["mean"].size else None
        std = arrays["std"] if arrays["std"].size else None
        pre = Preprocessor(tuple(str(f) for f in arrays["features"]), mean, std)
        kernel = Kernel(str(arrays["kernel"]), float(arrays["gamma"]), int(arrays["degree"]), float(arrays["coef0"]))
        model = SvmModel(kernel=kernel, classes=int(arrays["n_classes"]),
                         support_vectors=np.asarray(arrays["support_vectors"], np.float64),
                         n_support=np.asarray(arrays["n_support"], np.int64),
                         dual_coef=np.asarray(arrays["dual_coef"], np.float64),
                         intercept=np.asarray(arrays["intercept"], np.float64))
        k, n_sv = model.classes, len(model.support_vectors)
        if (model.n_support.shape != (k,) or model.n_support.sum() != n_sv
                or model.dual_coef.shape != (max(k - 1, 1), n_sv) or model.intercept.shape != (k * (k - 1) // 2,)):
            raise ValueError("the support vectors, coefficients and intercepts do not fit together")
    except (KeyError, ValueError, TypeError) as exc:
        raise SpecError("", f"{path} is damaged or incomplete: {exc}") from None
    return FittedSvm(pre, model, [str(c) for c in arrays["class_names"]])


def _svm_describe(spec, dataset, preprocess) -> list[str]:
    from .svm import class_pairs, resolve_gamma

    _check_classification(spec, dataset, "an SVM")
    _check_cache(spec)
    m = spec.model
    d = preprocess.n_outputs(dataset.n_features_raw)
    k = dataset.n_classes
    counts = np.bincount(np.asarray(dataset.y_train), minlength=k)
    largest = max(int(counts[a] + counts[b]) for a, b in class_pairs(k))
    if m.kernel == "linear":
        kernel = "linear kernel"
    else:
        F = preprocess(np.asarray(dataset.X_train, np.float64))
        gamma = resolve_gamma(m.gamma, F)
        g = f"gamma {gamma:.4g}" + (f" ('{m.gamma}')" if isinstance(m.gamma, str) else "")
        extra = f", degree {m.degree}, coef0 {m.coef0:g}" if m.kernel == "poly" else (
            f", coef0 {m.coef0:g}" if m.kernel == "sigmoid" else "")
        kernel = f"{m.kernel} kernel, {g}{extra}"
    rows_cached = int(m.cache_mb * 2**20 // (8 * largest))
    cache = ("holds every kernel row of the largest pair" if rows_cached >= largest
             else f"holds {rows_cached:,} of the largest pair's {largest:,} kernel rows")
    limit = "no iteration limit" if m.max_iter < 0 else f"at most {m.max_iter:,} iterations per pair"
    return [f"model: svm, {kernel}, C {m.C:g}, {d} inputs",
            f"train: SMO (second-order working set), tol {m.tol:g}, {limit}; one-vs-one over "
            f"{k * (k - 1) // 2} pair(s) of {k} classes, the largest pair {largest:,} rows",
            f"cache: {m.cache_mb:g} MB, {cache} (per rank: a rank keeps the columns of its rows only)"]


register(ModelKind(name="svm", title="Support vector machine", family="kernel", output="label",
                   fitter=SvmFitter, save=_svm_save, load=_svm_load, describe=_svm_describe,
                   result_fields=SvmFitter.result_fields, progress_text=SvmFitter.progress_text))


# ----------------------------------------------------------------------------- clustering


def _clustering_fitter(spec, dataset=None, comm=None):
    from .clustering import DbscanFitter, KMeansFitter

    return (KMeansFitter if spec.model.kind == "kmeans" else DbscanFitter)(spec, dataset=dataset, comm=comm)


def _clustering_save(path, spec, fitter) -> None:
    from .clustering import save_model

    save_model(path, spec, fitter)


def _clustering_load(path, arrays, spec):
    from .clustering import load_model

    return load_model(path, arrays, spec)


def _clustering_describe(spec, data, preprocess) -> list[str]:
    from .clustering import describe

    return describe(spec, data, preprocess)


def _clustering_write_outputs(out_dir, fitter) -> None:
    fitter.write_outputs(out_dir)


for _name, _title in (("kmeans", "k-means"), ("dbscan", "DBSCAN")):
    register(ModelKind(name=_name, title=_title, family="clustering", output="assignment",
                       fitter=_clustering_fitter, save=_clustering_save, load=_clustering_load,
                       describe=_clustering_describe, result_fields=lambda fitter: fitter.result_fields(),
                       progress_text=lambda fitter, rec: fitter.progress_text(rec),
                       write_outputs=_clustering_write_outputs))
