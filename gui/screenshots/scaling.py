"""The Scaling tab's picture: a real strong-scaling sweep on 1, 2 and 4 ranks with the ``local`` profile.

Everything happens in a temporary folder (its own job store, job folders and sweep folder),
so nothing of the user's jobs or sweeps shows or changes. The sweep is started with the
tab's own Run button and followed through its own runner.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import replace
from typing import Callable

from gui.scaling.view import ScalingView
from gui.screenshots.cluster import wait_for
from remote.config import LOCAL_PROFILE, local_profile

DEADLINE_MS = 240_000
SPEC = {"dataset": {"kind": "spiral", "n_samples": 20000, "noise": 0.1, "seed": 3},
        "model": {"kind": "mlp", "hidden": [256, 256], "activation": "tanh"},
        "train": {"epochs": 4, "batch_size": 256, "learning_rate": 0.01, "optimizer": "adam", "seed": 1}}


def stage(view: ScalingView, ranks: str = "1,2,4") -> Callable[[], None]:
    """Run the sweep (blocking, at most :data:`DEADLINE_MS`) and show its last row; returns the cleanup."""
    scratch = tempfile.mkdtemp(prefix="scalelab-shot-")
    spec_path = os.path.join(scratch, "spiral-large.json")
    with open(spec_path, "w", encoding="utf-8") as fh:
        json.dump(SPEC, fh)
    view.store_path = os.path.join(scratch, "jobs.sqlite")
    view.sweeps_dir = os.path.join(scratch, "sweeps")
    view.profiles = {LOCAL_PROFILE: replace(local_profile(), workdir=os.path.join(scratch, "jobs"),
                                            python=sys.executable)}
    view.profile_combo.clear()
    view.profile_combo.addItem(LOCAL_PROFILE)
    view.spec_edit.setText(spec_path)
    view.ranks_edit.setText(ranks)
    view.run_button.click()
    wait_for(view.runner.finished, lambda: not view.sweeping, DEADLINE_MS)

    def cleanup() -> None:
        view.shutdown()
        shutil.rmtree(scratch, ignore_errors=True)

    return cleanup


__all__ = ["stage"]
