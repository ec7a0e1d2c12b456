"""The "New job" tab: a spec, templates, the job form, the live ``job.sh`` and the submit button.

The tab talks to no cluster. It knows the selected profile and its work folder (given with
:meth:`ComposeTab.set_profile`), keeps the planned job folder's name, and on "Submit job"
emits :class:`SubmitRequest`: everything the submit step needs, frozen at that moment.
Whoever submits reports back with :meth:`ComposeTab.submit_succeeded` or
:meth:`ComposeTab.submit_failed`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from PySide6 import QtCore, QtWidgets
from superqt.utils import signals_blocked

from engine.spec import RunSpec, SpecError, load_spec
from gui import theme
from gui.cluster.job_form import JobForm
from gui.cluster.script_job import (
    choose_script,
    is_script,
    script_summary,
    with_program,
)
from gui.cluster.script_preview import ScriptPreview
from gui.cluster.templates import (
    JobTemplate,
    TemplateError,
    list_templates,
    save_template,
)
from gui.widgets.scroll import VerticalScrollArea
from remote.bundle import BundleError, job_folder_name, outside_data_file
from remote.config import Profile
from remote.jobs import JobOptions, describe_job
from remote.slurm import (
    DIRECTIVE_HELP,
    JobDescription,
    SlurmInputError,
    render_job_script,
)


def description_for(profile: Profile, job_dir: str, values: dict, spec_name: str = "job") -> JobDescription:
    """The job description for ``profile`` with the job form's ``values`` laid over it.

    ``remote.jobs.describe_job`` decides launcher, Python, setup lines and (for the local
    profile) the ``mpirun`` arguments; the form decides the sbatch options.
    """
    options = JobOptions(
        ntasks=values.get("ntasks") or 1, nodes=values.get("nodes"), time=values.get("time") or "",
        partition=values.get("partition", ""), job_name=values.get("job_name", ""), gpus=values.get("gpus"),
        account=values.get("account", ""), reservation=values.get("reservation", ""), qos=values.get("qos", ""),
        mem=values.get("mem", ""), cpus_per_task=values.get("cpus_per_task"),
    )
    desc = with_program(describe_job(profile, job_dir, options, spec_name), spec_name)
    if not profile.is_local:
        desc = replace(desc, ntasks_per_node=values.get("ntasks_per_node"), mail_user=values.get("mail_user", ""),
                       mail_type=values.get("mail_type", ""))
    return desc


def spec_summary(spec: RunSpec | None, source: str) -> str:
    """One line about the spec to run (or what to do when there is none)."""
    if spec is None:
        return "No spec yet: use “Run on cluster…” in the Playground, or open a saved spec file."
    m = spec.model
    where = f" ({os.path.basename(source)})" if source else ""
    data = spec.dataset.kind + (f" {os.path.basename(spec.dataset.path)}" if spec.dataset.path else "")
    if not m.is_network:
        gamma = m.gamma if isinstance(m.gamma, str) else f"{m.gamma:g}"
        return f"Spec{where}: {data} data, SVM {m.kernel} kernel, C {m.C:g}, gamma {gamma}, one-vs-one"
    arch = f"{m.kind}" + (f" {list(m.hidden)} {m.activation}" if m.kind == "mlp" else "")
    return (f"Spec{where}: {spec.dataset.kind} data, {arch}, {spec.train.epochs} epochs, "
            f"batch {spec.train.batch_size}, {spec.train.optimizer}, {spec.train.dtype}")


def safe_name(text: str) -> str:
    """``text`` with everything but letters, digits and ``._-`` turned into ``_`` (a file or job name)."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text) or "job"


@dataclass(frozen=True)
class SubmitRequest:
    """One job to submit: the profile, the spec, the form's values, the folder name and the script.

    ``script`` is the user's hand-edited ``job.sh``, or ``None`` to generate it once the
    work folder is known on the machine.
    """

    profile: Profile
    spec: RunSpec
    values: dict
    folder: str
    script: str | None
    spec_name: str
    #: data files from outside the spec's folder the user agreed to upload
    allow_outside: tuple[str, ...] = ()


