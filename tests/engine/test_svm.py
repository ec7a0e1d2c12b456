"""The SVM against scikit-learn's SVC (libsvm), its one-vs-one vote, its model file and its CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from engine.datasets import make_preset
from engine.estimators import MODEL_REGISTRY, SvmFitter, model_kind, read_model
from engine.spec import RunSpec, SpecError
from engine.svm import Kernel, KernelRowCache, OneVsOneFit, SvmSettings, class_pairs, ovo_votes, smo_binary
from tests.conftest import ROOT

from sklearn import datasets as skdata
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def sklearn_dual_objective(clf: SVC, kernel: Kernel) -> float:
    """Sum over the pairs of ``sum|y a| - 1/2 (y a)' K (y a)`` from SVC's public arrays."""
    starts = np.concatenate([[0], np.cumsum(clf.n_support_)])
    sv = clf.support_vectors_
    total = 0.0
    for a, b in class_pairs(len(clf.classes_)):
        ia, ib = np.arange(starts[a], starts[a + 1]), np.arange(starts[b], starts[b + 1])
        coef = np.concatenate([clf.dual_coef_[b - 1, ia], clf.dual_coef_[a, ib]])
        rows = sv[np.concatenate([ia, ib])]
        total += np.abs(coef).sum() - 0.5 * coef @ kernel.block(rows, rows) @ coef
    return float(total)


def _moons():
    X, y = make_preset("moons", 400, 0.25, 4)
    return X, y


CASES = {
    "iris": lambda: skdata.load_iris(return_X_y=True),
    "wine": lambda: skdata.load_wine(return_X_y=True),
    "breast_cancer": lambda: skdata.load_breast_cancer(return_X_y=True),
    "digits": lambda: skdata.load_digits(return_X_y=True),
    "moons": _moons,
}


AGREEMENT = [(name, "rbf", C, "scale") for name in CASES for C in (1.0, 100.0)] + [
    (name, "linear", 0.5, "scale") for name in ("iris", "wine", "breast_cancer", "moons")] + [
    ("wine", "poly", 1.0, "scale"), ("iris", "sigmoid", 1.0, 0.05), ("moons", "rbf", 10.0, 8.0)]


@pytest.mark.parametrize("name, kernel, C, gamma", AGREEMENT)
def test_agrees_with_libsvm(name, kernel, C, gamma):
    X, y = CASES[name]()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    k = len(np.unique(y))
    fit = OneVsOneFit(X_train, y_train, k, SvmSettings(kernel=kernel, C=C, gamma=gamma, tol=1e-3))
    for _ in fit.run():
        pass
    ref = SVC(kernel=kernel, C=C, gamma=gamma, tol=1e-3).fit(X_train, y_train)
    ours_acc = np.mean(fit.model.predict(X_test) == y_test)
    assert abs(ours_acc - ref.score(X_test, y_test)) <= 0.01
    n_ours, n_ref = int(fit.model.n_support.sum()), int(ref.n_support_.sum())
    assert abs(n_ours - n_ref) <= max(1, 0.02 * n_ref), (n_ours, n_ref)
    assert fit.kernel.gamma == pytest.approx(ref._gamma, rel=1e-12)
    ref_obj = sklearn_dual_objective(ref, fit.kernel)
    assert sum(fit.objectives) == pytest.approx(ref_obj, rel=1e-3)
    # The decision values are libsvm's too (same sign convention for several classes).
    if k > 2:
        ref_dec = SVC(kernel=kernel, C=C, gamma=gamma, decision_function_shape="ovo").fit(X_train, y_train)
        np.testing.assert_allclose(fit.model.decision_values(X_test), ref_dec.decision_function(X_test),
                                   atol=0.02 * max(1.0, np.abs(ref_dec.decision_function(X_test)).max()))
    assert fit.converged


def test_binary_dual_solution_satisfies_the_kkt_conditions():
    X, y = make_preset("circle", 300, 0.3, 2)
    fit = OneVsOneFit(X, y, 2, SvmSettings(C=3.0, gamma=0.7, tol=1e-5))
    for _ in fit.run():
        pass
    m = fit.model
    # Rebuild alpha for every training row from the model and check y'a = 0, bounds, margins.
    K = fit.kernel.block(X, X)
    coef = np.zeros(len(y))
    starts = np.concatenate([[0], np.cumsum(m.n_support)])
    for c in range(2):
        rows = np.flatnonzero(y == c)
        sv_rows = [r for r in rows if any(np.array_equal(X[r], v) for v in m.support_vectors[starts[c]:starts[c + 1]])]
        coef[sv_rows] = m.dual_coef[0, starts[c]:starts[c + 1]]
    yy = np.where(y == 0, 1.0, -1.0)  # class 0 is +1 (libsvm's first class)
    alpha = coef * yy
    assert abs(alpha @ yy) < 1e-9
    assert np.all(alpha >= 0) and np.all(alpha <= 3.0 + 1e-12)
    f = K @ coef + m.intercept[0]
    margin = yy * f
    free = (alpha > 1e-8) & (alpha < 3.0 - 1e-8)
    assert free.any()
    np.testing.assert_allclose(margin[free], 1.0, atol=1e-4)
    assert np.all(margin[alpha < 1e-12] >= 1.0 - 1e-4)
    assert np.all(margin[alpha > 3.0 - 1e-12] <= 1.0 + 1e-4)
    # The objective the solver reports is e'a - 1/2 a'Qa.
    # (kernel rows are cached in float32, as libsvm's: agreement to about 1e-7)
    assert sum(fit.objectives) == pytest.approx(alpha.sum() - 0.5 * coef @ K @ coef, rel=1e-6)


@pytest.mark.parametrize("kind", ["linear", "poly", "sigmoid", "rbf"])
def test_kernel_rows_match_closed_forms(kind):
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(5, 3)), rng.normal(size=(7, 3))
    k = Kernel(kind, gamma=0.3, degree=3, coef0=0.5)
    dot = A @ B.T
    expected = {"linear": dot, "poly": (0.3 * dot + 0.5) ** 3, "sigmoid": np.tanh(0.3 * dot + 0.5),
                "rbf": np.exp(-0.3 * ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1))}[kind]
    np.testing.assert_allclose(k.block(A, B), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(k.diagonal(A), np.diag(expected if kind != "rbf" else np.ones((5, 5))) if kind == "rbf"
                               else np.diag(k.block(A, A)), rtol=1e-12)
    sq = np.einsum("ij,ij->i", A, A)
    np.testing.assert_allclose(k.rows32(A[:2], sq[:2], B, np.einsum("ij,ij->i", B, B)), expected[:2], rtol=1e-6,
                               atol=1e-6)


def test_a_small_cache_evicts_but_solves_the_same_problem():
    X, y = make_preset("spiral", 300, 0.1, 5)
    yy = np.where(y == 0, 1.0, -1.0)
    k = Kernel("rbf", gamma=2.0)
    big = _solve(smo_binary(k, X, yy, 10.0, 1e-3, -1, 10**8))
    # 3 rows of 300 fit: the cache evicts all the time.
    cache = KernelRowCache(k, X, 0, 300, 3 * 4 * 300)
    assert cache.n_slots == 3 and not cache.full
    small = _solve(smo_binary(k, X, yy, 10.0, 1e-3, -1, 3 * 4 * 300))
    assert small.iterations == big.iterations
    np.testing.assert_allclose(small.alpha, big.alpha, atol=1e-9)


def _solve(gen):
    while True:
        try:
            next(gen)
        except StopIteration as fin:
            return fin.value


def test_shrinking_reaches_the_same_solution():
    X, y = make_preset("spiral", 1500, 0.3, 3)
    yy = np.where(y == 0, 1.0, -1.0)
    k = Kernel("rbf", gamma=1.5)
    full = _solve(smo_binary(k, X, yy, 50.0, 1e-3, -1, 10**8, shrinking=False))
    shrunk = _solve(smo_binary(k, X, yy, 50.0, 1e-3, -1, 10**8, shrinking=True))
    assert full.iterations > 1500 and full.most_shrunk == 0
    assert shrunk.most_shrunk > 300  # rows really left the selection
    assert full.converged and shrunk.converged and shrunk.violation < 1e-3
    assert shrunk.objective == pytest.approx(full.objective, rel=1e-4)
    ref = SVC(C=50.0, gamma=1.5, shrinking=True).fit(X, y)
    assert shrunk.objective == pytest.approx(sklearn_dual_objective(ref, k), rel=1e-3)
    assert abs(int(np.sum(shrunk.alpha > 0)) - int(ref.n_support_.sum())) <= 0.02 * ref.n_support_.sum()


def test_stop_ends_a_pair_at_the_next_thousand_iterations_also_without_reports():
    X, y = make_preset("spiral", 1500, 0.3, 3)
    yy = np.where(y == 0, 1.0, -1.0)
    asked = []

    def stop():
        asked.append(1)
        return True

    result = _solve(smo_binary(Kernel("rbf", gamma=1.5), X, yy, 50.0, 1e-3, -1, 10**8, stop=stop))
    assert result.stopped and not result.converged and result.iterations == 1000 and len(asked) == 1
    # the multipliers so far are still feasible: y'a = 0 and 0 <= a <= C
    assert abs(result.alpha @ yy) < 1e-9 and result.alpha.min() >= 0 and result.alpha.max() <= 50.0


def test_one_vs_one_vote_breaks_ties_toward_the_lowest_class():
    # 3 classes, pairs (0,1), (0,2), (1,2): each class wins once -> a 1-1-1 tie -> class 0.
    dec = np.array([[1.0, -1.0, 1.0],   # 0 beats 1, 2 beats 0, 1 beats 2: tie
                    [-1.0, -1.0, -1.0],  # 1 beats 0, 2 beats 0, 2 beats 1: class 2
                    [-1.0, 1.0, 1.0],   # 1 beats 0, 0 beats 2, 1 beats 2: class 1
                    [0.0, 0.0, 0.0]])   # a zero votes for the second class: 1, 2, 2 -> class 2
    votes = ovo_votes(dec, 3)
    np.testing.assert_array_equal(votes, [[1, 1, 1], [0, 1, 2], [1, 2, 0], [0, 1, 2]])
    np.testing.assert_array_equal(np.argmax(votes, axis=1), [0, 2, 1, 2])
    # 4 classes with a 2-2 tie between classes 1 and 3 (pairs 01 02 03 12 13 23)
    dec4 = np.array([[-1.0, 1.0, -1.0, 1.0, -1.0, 1.0]])
    v4 = ovo_votes(dec4, 4)
    np.testing.assert_array_equal(v4, [[1, 2, 1, 2]])
    assert int(np.argmax(v4, axis=1)[0]) == 1


def test_multiclass_vote_predicts_as_libsvm_on_every_digit():
    X, y = skdata.load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)[::3]
    y = y[::3]
    fit = OneVsOneFit(X, y, 10, SvmSettings(C=0.3, gamma="scale"))
    for _ in fit.run():
        pass
    ref = SVC(C=0.3, gamma="scale").fit(X, y)
    dec = fit.model.decision_values(X)
    assert dec.shape == (len(X), 45)
    ours = fit.model.predict(X)
    # Where the vote is not a tie libsvm and we must agree; ties go to the lowest class.
    votes = fit.model.votes(X)
    top = np.sort(votes, axis=1)[:, -2:]
    clear = top[:, 1] > top[:, 0]
    assert np.mean(ours[clear] == ref.predict(X)[clear]) >= 0.995
    ties = ~clear
    if ties.any():
        np.testing.assert_array_equal(ours[ties], np.argmax(votes[ties], axis=1))


# ----------------------------------------------------------------------------- registry, spec, CLI


def test_registry_gives_every_kind_the_same_verbs():
    assert {"mlp", "logistic", "perceptron", "svm"} <= set(MODEL_REGISTRY)
    for kind in MODEL_REGISTRY.values():
        for verb in ("fitter", "save", "load", "describe", "result_fields"):
            assert callable(getattr(kind, verb))
        assert kind.output in ("label", "assignment")
    assert model_kind("svm").family == "kernel"
    with pytest.raises(SpecError, match="model.kind"):
        model_kind("kmeans-not-yet")


def test_svm_spec_round_trips_and_keeps_its_fields_apart():
    spec = RunSpec.from_dict({"model": {"kind": "svm", "kernel": "poly", "C": 100, "gamma": 8, "degree": 2,
                                        "coef0": 1.5, "tol": 1e-4, "max_iter": 500, "cache_mb": 50}})
    again = RunSpec.from_dict(json.loads(spec.to_json()))
    assert again == spec
    assert spec.model.to_dict() == {"kind": "svm", "kernel": "poly", "C": 100.0, "gamma": 8.0, "degree": 2,
                                    "coef0": 1.5, "tol": 1e-4, "max_iter": 500, "cache_mb": 50.0,
                                    "shrinking": True}
    assert RunSpec.from_dict({"model": {"kind": "svm", "gamma": "auto"}}).model.gamma == "auto"
    # network fields stay with networks, SVM fields with SVMs
    assert "C" not in RunSpec.from_dict({"model": {"kind": "mlp"}}).model.to_dict()


@pytest.mark.parametrize("model, field, words", [
    ({"C": 0}, "model.C", "out of range"),
    ({"C": -1}, "model.C", "out of range"),
    ({"gamma": 0}, "model.gamma", "out of range"),
    ({"gamma": "big"}, "model.gamma", "'scale', 'auto' or a number"),
    ({"kernel": "cosine"}, "model.kernel", "not one of rbf, linear, poly, sigmoid"),
    ({"tol": 0}, "model.tol", "out of range"),
    ({"max_iter": 0}, "model.max_iter", "-1 for no limit"),
    ({"shrinking": "yes"}, "model.shrinking", "expected true or false"),
    ({"hidden": [4]}, "model.hidden", "not a field of model 'svm'"),
])
def test_bad_svm_fields_name_the_field(model, field, words):
    with pytest.raises(SpecError) as info:
        RunSpec.from_dict({"model": {"kind": "svm", **model}})
    assert info.value.field == field and words in info.value.message


def _cli(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("patch, words", [
    ({"model": {"kind": "svm", "C": 0}}, "model.C"),
    ({"model": {"kind": "svm", "kernel": "cosine"}}, "model.kernel"),
    ({"model": {"kind": "svm", "gamma": -2}}, "model.gamma"),
    ({"model": {"kind": "svm", "cache_mb": 2.0**29}}, "model.cache_mb: 5.36871e+08 MB is more than this machine's memory"),
    ({"dataset": {"kind": "plane", "n_samples": 50}, "model": {"kind": "svm"}}, "'svm' is a classifier"),
    ({"dataset": {"kind": "points", "points": [[0, 0, 1], [1, 1, 1], [2, 2, 1]]}, "model": {"kind": "svm"}},
     "only one class"),
    ({"dataset": {"kind": "csv", "path": "reg.csv"}, "model": {"kind": "svm"}}, "regression target"),
])
@pytest.mark.parametrize("command", ["train", "validate"])
def test_bad_svm_runs_are_one_line_and_exit_2(tmp_path, patch, words, command):
    (tmp_path / "reg.csv").write_text("a,b,t\n" + "".join(f"{i},{i * 2},{i * 0.37}\n" for i in range(30)))
    spec = {"dataset": {"kind": "moons", "n_samples": 60, "seed": 1}, "model": {"kind": "svm"}}
    spec.update(patch)
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    args = [command, str(path)] + (["--out", str(tmp_path / "run")] if command == "train" else [])
    proc = _cli(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], proc.stderr
    assert not (tmp_path / "run" / "model.npz").exists()


def test_train_writes_svm_metrics_result_and_a_model_predict_reads(tmp_path):
    spec = {"dataset": {"kind": "libsvm", "path": os.path.join(ROOT, "resources", "data", "wine.svm"),
                        "test_fraction": 0.25, "seed": 3, "standardize": True},
            "model": {"kind": "svm", "C": 10, "gamma": "scale"}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    proc = _cli("train", str(path), "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["pair"] for r in records[:3]] == [1, 2, 3]
    for r in records:
        assert {"iteration", "dual_objective", "n_support", "max_violation", "elapsed_s", "ranks"} <= set(r)
    assert records[-1]["test_accuracy"] >= 0.9 and records[-1]["train_accuracy"] >= 0.95
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "completed" and result["ranks"] == 1
    assert len(result["n_support"]) == 3 and sum(result["n_support"]) == records[-1]["n_support"]
    assert result["iterations"] == records[-1]["iteration"] == sum(result["iterations_per_pair"])
    assert result["dual_objective"] == pytest.approx(sum(result["dual_objective_per_pair"]))

    # The same model in process, from the file, against scikit-learn on the same data
    spec_obj, fitted = read_model(tmp_path / "run" / "model.npz")
    assert spec_obj.model.kind == "svm" and fitted.class_names == ("0", "1", "2")
    from engine.data import load_dataset
    from engine.spec import load_spec

    ds = load_dataset(load_spec(path))
    F_train = fitted.preprocess(np.asarray(ds.X_train))
    ref = SVC(C=10, gamma="scale").fit(F_train, ds.y_train)
    assert int(fitted.model.n_support.sum()) == pytest.approx(int(ref.n_support_.sum()), abs=2)
    assert result["dual_objective"] == pytest.approx(sklearn_dual_objective(ref, fitted.model.kernel), rel=1e-3)

    # predict on a CSV of all the rows, labels included: one class name per row + accuracy
    from engine.loaders import read_libsvm, write_csv

    X, y = read_libsvm(os.path.join(ROOT, "resources", "data", "wine.svm"))
    write_csv(tmp_path / "all.csv", X, y, header=None)
    proc = _cli("predict", str(tmp_path / "run" / "model.npz"), str(tmp_path / "all.csv"))
    assert proc.returncode == 0, proc.stderr
    shown = proc.stdout.split()
    expected = fitted.predict(fitted.preprocess(X))
    assert shown == [fitted.class_names[i] for i in expected]
    acc = float(np.mean(expected == y.astype(int)))
    assert proc.stderr.strip() == f"accuracy {acc:.4f} on {len(y)} rows"

    # validate describes the SVM
    proc = _cli("validate", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "model: svm, rbf kernel, gamma 0.07692 ('scale'), C 10, 13 inputs" in proc.stdout
    assert "one-vs-one over 3 pair(s) of 3 classes" in proc.stdout


def test_a_damaged_svm_model_file_is_one_line(tmp_path):
    fit_spec = RunSpec.from_dict({"dataset": {"kind": "moons", "n_samples": 80}, "model": {"kind": "svm"}})
    fitter = SvmFitter(fit_spec)
    for _ in fitter.run():
        pass
    model_kind("svm").save(str(tmp_path / "model.npz"), fit_spec, fitter)
    with np.load(tmp_path / "model.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["intercept"] = arrays["intercept"][:0]
    np.savez(tmp_path / "bad.npz", **arrays)
    (tmp_path / "x.csv").write_text("1.0,2.0\n")
    proc = _cli("predict", str(tmp_path / "bad.npz"), str(tmp_path / "x.csv"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'bad.npz'} is damaged or incomplete: the support vectors, coefficients and "
        "intercepts do not fit together"]
