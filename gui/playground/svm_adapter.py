"""The support vector machine in the Playground: SMO one iteration at a time (no Qt).

:class:`SvmAdapter` runs the engine's fitter (``engine.estimators.SvmFitter``) with a
record after every SMO iteration and draws the engine's current solution between two of
them (``current_model``): the regions of the one-vs-one vote, the decision boundary
(decision value 0), the margins (+1 and -1) and the support vectors circled. Its metrics
record per frame has the hinge loss (the loss an SVM minimises) and accuracy on the
training and test parts, with ``n_support``, ``dual_objective`` and ``max_violation``.
"""

from __future__ import annotations

import time

import numpy as np

from engine.data import Dataset
from engine.grid import grid_points
from engine.metrics import classification_report
from engine.spec import RunSpec
from engine.svm import class_pairs, ovo_votes
from gui.playground.model_adapters import ModelFrame, register_adapter
from gui.playground.overlays import Overlay, contour_segments
from gui.playground.render import region_rgb, value_rgb

#: the decision image's pixels (the margins are traced on it, linearly interpolated)
GRID_SHAPE = (100, 100)
THUMB_SIZE = 28
#: kernel values kept between frames (float64): the grid's and the test points' against
#: every training point, so that a frame costs one matrix product per pair of classes
KERNEL_CACHE_VALUES = 8_000_000


def pair_coefficients(model, n_train: int) -> np.ndarray:
    """Each pair's ``y_t alpha_t`` over all training rows, shape (n_train, k (k - 1) / 2).

    ``decision_values(X) = K(X, X_train) @ coefficients + intercept`` (zero rows for
    points that are not support vectors of the pair).
    """
    out = np.zeros((n_train, len(model.intercept)))
    starts = np.concatenate([[0], np.cumsum(model.n_support)])
    rows = model.train_rows
    for p, (a, b) in enumerate(class_pairs(model.classes)):
        sa, sb = slice(starts[a], starts[a + 1]), slice(starts[b], starts[b + 1])
        out[rows[sa], p] = model.dual_coef[b - 1, sa]
        out[rows[sb], p] = model.dual_coef[a, sb]
    return out


