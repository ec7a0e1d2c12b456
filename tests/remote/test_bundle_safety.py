"""A spec cannot make the bundle upload private files, and data from elsewhere needs a yes.

Refused always: files under ~/.ssh, ~/.gnupg, /proc, /sys, /dev, the login key, anything not
a regular file (symlinks resolved first). Outside the spec's folder: only when named.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from engine.spec import load_spec
from remote.bundle import BundleError, DataOutsideSpecFolderError, build_bundle
from tests.conftest import ROOT

SCRIPT = "#!/bin/bash\necho hi\n"
CSV = "x1,x2,label\n0,0,0\n1,1,1\n0,1,1\n1,0,0\n"


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n")
    (home / ".gnupg").mkdir()
    (home / ".gnupg" / "secring.gpg").write_text("secret")
    monkeypatch.setenv("HOME", str(home))
    return home


def _spec(folder, path):
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "spec.json"
    spec.write_text(json.dumps({"dataset": {"kind": "csv", "path": str(path)}, "model": {"kind": "logistic"},
                                "train": {"epochs": 1}}))
    return spec


@pytest.mark.parametrize("path,words", [
    ("~/.ssh/id_ed25519", ".ssh"),
    ("~/.gnupg/secring.gpg", ".gnupg"),
    ("/proc/self/environ", "/proc"),
    ("/dev/null", "/dev"),
    ("/sys/kernel", "/sys"),
])
def test_private_files_are_never_uploaded(tmp_path, home, path, words):
    spec = load_spec(_spec(tmp_path / "proj", path))
    with pytest.raises(BundleError, match=words) as info:
        build_bundle(spec, SCRIPT, allow_outside=(os.path.expanduser(path),))
    assert not isinstance(info.value, DataOutsideSpecFolderError)  # no "yes" makes these uploadable


def test_symlinks_are_resolved_before_deciding(tmp_path, home):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "points.csv").symlink_to(home / ".ssh" / "id_ed25519")
    with pytest.raises(BundleError, match=".ssh"):
        build_bundle(load_spec(_spec(proj, "points.csv")), SCRIPT)
    os.mkfifo(proj / "pipe.csv")
    with pytest.raises(BundleError, match="not a regular file"):
        build_bundle(load_spec(_spec(proj, "pipe.csv")), SCRIPT)
    (proj / "dangling.csv").symlink_to(proj / "gone.csv")
    with pytest.raises(BundleError, match="does not lead to a file"):
        build_bundle(load_spec(_spec(proj, "dangling.csv")), SCRIPT)


def test_the_login_key_is_never_uploaded_wherever_it_lies(tmp_path, home):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "cluster_key").write_text("secret")
    spec = load_spec(_spec(proj, "cluster_key"))
    with pytest.raises(BundleError, match="login key"):
        build_bundle(spec, SCRIPT, key_files=(str(proj / "cluster_key"),))


def test_data_outside_the_spec_folder_needs_a_yes(tmp_path, home):
    outside = tmp_path / "shared" / "points.csv"
    outside.parent.mkdir()
    outside.write_text(CSV)
    proj = tmp_path / "a" / "b" / "proj"
    spec = load_spec(_spec(proj, "../../../shared/points.csv"))
    with pytest.raises(DataOutsideSpecFolderError) as info:
        build_bundle(spec, SCRIPT)
    assert info.value.path == str(outside)
    bundle = build_bundle(spec, SCRIPT, allow_outside=(str(outside),))
    assert bundle.files["data/points.csv"] == CSV.encode()
    # Inside the spec's folder (a subfolder too) nothing is asked.
    (proj / "sub").mkdir()
    (proj / "sub" / "p.csv").write_text(CSV)
    assert build_bundle(load_spec(_spec(proj, "sub/p.csv")), SCRIPT).files["data/p.csv"] == CSV.encode()


def _submit(tmp_path, spec, *extra):
    config = tmp_path / "profiles.toml"
    config.write_text(f'[profiles.local]\nworkdir = "{tmp_path / "work"}"\npython = "{sys.executable}"\n')
    env = {**os.environ, "SCALELAB_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "remote", "--config", str(config), "submit", "--profile", "local",
                           str(spec), *extra], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("path", ["~/.ssh/id_ed25519", "../../../../../../../../etc/passwd", "/proc/self/environ"])
def test_cli_refuses_in_one_line_and_uploads_nothing(tmp_path, home, path):
    proc = _submit(tmp_path, _spec(tmp_path / "proj", path))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: the data file ")
    assert not (tmp_path / "work").exists() or not os.listdir(tmp_path / "work")


def test_cli_data_option_uploads_a_file_from_elsewhere(tmp_path, home):
    outside = tmp_path / "shared" / "points.csv"
    outside.parent.mkdir()
    outside.write_text(CSV)
    spec = _spec(tmp_path / "proj", "missing.csv")
    proc = _submit(tmp_path, spec, "--data", str(outside))
    assert proc.returncode == 0, proc.stderr
    (job_dir,) = os.listdir(tmp_path / "work")
    assert (tmp_path / "work" / job_dir / "data" / "points.csv").read_text() == CSV
    assert json.loads((tmp_path / "work" / job_dir / "spec.json").read_text())["dataset"]["path"] == "data/points.csv"
    # --data does not open the private folders either.
    proc = _submit(tmp_path, spec, "--data", str(home / ".ssh" / "id_ed25519"))
    assert proc.returncode == 2 and ".ssh" in proc.stderr
