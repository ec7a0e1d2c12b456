"""The exported Keras script and notebook, run with Keras 3 on the PyTorch backend (CPU).

The script is run in this process (``runpy`` then its ``main``), so that Keras is imported
once for all cases; tests/cluster/test_keras_job.py runs it as a plain ``python`` job.
"""

from __future__ import annotations

import importlib.util
import os
import runpy

import numpy as np
import pytest

# Before anything imports Keras: the tests use the PyTorch backend (CPU), one thread (these
# networks are tiny: more threads only wait for each other).
os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from engine.export import export_run  # noqa: E402
from engine.export_keras import prepare_export, scalelab_scores  # noqa: E402
from engine.spec import load_spec  # noqa: E402
from engine.trainer import Trainer  # noqa: E402
from tests.conftest import require  # noqa: E402
from tests.engine.test_cli import write_spec  # noqa: E402
from tests.engine.test_export import iris_spec  # noqa: E402

pytestmark = pytest.mark.slow

PRESET = {
    "dataset": {"kind": "xor", "n_samples": 400, "noise": 0.1, "seed": 3, "test_fraction": 0.5,
                "standardize": True},
    "features": ["x1", "x2", "x1*x2", "sin(x1)"],
    "model": {"kind": "mlp", "hidden": [6], "activation": "tanh"},
    "train": {"epochs": 20, "batch_size": 25, "optimizer": "momentum", "learning_rate": 0.05, "l2": 0.0005},
}


def need_keras():
    for module in ("keras", "torch"):
        require(importlib.util.find_spec(module) is not None, f"{module} is not installed (pip install -e '.[keras]')")


def trained(spec):
    trainer = Trainer(spec)
    records = list(trainer.run())
    return trainer, records[-1]


@pytest.fixture(params=["preset", "csv"])
def spec_path(request, tmp_path):
    need_keras()
    if request.param == "preset":
        return write_spec(tmp_path, PRESET)
    path = iris_spec(tmp_path)
    spec = load_spec(path)
    d = spec.to_dict()
    d["train"].update(epochs=25, dropout=0.1)
    return write_spec(tmp_path, d, "iris-dropout.json")


def test_script_starts_from_scalelab_weights_and_trains_like_scalelab(spec_path, tmp_path):
    spec = load_spec(spec_path)
    trainer, final = trained(spec)
    run = prepare_export(spec, weights=trainer.model.get_weights())
    script = tmp_path / "export" / "lesson.py"
    export_run(run, keras_path=str(script), start_from_weights=True)
    main = runpy.run_path(str(script), run_name="exported_script")["main"]

    # Transferred weights: Keras's outputs equal ScaleLab's before any training.
    assert main(["--epochs", "0", "--save-predictions", str(tmp_path / "weights.npz")]) == 0
    with np.load(tmp_path / "weights.npz", allow_pickle=False) as z:
        keras_scores = z["before"]
        keras_accuracy = float(z["test_accuracy"])
    ours = scalelab_scores(run)
    assert keras_scores.shape == ours.shape == (trainer.dataset.n_test, run.n_outputs)
    np.testing.assert_allclose(keras_scores, ours, rtol=0, atol=1e-5)
    assert keras_accuracy == pytest.approx(final["test_accuracy"], abs=1e-6)  # Keras counts in float32

    # From scratch, the same data and epochs: the test accuracy within 3 points of ScaleLab's.
    assert main(["--from-scratch", "--verbose", "0", "--save-predictions", str(tmp_path / "scratch.npz")]) == 0
    with np.load(tmp_path / "scratch.npz", allow_pickle=False) as z:
        history_epochs = len(z["history_loss"])
        keras_accuracy = float(z["test_accuracy"])
    assert history_epochs == spec.train.epochs
    assert final["test_accuracy"] > 0.85  # the comparison means something only when ScaleLab learned
    assert abs(keras_accuracy - final["test_accuracy"]) <= 0.03, (keras_accuracy, final["test_accuracy"])


