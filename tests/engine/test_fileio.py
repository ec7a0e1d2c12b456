"""engine.fileio: the one atomic-write helper, and engine.metrics.format_metric."""

from __future__ import annotations

import ast
import os
import pathlib
import stat

import numpy as np
import pytest

from engine.fileio import atomic_write, atomic_write_with
from engine.metrics import MISSING, format_metric

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_text_and_bytes_read_back_byte_for_byte(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write(path, "é\r\nline\n")
    assert path.read_bytes() == "é\r\nline\n".encode("utf-8")
    atomic_write(path, b"\x00\xff")
    assert path.read_bytes() == b"\x00\xff"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_mode_applies_to_a_new_and_a_replaced_file(tmp_path):
    path = tmp_path / "secret.toml"
    path.write_text("old")
    os.chmod(path, 0o644)
    atomic_write(path, "new", mode=0o600, fsync=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "new"


def test_a_failing_writer_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "model.npz"
    atomic_write_with(path, lambda tmp: np.savez(open(tmp, "wb"), W=np.arange(3)))
    before = path.read_bytes()

    def broken(tmp):
        with open(tmp, "wb") as fh:
            fh.write(b"half a fi")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write_with(path, broken)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


def test_make_dirs(tmp_path):
    path = tmp_path / "a" / "b" / "c.json"
    atomic_write(path, "{}", make_dirs=True)
    assert path.read_text() == "{}"


@pytest.mark.parametrize("value,metric,text", [
    (None, "loss", MISSING),
    (0.123456, "loss", "0.1235"),
    (1.37e-07, "test_loss", "1.37e-07"),
    (0.0, "loss", "0"),
    (0.9567, "accuracy", "95.7%"),
    (1.0, "test_accuracy", "100.0%"),
    (float("nan"), "loss", MISSING),
    (float("inf"), "loss", MISSING),
    (np.float32(2.5), "loss", "2.5"),
])
def test_format_metric(value, metric, text):
    assert format_metric(value, metric) == text


def test_one_atomic_write_implementation():
    """Every rename-over-a-file in the product goes through engine.fileio."""
    offenders = []
    for folder in ("engine", "remote", "gui"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "fileio.py" and path.parent.name == "engine":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in ("replace", "rename")
                        and isinstance(node.func.value, ast.Name) and node.func.value.id == "os"):
                    continue
                # Moving a file aside (a backup of an unreadable one) is not a write.
                if any("backup" in ast.unparse(arg) for arg in node.args[1:]):
                    continue
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
