"""Parsers of sbatch, squeue, sacct and scontrol output, from tables (garbage included)."""

from __future__ import annotations

import pytest

from remote.slurm import (
    SQUEUE_FORMAT, SlurmOutputError, accounting_from_scontrol, parse_sacct, parse_sbatch, parse_scontrol_job,
    parse_squeue, sacct_command, squeue_command,
)


@pytest.mark.parametrize("text,job_id", [
    ("123\n", "123"), ("123;jureca\n", "123"), ("  77  ", "77"),
    ("sbatch: warning: something odd\n4242\n", "4242"), ("9_3\n", "9"),
])
def test_parse_sbatch(text, job_id):
    assert parse_sbatch(text) == job_id


@pytest.mark.parametrize("text", ["", "Submitted batch job abc", "sbatch: error: invalid partition", "12a", "1;2;3"])
def test_parse_sbatch_garbage_raises_a_clear_error(text):
    with pytest.raises(SlurmOutputError, match="no job id"):
        parse_sbatch(text)


def test_squeue_command_is_one_call_for_all_jobs():
    argv = squeue_command(job_ids=["12", "13", "20"])
    assert argv[:3] == ["env", "SLURM_TIME_FORMAT=%s", "squeue"] and "--states=all" in argv and argv[argv.index("--jobs") + 1] == "12,13,20"
    assert argv[argv.index("--format") + 1] == SQUEUE_FORMAT
    assert SQUEUE_FORMAT.endswith("%j"), "the user-chosen name must be the last field"


SQUEUE_TEXT = """\
101|alice|RUNNING|batch|2|1:02:03|2:00:00|2026-01-01T10:00:00|2026-01-01T10:01:00|N/A|node[01-02]|spiral-2ranks
102|alice|PENDING|batch|4|0:00|1-00:00:00|2026-01-01T10:05:00|N/A|N/A|(Priority)|big|job|with|pipes
this line is garbage
103|alice|COMPLETED|debug|1|0:05|10:00|2026-01-01T09:00:00|2026-01-01T09:00:01|2026-01-01T09:00:05|n7|done
abc|alice|RUNNING|batch|1|0:01|10:00|x|y|N/A|n1|bad id

104|bob|WEIRD STATE|batch|1|0:01|10:00|x|y|N/A|n1|odd
105_3|alice|PENDING|batch|1|0:00|10:00|2026-01-01T10:05:00|N/A|N/A|(ReqNodeNotAvail, UnavailableNodes:n[1-3])|arr
106|alice|PENDING|gpu|1|0:00|UNLIMITED|2026-01-01T10:05:00|N/A|N/A|(None)|unheld
"""


def test_parse_squeue_fields_and_garbage():
    warnings: list[str] = []
    entries = parse_squeue(SQUEUE_TEXT, warnings)
    assert [e.job_id for e in entries] == ["101", "102", "103", "105_3", "106"]
    run, pend, done, arr, unheld = entries
    assert (run.name, run.user, run.state, run.partition, run.nodes) == ("spiral-2ranks", "alice", "RUNNING", "batch", 2)
    assert (run.elapsed, run.time_limit, run.nodelist, run.reason) == ("1:02:03", "2:00:00", "node[01-02]", "")
    assert run.elapsed_s == 3723 and run.submit_time == "2026-01-01T10:00:00" and run.start_time == "2026-01-01T10:01:00"
    assert pend.name == "big|job|with|pipes" and pend.reason == "Priority" and pend.nodelist == ""
    assert done.finished and not run.finished
    # SLURM's clock times (ISO here: squeue run without SLURM_TIME_FORMAT); a pending job has no start.
    assert done.end_s - done.start_s == 4 and done.start_s - done.submit_s == 1
    assert pend.start_s is None and run.end_s is None
    assert arr.reason == "ReqNodeNotAvail, UnavailableNodes:n[1-3]"
    assert unheld.reason == ""
    assert len(warnings) == 3
    assert any("garbage" in w for w in warnings) and any("WEIRD" in w for w in warnings)


