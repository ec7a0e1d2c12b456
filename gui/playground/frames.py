"""What one frame of the Playground shows, computed where the network is trained (no Qt).

:func:`render_snapshot` turns a trainer's current network into a :class:`TrainingSnapshot`:
copies of the weights, the decision regions as an RGB image, the neurons' pictures, the
test-set scores and the metrics records since the last frame. A snapshot is immutable
(frozen, arrays read-only), so the GUI thread can draw it while the worker trains on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from engine.data import Dataset
from engine.grid import decision_grid, neuron_grids
from engine.metrics import classification_report, mean_squared_error, r2_score
from engine.spec import RunSpec
from engine.trainer import Trainer
from gui.playground.render import boundary_rgb, neuron_pictures, value_rgb

GRID_SHAPE = (200, 200)
#: the regions while training runs at full speed (as TensorFlow Playground always draws
#: them): a quarter of the grid's work in the training process for every frame; a paced,
#: paused or finished run is drawn on the full grid
DRAFT_GRID_SHAPE = (100, 100)
THUMB_SHAPE = (28, 28)
PREVIEW_SHAPE = (100, 100)


@dataclass(frozen=True)
class RenderOptions:
    """What the pictures should show; replaced as a whole (atomic for the worker)."""

    box: tuple[float, float, float, float] = (-6.0, 6.0, -6.0, 6.0)
    discretize: bool = False
    value_scale: float = 1.0
    neurons: bool = True
    preview: tuple[int, int] | None = None


@dataclass(frozen=True)
class TrainingSnapshot:
    """Everything one frame draws, consistent with itself: all taken between two epochs.

    Attributes
    ----------
    generation : int
        Which network (a reset starts a new one); frames of a replaced network are dropped.
    epoch : int
        Epochs this run has trained, counted across setting changes (the number on screen).
    status : str
        The trainer's status: ``running``, ``completed``, ``diverged`` or ``stopped``.
    weights : tuple of dict
        Read-only copies of every layer's ``W (in, out)`` and ``b (out,)``.
    boundary : ndarray or None
        ``(200, 200, 3)`` uint8 decision regions, None when the network is not finite.
    neurons : list of list of ndarray, optional
        Every hidden and output neuron's ``(28, 28, 3)`` picture.
    records : tuple of dict
        The metrics records trained since the previous frame.
    report, report_on
        Test-set scores (``report_on`` is ``"training"`` when there is no test set).
    spec, dataset
        The settings and the data these weights were trained with.
    overlays : tuple of Overlay
        Shapes drawn over the data (a non-network model's margins, support vectors,
        centroids; :mod:`gui.playground.overlays`); empty for networks.
    status_line : str
        The model's one-line state over the plot (empty for networks).
    counter_name : str
        What ``epoch`` counts: ``"Epoch"``, or a model's own step (``"Iteration"``).
    model_info : dict, optional
        What a non-network model's side panel shows (a k-distance curve, the next phase).
    """

    generation: int
    epoch: int
    status: str
    message: str
    weights: tuple[dict, ...]
    boundary: np.ndarray | None
    spec: RunSpec
    dataset: Dataset
    neurons: list | None = None
    preview: np.ndarray | None = None
    preview_key: tuple[int, int] | None = None
    records: tuple[dict, ...] = ()
    report: dict | None = None
    report_on: str = "test"
    last_record: dict | None = None
    overlays: tuple = ()
    status_line: str = ""
    counter_name: str = "Epoch"
    model_info: dict | None = None
    #: set by the GUI once the frame is on screen; the worker waits for it
    drawn: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)

    @property
    def finite(self) -> bool:
        """Whether every weight is a finite number (not after divergence)."""
        return all(np.isfinite(w["W"]).all() and np.isfinite(w["b"]).all() for w in self.weights)

    def weights_as_lists(self) -> list[dict]:
        """The weights as a spec holds them: ``[{"W": nested lists, "b": list}, ...]``."""
        return [{"W": np.asarray(w["W"], dtype=float).tolist(), "b": np.asarray(w["b"], dtype=float).tolist()}
                for w in self.weights]


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def weights_of(model) -> tuple[dict, ...]:
    """Read-only copies of every layer's ``W (in, out)`` and ``b (out,)``."""
    return tuple({"W": _read_only(layer.W.copy()), "b": _read_only(layer.b.copy())} for layer in model.layers)


def render_snapshot(trainer: Trainer, options: RenderOptions, *, spec: RunSpec, epoch: int, message: str,
                    records: tuple[dict, ...] = (), with_report: bool = True,
                    generation: int = 0, with_neurons: bool = True, draft: bool = False) -> TrainingSnapshot:
    """Draw the trainer's current network (call only from the thread that trains it); the
    regions on the coarser ``DRAFT_GRID_SHAPE`` with ``draft`` (a frame while training)."""
    model, pre = trainer.model, trainer.preprocess
    grid = decision_grid(model, pre, options.box, DRAFT_GRID_SHAPE if draft else GRID_SHAPE)
    finite = bool(np.isfinite(grid).all())
    if not finite:
        boundary = None
    elif grid.ndim == 2:
        boundary = value_rgb(grid, options.value_scale, options.discretize)
    else:
        boundary = boundary_rgb(grid, options.discretize)
    neurons = None
    if options.neurons and finite and with_neurons:
        neurons = neuron_pictures(neuron_grids(model, pre, options.box, THUMB_SHAPE)[1:], model.n_outputs,
                                  trainer.dataset.task)
    preview = None
    if options.preview is not None and finite:
        c, u = options.preview
        pics = neuron_grids(model, pre, options.box, PREVIEW_SHAPE)
        if c < len(pics) and u < len(pics[c]):
            preview = pics[c][u]
    report, report_on = None, "test"
    if with_report and finite:
        report, report_on = score_report(trainer)
    records = tuple(records)
    return TrainingSnapshot(
        generation=generation, epoch=epoch, status=str(trainer.status), message=message,
        weights=weights_of(model), boundary=boundary, spec=spec, dataset=trainer.dataset, neurons=neurons,
        preview=preview, preview_key=options.preview, records=records, report=report, report_on=report_on,
        last_record=records[-1] if records else None)


def score_report(trainer: Trainer) -> tuple[dict | None, str]:
    """Test-set scores (training set when there is no test set): ``(report, which)``."""
    ds = trainer.dataset
    X, y, which = ds.X_test, ds.y_test, "test"
    if len(y) == 0:
        X, y, which = ds.X_train, ds.y_train, "training"
    if len(y) == 0:
        return None, which
    F = trainer.preprocess(X)
    pred = trainer.model.predict(F)
    if ds.task == "classification":
        report = classification_report(y, pred, ds.n_classes)
        report["roc"] = test_roc(trainer.model, F, y, ds.class_names)
        return report, which
    return {"mse": mean_squared_error(y, pred), "r2": r2_score(y, pred), "n": int(len(y))}, which


def test_roc(model, F, y, class_names) -> dict | None:
    """The ROC curves of ``model`` on features ``F`` (see :func:`engine.metrics.roc_report`)."""
    from engine.estimators import network_class_scores
    from engine.metrics import roc_report

    scores = network_class_scores(model, F)
    return roc_report(y, scores, class_names) if np.isfinite(scores).all() else None


def preview_grid(trainer: Trainer, box, column: int, unit: int) -> np.ndarray | None:
    """One neuron's ``(100, 100)`` output over ``box`` (the thread that trains only)."""
    pics = neuron_grids(trainer.model, trainer.preprocess, box, PREVIEW_SHAPE)
    if column < len(pics) and unit < len(pics[column]):
        return pics[column][unit]
    return None
