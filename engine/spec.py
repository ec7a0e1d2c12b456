"""The run spec: one JSON document that describes a whole training run.

The same document is the Playground's project file, the input of
``python -m engine train SPEC --out DIR`` and what a cluster job trains. It is made of
frozen dataclasses with ``to_dict()`` / ``from_dict()``; ``from_dict`` validates every
field and raises :class:`SpecError` naming the offending field and value.

The registries below (``DATASET_KINDS``, ``MODEL_KINDS``, ...) are the single list of
allowed values: the validator checks against them and the GUI fills its combo boxes
from them.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping

from .fileio import atomic_write

CLASSIFICATION_PRESETS = ("circle", "xor", "gauss", "spiral", "moons", "blobs", "linear")
REGRESSION_PRESETS = ("plane", "multigauss")
#: classification presets with many columns (not drawn in the 2-D Playground)
WIDE_PRESETS = ("hyperspectral",)
FILE_KINDS = ("csv", "libsvm", "npz")
DATASET_KINDS = CLASSIFICATION_PRESETS + REGRESSION_PRESETS + WIDE_PRESETS + ("points",) + FILE_KINDS
TASKS = ("auto", "classification", "regression")

FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
RAW_FEATURES = ("x1", "x2")

#: the networks (trained by epochs; the Playground's model list)
MODEL_KINDS = ("mlp", "logistic", "perceptron")
#: kinds with fields of their own (``KIND_FIELDS``); ``engine.estimators`` says how each trains
KERNEL_MODEL_KINDS = ("svm",)
#: clustering: every row is assigned a cluster, the data's labels (if any) only score it
CLUSTERING_MODEL_KINDS = ("kmeans", "dbscan")
ALL_MODEL_KINDS = MODEL_KINDS + KERNEL_MODEL_KINDS + CLUSTERING_MODEL_KINDS
KMEANS_INITS = ("k-means++", "random")
SVM_KERNELS = ("rbf", "linear", "poly", "sigmoid")
GAMMA_WORDS = ("scale", "auto")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "leaky_relu")
OPTIMIZERS = ("sgd", "momentum", "adam")
DTYPES = ("float32", "float64")

MAX_CLASSES = 8
#: classes of a wide preset, or of a data file whose task is declared ``classification``
MAX_DECLARED_CLASSES = 64
MAX_SAMPLES = 10_000_000
MAX_FEATURES = 100_000


class SpecError(ValueError):
    """A run spec (or its data) is invalid.

    Parameters
    ----------
    field : str
        Dotted path of the offending field, e.g. ``"model.activation"``.
    message : str
        What is wrong, in words a user understands.
    """

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


# ----------------------------------------------------------------------------- helpers


def _fail(path: str, message: str) -> SpecError:
    return SpecError(path, message)


def _check_keys(d: Mapping[str, Any], allowed: set[str], path: str) -> None:
    if not isinstance(d, Mapping):
        raise _fail(path, f"expected an object, got {type(d).__name__} {d!r}")
    unknown = sorted(set(d) - allowed)
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise _fail(where, f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _int(d: Mapping, key: str, path: str, default: int, lo: int, hi: int) -> int:
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
        isinstance(value, float) and not value.is_integer()
    ):
        raise _fail(f"{path}.{key}", f"expected a whole number, got {value!r}")
    value = int(value)
    if not lo <= value <= hi:
        raise _fail(f"{path}.{key}", f"{value} is out of range [{lo}, {hi}]")
    return value


def _float(
    d: Mapping, key: str, path: str, default: float, lo: float, hi: float, *, lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(f"{path}.{key}", f"expected a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise _fail(f"{path}.{key}", f"expected a finite number, got {value!r}")
    too_low = value <= lo if lo_open else value < lo
    too_high = value >= hi if hi_open else value > hi
    if too_low or too_high:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise _fail(f"{path}.{key}", f"{value:g} is out of range {left}{lo:g}, {hi:g}{right}")
    return value


def _choice(d: Mapping, key: str, path: str, default: str, allowed: tuple[str, ...]) -> str:
    value = d.get(key, default)
    if value not in allowed:
        raise _fail(f"{path}.{key}", f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _bool(d: Mapping, key: str, path: str, default: bool) -> bool:
    value = d.get(key, default)
    if not isinstance(value, bool):
        raise _fail(f"{path}.{key}", f"expected true or false, got {value!r}")
    return value


# ----------------------------------------------------------------------------- model rules


@dataclass(frozen=True)
class ModelRules:
    """What one model kind allows; the validator and the GUI both read :data:`MODEL_RULES`.

    Attributes
    ----------
    tasks : tuple of str
        The problem types the model can learn (``classification``, ``regression``).
    optimizers : tuple of str
        The optimizers it trains with, the default first.
    losses : dict
        The loss it minimizes for each of its tasks (``engine.losses`` names).
    hidden_layers : bool
        Whether it has hidden layers (and with them activations and dropout).
    """

    tasks: tuple[str, ...]
    optimizers: tuple[str, ...]
    losses: Mapping[str, str]
    hidden_layers: bool


MODEL_RULES: dict[str, ModelRules] = {
    "mlp": ModelRules(
        tasks=("classification", "regression"), optimizers=OPTIMIZERS,
        losses={"classification": "softmax_cross_entropy", "regression": "squared_error"}, hidden_layers=True),
    # A single straight boundary with probabilities: a classifier only.
    "logistic": ModelRules(
        tasks=("classification",), optimizers=OPTIMIZERS,
        losses={"classification": "softmax_cross_entropy"}, hidden_layers=False),
    # Rosenblatt's rule is its own update: only the learning rate applies, through plain SGD.
    "perceptron": ModelRules(
        tasks=("classification",), optimizers=("sgd",),
        losses={"classification": "perceptron"}, hidden_layers=False),
}

#: The kernel machines (solved by SMO, not by an optimizer: the train section's does not apply).
KERNEL_MODEL_RULES: dict[str, ModelRules] = {
    "svm": ModelRules(tasks=("classification",), optimizers=OPTIMIZERS, losses={"classification": "hinge"},
                      hidden_layers=False),
}


#: Clustering ignores the labels (any task's data can be clustered) and has no optimizer.
CLUSTERING_MODEL_RULES: dict[str, ModelRules] = {
    kind: ModelRules(tasks=("classification", "regression"), optimizers=OPTIMIZERS, losses={}, hidden_layers=False)
    for kind in CLUSTERING_MODEL_KINDS
}


def _rules(kind: str) -> ModelRules:
    for rules in (MODEL_RULES, KERNEL_MODEL_RULES, CLUSTERING_MODEL_RULES):
        if kind in rules:
            return rules[kind]
    raise KeyError(kind)


def is_clustering(kind: str) -> bool:
    """Whether model ``kind`` clusters (assigns clusters, predicts no label)."""
    return kind in CLUSTERING_MODEL_KINDS


def model_allows_task(kind: str, task: str) -> bool:
    """Whether model ``kind`` learns ``task`` (``auto``, undecided yet, is allowed)."""
    return task == "auto" or task in _rules(kind).tasks


def models_for_task(task: str) -> tuple[str, ...]:
    """The model kinds that learn ``task``, in :data:`MODEL_KINDS` order (``mlp`` first)."""
    return tuple(k for k in MODEL_KINDS if model_allows_task(k, task))


def check_model_for_task(kind: str, task: str, field: str = "model.kind") -> None:
    """Raise :class:`SpecError` on ``field`` when model ``kind`` cannot learn ``task``."""
    if not model_allows_task(kind, task):
        needs = " or ".join(repr(k) for k in models_for_task(task))
        raise SpecError(field, f"{kind!r} is a classifier; a {task} data set needs {needs}")


def optimizers_for_model(kind: str) -> tuple[str, ...]:
    """The optimizers model ``kind`` trains with (the perceptron: ``sgd`` only)."""
    return _rules(kind).optimizers


def optimizer_for_model(kind: str, optimizer: str) -> str:
    """``optimizer`` when model ``kind`` allows it, else the model's own (its first)."""
    allowed = optimizers_for_model(kind)
    return optimizer if optimizer in allowed else allowed[0]


