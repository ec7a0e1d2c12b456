"""The profiles behind the Cluster view: edit, remember, connect, poll.

:class:`ProfileController` owns the profile file (add, edit, delete through
:class:`~gui.cluster.profiles.ProfileEditor`), the profile picked last time, the
connections (:class:`~gui.cluster.connections.ConnectionManager`), the doctor's Check
dialog, and one :class:`~gui.cluster.polling.ProfilePoller` per profile in use. It drives
the :class:`~gui.cluster.profiles.ProfileBar` and reports to the view with signals.
"""

from __future__ import annotations

import json
import os

from PySide6 import QtCore, QtWidgets
from superqt.utils import signals_blocked

from engine.fileio import atomic_write
from gui import workers
from gui.cluster.connections import ConnectionManager
from gui.cluster.dialogs import confirm
from gui.cluster.polling import ProfilePoller
from gui.cluster.profiles import DoctorDialog, ProfileBar, ProfileEditor
from remote.backend import Backend
from remote.config import (
    LOCAL_PROFILE, ConfigError, Profile, backup_unreadable_profiles, data_dir, load_profiles, local_profile,
    save_profiles,
)
from remote.doctor import doctor_checks
from remote.jobs import JobError, SlurmScheduler
from remote.states import ConnectionStatus
from remote.store import JobStore


def remembered_profile_file() -> str:
    return os.path.join(data_dir(), "cluster-view.json")


