"""ROC curves and AUC against scikit-learn, and in result.json."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from engine.estimators import read_model, svm_class_scores
from engine.metrics import roc_auc, roc_curve, roc_report
from engine.runner import main
from engine.spec import load_spec


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_curve_and_auc_equal_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    y = rng.random(300) < 0.4
    # rounded scores: many ties, which both must count the same way
    s = np.round(rng.normal(size=300) + 0.8 * y, 1)
    fpr, tpr, thr = roc_curve(y, s)
    ref_fpr, ref_tpr, ref_thr = sk_roc_curve(y, s)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    np.testing.assert_allclose(thr[1:], ref_thr[1:])
    assert thr[0] == np.inf
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_closed_forms():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.4, 0.3, 0.2, 0.1]) == 0.0
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    with pytest.raises(ValueError, match="both"):
        roc_curve([1, 1], [0.1, 0.2])


def test_one_vs_rest_macro_auc_equals_scikit_learns():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 4, 200)
    z = rng.normal(size=(200, 4)) + 1.5 * np.eye(4)[y]
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    rep = roc_report(y, p, ["a", "b", "c", "d"])
    assert rep["kind"] == "one-vs-rest" and len(rep["curves"]) == 4
    assert rep["macro_auc"] == pytest.approx(roc_auc_score(y, p, multi_class="ovr", average="macro"), abs=1e-12)
    for c in range(4):
        assert rep["curves"][c]["auc"] == pytest.approx(roc_auc_score(y == c, p[:, c]), abs=1e-12)
    two = roc_report(y % 2, p[:, :2] / p[:, :2].sum(axis=1, keepdims=True))
    assert two["kind"] == "binary" and len(two["curves"]) == 1
    assert two["auc"] == pytest.approx(roc_auc_score(y % 2, p[:, 1] / p[:, :2].sum(axis=1)), abs=1e-12)


def test_svm_class_scores_follow_scikit_learns_ovr_shape():
    from sklearn.svm import SVC

    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2)) + np.repeat(np.array([[0, 0], [3, 0], [0, 3]]), 30, axis=0)
    y = np.repeat([0, 1, 2], 30)
    ref = SVC(kernel="linear", C=1.0).fit(X, y)
    ovo = SVC(kernel="linear", C=1.0, decision_function_shape="ovo").fit(X, y)
    # the same sign as libsvm's: positive favours the pair's first class
    ours = svm_class_scores(ovo.decision_function(X), 3)
    np.testing.assert_allclose(ours, ref.decision_function(X), atol=1e-9)


@pytest.mark.parametrize("model,n_classes", [({"kind": "logistic"}, 3), ({"kind": "svm", "kernel": "linear"}, 2),
                                             ({"kind": "perceptron"}, 2)])
def test_result_json_holds_the_roc_of_the_test_part(tmp_path, model, n_classes):
    spec = {"dataset": {"kind": "blobs", "n_samples": 150, "noise": 0.8, "seed": 2, "n_classes": n_classes,
                        "test_fraction": 0.4},
            "model": model, "train": {"epochs": 20, "batch_size": 16, "optimizer": "sgd" if model["kind"] == "perceptron"
                                      else "adam", "learning_rate": 0.05}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == 0
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    roc = result["roc"]
    assert result["roc_on"] == "test"
    from engine.data import load_dataset

    ds = load_dataset(load_spec(str(path)))
    _, fitted = read_model(str(tmp_path / "run" / "model.npz"))
    scores = fitted.class_scores(fitted.preprocess(np.asarray(ds.X_test)))
    if n_classes == 2:
        assert roc["kind"] == "binary"
        assert roc["auc"] == pytest.approx(roc_auc_score(ds.y_test, scores[:, 1]), abs=1e-9)
        assert roc["auc"] > 0.8  # the sign is right: the positive class scores higher
    else:
        assert roc["kind"] == "one-vs-rest"
        assert roc["macro_auc"] == pytest.approx(roc_auc_score(ds.y_test, scores, multi_class="ovr"), abs=1e-9)
    curve = roc["curves"][-1]
    assert curve["fpr"][0] == 0 and curve["tpr"][-1] == 1 and curve["thresholds"][0] is None