def loss_for_model(kind: str, task: str) -> str:
    """The name of the loss model ``kind`` minimizes on ``task`` (:class:`SpecError` if it cannot)."""
    check_model_for_task(kind, task)
    if task not in _rules(kind).losses:
        raise SpecError("model.kind", f"{kind!r} minimizes no loss on labels; it clusters")
    return _rules(kind).losses[task]


def model_has_hidden_layers(kind: str) -> bool:
    """Whether model ``kind`` has hidden layers (activations, dropout)."""
    return _rules(kind).hidden_layers


def _wide_only(d: Mapping, key: str, path: str, kind: str, default: int, lo: int, hi: int) -> int:
    if kind not in WIDE_PRESETS:
        if key in d:
            raise _fail(f"{path}.{key}", f"only used with {', '.join(WIDE_PRESETS)}, not {kind!r}")
        return default
    return _int(d, key, path, default, lo, hi)


# ----------------------------------------------------------------------------- dataset


@dataclass(frozen=True)
class DatasetSpec:
    """Where the data comes from.

    ``kind`` is a preset generator (``spiral``, ``plane``, ...), ``points`` (inline
    ``[x, y, label]`` rows, what the painter makes) or a file (``csv``, ``libsvm``,
    ``npz``) at ``path``; a relative ``path`` is resolved against the spec file's folder.
    """

    kind: str = "spiral"
    n_samples: int = 500
    noise: float = 0.0
    seed: int = 1
    test_fraction: float = 0.3
    n_classes: int = 3
    standardize: bool = False
    task: str = "auto"
    path: str | None = None
    label_column: int | str | None = None
    points: tuple[tuple[float, float, float], ...] | None = None
    class_names: tuple[str, ...] | None = None
    n_features: int = 200

    @property
    def is_preset(self) -> bool:
        return self.kind in CLASSIFICATION_PRESETS or self.kind in REGRESSION_PRESETS or self.kind in WIDE_PRESETS

    @property
    def declared_task(self) -> str:
        """``classification`` or ``regression`` where the spec alone says so, else ``auto``."""
        if self.kind in CLASSIFICATION_PRESETS or self.kind in WIDE_PRESETS:
            return "classification"
        if self.kind in REGRESSION_PRESETS:
            return "regression"
        return self.task

    def resolve_path(self, base_dir: str | os.PathLike | None) -> str | None:
        """The data file's path, relative paths taken from ``base_dir``."""
        if self.path is None:
            return None
        p = os.path.expanduser(self.path)
        if not os.path.isabs(p) and base_dir is not None:
            p = os.path.join(os.fspath(base_dir), p)
        return p

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str = "dataset") -> "DatasetSpec":
        _check_keys(d, {f.name for f in fields(cls)}, path)
        kind = _choice(d, "kind", path, cls.kind, DATASET_KINDS)
        points = d.get("points")
        if kind == "points":
            if not isinstance(points, (list, tuple)) or not points:
                raise _fail(f"{path}.points", "kind 'points' needs a non-empty list of [x, y, label] rows")
            rows = []
            for i, row in enumerate(points):
                if (
                    not isinstance(row, (list, tuple))
                    or len(row) != 3
                    or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in row)
                    or not all(math.isfinite(float(v)) for v in row)
                ):
                    raise _fail(f"{path}.points[{i}]", f"expected [x, y, label] with finite numbers, got {row!r}")
                rows.append((float(row[0]), float(row[1]), float(row[2])))
            points = tuple(rows)
        elif points is not None:
            raise _fail(f"{path}.points", f"only used with kind 'points', not {kind!r}")
        file_path = d.get("path")
        if kind in FILE_KINDS:
            if not isinstance(file_path, str) or not file_path.strip():
                raise _fail(f"{path}.path", f"kind {kind!r} needs the data file's path")
        elif file_path is not None:
            raise _fail(f"{path}.path", f"only used with a file kind ({', '.join(FILE_KINDS)}), not {kind!r}")
        label_column = d.get("label_column")
        if label_column is not None and (isinstance(label_column, bool) or not isinstance(label_column, (int, str))):
            raise _fail(f"{path}.label_column", f"expected a column number or name, got {label_column!r}")
        if label_column is not None and kind != "csv":
            raise _fail(f"{path}.label_column", f"only used with csv files, not {kind!r}")
        class_names = d.get("class_names")
        if class_names is not None:
            if not isinstance(class_names, (list, tuple)) or not all(isinstance(c, str) and c for c in class_names):
                raise _fail(f"{path}.class_names", f"expected a list of non-empty names, got {class_names!r}")
            if len(set(class_names)) != len(class_names):
                raise _fail(f"{path}.class_names", f"names must be distinct, got {list(class_names)!r}")
            class_names = tuple(class_names)
        task = _choice(d, "task", path, cls.task, TASKS)
        if task != "auto" and (kind in CLASSIFICATION_PRESETS or kind in REGRESSION_PRESETS or kind in WIDE_PRESETS):
            natural = "regression" if kind in REGRESSION_PRESETS else "classification"
            if task != natural:
                raise _fail(f"{path}.task", f"preset {kind!r} is a {natural} data set, not {task}")
        return cls(
            kind=kind,
            n_samples=_int(d, "n_samples", path, cls.n_samples, 2, MAX_SAMPLES),
            noise=_float(d, "noise", path, cls.noise, 0.0, 100.0),
            seed=_int(d, "seed", path, cls.seed, 0, 2**32 - 1),
            test_fraction=_float(d, "test_fraction", path, cls.test_fraction, 0.0, 0.9),
            n_classes=_int(d, "n_classes", path, 16 if kind in WIDE_PRESETS else cls.n_classes, 2,
                           MAX_DECLARED_CLASSES if kind in WIDE_PRESETS else MAX_CLASSES),
            standardize=_bool(d, "standardize", path, cls.standardize),
            task=task,
            path=file_path,
            label_column=label_column,
            points=points,
            class_names=class_names,
            n_features=_wide_only(d, "n_features", path, kind, cls.n_features, 1, MAX_FEATURES),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.is_preset:
            out.update(n_samples=self.n_samples, noise=self.noise, seed=self.seed)
            if self.kind == "blobs" or self.kind in WIDE_PRESETS:
                out["n_classes"] = self.n_classes
            if self.kind in WIDE_PRESETS:
                out["n_features"] = self.n_features
        else:
            out["seed"] = self.seed
        out["test_fraction"] = self.test_fraction
        if self.standardize:
            out["standardize"] = True
        if self.task != "auto":
            out["task"] = self.task
        if self.path is not None:
            out["path"] = self.path
        if self.label_column is not None:
            out["label_column"] = self.label_column
        if self.points is not None:
            out["points"] = [list(p) for p in self.points]
        if self.class_names is not None:
            out["class_names"] = list(self.class_names)
        return out


# ----------------------------------------------------------------------------- model


@dataclass(frozen=True)
class ModelSpec:
    """The model: a network (``mlp`` with dense hidden layers, ``logistic``, ``perceptron``)
    or a kernel machine (``svm``).

    ``activation`` is one name for every hidden layer or a tuple with one per layer.
    The ``svm`` fields mean what they mean in scikit-learn's ``SVC``: ``kernel``
    (``rbf``, ``linear``, ``poly``, ``sigmoid``), ``C`` > 0, ``gamma`` (``scale``,
    ``auto`` or a number > 0), ``degree`` and ``coef0`` (poly, sigmoid), ``tol`` (the
    stopping violation), ``max_iter`` (-1: none), ``cache_mb`` (kernel-row cache) and
    ``shrinking``.
    The clustering kinds: ``kmeans`` with ``k`` clusters, ``init`` (``k-means++`` or
    ``random``), ``n_init`` seedings, ``max_iter`` Lloyd iterations, ``tol`` (relative to
    the mean column variance) and ``seed``; ``dbscan`` with ``eps`` (> 0) and
    ``min_samples`` (a core point's neighbours within ``eps``, itself counted).
    """

    kind: str = "mlp"
    hidden: tuple[int, ...] = (8, 8)
    activation: str | tuple[str, ...] = "tanh"
    kernel: str = "rbf"
    C: float = 1.0
    gamma: float | str = "scale"
    degree: int = 3
    coef0: float = 0.0
    tol: float = 1e-3
    max_iter: int = -1
    cache_mb: float = 200.0
    shrinking: bool = True
    k: int = 3
    init: str = "k-means++"
    n_init: int = 10
    seed: int = 0
    eps: float = 0.5
    min_samples: int = 5

    @property
    def activations(self) -> tuple[str, ...]:
        """One activation name per hidden layer."""
        if isinstance(self.activation, str):
            return (self.activation,) * len(self.hidden)
        return tuple(self.activation)

    @property
    def is_network(self) -> bool:
        return self.kind in MODEL_KINDS

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str = "model") -> "ModelSpec":
        _check_keys(d, {f.name for f in fields(cls)}, path)
        kind = _choice(d, "kind", path, cls.kind, ALL_MODEL_KINDS)
        own = KIND_FIELDS.get(kind, ("hidden", "activation"))
        foreign = sorted(k for k in d if k != "kind" and k not in own)
        if foreign:
            allowed = ", ".join(("kind",) + own)
            raise _fail(f"{path}.{foreign[0]}", f"not a field of model {kind!r} (its fields: {allowed})")
        if kind in KIND_FIELDS:
            return cls(kind=kind, hidden=(), **_KIND_PARSERS[kind](d, path))
        hidden = d.get("hidden", list(cls.hidden) if model_has_hidden_layers(kind) else [])
        if not isinstance(hidden, (list, tuple)):
            raise _fail(f"{path}.hidden", f"expected a list of layer widths, got {hidden!r}")
        for i, width in enumerate(hidden):
            if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 4096:
                raise _fail(f"{path}.hidden[{i}]", f"expected a layer width from 1 to 4096, got {width!r}")
        if not model_has_hidden_layers(kind) and hidden:
            raise _fail(f"{path}.hidden", f"model {kind!r} has no hidden layers; use kind 'mlp'")
        if len(hidden) > 32:
            raise _fail(f"{path}.hidden", f"at most 32 hidden layers, got {len(hidden)}")
        activation = d.get("activation", cls.activation)
        if isinstance(activation, str):
            if activation not in ACTIVATIONS:
                raise _fail(f"{path}.activation", f"{activation!r} is not one of {', '.join(ACTIVATIONS)}")
        elif isinstance(activation, (list, tuple)):
            if len(activation) != len(hidden):
                raise _fail(
                    f"{path}.activation",
                    f"{len(activation)} activations given for {len(hidden)} hidden layers",
                )
            for i, a in enumerate(activation):
                if a not in ACTIVATIONS:
                    raise _fail(f"{path}.activation[{i}]", f"{a!r} is not one of {', '.join(ACTIVATIONS)}")
            activation = tuple(activation)
        else:
            raise _fail(f"{path}.activation", f"expected a name or a list of names, got {activation!r}")
        return cls(kind=kind, hidden=tuple(hidden), activation=activation)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if model_has_hidden_layers(self.kind):
            out["hidden"] = list(self.hidden)
            out["activation"] = self.activation if isinstance(self.activation, str) else list(self.activation)
        for name in KIND_FIELDS.get(self.kind, ()):
            out[name] = getattr(self, name)
        return out