def read_remembered_profile() -> str:
    """The profile picked when the Cluster view was last used ("" when none or unreadable)."""
    try:
        with open(remembered_profile_file(), encoding="utf-8") as fh:
            value = json.load(fh).get("profile", "")
    except (OSError, ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def remember_profile(name: str) -> None:
    """Keep ``name`` as the profile to pick next time (a failure to write is no error)."""
    try:
        atomic_write(remembered_profile_file(), json.dumps({"profile": name}), make_dirs=True)
    except OSError:
        pass


class ProfileController(QtCore.QObject):
    """Profiles, their connections and pollers, for one :class:`ProfileBar`.

    Signals
    -------
    profile_selected(str)
        The user (or :meth:`select`) picked a profile; it is in :attr:`profiles`.
    probed(str, str, object)
        ``(profile, work folder, partition names)`` learnt after logging in.
    events_arrived(object)
        A poll's ``MonitorEvent`` list (any profile).
    queue_arrived(str, object, float)
        ``(profile, QueueEntry list, time read)``.
    poll_failed(str, str)
        ``(profile, message)``: a poll went wrong.
    queue_unavailable(str, str)
        ``(profile, message)``: the picked profile is not connected, so no queue yet.
    message(str, bool)
        A status line, ``True`` for a problem.
    """

    profile_selected = QtCore.Signal(str)
    probed = QtCore.Signal(str, str, object)
    events_arrived = QtCore.Signal(object)
    queue_arrived = QtCore.Signal(str, object, float)
    poll_failed = QtCore.Signal(str, str)
    queue_unavailable = QtCore.Signal(str, str)
    message = QtCore.Signal(str, bool)

    def __init__(self, bar: ProfileBar, store: JobStore, config_path: str | None,
                 parent_widget: QtWidgets.QWidget):
        super().__init__(parent_widget)
        self.bar = bar
        self.store = store
        self.config_path = config_path
        self.parent_widget = parent_widget
        self.connections = ConnectionManager(parent_widget)
        self.profiles: dict[str, Profile] = {}
        self.config_error = ""
        self.pollers: dict[str, ProfilePoller] = {}
        self.workdirs: dict[str, str] = {}
        self.mine_only = True
        self.remember = True
        #: Pollers' delay after a change and its ceiling, in seconds (the monitor's backoff).
        self.poll_delays_s = (2.0, 60.0)
        self.doctor_dialog: DoctorDialog | None = None
        self._doctor_worker = None
        self._closed = False
        self.connections.state_changed.connect(self.bar.set_state)
        bar.profile_selected.connect(self._on_selected)
        bar.add_requested.connect(self.add_profile)
        bar.edit_requested.connect(self.edit_profile)
        bar.delete_requested.connect(self.delete_profile)
        bar.check_requested.connect(self.check_profile)
        bar.connect_requested.connect(self.connect_or_retry)
        bar.retry_text = self.connections.retry_text

    # ------------------------------------------------------------------ the profile file

    @property
    def current_name(self) -> str:
        return self.bar.current()

    @property
    def current(self) -> Profile:
        return self.profiles[self.bar.current()]

    def workdir(self, name: str) -> str:
        """The profile's work folder: as the machine spells it once known, else as configured."""
        profile = self.profiles[name]
        return self.workdirs.get(name, profile.workdir)

    def note_workdir(self, name: str, workdir: str) -> None:
        """The work folder as the machine spelled it (learnt by a submit)."""
        self.workdirs[name] = workdir

    def reload_profiles(self) -> None:
        """Read the profile file again (a broken file leaves only ``local``, with a message)."""
        try:
            self.profiles = load_profiles(self.config_path)
            self.config_error = ""
        except ConfigError as exc:
            self.profiles = {LOCAL_PROFILE: local_profile()}
            self.config_error = str(exc)
            self.message.emit(f"Profile file not usable, only 'local' is available: {exc}", True)
        self.connections.set_profiles(self.profiles)
        for name in self.profiles:
            self.bar.set_state(name, *self.connections.state(name))
        self.bar.set_profiles(self.profiles)
        for name in list(self.pollers):
            if name not in self.profiles or self.pollers[name].backend.profile != self.profiles[name]:
                self.pollers.pop(name).stop()

    def select_remembered(self) -> None:
        """Pick the profile used last time, quietly (nothing connects before the view shows)."""
        remembered = read_remembered_profile()
        if remembered in self.profiles:
            with signals_blocked(self.bar):
                self.bar.select(remembered)

    def select(self, name: str) -> None:
        self.bar.select(name)

    def use_current(self) -> None:
        """Act on the profile the bar shows (at start): remember it, poll it or say it is not connected."""
        self._on_selected(self.bar.current())

    def save_profiles(self, profiles: dict[str, Profile]) -> bool:
        """Write the profile file; a refusal is shown in a message box and gives ``False``."""
        try:
            # A file that could not be read is kept aside, never overwritten: say where it went.
            backup = backup_unreadable_profiles(self.config_path)
            save_profiles(profiles, self.config_path)
        except (ConfigError, OSError) as exc:
            QtWidgets.QMessageBox.warning(self.parent_widget, "Profiles not saved", str(exc))
            return False
        if backup:
            self.message.emit(f"The profile file could not be read; it was kept as {backup} and a new one "
                              "was written.", True)
        return True

    def add_profile(self) -> None:
        editor = ProfileEditor(None, list(self.profiles), self.parent_widget)
        if editor.exec() == QtWidgets.QDialog.DialogCode.Accepted and editor.result_profile is not None:
            profiles = {**self.profiles, editor.result_profile.name: editor.result_profile}
            if self.save_profiles(profiles):
                self.reload_profiles()
                self.select(editor.result_profile.name)

    def edit_profile(self, name: str) -> None:
        profile = self.profiles.get(name)
        if profile is None or profile.is_local:
            return
        editor = ProfileEditor(profile, list(self.profiles), self.parent_widget)
        if editor.exec() == QtWidgets.QDialog.DialogCode.Accepted and editor.result_profile is not None:
            if self.save_profiles({**self.profiles, name: editor.result_profile}):
                self.workdirs.pop(name, None)
                self.reload_profiles()
                self._on_selected(name)

    def delete_profile(self, name: str) -> None:
        if name == LOCAL_PROFILE or name not in self.profiles:
            return
        if not confirm(self.parent_widget, "Delete profile", f"Delete the profile {name!r}? Its tracked jobs stay "
                       "in the list; nothing on the cluster changes.", "Delete"):
            return
        if self.save_profiles({k: v for k, v in self.profiles.items() if k != name}):
            self.connections.disconnect_profile(name)
            self.reload_profiles()
            self._on_selected(self.bar.current())

    def use_profile(self, profile: Profile) -> None:
        """Use ``profile`` in place of the one of that name, for this session only (not saved)."""
        self.profiles[profile.name] = profile
        self.connections.set_profiles(self.profiles)
        self.workdirs[profile.name] = profile.workdir
        if profile.name == self.bar.current():
            self._on_selected(profile.name)

    # ------------------------------------------------------------------ check, connect, poll

    def check_profile(self, name: str) -> None:
        """Run the doctor's checks in a worker; they tick off in :attr:`doctor_dialog` as they finish."""
        profile = self.profiles.get(name)
        if profile is None:
            return
        dialog = DoctorDialog(name, self.parent_widget)
        dialog.setModal(False)
        dialog.show()
        self.doctor_dialog = dialog
        lock = self.connections.op_lock(name)

        def checks(backend: Backend):
            with lock:  # one operation at a time on the profile's connection
                yield from doctor_checks(backend, profile)

        def start(_):
            self._doctor_worker = workers.start_generator(checks, self.connections.backend(name),
                                    on_yielded=lambda item: dialog.add_check(*item),
                                    on_errored=lambda exc: dialog.finish(str(exc)),
                                    on_returned=lambda _v: dialog.finish(), _ignore_errors=True)

        self.connections.run(name, lambda b: None, on_result=start, on_error=lambda msg: (
            dialog.add_check("log in", False, msg), dialog.finish()))

    def connect_profile(self, name: str) -> None:
        """Log in (dialogs as needed), learn the work folder and partitions, start polling."""
        profile = self.profiles.get(name)
        if profile is None:
            return

        def probe(backend: Backend):
            workdir = backend.expand_path(profile.workdir)
            partitions: list = []
            if not profile.is_local:
                try:
                    partitions = SlurmScheduler(backend).partitions()
                except JobError:
                    pass  # the form still takes a partition typed by hand
            return workdir, partitions

        def done(value):
            workdir, partitions = value
            self.workdirs[name] = workdir
            self.probed.emit(name, workdir, partitions)
            self.ensure_poller(name)

        def failed(msg: str) -> None:
            self.message.emit(f"{name}: {msg}", True)
            if self.connections.state(name)[0] == ConnectionStatus.RECONNECTING:
                self.ensure_poller(name)  # the poller is what keeps trying, and notices the recovery

        self.connections.run(name, probe, on_result=done, on_error=failed)

    def refresh_partitions(self, name: str) -> None:
        """Ask ``sinfo`` again (the New job tab was shown): partitions, nodes and limits change."""
        profile = self.profiles.get(name)
        if profile is None or profile.is_local or self.connections.state(name)[0] != ConnectionStatus.CONNECTED:
            return

        def done(partitions):
            self.probed.emit(name, self.workdir(name), partitions)

        self.connections.run(name, lambda backend: SlurmScheduler(backend).partitions(), on_result=done,
                             on_error=lambda msg: self.message.emit(f"{name}: sinfo failed: {msg}", True))

    def connect_or_retry(self, name: str) -> None:
        """The Connect / Retry now button: while the poller waits to reconnect, try at once."""
        poller = self.pollers.get(name)
        if (self.connections.state(name)[0] == ConnectionStatus.RECONNECTING and poller is not None
                and poller.running):
            self.message.emit(f"{name}: trying to reconnect now…", False)
            poller.refresh()
        else:
            self.connect_profile(name)

    def ensure_poller(self, name: str) -> ProfilePoller | None:
        """The profile's running poller, started if needed (``None`` when it cannot be)."""
        if self._closed or name not in self.profiles:
            return None
        poller = self.pollers.get(name)
        if poller is not None and poller.running:
            return poller
        try:
            backend = self.connections.backend(name)
        except KeyError:
            return None
        poller = ProfilePoller(backend, self.store, *self.poll_delays_s, lock=self.connections.op_lock(name))
        poller.mine_only = self.mine_only
        poller.events_arrived.connect(self.events_arrived)
        poller.queue_arrived.connect(lambda entries, at, n=name: self.queue_arrived.emit(n, entries, at))
        poller.failed.connect(lambda msg, n=name: self.poll_failed.emit(n, msg))
        poller.connection_changed.connect(
            lambda state, msg, attempt, next_in, n=name: self.connections.note_state(n, state, msg, attempt, next_in))
        self.pollers[name] = poller
        poller.start()
        return poller

    def refresh(self, name: str) -> None:
        """Poll the profile now (after a submit, a cancel, a new job to follow)."""
        poller = self.ensure_poller(name)
        if poller is not None:
            poller.refresh()

    def refresh_or_connect(self, name: str) -> None:
        """The Refresh button: poll now when polling, else log in first."""
        poller = self.pollers.get(name)
        if poller is not None and poller.running:
            poller.refresh()
        else:
            self.connect_profile(name)

    def set_mine_only(self, mine: bool) -> None:
        self.mine_only = mine
        for poller in self.pollers.values():
            poller.mine_only = mine

    def use_store(self, store: JobStore) -> None:
        """Track jobs in ``store`` from now on (pollers of the old store stop)."""
        for poller in self.pollers.values():
            poller.stop()
        self.pollers.clear()
        self.store = store

    def _on_selected(self, name: str) -> None:
        profile = self.profiles.get(name)
        if profile is None:
            return
        if self.remember:
            remember_profile(name)
        if profile.is_local:
            self.workdirs.setdefault(name, os.path.abspath(os.path.expanduser(profile.workdir)))
        self.profile_selected.emit(name)
        state = self.connections.state(name)[0]
        if profile.is_local:
            self.ensure_poller(name)
        elif state == ConnectionStatus.CONNECTED:
            self.ensure_poller(name)
        elif state != ConnectionStatus.CONNECTING and self.parent_widget.isVisible():
            self.connect_profile(name)
        else:
            self.queue_unavailable.emit(name, f"Not connected to {name}: press Connect to see its queue.")

    def resume(self) -> None:
        """Follow the jobs of an earlier session again: log in to their profiles (the view was shown)."""
        current = self.bar.current()
        for name in sorted({j.profile for j in self.store.jobs(active_only=True)}):
            if name in self.profiles and name != current and not self.profiles[name].is_local:
                self.connect_profile(name)
        if current in self.profiles and not self.profiles[current].is_local:
            self._on_selected(current)

    def shutdown(self) -> None:
        """Stop polling, then close the connections once running operations have finished."""
        self._closed = True
        for poller in self.pollers.values():
            poller.stop()
        self.connections.shutdown(10_000)


__all__ = ["ProfileController", "read_remembered_profile", "remember_profile", "remembered_profile_file"]
