"""``python -m engine export-data SPEC.json FILE``: a spec's data written to a file.

The format follows the file's extension: ``.csv`` (header ``x1, ..., label``, class
names as labels), ``.svm``/``.libsvm``/``.txt`` (SVMlight / libsvm, class indices as
labels, 1-based feature indices) or ``.npz`` (arrays ``X`` and ``y``, class indices).
Both parts of the data (training and test) are written, raw (not standardized), in the
order of the spec's split, training rows first; the spec's ``test_fraction`` and ``seed``
rebuild the same split from the file only if the file is read with ``test_fraction`` 0.
Written so the course's data path (a LIBSVM file on the cluster) can be rehearsed with a
preset such as ``hyperspectral``.
"""

from __future__ import annotations

import os

import numpy as np

from .spec import SpecError, load_spec

FORMATS = {".csv": "csv", ".svm": "libsvm", ".libsvm": "libsvm", ".txt": "libsvm", ".npz": "npz"}


def export_data(spec_path: str, out_path: str) -> str:
    """Write the data of ``spec_path`` to ``out_path``; returns a one-line summary.

    Raises
    ------
    SpecError
        The spec or its data are invalid, the extension is unknown, or the file cannot
        be written (the message names it).
    """
    from .data import load_dataset
    from .loaders import write_csv, write_libsvm, write_npz

    ext = os.path.splitext(out_path)[1].lower()
    fmt = FORMATS.get(ext)
    if fmt is None:
        raise SpecError("", f"{out_path}: unknown extension {ext or '(none)'!r}; use one of {', '.join(FORMATS)}")
    spec = load_spec(spec_path)
    ds = load_dataset(spec)
    X = np.concatenate([ds.X_train, ds.X_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    classification = ds.task == "classification"
    try:
        if fmt == "csv":
            header = tuple(ds.feature_names) + ("label",)
            write_csv(out_path, X, y, class_names=ds.class_names if classification else None, header=header)
        elif fmt == "libsvm":
            write_libsvm(out_path, X, y)
        else:
            write_npz(out_path, X, y)
    except OSError as exc:
        raise SpecError("", f"cannot write {out_path}: {exc.strerror or exc}") from None
    what = f"{ds.n_classes} classes" if classification else "regression target"
    return f"wrote {out_path}: {len(X):,} rows, {X.shape[1]} features, {what} ({fmt})"
