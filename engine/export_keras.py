"""Export a run as a stand-alone Keras 3 script, its data and (optionally) its weights.

``export_keras(spec, "lesson.py")`` writes three files side by side:

- ``lesson.py``: a script that needs only NumPy and Keras 3 (any backend). It reads the
  data, standardizes it on the training part and computes the feature crosses exactly as
  :class:`engine.features.Preprocessor` does, builds the same network (Dense layers,
  activations, initializers, L1/L2, dropout, a linear output layer with softmax
  cross-entropy, squared error or the perceptron criterion), compiles it with the same
  optimizer, learning rate and batch size and fits it with the test part as validation
  data, printing Keras's usual progress lines;
- ``lesson_data.csv``: every sample, training part first, with a ``part`` column
  (``train``/``test``) that is ScaleLab's split, so both train on the same rows;
- ``lesson_weights.npz`` (when weights are given): ``W0``, ``b0``, ``W1``, ... which the
  script loads with ``model.set_weights`` under ``--scalelab-weights``.

The script is made of plain functions (``load_data``, ``fit_standardization``,
``make_features``, ``build_model``, ``compile_model``, ``fit_model``) so that a notebook
can define the same code in its cells (:mod:`engine.export_notebook`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .data import Dataset, load_dataset
from .features import Preprocessor
from .fileio import atomic_write, atomic_write_with
from .model import Network
from .spec import RunSpec, SpecError

__all__ = ["ExportError", "ExportedRun", "prepare_export", "export_keras", "keras_script_source",
           "write_data_csv", "write_weights_npz", "write_text_atomic", "companion_paths", "describe_run",
           "data_source_words", "settings_source", "scalelab_scores", "DATA_CODE", "KERAS_CODE"]


class ExportError(SpecError):
    """The run cannot be exported (the message names the file or the problem)."""

    def __init__(self, message: str):
        super().__init__("", message)


@dataclass(frozen=True)
class ExportedRun:
    """What an export needs: the spec, its data and the weights to hand over.

    Attributes
    ----------
    spec : RunSpec
    dataset : Dataset
        The data exactly as ScaleLab trains on it (its split included).
    weights : list of dict or None
        ``[{"W": (n_in, n_out), "b": (n_out,)}, ...]`` input to output, or None.
    n_inputs, n_outputs : int
        Network inputs after the features; classes (or 1 for regression, or 1 for the
        two-class perceptron's single score).
    """

    spec: RunSpec
    dataset: Dataset
    weights: list | None
    n_inputs: int
    n_outputs: int


def prepare_export(spec: RunSpec, dataset: Dataset | None = None, weights=None) -> ExportedRun:
    """Load the data and check that the network (and weights) can be built.

    Parameters
    ----------
    spec : RunSpec
    dataset : Dataset, optional
        The data to export; default ``load_dataset(spec)``.
    weights : list of dict, optional
        Trained weights; default ``spec.weights`` (None when it has none).

    Raises
    ------
    SpecError, DataError
        The data cannot be loaded or the weights do not fit the network.
    """
    if not spec.model.is_network:
        # (a network script for an SVM or a clustering would train something else under its name)
        raise SpecError("model.kind", f"{spec.model.kind}: the Keras script and notebook are written for networks "
                                      "(mlp, logistic, perceptron) only")
    ds = dataset if dataset is not None else load_dataset(spec)
    pre = Preprocessor.for_dataset(spec, ds)
    n_inputs = pre.n_outputs(ds.n_features_raw)
    n_classes = ds.n_classes if ds.is_classification else 1
    net = Network.from_spec(spec.with_(weights=None), n_inputs, n_classes)
    if weights is None and spec.weights is not None:
        weights = spec.weights
    if weights is not None:
        net.set_weights(weights)  # raises SpecError naming the layer that does not fit
        weights = [{"W": np.asarray(w["W"], np.float64), "b": np.asarray(w["b"], np.float64)} for w in weights]
    return ExportedRun(spec=spec, dataset=ds, weights=weights, n_inputs=n_inputs, n_outputs=net.n_outputs)


def companion_paths(path: str | os.PathLike) -> tuple[str, str]:
    """The data CSV and weights file written beside ``path`` (``X.py`` -> ``X_data.csv``, ``X_weights.npz``)."""
    stem = os.path.splitext(os.fspath(path))[0]
    return f"{stem}_data.csv", f"{stem}_weights.npz"


# ----------------------------------------------------------------------------- data files


def _csv_cell(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_data_csv(path: str | os.PathLike, dataset: Dataset) -> None:
    """Write every sample with its label and part: ``features..., label, part``.

    Training rows come first, then test rows, each in ScaleLab's order. Numbers are
    written with ``repr`` (they read back bit for bit); class labels as class names.
    """
    path = os.fspath(path)
    names = list(dataset.feature_names)
    if "label" in names or "part" in names:
        names = [f"x{i + 1}" for i in range(len(names))]
    lines = [",".join(_csv_cell(n) for n in names + ["label", "part"])]
    for X, y, part in ((dataset.X_train, dataset.y_train, "train"), (dataset.X_test, dataset.y_test, "test")):
        for row, label in zip(X.tolist(), y.tolist()):
            cells = [repr(float(v)) for v in row]
            cells.append(_csv_cell(dataset.class_names[int(label)]) if dataset.is_classification
                         else repr(float(label)))
            cells.append(part)
            lines.append(",".join(cells))
    write_text_atomic(path, "\n".join(lines) + "\n")


def write_weights_npz(path: str | os.PathLike, weights) -> None:
    """Write ``W0``, ``b0``, ``W1``, ... (float64, Keras's ``(n_in, n_out)`` kernel layout)."""
    arrays = {}
    for i, w in enumerate(weights):
        arrays[f"W{i}"] = np.asarray(w["W"], np.float64)
        arrays[f"b{i}"] = np.asarray(w["b"], np.float64)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    atomic_write_with(path, write)


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` as UTF-8 with ``\\n`` line ends, atomically (a crash never leaves half a file)."""
    atomic_write(path, text)


# ----------------------------------------------------------------------------- the script


def settings_source(run: ExportedRun) -> str:
    """The settings block: plain Python assignments of everything the run is made of."""
    spec, ds = run.spec, run.dataset
    t, m = spec.train, spec.model
    lines = [
        f"TASK = {ds.task!r}",
        f"CLASS_NAMES = {list(ds.class_names)!r}",
        f"FEATURES = {list(spec.features)!r}",
        f"STANDARDIZE = {spec.dataset.standardize!r}",
        f"MODEL_KIND = {m.kind!r}",
        f"HIDDEN = {list(m.hidden)!r}",
        f"ACTIVATIONS = {list(m.activations)!r}",
        f"N_OUTPUTS = {run.n_outputs!r}",
        f"EPOCHS = {t.epochs!r}",
        f"BATCH_SIZE = {t.batch_size!r}",
        f"OPTIMIZER = {t.optimizer!r}",
        f"LEARNING_RATE = {t.learning_rate!r}",
        f"MOMENTUM = {t.momentum!r}",
        f"L1 = {t.l1!r}",
        f"L2 = {t.l2!r}",
        f"DROPOUT = {t.dropout!r}",
        f"SEED = {t.seed!r}",
        f"DTYPE = {t.dtype!r}",
        f"PATIENCE = {t.patience!r}",
    ]
    return "\n".join(lines) + "\n"


#: Data and preprocessing, plain NumPy: the same numbers as engine.features.Preprocessor.
DATA_CODE = '''
def load_data(path):
    """Read the exported data: (X_train, y_train, X_test, y_test).

    X: (n, d) float64 raw features; y: class indices 0..C-1 (int64, in the order of
    CLASS_NAMES) or float64 targets. The 'part' column is ScaleLab's train/test split.
    """
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, rows = rows[0], rows[1:]
    d = len(header) - 2
    X = np.array([[float(v) for v in row[:d]] for row in rows], dtype=np.float64).reshape(-1, d)
    if TASK == "classification":
        index = {name: i for i, name in enumerate(CLASS_NAMES)}
        y = np.array([index[row[d]] for row in rows], dtype=np.int64)
    else:
        y = np.array([float(row[d]) for row in rows], dtype=np.float64)
    train = np.array([row[d + 1] == "train" for row in rows], dtype=bool)
    return X[train], y[train], X[~train], y[~train]


def fit_standardization(X_train):
    """Mean and standard deviation of the TRAINING part only, shapes (d,).

    A constant column keeps a scale of 1 (it is only centred). Computed on the columns
    divided by their largest magnitude and scaled back (as ScaleLab does), so huge values
    neither overflow the sum nor the squares.
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    if X_train.shape[0] == 0:
        return np.zeros(X_train.shape[1]), np.ones(X_train.shape[1])
    scale = np.max(np.abs(X_train), axis=0)
    scale[~(scale > 0)] = 1.0
    Xs = X_train / scale
    mean_s = Xs.mean(axis=0)
    std_s = Xs.std(axis=0)
    mean = mean_s * scale
    std = std_s * scale
    std[~((std_s > 1e-12 * np.maximum(1.0, np.abs(mean_s))) & np.isfinite(std) & (std > 0))] = 1.0
    return mean, std


def make_features(X, mean=None, std=None):
    """Raw (n, d) inputs to network inputs: standardize, then the feature columns.

    For 2-D data the columns are FEATURES (x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2));
    other data use every column as it is.
    """
    X = np.asarray(X, dtype=np.float64)
    if mean is not None:
        X = (X - mean) * (1.0 / std)
    if X.shape[1] != 2 or FEATURES == ["x1", "x2"]:
        F = X
    else:
        x1, x2 = X[:, 0], X[:, 1]
        columns = {"x1": x1, "x2": x2, "x1^2": x1 * x1, "x2^2": x2 * x2, "x1*x2": x1 * x2,
                   "sin(x1)": np.sin(x1), "sin(x2)": np.sin(x2)}
        F = np.stack([columns[name] for name in FEATURES], axis=1)
    return np.ascontiguousarray(F, dtype=DTYPE)
'''

#: The network, its loss and optimizer, and training: Keras 3, any backend.
KERAS_CODE = '''
LEAKY_SLOPE = 0.01  # ScaleLab's leaky ReLU (Keras's own default slope is 0.2)


def choose_keras_backend():
    """Keep the configured Keras backend; where it is not installed, use one that is.

    KERAS_BACKEND, else ~/.keras/keras.json, names the backend (TensorFlow by default). When
    that one is missing, the first installed of tensorflow, torch and jax is used instead,
    so the script runs wherever any of them is. Call it before Keras is imported.
    """
    import importlib.util
    import json

    wanted = os.environ.get("KERAS_BACKEND")
    if wanted is None:
        config = os.path.join(os.path.expanduser(os.environ.get("KERAS_HOME", "~/.keras")), "keras.json")
        try:
            with open(config, encoding="utf-8") as fh:
                wanted = json.load(fh).get("backend")
        except (OSError, ValueError, AttributeError):
            wanted = None
    module = {"tensorflow": "tensorflow", "torch": "torch", "jax": "jax", "numpy": "numpy"}.get(wanted or "tensorflow")
    if module and importlib.util.find_spec(module) is not None:
        return
    for name in ("tensorflow", "torch", "jax"):
        if importlib.util.find_spec(name) is not None:
            os.environ["KERAS_BACKEND"] = name
            return


def _initializer(activation, keras):
    """ScaleLab's uniform initialisation: He for ReLU-like layers, Glorot otherwise."""
    if activation in ("relu", "leaky_relu"):
        return keras.initializers.HeUniform()
    if activation == "sigmoid":
        # Glorot's factor 4 for the logistic function: limit 4 * sqrt(6 / (fan_in + fan_out)).
        return keras.initializers.VarianceScaling(16.0, mode="fan_avg", distribution="uniform")
    return keras.initializers.GlorotUniform()


def build_model(n_inputs):
    """The network: Dense hidden layers and a linear output layer (scores, not probabilities)."""
    import keras

    if DTYPE == "float64":
        keras.config.set_floatx("float64")
    keras.utils.set_random_seed(SEED)
    # ScaleLab's penalty is l1 * sum|W| + l2 / 2 * sum W^2 over every layer's weights.
    penalty = keras.regularizers.L1L2(l1=L1, l2=L2 / 2) if (L1 or L2) else None
    model = keras.Sequential(name="scalelab_" + MODEL_KIND)
    model.add(keras.Input(shape=(n_inputs,)))
    for width, activation in zip(HIDDEN, ACTIVATIONS):
        keras_activation = None if activation in ("leaky_relu", "linear") else activation
        model.add(keras.layers.Dense(width, activation=keras_activation,
                                     kernel_initializer=_initializer(activation, keras),
                                     kernel_regularizer=penalty))
        if activation == "leaky_relu":
            model.add(keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE))
        if DROPOUT > 0:
            model.add(keras.layers.Dropout(DROPOUT, seed=SEED))
    # Logistic regression and the perceptron start from zeros, as they are taught.
    output_init = "glorot_uniform" if MODEL_KIND == "mlp" else "zeros"
    model.add(keras.layers.Dense(N_OUTPUTS, kernel_initializer=output_init, kernel_regularizer=penalty))
    return model


def load_scalelab_weights(model, path):
    """Start from ScaleLab's trained weights: W0, b0, W1, b1, ... of a .npz file."""
    with np.load(path, allow_pickle=False) as z:
        arrays = [z[f"{kind}{i}"] for i in range(len(z.files) // 2) for kind in ("W", "b")]
    model.set_weights(arrays)


def perceptron_criterion(y_true, scores):
    """Rosenblatt's criterion: its gradient step is the perceptron rule (mistakes only)."""
    from keras import ops

    y = ops.reshape(ops.cast(y_true, "int32"), (-1,))
    if N_OUTPUTS == 1:
        t = 2.0 * ops.cast(ops.reshape(y, (-1, 1)), scores.dtype) - 1.0
        mistake = ops.stop_gradient(ops.cast(t * scores <= 0, scores.dtype))
        return ops.mean(-t * scores * mistake, axis=-1)
    predicted = ops.stop_gradient(ops.one_hot(ops.argmax(scores, axis=1), N_OUTPUTS, dtype=scores.dtype))
    truth = ops.one_hot(y, N_OUTPUTS, dtype=scores.dtype)
    return ops.sum(scores * (predicted - truth), axis=-1)


def perceptron_accuracy(y_true, scores):
    from keras import ops

    y = ops.reshape(ops.cast(y_true, "int32"), (-1,))
    if N_OUTPUTS == 1:
        predicted = ops.cast(ops.reshape(scores, (-1,)) > 0, "int32")
    else:
        predicted = ops.cast(ops.argmax(scores, axis=1), "int32")
    return ops.cast(ops.equal(predicted, y), "float32")


def compile_model(model):
    """The same optimizer, learning rate and loss as ScaleLab."""
    import keras

    if OPTIMIZER == "adam":
        optimizer = keras.optimizers.Adam(LEARNING_RATE, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    elif OPTIMIZER == "momentum":
        optimizer = keras.optimizers.SGD(LEARNING_RATE, momentum=MOMENTUM)
    else:
        optimizer = keras.optimizers.SGD(LEARNING_RATE)
    if TASK == "regression":
        loss, metrics = keras.losses.MeanSquaredError(), []
    elif MODEL_KIND == "perceptron":
        perceptron_accuracy.__name__ = "accuracy"
        loss, metrics = perceptron_criterion, [perceptron_accuracy]
    else:
        # Softmax cross-entropy on the output layer's scores.
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model


def fit_model(model, F_train, y_train, F_test, y_test, epochs=EPOCHS, verbose="auto"):
    """Train with the test part as validation data; returns Keras's History."""
    import keras

    callbacks = []
    if PATIENCE > 0:
        watched = "val_loss" if len(F_test) else "loss"
        callbacks.append(keras.callbacks.EarlyStopping(monitor=watched, patience=PATIENCE))
    validation = (F_test, y_test) if len(F_test) else None
    return model.fit(F_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, shuffle=True,
                     validation_data=validation, callbacks=callbacks, verbose=verbose)


def test_scores(model, F_test, y_test):
    """Test loss and accuracy (None for regression) of the model as it is now."""
    if len(F_test) == 0:
        return None, None
    values = model.evaluate(F_test, y_test, batch_size=max(BATCH_SIZE, 256), verbose=0, return_dict=True)
    return float(values["loss"]), (float(values["accuracy"]) if "accuracy" in values else None)
'''

MAIN_CODE = '''

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--scalelab-weights", dest="scalelab_weights", action="store_true",
                       default=START_FROM_SCALELAB_WEIGHTS,
                       help="start from ScaleLab's trained weights" + (" (the default)" if START_FROM_SCALELAB_WEIGHTS else ""))
    start.add_argument("--from-scratch", dest="scalelab_weights", action="store_false",
                       help="start from new random weights" + ("" if START_FROM_SCALELAB_WEIGHTS else " (the default)"))
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs to train (default {EPOCHS})")
    parser.add_argument("--save-predictions", metavar="FILE.npz",
                        help="write the test part's outputs before and after training, and the history")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                        help="Keras's progress output: 0 none, 1 progress bar, 2 one line per epoch")
    args = parser.parse_args(argv)
    if args.scalelab_weights and not os.path.isfile(WEIGHTS_FILE):
        parser.error(f"no ScaleLab weights at {WEIGHTS_FILE}; export with --weights, or use --from-scratch")
    if args.epochs < 0:
        parser.error("--epochs must be 0 or more")

    choose_keras_backend()
    X_train, y_train, X_test, y_test = load_data(DATA_FILE)
    mean, std = fit_standardization(X_train) if STANDARDIZE else (None, None)
    F_train, F_test = make_features(X_train, mean, std), make_features(X_test, mean, std)
    print(f"data: {len(F_train)} training and {len(F_test)} test samples, {F_train.shape[1]} inputs")

    model = compile_model(build_model(F_train.shape[1]))
    if args.scalelab_weights:
        load_scalelab_weights(model, WEIGHTS_FILE)
        print(f"starting from ScaleLab's weights in {os.path.basename(WEIGHTS_FILE)}")
    model.summary()
    before = model.predict(F_test, verbose=0) if len(F_test) else np.zeros((0, N_OUTPUTS))
    history = {}
    if args.epochs > 0:
        # A terminal gets the live progress bar; a log file (a cluster job) one line per epoch.
        verbose = (1 if sys.stdout.isatty() else 2) if args.verbose is None else args.verbose
        history = fit_model(model, F_train, y_train, F_test, y_test, epochs=args.epochs, verbose=verbose).history
    loss, accuracy = test_scores(model, F_test, y_test)
    if loss is not None:
        print(f"test loss: {loss:.4f}")
    if accuracy is not None:
        print(f"test accuracy: {accuracy:.4f}")
    if args.save_predictions:
        after = model.predict(F_test, verbose=0) if len(F_test) else np.zeros((0, N_OUTPUTS))
        curves = {f"history_{k}": np.asarray(v, np.float64) for k, v in history.items()}
        np.savez(args.save_predictions, before=np.asarray(before), after=np.asarray(after),
                 test_loss=np.float64(np.nan if loss is None else loss),
                 test_accuracy=np.float64(np.nan if accuracy is None else accuracy), **curves)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def describe_run(run: ExportedRun, source: str) -> list[str]:
    """Four lines saying what the run is (data, features, network, training), ``source`` naming the data."""
    spec, ds = run.spec, run.dataset
    m, t = spec.model, spec.train
    what = (f"{ds.n_classes} classes ({', '.join(ds.class_names)})" if ds.is_classification else "regression")
    net = [str(run.n_inputs)] + [str(w) for w in m.hidden] + [str(run.n_outputs)]
    acts = ", ".join(m.activations) if m.hidden else "no hidden layer"
    extra = []
    if t.l1:
        extra.append(f"L1 {t.l1:g}")
    if t.l2:
        extra.append(f"L2 {t.l2:g}")
    if t.dropout:
        extra.append(f"dropout {t.dropout:g}")
    return [
        f"Data: {source}, {ds.n_train} training + {ds.n_test} test samples, {what}.",
        f"Features: {', '.join(spec.features)}"
        + ("; standardized on the training part" if spec.dataset.standardize else "") + ".",
        f"Network: {m.kind} {'-'.join(net)} ({acts})" + (f", {', '.join(extra)}" if extra else "") + ".",
        f"Training: {t.epochs} epochs, batch {t.batch_size}, {t.optimizer} with learning rate {t.learning_rate:g}.",
    ]


def data_source_words(spec: RunSpec) -> str:
    """Where the data came from, in words (``the spiral preset, noise 0.1``, ``iris.csv``)."""
    d = spec.dataset
    if d.is_preset:
        return f"the {d.kind} preset (seed {d.seed}, noise {d.noise:g})"
    if d.kind == "points":
        return "points painted in the Playground"
    return f"the file {os.path.basename(d.path or '')}"


def keras_script_source(run: ExportedRun, data_name: str, weights_name: str, start_from_weights: bool,
                        title: str = "ScaleLab run") -> str:
    """The text of the stand-alone Keras script.

    Parameters
    ----------
    run : ExportedRun
    data_name, weights_name : str
        File names of the data CSV and the weights ``.npz``, found beside the script.
    start_from_weights : bool
        Whether the script starts from ScaleLab's weights unless told ``--from-scratch``.
    title : str
        First line of the script's docstring.
    """
    about = "\n".join(describe_run(run, data_source_words(run.spec)))
    script_name = (data_name[: -len("_data.csv")] if data_name.endswith("_data.csv") else title) + ".py"
    header = f'''#!/usr/bin/env python3
"""{title}: a ScaleLab run as a Keras 3 script (any backend, e.g. KERAS_BACKEND=torch).

{about}

The data are in {data_name} beside this script; its 'part' column is ScaleLab's train/test
split. Preprocessing (train-only standardization, feature columns) is plain NumPy and gives
the same numbers as ScaleLab. Keras reports its loss with the L1/L2 penalty added; ScaleLab
reports the data loss alone.

    python {script_name}                      train (prints Keras's progress lines)
    python {script_name} --scalelab-weights   start from ScaleLab's weights ({weights_name})
    python {script_name} --from-scratch       start from new random weights
"""

import argparse
import csv
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_FILE = os.path.join(HERE, {data_name!r})
WEIGHTS_FILE = os.path.join(HERE, {weights_name!r})
START_FROM_SCALELAB_WEIGHTS = {bool(start_from_weights)!r}

'''
    return header + settings_source(run) + "\n" + DATA_CODE + "\n" + KERAS_CODE + MAIN_CODE


def export_keras(run: ExportedRun, path: str | os.PathLike, start_from_weights: bool = False) -> list[str]:
    """Write the script, its data CSV and (when ``run.weights``) its weights file.

    Parameters
    ----------
    run : ExportedRun
    path : str or os.PathLike
        The script; ``X_data.csv`` and ``X_weights.npz`` go beside it.
    start_from_weights : bool
        The script starts from the weights by default (needs ``run.weights``).

    Returns
    -------
    list of str
        The paths written, script first.

    Raises
    ------
    ExportError
        ``start_from_weights`` without weights, or a file cannot be written.
    """
    path = os.fspath(path)
    if start_from_weights and run.weights is None:
        raise ExportError("no trained weights to start from: train the run first or give a model file")
    data_path, weights_path = companion_paths(path)
    title = os.path.splitext(os.path.basename(path))[0]
    source = keras_script_source(run, os.path.basename(data_path), os.path.basename(weights_path),
                                 start_from_weights, title=title)
    written = [path, data_path]
    try:
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        write_data_csv(data_path, run.dataset)
        if run.weights is not None:
            write_weights_npz(weights_path, run.weights)
            written.append(weights_path)
        elif os.path.exists(weights_path):
            # The weights of the script this one replaces: --scalelab-weights must not load them.
            os.remove(weights_path)
        write_text_atomic(path, source)
        os.chmod(path, 0o755)
    except OSError as exc:
        raise ExportError(f"cannot write {exc.filename or path}: {exc.strerror or exc}") from None
    return written


def scalelab_scores(run: ExportedRun) -> np.ndarray:
    """ScaleLab's output-layer scores on the test part with ``run.weights``, shape (n_test, k)."""
    if run.weights is None:
        raise SpecError("weights", "the export holds no weights")
    spec, ds = run.spec, run.dataset
    pre = Preprocessor.for_dataset(spec, ds)
    net = Network.from_spec(spec.with_(weights=None), run.n_inputs, ds.n_classes if ds.is_classification else 1)
    net.set_weights(run.weights)
    return net.scores(np.ascontiguousarray(pre(np.asarray(ds.X_test, np.float64)), dtype=net.dtype))
