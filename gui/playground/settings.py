"""The Playground's settings: the single source of truth for the spec being edited (no Qt).

:class:`PlaygroundSettings` holds every choice the top bar and the network editor show
(problem type, model, network shape, learning rate, ...) plus the view settings kept in
the spec's ``meta``. Widgets never keep their own copy: they call :meth:`~PlaygroundSettings.set`
and subscribe to its :class:`Event` s (one per field, handlers named ``_on_<field>_changed``,
and ``changed`` with the set of names that changed at once).

The model rules (which problem each model learns, which optimizer it trains with, whether
it has hidden layers) are ``engine.spec``'s; ``set`` applies them, so the settings always
describe a spec the validator accepts.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Mapping

from engine.spec import (
    ACTIVATIONS,
    FEATURES,
    MODEL_KINDS,
    MODEL_RULES,
    DatasetSpec,
    ModelSpec,
    RunSpec,
    SpecError,
    TrainSpec,
    model_allows_task,
    model_has_hidden_layers,
    models_for_task,
    optimizer_for_model,
    optimizers_for_model,
)
from gui.playground.model_adapters import playground_kinds
from gui.playground.pacing import DEFAULT_SPEED_INDEX, SPEEDS

LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REG_RATES = (0.0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REGULARIZATIONS = ("none", "l1", "l2")
PROBLEMS = ("classification", "regression")
#: the epoch limit of a run with "stop at" unticked
UNLIMITED_EPOCHS = 10_000_000
#: the hidden layers a model switch (or a switch to regression) starts the network with
STARTER_HIDDEN = (4, 2)
MAX_EPOCHS = 1_000_000
MAX_PATIENCE = 100_000
MAX_BATCH = 1024
MAX_DROPOUT = 0.9
META_VERSION = 1

#: the SVM's kernels offered in the Playground, and typical values of C and gamma
SVM_KERNELS = ("linear", "rbf", "poly", "sigmoid")
SVM_C_VALUES = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
SVM_GAMMA_VALUES = ("scale", "auto", 0.1, 0.5, 1.0, 2.0, 8.0)
MAX_SVM_DEGREE = 10
MAX_CLUSTERS = 8
MAX_MIN_SAMPLES = 50
#: the model fields of kinds that are not networks (a change gives a new model)
SVM_FIELDS = ("svm_kernel", "svm_C", "svm_gamma", "svm_degree")
CLUSTERING_FIELDS = ("kmeans_k", "dbscan_eps", "dbscan_min_samples")
MODEL_FIELDS = frozenset(SVM_FIELDS + CLUSTERING_FIELDS)
#: the plane's own coordinates: centroids and eps circles are drawn where they act
CLUSTERING_FEATURES = ("x1", "x2")

#: fields whose change gives a new network (the others keep the weights)
NETWORK_FIELDS = frozenset({"model_kind", "features", "hidden", "activations", "activation"}) | MODEL_FIELDS
#: training settings the running network adopts between two epochs
TRAINING_FIELDS = frozenset({"learning_rate", "regularization", "reg_rate", "batch_size", "optimizer", "dropout",
                             "epochs", "stop_after_epochs", "patience", "stop_when_stalled"})
FIELDS = ("problem", "model_kind", "features", "hidden", "activations", "activation", "learning_rate",
          "regularization", "reg_rate", "batch_size", "optimizer", "dropout", "epochs", "stop_after_epochs",
          "patience", "stop_when_stalled", "speed_index", "discretize", "show_test") + SVM_FIELDS + CLUSTERING_FIELDS


def playground_model_kinds() -> tuple[str, ...]:
    """The model picker's kinds: the networks, then every kind with a playground adapter."""
    return MODEL_KINDS + playground_kinds()


def is_network_kind(kind: str) -> bool:
    """Whether ``kind`` is a network (trained by epochs, with weights and an optimizer)."""
    return kind in MODEL_RULES



def check_playground_model(spec: RunSpec, path: str) -> None:
    """Refuse, in one line, a spec or model file whose model the Playground cannot show.

    The Playground trains and draws networks and the kinds with a playground adapter
    (:mod:`gui.playground.model_adapters`); any other is trained by
    ``python -m engine train`` or on a cluster.
    """
    kinds = playground_model_kinds()
    if spec.model.kind not in kinds:
        raise SpecError("model.kind", f"{os.path.basename(path)} holds a {spec.model.kind!r} model; the Playground "
                                      f"shows {', '.join(kinds)}. Train it with 'python -m engine train' or on a "
                                      "cluster")