def _svm_fields(d: Mapping[str, Any], path: str) -> dict[str, Any]:
    gamma = d.get("gamma", ModelSpec.gamma)
    if isinstance(gamma, str):
        if gamma not in GAMMA_WORDS:
            raise _fail(f"{path}.gamma", f"{gamma!r} is not 'scale', 'auto' or a number > 0")
    else:
        gamma = _float(d, "gamma", path, 1.0, 0.0, 1e12, lo_open=True)
    max_iter = _int(d, "max_iter", path, ModelSpec.max_iter, -1, 10**12)
    if max_iter == 0:
        raise _fail(f"{path}.max_iter", "0 iterations; give -1 for no limit or a positive number")
    return {
        "kernel": _choice(d, "kernel", path, ModelSpec.kernel, SVM_KERNELS),
        "C": _float(d, "C", path, ModelSpec.C, 0.0, 1e12, lo_open=True),
        "gamma": gamma,
        "degree": _int(d, "degree", path, ModelSpec.degree, 1, 20),
        "coef0": _float(d, "coef0", path, ModelSpec.coef0, -1e12, 1e12),
        "tol": _float(d, "tol", path, ModelSpec.tol, 0.0, 1e6, lo_open=True),
        "max_iter": max_iter,
        "cache_mb": _float(d, "cache_mb", path, ModelSpec.cache_mb, 1.0, 2.0**30),
        "shrinking": _bool(d, "shrinking", path, ModelSpec.shrinking),
    }


