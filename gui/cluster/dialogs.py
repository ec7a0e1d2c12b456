"""The Cluster view's dialogs: host keys (unknown, changed), password / code, confirmations, watch a job.

None of them stores anything: trusting a key is done by the caller (``remote.ssh``
writes known_hosts), a password or one-time code lives only in the returned string, and
the job to watch is handed to ``remote.jobs.follow_job`` by the caller.
"""

from __future__ import annotations

import os
import shlex

from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from remote.jobs import JobError, check_job_id


def _mono(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
    label.setFont(font)
    label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class HostKeyDialog(QtWidgets.QDialog):
    """First connection to a host: show its key's fingerprint, trust only on the user's word.

    ``Cancel`` is the default button, so pressing Enter does not trust a key.
    """

    def __init__(self, host: str, key_type: str, fingerprint: str, known_hosts: str = "",
                 parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Unknown host key for {host}")
        self.setModal(True)
        self.host = host
        self.fingerprint = fingerprint
        intro = QtWidgets.QLabel(
            f"<b>This is the first connection to {host}.</b><br>"
            "The server identifies itself with the key below. Compare the fingerprint with the one your "
            "cluster's documentation or administrators publish. If they match, trust the key: it is added "
            "to your known_hosts file and checked on every later connection. If you cannot check it, cancel."
        )
        intro.setWordWrap(True)
        form = QtWidgets.QFormLayout()
        form.addRow("Host", _mono(host))
        form.addRow("Key type", _mono(key_type))
        self.fingerprint_label = _mono(fingerprint)
        form.addRow("Fingerprint", self.fingerprint_label)
        if known_hosts:
            form.addRow("Saved to", _mono(known_hosts))
        buttons = QtWidgets.QDialogButtonBox()
        self.trust_button = buttons.addButton("Trust and connect", QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = buttons.addButton(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.trust_button.setAutoDefault(False)
        self.cancel_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self.setMinimumWidth(520)


def keygen_remove_command(host: str, known_hosts: str = "") -> str:
    """The exact ``ssh-keygen -R`` line that removes ``host``'s old key from ``known_hosts``.

    ``host`` is ``name`` (port 22) or ``name:port``; known_hosts writes a port other than 22
    as ``[name]:port``, which is what ``-R`` must be given (quoted for the shell).
    """
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    entry = f"[{name}]:{port}" if port and port != "22" else (name if port else host)
    command = f"ssh-keygen -R {shlex.quote(entry)}"
    if known_hosts:
        command += f" -f {shlex.quote(os.path.expanduser(known_hosts))}"
    return command


class HostKeyChangedDialog(QtWidgets.QDialog):
    """The host presented a different key than known_hosts holds: refuse, and explain.

    There is no button to connect anyway: the only way forward is to check with the
    cluster's administrators and edit known_hosts by hand.
    """

    def __init__(self, host: str, key_type: str, fingerprint: str, expected_fingerprint: str = "",
                 known_hosts: str = "", parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Host key of {host} has CHANGED")
        self.setModal(True)
        banner = QtWidgets.QLabel("The connection was refused: the server's key is not the one you trusted before.")
        banner.setProperty("role", "error")
        banner.setWordWrap(True)
        text = QtWidgets.QLabel(
            "Either the cluster was reinstalled and got a new key, or someone is between you and the "
            "cluster and reading what you send. Do not log in until you know which.<br><br>"
            "Ask the cluster's administrators for the new fingerprint. If it matches the one below, remove "
            f"the old line for <b>{host}</b> from your known_hosts file"
            + (f" (<tt>{known_hosts}</tt>)" if known_hosts else "")
            + " with this command in a terminal, then connect again:"
        )
        text.setWordWrap(True)
        self.command = keygen_remove_command(host, known_hosts)
        self.command_edit = QtWidgets.QLineEdit(self.command)
        self.command_edit.setReadOnly(True)
        self.command_edit.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        self.command_edit.setCursorPosition(0)
        copy = QtWidgets.QToolButton(text="Copy")
        copy.setToolTip("Copy the command to the clipboard.")
        copy.clicked.connect(lambda: QtWidgets.QApplication.clipboard().setText(self.command))
        command_row = QtWidgets.QHBoxLayout()
        command_row.addWidget(self.command_edit, 1)
        command_row.addWidget(copy)
        form = QtWidgets.QFormLayout()
        form.addRow("Host", _mono(host))
        form.addRow("Key type", _mono(key_type))
        form.addRow("Presented", _mono(fingerprint))
        if expected_fingerprint:
            form.addRow("Expected", _mono(expected_fingerprint))
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.close_button = buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Close)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(banner)
        lay.addWidget(text)
        lay.addLayout(command_row)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self.setMinimumWidth(620)
        self.setStyleSheet(f"QLabel[role='error'] {{ color: white; background: {theme.ERROR_COLOR}; "
                           "padding: 6px; font-weight: 600; }")


class SecretDialog(QtWidgets.QDialog):
    """Ask for a password or one-time code; the answer is returned, never kept."""

    def __init__(self, title: str, prompt: str, echo: bool = False, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        label = QtWidgets.QLabel(prompt)
        label.setWordWrap(True)
        self.edit = QtWidgets.QLineEdit()
        self.edit.setEchoMode(QtWidgets.QLineEdit.EchoMode.Normal if echo else QtWidgets.QLineEdit.EchoMode.Password)
        note = QtWidgets.QLabel("Used for this login only; never saved.")
        note.setProperty("role", "hint")
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(label)
        lay.addWidget(self.edit)
        lay.addWidget(note)
        lay.addWidget(buttons)
        self.setMinimumWidth(380)

    def secret(self) -> str:
        return self.edit.text()

    def done(self, result: int) -> None:  # Qt override
        if result != QtWidgets.QDialog.DialogCode.Accepted:
            self.edit.clear()
        super().done(result)


def ask_secret(parent: QtWidgets.QWidget | None, title: str, prompt: str, echo: bool = False) -> str | None:
    """Show :class:`SecretDialog`; the text, or ``None`` when cancelled."""
    dialog = SecretDialog(title, prompt, echo=echo, parent=parent)
    try:
        if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            return dialog.secret()
        return None
    finally:
        dialog.edit.clear()
        dialog.deleteLater()


def confirm(parent: QtWidgets.QWidget | None, title: str, text: str, yes: str) -> bool:
    """A yes/no question whose default answer is no."""
    box = QtWidgets.QMessageBox(parent)
    box.setWindowTitle(title)
    box.setIcon(QtWidgets.QMessageBox.Icon.Question)
    box.setText(text)
    yes_button = box.addButton(yes, QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
    no_button = box.addButton("Keep it", QtWidgets.QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(no_button)
    box.exec()
    return box.clickedButton() is yes_button


class WatchJobDialog(QtWidgets.QDialog):
    """Follow any job by id: its state, and curves from its output or metrics file."""

    def __init__(self, profile: str, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Watch a job on {profile}")
        self.id_edit = QtWidgets.QLineEdit()
        self.id_edit.setPlaceholderText("e.g. 123456")
        self.output_edit = QtWidgets.QLineEdit()
        self.output_edit.setPlaceholderText("e.g. ~/runs/slurm-123456.out (optional)")
        self.metrics_edit = QtWidgets.QLineEdit()
        self.metrics_edit.setPlaceholderText("metrics.jsonl, a Keras CSVLogger file… (optional)")
        text = QtWidgets.QLabel("Any job can be followed, also one not submitted from here. Curves come from the "
                                "metrics file: name the output file there to see Keras progress lines (loss: … - "
                                "val_loss: …) live. Left empty, it is metrics.jsonl in the job's folder, or the "
                                "output file once the job has ended without one.")
        text.setWordWrap(True)
        self.error_label = QtWidgets.QLabel()
        self.error_label.setStyleSheet(f"color: {theme.ERROR_COLOR};")
        form = QtWidgets.QFormLayout()
        form.addRow("Job id", self.id_edit)
        form.addRow("Output file", self.output_edit)
        form.addRow("Metrics file", self.metrics_edit)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(text)
        lay.addLayout(form)
        lay.addWidget(self.error_label)
        lay.addWidget(buttons)
        # Wide enough for the longest placeholder in full.
        longest = max(e.fontMetrics().horizontalAdvance(e.placeholderText())
                      for e in (self.id_edit, self.output_edit, self.metrics_edit))
        for edit in (self.id_edit, self.output_edit, self.metrics_edit):
            edit.setMinimumWidth(longest + 24)

    def values(self) -> tuple[str, str, str]:
        return self.id_edit.text().strip(), self.output_edit.text().strip(), self.metrics_edit.text().strip()

    def _on_accept(self) -> None:
        job_id, output, metrics = self.values()
        try:
            check_job_id(job_id)
        except JobError as exc:
            self.error_label.setText(str(exc))
            return
        for path in (output, metrics):
            if any(c in path for c in "\n\r\0"):
                self.error_label.setText("a file path must be one line")
                return
        self.accept()