def test_notebook_runs_headless_and_ends_with_both_accuracies(tmp_path):
    need_keras()
    for module in ("nbformat", "nbclient", "ipykernel", "matplotlib"):
        require(importlib.util.find_spec(module) is not None, f"{module} is not installed (pip install -e '.[test]')")
    import nbformat
    from nbclient import NotebookClient

    spec = load_spec(write_spec(tmp_path, dict(PRESET, train=dict(PRESET["train"], epochs=6))))
    path = tmp_path / "lesson" / "xor.ipynb"
    written = export_run(prepare_export(spec), notebook_path=str(path))
    assert written == [str(path), str(tmp_path / "lesson" / "xor_data.csv")]
    nb = nbformat.read(path, as_version=4)
    kinds = [cell.cell_type for cell in nb.cells]
    assert kinds.count("markdown") >= 6 and kinds[-1] == "code"
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    for words in ("decision boundary", "loss", "standardized", "momentum", "x1*x2", "Keras"):
        assert words in text
    NotebookClient(nb, timeout=240, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    last = "".join(out.get("text", "") for out in nb.cells[-1].outputs)
    assert last.startswith("test accuracy: ScaleLab "), last
    scalelab, keras = (float(part.split()[-1]) for part in last.strip().removeprefix("test accuracy:").split(","))
    assert scalelab == pytest.approx(trained(spec)[1]["test_accuracy"], abs=5e-5)  # printed with 4 decimals
    assert 0.5 <= keras <= 1.0
    images = [out for cell in nb.cells for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]
    assert len(images) >= 3  # the data, the loss curves, the boundary, the comparison


OTHER_KINDS = {
    "regression": {"dataset": {"kind": "plane", "n_samples": 120, "noise": 0.1, "seed": 1},
                   "features": ["x1", "x2", "x2^2", "sin(x2)"],
                   "model": {"kind": "mlp", "hidden": [5, 4], "activation": ["sigmoid", "leaky_relu"]},
                   "train": {"epochs": 2, "batch_size": 10, "optimizer": "sgd", "learning_rate": 0.01, "l1": 0.001}},
    "perceptron-2": {"dataset": {"kind": "gauss", "n_samples": 120, "noise": 0.5, "seed": 1},
                     "model": {"kind": "perceptron"}, "train": {"epochs": 2, "batch_size": 1, "optimizer": "sgd"}},
    "perceptron-3": {"dataset": {"kind": "blobs", "n_samples": 120, "n_classes": 3, "seed": 1},
                     "model": {"kind": "perceptron"}, "train": {"epochs": 2, "batch_size": 4, "optimizer": "sgd"}},
    "logistic-float64": {"dataset": {"kind": "moons", "n_samples": 120, "seed": 1, "standardize": True},
                         "features": ["x1", "x2", "x1*x2"], "model": {"kind": "logistic"},
                         "train": {"epochs": 2, "batch_size": 8, "dtype": "float64", "learning_rate": 0.1}},
}


@pytest.mark.parametrize("kind", sorted(OTHER_KINDS))
def test_transferred_weights_give_scalelabs_outputs_for_every_model_kind(kind, tmp_path):
    need_keras()
    spec = load_spec(write_spec(tmp_path, OTHER_KINDS[kind]))
    trainer, final = trained(spec)
    run = prepare_export(spec, weights=trainer.model.get_weights())
    script = tmp_path / f"{kind}.py"
    export_run(run, keras_path=str(script), start_from_weights=True)
    ns = runpy.run_path(str(script), run_name="exported_script")
    try:
        assert ns["main"](["--epochs", "0", "--save-predictions", str(tmp_path / "p.npz")]) == 0
    finally:
        import keras

        keras.config.set_floatx("float32")  # float64 runs set it for the whole process
    with np.load(tmp_path / "p.npz", allow_pickle=False) as z:
        np.testing.assert_allclose(z["before"], scalelab_scores(run), rtol=0, atol=1e-5)
        if trainer.dataset.is_classification:
            assert float(z["test_accuracy"]) == pytest.approx(final["test_accuracy"], abs=1e-6)
        else:
            # Keras's loss adds the L1 penalty to ScaleLab's data loss.
            assert float(z["test_loss"]) == pytest.approx(final["test_loss"] + trainer.model.penalty(), rel=1e-4)