@pytest.mark.parametrize("text", ["", "\n\n", "\x00\x01\x02", "|" * 30, "1|2|3", "💥" * 100])
def test_parse_squeue_never_crashes(text):
    warnings: list[str] = []
    assert parse_squeue(text, warnings) == [] or all(e.job_id for e in parse_squeue(text))


SACCT_TEXT = """\
101|COMPLETED|0:0|1767261600|1767261660|1767261780|00:02:00|n1|spiral
101.batch|COMPLETED|0:0|1767261600|1767261660|1767261780|00:02:00|n1|batch
101.0|COMPLETED|0:0|1767261600|1767261660|1767261780|00:02:00|n1|python3
102|CANCELLED by 1001|0:15|1767261600|1767261660|1767261720|00:01:00|n1|a|b
103|FAILED|2:0|1767261600|Unknown|Unknown|00:00:00|n1|bad
105|CANCELLED by 1001|0:0|1767261600|1767261700|1767261700|00:00:00|None assigned|never
garbage without fields
104|TIMEOUT|0:1
"""


def test_parse_sacct_jobs_only_and_garbage():
    warnings: list[str] = []
    entries = parse_sacct(SACCT_TEXT, warnings)
    assert [(e.job_id, e.state, e.exit_code, e.signal) for e in entries] == [
        ("101", "COMPLETED", 0, 0), ("102", "CANCELLED", 0, 15), ("103", "FAILED", 2, 0), ("105", "CANCELLED", 0, 0)]
    assert entries[1].name == "a|b" and entries[0].elapsed == "00:02:00"
    assert len(warnings) == 2
    # SLURM's own times, as Unix seconds: submitted, started, ended.
    assert (entries[0].submit_s, entries[0].start_s, entries[0].end_s) == (1767261600, 1767261660, 1767261780)
    assert entries[2].start_s is None  # "Unknown"
    # Cancelled while pending: SLURM writes start = end = the cancel, but no node ever ran it.
    assert entries[3].start_s is None and entries[3].end_s == 1767261700


def test_sacct_command():
    argv = sacct_command(["5", "6"])
    assert argv[:5] == ["env", "SLURM_TIME_FORMAT=%s", "sacct", "--parsable2", "--noheader"] and "5,6" in argv


SCONTROL_TEXT = """\
JobId=42 JobName=spiral run
   UserId=scalelabtest(1001) GroupId=scalelabtest(1001) MCS_label=N/A
   JobState=COMPLETED Reason=None Dependency=(null)
   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0
   RunTime=00:00:03 TimeLimit=00:10:00 TimeMin=N/A
   StartTime=2026-11-27T07:06:50 EndTime=2026-11-27T07:06:53 Deadline=N/A
   Command=/home/u/my jobs/job.sh
   WorkDir=/home/u/scalelab/x
   StdOut=/home/u/scalelab/x/slurm-42.out
   Power=
"""


def test_parse_scontrol_job():
    info = parse_scontrol_job(SCONTROL_TEXT)
    assert info["JobId"] == "42" and info["JobName"] == "spiral run"
    assert info["Command"] == "/home/u/my jobs/job.sh" and info["WorkDir"] == "/home/u/scalelab/x"
    assert info["Power"] == "" and info["ExitCode"] == "0:0"
    entry = accounting_from_scontrol(info)
    assert (entry.job_id, entry.state, entry.exit_code, entry.source) == ("42", "COMPLETED", 0, "scontrol")
    assert entry.elapsed == "00:00:03"


@pytest.mark.parametrize("text", ["slurm_load_jobs error: Invalid job id specified", "", "garbage\n\n==="])
def test_parse_scontrol_job_without_a_job(text):
    warnings: list[str] = []
    assert parse_scontrol_job(text, warnings) == {}
    assert accounting_from_scontrol({}) is None
