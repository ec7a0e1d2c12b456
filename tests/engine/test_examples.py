"""The example specs shipped in resources/specs load, find their data and train."""

from __future__ import annotations

import glob
import os
from dataclasses import replace

import pytest

from engine.estimators import model_kind
from engine.spec import load_spec
from engine.trainer import Trainer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "resources", "specs", "*.json")))


def test_there_are_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_example_spec_trains(path):
    spec = load_spec(path)
    kind = model_kind(spec.model.kind)
    if kind.output == "assignment":
        # A clustering (the Playground's k-means and DBSCAN examples): it finds the presets'
        # groups far better than chance (adjusted Rand index 0) against the hidden labels.
        fitter = kind.fitter(spec)
        list(fitter.run())
        assert fitter.status == "completed", fitter.message
        assert fitter.result_fields()["adjusted_rand_index"] >= 0.6
        return
    if not spec.model.is_network:
        # A kernel machine: trained through the registry, a large preset cut to 1,500 samples
        # (the example's full size is for the cluster).
        if spec.dataset.is_preset and spec.dataset.n_samples > 1500:
            spec = spec.with_(dataset=replace(spec.dataset, n_samples=1500))
        fitter = model_kind(spec.model.kind).fitter(spec)
        records = list(fitter.run())
        assert fitter.status == "completed", fitter.message
        import numpy as np

        y_test = np.asarray(fitter.dataset.y_test)
        largest_share = np.bincount(y_test).max() / len(y_test)
        # Far better than always answering the largest class (24% of Indian Pines' pixels).
        assert records[-1]["test_accuracy"] >= max(0.5, 2 * largest_share)
        return
    trainer = Trainer(spec)
    records = list(trainer.run())
    assert trainer.status == "completed"
    assert [r["epoch"] for r in records] == list(range(1, spec.train.epochs + 1))
    assert records[-1]["test_loss"] < records[0]["test_loss"]
    assert records[-1]["test_accuracy"] >= 0.9