def _kmeans_fields(d: Mapping[str, Any], path: str) -> dict[str, Any]:
    return {
        "k": _int(d, "k", path, 3, 1, MAX_SAMPLES),
        "init": _choice(d, "init", path, "k-means++", KMEANS_INITS),
        "n_init": _int(d, "n_init", path, 10, 1, 10_000),
        "max_iter": _int(d, "max_iter", path, 300, 1, 10**9),
        "tol": _float(d, "tol", path, 1e-4, 0.0, 1e12),
        "seed": _int(d, "seed", path, 0, 0, 2**32 - 1),
    }


def _dbscan_fields(d: Mapping[str, Any], path: str) -> dict[str, Any]:
    return {
        "eps": _float(d, "eps", path, ModelSpec.eps, 0.0, 1e300, lo_open=True),
        "min_samples": _int(d, "min_samples", path, ModelSpec.min_samples, 1, MAX_SAMPLES),
    }


#: the fields each non-network kind has, besides ``kind``, and their parsers
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "svm": ("kernel", "C", "gamma", "degree", "coef0", "tol", "max_iter", "cache_mb", "shrinking"),
    "kmeans": ("k", "init", "n_init", "max_iter", "tol", "seed"),
    "dbscan": ("eps", "min_samples"),
}
_KIND_PARSERS = {"svm": _svm_fields, "kmeans": _kmeans_fields, "dbscan": _dbscan_fields}


