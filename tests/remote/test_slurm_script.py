"""job.sh from a JobDescription: golden files, validation, hover help, bash syntax.

Regenerate the golden files with ``SCALELAB_REGEN_GOLDEN=1 python -m pytest tests/remote/test_slurm_script.py``
and review the diff.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from remote.slurm import (
    DIRECTIVE_HELP, JobDescription, SlurmInputError, explain_reason, render_job_script, sbatch_option,
    script_output_name, time_to_seconds, valid_time,
)
from tests.conftest import require

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")

CASES = {
    "srun_full": JobDescription(
        job_name="spiral-2ranks", nodes=2, ntasks=4, ntasks_per_node=2, cpus_per_task=2, time="1-02:00:00",
        partition="batch", account="training2406", reservation="course_day1", qos="normal", gpus=4, mem="4G",
        mail_user="student@example.org", mail_type="END,FAIL", output="slurm-%j.out", error="slurm-%j.err",
        setup=("module load GCC ParaStationMPI SciPy-Stack mpi4py",), launcher="srun", mpi_plugin="pmix",
        python="python3", job_dir="/p/home/jusers/train004/scalelab/20260101-120000-spiral-abc123",
    ),
    "mpirun_home": JobDescription(
        job_name="xor", nodes=1, ntasks=2, time="00:05:00", partition="debug", launcher="mpirun", mpi_plugin="",
        python="~/venv/bin/python", job_dir="~/scalelab/job 1",
    ),
    "local_one": JobDescription(
        job_name="local-run", nodes=1, ntasks=1, cpus_per_task=None, time="", output="job-local.out",
        launcher="none", mpi_plugin="", python="/usr/bin/python3", job_dir="/tmp/jobs/a'b",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_job_script_matches_golden_file(name):
    text = render_job_script(CASES[name])
    path = os.path.join(GOLDEN, f"{name}.sh")
    if os.environ.get("SCALELAB_REGEN_GOLDEN"):
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    with open(path, encoding="utf-8") as fh:
        assert text == fh.read(), f"job.sh for {name} changed; regenerate with SCALELAB_REGEN_GOLDEN=1 and review"


@pytest.mark.parametrize("name", sorted(CASES))
def test_job_script_is_valid_bash_and_pure(name):
    require(shutil.which("bash") is not None, "bash is needed to syntax-check job.sh")
    text = render_job_script(CASES[name])
    assert text == render_job_script(CASES[name])
    proc = subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr


def test_every_directive_is_explained_in_the_script_and_in_directive_help():
    text = render_job_script(CASES["srun_full"])
    directives = [ln for ln in text.splitlines() if ln.startswith("#SBATCH")]
    assert len(directives) == 16
    for line in directives:
        option = line.split()[1].split("=")[0]
        assert option in DIRECTIVE_HELP and DIRECTIVE_HELP[option].endswith(".")
        comment = line.split("#", 2)[2].strip()
        assert len(comment) > 8, line


def test_script_records_exit_status_and_launches_engine():
    text = render_job_script(CASES["srun_full"])
    assert "trap 'echo $? > \"$JOB_DIR/exit_status\"' EXIT" in text
    last = text.rstrip().splitlines()
    assert last[-2] == "srun --mpi=pmix python3 -m engine train spec.json --out ."
    # The output file says where the job ran and, after a good run, where its results are.
    assert last[-1].startswith('echo "Finished') and "result.json are in $JOB_DIR" in last[-1]
    assert 'echo "ScaleLab job${SLURM_JOB_ID:+ $SLURM_JOB_ID} on $(hostname): 4 ranks, started' in text
    assert "module load GCC ParaStationMPI SciPy-Stack mpi4py" in text
    mp = render_job_script(CASES["mpirun_home"])
    assert "mpirun -n 2 \"$HOME\"/venv/bin/python -m engine train" in mp
    assert "JOB_DIR=\"$HOME\"/'scalelab/job 1'" in mp


def test_the_trap_really_records_the_exit_status(tmp_path):
    """Run the rendered script's prologue for real with a failing launch command."""
    require(shutil.which("bash") is not None, "bash is needed to run job.sh")
    desc = JobDescription(job_name="t", ntasks=1, launcher="none", python="false", mpi_plugin="",
                          job_dir=str(tmp_path))
    text = render_job_script(desc)
    (tmp_path / "job.sh").write_text(text)
    proc = subprocess.run(["bash", "job.sh"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1
    assert (tmp_path / "exit_status").read_text().strip() == "1"


BAD = [
    ("job_name", "$(touch /tmp/pwned)"),
    ("job_name", "a;b"),
    ("job_name", "two\nlines"),
    ("job_name", ""),
    ("job_name", "x" * 65),
    ("partition", "batch;rm -rf ~"),
    ("account", "a b"),
    ("reservation", "r`id`"),
    ("qos", "q\n#SBATCH --x"),
    ("time", "1:2:3:4"),
    ("time", "25:61:00"),
    ("time", "abc"),
    ("time", "1-25:00:00"),
    ("mem", "4GB"),
    ("mem", "-1G"),
    ("mem", "4 G"),
    ("mail_user", "not-an-email"),
    ("mail_user", "a@b;c.org"),
    ("mail_type", "SOMETIMES"),
    ("output", "../escape-%j.out"),
    ("output", "out put.txt"),
    ("output", "$(id).out"),
    ("ntasks", 0),
    ("nodes", 0),
    ("cpus_per_task", -1),
    ("gpus", "two"),
    ("launcher", "bash"),
    ("mpi_plugin", "pmix; id"),
    ("setup", ("module load x\nid",)),
    ("python", "python3\n"),
    ("job_dir", "relative/path"),
]


@pytest.mark.parametrize("field,value", BAD)
def test_bad_values_are_refused_naming_the_field(field, value):
    desc = JobDescription(job_dir="/tmp/j").with_(**{field: value})
    with pytest.raises(SlurmInputError) as info:
        render_job_script(desc)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_more_nodes_than_tasks_is_refused():
    with pytest.raises(SlurmInputError, match="nodes"):
        JobDescription(nodes=3, ntasks=2, job_dir="/x").validate()


@pytest.mark.parametrize("text,ok,seconds", [
    ("10", True, 600), ("05:30", True, 330), ("01:00:00", True, 3600), ("1-00", True, 86400),
    ("1-02:03", True, 93780), ("2-00:00:01", True, 172801), ("00:60", False, None), ("0", False, 0),
    ("1-24", False, None), ("", False, None),
])
def test_slurm_time_formats(text, ok, seconds):
    assert valid_time(text) is ok
    if seconds is not None:
        assert time_to_seconds(text) == seconds


@pytest.mark.parametrize("reason,words", [
    ("Priority", "higher priority"), ("Resources", "not enough"), ("Dependency", "depends"),
    ("QOSMaxJobsPerUserLimit", "quality of service"), ("ReqNodeNotAvail, UnavailableNodes:n[1-2]", "down"),
    ("BeginTime", "not to start before"), ("AssocGrpCPULimit", "CPUs"), ("JobHeldUser", "hold"),
    ("(Resources)", "not enough"), ("QOSGrpGRES", "quality of service"), ("SomethingNew", "SLURM says: SomethingNew"),
    ("None", "not waiting"),
])
def test_explain_reason(reason, words):
    assert words in explain_reason(reason)


def test_directive_help_sentences_are_short():
    for option, text in DIRECTIVE_HELP.items():
        assert re.match(r"^--[a-z-]+$", option)
        assert 10 < len(text) < 120 and text.count(". ") == 0


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("#SBATCH --ntasks-per-node=2", ("--ntasks-per-node", "2")),
        ("  #SBATCH -N 4", ("-N", "4")),
        ("#SBATCH --exclusive", ("--exclusive", "")),
        ("# SBATCH --ntasks=2", None),
        ("srun python3 -m engine", None),
    ],
)
def test_sbatch_option_reads_directive_lines(line, expected):
    assert sbatch_option(line) == expected


def test_script_output_name_follows_an_edited_script():
    desc = JobDescription(job_name="demo", ntasks=2, time="00:05:00", job_dir="/w/demo-1")
    rendered = render_job_script(desc)
    assert script_output_name(rendered, "fallback") == desc.output
    edited = rendered.replace(f"--output={desc.output}", "--output=run-%j.log")
    assert script_output_name(edited, "fallback") == "run-%j.log"
    assert script_output_name("#!/bin/bash\nsrun true\n", "slurm-%j.out") == "slurm-%j.out"
