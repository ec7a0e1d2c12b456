"""Input features: standardization followed by the Playground's engineered features.

For 2-D data the network's inputs are any of ``x1``, ``x2``, ``x1^2``, ``x2^2``,
``x1*x2``, ``sin(x1)``, ``sin(x2)`` (the Playground's input column). Data with another
number of columns only takes the default ``("x1", "x2")``, which then means "every
column as it is".

:class:`Preprocessor` is the one transform from raw features to network inputs: the
trainer, the decision grid (every frame, on a 200 x 200 grid) and a saved model all use
it, so it is vectorized, keeps the input's float dtype and can write into a caller's
buffer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .spec import FEATURES, RAW_FEATURES, SpecError

__all__ = ["expand_features", "Preprocessor", "n_feature_outputs"]


def _check_names(names) -> tuple[str, ...]:
    names = tuple(names)
    if not names:
        raise SpecError("features", "expected a non-empty list of feature names")
    for i, name in enumerate(names):
        if name not in FEATURES:
            raise SpecError(f"features[{i}]", f"{name!r} is not one of {', '.join(FEATURES)}")
    if len(set(names)) != len(names):
        raise SpecError("features", f"a feature is listed twice: {list(names)!r}")
    return names


def n_feature_outputs(names, d: int) -> int:
    """Number of network inputs that features ``names`` make from ``d`` raw columns.

    Raises
    ------
    SpecError
        ``field="features"`` when engineered features are asked of data that is not 2-D.
    """
    names = _check_names(names)
    if d == 2:
        return len(names)
    if names != RAW_FEATURES:
        raise SpecError(
            "features",
            f"engineered features ({', '.join(n for n in names if n not in RAW_FEATURES) or ', '.join(names)}) "
            f"need 2-D data, but the data has {d} feature columns; use the default [\"x1\", \"x2\"]",
        )
    return d


def _float_input(X) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype != np.float32 and X.dtype != np.float64:
        X = X.astype(np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected features of shape (n, d), got shape {X.shape}")
    return X


def _output(out, shape, dtype) -> np.ndarray:
    if out is None:
        return np.empty(shape, dtype=dtype)
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(f"out has shape {out.shape} and dtype {out.dtype}; expected {shape} {np.dtype(dtype)}")
    return out


def _expand_2d(x1: np.ndarray, x2: np.ndarray, names: tuple[str, ...], out: np.ndarray) -> None:
    """Write the columns ``names`` of (x1, x2) into ``out`` (n, len(names))."""
    for j, name in enumerate(names):
        col = out[:, j]
        if name == "x1":
            col[...] = x1
        elif name == "x2":
            col[...] = x2
        elif name == "x1^2":
            np.multiply(x1, x1, out=col)
        elif name == "x2^2":
            np.multiply(x2, x2, out=col)
        elif name == "x1*x2":
            np.multiply(x1, x2, out=col)
        elif name == "sin(x1)":
            np.sin(x1, out=col)
        elif name == "sin(x2)":
            np.sin(x2, out=col)


def expand_features(X: np.ndarray, names, out: np.ndarray | None = None) -> np.ndarray:
    """Compute feature columns from raw inputs (no standardization).

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Raw inputs; float32 stays float32, anything else becomes float64.
    names : sequence of str
        Feature names from ``FEATURES``. For d != 2 only ``("x1", "x2")`` is allowed and
        returns all d columns unchanged.
    out : ndarray, shape (n, k), optional
        Buffer to write into, of the result's dtype.

    Returns
    -------
    ndarray, shape (n, k)
        k = len(names) for 2-D data, else d.

    Raises
    ------
    SpecError
        Unknown or repeated names, or engineered features on data that is not 2-D.
    """
    return Preprocessor(names)(X, out=out)


@dataclass(frozen=True, eq=False)
class Preprocessor:
    """Standardize, then expand features: the map from raw data to network inputs.

    Parameters
    ----------
    features : tuple of str
        Names from ``FEATURES``.
    mean, std : array_like, shape (d,), optional
        Standardization ``(X - mean) / std``; None for none.
    """

    features: tuple[str, ...] = RAW_FEATURES
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    def __post_init__(self):
        object.__setattr__(self, "features", _check_names(self.features))
        if (self.mean is None) != (self.std is None):
            raise ValueError("give both mean and std, or neither")
        if self.mean is not None:
            mean = np.array(self.mean, dtype=np.float64).reshape(-1)
            std = np.array(self.std, dtype=np.float64).reshape(-1)
            if mean.shape != std.shape:
                raise ValueError(f"mean has shape {mean.shape} but std has {std.shape}")
            if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
                raise ValueError("mean must be finite and std finite and positive")
            mean.setflags(write=False)
            std.setflags(write=False)
            object.__setattr__(self, "mean", mean)
            object.__setattr__(self, "std", std)
            # Multiplying by 1/std is cheaper than dividing, per frame; keep one copy per dtype.
            # A scale beyond float32 becomes inf in its float32 copy, used only for float32 input.
            with np.errstate(over="ignore", under="ignore"):
                scale = {dt: (mean.astype(dt), (1.0 / std).astype(dt)) for dt in (np.float32, np.float64)}
            object.__setattr__(self, "_scale", scale)
        else:
            object.__setattr__(self, "_scale", None)

    @classmethod
    def for_dataset(cls, spec, dataset) -> "Preprocessor":
        """The preprocessor of a run: ``spec.features`` with the data set's standardization.

        Raises
        ------
        SpecError
            The features do not fit the data (engineered features on data that is not 2-D).
        """
        pre = cls(tuple(spec.features), dataset.mean, dataset.std)
        pre.n_outputs(dataset.n_features_raw)
        return pre

    @property
    def standardizes(self) -> bool:
        return self.mean is not None

    def n_outputs(self, d: int) -> int:
        """Number of network inputs for ``d`` raw columns (raises SpecError if they do not fit)."""
        return n_feature_outputs(self.features, d)

    def __call__(self, X_raw: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Map raw inputs to network inputs.

        Parameters
        ----------
        X_raw : ndarray, shape (n, d)
            float32 input gives float32 output, anything else float64.
        out : ndarray, shape (n, k), optional
            Buffer of the output's dtype to write into (returned). Any memory layout; a
            Fortran-ordered buffer (columns contiguous) is about twice as fast to fill.

        Returns
        -------
        ndarray, shape (n, k)
        """
        X = _float_input(X_raw)
        n, d = X.shape
        k = self.n_outputs(d)
        if self.mean is not None and self.mean.shape[0] != d:
            raise ValueError(f"the standardization has {self.mean.shape[0]} columns, the data {d}")
        out = _output(out, (n, k), X.dtype)
        scale = self._scale[X.dtype.type] if self._scale is not None else None
        if d != 2 or self.features == RAW_FEATURES:
            if scale is None:
                out[...] = X
            elif d <= 8:
                # Few columns: one column at a time with scalars. Broadcasting a (d,) row
                # over (n, d) runs an inner loop of length d, several times slower here.
                for j in range(d):
                    np.subtract(X[:, j], scale[0][j], out=out[:, j])
                    np.multiply(out[:, j], scale[1][j], out=out[:, j])
            else:
                np.subtract(X, scale[0], out=out)
                out *= scale[1]
            return out
        if scale is None:
            # Contiguous copies: reading unit-stride columns pays for the copy.
            x1, x2 = np.ascontiguousarray(X[:, 0]), np.ascontiguousarray(X[:, 1])
        else:
            # Contiguous standardized columns: the expansion then reads unit-stride data.
            x1 = np.subtract(X[:, 0], scale[0][0])
            x1 *= scale[1][0]
            x2 = np.subtract(X[:, 1], scale[0][1])
            x2 *= scale[1][1]
        _expand_2d(x1, x2, self.features, out)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"features": [...], "mean": [...] or None, "std": ...}``."""
        return {
            "features": list(self.features),
            "mean": None if self.mean is None else self.mean.tolist(),
            "std": None if self.std is None else self.std.tolist(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Preprocessor":
        """Inverse of :meth:`to_dict`; raises SpecError on malformed input."""
        if not isinstance(d, Mapping) or "features" not in d:
            raise SpecError("preprocessor", "expected an object with 'features', 'mean' and 'std'")
        try:
            return cls(tuple(d["features"]), d.get("mean"), d.get("std"))
        except (ValueError, TypeError) as exc:
            if isinstance(exc, SpecError):
                raise
            raise SpecError("preprocessor", str(exc)) from None
