"""A wheel carries the shipped files: installed outside the checkout, the job form's templates
and the example specs (with their sample data) are found through ``resources``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

from tests.conftest import ROOT, require

pytestmark = pytest.mark.slow

CHECK = textwrap.dedent("""
    import json, os, sys
    import resources
    from engine.spec import load_spec
    from gui.cluster.templates import BUILTIN_DIR, list_templates
    specs = resources.example_specs()
    iris = load_spec(resources.resource_path("specs", "iris.json"))
    data = iris.dataset.resolve_path(iris.base_dir)
    print(json.dumps({
        "resources": resources.__file__, "gui": __import__("gui").__file__, "templates_dir": BUILTIN_DIR,
        "templates": sorted(t.name for t in list_templates() if t.builtin),
        "specs": [os.path.basename(s) for s in specs], "iris_data_bytes": os.path.getsize(data),
    }))
""")


def test_wheel_installed_elsewhere_finds_templates_and_example_specs(tmp_path):
    # Built from a clean copy: an in-tree build would leave build/ behind, and a stale build/
    # in the checkout could carry files the package no longer declares.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "tests"))
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheels), str(source)], capture_output=True, text=True, timeout=600)
    require(built.returncode == 0, f"cannot build the wheel offline (setuptools>=77 needed): {built.stderr[-500:]}")
    (wheel,) = list(wheels.glob("scalelab-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    vpy = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(vpy), "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True, timeout=600)
    # The fresh venv borrows the test venv's third-party packages (numpy, PySide6, ...) by path
    # only: PYTHONPATH entries run no .pth files, so the checkout's editable finder stays out.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SCALELAB_CONFIG")}
    env["PYTHONPATH"] = sysconfig.get_paths()["purelib"]
    env["SCALELAB_CONFIG"] = str(tmp_path / "config" / "profiles.toml")
    run = subprocess.run([str(vpy), "-c", CHECK], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    for key in ("resources", "gui", "templates_dir"):
        assert found[key].startswith(str(venv)), (key, found[key])
    assert found["templates"] == sorted(json.load(open(p))["name"] for p in (
        os.path.join(ROOT, "resources", "templates", f) for f in os.listdir(os.path.join(ROOT, "resources", "templates"))
        if f.startswith("jobform-")))
    assert "iris.json" in found["specs"] and found["iris_data_bytes"] == os.path.getsize(
        os.path.join(ROOT, "resources", "data", "iris_2d.csv"))
