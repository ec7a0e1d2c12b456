"""Do the network inputs fit the training precision?

Data are read as float64, but a ``float32`` run casts the network inputs to float32,
whose largest value is about 3.4e38. A value such as 1e39 would become infinite there,
and the run would then "diverge" for a reason that has nothing to do with the learning
rate. :func:`check_inputs_fit` finds such a value before training and names the column,
the value and two ways out (standardizing, or ``float64``).
"""

from __future__ import annotations

import numpy as np

from .spec import SpecError

#: rows preprocessed at a time, so the check needs little memory beyond the data itself
CHUNK_ROWS = 65_536


def input_names(preprocess, raw_names) -> tuple[str, ...]:
    """Names of the network inputs: the engineered features, else the raw columns."""
    d = len(raw_names)
    if d == 2 and tuple(preprocess.features) != ("x1", "x2"):
        return tuple(preprocess.features)
    return tuple(raw_names)


def check_inputs_fit(X_raw: np.ndarray, preprocess, dtype, raw_names, where: str = "the data") -> None:
    """Raise SpecError when a network input is not finite in ``dtype``.

    Parameters
    ----------
    X_raw : ndarray, shape (n, d)
        Raw features (float64).
    preprocess : engine.features.Preprocessor
        The map to network inputs (standardization, engineered features).
    dtype : numpy dtype
        The training precision.
    raw_names : sequence of str
        One name per raw column, for the message.
    where : str
        Where the data came from, for the message.

    Raises
    ------
    SpecError
        Field ``dataset``: the first input column and value that do not fit, and what to
        change.
    """
    X_raw = np.asarray(X_raw)
    if X_raw.size == 0:
        return
    limit = float(np.finfo(dtype).max)
    names = input_names(preprocess, raw_names)
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, X_raw.shape[0], CHUNK_ROWS):
            F = preprocess(np.asarray(X_raw[start:start + CHUNK_ROWS], np.float64))
            bad = ~(np.abs(F) <= limit)
            if not bad.any():
                continue
            r, j = (int(v) for v in np.argwhere(bad)[0])
            name = names[j] if j < len(names) else f"input {j + 1}"
            raw = X_raw[start + r]
            if not np.isfinite(F[r, j]):
                biggest = float(np.max(np.abs(raw)))
                raise SpecError(
                    "dataset",
                    f"input {name!r} of {where} is not finite after preprocessing (raw values up to {biggest:g} "
                    "overflow float64 when standardized or squared); rescale that column",
                )
            standardized = preprocess.standardizes
            advice = ("set train.dtype to float64" if standardized
                      else "set dataset.standardize to true, or train.dtype to float64")
            raise SpecError(
                "dataset",
                f"input {name!r} of {where} holds {F[r, j]:g}, which does not fit {np.dtype(dtype).name} "
                f"(largest {limit:.3g}); {advice}",
            )
