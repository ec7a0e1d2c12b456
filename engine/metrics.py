"""Evaluation metrics: accuracy, confusion matrix, per-class precision/recall/F1, R^2, MSE, ROC and AUC.

Plain NumPy, same definitions as scikit-learn (a class with no predictions or no samples
gets precision or recall 0.0, as scikit-learn's ``zero_division=0``). The macro averages
are over the classes that have samples: a class absent from ``y_true`` has no recall to
speak of, and its 0.0 would pull the average down although nothing was missed. Shown to a
person, such a class's scores read :data:`MISSING` (:func:`format_class_score`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "confusion_matrix", "classification_report", "r2_score", "mean_squared_error",
           "format_metric", "format_metrics", "format_class_score", "MISSING", "roc_curve", "roc_auc", "roc_report"]

#: What a metric that has no value (yet) reads as, wherever metrics are shown.
MISSING = "—"


def format_metric(value, metric: str = "loss") -> str:
    """A metric value as text, the same way in the command line, the Playground and the Cluster view.

    Accuracies (any ``metric`` name containing ``accuracy``) read as percentages with one
    decimal; everything else with four significant digits, so a small loss never reads "0.000".
    ``None``, NaN and infinities read as :data:`MISSING`: no value is shown for weights that
    diverged (whoever shows the metric says that the run diverged, in words).
    """
    if value is None:
        return MISSING
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        return MISSING
    if "accuracy" in metric:
        return f"{value:.1%}"
    return f"{value:.4g}"


def format_metrics(values, metric: str = "loss") -> list[str]:
    """Several values of one metric (a training and a test loss) in one notation, so that they
    can be compared at a glance.

    Accuracies as :func:`format_metric`. Other values: when every finite value is 0 or
    between 0.001 and 100,000, all get the same number of decimals (four significant digits
    of the largest); otherwise all are written in scientific notation with three significant
    digits ("0.00e+00" beside "1.37e-07", never "0" beside it). Missing values read as
    :data:`MISSING`.
    """
    floats = [None if v is None else float(v) for v in values]
    finite = [abs(v) for v in floats if v is not None and v == v and v not in (float("inf"), float("-inf"))]
    if "accuracy" in metric or not finite:
        return [format_metric(v, metric) for v in floats]
    nonzero = [v for v in finite if v > 0]
    if any(v < 1e-3 or v >= 1e5 for v in nonzero):
        fmt = "{:.2e}"
    else:
        top = max(nonzero, default=1.0)
        decimals = max(0, 3 - int(np.floor(np.log10(top))))
        fmt = "{:.%df}" % decimals
    return [format_metric(v, metric) if format_metric(v, metric) == MISSING else fmt.format(v) for v in floats]


def format_class_score(value, support: int) -> str:
    """A per-class precision, recall or F1 with two decimals; :data:`MISSING` for a class
    without samples (``support`` 0), whose scores say nothing."""
    if int(support) == 0:
        return MISSING
    return f"{float(value):.2f}"


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} values but y_pred has {y_pred.size}")
    return y_true, y_pred


def accuracy(y_true, y_pred) -> float:
    """Share of equal labels.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n,)

    Returns
    -------
    float
        In [0, 1]; NaN for n = 0 (nothing to score).
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if y_true.size == 0:
        return float("nan")
    return float(np.count_nonzero(y_true == y_pred) / y_true.size)


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class) pairs.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (n,)
        Class indices 0..C-1.
    n_classes : int
        C.

    Returns
    -------
    ndarray, shape (C, C), int64
        Row i, column j: samples of class i predicted as class j.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    C = int(n_classes)
    t = y_true.astype(np.int64)
    p = y_pred.astype(np.int64)
    for name, v, raw in (("y_true", t, y_true), ("y_pred", p, y_pred)):
        if v.size and (v.min() < 0 or v.max() >= C or np.any(v != raw)):
            raise ValueError(f"{name} holds values outside the class indices 0..{C - 1}")
    return np.bincount(t * C + p, minlength=C * C).reshape(C, C).astype(np.int64)


def classification_report(y_true, y_pred, n_classes: int) -> dict:
    """Precision, recall, F1 and support for every class.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (n,)
    n_classes : int

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (lists of C floats), ``support`` (list of C
        ints), ``macro_precision``, ``macro_recall``, ``macro_f1`` (unweighted means over
        the ``classes_present`` classes that have samples in ``y_true``; NaN when none has),
        ``weighted_f1`` (weighted by support), ``accuracy`` and ``confusion`` (the C x C
        matrix as nested lists). JSON-ready (but for the NaNs of an empty ``y_true``).
    """
    cm = confusion_matrix(y_true, y_pred, n_classes)
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    support = cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        denom = precision + recall
        f1 = np.where(denom > 0, 2 * precision * recall / denom, 0.0)
    total = int(support.sum())
    present = support > 0

    def macro(values: np.ndarray) -> float:
        return float(values[present].mean()) if present.any() else float("nan")

    return {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.tolist(),
        "macro_precision": macro(precision),
        "macro_recall": macro(recall),
        "macro_f1": macro(f1),
        "classes_present": int(present.sum()),
        "weighted_f1": float((f1 * support).sum() / total) if total else 0.0,
        "accuracy": float(tp.sum() / total) if total else float("nan"),
        "confusion": cm.tolist(),
    }


