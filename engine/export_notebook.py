"""Export a run as a Jupyter notebook: a Playground lesson to hand out.

The notebook explains the setup in words (data, features, network, optimizer, what a loss
curve and a decision boundary are), trains the run with ScaleLab's engine on the data
written beside it, plots the loss curves and the decision boundary with matplotlib, then
trains the same network in Keras (the code of :mod:`engine.export_keras`) and compares the
two. Its last cell prints both test accuracies (test losses for a regression).

``nbformat`` is imported only inside :func:`export_notebook`: the engine needs nothing but
NumPy to import.
"""

from __future__ import annotations

import json
import os

from .export_keras import (DATA_CODE, KERAS_CODE, ExportedRun, ExportError, describe_run, write_text_atomic,
                           companion_paths, data_source_words, settings_source, write_data_csv)

__all__ = ["export_notebook", "notebook_cells"]

FIND_ENGINE_CODE = '''import os
import sys

# ScaleLab's engine: already importable, or in SCALELAB_PATH, the folder it was exported
# from, or a folder above this notebook.
SCALELAB_EXPORTED_FROM = {root!r}


def find_scalelab_engine():
    try:
        import engine  # noqa: F401
        return
    except ImportError:
        pass
    candidates = [os.environ.get("SCALELAB_PATH", ""), SCALELAB_EXPORTED_FROM]
    folder = os.getcwd()
    while True:
        candidates.append(folder)
        if os.path.dirname(folder) == folder:
            break
        folder = os.path.dirname(folder)
    for folder in candidates:
        if folder and os.path.isfile(os.path.join(folder, "engine", "__init__.py")):
            sys.path.insert(0, folder)
            return
    raise ModuleNotFoundError(
        "ScaleLab's engine was not found (looked in SCALELAB_PATH, " + SCALELAB_EXPORTED_FROM
        + " and the folders above this notebook). Set SCALELAB_PATH to the ScaleLab folder, the one "
        "that holds engine/, e.g. os.environ['SCALELAB_PATH'] = '/home/me/scalelab', and run this cell again.")


find_scalelab_engine()
import numpy as np
import matplotlib.pyplot as plt

from engine.data import Dataset
from engine.spec import RunSpec
from engine.trainer import Trainer
print("ScaleLab engine from", os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["engine"].__file__))))
'''

LOAD_CODE = '''DATA_FILE = {data_name!r}
if not os.path.isfile(DATA_FILE):
    raise FileNotFoundError(f"{{DATA_FILE}} is not in {{os.getcwd()}}: keep it beside this notebook")
X_train, y_train, X_test, y_test = load_data(DATA_FILE)
with open(DATA_FILE, encoding="utf-8") as fh:
    FEATURE_NAMES = tuple(next(csv.reader(fh))[:-2])
mean, std = fit_standardization(X_train) if STANDARDIZE else (None, None)
print(f"{{len(X_train)}} training and {{len(X_test)}} test samples, columns: {{', '.join(FEATURE_NAMES)}}")
# One colour per class (the same in every plot), or a colour scale for regression targets.
COLOURS = dict(cmap="tab10", vmin=0, vmax=9) if TASK == "classification" else dict(cmap="viridis")

if X_train.shape[1] == 2:
    fig, ax = plt.subplots(figsize=(5, 5))
    for part, X, y, marker in (("train", X_train, y_train, "o"), ("test", X_test, y_test, "x")):
        ax.scatter(X[:, 0], X[:, 1], c=y, marker=marker, s=18, label=part, **COLOURS)
    ax.set_xlabel(FEATURE_NAMES[0]); ax.set_ylabel(FEATURE_NAMES[1]); ax.legend(); ax.set_title("The data")
    plt.show()
'''

SCALELAB_CODE = '''SPEC = RunSpec.from_dict(json.loads({spec_json!r}))
dataset = Dataset(X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test, task=TASK,
                  n_classes=len(CLASS_NAMES) if TASK == "classification" else 1,
                  class_names=tuple(CLASS_NAMES), mean=mean, std=std, feature_names=FEATURE_NAMES)
trainer = Trainer(SPEC, dataset=dataset)
scalelab_history = list(trainer.run())
last = scalelab_history[-1]
print(f"ScaleLab: {{trainer.message}}; train loss {{last['train_loss']:.4f}}, test loss {{last['test_loss'] or float('nan'):.4f}}")
'''

