"""Data sets: what a run trains and tests on.

:func:`load_dataset` turns a run spec's ``dataset`` part into a :class:`Dataset`: it
generates a preset, takes the painter's inline points or reads a file, decides between
classification and regression, maps labels to classes 0..C-1, splits train from test and
fits the standardization on the training part.

The arrays in a :class:`Dataset` hold the *raw* features (what the user sees and plots);
standardization is applied by :class:`engine.features.Preprocessor`, which takes ``mean``
and ``std`` from here, so that training, the decision grid and a saved model all see the
same transform.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .datasets import PRESET_KINDS, make_preset, preset_n_classes, split_indices, train_test_split
from .loaders import DataError, read_csv, read_libsvm, read_npz, write_csv
from .spec import MAX_SAMPLES, RunSpec, SpecError

__all__ = [
    "DataError",
    "Dataset",
    "load_dataset",
    "labels_to_classes",
    "make_preset",
    "read_csv",
    "read_libsvm",
    "read_npz",
    "split_indices",
    "train_test_split",
    "write_csv",
    "PRESET_KINDS",
]

CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data set split into training and test parts.

    Attributes
    ----------
    X_train : ndarray, shape (n_train, d), float64
        Raw (unstandardized) training features.
    y_train : ndarray, shape (n_train,)
        ``int64`` class indices 0..C-1 (classification) or ``float64`` targets (regression).
    X_test : ndarray, shape (n_test, d), float64
        Raw test features; shape (0, d) when the spec's ``test_fraction`` is 0.
    y_test : ndarray, shape (n_test,)
    task : str
        ``"classification"`` or ``"regression"``.
    n_classes : int
        C; 1 for regression.
    class_names : tuple of str
        One name per class (length C); () for regression.
    mean, std : ndarray, shape (d,), or None
        The standardization fitted on the training part when the spec asks for it
        (``std`` of a constant column is 1), else None.
    feature_names : tuple of str
        One name per feature column (the CSV header, else ``x1``, ``x2``, ...).
    notes : tuple of str
        What the loader decided and why (the task under ``task: auto``) and anything odd
        it noticed in the labels; ``python -m engine validate`` prints them.

    The arrays are read-only: one data set is shared by the trainer and the views.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str
    n_classes: int
    class_names: tuple[str, ...]
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    feature_names: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("X_train", "y_train", "X_test", "y_test", "mean", "std"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _frozen(value))
        X_train, X_test = self.X_train, self.X_test
        if X_test.size == 0 and X_test.shape[-1:] != X_train.shape[-1:]:
            # An empty test part given as shape (0,) gets the training part's width.
            object.__setattr__(self, "X_test", _frozen(np.zeros((0,) + X_train.shape[1:], X_train.dtype)))
        if self.X_train.ndim != 2 or self.X_test.ndim != 2 or self.X_train.shape[1] != self.X_test.shape[1]:
            raise ValueError(f"X_train {self.X_train.shape} and X_test {self.X_test.shape} must be (n, d) with one d")
        if self.y_train.shape != self.X_train.shape[:1] or self.y_test.shape != self.X_test.shape[:1]:
            raise ValueError(
                f"y_train {self.y_train.shape} / y_test {self.y_test.shape} do not match "
                f"X_train {self.X_train.shape} / X_test {self.X_test.shape}"
            )
        if self.task not in (CLASSIFICATION, REGRESSION):
            raise ValueError(f"task must be {CLASSIFICATION!r} or {REGRESSION!r}, got {self.task!r}")
        if not self.feature_names:
            names = tuple(f"x{i + 1}" for i in range(self.X_train.shape[1]))
            object.__setattr__(self, "feature_names", names)

    @property
    def n_features_raw(self) -> int:
        """d, the number of raw feature columns."""
        return int(self.X_train.shape[1])

    @property
    def n_train(self) -> int:
        return int(len(self.y_train))

    @property
    def n_test(self) -> int:
        return int(len(self.y_test))

    @property
    def is_classification(self) -> bool:
        return self.task == CLASSIFICATION

    def all_X(self) -> np.ndarray:
        """Training then test features, shape (n_train + n_test, d)."""
        return np.concatenate([self.X_train, self.X_test])

    def all_y(self) -> np.ndarray:
        """Training then test labels, shape (n_train + n_test,)."""
        return np.concatenate([self.y_train, self.y_test])

    def class_counts(self) -> np.ndarray:
        """Samples per class over both parts, shape (C,) int64 (classification only)."""
        return np.bincount(self.all_y(), minlength=self.n_classes)


def _frozen(value) -> np.ndarray:
    """A read-only array the data set owns (copied unless it already is one)."""
    value = np.asarray(value)
    if value.flags.writeable or not value.flags.owndata:
        value = value.copy()
        value.setflags(write=False)
    return value


# ----------------------------------------------------------------------------- labels


def _is_whole(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def labels_to_classes(
    y_raw: np.ndarray,
    task: str = "auto",
    class_names: tuple[str, ...] | None = None,
    *,
    where: str = "labels",
    index_names: bool = False,
) -> tuple[str, np.ndarray, tuple[str, ...]]:
    """Decide the task and turn raw labels into classes or targets.

    Parameters
    ----------
    y_raw : ndarray, shape (n,)
        Numbers or text.
    task : str
        ``"auto"``, ``"classification"`` or ``"regression"``. Auto decides as
        scikit-learn's ``type_of_target``: text labels and whole-number labels are
        classes (any number of them), labels with a fractional part are a regression
        target.
    class_names : tuple of str, optional
        For numeric labels: the names of classes 0, 1, ... (when every label is such an
        index) or of the sorted distinct labels (when there are as many names). For text
        labels: the classes in order, every label among them. Ignored for regression.
    where : str
        Says where the labels came from, for messages.
    index_names : bool
        Default names ``class 0``, ``class 1``, ... (the painter's) instead of the label
        values themselves.

    Returns
    -------
    task : str
        ``"classification"`` or ``"regression"``.
    y : ndarray, shape (n,)
        ``int64`` class indices or ``float64`` targets.
    names : tuple of str
        Class names (length C), () for regression.
    """
    y_raw = np.asarray(y_raw)
    text = y_raw.dtype.kind in "US"
    if text:
        y_raw = y_raw.astype(str)
    else:
        y_raw = y_raw.astype(np.float64)
    if task == "regression":
        if text:
            sample = ", ".join(repr(v) for v in np.unique(y_raw)[:3])
            raise SpecError("dataset.task", f"the {where} are names ({sample}, ...); a regression needs numbers")
        return REGRESSION, y_raw, ()

    values, inverse = np.unique(y_raw, return_inverse=True)
    inverse = inverse.ravel().astype(np.int64)
    whole = not text and _is_whole(values)
    if task == "auto" and not text and not whole:
        return REGRESSION, y_raw, ()
    if not text and not whole:
        bad = values[values != np.round(values)][0]
        raise SpecError(
            "dataset.task", f"classification needs whole-number or text labels; the {where} include {bad:g}"
        )

    if class_names:
        names = tuple(class_names)
        if text:
            unknown = [v for v in values if v not in names]
            if unknown:
                raise SpecError(
                    "dataset.class_names", f"label {unknown[0]!r} in the {where} is not among the class names"
                )
            lookup = {name: i for i, name in enumerate(names)}
            y = np.array([lookup[v] for v in values], dtype=np.int64)[inverse]
        elif values[0] >= 0 and values[-1] < len(names):
            y = y_raw.astype(np.int64)
        elif len(values) == len(names):
            y = inverse
        else:
            raise SpecError(
                "dataset.class_names",
                f"{len(names)} names given, but the {where} hold {len(values)} classes "
                f"({', '.join(f'{v:g}' for v in values)})",
            )
    else:
        y = inverse
        if text:
            names = tuple(str(v) for v in values)
        elif index_names:
            names = tuple(f"class {int(v)}" for v in values)
        else:
            names = tuple(str(int(v)) for v in values)
    if len(names) < 2:
        raise SpecError(
            "dataset.task", f"the {where} hold only one class ({names[0]!r}); classification needs two or more"
        )
    return CLASSIFICATION, y, names


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def label_notes(y_raw: np.ndarray, declared: str, task: str, n_classes: int, where: str = "labels") -> tuple[str, ...]:
    """Say what the task decision was and why, and flag labels that look like mistakes.

    Parameters
    ----------
    y_raw : ndarray, shape (n,)
        The labels as read (numbers or text).
    declared : str
        The spec's ``task`` (``auto``, ``classification`` or ``regression``).
    task : str
        The task decided, ``classification`` or ``regression``.
    n_classes : int
        C for classification.
    where : str
        Where the labels came from, for the messages.

    Returns
    -------
    tuple of str
        One sentence each. The first says the task and the reason (as scikit-learn's
        ``type_of_target``: whole numbers and text are classes, fractional numbers a
        target); then, for text labels of which most are numbers, how many are not.
    """
    y_raw = np.asarray(y_raw)
    text = y_raw.dtype.kind in "US"
    n = len(y_raw)
    notes = []
    if declared != "auto":
        notes.append(f"task: {task}, as the spec says (dataset.task)")
    elif task == REGRESSION:
        notes.append("task: regression, because the labels are numbers with a fractional part "
                     "(scikit-learn's type_of_target: continuous)")
    elif text:
        notes.append(f"task: classification with {n_classes} classes, because the labels are text")
    else:
        kind = "binary" if n_classes == 2 else "multiclass"
        notes.append(f"task: classification with {n_classes} classes, because the labels are whole numbers "
                     f"(scikit-learn's type_of_target: {kind}); set dataset.task to regression "
                     "if they are a numeric target")
    if task == CLASSIFICATION and n_classes > max(2, n // 2):
        notes.append(f"{n_classes} classes for {n} samples: fewer than two samples per class on average")
    if text:
        values, counts = np.unique(y_raw.astype(str), return_counts=True)
        numeric = np.array([_is_number_text(v) for v in values], dtype=bool)
        n_numeric = int(counts[numeric].sum())
        if numeric.any() and n_numeric >= n - n_numeric:
            odd = values[~numeric]
            odd_counts = counts[~numeric]
            n_odd = int(odd_counts.sum())
            shown = ", ".join(f"{str(v)!r} x{c}" for v, c in zip(odd[:5], odd_counts[:5]))
            more = ", ..." if len(odd) > 5 else ""
            notes.append(
                f"{n_odd} of the {n} {where} {'is' if n_odd == 1 else 'are'} not a number ({shown}{more}) "
                f"while the other {n_numeric} are: every label is taken as text, so "
                f"{'it forms a class of its' if len(odd) == 1 else 'they form classes of their'} own; "
                "fix or remove those rows if they mark missing values"
            )
    return tuple(notes)


def standardization(X_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation, finite for any finite data.

    Parameters
    ----------
    X_train : ndarray, shape (n, d), float64

    Returns
    -------
    mean, std : ndarray, shape (d,)
        ``std`` is 1 for constant columns. Both are computed on the columns divided by
        their largest magnitude and scaled back, so values near the float64 limit
        (1e200, 1e308) neither overflow the sum nor the squares.
    """
    X = np.asarray(X_train, dtype=np.float64)
    if X.shape[0] == 0:
        return np.zeros(X.shape[1]), np.ones(X.shape[1])
    scale = np.max(np.abs(X), axis=0)
    scale[~(scale > 0)] = 1.0
    Xs = X / scale
    mean_s = Xs.mean(axis=0)
    std_s = Xs.std(axis=0)
    mean = mean_s * scale
    std = std_s * scale
    # A constant column has nothing to scale; dividing by 1 leaves it centred.
    std[~((std_s > 1e-12 * np.maximum(1.0, np.abs(mean_s))) & np.isfinite(std) & (std > 0))] = 1.0
    return mean, std


# ----------------------------------------------------------------------------- loading


def _points(spec) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Inline points: ``X (n, 2)``, labels ``(n,)`` and the test mask ``(n,)`` when the rows carry one."""
    pts = np.asarray(spec.points, dtype=np.float64)
    pts = pts.reshape(len(spec.points), -1)
    test = pts[:, 3] == 1.0 if pts.shape[1] == 4 else None
    return pts[:, :2].copy(), pts[:, 2].copy(), test


def load_dataset(spec: RunSpec) -> Dataset:
    """Build the data set a run spec describes.

    Parameters
    ----------
    spec : RunSpec
        ``spec.dataset`` says what to load; relative file paths resolve against
        ``spec.base_dir``.

    Returns
    -------
    Dataset
        Deterministic for ``spec.dataset.seed``: classes stratified over the split,
        standardization (when asked) fitted on the training part only.

    Raises
    ------
    DataError
        A data file is missing or broken (the message names the file and line).
    SpecError
        The data do not fit the spec (e.g. text labels with ``task: regression``).
    """
    ds = spec.dataset
    feature_names: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    where = "labels"
    test_mask = None
    if ds.is_preset:
        X, y = make_preset(ds.kind, ds.n_samples, ds.noise, ds.seed, ds.n_classes, n_features=ds.n_features)
        task = ds.declared_task
        if task == CLASSIFICATION:
            n_classes = preset_n_classes(ds.kind, ds.n_classes)
            names = tuple(f"class {i}" for i in range(n_classes))
            if ds.class_names:
                if len(ds.class_names) != n_classes:
                    raise SpecError(
                        "dataset.class_names",
                        f"{len(ds.class_names)} names given for the {n_classes} classes of {ds.kind!r}",
                    )
                names = tuple(ds.class_names)
        else:
            n_classes, names = 1, ()
    else:
        if ds.kind == "points":
            if ds.label_column is not None:
                raise SpecError("dataset.label_column", "only used with csv files")
            X, y_raw, test_mask = _points(ds)
            where = "points' labels"
            try:
                task, y, names = labels_to_classes(y_raw, ds.task, ds.class_names, where=where, index_names=True)
            except SpecError as exc:
                raise _point_error(exc, y_raw, ds.class_names) from None
            notes = label_notes(y_raw, ds.task, task, len(names), "labels")
        else:
            path = ds.resolve_path(spec.base_dir)
            if ds.kind == "csv":
                X, y_raw, header = read_csv(path, ds.label_column)
                if header is not None:
                    label_index = _label_index(header, ds.label_column)
                    feature_names = tuple(h for i, h in enumerate(header) if i != label_index)
            elif ds.label_column is not None:
                raise SpecError("dataset.label_column", f"only used with csv files, not {ds.kind!r}")
            elif ds.kind == "libsvm":
                X, y_raw = read_libsvm(path)
            elif ds.kind == "npz":
                X, y_raw = read_npz(path)
            else:  # pragma: no cover - the spec validator only allows the kinds above
                raise SpecError("dataset.kind", f"unknown data kind {ds.kind!r}")
            if len(X) > MAX_SAMPLES:
                raise DataError(path, None, f"{len(X):,} samples; at most {MAX_SAMPLES:,} are supported")
            where = f"labels of {path}"
            task, y, names = labels_to_classes(y_raw, ds.task, ds.class_names, where=where)
            notes = label_notes(y_raw, ds.task, task, len(names), "labels")
        n_classes = len(names) if task == CLASSIFICATION else 1

    stratify = task == CLASSIFICATION
    if test_mask is not None:
        # Each point says where it belongs: the split the painter showed is the one trained on.
        train, test = np.flatnonzero(~test_mask), np.flatnonzero(test_mask)
    else:
        train, test = split_indices(y, ds.test_fraction, ds.seed, stratify=stratify)
    X_train, X_test = X[train], X[test]
    y_train, y_test = y[train], y[test]
    for fresh in (X_train, X_test, y_train, y_test):
        # Fresh arrays nobody else holds: freezing them spares Dataset a copy.
        fresh.setflags(write=False)
    mean = std = None
    if ds.standardize:
        mean, std = standardization(X_train)
    return Dataset(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        task=task,
        n_classes=n_classes,
        class_names=names if task == CLASSIFICATION else (),
        mean=mean,
        std=std,
        feature_names=feature_names,
        notes=notes,
    )


def _label_index(header: tuple[str, ...], label_column) -> int:
    if isinstance(label_column, str):
        return header.index(label_column)
    return (-1 if label_column is None else int(label_column)) % len(header)


def _point_error(exc: SpecError, y_raw: np.ndarray, class_names) -> SpecError:
    """Point a label problem at the first inline point that shows it."""
    if exc.field == "dataset.class_names" and class_names:
        bad = np.flatnonzero((y_raw < 0) | (y_raw >= len(class_names)) | (y_raw != np.round(y_raw)))
    elif exc.field == "dataset.task":
        bad = np.flatnonzero(y_raw != np.round(y_raw))
    else:
        bad = np.zeros(0, np.int64)
    if len(bad):
        i = int(bad[0])
        return DataError(None, None, exc.message, field=f"dataset.points[{i}]")
    return exc