# ----------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainSpec:
    """How to train: epochs, batch, optimizer, regularization, seed and precision.

    ``batch_size`` is the *global* batch: under MPI every rank takes its share of it.
    ``patience`` > 0 stops the run when the test loss has not improved for that many
    epochs.
    """

    epochs: int = 100
    batch_size: int = 16
    optimizer: str = "adam"
    learning_rate: float = 0.01
    momentum: float = 0.9
    l1: float = 0.0
    l2: float = 0.0
    dropout: float = 0.0
    seed: int = 0
    dtype: str = "float32"
    patience: int = 0

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str = "train") -> "TrainSpec":
        _check_keys(d, {f.name for f in fields(cls)}, path)
        return cls(
            epochs=_int(d, "epochs", path, cls.epochs, 1, 10_000_000),
            batch_size=_int(d, "batch_size", path, cls.batch_size, 1, MAX_SAMPLES),
            optimizer=_choice(d, "optimizer", path, cls.optimizer, OPTIMIZERS),
            learning_rate=_float(d, "learning_rate", path, cls.learning_rate, 0.0, 1e6, lo_open=True),
            momentum=_float(d, "momentum", path, cls.momentum, 0.0, 1.0, hi_open=True),
            l1=_float(d, "l1", path, cls.l1, 0.0, 1e6),
            l2=_float(d, "l2", path, cls.l2, 0.0, 1e6),
            dropout=_float(d, "dropout", path, cls.dropout, 0.0, 1.0, hi_open=True),
            seed=_int(d, "seed", path, cls.seed, 0, 2**32 - 1),
            dtype=_choice(d, "dtype", path, cls.dtype, DTYPES),
            patience=_int(d, "patience", path, cls.patience, 0, 10_000_000),
        )

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ----------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class RunSpec:
    """A whole run: dataset + features + model + training settings.

    ``weights`` optionally holds trained parameters (one ``{"W": [[...]], "b": [...]}``
    per dense layer, input to output); training then starts from them. ``meta`` is free
    JSON the engine carries but never reads (the Playground keeps its view settings
    there). ``base_dir`` is the folder of the file the spec was loaded from; it is not
    serialized.
    """

    dataset: DatasetSpec = field(default_factory=DatasetSpec)
    features: tuple[str, ...] = RAW_FEATURES
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    weights: tuple[dict, ...] | None = None
    meta: dict | None = field(default=None, compare=False)
    base_dir: str | None = field(default=None, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], base_dir: str | None = None) -> "RunSpec":
        _check_keys(d, {"dataset", "features", "model", "train", "weights", "meta", "version"}, "")
        dataset = DatasetSpec.from_dict(d.get("dataset", {}))
        features = d.get("features", list(RAW_FEATURES))
        if not isinstance(features, (list, tuple)) or not features:
            raise _fail("features", f"expected a non-empty list of feature names, got {features!r}")
        for i, name in enumerate(features):
            if name not in FEATURES:
                raise _fail(f"features[{i}]", f"{name!r} is not one of {', '.join(FEATURES)}")
        if len(set(features)) != len(features):
            raise _fail("features", f"a feature is listed twice: {list(features)!r}")
        model = ModelSpec.from_dict(d.get("model", {}))
        train = TrainSpec.from_dict(d.get("train", {}))
        optimizer = optimizer_for_model(model.kind, train.optimizer)
        if optimizer != train.optimizer:
            train = replace(train, optimizer=optimizer)
        check_model_for_task(model.kind, dataset.declared_task)
        weights = d.get("weights")
        if weights is not None:
            weights = _validate_weights(weights)
        meta = d.get("meta")
        if meta is not None and not isinstance(meta, dict):
            raise _fail("meta", f"expected an object, got {meta!r}")
        return cls(dataset=dataset, features=tuple(features), model=model, train=train,
                   weights=weights, meta=meta, base_dir=base_dir)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "dataset": self.dataset.to_dict(),
            "features": list(self.features),
            "model": self.model.to_dict(),
            "train": self.train.to_dict(),
        }
        if self.weights is not None:
            out["weights"] = [dict(layer) for layer in self.weights]
        if self.meta is not None:
            out["meta"] = self.meta
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def with_(self, **changes: Any) -> "RunSpec":
        """A copy with some top-level fields replaced (``dataset=``, ``model=``, ...)."""
        return replace(self, **changes)


