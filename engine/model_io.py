"""``model.npz``: a trained network, its preprocessing and its spec in one file, never pickled.

The file is a plain NumPy ``.npz`` archive of arrays and strings, readable with
``np.load(path, allow_pickle=False)`` by anyone, and written atomically. The CLI writes it
(``python -m engine train``), the Playground and the Cluster view read it; all of them go
through this module.

Arrays: ``format`` (:data:`MODEL_FORMAT`), ``spec`` (the run spec as JSON text, without
``weights``), ``features``, ``mean`` / ``std`` (empty when the data are not standardized),
``task``, ``n_classes``, ``class_names``, ``n_layers``, and ``W0``, ``b0``, ``W1``, ... input
to output.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from .features import Preprocessor
from .fileio import atomic_write_with
from .model import Network
from .model_checks import check_model_arrays
from .spec import RunSpec, SpecError

__all__ = ["MODEL_FORMAT", "save_model", "load_model", "load_class_names", "read_model_arrays"]

MODEL_FORMAT = "scalelab-model-1"


def save_model(path: str | os.PathLike, spec: RunSpec, preprocess: Preprocessor, network: Network,
               class_names=()) -> None:
    """Write ``model.npz`` atomically (plain arrays only; no pickled objects).

    Parameters
    ----------
    path : str or PathLike
        The file to write; an existing one is replaced in one step.
    spec : RunSpec
        Stored without its ``weights`` (the layers hold them).
    preprocess : Preprocessor
        The features and the standardization the network expects.
    network : Network
        Every layer's ``W (n_in, n_out)`` and ``b (n_out,)`` are stored.
    class_names : sequence of str, optional
        Names of the classes, index order.
    """
    arrays = {
        "format": np.array(MODEL_FORMAT),
        "spec": np.array(spec.with_(weights=None).to_json()),
        "features": np.array(list(preprocess.features)),
        "mean": np.zeros(0) if preprocess.mean is None else np.asarray(preprocess.mean, np.float64),
        "std": np.zeros(0) if preprocess.std is None else np.asarray(preprocess.std, np.float64),
        "task": np.array(network.task),
        "n_classes": np.array(network.n_classes),
        "class_names": np.array(list(class_names), dtype=str) if len(class_names) else np.zeros(0, dtype="<U1"),
        "n_layers": np.array(len(network.layers)),
    }
    for i, layer in enumerate(network.layers):
        arrays[f"W{i}"] = np.array(layer.W)
        arrays[f"b{i}"] = np.array(layer.b)

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    atomic_write_with(path, write)


def read_model_arrays(path: str | os.PathLike) -> dict:
    """Every array of a model file, checked for the format tag; one SpecError line when it
    is missing, truncated, a single array or not a zip archive."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise ValueError("a single array, not an .npz archive")
            data = {k: z[k] for k in z.files}
    except OSError as exc:
        raise SpecError("", f"cannot read model file {path}: {exc.strerror or exc}") from None
    except (ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise SpecError("", f"{path} is not a model file written by 'python -m engine train', or it is "
                            f"damaged or cut short ({exc})") from None
    if str(data.get("format", "")) != MODEL_FORMAT:
        raise SpecError("", f"{path} is not a model file written by 'python -m engine train' (no format {MODEL_FORMAT})")
    return data


def load_model(path: str | os.PathLike) -> tuple[RunSpec, Preprocessor, Network]:
    """Read a ``model.npz`` written by :func:`save_model`.

    Returns
    -------
    spec : RunSpec
    preprocess : Preprocessor
    network : Network
        With the trained weights.

    Raises
    ------
    SpecError
        The file is missing, not a model file, or inconsistent; the message names it.
    """
    path = os.fspath(path)
    data = read_model_arrays(path)
    check_model_arrays(data, path)
    try:
        spec = RunSpec.from_dict(json.loads(str(data["spec"])))
        mean = data["mean"] if data["mean"].size else None
        std = data["std"] if data["std"].size else None
        preprocess = Preprocessor(tuple(str(f) for f in data["features"]), mean, std)
        n_layers = int(data["n_layers"])
        weights = [{"W": data[f"W{i}"], "b": data[f"b{i}"]} for i in range(n_layers)]
        n_classes = int(data["n_classes"])
        network = Network.from_spec(spec, weights[0]["W"].shape[0], n_classes)
        network.set_weights(weights)
    except SpecError as exc:
        raise SpecError(exc.field, f"{path}: {exc.message}") from None
    except (KeyError, ValueError, IndexError, TypeError, RecursionError, json.JSONDecodeError) as exc:
        raise SpecError("", f"{path} is damaged or incomplete: {exc}") from None
    return spec, preprocess, network


def load_class_names(path: str | os.PathLike) -> tuple[str, ...]:
    """The class names stored in a model file, index order (empty for regression or unnamed).

    Raises
    ------
    SpecError
        As :func:`load_model`.
    """
    path = os.fspath(path)
    data = read_model_arrays(path)
    return tuple(str(c) for c in data.get("class_names", ()))