CURVES_CODE = '''epochs = [r["epoch"] for r in scalelab_history]
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(epochs, [r["train_loss"] for r in scalelab_history], label="training loss")
if scalelab_history[-1]["test_loss"] is not None:
    ax.plot(epochs, [r["test_loss"] for r in scalelab_history], label="test loss")
ax.set_xlabel("epoch"); ax.set_ylabel("loss"); ax.set_title("ScaleLab: loss curves"); ax.legend()
plt.show()
'''

BOUNDARY_CODE = '''def plot_boundary(ax, predict, title):
    """Colour a grid over the data by the network's answer: the decision boundary is where colours meet."""
    X_all = np.concatenate([X_train, X_test])
    lo, hi = X_all.min(axis=0), X_all.max(axis=0)
    pad = 0.1 * (hi - lo + 1e-12)
    g1, g2 = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], 200),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], 200))
    answer = predict(np.column_stack([g1.ravel(), g2.ravel()])).reshape(g1.shape)
    levels = 20 if TASK == "regression" else np.arange(len(CLASS_NAMES) + 1) - 0.5
    ax.contourf(g1, g2, answer, levels=levels, alpha=0.35, **COLOURS)
    ax.scatter(X_train[:, 0], X_train[:, 1], c=y_train, s=14, edgecolors="k", linewidths=0.3, **COLOURS)
    ax.set_title(title); ax.set_xlabel(FEATURE_NAMES[0]); ax.set_ylabel(FEATURE_NAMES[1])


if X_train.shape[1] == 2:
    fig, ax = plt.subplots(figsize=(5, 5))
    plot_boundary(ax, lambda X: trainer.model.predict(trainer.preprocess(X)), "ScaleLab: decision boundary")
    plt.show()
else:
    print("The data have", X_train.shape[1], "columns: a boundary can only be drawn for 2-D data.")
'''

KERAS_RUN_CODE = '''choose_keras_backend()
F_train, F_test = make_features(X_train, mean, std), make_features(X_test, mean, std)
keras_model = compile_model(build_model(F_train.shape[1]))
keras_history = fit_model(keras_model, F_train, y_train, F_test, y_test, verbose=0).history
print(f"Keras: {len(keras_history['loss'])} epochs; " + ", ".join(f"{k} {v[-1]:.4f}" for k, v in keras_history.items()))
'''

COMPARE_CODE = '''fig, axes = plt.subplots(1, 2 if X_train.shape[1] == 2 else 1, figsize=(12, 4.5), squeeze=False)
ax = axes[0, 0]
ax.plot(epochs, [r["train_loss"] for r in scalelab_history], label="ScaleLab training")
ax.plot(range(1, len(keras_history["loss"]) + 1), keras_history["loss"], "--", label="Keras training")
if "val_loss" in keras_history:
    ax.plot(epochs, [r["test_loss"] for r in scalelab_history], label="ScaleLab test")
    ax.plot(range(1, len(keras_history["val_loss"]) + 1), keras_history["val_loss"], "--", label="Keras test")
ax.set_xlabel("epoch"); ax.set_ylabel("loss"); ax.set_title("Loss curves: ScaleLab and Keras"); ax.legend()
if X_train.shape[1] == 2:
    def keras_predict(X):
        scores = keras_model.predict(make_features(X, mean, std), verbose=0, batch_size=4096)
        if TASK == "regression":
            return scores[:, 0]
        return (scores[:, 0] > 0).astype(int) if scores.shape[1] == 1 else scores.argmax(axis=1)
    plot_boundary(axes[0, 1], keras_predict, "Keras: decision boundary")
plt.show()
'''

