"""The seam between the Playground and a model kind that is not a network (no Qt).

Networks are trained by :class:`~gui.playground.training_run.TrainingRun` itself (the
engine's ``Trainer``: epochs, weights, neuron pictures). Any other kind of the engine's
``MODEL_REGISTRY`` runs in the Playground once it registers a *playground adapter* here:
a class built as ``Adapter(spec, dataset)`` (raising ``SpecError`` when the data do not
suit it) with

- ``counter_name``: what the counter counts (``"Iteration"``, ``"Step"``);
- ``train_step() -> int``: one step of training (an SMO iteration, half a Lloyd
  iteration); returns how far the counter moved (0 once there is nothing left to do);
- ``status`` (``running``, ``completed`` or ``stopped``) and ``message``;
- ``set_dataset(dataset)`` (painting while it trains) and ``set_spec(spec)`` (settings
  that keep the model: the view rebuilds the run when model fields change);
- ``draw(options, with_report) -> ModelFrame``: the current model as pictures: the
  decision or region image, the overlays (:mod:`gui.playground.overlays`), a one-line
  status, the output pictures, a metrics record when the model changed since the last
  frame, scores, and ``info`` for the model's side panel (a k-distance curve, a phase);
- ``edit(change)``: a change made by hand (``("centroid", index, x, y)``: a dragged
  centroid); adapters without such edits ignore them;
- ``n_outputs`` and ``uses_network_editor`` (whether the network editor's features and
  output pictures apply to it: they do for an SVM, not for clustering).

Only the thread that trains a run touches its adapter (the worker while one runs), as
with networks. ``ADAPTERS`` maps ``model.kind`` to the class; nothing else in the
Playground tests the kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from gui.playground.overlays import Overlay


@dataclass(frozen=True)
class ModelFrame:
    """What one frame of a non-network model shows (all arrays read-only or fresh).

    Attributes
    ----------
    boundary : ndarray or None
        ``(H, W, 3)`` uint8 regions over the plotted box, row 0 at ``y_min``.
    overlays : tuple of Overlay
    status_line : str
        One line over the plot ("37 support vectors · iteration 420").
    outputs : list of list of ndarray, optional
        The output column's pictures for the network editor (``[[(h, w, 3), ...]]``).
    record : dict, optional
        A metrics record of the model as drawn (None when it did not change).
    report, report_on
        Scores for the test panel (``report_on`` is ``"training"`` without a test set).
    info : dict, optional
        What the model's side panel shows (plain values and read-only arrays).
    """

    boundary: np.ndarray | None
    overlays: tuple[Overlay, ...] = ()
    status_line: str = ""
    outputs: list | None = None
    record: dict | None = None
    report: dict | None = None
    report_on: str = "test"
    info: dict | None = None


#: ``model.kind`` -> adapter class; filled by the adapter modules below
ADAPTERS: dict[str, Callable] = {}


def register_adapter(kind: str, adapter: Callable) -> None:
    """Let the Playground train and draw model ``kind`` through ``adapter``."""
    ADAPTERS[kind] = adapter


def adapter_for(kind: str) -> Callable | None:
    """The adapter class of ``kind``; None for networks (trained by ``TrainingRun`` itself)."""
    _load_adapters()
    return ADAPTERS.get(kind)


def playground_kinds() -> tuple[str, ...]:
    """The non-network kinds the Playground can train and draw."""
    _load_adapters()
    return tuple(ADAPTERS)


def _load_adapters() -> None:
    # Imported here: each adapter module registers itself and imports this one.
    from gui.playground import clustering_adapters, svm_adapter  # noqa: F401
