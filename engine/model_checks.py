"""Checks on a ``model.npz`` before it is used, and mapping labels to its classes.

A model file can be damaged (cut short by a full disk, edited by hand, written by another
program). :func:`check_model_arrays` looks at every array ``load_model`` and ``predict``
will use and raises one :class:`SpecError` naming the array and what is wrong, so that a
bad file never ends in a traceback. :func:`label_indices` maps the labels of a file to
be predicted through the class names stored in the model, the same way training mapped
them.
"""

from __future__ import annotations

import numpy as np

from .spec import SpecError

REQUIRED = ("format", "spec", "features", "mean", "std", "task", "n_classes", "class_names", "n_layers")


def _fail(path: str, message: str) -> SpecError:
    return SpecError("", f"{path} is damaged: {message}")


def _scalar_int(data: dict, key: str, path: str) -> int:
    value = data[key]
    if value.ndim != 0 or value.dtype.kind not in "iu":
        raise _fail(path, f"{key!r} should be one whole number, got an array of shape {value.shape} ({value.dtype})")
    return int(value)


def check_model_arrays(data: dict, path: str) -> None:
    """Raise SpecError (one line) unless the arrays of a model file fit together.

    Parameters
    ----------
    data : dict of str to ndarray
        The arrays of the ``.npz`` file.
    path : str
        The file, for messages.

    Checks: every required array is present; ``n_layers`` and ``n_classes`` are whole
    numbers; ``W0``, ``b0``, ... exist, are finite numbers, ``W`` 2-D and ``b`` 1-D, and
    each layer's width is the next layer's input; ``class_names`` holds one name per class;
    ``mean`` and ``std`` are empty or one finite value per raw column (``std > 0``), and
    the inputs they and ``features`` make match ``W0``'s rows.
    """
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise _fail(path, f"array {missing[0]!r} is missing")
    n_layers = _scalar_int(data, "n_layers", path)
    n_classes = _scalar_int(data, "n_classes", path)
    if n_layers < 1:
        raise _fail(path, f"'n_layers' is {n_layers}")
    task = str(data["task"]) if data["task"].ndim == 0 else ""
    if task not in ("classification", "regression"):
        raise _fail(path, f"'task' should be 'classification' or 'regression', got {data['task']!r}")
    width = None
    for i in range(n_layers):
        for key, ndim in ((f"W{i}", 2), (f"b{i}", 1)):
            if key not in data:
                raise _fail(path, f"array {key!r} is missing ('n_layers' is {n_layers})")
            a = data[key]
            if a.dtype.kind != "f":
                raise _fail(path, f"{key!r} holds {a.dtype}, not floating-point numbers")
            if a.ndim != ndim:
                raise _fail(path, f"{key!r} has shape {a.shape}; expected {ndim}-D")
            if a.size == 0:
                raise _fail(path, f"{key!r} is empty (shape {a.shape})")
            if not np.isfinite(a).all():
                raise _fail(path, f"{key!r} holds NaN or infinite values")
        W, b = data[f"W{i}"], data[f"b{i}"]
        if width is not None and W.shape[0] != width:
            raise _fail(path, f"'W{i}' has {W.shape[0]} rows but the layer before it has {width} outputs")
        if b.shape[0] != W.shape[1]:
            raise _fail(path, f"'b{i}' has {b.shape[0]} values for the {W.shape[1]} columns of 'W{i}'")
        width = W.shape[1]
    names = data["class_names"]
    if task == "classification":
        if n_classes < 2:
            raise _fail(path, f"'n_classes' is {n_classes}; a classifier has two or more")
        if names.ndim != 1 or names.dtype.kind not in "US" or len(names) != n_classes:
            raise _fail(path, f"'class_names' holds {names.size} names (shape {names.shape}) for {n_classes} classes")
    features = data["features"]
    if features.ndim != 1 or features.dtype.kind not in "US" or features.size == 0:
        raise _fail(path, f"'features' should be a list of feature names, got shape {features.shape}")
    mean, std = data["mean"], data["std"]
    if mean.size or std.size:
        if mean.dtype.kind != "f" or std.dtype.kind != "f" or mean.ndim != 1 or mean.shape != std.shape:
            raise _fail(path, f"'mean' {mean.shape} and 'std' {std.shape} should be two equal 1-D arrays")
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise _fail(path, "'mean' and 'std' should be finite with 'std' > 0")
        from .features import n_feature_outputs

        try:
            n_inputs = n_feature_outputs(tuple(str(f) for f in features), mean.shape[0])
        except SpecError as exc:
            raise _fail(path, f"'features' and 'mean' do not fit: {exc.message}") from None
        if n_inputs != data["W0"].shape[0]:
            raise _fail(path, f"'mean' and 'std' describe {mean.shape[0]} columns, which make {n_inputs} inputs, "
                              f"but 'W0' takes {data['W0'].shape[0]}")


def label_indices(labels: np.ndarray, class_names, given_names: bool) -> np.ndarray:
    """The class index of every label, through the model's class names.

    Parameters
    ----------
    labels : ndarray, shape (n,)
        Numbers (``float64``) or text, as ``read_csv`` returns them.
    class_names : sequence of str
        The model's classes 0..C-1 (``class_names`` in ``model.npz``).
    given_names : bool
        The spec named the classes (``dataset.class_names``): then whole-number labels
        0..C-1 are class indices, as in training.

    Returns
    -------
    ndarray, shape (n,), int64
        0..C-1, or -1 for a label that is not one of the model's classes.
    """
    lookup = {str(name): i for i, name in enumerate(class_names)}
    C = len(lookup)
    labels = np.asarray(labels)
    out = np.full(len(labels), -1, np.int64)
    if labels.dtype.kind in "US":
        for k, v in enumerate(labels.astype(str)):
            out[k] = lookup.get(v.strip(), -1)
        return out
    for k, v in enumerate(labels.astype(np.float64)):
        whole = float(v).is_integer() and abs(v) < 2**53
        text = str(int(v)) if whole else repr(float(v))
        # Training named numeric classes by their value ("3"); the painter's by "class 3".
        index = lookup.get(text, lookup.get(f"class {text}", -1))
        if index < 0 and given_names and whole and 0 <= v < C:
            index = int(v)
        out[k] = index
    return out
