"""Script jobs: a job folder that runs a user's Python script (an exported Keras script) with its data.

tests/remote/test_keras_job.py runs a real exported Keras script as a job.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from remote.bundle import BundleError, build_script_bundle, script_companions
from remote.config import local_profile
from remote.jobs import JobOptions, prepare_script_job
from remote.slurm import JobDescription, SlurmInputError, render_job_script


def _script_folder(tmp_path):
    (tmp_path / "lesson.py").write_text("print('hello')\n")
    (tmp_path / "lesson_data.csv").write_text("x1,x2,label,part\n1.0,2.0,a,train\n")
    (tmp_path / "lesson_weights.npz").write_bytes(b"PK\x05\x06" + bytes(18))
    (tmp_path / "unrelated.txt").write_text("stays home")
    return tmp_path / "lesson.py"


def test_script_bundle_holds_the_script_its_data_and_job_sh(tmp_path):
    script = _script_folder(tmp_path)
    assert [os.path.basename(p) for p in script_companions(script)] == ["lesson_data.csv", "lesson_weights.npz"]
    desc = JobDescription(job_dir="/home/u/jobs/x", program="lesson.py", launcher="srun")
    bundle = build_script_bundle(script, render_job_script(desc))
    assert sorted(bundle.files) == ["job.sh", "lesson.py", "lesson_data.csv", "lesson_weights.npz"]
    assert bundle.files["lesson_data.csv"] == (tmp_path / "lesson_data.csv").read_bytes()
    assert bundle.spec is None and not any(name.startswith("engine/") for name in bundle.files)
    assert bundle.mode("job.sh") == 0o700 and bundle.mode("lesson.py") == 0o600
    # Named extra files replace the companions.
    only = build_script_bundle(script, "#!/bin/bash\n", extra_files=(tmp_path / "unrelated.txt",))
    assert sorted(only.files) == ["job.sh", "lesson.py", "unrelated.txt"]


def test_script_bundle_errors_name_the_file(tmp_path):
    with pytest.raises(BundleError, match="missing.py"):
        build_script_bundle(tmp_path / "missing.py", "")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(BundleError, match=r"notes.txt is not a Python script"):
        build_script_bundle(tmp_path / "notes.txt", "")
    script = _script_folder(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "lesson_data.csv").write_text("x")
    with pytest.raises(BundleError, match="two files of the job would be called lesson_data.csv"):
        build_script_bundle(script, "", extra_files=(tmp_path / "lesson_data.csv", tmp_path / "other" / "lesson_data.csv"))


def test_job_sh_runs_the_script_unbuffered_as_one_process(tmp_path):
    desc = JobDescription(job_dir="/home/u/jobs/x", program="my lesson.py".replace(" ", "_"), launcher="srun",
                          python="/opt/venv/bin/python")
    text = render_job_script(desc)
    assert "/opt/venv/bin/python -u my_lesson.py" in text
    assert "-m engine train" not in text and "srun" not in text.split("# One process runs")[1]
    subprocess.run(["bash", "-n"], input=text, text=True, check=True)
    for program, field in (("../x.py", "program"), ("x.sh", "program"), ("a b.py", "program")):
        with pytest.raises(SlurmInputError) as err:
            JobDescription(job_dir="/j", program=program).validate()
        assert err.value.field == field
    with pytest.raises(SlurmInputError, match="one process") as err:
        JobDescription(job_dir="/j", program="x.py", ntasks=2, nodes=1).validate()
    assert err.value.field == "ntasks"


def test_prepare_script_job_for_the_local_profile(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALELAB_DATA_DIR", str(tmp_path / "data"))
    script = _script_folder(tmp_path)
    desc, bundle = prepare_script_job(local_profile(), script, JobOptions(ntasks=1), str(tmp_path / "work"))
    assert desc.program == "lesson.py" and desc.launcher == "none" and desc.job_name == "scalelab-lesson"
    assert desc.job_dir.startswith(str(tmp_path / "work") + "/")
    assert f"{sys.executable} -u lesson.py" in bundle.files["job.sh"].decode()
    with pytest.raises(SlurmInputError, match="one process"):
        prepare_script_job(local_profile(), script, JobOptions(ntasks=2), str(tmp_path / "work"))
