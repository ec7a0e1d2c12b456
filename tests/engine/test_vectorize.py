"""The vectorization lesson's measurements: the three dot products agree, the loop is skipped by prediction."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys

import numpy as np
import pytest

from engine import vectorize
from engine.vectorize import check_arguments, lesson, loop_dot, measure, numpy_dot, table_line, vectors
from tests.conftest import ROOT, require


def test_loop_and_numpy_compute_the_same_dot_product():
    a, b = vectors(5_000, seed=3)
    assert loop_dot(a, b) == pytest.approx(numpy_dot(a, b), rel=1e-12)
    assert numpy_dot(a, b) == pytest.approx(float(np.sum(a * b)), rel=1e-12)
    a2, b2 = vectors(5_000, seed=3)
    np.testing.assert_array_equal(a, a2)


def test_measure_skips_the_loop_once_the_previous_size_predicts_too_long(monkeypatch):
    # A fake clock for the loop: 1 microsecond per element, so the prediction is exact.
    monkeypatch.setattr(vectorize, "loop_dot", lambda a, b: float(np.dot(a, b)))
    real_best_time = vectorize.best_time

    def best_time(fn, repeats=3, min_s=vectorize.MIN_MEASURE_S):
        seconds, value = real_best_time(fn, 1, 0.0)
        return (len(current[0]) * 1e-6 if fn.__code__.co_names and "loop_dot" in fn.__code__.co_names
                else seconds), value

    current = [None]
    real_vectors = vectorize.vectors

    def tracking_vectors(n, seed=0):
        current[0] = real_vectors(n, seed)[0]
        return real_vectors(n, seed)

    monkeypatch.setattr(vectorize, "best_time", best_time)
    monkeypatch.setattr(vectorize, "vectors", tracking_vectors)
    rows = list(measure((1_000, 3_000, 10_000, 30_000), loop_limit_s=0.005, repeats=1))
    assert [r["n"] for r in rows] == [1_000, 3_000, 10_000, 30_000]
    assert rows[0]["loop_s"] == pytest.approx(1e-3) and rows[1]["loop_s"] == pytest.approx(3e-3)
    # 10,000 would take 3 ms * 10/3 = 10 ms > 5 ms: skipped, and so is every larger size
    assert rows[2]["loop_s"] is None and rows[2]["loop_estimate_s"] == pytest.approx(0.01)
    assert rows[3]["loop_s"] is None and rows[3]["loop_estimate_s"] == pytest.approx(0.03)
    assert rows[2]["speedup"] is None and rows[0]["speedup"] == pytest.approx(1e-3 / rows[0]["numpy_s"])
    assert "skipped: would take ~0 s" in table_line(rows[2])
    for r in rows:
        a, b = vectors(r["n"])
        assert r["numpy_value"] == pytest.approx(float(np.dot(a, b)), rel=1e-12)


def test_a_real_measurement_has_every_field_and_agreeing_values():
    rows = list(measure((1_000, 3_000), loop_limit_s=5.0, repeats=1))
    for r in rows:
        assert r["loop_s"] > 0 and r["numpy_s"] > 0 and r["speedup"] == pytest.approx(r["loop_s"] / r["numpy_s"])
        assert r["loop_value"] == pytest.approx(r["numpy_value"], rel=1e-12)


def test_arguments_are_checked():
    assert check_arguments(1e7, 2.0, 2, 3) == vectorize.DEFAULT_SIZES
    assert check_arguments(1e4, 2.0, 0, 1) == (1_000, 3_000, 10_000)
    assert check_arguments(1e8, 2.0, 2, 1)[-2:] == (30_000_000, 100_000_000)
    for bad in [(10, 2.0, 2, 3), (1e4, 0.0, 2, 3), (1e4, 2.0, 1, 3), (1e4, 2.0, 2, 0)]:
        with pytest.raises(ValueError):
            check_arguments(*bad)


def test_the_command_prints_the_table_and_refuses_bad_values_in_one_line():
    proc = subprocess.run([sys.executable, "-m", "engine", "vectorize", "--max-n", "3000", "--ranks", "0",
                           "--repeats", "1"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "Python loop" in lines[1] and "np.dot" in lines[1]
    assert [line.split()[0] for line in lines[2:]] == ["1,000", "3,000"]
    bad = subprocess.run([sys.executable, "-m", "engine", "vectorize", "--ranks", "1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "--ranks 1" in bad.stderr


def test_two_mpi_ranks_sum_their_slices_to_the_numpy_value():
    require(shutil.which("mpirun") is not None and importlib.util.find_spec("mpi4py") is not None,
            "needs mpirun (Open MPI) and mpi4py")
    events = list(lesson((1_000, 10_001), loop_limit_s=1.0, ranks=2, repeats=1))
    rows = {e["n"]: e for e in events if e["event"] == "row"}
    mpi = [e for e in events if e["event"] == "mpi"]
    assert [e["n"] for e in mpi] == [1_000, 10_001] and all(e["ranks"] == 2 and e["mpi_s"] > 0 for e in mpi)
    for e in mpi:
        assert e["mpi_value"] == pytest.approx(rows[e["n"]]["numpy_value"], rel=1e-12)