RESULT_CODE = '''scalelab_loss, scalelab_accuracy = scalelab_history[-1]["test_loss"], scalelab_history[-1].get("test_accuracy")
keras_loss, keras_accuracy = test_scores(keras_model, F_test, y_test)
if TASK == "classification":
    print(f"test accuracy: ScaleLab {scalelab_accuracy:.4f}, Keras {keras_accuracy:.4f}")
else:
    print(f"test loss (mean squared error): ScaleLab {scalelab_loss:.4f}, Keras {keras_loss:.4f}")
'''


def _words(run: ExportedRun, title: str) -> dict[str, str]:
    """The markdown texts, in the course's words."""
    spec, ds = run.spec, run.dataset
    m, t = spec.model, spec.train
    lines = describe_run(run, data_source_words(spec))
    if ds.is_classification:
        task = (f"It is a **classification** task: every sample belongs to one of {ds.n_classes} classes "
                f"({', '.join(ds.class_names)}) and the network learns to tell them apart.")
    else:
        task = "It is a **regression** task: the network learns to predict a number for every sample."
    features = ", ".join(f"`{f}`" for f in spec.features)
    std_words = ("Each input column is first **standardized**: its mean is subtracted and it is divided by "
                 "its standard deviation, both measured on the *training* part only, so that the test "
                 "part stays unseen. " if spec.dataset.standardize else "")
    n_hidden = f"{len(m.hidden)} hidden layer" + ("s" if len(m.hidden) != 1 else "")
    if m.kind == "mlp":
        layers = " -> ".join([str(run.n_inputs)] + [f"{w} ({a})" for w, a in zip(m.hidden, m.activations)]
                             + [str(run.n_outputs)])
        network = (f"A **multi-layer perceptron** with {n_hidden}: {layers}. Each hidden "
                   "neuron adds up its weighted inputs plus a bias and applies its activation function; the "
                   "output layer gives one score per class (softmax turns scores into probabilities)"
                   if ds.is_classification else
                   f"A **multi-layer perceptron** with {n_hidden}: {layers}; the single "
                   "output is the predicted value")
    elif m.kind == "logistic":
        network = "**Logistic regression**: no hidden layer, one weighted sum per class, softmax on top"
    else:
        network = "Rosenblatt's **perceptron**: one weighted sum, and a weight update only on mistakes"
    reg = []
    if t.l1 or t.l2:
        reg.append(f"L1 {t.l1:g} / L2 {t.l2:g} penalize large weights")
    if t.dropout:
        reg.append(f"dropout switches off {t.dropout:.0%} of the hidden neurons at each step")
    opt_words = {"sgd": "plain **stochastic gradient descent**: every step moves each weight a little against "
                        "its gradient",
                 "momentum": f"**SGD with momentum** {t.momentum:g}: the steps keep some of their previous "
                             "direction, which smooths them",
                 "adam": "**Adam**: gradient descent with a step size adapted to each weight"}[t.optimizer]
    return {
        "title": f"# {title}: a ScaleLab lesson\n\n"
                 + "This notebook reproduces a run of the ScaleLab Playground. Part 1 trains it with "
                   "ScaleLab's own engine, part 2 builds the same network in Keras and compares the two.\n\n"
                 + "\n".join(f"- {line}" for line in lines),
        "data": "## The data\n\n"
                f"The data set is {data_source_words(spec)}. {task} It has {ds.n_train} **training** samples, "
                f"which the network learns from, and {ds.n_test} **test** samples, which it never sees while "
                "learning: they tell us how well it does on new data. The split is ScaleLab's own, stored in "
                "the `part` column of the data file next to this notebook.",
        "features": "## Features\n\n"
                    f"{std_words}The network's inputs are the features {features}. Crossed features such as "
                    "`x1*x2` or `x1^2` let even a small network draw curved boundaries.",
        "network": "## The network and how it learns\n\n"
                   f"{network}. {('; '.join(reg) + '. ') if reg else ''}"
                   f"Training runs for {t.epochs} **epochs** (passes over the training data) in batches of "
                   f"{t.batch_size} samples with {opt_words}, learning rate {t.learning_rate:g}.",
        "curves": "## Loss curves\n\n"
                  "The **loss** measures how wrong the network is (lower is better)"
                  + (": here the cross-entropy, the average of -log(probability given to the right class). "
                     if ds.is_classification and m.kind != "perceptron" else
                     ": here the mean squared error of the predictions. " if not ds.is_classification else ". ")
                  + "The training loss is "
                  "averaged over each epoch's batches, the test loss is measured on the test part after the "
                  "epoch. When the training loss keeps falling while the test loss rises again, the network "
                  "has started to memorize the training samples: it **overfits**.",
        "boundary": "## The decision boundary\n\n"
                    "Colouring every point of the plane by the class the network would give it shows its "
                    "**decision boundary**: the line where the colours meet. Points on the wrong side are "
                    "misclassified." if ds.is_classification else
                    "## The prediction surface\n\nColouring every point of the plane by the value the "
                    "network predicts there shows the function it has learned.",
        "keras": "## Part 2: the same network in Keras\n\n"
                 "The cells below define the same preprocessing in NumPy and the same network, loss, optimizer, "
                 "learning rate and batch size in Keras 3 (`keras.Sequential` of `Dense` layers). They are the "
                 "code of the exported Keras script. Keras starts from its own random weights and shuffles "
                 "differently, so its curves are close to ScaleLab's but not identical. Keras's loss includes "
                 "the L1/L2 penalty; ScaleLab reports the data loss alone.",
        "compare": "## Comparing the two\n\nThe dashed curves are Keras's. The last cell prints both test "
                   + ("accuracies." if ds.is_classification else "losses."),
    }


