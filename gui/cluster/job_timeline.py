"""A job's timeline in the Job tab: submitted -> started -> ended, with SLURM's times or
when a poll first saw each change."""

from __future__ import annotations

import time

from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from remote.slurm import FINISHED_STATES
from remote.store import StoredJob


def _clock(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t else "—"


def _duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {(seconds % 3600) // 60:02d} min"


def _when(job: StoredJob, which: str, t: float | None) -> str:
    """A clock time, said as "seen at" when it is only when a poll noticed the change."""
    return _clock(t) if job.from_slurm(which) or not t else f"seen at {_clock(t)}"


def timeline_text(job: StoredJob, now_s: float | None = None) -> list[tuple[str, str, bool]]:
    """The timeline's steps: ``(title, detail, reached)`` for submitted, started, ended.

    Times are SLURM's own where it gave them (``squeue``, ``sacct``, ``scontrol``); a time
    only known from a poll says "seen at". A job that ended without ever running (cancelled
    while pending) shows no start. "ran" is the job's wall time, from start to end.
    """
    now_s = time.time() if now_s is None else now_s
    # A job submitted elsewhere: unless SLURM said, we know when we began to follow it, not when
    # it was submitted.
    submitted_known = job.kind == "tracked" or job.from_slurm("submitted")
    steps = [("Submitted" if submitted_known else "Followed", _when(job, "submitted", job.submitted_at),
              job.submitted_at is not None)]
    never_ran = job.finished and not job.started_at and job.state not in ("UNKNOWN",)
    if job.started_at:
        waited = job.started_at - job.submitted_at if job.submitted_at else None
        if submitted_known:
            steps.append(("Started", f"{_when(job, 'started', job.started_at)} · waited {_duration(waited)}", True))
        else:  # how long it queued is unknown here
            early = waited is not None and waited < 0
            steps.append(("Started", _when(job, "started", job.started_at)
                          + (" · before it was followed" if early else ""), True))
    elif job.state == "PENDING":
        waiting = now_s - job.submitted_at if job.submitted_at else None
        steps.append(("Started", f"waiting for {_duration(waiting)}", False))
    elif never_ran:
        steps.append(("Never started", f"{job.state.lower()} while pending", False))
    else:
        steps.append(("Started", "—", job.state not in ("PENDING", "UNKNOWN")))
    if job.ended_at or job.state in FINISHED_STATES:
        ran = job.ended_at - job.started_at if job.ended_at and job.started_at else None
        code = f" · exit {job.exit_code}" if job.exit_code is not None else ""
        run = "never ran" if never_ran else f"job ran {_duration(ran)}"
        steps.append((job.state.capitalize(), f"{_when(job, 'ended', job.ended_at)} · {run}{code}", True))
    elif job.started_at:
        steps.append(("Running", f"for {_duration(now_s - job.started_at)}", False))
    else:
        steps.append(("Ended", "—", False))
    return steps


class Timeline(QtWidgets.QWidget):
    """Submitted → started → ended, each a dot (filled when reached) with times."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.labels: list[QtWidgets.QLabel] = []
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for i in range(3):
            if i:
                line = QtWidgets.QFrame()
                line.setFrameShape(QtWidgets.QFrame.Shape.HLine)
                line.setStyleSheet(f"color: {theme.MUTED};")
                line.setMinimumWidth(24)
                lay.addWidget(line, 1)
            label = QtWidgets.QLabel()
            label.setTextFormat(QtCore.Qt.TextFormat.RichText)
            label.setWordWrap(True)
            self.labels.append(label)
            lay.addWidget(label, 0, QtCore.Qt.AlignmentFlag.AlignTop)  # a wrapped step keeps its title in line

    def set_steps(self, steps: list[tuple[str, str, bool]]) -> None:
        for label, (title, detail, reached) in zip(self.labels, steps):
            dot = "●" if reached else "○"
            color = theme.POSITIVE_COLOR if reached else theme.MUTED
            if title in ("Failed", "Timeout", "Cancelled", "Out_of_memory", "Node_fail"):
                color = theme.ERROR_COLOR
            label.setText(f"<span style='color:{color}; font-size:14pt'>{dot}</span> <b>{title}</b><br>"
                          f"<span style='color:{theme.MUTED}'>{detail}</span>")

    def text(self) -> str:
        return " | ".join(QtGui.QTextDocumentFragment.fromHtml(l.text()).toPlainText() for l in self.labels)
