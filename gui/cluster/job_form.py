"""The job form: what to ask SLURM for (nodes, ranks, time, partition, ...).

The form holds plain values; :meth:`JobForm.description` turns them into a
:class:`remote.slurm.JobDescription` on top of a base description (launcher, Python,
setup lines and job folder come from the profile and the submit step). Every change is
validated at once with the same rules ``render_job_script`` applies, and each bad field
is outlined in red with the reason as its tooltip.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any, Callable

from PySide6 import QtCore, QtWidgets
from superqt.utils import signals_blocked

from gui import theme
from remote.slurm import JobDescription, Partition, SlurmInputError, time_to_seconds

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


def partition_limit_errors(values: dict[str, Any], partition: Partition | None) -> dict[str, str]:
    """What the form asks for that the partition's nodes can never give, by field.

    ``values`` are :meth:`JobForm.values`; ``partition`` is what ``sinfo`` says about the
    partition the job goes to (``None``: unknown, nothing is checked). Checked: CPUs on one
    node (tasks per node x CPUs per task against the largest node), the number of nodes,
    and the time limit.
    """
    if partition is None:
        return {}
    errors: dict[str, str] = {}
    nodes = values.get("nodes") or 1
    ntasks = values.get("ntasks") or 1
    per_task = values.get("cpus_per_task") or 1
    per_node = values.get("ntasks_per_node") or math.ceil(ntasks / nodes)
    if partition.nodes and nodes > partition.nodes:
        plural = "s" if partition.nodes != 1 else ""
        errors["nodes"] = f"partition {partition.name} has {partition.nodes} node{plural}; {nodes} can never be given"
    if partition.cpus_per_node:
        most = max(partition.cpus_per_node)
        if per_node * per_task > most:
            field = "ntasks_per_node" if values.get("ntasks_per_node") else "ntasks"
            tasks = f"{per_node} task{'s' if per_node != 1 else ''}"
            cpus = f"{per_task} CPU{'s' if per_task != 1 else ''}"
            errors[field] = (f"{tasks} x {cpus} = {per_node * per_task} CPUs on one node, but the nodes of partition "
                             f"{partition.name} have {most}: use more nodes or fewer tasks per node")
    limit_s = time_to_seconds(partition.time_limit) if partition.time_limit.lower() not in (
        "infinite", "unlimited", "n/a") else None
    asked_s = time_to_seconds(values.get("time") or "")
    if limit_s is not None and asked_s is not None and asked_s > limit_s:
        errors["time"] = f"longer than partition {partition.name}'s limit of {partition.time_limit}"
    return errors


def partition_summary(partition: Partition) -> str:
    """One line about a partition: nodes, CPUs per node, time limit and state."""
    cpus = "/".join(str(c) for c in partition.cpus_per_node) or "?"
    states = ", ".join(f"{n} {s}" for s, n in partition.node_states)
    unlimited = partition.time_limit.lower() in ("infinite", "unlimited")
    limit = "no time limit" if unlimited else f"time limit {partition.time_limit}"
    return (f"Partition {partition.name}: {partition.nodes} node{'s' if partition.nodes != 1 else ''} x {cpus} CPUs "
            f"({states}), {limit}" + ("" if partition.available == "up" else f", {partition.available}"))


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
            if name == "partition":
                # What sinfo says about the picked partition: nodes, CPUs, time limit.
                self.partition_info = QtWidgets.QLabel()
                self.partition_info.setProperty("role", "hint")
                self.partition_info.setWordWrap(True)
                form.addRow(self.partition_info)  # the whole width: it is a sentence
        #: Said when one field followed another (tasks, nodes, tasks per node, the job name).
        self.follow_label = QtWidgets.QLabel()
        self.follow_label.setProperty("role", "hint")
        self.follow_label.setWordWrap(True)
        form.addRow(self.follow_label)
        self.error_label = QtWidgets.QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {theme.ERROR_COLOR};")
        form.addRow(self.error_label)
        #: Partitions as sinfo describes them, by name.
        self.partitions: dict[str, Partition] = {}
        self._last: dict[str, Any] = {}
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

    def set_partitions(self, partitions: list) -> None:
        """Offer ``partitions`` (``Partition`` objects from ``sinfo``, or names) in the partition box.

        The text stays; with ``Partition`` objects the request is checked against their nodes
        and time limits, and the picked one is described under the box.
        """
        combo: QtWidgets.QComboBox = self.widgets["partition"]
        text = combo.currentText()
        self.partitions = {p.name: p for p in partitions if isinstance(p, Partition)}
        names = [p.name if isinstance(p, Partition) else p for p in partitions]
        with signals_blocked(combo):
            combo.clear()
            combo.addItem("")
            for name in names:
                if not name:
                    continue
                combo.addItem(name)
                if name in self.partitions:
                    combo.setItemData(combo.count() - 1, partition_summary(self.partitions[name]),
                                      QtCore.Qt.ItemDataRole.ToolTipRole)
            combo.setEditText(text)
        self._revalidate()

    def target_partition(self, values: dict[str, Any] | None = None) -> Partition | None:
        """The partition the job goes to: the one named, else the cluster's default."""
        name = (values or self.values()).get("partition") or ""
        if name:
            return self.partitions.get(name)
        return next((p for p in self.partitions.values() if p.default), None)

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
        self.follow_label.setText("")
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
        sender = self.sender()
        changed = next((n for n, w in self.widgets.items() if w is sender), "")
        self._follow(changed)
        self._revalidate()
        self.changed.emit()

    def _set_quietly(self, name: str, value: Any) -> None:
        w = self.widgets[name]
        with signals_blocked(w):
            if isinstance(w, QtWidgets.QSpinBox):
                w.setValue(int(value))
            else:
                w.setText(str(value))

    def _follow(self, changed: str) -> None:
        """Keep tasks, nodes and tasks per node consistent after ``changed`` moved, and say so.

        A fixed tasks-per-node follows tasks and nodes (tasks over nodes, rounded up); setting
        tasks per node sets tasks (per node x nodes). A job name that counts the ranks
        (``scalelab-4ranks``) counts the new number.
        """
        before = self._last
        values = self.values()
        notes = []
        nodes = values["nodes"] or 1
        if changed in ("ntasks", "nodes") and values["ntasks_per_node"]:
            per_node = math.ceil(values["ntasks"] / nodes)
            if per_node != values["ntasks_per_node"]:
                self._set_quietly("ntasks_per_node", per_node)
                notes.append(f"Tasks per node set to {per_node} to follow {values['ntasks']} tasks on {nodes} "
                             f"node{'s' if nodes != 1 else ''}.")
        elif changed == "ntasks_per_node" and values["ntasks_per_node"]:
            ntasks = values["ntasks_per_node"] * nodes
            if ntasks != values["ntasks"]:
                self._set_quietly("ntasks", ntasks)
                notes.append(f"Tasks set to {ntasks} to follow {values['ntasks_per_node']} per node on {nodes} "
                             f"node{'s' if nodes != 1 else ''}.")
        new_ntasks = self.values()["ntasks"]
        old_ntasks = before.get("ntasks")
        name = values.get("job_name") or ""
        match = re.search(r"(\d+)(-?ranks?)$", name)
        if (changed in ("ntasks", "nodes", "ntasks_per_node") and match and old_ntasks
                and int(match.group(1)) == old_ntasks and new_ntasks != old_ntasks):
            suffix = match.group(2).rstrip("s") + ("" if new_ntasks == 1 else "s")
            new_name = name[:match.start(1)] + str(new_ntasks) + suffix
            self._set_quietly("job_name", new_name)
            notes.append(f"Job name set to {new_name}.")
        if notes:
            self.follow_label.setText(" ".join(notes))
        self.follow_label.setVisible(bool(self.follow_label.text()))
        self._last = self.values()

    def _revalidate(self) -> None:
        desc = self._describe(self.values()) if self._describe is not None else self.description()
        if not desc.job_dir:
            desc = replace(desc, job_dir="/preview")
        self._errors = description_errors(desc)
        values = self.values()
        partition = self.target_partition(values)
        for field, message in partition_limit_errors(values, partition).items():
            self._errors.setdefault(field, message)
        if partition is not None:
            self.partition_info.setText(partition_summary(partition))
        elif values.get("partition") and self.partitions:
            self.partition_info.setText(f"sinfo lists no partition {values['partition']!r}; it has "
                                        f"{', '.join(self.partitions)}.")
        else:
            self.partition_info.setText("")
        self.partition_info.setVisible(bool(self.partition_info.text()))
        self._last = values
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
