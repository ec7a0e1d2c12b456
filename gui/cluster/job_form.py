"""The job form: what to ask SLURM for (nodes, ranks, time, partition, ...).

The form holds plain values; :meth:`JobForm.description` turns them into a
:class:`remote.slurm.JobDescription` on top of a base description (launcher, Python,
setup lines and job folder come from the profile and the submit step). Every change is
validated at once with the same rules ``render_job_script`` applies, and each bad field
is outlined in red with the reason as its tooltip.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from PySide6 import QtCore, QtWidgets
from superqt.utils import signals_blocked

from gui import theme
from remote.slurm import JobDescription, SlurmInputError

# Form fields in display order: (JobDescription field, label, hint).
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("job_name", "Job name", "The name squeue shows."),
    ("nodes", "Nodes", "How many computers the ranks are spread over."),
    ("ntasks", "Tasks (ranks)", "How many copies of the training program run together (MPI ranks)."),
    ("ntasks_per_node", "Tasks per node", "How many ranks on each node; 'auto' lets SLURM decide."),
    ("cpus_per_task", "CPUs per task", "CPU cores for each rank."),
    ("gpus", "GPUs", "GPUs for the whole job: a count (2) or type:count (a100:2); empty for none."),
    ("time", "Time limit", "Wall-clock limit: HH:MM:SS, MM or D-HH:MM:SS. The job is stopped after it."),
    ("partition", "Partition", "The queue to wait in; empty for the cluster's default."),
    ("account", "Account", "The budget the job is billed to; empty for your default."),
    ("reservation", "Reservation", "A booked block of nodes (e.g. for a course); empty for none."),
    ("qos", "QOS", "Quality of service: limits and priority class; empty for the default."),
    ("mem", "Memory per node", "e.g. 4G or 500M; empty for the partition's default."),
    ("mail_user", "Mail to", "E-mail address for notifications; empty for none."),
    ("mail_type", "Mail when", "Which events send e-mail: BEGIN, END, FAIL, ALL (comma-separated)."),
)
FIELD_NAMES = tuple(f for f, _, _ in FIELDS)
_INT_FIELDS = ("nodes", "ntasks", "ntasks_per_node", "cpus_per_task")
#: Fields only sbatch reads: the local profile runs ``bash job.sh`` and ignores them.
SLURM_ONLY_FIELDS = ("nodes", "ntasks_per_node", "cpus_per_task", "gpus", "time", "partition", "account",
                     "reservation", "qos", "mem", "mail_user", "mail_type")


def description_errors(desc: JobDescription) -> dict[str, str]:
    """Every bad field of ``desc`` with its message (``validate`` stops at the first).

    Each bad field is reset to its default and validation runs again, so one call finds
    them all.
    """
    errors: dict[str, str] = {}
    defaults = JobDescription()
    current = desc
    for _ in range(len(FIELD_NAMES) + 8):
        try:
            current.validate()
            return errors
        except SlurmInputError as exc:
            field = exc.field
            if field in errors:
                return errors
            errors[field] = exc.message
            if field == "nodes" and "tasks" in exc.message:
                current = replace(current, nodes=None)
            else:
                current = replace(current, **{field: getattr(defaults, field)})
    return errors


class JobForm(QtWidgets.QWidget):
    """The sbatch options of one job.

    Signals
    -------
    changed()
        Any value changed (the script preview regenerates).
    """

    changed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.widgets: dict[str, QtWidgets.QWidget] = {}
        self.labels: dict[str, QtWidgets.QLabel] = {}
        self._errors: dict[str, str] = {}
        form = QtWidgets.QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for name, label, hint in FIELDS:
            widget = self._make_widget(name)
            widget.setToolTip(hint)
            self.widgets[name] = widget
            lab = QtWidgets.QLabel(label)
            lab.setToolTip(hint)
            self.labels[name] = lab
            form.addRow(lab, widget)
        self.error_label = QtWidgets.QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {theme.ERROR_COLOR};")
        form.addRow(self.error_label)
        self._base = JobDescription()
        # values -> JobDescription used for validation; the compose tab lays the form over the profile.
        self._describe: Callable[[dict], JobDescription] | None = None
        self.set_values({})

    # ------------------------------------------------------------------ widgets

    def _make_widget(self, name: str) -> QtWidgets.QWidget:
        if name in _INT_FIELDS:
            spin = QtWidgets.QSpinBox()
            spin.setRange(0 if name == "ntasks_per_node" else 1, 100_000)
            if name == "ntasks_per_node":
                spin.setSpecialValueText("auto")
            spin.valueChanged.connect(self._on_value_changed)
            return spin
        if name in ("partition", "mail_type"):
            combo = QtWidgets.QComboBox()
            combo.setEditable(True)
            combo.setInsertPolicy(QtWidgets.QComboBox.InsertPolicy.NoInsert)
            if name == "mail_type":
                combo.addItems(["", "END", "FAIL", "END,FAIL", "BEGIN,END,FAIL", "ALL"])
            combo.editTextChanged.connect(self._on_value_changed)
            return combo
        edit = QtWidgets.QLineEdit()
        if name == "time":
            edit.setPlaceholderText("HH:MM:SS")
        elif name == "mem":
            edit.setPlaceholderText("e.g. 4G")
        elif name == "gpus":
            edit.setPlaceholderText("none")
        edit.textChanged.connect(self._on_value_changed)
        return edit

    def set_describer(self, describe: Callable[[dict], JobDescription] | None) -> None:
        """Validate through ``describe(values) -> JobDescription`` (the form laid over a profile)."""
        self._describe = describe
        self._revalidate()

    def set_slurm_fields_enabled(self, enabled: bool) -> None:
        """Enable or grey out the fields only sbatch reads (off for the local profile)."""
        for name in SLURM_ONLY_FIELDS:
            self.widgets[name].setEnabled(enabled)
            self.labels[name].setEnabled(enabled)

    def set_partitions(self, partitions: list[str]) -> None:
        """Offer ``partitions`` (from ``sinfo``) in the partition box, keeping the text."""
        combo: QtWidgets.QComboBox = self.widgets["partition"]
        text = combo.currentText()
        with signals_blocked(combo):
            combo.clear()
            combo.addItems([""] + [p for p in partitions if p])
            combo.setEditText(text)

    # ------------------------------------------------------------------ values

    def values(self) -> dict[str, Any]:
        """The form's values as JobDescription field values."""
        out: dict[str, Any] = {}
        for name in FIELD_NAMES:
            w = self.widgets[name]
            if isinstance(w, QtWidgets.QSpinBox):
                v = w.value()
                out[name] = None if (name == "ntasks_per_node" and v == 0) else v
            elif isinstance(w, QtWidgets.QComboBox):
                out[name] = w.currentText().strip()
            else:
                out[name] = w.text().strip()
        gpus = out["gpus"]
        out["gpus"] = int(gpus) if gpus.isdigit() else (gpus or None)
        return out

    def set_values(self, values: dict[str, Any]) -> None:
        """Fill the form; fields not in ``values`` take JobDescription's defaults."""
        defaults = JobDescription()
        for name in FIELD_NAMES:
            value = values.get(name, getattr(defaults, name))
            w = self.widgets[name]
            with signals_blocked(w):
                if isinstance(w, QtWidgets.QSpinBox):
                    w.setValue(0 if value is None else int(value))
                elif isinstance(w, QtWidgets.QComboBox):
                    w.setEditText("" if value is None else str(value))
                else:
                    w.setText("" if value is None else str(value))
        self._revalidate()
        self.changed.emit()

    def set_base(self, base: JobDescription) -> None:
        """The description the form's values are laid over (launcher, python, setup, job_dir)."""
        self._base = base
        self._revalidate()
        self.changed.emit()

    def description(self) -> JobDescription:
        """The base description with the form's values (not validated)."""
        return replace(self._base, **self.values())

    def errors(self) -> dict[str, str]:
        return dict(self._errors)

    def is_valid(self) -> bool:
        return not self._errors

    def _on_value_changed(self, *_: Any) -> None:
        self._revalidate()
        self.changed.emit()

    def _revalidate(self) -> None:
        desc = self._describe(self.values()) if self._describe is not None else self.description()
        if not desc.job_dir:
            desc = replace(desc, job_dir="/preview")
        self._errors = description_errors(desc)
        for name, w in self.widgets.items():
            bad = name in self._errors
            w.setProperty("invalid", bad)
            w.setStyleSheet(f"border: 2px solid {theme.ERROR_COLOR};" if bad else "")
            hint = next(h for f, _, h in FIELDS if f == name)
            w.setToolTip(f"{self._errors[name]}\n\n{hint}" if bad else hint)
        shown = [f"{dict((f, l) for f, l, _ in FIELDS).get(k, k)}: {m}" for k, m in self._errors.items()]
        self.error_label.setText("\n".join(shown))
        self.error_label.setVisible(bool(shown))


__all__ = ["FIELDS", "FIELD_NAMES", "JobForm", "SLURM_ONLY_FIELDS", "description_errors"]