def notebook_cells(run: ExportedRun, data_name: str, engine_root: str, title: str = "ScaleLab run") -> list[tuple[str, str]]:
    """The notebook's cells as ``(kind, source)`` pairs, ``kind`` being ``markdown`` or ``code``."""
    words = _words(run, title)
    spec_json = json.dumps(run.spec.with_(weights=None, meta=None).to_dict())
    return [
        ("markdown", words["title"]),
        ("code", FIND_ENGINE_CODE.format(root=engine_root)),
        ("markdown", words["data"]),
        ("code", "import csv\nimport json\n\n" + settings_source(run) + DATA_CODE),
        ("code", LOAD_CODE.format(data_name=data_name)),
        ("markdown", words["features"] + "\n\n" + words["network"]),
        ("code", SCALELAB_CODE.format(spec_json=spec_json)),
        ("markdown", words["curves"]),
        ("code", CURVES_CODE),
        ("markdown", words["boundary"]),
        ("code", BOUNDARY_CODE),
        ("markdown", words["keras"]),
        ("code", KERAS_CODE.strip() + "\n"),
        ("code", KERAS_RUN_CODE),
        ("markdown", words["compare"]),
        ("code", COMPARE_CODE),
        ("code", RESULT_CODE),
    ]


def export_notebook(run: ExportedRun, path: str | os.PathLike, engine_root: str | None = None) -> list[str]:
    """Write the notebook and its data CSV beside it.

    Parameters
    ----------
    run : ExportedRun
    path : str or os.PathLike
        The ``.ipynb`` file; ``X_data.csv`` goes beside it.
    engine_root : str, optional
        The folder holding ``engine/``, tried when the notebook cannot import it; default
        this engine's own.

    Returns
    -------
    list of str
        The paths written, notebook first.

    Raises
    ------
    ExportError
        ``nbformat`` is not installed, or a file cannot be written.
    """
    try:
        import nbformat
    except ImportError:
        raise ExportError("writing a notebook needs nbformat: pip install nbformat") from None
    path = os.fspath(path)
    if engine_root is None:
        engine_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data_path, _ = companion_paths(path)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source in notebook_cells(run, os.path.basename(data_path), engine_root,
                                         title=os.path.splitext(os.path.basename(path))[0]):
        cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        nb.cells.append(cell)
    nbformat.validate(nb)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        write_data_csv(data_path, run.dataset)
        write_text_atomic(path, nbformat.writes(nb) + "\n")
    except OSError as exc:
        raise ExportError(f"cannot write {exc.filename or path}: {exc.strerror or exc}") from None
    return [path, data_path]
