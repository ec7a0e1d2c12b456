"""The example specs shipped in resources/specs load, find their data and train."""

from __future__ import annotations

import glob
import os

import pytest

from engine.spec import load_spec
from engine.trainer import Trainer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "resources", "specs", "*.json")))


def test_there_are_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_example_spec_trains(path):
    spec = load_spec(path)
    trainer = Trainer(spec)
    records = list(trainer.run())
    assert trainer.status == "completed"
    assert [r["epoch"] for r in records] == list(range(1, spec.train.epochs + 1))
    assert records[-1]["test_loss"] < records[0]["test_loss"]
    assert records[-1]["test_accuracy"] >= 0.9
