"""The SVM under mpirun: 2 ranks give the same model as 1, both ways of sharing the work."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from engine.hyperspectral import class_sizes
from engine.svm import WORKING_SET_MIN_ROWS, OneVsOneFit, SvmSettings
from tests.conftest import ROOT, require


class _TwoRanks:
    rank, size = 0, 2


def test_plan_splits_rows_of_a_dominant_pair_and_deals_out_the_rest():
    y3 = np.repeat(np.arange(3), class_sizes(2000, 3))  # 238, 1282, 480 rows
    together, own = OneVsOneFit(np.zeros((2000, 1)), y3, 3, SvmSettings(), _TwoRanks()).plan()
    assert together == [2]  # the pair (1, 2) costs more than half of all: rows split
    assert own == [[0], [1]]
    y16 = np.repeat(np.arange(16), class_sizes(1200, 16))
    together, own = OneVsOneFit(np.zeros((1200, 1)), y16, 16, SvmSettings(), _TwoRanks()).plan()
    assert together == [] and sorted(own[0] + own[1]) == list(range(120))
    assert abs(len(own[0]) - len(own[1])) <= 10
    # one pair only: always split over the ranks
    y2 = np.repeat([0, 1], [30, 40])
    assert OneVsOneFit(np.zeros((70, 1)), y2, 2, SvmSettings(), _TwoRanks()).plan() == ([0], [[], []])


SPECS = {
    # one pair: the rows are split (piSVM's scheme)
    "binary": {"dataset": {"kind": "moons", "n_samples": 700, "noise": 0.3, "seed": 3, "test_fraction": 0.2},
               "model": {"kind": "svm", "C": 10, "gamma": 2}},
    # rows split unevenly (2,001 training rows: 1,001 and 1,000) and a cache too small for all
    # of them, sized so that 1,001 and 1,000 columns would give the ranks 262 and 263 row slots:
    # the caches must still hit and miss alike (a miss is a collective)
    "odd-rows-small-cache": {"dataset": {"kind": "moons", "n_samples": 2501, "noise": 0.3, "seed": 5,
                                         "test_fraction": 0.2},
                             "model": {"kind": "svm", "C": 10, "gamma": 2, "cache_mb": 1.004}},
    # one pair of 4,000 training rows: solved on working sets of many variables, rows split
    "working-sets": {"dataset": {"kind": "moons", "n_samples": 5000, "noise": 0.35, "seed": 6, "test_fraction": 0.2},
                     "model": {"kind": "svm", "C": 10, "gamma": 2}},
    # three classes: the largest pair split over the ranks, the other two dealt out
    "mixed": {"dataset": {"kind": "hyperspectral", "n_samples": 2000, "n_classes": 3, "n_features": 30, "seed": 4,
                          "noise": 0.5, "test_fraction": 0.25},
              "model": {"kind": "svm", "C": 100, "gamma": 8}},
    # sixteen classes of Indian Pines sizes: 120 pairs dealt out
    "hyperspectral": {"dataset": {"kind": "hyperspectral", "n_samples": 900, "seed": 2, "test_fraction": 0.3},
                      "model": {"kind": "svm", "C": 100, "gamma": 8}},
}


def test_the_working_set_case_is_large_enough_for_working_sets():
    data = SPECS["working-sets"]["dataset"]
    assert data["n_samples"] - round(data["n_samples"] * data["test_fraction"]) >= WORKING_SET_MIN_ROWS


@pytest.mark.parametrize("name", list(SPECS))
def test_two_ranks_give_the_model_of_one(tmp_path, name):
    mpirun = shutil.which("mpirun")
    require(mpirun is not None and importlib.util.find_spec("mpi4py") is not None,
            "needs mpirun (Open MPI) and mpi4py")
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(SPECS[name]))
    env = dict(os.environ, PYTHONPATH=ROOT, TMPDIR=str(tmp_path), OMPI_MCA_rmaps_base_oversubscribe="1")
    one = subprocess.run([sys.executable, "-m", "engine", "train", str(spec_path), "--out", str(tmp_path / "one")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr
    cmd = [mpirun, "-n", "2"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    cmd += ["--oversubscribe", sys.executable, "-m", "engine", "train", str(spec_path), "--out", str(tmp_path / "two")]
    two = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stdout + two.stderr
    r1 = json.loads((tmp_path / "one" / "result.json").read_text())
    r2 = json.loads((tmp_path / "two" / "result.json").read_text())
    assert (r1["ranks"], r2["ranks"]) == (1, 2)
    assert r2["n_support"] == r1["n_support"]
    assert r2["iterations_per_pair"] == r1["iterations_per_pair"]
    assert r2["dual_objective"] == pytest.approx(r1["dual_objective"], rel=1e-9)
    assert r2["final"]["test_accuracy"] == r1["final"]["test_accuracy"]
    rec2 = [json.loads(x) for x in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["ranks"] == 2 for r in rec2)
    with np.load(tmp_path / "one" / "model.npz", allow_pickle=False) as z1, \
            np.load(tmp_path / "two" / "model.npz", allow_pickle=False) as z2:
        np.testing.assert_array_equal(z2["n_support"], z1["n_support"])
        np.testing.assert_array_equal(z2["support_vectors"], z1["support_vectors"])
        np.testing.assert_allclose(z2["dual_coef"], z1["dual_coef"], rtol=0, atol=1e-7 * float(z1["dual_coef"].max()))
        np.testing.assert_allclose(z2["intercept"], z1["intercept"], rtol=0, atol=1e-7)
