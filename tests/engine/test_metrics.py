"""Metrics against scikit-learn on random labels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from engine.metrics import accuracy, classification_report, confusion_matrix, mean_squared_error, r2_score


@pytest.mark.parametrize("seed, n_classes, n", [(0, 2, 50), (1, 3, 200), (2, 8, 37), (3, 5, 5)])
def test_classification_metrics_match_scikit_learn(seed, n_classes, n):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, n_classes, n)
    # Mostly right, some wrong, and possibly classes never predicted (zero division).
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, n_classes, n))
    labels = list(range(n_classes))

    assert accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    cm = confusion_matrix(y_true, y_pred, n_classes)
    assert cm.dtype == np.int64 and cm.shape == (n_classes, n_classes)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y_true, y_pred, labels=labels))

    report = classification_report(y_true, y_pred, n_classes)
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    np.testing.assert_allclose(report["precision"], p)
    np.testing.assert_allclose(report["recall"], r)
    np.testing.assert_allclose(report["f1"], f)
    assert report["support"] == s.tolist()
    # macro averages over the classes that have samples
    present = sorted(set(y_true.tolist()))
    assert report["classes_present"] == len(present)
    assert report["macro_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, labels=present, average="macro",
                                                            zero_division=0))
    assert report["weighted_f1"] == pytest.approx(
        skm.f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)
    )
    assert report["macro_precision"] == pytest.approx(p[present].mean())
    assert report["macro_recall"] == pytest.approx(r[present].mean())
    assert report["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert report["confusion"] == cm.tolist()


def test_zero_division_gives_zero():
    # Class 2 is never predicted and has no samples; class 1 is predicted but absent.
    report = classification_report([0, 0, 0], [0, 1, 1], 3)
    assert report["precision"] == [1.0, 0.0, 0.0]
    assert report["recall"] == [pytest.approx(1 / 3), 0.0, 0.0]
    assert report["f1"] == [pytest.approx(0.5), 0.0, 0.0]
    assert report["support"] == [3, 0, 0]
    # only class 0 has samples: the averages are its scores, not dragged down by the absent ones
    assert report["classes_present"] == 1
    assert report["macro_f1"] == pytest.approx(0.5) and report["macro_recall"] == pytest.approx(1 / 3)


def test_a_class_without_samples_reads_as_missing_and_is_left_out_of_the_average():
    """100 % accuracy on a test set without class 2: macro F1 is 1, not 0.67."""
    from engine.metrics import MISSING, format_class_score

    report = classification_report([0, 1, 1, 0], [0, 1, 1, 0], 3)
    assert report["accuracy"] == 1.0 and report["macro_f1"] == 1.0
    assert skm.f1_score([0, 1, 1, 0], [0, 1, 1, 0], labels=[0, 1], average="macro") == 1.0
    assert [format_class_score(report["f1"][i], report["support"][i]) for i in range(3)] == ["1.00", "1.00", MISSING]
    assert math.isnan(classification_report([], [], 2)["macro_f1"])


@pytest.mark.parametrize("values, want", [
    ((0.0, 1.37e-07), ["0.00e+00", "1.37e-07"]),
    ((0.4567, 0.01234), ["0.4567", "0.0123"]),
    ((1.37, 0.052), ["1.370", "0.052"]),
    ((0.0, 0.25), ["0.0000", "0.2500"]),
    ((None, 0.5), ["—", "0.5000"]),
    ((float("nan"), 2e-5), ["—", "2.00e-05"]),
    ((123456.0, 2.0), ["1.23e+05", "2.00e+00"]),
])
def test_losses_side_by_side_share_one_notation(values, want):
    from engine.metrics import format_metrics

    assert format_metrics(values) == want


def test_report_is_json_ready():
    import json

    report = classification_report(np.array([0, 1, 1]), np.array([0, 1, 0]), 2)
    assert json.loads(json.dumps(report)) == report


def test_confusion_matrix_rejects_bad_labels():
    with pytest.raises(ValueError, match="0..1"):
        confusion_matrix([0, 2], [0, 1], 2)
    with pytest.raises(ValueError, match="y_pred"):
        confusion_matrix([0, 1], [0, -1], 2)
    with pytest.raises(ValueError, match="values"):
        confusion_matrix([0, 1, 1], [0, 1], 2)


def test_empty_inputs():
    assert math.isnan(accuracy([], []))
    assert confusion_matrix([], [], 3).tolist() == [[0] * 3] * 3
    assert math.isnan(mean_squared_error([], []))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regression_metrics_match_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.normal(size=100)
    y_pred = y_true + rng.normal(scale=0.5, size=100)
    assert mean_squared_error(y_true, y_pred) == pytest.approx(skm.mean_squared_error(y_true, y_pred))
    assert r2_score(y_true, y_pred) == pytest.approx(skm.r2_score(y_true, y_pred))
    assert r2_score(y_true, y_true) == 1.0
    bad = rng.normal(size=100) * 3
    assert r2_score(y_true, bad) == pytest.approx(skm.r2_score(y_true, bad))
    assert r2_score(y_true, bad) < 0


def test_r2_constant_target():
    assert r2_score([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]) == skm.r2_score([2.0, 2.0, 2.0], [2.0, 2.0, 2.0])
    assert r2_score([2.0, 2.0, 2.0], [1.0, 2.0, 2.0]) == skm.r2_score([2.0, 2.0, 2.0], [1.0, 2.0, 2.0])