def _validate_weights(weights: Any) -> tuple[dict, ...]:
    if not isinstance(weights, (list, tuple)):
        raise _fail("weights", f"expected a list of layers, got {type(weights).__name__}")
    layers = []
    for i, layer in enumerate(weights):
        if not isinstance(layer, Mapping) or set(layer) != {"W", "b"}:
            raise _fail(f"weights[{i}]", "expected an object with exactly 'W' and 'b'")
        W, b = layer["W"], layer["b"]
        if not isinstance(W, list) or not W or not all(isinstance(r, list) for r in W):
            raise _fail(f"weights[{i}].W", "expected a non-empty list of rows")
        width = len(W[0])
        for r, row in enumerate(W):
            if len(row) != width or not all(_is_finite_number(v) for v in row):
                raise _fail(f"weights[{i}].W[{r}]", f"expected {width} finite numbers")
        if not isinstance(b, list) or len(b) != width or not all(_is_finite_number(v) for v in b):
            raise _fail(f"weights[{i}].b", f"expected {width} finite numbers")
        layers.append({"W": W, "b": b})
    return tuple(layers)


def _is_finite_number(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)


def load_spec(path: str | os.PathLike) -> RunSpec:
    """Read and validate a spec file.

    Raises
    ------
    SpecError
        The file is missing, is not JSON (the message gives line and column) or holds an
        invalid spec (the message names the field).
    """
    path = os.fspath(path)
    try:
        # utf-8-sig: editors on Windows save JSON with a byte-order mark.
        with open(path, encoding="utf-8-sig") as fh:
            text = fh.read()
    except OSError as exc:
        raise SpecError("", f"cannot read spec file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SpecError("", f"spec file {path} is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError("", f"{path}, line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise SpecError("", f"{path}: the JSON is nested too deeply to be a run spec") from None
    try:
        return RunSpec.from_dict(data, base_dir=os.path.dirname(os.path.abspath(path)))
    except SpecError as exc:
        raise SpecError(exc.field, f"{exc.message} (in {path})") from None
    except RecursionError:
        raise SpecError("", f"{path}: the JSON is nested too deeply to be a run spec") from None


def save_spec(spec: RunSpec, path: str | os.PathLike) -> None:
    """Write ``spec`` as JSON, atomically (a crash never leaves half a file)."""
    atomic_write(path, spec.to_json() + "\n")
