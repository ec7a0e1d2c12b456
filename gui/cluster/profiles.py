"""Connection profiles in the GUI: the profile bar, the editor, and the doctor's checklist.

Profiles are ``remote.config`` profiles, saved to the same TOML file the command line
uses. Hosts named in ``~/.ssh/config`` are offered when adding a profile; the ``local``
profile is always there and cannot be deleted.
"""

from __future__ import annotations

import os
from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import signals_blocked

from gui import theme
from remote.config import LAUNCHERS, LOCAL_PROFILE, ConfigError, Profile, profile_from_dict
from remote.states import ConnectionStatus

STATE_COLORS = {
    ConnectionStatus.LOCAL: theme.CLASS_COLORS[2],
    ConnectionStatus.CONNECTED: theme.CLASS_COLORS[2],
    ConnectionStatus.CONNECTING: theme.CLASS_COLORS[0],
    ConnectionStatus.RECONNECTING: theme.CLASS_COLORS[0],
    ConnectionStatus.DISCONNECTED: "#9AA0A6",
    ConnectionStatus.ERROR: theme.ERROR_COLOR,
}
STATE_WORDS = {
    ConnectionStatus.LOCAL: "this computer",
    ConnectionStatus.CONNECTED: "connected",
    ConnectionStatus.CONNECTING: "connecting…",
    ConnectionStatus.RECONNECTING: "reconnecting…",
    ConnectionStatus.DISCONNECTED: "not connected",
    ConnectionStatus.ERROR: "connection failed",
}


def ssh_config_hosts(path: str = "~/.ssh/config") -> list[str]:
    """Concrete ``Host`` names in an OpenSSH config (patterns with ``*``, ``?`` or ``!`` left out)."""
    path = os.path.expanduser(path)
    hosts: list[str] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                words = line.strip().split()
                if len(words) >= 2 and words[0].lower() == "host":
                    for name in words[1:]:
                        if not any(c in name for c in "*?!") and name not in hosts:
                            hosts.append(name)
    except OSError:
        return []
    return hosts


def state_icon(state: str, size: int = 12) -> QtGui.QIcon:
    pix = QtGui.QPixmap(size, size)
    pix.fill(QtCore.Qt.GlobalColor.transparent)
    p = QtGui.QPainter(pix)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    p.setBrush(QtGui.QColor(STATE_COLORS.get(state, "#9AA0A6")))
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    p.drawEllipse(1, 1, size - 2, size - 2)
    p.end()
    return QtGui.QIcon(pix)


def name_for_host(host: str) -> str:
    """A profile name for ``host``: its first label (``login1`` of ``login1.hpc.example.org``);
    an address stays whole (``10.0.0.5`` -> ``10-0-0-5``)."""
    host = host.strip()
    is_address = bool(host) and all(part.isdigit() for part in host.split(".")) or ":" in host
    word = host if is_address else host.split(".")[0]
    return "".join(c if c.isalnum() or c in "_-" else "-" for c in word)