def pair_margins(decision: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """``y f`` of every row in every pair its class belongs to, as a flat array.

    Parameters
    ----------
    decision : ndarray, shape (n, k (k - 1) / 2)
        One-vs-one decision values (positive: the pair's first class).
    y : ndarray, shape (n,) int
    """
    out = []
    for p, (a, b) in enumerate(class_pairs(k)):
        rows = (y == a) | (y == b)
        out.append(np.where(y[rows] == a, 1.0, -1.0) * decision[rows, p])
    return np.concatenate(out) if out else np.zeros(0)


def hinge_loss(decision: np.ndarray, y: np.ndarray, k: int) -> float | None:
    """Mean of ``max(0, 1 - y f)`` over every row and every pair of its class (None: no rows)."""
    m = pair_margins(decision, y, k)
    return float(np.maximum(0.0, 1.0 - m).mean()) if len(m) else None


class SvmAdapter:
    """An SVM trained one SMO iteration per step; see :mod:`gui.playground.model_adapters`."""

    counter_name = "Iteration"
    uses_network_editor = True

    def __init__(self, spec: RunSpec, dataset: Dataset):
        self.spec = spec
        self.dataset = dataset
        self._start()

    def _start(self) -> None:
        from engine.estimators import SvmFitter

        self.fitter = SvmFitter(self.spec, self.dataset, report_every=1)  # SpecError: one class only, ...
        self._records = self.fitter.run()
        self.status = "running"
        self.message = ""
        self.iteration = 0
        self.engine_record: dict | None = None
        self.train_s = 0.0
        self._drawn_iteration = -1
        self._kernels: dict = {}

    # ------------------------------------------------------------------ training
    @property
    def n_outputs(self) -> int:
        """One output picture for two classes (their decision value), else one per class."""
        k = self.dataset.n_classes
        return 1 if k == 2 else k

    def train_step(self) -> int:
        """One SMO iteration; 0 once the fit has converged (the run is then completed)."""
        if self.status != "running":
            return 0
        started = time.perf_counter()
        try:
            while True:
                rec = next(self._records)
                self.engine_record = rec
                moved = rec["iteration"] - self.iteration
                if moved > 0:
                    self.iteration = rec["iteration"]
                    return moved
        except StopIteration:
            self.status = str(self.fitter.status)
            n_sv = int(self.fitter.model.n_support.sum()) if self.fitter.model is not None else 0
            self.message = f"converged after {self.iteration:,} SMO iterations: {n_sv} support vectors"
            return 0
        finally:
            self.train_s += time.perf_counter() - started

    def set_dataset(self, dataset: Dataset) -> None:
        """New points: SMO starts again on them (the dual has one multiplier per point)."""
        self.dataset = dataset
        self._start()

    def edit(self, change) -> None:
        """An SVM has nothing to edit by hand (its multipliers are SMO's)."""

    def set_spec(self, spec: RunSpec) -> None:
        """Settings that do not change the model (the view rebuilds the run when they do)."""
        self.spec = spec

    # ------------------------------------------------------------------ drawing
    def draw(self, options, with_report: bool) -> ModelFrame:
        """The current solution over ``options.box``: regions, boundary, margins, support vectors."""
        model = self.fitter.current_model()
        k = self.dataset.n_classes
        h, w = GRID_SHAPE
        dec = self._decision(model, ("grid", tuple(options.box)),
                             lambda: grid_points(options.box, GRID_SHAPE)).reshape(h, w, -1)
        if k == 2:
            f = dec[..., 0]
            winner = (f <= 0).astype(np.intp)  # positive: the pair's first class
            strength = np.abs(f)
        else:
            votes = ovo_votes(dec.reshape(h * w, -1), k)
            winner = np.argmax(votes, axis=1).reshape(h, w)
            strength = np.full((h, w), np.inf)
            for p, (a, b) in enumerate(class_pairs(k)):
                mine = (winner == a) | (winner == b)
                strength = np.where(mine, np.minimum(strength, np.abs(dec[..., p])), strength)
        boundary = region_rgb(winner, np.ones_like(strength) if options.discretize else strength, k)
        overlays = self._overlays(dec, winner, k, options.box, model)
        n_sv = len(model.support_vectors)
        rec = self.engine_record or {}
        where = f" · pair {rec['pair']}/{rec['pairs']}" if rec.get("pairs", 1) > 1 else ""
        state = " · converged" if self.status == "completed" else ""
        line = f"{n_sv} support vectors · iteration {self.iteration:,}{where}{state}"
        rows = np.linspace(0, h - 1, THUMB_SIZE).round().astype(int)
        cols = np.linspace(0, w - 1, THUMB_SIZE).round().astype(int)
        small = dec[np.ix_(rows, cols)]
        if k == 2:
            outputs = [[value_rgb(-small[..., 0], 1.0)]]  # positive (blue) favours the second class
        else:
            win = winner[np.ix_(rows, cols)]
            outputs = [[region_rgb(np.full(win.shape, c), (win == c).astype(np.float32), k) for c in range(k)]]
        record, report, report_on = self._scores(model, with_report)
        return ModelFrame(boundary=boundary, overlays=overlays, status_line=line, outputs=outputs, record=record,
                          report=report, report_on=report_on)

    def _decision(self, model, key, raw_points) -> np.ndarray:
        """Decision values at ``raw_points()``, shape (n, pairs); the kernel against the
        training rows is computed once per ``key`` (small problems) and reused every frame."""
        fit = self.fitter.fit
        n_train = len(fit.X)
        K = self._kernels.get(key)
        if K is None:
            F = self.fitter.preprocess(np.asarray(raw_points(), np.float64))
            if len(F) * n_train > KERNEL_CACHE_VALUES:
                return model.decision_values(F)
            if key[0] == "grid":  # one plotted box at a time
                self._kernels = {kk: v for kk, v in self._kernels.items() if kk[0] != "grid"}
            K = self._kernels[key] = fit.kernel.block(F, fit.X)
        if model.train_rows is None or len(model.support_vectors) == 0:
            return np.broadcast_to(model.intercept, (len(K), len(model.intercept))).copy()
        return K @ pair_coefficients(model, n_train) + model.intercept

    def _overlays(self, dec, winner, k, box, model) -> tuple[Overlay, ...]:
        lines, margins = [], []
        for p, (a, b) in enumerate(class_pairs(k)):
            # With several classes a pair's lines matter only where it decides the vote.
            mask = None if k == 2 else (winner == a) | (winner == b)
            f = dec[..., p]
            lines.append(contour_segments(f, box, 0.0, mask))
            margins.append(contour_segments(f, box, 1.0, mask))
            margins.append(contour_segments(f, box, -1.0, mask))
        X = np.asarray(self.dataset.X_train, np.float64)
        rows = model.train_rows if model.train_rows is not None else np.zeros(0, np.int64)
        return (Overlay("svm_margins", "segments", np.concatenate(margins), "margin"),
                Overlay("svm_boundary", "segments", np.concatenate(lines), "boundary"),
                Overlay("svm_support", "rings", X[rows], "support"))

    def _scores(self, model, with_report: bool):
        """A record when the model changed since the last frame, and the test panel's scores."""
        ds = self.dataset
        k = ds.n_classes
        changed = self.iteration != self._drawn_iteration or self.status != "running"
        if not changed and not with_report:
            return None, None, "test"
        out: dict = {}
        preds = {}
        for part, X, y in (("train", ds.X_train, ds.y_train), ("test", ds.X_test, ds.y_test)):
            y = np.asarray(y, np.int64)
            if len(y) == 0:
                continue
            dec = self._decision(model, (part,), lambda X=X: X)
            preds[part] = (np.argmax(ovo_votes(dec, k), axis=1), y)
            out[f"{part}_loss"] = hinge_loss(dec, y, k)
            out[f"{part}_accuracy"] = float(np.mean(preds[part][0] == y))
        record = None
        if changed:
            self._drawn_iteration = self.iteration
            rec = self.engine_record or {}
            record = {"iteration": self.iteration, "elapsed_s": self.train_s, "n_support": len(model.support_vectors),
                      "dual_objective": rec.get("dual_objective"), "max_violation": rec.get("max_violation"), **out}
        report, report_on = None, "test"
        if with_report:
            which = "test" if "test" in preds else "training"
            pred, y = preds.get("test") or preds.get("train") or (None, None)
            if pred is not None:
                report, report_on = classification_report(y, pred, k), which
        return record, report, report_on


register_adapter("svm", SvmAdapter)