def mean_squared_error(y_true, y_pred) -> float:
    """Mean of squared differences; NaN for n = 0.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n,) or (n, k)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if y_true.size == 0:
        return float("nan")
    diff = y_true.astype(np.float64) - y_pred.astype(np.float64)
    return float(np.dot(diff, diff) / diff.size)


def r2_score(y_true, y_pred) -> float:
    """Coefficient of determination, 1 - SS_res / SS_tot.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n,)

    Returns
    -------
    float
        1.0 for a perfect fit; for constant ``y_true`` 1.0 if the fit is perfect else 0.0
        (as scikit-learn's ``force_finite``); NaN for n < 2.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if y_true.size < 2:
        return float("nan")
    t = y_true.astype(np.float64)
    res = t - y_pred.astype(np.float64)
    dev = t - t.mean()
    ss_res = float(np.dot(res, res))
    ss_tot = float(np.dot(dev, dev))
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


# ----------------------------------------------------------------------------- ROC


def roc_curve(is_positive, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The receiver operating characteristic of one score against a two-class truth.

    The same points as scikit-learn's ``roc_curve`` (with ``drop_intermediate=True``): one
    point per distinct score, collinear points dropped, and a first point (0, 0) at an
    infinite threshold.

    Parameters
    ----------
    is_positive : array_like of bool, shape (n,)
        True for the rows of the positive class.
    scores : array_like, shape (n,)
        Higher means "more likely positive" (a probability, a decision value).

    Returns
    -------
    fpr, tpr : ndarray, shape (m,)
        False and true positive rates, both rising from 0 to 1.
    thresholds : ndarray, shape (m,)
        A row is called positive when its score is >= the threshold; ``thresholds[0]`` is inf.

    Raises
    ------
    ValueError
        Only one class is present (a rate would divide by zero), or the shapes differ.
    """
    truth = np.asarray(is_positive).reshape(-1).astype(bool)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if truth.shape != s.shape:
        raise ValueError(f"{truth.size} truth values but {s.size} scores")
    n_pos = int(np.count_nonzero(truth))
    if n_pos == 0 or n_pos == truth.size:
        raise ValueError("ROC needs rows of both the positive and the other classes")
    order = np.argsort(s, kind="mergesort")[::-1]
    s, truth = s[order], truth[order]
    # the last row of every run of equal scores: one threshold per distinct score
    ends = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tps = np.cumsum(truth)[ends].astype(np.float64)
    fps = 1.0 + ends - tps
    thresholds = s[ends]
    if len(fps) > 2:
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    tps = np.r_[0.0, tps]
    fps = np.r_[0.0, fps]
    thresholds = np.r_[np.inf, thresholds]
    return fps / fps[-1], tps / tps[-1], thresholds


def roc_auc(is_positive, scores) -> float:
    """Area under the ROC curve (trapezoids), as scikit-learn's binary ``roc_auc_score``.

    Parameters
    ----------
    is_positive : array_like of bool, shape (n,)
    scores : array_like, shape (n,)

    Returns
    -------
    float
        1.0 when every positive row scores above every other row, 0.5 for scores that do
        not tell the classes apart; ties count half.
    """
    fpr, tpr, _ = roc_curve(is_positive, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2.0)


def roc_report(y_true, class_scores, class_names=()) -> dict | None:
    """ROC curves and AUCs of a classifier, ready for ``result.json``.

    Two classes: one curve, class 1 against class 0 with the score of class 1.
    More: one curve per class against the rest (one-vs-rest), and their unweighted mean
    AUC (``macro_auc``, as scikit-learn's ``roc_auc_score(..., multi_class="ovr")``). A class
    without rows, or one that holds every row, has no curve (``null``) and is left out of
    the mean.

    Parameters
    ----------
    y_true : array_like of int, shape (n,)
        Class indices 0..C-1.
    class_scores : array_like, shape (n, C)
        A score per row and class, higher for the more likely class (probabilities, or
        decision values of the same scale).
    class_names : sequence of str, optional
        C names, kept beside the curves.

    Returns
    -------
    dict or None
        ``kind`` (``"binary"`` or ``"one-vs-rest"``), ``classes`` (the names), ``curves``
        (a list of ``{"class", "fpr", "tpr", "thresholds", "auc"}`` or ``None``), ``auc``
        (binary: the one AUC; more: the macro average) and ``macro_auc``; None when there
        are no rows or fewer than two classes.
    """
    y = np.asarray(y_true).reshape(-1).astype(np.int64)
    S = np.asarray(class_scores, dtype=np.float64)
    if S.ndim != 2 or S.shape[0] != y.size:
        raise ValueError(f"class_scores must be (n, C) with n = {y.size}, got {S.shape}")
    C = S.shape[1]
    if y.size == 0 or C < 2:
        return None
    names = [str(n) for n in class_names][:C] + [f"class {i}" for i in range(len(class_names), C)]
    targets = [1] if C == 2 else list(range(C))
    curves = []
    for c in targets:
        positive = y == c
        if not np.isfinite(S[:, c]).all() or positive.all() or not positive.any():
            curves.append(None)
            continue
        fpr, tpr, thr = roc_curve(positive, S[:, c])
        area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2.0)
        curves.append({"class": names[c], "fpr": fpr.tolist(), "tpr": tpr.tolist(),
                       "thresholds": [None if not np.isfinite(t) else float(t) for t in thr], "auc": area})
    aucs = [cv["auc"] for cv in curves if cv is not None]
    macro = float(np.mean(aucs)) if aucs else None
    return {"kind": "binary" if C == 2 else "one-vs-rest", "classes": names, "curves": curves,
            "auc": macro, "macro_auc": macro}
