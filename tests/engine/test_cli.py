"""``python -m engine train|validate|predict``: files read back, error exits, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from engine.model_io import load_model
from engine.spec import RunSpec
from tests.conftest import ROOT

SPEC = {
    "dataset": {"kind": "spiral", "n_samples": 200, "noise": 0.1, "seed": 1, "test_fraction": 0.3},
    "features": ["x1", "x2", "sin(x1)", "sin(x2)"],
    "model": {"kind": "mlp", "hidden": [6, 6], "activation": "tanh"},
    "train": {"epochs": 4, "batch_size": 10, "optimizer": "adam", "learning_rate": 0.02},
}


def engine(*args, cwd=None, timeout=60):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "engine", *map(str, args)], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def write_spec(tmp_path, spec=None, name="spec.json"):
    path = tmp_path / name
    path.write_text(json.dumps(spec or SPEC))
    return path


def assert_one_line_error(proc, *needles):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_train_writes_metrics_model_and_result(tmp_path):
    spec_path = write_spec(tmp_path)
    out = tmp_path / "run"
    proc = engine("train", spec_path, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress line when stderr is not a terminal
    lines = (out / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert all(r["ranks"] == 1 for r in records)
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "completed"
    assert result["epochs"] == 4
    assert result["final"] == records[-1]
    with np.load(out / "model.npz", allow_pickle=False) as z:
        assert RunSpec.from_dict(json.loads(str(z["spec"]))).model.hidden == (6, 6)
        assert [str(f) for f in z["features"]] == SPEC["features"]
        assert z["W0"].shape == (4, 6) and z["b2"].shape == (2,)
    spec, pre, net = load_model(out / "model.npz")
    assert spec.train.epochs == 4
    # the loaded model reproduces the logged test accuracy
    from engine.data import load_dataset

    ds = load_dataset(spec)
    acc = np.mean(net.predict(pre(ds.X_test)) == ds.y_test)
    assert acc == pytest.approx(records[-1]["test_accuracy"])


def test_an_earlier_run_is_never_overwritten_silently(tmp_path):
    spec_path = write_spec(tmp_path)
    out = tmp_path / "run"
    assert engine("train", spec_path, "--out", out).returncode == 0
    before = (out / "result.json").read_bytes()
    proc = engine("train", spec_path, "--out", out)
    assert_one_line_error(proc, str(out), "--force")
    assert (out / "result.json").read_bytes() == before
    proc = engine("train", spec_path, "--out", out, "--force")
    assert proc.returncode == 0
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 4


def test_invalid_spec_field_exits_2_naming_the_field(tmp_path):
    bad = json.loads(json.dumps(SPEC))
    bad["model"]["activation"] = "swish"
    proc = engine("train", write_spec(tmp_path, bad), "--out", tmp_path / "run")
    assert_one_line_error(proc, "model.activation", "swish")
    assert not (tmp_path / "run").exists()


def test_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "spec.json"
    path.write_text('{\n  "model": {"kind": "mlp",}\n}\n')
    proc = engine("train", path, "--out", tmp_path / "run")
    assert_one_line_error(proc, "line 2", str(path))


def test_bad_data_file_names_the_file_and_line(tmp_path):
    (tmp_path / "data.csv").write_text("x1,x2,label\n0.1,0.2,a\n0.3,oops,b\n0.5,0.6,a\n")
    spec = {**SPEC, "dataset": {"kind": "csv", "path": "data.csv"}, "features": ["x1", "x2"]}
    proc = engine("train", write_spec(tmp_path, spec), "--out", tmp_path / "run")
    line = assert_one_line_error(proc, "data.csv", "line 3")
    assert "oops" in line or "number" in line


def test_missing_spec_file(tmp_path):
    proc = engine("train", tmp_path / "nope.json", "--out", tmp_path / "run")
    assert_one_line_error(proc, "nope.json")


def test_validate_and_predict(tmp_path):
    spec_path = write_spec(tmp_path)
    proc = engine("validate", spec_path)
    assert proc.returncode == 0
    assert "4-6-6-2" in proc.stdout and "valid" in proc.stdout
    out = tmp_path / "run"
    assert engine("train", spec_path, "--out", out).returncode == 0
    (tmp_path / "points.csv").write_text("x1,x2\n0.5,0.5\n-3,2\n")
    proc = engine("predict", out / "model.npz", tmp_path / "points.csv")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 2
    proc = engine("predict", tmp_path / "points.csv", tmp_path / "points.csv")
    assert_one_line_error(proc, "points.csv")


def _wait_for_lines(path, n, timeout_s=20):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not get {n} lines")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_with_consistent_files(tmp_path, sig):
    spec = json.loads(json.dumps(SPEC))
    spec["train"]["epochs"] = 1_000_000
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "engine", "train", str(write_spec(tmp_path, spec)), "--out", str(out)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_lines(out / "metrics.jsonl", 2)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert "Traceback" not in err
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "stopped"
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert result["epochs"] == records[-1]["epoch"] == len(records)
    _, _, net = load_model(out / "model.npz")
    assert np.all(np.isfinite(net.params))


def test_diverged_run_writes_null_losses(tmp_path):
    spec = {"dataset": {"kind": "plane", "n_samples": 100, "seed": 1},
            "model": {"kind": "mlp", "hidden": [8], "activation": "relu"},
            "train": {"epochs": 20, "optimizer": "sgd", "learning_rate": 10.0}}
    out = tmp_path / "run"
    proc = engine("train", write_spec(tmp_path, spec), "--out", out)
    assert proc.returncode == 3
    assert "diverged" in proc.stderr and "Traceback" not in proc.stderr
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["train_loss"] is None
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "diverged"
    assert result["message"].startswith("diverged: the loss became NaN at epoch")


def test_unwritable_out_folder_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = engine("train", write_spec(tmp_path), "--out", blocker / "run")
    assert_one_line_error(proc, "cannot write")


def test_bench_grid_case_runs():
    proc = engine("bench", "--quick", "--case", "grid", timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("grid 200x200")]
    assert len(lines) == 4
    for line in lines:
        assert " engine " in line and " ms" in line
        assert ("scikit-learn" in line) and ("PyTorch" in line)  # a time or "not installed"


def test_weights_that_do_not_fit_name_the_field_and_spec(tmp_path):
    spec = json.loads(json.dumps(SPEC))
    spec["weights"] = [{"W": [[1.0, 2.0]], "b": [0.0, 0.0]}]
    path = write_spec(tmp_path, spec)
    assert_one_line_error(engine("train", path, "--out", tmp_path / "run"), "weights", str(path))


@pytest.mark.parametrize("before", [True, False])
def test_verbose_logs_the_run_on_stderr(tmp_path, before):
    spec_path = write_spec(tmp_path)
    out = tmp_path / "run"
    args = ["train", spec_path, "--out", out]
    proc = engine(*(["--verbose", *args] if before else [*args, "--verbose"]))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert any(" DEBUG engine.trainer: rank 0: 140 training rows" in line for line in lines), proc.stderr
    assert any(f" INFO engine.runner: training {spec_path} into {out} on 1 rank(s)" in line for line in lines)
    assert sum(" DEBUG engine.runner: epoch " in line for line in lines) == SPEC["train"]["epochs"]
    assert any(f"INFO engine.runner: completed after 4 epochs; wrote model.npz and result.json in {out}" in line
               for line in lines)
    assert json.loads((out / "result.json").read_text())["status"] == "completed"


def test_without_verbose_a_run_logs_nothing(tmp_path):
    proc = engine("train", write_spec(tmp_path), "--out", tmp_path / "run")
    assert proc.returncode == 0 and proc.stderr == ""