class ComposeTab(QtWidgets.QWidget):
    """Spec, templates, job form and script preview, and the submit button.

    Signals
    -------
    submit_requested(SubmitRequest)
        The user pressed "Submit job" on a valid form.
    message(str, bool)
        A line for the status bar, ``True`` when it reports a problem.
    """

    submit_requested = QtCore.Signal(object)
    message = QtCore.Signal(str, bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.spec: RunSpec | None = None
        self.spec_source = ""
        self.profile: Profile | None = None
        self.workdir = ""
        self.folder_name = job_folder_name("scalelab")
        self._folder_job_name = "scalelab"
        self.templates: list[JobTemplate] = []
        self.last_submit_error = ""

        self.spec_label = QtWidgets.QLabel(spec_summary(None, ""))
        self.spec_label.setWordWrap(True)
        # float32 rounds in another place for every rank count: float64 lets runs be compared closely.
        self.float64_check = QtWidgets.QCheckBox("float64")
        self.float64_check.setToolTip(
            "Compute in float64 instead of float32: slower and twice the memory, but runs of this spec with "
            "different rank counts then agree far longer (their sums are added in another order).")
        self.float64_check.setEnabled(False)
        self.float64_check.toggled.connect(self._on_float64_toggled)
        self.open_spec_button = QtWidgets.QPushButton("Open spec file…")
        self.open_spec_button.clicked.connect(self._on_open_spec)
        self.template_combo = QtWidgets.QComboBox()
        # a long template name is shortened in the closed box (whole in the list), not the window widened
        self.template_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.template_combo.setMinimumContentsLength(18)
        self.template_combo.setToolTip("Start the form from a saved template.")
        self.template_combo.activated.connect(self._on_template_chosen)
        self.save_template_button = QtWidgets.QPushButton("Save as template…")
        self.save_template_button.clicked.connect(self._on_save_template)
        self.form = JobForm()
        self.form.set_describer(self._form_description)
        self.form.changed.connect(self._on_form_changed)
        self.preview = ScriptPreview(DIRECTIVE_HELP)
        self.preview.regenerate_requested.connect(self.update_preview)
        self.submit_button = QtWidgets.QPushButton("Submit job")
        self.submit_button.setProperty("role", "primary")
        self.submit_button.setMinimumHeight(34)
        self.submit_button.clicked.connect(self.submit)
        self.submit_result = QtWidgets.QPlainTextEdit()
        self.submit_result.setReadOnly(True)
        self.submit_result.setMaximumHeight(90)
        self.submit_result.setVisible(False)
        self._build()
        self.reload_templates()

    def _build(self) -> None:
        # The spec's summary on a line of its own: beside four controls, in large type, it
        # would be squeezed into a column of single words.
        spec_row = QtWidgets.QHBoxLayout()
        spec_row.addWidget(self.float64_check)
        spec_row.addStretch(1)
        spec_row.addWidget(self.open_spec_button)
        spec_row.addWidget(self.template_combo)
        spec_row.addWidget(self.save_template_button)
        form_box = QtWidgets.QWidget()
        form_lay = QtWidgets.QVBoxLayout(form_box)
        form_lay.setContentsMargins(0, 0, 0, 0)
        form_heading = QtWidgets.QLabel("Resources")
        form_heading.setProperty("role", "heading")
        form_lay.addWidget(form_heading)
        form_lay.addWidget(self.form)
        form_lay.addStretch(1)
        form_scroll = VerticalScrollArea()  # the script beside it gives way, not the form
        form_scroll.setWidget(form_box)
        form_scroll.setWidgetResizable(True)
        form_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        split.addWidget(form_scroll)
        split.addWidget(self.preview)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        submit_row = QtWidgets.QHBoxLayout()
        submit_row.addWidget(self.submit_result, 1)
        submit_row.addWidget(self.submit_button, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.spec_label)
        lay.addLayout(spec_row)
        lay.addWidget(split, 1)
        lay.addLayout(submit_row)

    # ------------------------------------------------------------------ profile

    def set_profile(self, profile: Profile, workdir: str) -> None:
        """Compose for ``profile``: its defaults in the form, SLURM-only fields off for ``local``."""
        self.profile = profile
        self.workdir = workdir
        self.form.set_slurm_fields_enabled(not profile.is_local)
        values = self.form.values()
        values.update(partition=profile.partition, account=profile.account, reservation=profile.reservation,
                      qos=profile.qos)
        self.form.set_values(values)
        self.update_preview()

    def set_workdir(self, workdir: str, partitions: list[str] | None = None) -> None:
        """The profile's work folder as the machine spells it, and its partitions (from ``sinfo``)."""
        self.workdir = workdir
        if partitions is not None:
            self.form.set_partitions(partitions)
        self.update_preview()

    # ------------------------------------------------------------------ spec and templates

    def compose_job(self, spec: RunSpec, source: str = "") -> None:
        """Start composing a job for ``spec`` (the Playground's "Run on cluster…")."""
        self.spec = spec
        self.spec_source = source
        self.spec_label.setText(spec_summary(spec, source))
        with signals_blocked(self.float64_check):
            self.float64_check.setChecked(spec.train.dtype == "float64")
        self.float64_check.setEnabled(True)
        values = self.form.values()
        if not values.get("job_name") or values["job_name"] == JobDescription().job_name:
            values["job_name"] = safe_name(f"scalelab-{spec.dataset.kind}")[:64]
        self.form.set_values(values)
        self.new_folder()

    def compose_script_job(self, path: str) -> None:
        """Start composing a job that runs a Python script (an exported Keras script) with its data."""
        self.spec, self.spec_source = None, path
        self.spec_label.setText(script_summary(path))
        self.float64_check.setEnabled(False)
        values = dict(self.form.values(), ntasks=1, nodes=1)
        if not values.get("job_name") or values["job_name"] == JobDescription().job_name:
            values["job_name"] = safe_name(f"keras-{os.path.splitext(os.path.basename(path))[0]}")[:64]
        self.form.set_values(values)
        self.new_folder()

    def set_float64(self, on: bool) -> None:
        """Compute the composed spec in float64 (``on``) or float32."""
        self.float64_check.setChecked(on)

    def _on_float64_toggled(self, on: bool) -> None:
        if self.spec is None:
            return
        self.spec = replace(self.spec, train=replace(self.spec.train, dtype="float64" if on else "float32"))
        self.spec_label.setText(spec_summary(self.spec, self.spec_source))
        self.update_preview()

    def open_spec_file(self, path: str) -> bool:
        """Compose a job for the spec file (or Python script) at ``path``; ``False`` (and a message)
        when it is neither."""
        if is_script(path):
            self.compose_script_job(path)
            return True
        try:
            spec = load_spec(path)
        except SpecError as exc:
            self.message.emit(str(exc), True)
            return False
        self.compose_job(spec, path)
        return True

    def _on_open_spec(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a spec file or a script", "",
                                                        "Run spec (*.json);;Python script (*.py)")
        if path:
            self.open_spec_file(path)

    def reload_templates(self) -> None:
        """Read the built-in and saved templates again into the template box."""
        errors: list[str] = []
        self.templates = list_templates(errors)
        with signals_blocked(self.template_combo):
            self.template_combo.clear()
            self.template_combo.addItem("Start from template…")
            for t in self.templates:
                self.template_combo.addItem(("" if t.builtin else "★ ") + t.name)
                self.template_combo.setItemData(self.template_combo.count() - 1, t.description,
                                                QtCore.Qt.ItemDataRole.ToolTipRole)
        if errors:
            self.message.emit("; ".join(errors), True)

    def apply_template(self, name: str) -> bool:
        """Lay the template ``name``'s values over the form; ``False`` when there is none of that name."""
        template = next((t for t in self.templates if t.name == name), None)
        if template is None:
            return False
        if template.spec_path and not self.open_spec_file(template.spec_path):
            return False
        values = self.form.values()
        values.update(template.values)
        self.form.set_values(values)
        if template.runs == "script" and not is_script(self.spec_source):
            path = choose_script(self)
            if path:
                self.compose_script_job(path)
        self.new_folder()
        return True

    def _on_template_chosen(self, index: int) -> None:
        if index > 0:
            self.apply_template(self.templates[index - 1].name)
        self.template_combo.setCurrentIndex(0)

    def _on_save_template(self) -> None:
        name, ok = QtWidgets.QInputDialog.getText(self, "Save as template", "Template name:")
        if not ok or not name.strip():
            return
        try:
            save_template(name, self.form.values())
        except (TemplateError, OSError) as exc:
            self.message.emit(f"Template not saved: {exc}", True)
            return
        self.reload_templates()
        self.message.emit(f"Saved template {name.strip()!r}.", False)

    # ------------------------------------------------------------------ the script

    def planned_job_dir(self) -> str:
        """Where the job folder will be: the work folder and this job's folder name."""
        return f"{self.workdir.rstrip('/')}/{self.folder_name}"

    def new_folder(self) -> None:
        """A fresh job folder name (after a submit, or for a new job name)."""
        old = self.folder_name
        self._folder_job_name = self.form.values().get("job_name") or "job"
        self.folder_name = job_folder_name(self._folder_job_name)
        # A script edited by hand stays the user's, pointed at the new folder.
        self.preview.replace_edited_text(old, self.folder_name)
        self.update_preview()

    def _form_description(self, values: dict) -> JobDescription:
        job_dir = self.planned_job_dir()
        if not job_dir.startswith("/"):
            job_dir = "/__home__" + job_dir[1:] if job_dir.startswith("~") else "/" + job_dir
        if self.profile is None:
            return replace(JobDescription(), **values, job_dir=job_dir)
        return description_for(self.profile, job_dir, values, self.spec_source or "job")

    def _on_form_changed(self) -> None:
        name = self.form.values().get("job_name") or "job"
        if name != self._folder_job_name:
            self.new_folder()  # the folder name carries the job name
        else:
            self.update_preview()

    def update_preview(self) -> None:
        """Regenerate ``job.sh`` from the form (unless edited by hand) and enable "Submit" when valid."""
        if self.profile is None:
            return
        try:
            desc = description_for(self.profile, self.planned_job_dir(), self.form.values(),
                                   self.spec_source or "job")
            text = render_job_script(desc)
        except SlurmInputError as exc:
            self.preview.set_error(f"Fix the form to see the script: {exc.message}")
            self.submit_button.setEnabled(False)
            return
        self.preview.set_error(None)
        self.preview.set_generated(text)
        self.submit_button.setEnabled(self.has_job_source and self.form.is_valid())

    @property
    def has_job_source(self) -> bool:
        """Whether there is something to run: a spec, or a Python script."""
        return self.spec is not None or is_script(self.spec_source)

    def script_text(self) -> str:
        return self.preview.text()

    # ------------------------------------------------------------------ submitting

    def submit(self) -> None:
        """Check the form and emit :attr:`submit_requested` (the submit itself runs elsewhere)."""
        if not self.has_job_source:
            self.show_submit_result("No spec to run: use “Run on cluster…” in the Playground or open a spec file.",
                                    error=True)
            return
        errors = self.form.errors()
        if errors:
            self.show_submit_result("; ".join(f"{k}: {v}" for k, v in errors.items()), error=True)
            return
        if self.profile is None:
            return
        allow_outside = self._ask_outside_data()
        if allow_outside is None:
            return
        request = SubmitRequest(profile=self.profile, spec=self.spec, values=self.form.values(),
                                folder=self.folder_name, script=self.preview.text() if self.preview.edited else None,
                                spec_name=self.spec_source or "job", allow_outside=allow_outside)
        self.submit_button.setEnabled(False)
        self.show_submit_result(f"Submitting to {self.profile.name}…", error=False)
        self.submit_requested.emit(request)

    def _ask_outside_data(self) -> tuple[str, ...] | None:
        """The outside data file the user agreed to upload (``()`` when there is none), or ``None`` to stop.

        A data file that may never leave this computer (a key, ``/proc``...) stops the submit
        with the bundle's reason; one from outside the spec's folder is uploaded only after the
        user said yes to its name.
        """
        if self.spec is None:
            return ()  # a script job: the script and the files beside it
        try:
            outside = outside_data_file(self.spec, (self.profile.key_file,))
        except BundleError as exc:
            self.show_submit_result(f"Not submitted: {exc}", error=True)
            return None
        if not outside:
            return ()
        buttons = QtWidgets.QMessageBox.StandardButton
        answer = QtWidgets.QMessageBox.question(
            self, "Upload a file from outside the spec's folder?",
            f"The data file\n{outside}\nis outside the spec's folder. Upload it into the job folder on "
            f"{self.profile.name}?", buttons.Yes | buttons.No, buttons.No)
        if answer != buttons.Yes:
            self.show_submit_result(f"Not submitted: {outside} was not uploaded.", error=True)
            return None
        return (outside,)

    def submit_succeeded(self, profile: str, job_id: str, workdir: str) -> None:
        """The job went in: say so and plan the next job's folder."""
        if self.profile is not None and self.profile.name == profile:
            self.workdir = workdir
        self.submit_button.setEnabled(True)
        self.show_submit_result(f"Submitted job {job_id} on {profile}.", error=False)
        self.new_folder()

    def submit_failed(self, message: str) -> None:
        """The cluster (or the local launcher) refused the job: its words, verbatim."""
        self.submit_button.setEnabled(True)
        self.show_submit_result(message, error=True)

    def show_submit_result(self, text: str, error: bool) -> None:
        self.last_submit_error = text if error else ""
        self.submit_result.setPlainText(text)
        self.submit_result.setStyleSheet(f"color: {theme.ERROR_COLOR};" if error else "")
        self.submit_result.setVisible(True)


__all__ = ["ComposeTab", "SubmitRequest", "description_for", "safe_name", "spec_summary"]
