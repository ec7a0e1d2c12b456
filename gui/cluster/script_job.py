"""Script jobs in the Cluster view: a job that runs a Python script (an exported Keras script).

The job form composes such a job when the user opens a ``.py`` file or starts from a
template with ``"runs": "script"``. ``job.sh`` then runs the script as one unbuffered
process (``JobDescription.program``), the job folder holds the script and the files beside
it that it reads (:func:`remote.bundle.build_script_bundle`), and the job's output file is
its metrics source: the Keras log parser turns its progress lines into curves.
"""

from __future__ import annotations

import os

from PySide6 import QtWidgets

from engine.spec import RunSpec
from remote.bundle import Bundle, build_bundle, build_script_bundle, script_companions
from remote.slurm import JobDescription

SCRIPT_FILTER = "Python script (*.py)"


def is_script(source: str) -> bool:
    """Whether a job source (what the form composes a job from) is a Python script."""
    return bool(source) and source.endswith(".py")


def with_program(desc: JobDescription, source: str) -> JobDescription:
    """``desc`` running the script ``source`` when it is one (else unchanged)."""
    return desc.with_(program=os.path.basename(source)) if is_script(source) else desc


def script_summary(path: str) -> str:
    """One line for the form: the script and the files that go with it."""
    beside = [os.path.basename(p) for p in script_companions(path)]
    extra = f" with {', '.join(beside)}" if beside else " (no data files beside it)"
    return f"Script: {os.path.basename(path)}{extra}; one process, curves from its Keras progress lines"


def job_bundle(spec: RunSpec | None, source: str, job_script: str, *, key_files=(), allow_outside=()) -> Bundle:
    """The files of the job: the script and its data, or the engine with the spec.

    ``key_files`` and ``allow_outside`` go to :func:`remote.bundle.build_bundle` (what a spec's
    data file may be).
    """
    if is_script(source):
        return build_script_bundle(source, job_script)
    return build_bundle(spec, job_script, key_files=key_files, allow_outside=allow_outside)


def choose_script(parent: QtWidgets.QWidget) -> str:
    """Ask for the script to run ("" when the user cancels)."""
    path, _ = QtWidgets.QFileDialog.getOpenFileName(parent, "Choose the script to run (an exported Keras script)",
                                                    "", SCRIPT_FILTER)
    return path or ""


def follows_output(job) -> bool:
    """Whether a tracked job's curves come from its output file (a script job) rather than metrics.jsonl."""
    return bool(job.metrics_path) and job.metrics_path == job.output_path