class ProfileEditor(QtWidgets.QDialog):
    """Add or edit one SSH profile; OK validates with ``remote.config`` rules."""

    def __init__(self, profile: Profile | None, existing: list[str], parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Edit profile" if profile else "Add a cluster profile")
        self.existing = [n for n in existing if profile is None or n != profile.name]
        self.result_profile: Profile | None = None
        p = profile or Profile(name="")
        self.name_edit = QtWidgets.QLineEdit(p.name)
        self.name_edit.setReadOnly(profile is not None)
        # The name follows the host as it is typed, until the user gives a name of their own.
        self._auto_name = ""
        self.host_combo = QtWidgets.QComboBox()
        self.host_combo.setEditable(True)
        self.host_combo.addItems([""] + ssh_config_hosts())
        self.host_combo.setEditText(p.host)
        self.host_combo.setToolTip("A host name, an address, or a Host alias from ~/.ssh/config (its HostName, "
                                   "User, Port, IdentityFile and ProxyJump are used).")
        self.host_combo.currentTextChanged.connect(self._on_host_changed)
        self.port_spin = QtWidgets.QSpinBox()
        self.port_spin.setRange(0, 65535)
        self.port_spin.setSpecialValueText("default (22 or ssh config)")
        self.port_spin.setValue(p.port or 0)
        self.user_edit = QtWidgets.QLineEdit(p.user)
        self.user_edit.setPlaceholderText("from ssh config, else your local name")
        self.key_edit = QtWidgets.QLineEdit(p.key_file)
        self.key_edit.setPlaceholderText("ssh-agent and ~/.ssh/id_* when empty")
        key_browse = QtWidgets.QToolButton(text="…")
        key_browse.clicked.connect(self._on_browse_key)
        key_row = QtWidgets.QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(key_browse)
        self.known_hosts_edit = QtWidgets.QLineEdit(p.known_hosts)
        self.proxy_edit = QtWidgets.QLineEdit(p.proxy_jump)
        self.proxy_edit.setPlaceholderText("e.g. gateway.example.org (optional)")
        self.workdir_edit = QtWidgets.QLineEdit(p.workdir)
        self.python_edit = QtWidgets.QLineEdit(p.python)
        self.setup_edit = QtWidgets.QPlainTextEdit("\n".join(p.setup))
        self.setup_edit.setPlaceholderText("module load GCC OpenMPI SciPy-Stack mpi4py")
        self.setup_edit.setMaximumHeight(70)
        self.partition_edit = QtWidgets.QLineEdit(p.partition)
        self.account_edit = QtWidgets.QLineEdit(p.account)
        self.reservation_edit = QtWidgets.QLineEdit(p.reservation)
        self.qos_edit = QtWidgets.QLineEdit(p.qos)
        self.launcher_combo = QtWidgets.QComboBox()
        self.launcher_combo.addItems(list(LAUNCHERS))
        self.launcher_combo.setCurrentText(p.launcher)
        self.mpi_edit = QtWidgets.QLineEdit(p.mpi_plugin)
        self.error_label = QtWidgets.QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {theme.ERROR_COLOR};")
        form = QtWidgets.QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Host", self.host_combo)
        form.addRow("Port", self.port_spin)
        form.addRow("User", self.user_edit)
        form.addRow("Key file", key_row)
        form.addRow("known_hosts", self.known_hosts_edit)
        form.addRow("Jump host", self.proxy_edit)
        form.addRow("Work folder", self.workdir_edit)
        form.addRow("Python", self.python_edit)
        form.addRow("Setup lines", self.setup_edit)
        form.addRow("Partition", self.partition_edit)
        form.addRow("Account", self.account_edit)
        form.addRow("Reservation", self.reservation_edit)
        form.addRow("QOS", self.qos_edit)
        form.addRow("Launcher", self.launcher_combo)
        form.addRow("srun MPI plugin", self.mpi_edit)
        note = QtWidgets.QLabel("No password is saved here: keys and ssh-agent are used, and a password or "
                                "one-time code is asked for when the cluster wants one.")
        note.setWordWrap(True)
        note.setProperty("role", "hint")
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Save | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Save)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.error_label)
        lay.addWidget(buttons)
        self.setMinimumWidth(520)

    def _on_host_changed(self, text: str) -> None:
        current = self.name_edit.text().strip()
        if self.name_edit.isReadOnly() or (current and current != self._auto_name):
            return  # a name of the user's own
        self._auto_name = name_for_host(text)
        self.name_edit.setText(self._auto_name)

    def _on_browse_key(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Private key", os.path.expanduser("~/.ssh"))
        if path:
            self.key_edit.setText(path)

    def table(self) -> dict:
        """The TOML table the fields describe."""
        t: dict = {
            "host": self.host_combo.currentText().strip(),
            "user": self.user_edit.text().strip(),
            "key_file": self.key_edit.text().strip(),
            "known_hosts": self.known_hosts_edit.text().strip() or "~/.ssh/known_hosts",
            "proxy_jump": self.proxy_edit.text().strip(),
            "workdir": self.workdir_edit.text().strip() or "~/scalelab",
            "python": self.python_edit.text().strip() or "python3",
            "setup": [ln.strip() for ln in self.setup_edit.toPlainText().splitlines() if ln.strip()],
            "partition": self.partition_edit.text().strip(),
            "account": self.account_edit.text().strip(),
            "reservation": self.reservation_edit.text().strip(),
            "qos": self.qos_edit.text().strip(),
            "launcher": self.launcher_combo.currentText(),
            "mpi_plugin": self.mpi_edit.text().strip(),
        }
        if self.port_spin.value():
            t["port"] = self.port_spin.value()
        return t

    def _on_accept(self) -> None:
        name = self.name_edit.text().strip()
        if name == LOCAL_PROFILE:
            self.error_label.setText("'local' is the built-in profile for this computer; choose another name.")
            return
        if name in self.existing:
            self.error_label.setText(f"A profile named {name!r} exists already.")
            return
        try:
            self.result_profile = profile_from_dict(name, self.table())
        except ConfigError as exc:
            self.error_label.setText(exc.message if not exc.key else f"{exc.key.split('.')[-1]}: {exc.message}")
            return
        self.accept()


class DoctorDialog(QtWidgets.QDialog):
    """The doctor's checks for a profile, each ticked or explained, as they come in."""

    def __init__(self, profile_name: str, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Checking {profile_name}")
        self.list = QtWidgets.QTreeWidget()
        self.list.setHeaderLabels(["", "Check", "Result"])
        self.list.setRootIsDecorated(False)
        self.list.setColumnWidth(0, 30)
        self.list.setColumnWidth(1, 170)
        self.list.setWordWrap(True)
        self.status = QtWidgets.QLabel("running the checks…")
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.status)
        lay.addWidget(buttons)
        self.resize(720, 420)
        self.results: list[tuple[str, bool, str]] = []

    def add_check(self, name: str, ok: bool, detail: str) -> None:
        self.results.append((name, ok, detail))
        item = QtWidgets.QTreeWidgetItem(["✔" if ok else "✘", name, ""])
        item.setForeground(0, QtGui.QBrush(QtGui.QColor(theme.CLASS_COLORS[2] if ok else theme.ERROR_COLOR)))
        item.setToolTip(2, detail)
        self.list.addTopLevelItem(item)
        # A label wraps the whole advice over lines; an item's text would end in "...".
        label = QtWidgets.QLabel(detail)
        label.setWordWrap(True)
        label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setContentsMargins(2, 2, 2, 2)
        self.list.setItemWidget(item, 2, label)

    def finish(self, error: str = "") -> None:
        failed = sum(not ok for _, ok, _ in self.results)
        if error:
            self.status.setText(f"Stopped: {error}")
        elif failed:
            self.status.setText(f"{failed} of {len(self.results)} checks failed: the right column says what to do.")
        else:
            self.status.setText(f"All {len(self.results)} checks passed.")


class ProfileBar(QtWidgets.QWidget):
    """Pick a profile (with its connection state), and add / edit / check / delete profiles.

    Signals
    -------
    profile_selected(str)
    add_requested(), edit_requested(str), delete_requested(str), check_requested(str), connect_requested(str)
    """

    profile_selected = QtCore.Signal(str)
    add_requested = QtCore.Signal()
    edit_requested = QtCore.Signal(str)
    delete_requested = QtCore.Signal(str)
    check_requested = QtCore.Signal(str)
    connect_requested = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.combo = QtWidgets.QComboBox()
        self.combo.setMinimumWidth(200)
        # Wide enough for the longest profile, also one added after the bar was built.
        self.combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.setToolTip("Where jobs go: a cluster you log in to with SSH, or 'local' (this computer).")
        self.combo.currentIndexChanged.connect(self._on_index_changed)
        self.state_label = QtWidgets.QLabel()
        self.state_label.setProperty("role", "hint")
        self.connect_button = QtWidgets.QPushButton("Connect")
        self.connect_button.clicked.connect(lambda: self.connect_requested.emit(self.current()))
        self.add_button = QtWidgets.QPushButton("Add…")
        self.add_button.setToolTip("Add a cluster you log in to with SSH.")
        self.add_button.clicked.connect(self.add_requested)
        self.edit_button = QtWidgets.QPushButton("Edit…")
        self.edit_button.clicked.connect(lambda: self.edit_requested.emit(self.current()))
        self.check_button = QtWidgets.QPushButton("Check")
        self.check_button.setToolTip("Run the doctor: login, SLURM tools, partitions, Python, NumPy, mpi4py, MPI "
                                     "launcher and the work folder, each ticked or explained.")
        self.check_button.clicked.connect(lambda: self.check_requested.emit(self.current()))
        self.delete_button = QtWidgets.QPushButton("Delete")
        self.delete_button.clicked.connect(lambda: self.delete_requested.emit(self.current()))
        label = QtWidgets.QLabel("Profile")
        label.setProperty("role", "heading")
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(label)
        lay.addWidget(self.combo)
        lay.addWidget(self.state_label)
        lay.addWidget(self.connect_button)
        lay.addStretch(1)
        for b in (self.add_button, self.edit_button, self.check_button, self.delete_button):
            lay.addWidget(b)
        self._states: dict[str, tuple[str, str]] = {}
        #: ``retry_text(name) -> "attempt N, next in M s"`` (or ""), given by whoever retries.
        self.retry_text = lambda name: ""
        # While reconnecting, the countdown to the next attempt moves once a second.
        self._countdown = QtCore.QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._update_buttons)

    def set_profiles(self, profiles: dict[str, Profile], current: str | None = None) -> None:
        current = current or self.current()
        with signals_blocked(self.combo):
            self.combo.clear()
            names = [LOCAL_PROFILE] + sorted(n for n in profiles if n != LOCAL_PROFILE)
            for name in names:
                p = profiles[name]
                where = "this computer" if p.is_local else (f"{p.user}@{p.host}" if p.user else p.host)
                state = self._states.get(name, (ConnectionStatus.DISCONNECTED, ""))[0]
                self.combo.addItem(state_icon(state), f"{name}  ({where})", name)
            index = max(0, self.combo.findData(current)) if current else 0
            self.combo.setCurrentIndex(index)
        self._update_buttons()

    def current(self) -> str:
        return self.combo.currentData() or LOCAL_PROFILE

    def select(self, name: str) -> None:
        index = self.combo.findData(name)
        if index >= 0:
            self.combo.setCurrentIndex(index)

    def set_state(self, name: str, state: str, message: str) -> None:
        self._states[name] = (state, message)
        index = self.combo.findData(name)
        if index >= 0:
            self.combo.setItemIcon(index, state_icon(state))
            self.combo.setItemData(index, f"{STATE_WORDS.get(state, state)}" + (f": {message}" if message else ""),
                                   QtCore.Qt.ItemDataRole.ToolTipRole)
        if name == self.current():
            self._update_buttons()

    def _on_index_changed(self, _index: int) -> None:
        self._update_buttons()
        self.profile_selected.emit(self.current())

    def _update_buttons(self) -> None:
        name = self.current()
        state, message = self._states.get(name, (ConnectionStatus.DISCONNECTED, ""))
        is_local = name == LOCAL_PROFILE
        color = STATE_COLORS.get(state, "#9AA0A6")
        text = STATE_WORDS.get(state, state)
        retry = self.retry_text(name) if state == ConnectionStatus.RECONNECTING else ""
        if retry:
            text = f"reconnecting ({retry})"
        if state == ConnectionStatus.ERROR and message:
            # The reason in words next to the red dot, not only in a tooltip.
            short = message if len(message) <= 90 else message[:87] + "…"
            text = f"{text}: {short}"
        self.state_label.setText(f"<span style='color:{color}'>●</span> {text}")
        self.state_label.setToolTip(message or text)
        reconnecting = state == ConnectionStatus.RECONNECTING
        if reconnecting and not self._countdown.isActive():
            self._countdown.start()
        elif not reconnecting:
            self._countdown.stop()
        self.connect_button.setText("Retry now" if reconnecting else "Connect")
        self.connect_button.setToolTip("Try to reach the cluster now instead of waiting for the next attempt."
                                       if reconnecting else "Log in to the cluster.")
        self.connect_button.setVisible(not is_local and state in (
            ConnectionStatus.DISCONNECTED, ConnectionStatus.ERROR, ConnectionStatus.RECONNECTING))
        self.edit_button.setEnabled(not is_local)
        self.delete_button.setEnabled(not is_local)