class Event:
    """Callbacks called with one value; the plain-Python counterpart of a Qt signal."""

    def __init__(self):
        self._callbacks: list[Callable[[Any], None]] = []

    def connect(self, callback: Callable[[Any], None]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[Any], None]) -> None:
        self._callbacks.remove(callback)

    def emit(self, value: Any) -> None:
        for callback in list(self._callbacks):
            callback(value)


class SettingsEvents:
    """One :class:`Event` per field of :class:`PlaygroundSettings`, plus ``changed``."""

    def __init__(self):
        for name in FIELDS:
            setattr(self, name, Event())
        #: emitted last with the frozenset of the names that changed together
        self.changed = Event()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    return a == b


class PlaygroundSettings:
    """Every setting of the Playground but the data; see the module docstring."""

    def __init__(self):
        self.problem = "classification"
        self.model_kind = "mlp"
        self.features: tuple[str, ...] = ("x1", "x2")
        self.hidden: tuple[int, ...] = STARTER_HIDDEN
        self.activations: tuple[str, ...] = ("tanh",) * len(STARTER_HIDDEN)
        #: the top bar's activation: every layer's, and the spec's for models without layers
        self.activation = "tanh"
        self.learning_rate = 0.03
        self.regularization = "none"
        self.reg_rate = 0.0
        self.batch_size = 16
        self.optimizer = "adam"
        self.dropout = 0.0
        self.epochs = 500
        self.stop_after_epochs = False
        self.patience = 20
        self.stop_when_stalled = False
        self.speed_index = DEFAULT_SPEED_INDEX
        self.discretize = False
        self.show_test = True
        self.svm_kernel = "rbf"
        self.svm_C = 1.0
        #: "scale", "auto" or a number > 0
        self.svm_gamma: float | str = "scale"
        self.svm_degree = 3
        self.kmeans_k = 3
        self.dbscan_eps = 1.0  # (the plane spans -6 to 6)
        self.dbscan_min_samples = 5
        #: the weights' seed; a reset takes the next one
        self.seed = 0
        #: the last hidden layers (and their activations) of a model with layers
        self._kept_network: tuple[tuple[int, ...], tuple[str, ...]] | None = None
        self.events = SettingsEvents()

    # ------------------------------------------------------------------ the rules
    @property
    def optimizer_choices(self) -> tuple[str, ...]:
        """The optimizers the current model trains with."""
        return optimizers_for_model(self.model_kind)

    @property
    def effective_optimizer(self) -> str:
        """The optimizer training uses: the chosen one where the model allows a choice."""
        return optimizer_for_model(self.model_kind, self.optimizer)

    @property
    def has_layers(self) -> bool:
        """Whether the model has hidden layers (and with them dropout)."""
        return model_has_hidden_layers(self.model_kind)

    @property
    def is_network(self) -> bool:
        """Whether the model is a network (learning rate, optimizer, batches and epochs apply)."""
        return is_network_kind(self.model_kind)

    @property
    def speed(self) -> float | None:
        """Epochs per second; None for as fast as possible."""
        return SPEEDS[self.speed_index]

    def model_choices(self) -> tuple[str, ...]:
        """The models that learn the current problem."""
        return tuple(k for k in playground_model_kinds() if model_allows_task(k, self.problem))

    # ------------------------------------------------------------------ changing
    def set(self, **changes: Any) -> frozenset[str]:
        """Change settings, apply the model rules and tell the subscribers.

        Returns
        -------
        frozenset of str
            The names of the fields that changed (the requested ones and those the rules
            changed with them).
        """
        before = {name: getattr(self, name) for name in FIELDS}
        for name, value in changes.items():
            if name not in FIELDS:
                raise AttributeError(f"no setting {name!r}")
            setattr(self, name, self._checked(name, value))
        if "activation" in changes:
            self.activations = (self.activation,) * len(self.hidden)
        if model_has_hidden_layers(before["model_kind"]) and before["hidden"]:
            # the user's network, for when a model with layers comes back
            self._kept_network = (before["hidden"], before["activations"])
        if "model_kind" in changes and changes["model_kind"] != before["model_kind"]:
            self._on_model_switched()
        if "problem" in changes and not model_allows_task(self.model_kind, self.problem):
            # classifiers only classify: the problem wins, with the user's network
            self.model_kind = models_for_task(self.problem)[0]
            self._on_model_switched()
        elif not model_allows_task(self.model_kind, self.problem):
            # the model was chosen: the problem follows it
            self.problem = next(t for t in PROBLEMS if model_allows_task(self.model_kind, t))
        if len(self.activations) != len(self.hidden):
            self.activations = (self.activation,) * len(self.hidden)
        changed = frozenset(n for n in FIELDS if not _same(getattr(self, n), before[n]))
        for name in FIELDS:
            if name in changed:
                getattr(self.events, name).emit(getattr(self, name))
        if changed:
            self.events.changed.emit(changed)
        return changed

    def _on_model_switched(self) -> None:
        if self.has_layers:
            # back from a model without layers: the network the user had built, if any
            self.hidden, self.activations = self._kept_network or (
                STARTER_HIDDEN, (self.activation,) * len(STARTER_HIDDEN))
        else:
            self.hidden, self.activations = (), ()

    @staticmethod
    def _checked(name: str, value: Any) -> Any:
        choices = {"problem": PROBLEMS, "model_kind": playground_model_kinds(), "activation": ACTIVATIONS,
                   "regularization": REGULARIZATIONS, "svm_kernel": SVM_KERNELS}
        if name in choices and value not in choices[name]:
            raise ValueError(f"{name}: {value!r} is not one of {', '.join(choices[name])}")
        if name == "features":
            value = tuple(f for f in FEATURES if f in value)
            if not value:
                raise ValueError("features: at least one input feature must stay on")
        elif name == "hidden":
            value = tuple(int(w) for w in value)
        elif name == "activations":
            value = tuple(value)
            if any(a not in ACTIVATIONS for a in value):
                raise ValueError(f"activations: {value!r} has a name not in {', '.join(ACTIVATIONS)}")
        elif name in ("learning_rate", "reg_rate", "dropout"):
            value = float(value)
        elif name in ("batch_size", "epochs", "patience", "speed_index"):
            value = int(value)
        elif name in ("stop_after_epochs", "stop_when_stalled", "discretize", "show_test"):
            value = bool(value)
        elif name == "svm_C":
            value = _positive_number("C", value)
        elif name == "svm_gamma":
            if value not in ("scale", "auto"):
                value = _positive_number("gamma", value, words=" or 'scale' / 'auto'")
        elif name == "dbscan_eps":
            value = _positive_number("eps", value)
        elif name in ("kmeans_k", "dbscan_min_samples"):
            value = int(value)
            top = MAX_CLUSTERS if name == "kmeans_k" else MAX_MIN_SAMPLES
            if not 1 <= value <= top:
                raise ValueError(f"{'k' if name == 'kmeans_k' else 'min_samples'}: {value} is not from 1 to {top}")
        elif name == "svm_degree":
            value = int(value)
            if not 1 <= value <= MAX_SVM_DEGREE:
                raise ValueError(f"degree: {value} is not from 1 to {MAX_SVM_DEGREE}")
        if name == "speed_index" and not 0 <= value < len(SPEEDS):
            raise ValueError(f"speed_index: {value} is not from 0 to {len(SPEEDS) - 1}")
        return value

    # ------------------------------------------------------------------ settings -> spec
    def model_spec(self) -> ModelSpec:
        if self.model_kind == "svm":
            return ModelSpec(kind="svm", hidden=(), kernel=self.svm_kernel, C=self.svm_C, gamma=self.svm_gamma,
                             degree=self.svm_degree)
        if self.model_kind == "kmeans":
            # one seeding, stepped by hand: the saved file trains headless from the same start
            return ModelSpec(kind="kmeans", hidden=(), k=self.kmeans_k, init="k-means++", n_init=1, max_iter=300,
                             tol=1e-4, seed=self.seed)
        if self.model_kind == "dbscan":
            return ModelSpec(kind="dbscan", hidden=(), eps=self.dbscan_eps, min_samples=self.dbscan_min_samples)
        if not self.has_layers:
            return ModelSpec(kind=self.model_kind, hidden=(), activation=self.activation)
        acts = self.activations
        if not acts:
            return ModelSpec(kind=self.model_kind, hidden=(), activation=self.activation)
        activation = acts[0] if all(a == acts[0] for a in acts) else acts
        return ModelSpec(kind=self.model_kind, hidden=self.hidden, activation=activation)

    def train_spec(self, for_session: bool = False) -> TrainSpec:
        """The training settings; ``for_session``: the live run's limit (unlimited unless "stop at")."""
        rate = self.reg_rate
        epochs = self.epochs
        if for_session and not self.stop_after_epochs:
            epochs = UNLIMITED_EPOCHS
        return TrainSpec(
            epochs=epochs, batch_size=self.batch_size, optimizer=self.effective_optimizer,
            learning_rate=self.learning_rate, l1=rate if self.regularization == "l1" else 0.0,
            l2=rate if self.regularization == "l2" else 0.0, dropout=round(self.dropout, 4), seed=self.seed,
            patience=self.patience if self.stop_when_stalled else 0)

    def run_spec(self, dataset: DatasetSpec, for_session: bool = False, meta: dict | None = None) -> RunSpec:
        """The whole run on ``dataset`` (validated as a file would be when not ``for_session``)."""
        features = self.features if self.model_kind not in ("kmeans", "dbscan") else CLUSTERING_FEATURES
        return RunSpec(dataset=dataset, features=features, model=self.model_spec(),
                       train=self.train_spec(for_session), meta=meta)

    def view_meta(self) -> dict:
        """The view settings a spec keeps in ``meta["playground"]`` (the GUI adds its own)."""
        return {
            "version": META_VERSION,
            "discretize": self.discretize,
            "show_test": self.show_test,
            "stop_after_epochs": self.stop_after_epochs,
            "patience": self.patience,
            "stop_when_stalled": self.stop_when_stalled,
            "speed": self.speed_index,
            "regularization": self.regularization,
        }

    # ------------------------------------------------------------------ spec -> settings
    def apply_spec(self, spec: RunSpec, task: str) -> frozenset[str]:
        """Show ``spec`` (whose data turned out to be ``task``) and its ``meta["playground"]``."""
        meta = playground_meta(spec)
        t = spec.train
        reg = "l1" if t.l1 > 0 else "l2" if t.l2 > 0 else meta.get("regularization", "none")
        if reg not in REGULARIZATIONS:
            reg = "none"
        acts = spec.model.activations
        activation = acts[0] if acts else spec.model.activation if isinstance(spec.model.activation, str) \
            else self.activation
        speed = meta.get("speed", DEFAULT_SPEED_INDEX)
        if not isinstance(speed, int) or not 0 <= speed < len(SPEEDS):
            speed = DEFAULT_SPEED_INDEX
        patience = meta.get("patience", 20)
        changed = self.set(
            problem=task, model_kind=spec.model.kind, features=spec.features, learning_rate=t.learning_rate,
            optimizer=t.optimizer, regularization=reg, reg_rate=float(t.l1 or t.l2 or 0.0),
            batch_size=min(t.batch_size, MAX_BATCH), dropout=min(t.dropout, MAX_DROPOUT),
            epochs=min(t.epochs, MAX_EPOCHS), stop_after_epochs=bool(meta.get("stop_after_epochs", False)),
            stop_when_stalled=t.patience > 0 or bool(meta.get("stop_when_stalled", False)),
            patience=t.patience if t.patience > 0 else (patience if isinstance(patience, int) and patience > 0
                                                         else 20),
            discretize=bool(meta.get("discretize", False)), show_test=bool(meta.get("show_test", True)),
            speed_index=speed, activation=activation)
        m = spec.model
        if m.kind == "svm":
            kernel = m.kernel if m.kernel in SVM_KERNELS else "rbf"
            changed |= self.set(svm_kernel=kernel, svm_C=m.C, svm_gamma=m.gamma,
                                svm_degree=min(max(m.degree, 1), MAX_SVM_DEGREE))
        elif m.kind == "kmeans":
            changed |= self.set(kmeans_k=min(max(m.k, 1), MAX_CLUSTERS))
        elif m.kind == "dbscan":
            changed |= self.set(dbscan_eps=m.eps, dbscan_min_samples=min(m.min_samples, MAX_MIN_SAMPLES))
        # the network last: a model switch above starts from the starter network
        changed |= self.set(hidden=spec.model.hidden if self.has_layers else (),
                            activations=acts if self.has_layers else ())
        self.seed = m.seed if m.kind == "kmeans" else t.seed
        return changed


def _positive_number(name: str, value: Any, words: str = "") -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {value!r} is not a number > 0{words}") from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name}: {value!r} is not a number > 0{words}")
    return number


def playground_meta(spec: RunSpec) -> Mapping[str, Any]:
    """The spec's ``meta["playground"]`` (empty when absent or not an object)."""
    meta = spec.meta.get("playground", {}) if isinstance(spec.meta, dict) else {}
    return meta if isinstance(meta, dict) else {}
