"""Real-world data and models: many classes, ties, label values, memory, damaged files, encodings."""

from __future__ import annotations

import json
import os
import tempfile
import tracemalloc

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.metrics import accuracy_score
from sklearn.utils.multiclass import type_of_target

from engine.data import labels_to_classes, load_dataset
from engine.loaders import read_csv
from engine.metrics import accuracy
from engine.model_io import load_model
from engine.spec import RunSpec, SpecError, load_spec
from engine.trainer import Trainer
from tests.engine.test_cli import assert_one_line_error, engine, write_spec


def blobs_csv(path, n_classes, n_per_class=12, d=4, first_label=0, seed=0, sep=","):
    """Well separated Gaussian blobs, one per class, labels ``first_label ..``."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 10, size=(n_classes, d))
    X = np.repeat(centers, n_per_class, axis=0) + rng.normal(0, 0.3, size=(n_classes * n_per_class, d))
    y = np.repeat(np.arange(n_classes), n_per_class) + first_label
    header = sep.join([f"f{i}" for i in range(d)] + ["label"])
    lines = [sep.join([f"{v:.6f}" for v in row] + [str(c)]) for row, c in zip(X, y)]
    path.write_text(header + "\n" + "\n".join(lines) + "\n")
    return X, y


# ----------------------------------------------------------------------------- many classes


@pytest.mark.parametrize("labels", [
    np.arange(10, dtype=float).repeat(3),
    np.arange(16, dtype=float) + 1,
    np.arange(100, dtype=float),
    np.array([0.0, 1.0, 1.0]),
    np.array([0.5, 1.0, 2.0]),
    np.array([1e6, 2e6, 3.0]),
    np.array([-3.0, 7.0, 7.0, 12.0]),
    np.linspace(0, 1, 50),
])
def test_auto_task_agrees_with_type_of_target(labels):
    task, y, names = labels_to_classes(labels, "auto")
    expected = type_of_target(labels)
    assert (task == "classification") == (expected in ("binary", "multiclass")), expected
    if task == "classification":
        assert len(names) == len(np.unique(labels))
        np.testing.assert_array_equal(np.unique(labels)[y], labels)


def test_digits_train_as_ten_classes_and_accuracy_matches_sklearn():
    X, y = load_digits(return_X_y=True)
    ds_spec = {"kind": "npz", "path": "digits.npz", "standardize": True, "test_fraction": 0.25}
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(os.path.join(tmp, "digits.npz"), X=X, y=y.astype(float))
        spec = RunSpec.from_dict({"dataset": ds_spec, "model": {"kind": "mlp", "hidden": [32]},
                                  "train": {"epochs": 15, "batch_size": 32, "learning_rate": 0.01}}, base_dir=tmp)
        trainer = Trainer(spec)
        ds = trainer.dataset
        assert ds.task == "classification" and ds.n_classes == 10
        assert ds.notes[0].startswith("task: classification with 10 classes, because the labels are whole numbers")
        records = list(trainer.run())
    pred = trainer.model.predict(trainer.preprocess(ds.X_test))
    assert records[-1]["test_accuracy"] == pytest.approx(accuracy_score(ds.y_test, pred), abs=1e-12)
    assert records[-1]["test_accuracy"] > 0.9


@pytest.mark.parametrize("n_classes", [10, 16, 100])
def test_cli_trains_validates_and_predicts_many_classes(tmp_path, n_classes):
    X, y = blobs_csv(tmp_path / "data.csv", n_classes, first_label=1)
    spec = {"dataset": {"kind": "csv", "path": "data.csv", "test_fraction": 0.25, "standardize": True,
                        "task": "classification" if n_classes == 16 else "auto"},
            "model": {"kind": "mlp", "hidden": [32]},
            "train": {"epochs": 40, "batch_size": 16, "learning_rate": 0.01}}
    spec_path = write_spec(tmp_path, spec)
    val = engine("validate", spec_path)
    assert val.returncode == 0, val.stderr
    assert f"{n_classes} classes" in val.stdout
    reason = ("as the spec says" if n_classes == 16 else "because the labels are whole numbers "
              "(scikit-learn's type_of_target: multiclass)")
    assert reason in val.stdout
    proc = engine("train", spec_path, "--out", tmp_path / "run")
    assert proc.returncode == 0, proc.stderr
    final = json.loads((tmp_path / "run" / "result.json").read_text())["final"]
    assert final["test_accuracy"] > 0.9
    _, _, net = load_model(tmp_path / "run" / "model.npz")
    assert net.n_classes == n_classes
    pred = engine("predict", tmp_path / "run" / "model.npz", tmp_path / "data.csv")
    assert pred.returncode == 0, pred.stderr
    shown = [int(v) for v in pred.stdout.split()]
    acc = float(pred.stderr.split()[1])
    assert acc == pytest.approx(accuracy_score(y, shown), abs=1e-4) and acc > 0.9


# ----------------------------------------------------------------------------- ties


def zero_weight_spec(tmp_path, n_classes=3):
    blobs_csv(tmp_path / "data.csv", n_classes, n_per_class=20, d=2)
    weights = [{"W": [[0.0] * n_classes] * 2, "b": [0.0] * n_classes}]
    return {"dataset": {"kind": "csv", "path": str(tmp_path / "data.csv"), "test_fraction": 0.3},
            "model": {"kind": "logistic"}, "weights": weights,
            "train": {"epochs": 2, "batch_size": 8, "optimizer": "sgd", "learning_rate": 1e-300}}


@pytest.mark.parametrize("n_classes", [2, 3])
def test_all_scores_tied_is_scored_as_predict_scores_it(tmp_path, n_classes):
    spec = RunSpec.from_dict(zero_weight_spec(tmp_path, n_classes))
    trainer = Trainer(spec)
    records = list(trainer.run())
    ds = trainer.dataset
    train_pred = trainer.model.predict(trainer.preprocess(ds.X_train))
    test_pred = trainer.model.predict(trainer.preprocess(ds.X_test))
    assert np.all(test_pred == 0)  # every score ties: argmax takes class 0
    assert records[-1]["test_accuracy"] == pytest.approx(accuracy_score(ds.y_test, test_pred))
    assert records[-1]["train_accuracy"] == pytest.approx(accuracy_score(ds.y_train, train_pred))
    assert records[-1]["train_accuracy"] < 0.6
    full = trainer.evaluate()
    assert full["train_accuracy"] == pytest.approx(accuracy(ds.y_train, train_pred))
    # the confusion matrix and per-class scores of the same predictions, as scikit-learn has them
    from sklearn.metrics import confusion_matrix as sk_confusion
    from sklearn.metrics import precision_recall_fscore_support

    from engine.metrics import classification_report

    report = classification_report(ds.y_test, test_pred, n_classes)
    labels = list(range(n_classes))
    np.testing.assert_array_equal(report["confusion"], sk_confusion(ds.y_test, test_pred, labels=labels))
    p, r, f, _ = precision_recall_fscore_support(ds.y_test, test_pred, labels=labels, zero_division=0)
    np.testing.assert_allclose([report["precision"], report["recall"], report["f1"]], [p, r, f])
    assert report["accuracy"] == pytest.approx(records[-1]["test_accuracy"])


def test_binary_perceptron_zero_score_is_class_zero_as_predict_says():
    spec = RunSpec.from_dict({"dataset": {"kind": "points", "points": [[0, 0, 0], [1, 1, 1], [2, 2, 0], [3, 3, 1]],
                                          "test_fraction": 0},
                              "model": {"kind": "perceptron"}, "weights": [{"W": [[0.0], [0.0]], "b": [0.0]}],
                              "train": {"epochs": 1, "batch_size": 4, "learning_rate": 1e-300}})
    trainer = Trainer(spec)
    rec = trainer.evaluate()
    pred = trainer.model.predict(trainer.preprocess(trainer.dataset.X_train))
    assert rec["train_accuracy"] == pytest.approx(accuracy_score(trainer.dataset.y_train, pred)) == 0.5


# ----------------------------------------------------------------------------- predict with label values


def test_predict_maps_labels_through_the_class_names(tmp_path):
    X, y = load_iris(return_X_y=True)
    lines = ["a,b,c,d,label"] + [",".join(f"{v:g}" for v in row) + f",{c + 1}" for row, c in zip(X, y)]
    (tmp_path / "iris.csv").write_text("\n".join(lines) + "\n")
    spec = {"dataset": {"kind": "csv", "path": "iris.csv", "standardize": True, "test_fraction": 0},
            "model": {"kind": "logistic"}, "train": {"epochs": 60, "batch_size": 8, "learning_rate": 0.05}}
    proc = engine("train", write_spec(tmp_path, spec), "--out", tmp_path / "run")
    assert proc.returncode == 0, proc.stderr
    train_acc = json.loads((tmp_path / "run" / "result.json").read_text())["final"]["train_accuracy"]
    pred = engine("predict", tmp_path / "run" / "model.npz", tmp_path / "iris.csv")
    assert pred.returncode == 0, pred.stderr
    shown = np.array([int(v) for v in pred.stdout.split()])
    assert set(shown) <= {1, 2, 3}
    acc = float(pred.stderr.split()[1])
    assert acc == pytest.approx(accuracy_score(y + 1, shown), abs=1e-4)
    assert acc > 0.85 and abs(acc - train_acc) < 0.1


def test_predict_counts_labels_the_model_does_not_know(tmp_path):
    proc = engine("train", write_spec(tmp_path, {"dataset": {"kind": "xor", "n_samples": 60},
                                                 "train": {"epochs": 1}}), "--out", tmp_path / "run")
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "p.csv").write_text("x1,x2,label\n1,1,7\n-1,1,0\n")
    pred = engine("predict", tmp_path / "run" / "model.npz", tmp_path / "p.csv")
    assert pred.returncode == 0, pred.stderr
    assert "1 rows have labels that are not among the model's classes" in pred.stderr


# ----------------------------------------------------------------------------- memory


@pytest.mark.parametrize("hidden, activation, batch, optimizer, dropout", [
    ([256, 128], "tanh", 4500, "adam", 0.0),    # one full batch: activations dominate
    ([64, 64], "relu", 10, "sgd", 0.0),         # 450 small batches: step plans dominate
    ([512], "tanh", 1000, "momentum", 0.2),     # dropout masks, a smaller last batch
])
def test_memory_estimate_matches_the_real_allocation_within_15_percent(tmp_path, hidden, activation, batch,
                                                                      optimizer, dropout):
    from engine.memory import estimate_run_memory

    rng = np.random.default_rng(0)
    X = rng.normal(size=(6000, 20))
    y = (X[:, 0] > 0).astype(float) + (X[:, 1] > 0)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    spec = RunSpec.from_dict({"dataset": {"kind": "npz", "path": "d.npz", "test_fraction": 0.25},
                              "model": {"kind": "mlp", "hidden": hidden, "activation": activation},
                              "train": {"epochs": 1, "batch_size": batch, "optimizer": optimizer,
                                        "dropout": dropout}},
                             base_dir=str(tmp_path))
    ds = load_dataset(spec)
    tracemalloc.start()
    try:
        trainer = Trainer(spec, ds)
        trainer.train_epoch()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    estimate = estimate_run_memory(spec, ds, 20)
    data_bytes = sum(a.nbytes for a in (ds.X_train, ds.X_test, ds.y_train, ds.y_test))
    assert estimate.data == data_bytes
    # tracemalloc sees what the trainer allocated on top of the loaded data set.
    real = peak + data_bytes
    assert estimate.total == pytest.approx(real, rel=0.15), (estimate, real)


def test_memory_check_refuses_with_one_line_naming_estimate_and_available():
    from engine.memory import MemoryEstimate, check_memory, estimate_memory

    est = estimate_memory(7_000_000, 3_000_000, 2, 2, (4096,), 2, batch_size=10_000_000)
    assert est.batch_buffers > 100 * 2**30  # 7M rows x 4096 float32 activations alone are 107 GiB
    with pytest.raises(SpecError) as info:
        check_memory(est, available=16 * 2**30, source="MemAvailable in /proc/meminfo")
    text = str(info.value)
    assert "\n" not in text and "GiB" in text and "16.0 GiB is available (MemAvailable" in text
    deep = estimate_memory(1000, 0, 10, 10, (4096,) * 32, 2, batch_size=32, optimizer="adam")
    assert deep.optimizer == 2 * 4 * (10 * 4096 + 31 * 4096 * 4096 + 4096 * 2 + 32 * 4096 + 2)
    check_memory(MemoryEstimate(1, 1, 1, 1, 1, 1, 1), available=10)


def test_cli_validate_refuses_a_run_that_cannot_fit(tmp_path):
    spec = {"dataset": {"kind": "gauss", "n_samples": 10_000_000},
            "model": {"kind": "mlp", "hidden": [4096]}, "train": {"batch_size": 10_000_000}}
    proc = engine("validate", write_spec(tmp_path, spec), timeout=300)
    line = assert_one_line_error(proc, "memory", "GiB", "available")
    assert "batch buffers (7,000,000 rows)" in line
    spec["dataset"]["n_samples"] = spec["train"]["batch_size"] = 2_000_000
    proc = engine("train", write_spec(tmp_path, spec), "--out", tmp_path / "run", timeout=300)
    assert_one_line_error(proc, "memory", "GiB", "batch buffers (1,400,000 rows)")
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


def test_validate_prints_the_memory_estimate(tmp_path):
    proc = engine("validate", write_spec(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "memory: about" in proc.stdout and "available" in proc.stdout
    assert "model: mlp 4-6-6-2, 86 parameters" in proc.stdout  # 4*6+6 + 6*6+6 + 6*2+2


# ----------------------------------------------------------------------------- one line, exit 2


def test_deeply_nested_spec_is_one_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"meta": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert_one_line_error(engine("validate", path), "nested too deeply")
    assert_one_line_error(engine("train", path, "--out", tmp_path / "run"), "nested too deeply")


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("model")
    spec = {"dataset": {"kind": "blobs", "n_samples": 90, "standardize": True}, "model": {"kind": "mlp", "hidden": [4]},
            "train": {"epochs": 2}}
    proc = engine("train", write_spec(tmp, spec), "--out", tmp / "run")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp / "run" / "model.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    (tmp / "p.csv").write_text("x1,x2\n0.5,0.5\n-1,2\n")
    return tmp, arrays


def _damaged(tmp, arrays, **changes):
    data = dict(arrays)
    for k, v in changes.items():
        if v is None:
            data.pop(k)
        else:
            data[k] = v
    path = tmp / "bad.npz"
    np.savez(path, **data)
    return path


@pytest.mark.parametrize("change, needle", [
    ({"W0": np.array(1.0)}, "'W0' has shape ()"),
    ({"class_names": np.array(["a"])}, "'class_names' holds 1 names"),
    ({"class_names": None}, "'class_names' is missing"),
    ({"mean": np.zeros(3), "std": np.ones(3)}, "'mean' and 'std' describe 3 columns"),
    ({"std": np.ones(5)}, "'mean' (2,) and 'std' (5,)"),
    ({"b1": None}, "'b1' is missing"),
])
def test_damaged_model_file_is_one_line(trained_model, change, needle):
    tmp, arrays = trained_model
    path = _damaged(tmp, arrays, **change)
    assert_one_line_error(engine("predict", path, tmp / "p.csv"), "damaged", needle)


def test_truncated_model_file_is_one_line(trained_model):
    tmp, _ = trained_model
    data = (tmp / "run" / "model.npz").read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 100):
        path = tmp / "cut.npz"
        path.write_bytes(data[:cut])
        assert_one_line_error(engine("predict", path, tmp / "p.csv"), str(path))


def test_huge_finite_values_standardize(tmp_path):
    from engine.data import standardization

    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] > 0).astype(int)
    rows = [f"{float(a) * 1e200!r},1e308,{float(b)!r},{c}" for (a, b), c in zip(X, y)]
    (tmp_path / "d.csv").write_text("big,const,small,label\n" + "\n".join(rows) + "\n")
    mean, std = standardization(np.column_stack([X[:, 0] * 1e200, np.full(80, 1e308)]))
    assert np.isfinite(mean).all() and np.isfinite(std).all()
    assert std[0] == pytest.approx(np.std(X[:, 0]) * 1e200) and std[1] == 1.0 and mean[1] == 1e308
    spec = {"dataset": {"kind": "csv", "path": "d.csv", "standardize": True},
            "model": {"kind": "logistic"}, "train": {"epochs": 30, "learning_rate": 0.1}}
    proc = engine("train", write_spec(tmp_path, spec), "--out", tmp_path / "run")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "run" / "result.json").read_text())["final"]["test_accuracy"] > 0.8
    # Opposite signs near the float64 limit still standardize (mean ~0, std ~1e308) ...
    rows = [f"{1e308 if c else -1e308},{float(b)!r},{c}" for (a, b), c in zip(X, y)]
    (tmp_path / "d.csv").write_text("big,small,label\n" + "\n".join(rows) + "\n")
    proc = engine("train", write_spec(tmp_path, spec), "--out", tmp_path / "run1")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "run1" / "result.json").read_text())["final"]["test_accuracy"] > 0.9
    # ... but one -1.7e308 among +1.7e308 lies beyond float64 once centred: one line names it.
    rows = [f"{-1.7e308 if i == 0 else 1.7e308},{float(b)!r},{c}" for i, ((a, b), c) in enumerate(zip(X, y))]
    (tmp_path / "d.csv").write_text("big,small,label\n" + "\n".join(rows) + "\n")
    proc = engine("train", write_spec(tmp_path, spec), "--out", tmp_path / "run2")
    assert_one_line_error(proc, "'big'", "not finite")


def test_values_beyond_float32_are_named_not_called_divergence(tmp_path):
    rows = [f"{i},{1e39 if i == 7 else i * 1e36!r},{i % 2}" for i in range(40)]
    (tmp_path / "d.csv").write_text("a,wide,label\n" + "\n".join(rows) + "\n")
    spec = {"dataset": {"kind": "csv", "path": "d.csv"}, "model": {"kind": "logistic"}, "train": {"epochs": 2}}
    line = assert_one_line_error(engine("train", write_spec(tmp_path, spec), "--out", tmp_path / "run"),
                                 "'wide'", "1e+39", "float32", "standardize", "float64")
    assert "diverged" not in line
    assert_one_line_error(engine("validate", write_spec(tmp_path, spec)), "'wide'", "float32")
    spec["train"]["dtype"] = "float64"
    assert engine("train", write_spec(tmp_path, spec), "--out", tmp_path / "run64").returncode == 0
    spec["train"]["dtype"] = "float32"
    spec["dataset"]["standardize"] = True
    assert engine("train", write_spec(tmp_path, spec), "--out", tmp_path / "run32").returncode == 0


# ----------------------------------------------------------------------------- files


def test_decimal_commas_in_labels_and_targets(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a;b;target\n1,5;2;0,25\n2,5;3;1,75\n3;4,5;2\n")
    X, y, _ = read_csv(path)
    np.testing.assert_array_equal(X, [[1.5, 2], [2.5, 3], [3, 4.5]])
    np.testing.assert_array_equal(y, [0.25, 1.75, 2.0])
    assert y.dtype == np.float64


def test_spec_file_with_a_utf8_bom(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"dataset": {"kind": "xor"}}).encode())
    assert load_spec(path).dataset.kind == "xor"


def test_semicolon_in_a_header_name_does_not_switch_the_separator(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("width;cm,height,label\n1.5,2,a\n2.5,3,b\n")
    X, y, header = read_csv(path)
    assert header == ("width;cm", "height", "label")
    np.testing.assert_array_equal(X, [[1.5, 2], [2.5, 3]])


def test_question_mark_among_numeric_labels_is_reported(tmp_path):
    rows = [f"{i},{i % 3}" for i in range(30)] + ["31,?", "32,?"]
    (tmp_path / "d.csv").write_text("x,label\n" + "\n".join(rows) + "\n")
    proc = engine("validate", write_spec(tmp_path, {"dataset": {"kind": "csv", "path": "d.csv"}}))
    assert proc.returncode == 0, proc.stderr
    assert "2 of the 32 labels are not a number ('?' x2) while the other 30 are" in proc.stdout
    from engine.data import label_notes

    assert label_notes(np.array(["a", "b"]), "auto", "classification", 2)[1:] == ()


def test_label_column_on_a_preset_is_refused():
    with pytest.raises(SpecError, match="only used with csv files, not 'spiral'") as info:
        RunSpec.from_dict({"dataset": {"kind": "spiral", "label_column": 0}})
    assert info.value.field == "dataset.label_column"


@pytest.mark.parametrize("encoding, prefix", [
    ("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
    ("latin-1", b""),
])
def test_csv_encodings(tmp_path, encoding, prefix):
    text = "größe,höhe,art\n1,2,café\n3,4,thé\n5,6,café\n"
    path = tmp_path / "d.csv"
    path.write_bytes(prefix + text.encode(encoding))
    X, y, header = read_csv(path)
    assert header == ("größe", "höhe", "art")
    assert y.tolist() == ["café", "thé", "café"]
    np.testing.assert_array_equal(X, [[1, 2], [3, 4], [5, 6]])


def test_csv_with_undeterminable_encoding(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes("x,y,label\n1,2,a\n".encode("utf-16-le"))  # UTF-16 without its BOM
    with pytest.raises(SpecError, match="encoding cannot be determined"):
        read_csv(path)


@pytest.mark.parametrize("k", [2, 5])
@pytest.mark.parametrize("path", ["batch", "plan"])
def test_softmax_right_count_is_argmax_with_ties_and_near_ties(k, path):
    from engine.losses import SoftmaxCrossEntropy, _flat_index, _onehot

    rng = np.random.default_rng(k)
    z = rng.normal(size=(60, k)).astype(np.float32)
    z[:10] = 0.0                                      # every score tied
    z[10:20, 1] = z[10:20, 0]                         # class 0 and 1 tied
    z[20:30, 1] = np.nextafter(z[20:30, 0], np.float32(np.inf))  # class 1 one ulp ahead
    z[30:35] = [[0.0, 1e-30] + [-1.0] * (k - 2)]      # a difference far below float32's resolution at 1
    y = rng.integers(0, k, size=60)
    y[:20] = 1
    expected = int(np.count_nonzero(np.argmax(z, axis=1) == y))
    loss = SoftmaxCrossEntropy()
    stats = np.empty((loss.n_stats, 60, 1), np.float32)
    work = z.copy()
    bufs = loss.buffers(60, k, np.float32)
    t = _onehot(y, k, np.float32)
    if path == "batch":
        loss.batch(work, t, _flat_index(y, k), 1 / 60, stats, bufs)
    else:
        for op in loss.plan(work, t, _flat_index(y, k), 1 / 60, stats, bufs):
            op()
    assert loss.reduce(stats, y)[1] == expected
