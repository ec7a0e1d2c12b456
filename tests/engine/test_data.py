"""Preset generators, the train/test split and load_dataset."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.data import (
    DataError,
    Dataset,
    labels_to_classes,
    load_dataset,
    make_preset,
    split_indices,
    train_test_split,
    write_csv,
)
from engine.spec import (CLASSIFICATION_PRESETS, MAX_CLASSES, REGRESSION_PRESETS, RunSpec,
                         SpecError)

ALL_PRESETS = CLASSIFICATION_PRESETS + REGRESSION_PRESETS


def spec_of(base_dir=None, **dataset) -> RunSpec:
    return RunSpec.from_dict({"dataset": dataset}, base_dir=None if base_dir is None else str(base_dir))


# ----------------------------------------------------------------------------- presets


@pytest.mark.parametrize("kind", ALL_PRESETS)
def test_preset_shapes_dtypes_and_range(kind):
    X, y = make_preset(kind, 401, 0.1, 7, n_classes=4)
    assert X.shape == (401, 2) and X.dtype == np.float64
    assert y.shape == (401,)
    assert np.isfinite(X).all()
    # "About [-6, 6]": the Playground's box, with a little slack for Gaussian tails.
    assert np.abs(X).max() < 9.0
    assert np.abs(X).max() > 3.5
    if kind in CLASSIFICATION_PRESETS:
        assert y.dtype == np.int64
        expected = 4 if kind == "blobs" else 2
        assert set(np.unique(y)) == set(range(expected))
    else:
        assert y.dtype == np.float64
        assert len(np.unique(y)) > 150  # continuous targets (multigauss is 0 between bumps)
        assert np.abs(y).max() <= 1.3


@pytest.mark.parametrize("kind", ALL_PRESETS)
def test_preset_deterministic_for_a_seed(kind):
    X1, y1 = make_preset(kind, 200, 0.2, 5)
    X2, y2 = make_preset(kind, 200, 0.2, 5)
    X3, _ = make_preset(kind, 200, 0.2, 6)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)


@pytest.mark.parametrize("kind", ["circle", "xor", "gauss", "spiral", "moons", "linear"])
def test_two_class_presets_are_balanced(kind):
    _, y = make_preset(kind, 301, 0.0, 1)
    counts = np.bincount(y)
    if kind in ("xor", "linear"):
        # Labels come from the position, so only roughly balanced.
        assert counts.min() > 100
    else:
        assert sorted(counts) == [150, 151]


def test_circle_inner_class_inside_outer_class():
    X, y = make_preset("circle", 1000, 0.0, 3)
    r = np.hypot(X[:, 0], X[:, 1])
    # Class 1 fills the disc of radius 2.5, class 0 the ring 3.5..5 (the Playground's).
    assert r[y == 1].max() < 2.5
    assert r[y == 0].min() >= 3.5 and r[y == 0].max() <= 5.0


def test_circle_noise_flips_labels_near_the_boundary():
    X, y = make_preset("circle", 2000, 0.5, 3)
    r = np.hypot(X[:, 0], X[:, 1])
    geometric = (r < 2.5).astype(int)
    flipped = np.mean(geometric != y)
    assert 0.05 < flipped < 0.5


def test_xor_label_is_sign_of_product():
    X, y = make_preset("xor", 1000, 0.0, 2)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))
    # The 0.3 padding keeps points off the axes.
    assert np.abs(X).min() >= 0.3
    X, y = make_preset("xor", 2000, 0.5, 2)
    assert 0.05 < np.mean(y != (X[:, 0] * X[:, 1] >= 0)) < 0.5


def test_spiral_points_lie_on_two_arms():
    X, y = make_preset("spiral", 400, 0.0, 4)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.max() < 5.0
    # On an arm, the angle (measured as the Playground does, atan2(x, y)) grows linearly
    # with the radius: t = 1.75 * 2 pi * r / 5, the second arm turned by pi.
    angle = np.arctan2(X[:, 0], X[:, 1])
    expected = 1.75 * 2 * np.pi * r / 5.0 + np.pi * y
    diff = np.angle(np.exp(1j * (angle - expected)))
    keep = r > 1e-9
    assert np.abs(diff[keep]).max() < 1e-9


def test_spiral_noise_displaces_points():
    X0, y0 = make_preset("spiral", 400, 0.0, 4)
    X1, y1 = make_preset("spiral", 400, 0.5, 4)
    np.testing.assert_array_equal(y0, y1)
    shift = np.abs(X1 - X0)
    assert shift.max() <= 0.5 and shift.mean() > 0.1


@pytest.mark.parametrize("kind", ["gauss", "blobs"])
def test_noise_widens_the_clouds(kind):
    def spread(noise):
        X, y = make_preset(kind, 2000, noise, 9)
        return np.mean([X[y == c].std(axis=0).mean() for c in np.unique(y)])
    assert spread(0.5) > 1.5 * spread(0.0)


def test_gauss_variance_follows_playground_scale():
    X, y = make_preset("gauss", 20000, 0.0, 1)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [2, 2], atol=0.05)
    np.testing.assert_allclose(X[y == 0].var(axis=0), [0.5, 0.5], rtol=0.05)
    # noise 0.5: variance 4 (std 2) around (-2, -2), truncated to the square [-6, 6]^2 (the
    # noise of a point outside is drawn again): the truncated normal's variance, per axis
    import math
    mu, sigma = -2.0, 2.0
    a, b = (-6.0 - mu) / sigma, (6.0 - mu) / sigma
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    Z = cdf(b) - cdf(a)
    mean = mu + sigma * (pdf(a) - pdf(b)) / Z
    var = sigma**2 * (1 + (a * pdf(a) - b * pdf(b)) / Z - ((pdf(a) - pdf(b)) / Z) ** 2)
    X, y = make_preset("gauss", 20000, 0.5, 1)
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [mean, mean], atol=0.05)
    np.testing.assert_allclose(X[y == 0].var(axis=0), [var, var], rtol=0.05)


@pytest.mark.parametrize("k", [2, 3, 5, MAX_CLASSES])
def test_blobs_have_k_separate_centres(k):
    X, y = make_preset("blobs", 100 * k, 0.0, 1, n_classes=k)
    assert np.bincount(y).tolist() == [100] * k
    centres = np.array([X[y == c].mean(axis=0) for c in range(k)])
    np.testing.assert_allclose(np.hypot(centres[:, 0], centres[:, 1]), 4.0, atol=0.3)
    nearest = np.argmin(((X[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    assert np.mean(nearest == y) > 0.9


def test_moons_interleave():
    X, y = make_preset("moons", 1000, 0.0, 1)
    # The upper moon is an arc of radius 4 around (-2, -1); the lower one around (2, 1).
    up, low = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(up[:, 0] + 2, up[:, 1] + 1), 4.0)
    np.testing.assert_allclose(np.hypot(low[:, 0] - 2, low[:, 1] - 1), 4.0)
    assert up[:, 1].min() >= -1 - 1e-12 and low[:, 1].max() <= 1 + 1e-12
    # Noise moves points off the arcs (Gaussian, std 2 * noise).
    X, y = make_preset("moons", 1000, 0.5, 1)
    off = np.hypot(X[y == 0, 0] + 2, X[y == 0, 1] + 1) - 4.0
    assert 0.5 < np.abs(off).mean() < 1.5


def test_linear_is_linearly_separable_with_margin():
    from sklearn.svm import LinearSVC

    for seed in (1, 2, 3):
        X, y = make_preset("linear", 500, 0.0, seed)
        clf = LinearSVC(C=1e4, max_iter=100000).fit(X, y)
        assert clf.score(X, y) == 1.0
        w = clf.coef_[0]
        margin = np.abs(X @ w + clf.intercept_[0]).min() / np.linalg.norm(w)
        assert margin > 0.45
    X, y = make_preset("linear", 2000, 0.5, 1)
    assert LinearSVC(C=1.0).fit(X, y).score(X, y) < 1.0


def test_plane_target_closed_form():
    X, y = make_preset("plane", 500, 0.0, 1)
    np.testing.assert_allclose(y, (X[:, 0] + X[:, 1]) / 10.0)
    assert np.abs(X).max() <= 6.0
    Xn, yn = make_preset("plane", 500, 0.3, 1)
    assert np.abs(yn - (Xn[:, 0] + Xn[:, 1]) / 10.0).mean() > 0.05


def test_multigauss_target_closed_form():
    X, y = make_preset("multigauss", 500, 0.0, 2)
    centres = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    for (x1, x2), target in zip(X[:50], y[:50]):
        best = 0.0
        for cx, cy, sign in centres:
            v = sign * min(1.0, max(0.0, 1 - math.hypot(x1 - cx, x2 - cy) / 2))
            if abs(v) > abs(best):
                best = v
        assert target == pytest.approx(best)
    assert y.min() < -0.5 and y.max() > 0.5


def test_preset_bad_arguments():
    with pytest.raises(SpecError, match="dataset.kind"):
        make_preset("square", 10, 0, 1)
    with pytest.raises(SpecError, match="dataset.n_samples"):
        make_preset("circle", 0, 0, 1)
    with pytest.raises(SpecError, match="dataset.n_classes"):
        make_preset("blobs", 10, 0, 1, n_classes=MAX_CLASSES + 1)


def test_preset_is_vectorized_fast():
    import time

    t = time.perf_counter()
    for kind in ALL_PRESETS:
        make_preset(kind, 100_000, 0.1, 1)
    assert time.perf_counter() - t < 1.0


# ----------------------------------------------------------------------------- split


def test_stratified_split_keeps_proportions():
    y = np.repeat([0, 1, 2], [500, 300, 200])
    X = np.arange(1000.0)[:, None]
    Xtr, ytr, Xte, yte = train_test_split(X, y, 0.3, seed=1)
    assert len(yte) == 300 and len(ytr) == 700
    assert np.bincount(yte).tolist() == [150, 90, 60]
    assert np.bincount(ytr).tolist() == [350, 210, 140]
    # Rows stay with their labels and nothing is lost or repeated.
    np.testing.assert_array_equal(y[Xtr[:, 0].astype(int)], ytr)
    assert sorted(np.concatenate([Xtr, Xte])[:, 0].tolist()) == list(range(1000))


def test_split_uneven_classes_hit_the_exact_test_size():
    y = np.repeat([0, 1, 2], [7, 11, 13])
    train, test = split_indices(y, 0.33, seed=3)
    assert len(test) == round(0.33 * 31)
    assert len(np.intersect1d(train, test)) == 0
    assert len(train) + len(test) == 31
    counts = np.bincount(y[test], minlength=3)
    np.testing.assert_allclose(counts, [7 * 0.33, 11 * 0.33, 13 * 0.33], atol=1)


def test_split_every_class_keeps_a_training_sample():
    y = np.array([0, 1, 1, 1, 1, 1, 1, 2, 2, 2])
    for seed in range(20):
        train, test = split_indices(y, 0.9, seed)
        assert set(y[train]) == {0, 1, 2}
        assert len(test) == 7  # round(0.9 * 10) = 9 would leave a class without training data


def test_split_is_deterministic_and_seeded():
    y = np.repeat([0, 1], 50)
    a = split_indices(y, 0.25, 11)
    b = split_indices(y, 0.25, 11)
    c = split_indices(y, 0.25, 12)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(np.sort(a[1]), np.sort(c[1]))


def test_split_zero_fraction_has_no_test_set():
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.arange(20) % 2
    Xtr, ytr, Xte, yte = train_test_split(X, y, 0.0, seed=1)
    assert Xte.shape == (0, 3) and yte.shape == (0,)
    assert sorted(map(tuple, Xtr)) == sorted(map(tuple, X))


def test_regression_split_is_plain_random():
    y = np.linspace(0, 1, 50)
    train, test = split_indices(y, 0.2, seed=1)
    assert len(test) == 10 and len(train) == 40
    assert len(set(train) | set(test)) == 50


def test_float_class_labels_are_stratified():
    y = np.repeat([0.0, 1.0], [80, 20])
    _, test = split_indices(y, 0.5, seed=1)
    assert np.bincount(y[test].astype(int)).tolist() == [40, 10]


def test_split_rejects_bad_fraction():
    with pytest.raises(SpecError, match="test_fraction"):
        split_indices(np.zeros(5), 1.0, 1)


# ----------------------------------------------------------------------------- load_dataset


def test_load_preset_dataset():
    ds = load_dataset(spec_of(kind="spiral", n_samples=500, noise=0.1, seed=1, test_fraction=0.3))
    assert isinstance(ds, Dataset)
    assert ds.task == "classification" and ds.n_classes == 2
    assert ds.class_names == ("class 0", "class 1")
    assert ds.X_train.shape == (350, 2) and ds.X_test.shape == (150, 2)
    assert ds.y_train.dtype == np.int64 and ds.X_train.dtype == np.float64
    assert np.bincount(ds.y_test).tolist() == [75, 75]
    assert ds.mean is None and ds.std is None
    assert ds.n_features_raw == 2 and ds.feature_names == ("x1", "x2")
    assert ds.all_X().shape == (500, 2) and ds.all_y().shape == (500,)
    # Same points as the generator, just split.
    X, _ = make_preset("spiral", 500, 0.1, 1)
    assert sorted(map(tuple, ds.all_X())) == sorted(map(tuple, X))
    with pytest.raises(ValueError):
        ds.X_train[0, 0] = 1.0  # shared between trainer and views: read-only


def test_load_dataset_is_deterministic():
    a = load_dataset(spec_of(kind="moons", n_samples=200, seed=4))
    b = load_dataset(spec_of(kind="moons", n_samples=200, seed=4))
    c = load_dataset(spec_of(kind="moons", n_samples=200, seed=5))
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, c.X_train)


def test_load_blobs_and_regression_presets():
    ds = load_dataset(spec_of(kind="blobs", n_classes=5, n_samples=250))
    assert ds.n_classes == 5 and len(ds.class_names) == 5
    ds = load_dataset(spec_of(kind="plane", n_samples=100, test_fraction=0.2))
    assert ds.task == "regression" and ds.n_classes == 1 and ds.class_names == ()
    assert ds.y_train.dtype == np.float64 and len(ds.y_test) == 20


def test_standardize_fitted_on_training_part_only():
    ds = load_dataset(spec_of(kind="gauss", n_samples=400, noise=0.3, standardize=True, seed=2))
    np.testing.assert_allclose(ds.mean, ds.X_train.mean(axis=0))
    np.testing.assert_allclose(ds.std, ds.X_train.std(axis=0))
    z_train = (ds.X_train - ds.mean) / ds.std
    z_test = (ds.X_test - ds.mean) / ds.std
    np.testing.assert_allclose(z_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z_train.std(axis=0), 1, atol=1e-12)
    assert np.abs(z_test.mean(axis=0)).max() > 1e-6  # not refitted on the test part
    # The stored arrays stay raw: standardization is the preprocessor's job.
    assert np.abs(ds.X_train.mean(axis=0)).max() > 1e-3 or np.abs(ds.X_train.std(axis=0) - 1).max() > 1e-3


def test_standardize_constant_column_gets_unit_std(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},5,{i % 2}\n" for i in range(10)))
    ds = load_dataset(spec_of(tmp_path, kind="csv", path="c.csv", standardize=True))
    assert ds.std[1] == 1.0 and ds.mean[1] == 5.0


def test_zero_test_fraction():
    ds = load_dataset(spec_of(kind="xor", n_samples=50, test_fraction=0.0))
    assert ds.X_test.shape == (0, 2) and ds.y_test.shape == (0,) and ds.n_train == 50


def test_points_with_and_without_class_names():
    pts = [[0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 3, 0], [4, 4, 1], [5, 5, 2]]
    ds = load_dataset(RunSpec.from_dict({"dataset": {"kind": "points", "points": pts, "test_fraction": 0}}))
    assert ds.class_names == ("class 0", "class 1", "class 2") and ds.n_classes == 3
    np.testing.assert_array_equal(np.sort(ds.y_train), [0, 0, 1, 1, 2, 2])
    spec = RunSpec.from_dict({"dataset": {"kind": "points", "points": pts[:2] + [[9, 9, 0]],
                                          "class_names": ["red", "green", "blue"], "test_fraction": 0}})
    ds = load_dataset(spec)
    # Labels are indices into class_names, even when a class has no points yet.
    assert ds.class_names == ("red", "green", "blue") and ds.n_classes == 3
    assert np.bincount(ds.y_train, minlength=3).tolist() == [2, 1, 0]


def test_points_bad_label_names_the_point():
    pts = [[0, 0, 0], [1, 1, 1], [2, 2, 5]]
    spec = RunSpec.from_dict({"dataset": {"kind": "points", "points": pts, "class_names": ["a", "b"]}})
    with pytest.raises(DataError) as info:
        load_dataset(spec)
    assert info.value.field == "dataset.points[2]"
    assert "dataset.points[2]" in str(info.value)
    spec = RunSpec.from_dict({"dataset": {"kind": "points", "points": [[0, 0, 0.5], [1, 1, 1]],
                                          "task": "classification"}})
    with pytest.raises(DataError) as info:
        load_dataset(spec)
    assert info.value.field == "dataset.points[0]"


def test_points_regression_and_auto_task():
    pts = [[i, -i, i * 0.37] for i in range(10)]
    ds = load_dataset(RunSpec.from_dict({"dataset": {"kind": "points", "points": pts}}))
    assert ds.task == "regression"
    pts = [[i, -i, i % 2] for i in range(10)]
    ds = load_dataset(RunSpec.from_dict({"dataset": {"kind": "points", "points": pts, "task": "regression"}}))
    assert ds.task == "regression" and ds.y_train.dtype == np.float64


def test_one_class_is_refused():
    pts = [[0, 0, 1], [1, 1, 1]]
    with pytest.raises(SpecError, match="only one class"):
        load_dataset(RunSpec.from_dict({"dataset": {"kind": "points", "points": pts}}))


def test_task_detection_rules():
    assert labels_to_classes(np.array(["a", "b", "a"]))[0] == "classification"
    task, y, names = labels_to_classes(np.array([-1.0, 1.0, 1.0]))
    assert task == "classification" and names == ("-1", "1") and y.tolist() == [0, 1, 1]
    # Whole numbers are classes however many there are (scikit-learn's type_of_target).
    assert labels_to_classes(np.arange(MAX_CLASSES, dtype=float))[0] == "classification"
    task, y, names = labels_to_classes(np.arange(100, dtype=float), "classification")
    assert task == "classification" and len(names) == 100 and y.tolist() == list(range(100))
    assert labels_to_classes(np.array([0.5, 1.0]))[0] == "regression"
    with pytest.raises(SpecError, match="regression needs numbers"):
        labels_to_classes(np.array(["a", "b"]), "regression")
    # Text labels in the order the class names give.
    task, y, names = labels_to_classes(np.array(["lo", "hi", "lo"]), class_names=("lo", "hi"))
    assert names == ("lo", "hi") and y.tolist() == [0, 1, 0]
    with pytest.raises(SpecError, match="class_names"):
        labels_to_classes(np.array(["lo", "mid"]), class_names=("lo", "hi"))


def test_csv_dataset_with_text_labels_and_relative_path(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.repeat([0, 1, 2], 20)
    write_csv(tmp_path / "iris.csv", X, y, class_names=("setosa", "versicolor", "virginica"),
              header=("a", "b", "c", "species"))
    ds = load_dataset(spec_of(tmp_path, kind="csv", path="iris.csv", test_fraction=0.25, seed=3))
    assert ds.task == "classification" and ds.class_names == ("setosa", "versicolor", "virginica")
    assert ds.feature_names == ("a", "b", "c") and ds.n_features_raw == 3
    assert np.bincount(ds.y_test).tolist() == [5, 5, 5]
    # Features came through unchanged and stay with their labels.
    for x, label in zip(ds.X_train, ds.y_train):
        i = int(np.flatnonzero((X == x).all(axis=1))[0])
        assert y[i] == label


def test_csv_dataset_label_column_by_name(tmp_path):
    (tmp_path / "d.csv").write_text("label,x,y\n1,0.5,2\n0,0.1,3\n1,0.2,4\n0,0.3,5\n")
    ds = load_dataset(spec_of(tmp_path, kind="csv", path="d.csv", label_column="label", test_fraction=0))
    assert ds.feature_names == ("x", "y") and ds.class_names == ("0", "1")


def test_libsvm_and_npz_datasets(tmp_path):
    (tmp_path / "d.svm").write_text("+1 1:0.5 2:1\n-1 1:-0.5 2:-1\n+1 2:3\n-1 1:-2\n")
    ds = load_dataset(spec_of(tmp_path, kind="libsvm", path="d.svm", test_fraction=0))
    assert ds.class_names == ("-1", "1") and ds.X_train.shape == (4, 2)
    np.savez(tmp_path / "d.npz", X=np.arange(20.0).reshape(10, 2), y=np.linspace(0, 1, 10))
    ds = load_dataset(spec_of(tmp_path, kind="npz", path="d.npz", test_fraction=0.2))
    assert ds.task == "regression" and ds.n_test == 2
    with pytest.raises(SpecError, match="label_column"):
        load_dataset(spec_of(tmp_path, kind="npz", path="d.npz", label_column=0))


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset(spec_of(tmp_path, kind="csv", path="nope.csv"))
    assert "nope.csv" in str(info.value) and info.value.field == "dataset.path"


def test_class_names_for_presets():
    ds = load_dataset(spec_of(kind="xor", class_names=["orange", "blue"]))
    assert ds.class_names == ("orange", "blue")
    with pytest.raises(SpecError, match="class_names"):
        load_dataset(spec_of(kind="xor", class_names=["a", "b", "c"]))


def test_dataset_checks_shapes_and_accepts_flat_empty_test_part():
    X = np.zeros((4, 2))
    y = np.array([0, 1, 0, 1])
    ds = Dataset(X, y, np.zeros(0), np.zeros(0, np.int64), "classification", 2, ("a", "b"))
    assert ds.X_test.shape == (0, 2) and ds.n_test == 0
    assert X.flags.writeable  # the caller's array is copied, not frozen
    assert ds.class_counts().tolist() == [2, 2]
    with pytest.raises(ValueError):
        Dataset(X, y[:3], X, y, "classification", 2, ("a", "b"))
    with pytest.raises(ValueError):
        Dataset(X, y, np.zeros((2, 3)), y[:2], "classification", 2, ("a", "b"))
    with pytest.raises(ValueError):
        Dataset(X, y, X, y, "clustering", 2, ("a", "b"))


def test_data_error_messages():
    err = DataError("data.csv", 7, "expected 3 columns, got 2")
    assert str(err) == "data.csv, line 7: expected 3 columns, got 2"
    assert err.field == "dataset.path" and err.line == 7 and err.path == "data.csv"
    assert isinstance(err, SpecError) and isinstance(err, ValueError)
    assert str(DataError("d.npz", None, "array 'X' is missing")) == "d.npz: array 'X' is missing"
    err = DataError(None, None, "label 5 is not a class", field="dataset.points[3]")
    assert str(err) == "dataset.points[3]: label 5 is not a class"
