"""Connections to the profiles' machines, used from worker threads, guarded by dialogs.

:class:`ConnectionManager` keeps one backend per profile (``remote.backend``) and runs
every operation on it in a worker thread (``gui.workers``), so the GUI never waits on the
network. Answers come back on the GUI thread. When an operation meets an unknown host key
the manager shows :class:`~gui.cluster.dialogs.HostKeyDialog`; if the user trusts the key it
is written to known_hosts and the operation runs again. A changed key shows the warning
that cannot be clicked through. Passwords and one-time codes are asked for by
:class:`PromptBridge` in a dialog on the GUI thread, handed to paramiko and forgotten.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from PySide6 import QtCore, QtWidgets

from gui import workers
from gui.cluster.dialogs import HostKeyChangedDialog, HostKeyDialog, ask_secret
from remote.backend import Backend, open_backend
from remote.config import ConfigError, Profile
from remote.ssh import (
    AuthenticationError,
    ConnectionLostError,
    HostKeyChangedError,
    HostKeyUnknownError,
    SshError,
    trust_host_key,
)
from remote.states import ConnectionStatus

# Connection states shown by the indicator.
STATES = tuple(ConnectionStatus)


class PromptBridge(QtCore.QObject):
    """``prompt(text, secret) -> str | None`` for ``remote.ssh``, callable from any thread.

    From a worker thread it asks the GUI thread (a queued signal) and waits for the
    answer; on the GUI thread it asks directly. ``asker`` shows the dialog; tests may
    replace it.
    """

    _asked = QtCore.Signal(object)

    def __init__(self, parent_widget: QtWidgets.QWidget | None = None):
        super().__init__()
        self.parent_widget = parent_widget
        self.asker: Callable[[str, bool], str | None] = self._ask_with_dialog
        self._asked.connect(self._on_asked, QtCore.Qt.ConnectionType.QueuedConnection)

    def __call__(self, text: str, secret: bool) -> str | None:
        if QtCore.QThread.currentThread() is self.thread():
            return self.asker(text, secret)
        holder: dict[str, Any] = {"event": threading.Event(), "answer": None, "text": text, "secret": secret}
        self._asked.emit(holder)
        # A user may take their time typing a code; the server gives up first anyway.
        holder["event"].wait(timeout=300)
        answer = holder.pop("answer", None)
        return answer

    def _on_asked(self, holder: dict) -> None:
        try:
            holder["answer"] = self.asker(holder["text"], holder["secret"])
        finally:
            holder["event"].set()

    def _ask_with_dialog(self, text: str, secret: bool) -> str | None:
        lower = text.lower()
        title = ("One-time code" if any(w in lower for w in ("code", "otp", "token", "verification"))
                 else "Passphrase" if "passphrase" in lower else "Password")
        return ask_secret(self.parent_widget, title, text.strip(), echo=not secret)


class ConnectionManager(QtCore.QObject):
    """One backend per profile; operations in workers; host-key and login dialogs.

    Signals
    -------
    state_changed(str, str, str)
        ``(profile name, state, message)``; ``state`` is a :class:`~remote.states.ConnectionStatus`.
    """

    state_changed = QtCore.Signal(str, str, str)

    def __init__(self, parent_widget: QtWidgets.QWidget | None = None):
        super().__init__()
        self.parent_widget = parent_widget
        self.prompt = PromptBridge(parent_widget)
        self.profiles: dict[str, Profile] = {}
        self._backends: dict[str, Backend] = {}
        self._states: dict[str, tuple[str, str]] = {}
        self._workers: set = set()
        self._lock = threading.Lock()
        self._op_locks: dict[str, threading.RLock] = {}
        #: Profiles that logged in at least once this session: losing them is an outage, not a refusal.
        self._ever_connected: set[str] = set()
        #: ``(attempt, monotonic time of the next attempt)`` while a profile's poller retries.
        self.retries: dict[str, tuple[int, float]] = {}
        self.closed = False

    # ------------------------------------------------------------------ profiles and state

    def set_profiles(self, profiles: dict[str, Profile]) -> None:
        """Use these profiles; backends of changed or removed profiles are closed."""
        for name in list(self._backends):
            if name not in profiles or profiles[name] != self.profiles.get(name):
                self._close_backend(name)
        self.profiles = dict(profiles)
        for name, profile in profiles.items():
            if profile.is_local:
                self._set_state(name, ConnectionStatus.LOCAL, "this computer")
            elif name not in self._states or self._states[name][0] == ConnectionStatus.LOCAL:
                self._set_state(name, ConnectionStatus.DISCONNECTED, "")

    def state(self, name: str) -> tuple[str, str]:
        return self._states.get(name, (ConnectionStatus.DISCONNECTED, ""))

    def _set_state(self, name: str, state: str, message: str) -> None:
        if self._states.get(name) == (state, message):
            return
        self._states[name] = (state, message)
        self.state_changed.emit(name, state, message)

    def note_state(self, name: str, state: str, message: str = "", attempt: int = 0,
                   next_in_s: float | None = None) -> None:
        """What a poll learnt about profile ``name``'s connection: ``connected`` or ``reconnecting``.

        ``attempt`` and ``next_in_s`` say how many polls in a row failed and when the poller
        tries again (shown as "reconnecting (attempt N, next in M s)"). A lost connection does
        not hide an earlier ``error`` (a changed host key, a refused login stays on show); a
        poll that got through clears any trouble.
        """
        profile = self.profiles.get(name)
        if self.closed or profile is None or profile.is_local:
            return
        if state != ConnectionStatus.CONNECTED and self.state(name)[0] == ConnectionStatus.ERROR:
            return
        if state == ConnectionStatus.RECONNECTING and attempt:
            self.retries[name] = (attempt, time.monotonic() + (next_in_s or 0.0))
        else:
            self.retries.pop(name, None)
        if state == ConnectionStatus.CONNECTED:
            self._ever_connected.add(name)
        # Emitted even when state and message repeat: the attempt number moved on.
        self._states[name] = (state, message)
        self.state_changed.emit(name, state, message)

    def retry_text(self, name: str) -> str:
        """``"attempt N, next in M s"`` while profile ``name`` waits to reconnect, else ``""``."""
        if self.state(name)[0] != ConnectionStatus.RECONNECTING or name not in self.retries:
            return ""
        attempt, at = self.retries[name]
        left = max(0, int(round(at - time.monotonic())))
        return f"attempt {attempt}, next in {left} s" if left else f"attempt {attempt + 1} now"

    def backend(self, name: str) -> Backend:
        """The backend of profile ``name`` (created on first use; safe from any thread)."""
        with self._lock:
            if name not in self._backends:
                if name not in self.profiles:
                    raise KeyError(f"no profile named {name!r}")
                self._backends[name] = open_backend(self.profiles[name], prompt=self.prompt)
            return self._backends[name]

    def op_lock(self, name: str) -> threading.RLock:
        """The lock every operation on profile ``name``'s backend holds.

        One SSH connection carries all of a profile's commands and its one SFTP session;
        operations from several workers take turns on it instead of interleaving SFTP
        requests.
        """
        with self._lock:
            return self._op_locks.setdefault(name, threading.RLock())

    def _close_backend(self, name: str) -> None:
        with self._lock:
            backend = self._backends.pop(name, None)
        if backend is not None:
            try:
                backend.close()
            except Exception:  # closing a dead connection may fail; it is gone either way
                pass

    # ------------------------------------------------------------------ operations

    def run(
        self,
        name: str,
        fn: Callable[[Backend], Any],
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_done: Callable[[], None] | None = None,
    ):
        """Run ``fn(backend)`` in a worker; ``on_result(value)`` or ``on_error(message)`` on the GUI thread.

        Host-key questions are settled with the user first (and ``fn`` retried once the key
        is trusted). ``on_error`` gets one line a user can act on.
        """
        if self.closed:
            return None
        profile = self.profiles.get(name)
        if profile is None:
            if on_error:
                on_error(f"no profile named {name!r}")
            return None
        if not profile.is_local and self.state(name)[0] not in (ConnectionStatus.CONNECTED,
                                                                 ConnectionStatus.RECONNECTING):
            self._set_state(name, ConnectionStatus.CONNECTING, "")

        lock = self.op_lock(name)
        # Whether the login itself got through: an error after it is the operation's, not the connection's.
        logged_in = threading.Event()

        def job():
            with lock:
                if self.closed:  # queued behind an operation while the window closed
                    raise ConnectionLostError("not run: the window is closing")
                backend = self.backend(name)
                connect = getattr(backend, "connect", None)
                if connect is not None:
                    connect()
                logged_in.set()
                return fn(backend)

        def returned(value):
            if not profile.is_local:
                self._ever_connected.add(name)
                self.retries.pop(name, None)
                self._set_state(name, ConnectionStatus.CONNECTED, "")
            if on_result is not None:
                on_result(value)

        def errored(exc: BaseException):
            if isinstance(exc, HostKeyUnknownError):
                self._set_state(name, ConnectionStatus.DISCONNECTED, "host key not trusted yet")
                if self.ask_trust(profile, exc):
                    self.run(name, fn, on_result, on_error, on_done)
                    return
                message = f"Not connected: the host key of {exc.host} was not trusted."
            elif isinstance(exc, HostKeyChangedError):
                self._close_backend(name)
                self.show_changed_key(exc)
                message = str(exc)
                self._set_state(name, ConnectionStatus.ERROR, "host key CHANGED: connection refused")
            elif (isinstance(exc, ConnectionLostError) and not isinstance(exc, AuthenticationError)
                  and name in self._ever_connected and not self.closed):
                # It worked before: an outage, which the poller rides out (and says so).
                message = f"connection lost: {exc}"
                if self.state(name)[0] != ConnectionStatus.RECONNECTING:
                    self._set_state(name, ConnectionStatus.RECONNECTING, str(exc))
            elif isinstance(exc, (AuthenticationError, ConnectionLostError, SshError, ConfigError)):
                # ConfigError: a bad Port or ProxyJump in ~/.ssh/config, found when connecting.
                if isinstance(exc, AuthenticationError):
                    self._close_backend(name)
                message = f"could not log in: {exc}" if not logged_in.is_set() else str(exc)
                self._set_state(name, ConnectionStatus.ERROR, message)
            else:
                message = str(exc) or type(exc).__name__
                if not profile.is_local and self.state(name)[0] == ConnectionStatus.CONNECTING:
                    if logged_in.is_set():
                        self._set_state(name, ConnectionStatus.CONNECTED, "")
                    else:  # the login failed in a way not foreseen: never shown as connected
                        message = f"could not log in: {message}"
                        self._set_state(name, ConnectionStatus.ERROR, message)
            if on_error is not None:
                on_error(message)
            if on_done is not None:
                on_done()

        def finished_ok(value):
            returned(value)
            if on_done is not None:
                on_done()

        worker = workers.start_function(job, on_returned=finished_ok, on_errored=errored,
                                        _ignore_errors=True)  # errors are handled, not re-raised
        self._workers.add(worker)
        worker.finished.connect(lambda w=worker: self._workers.discard(w))
        return worker

    def ask_trust(self, profile: Profile, exc: HostKeyUnknownError) -> bool:
        """Show the unknown-key dialog; write known_hosts if the user trusts the key."""
        dialog = HostKeyDialog(exc.host if exc.port == 22 else f"{exc.host}:{exc.port}", exc.key_type,
                               exc.fingerprint_sha256, profile.known_hosts, self.parent_widget)
        try:
            accepted = dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted
        finally:
            dialog.deleteLater()
        if not accepted or exc.key is None:
            return False
        try:
            trust_host_key(profile, exc.key)
        except (SshError, ConfigError, OSError) as err:
            QtWidgets.QMessageBox.warning(self.parent_widget, "Could not trust the key", str(err))
            return False
        self._close_backend(profile.name)
        return True

    def show_changed_key(self, exc: HostKeyChangedError) -> None:
        dialog = HostKeyChangedDialog(exc.host if exc.port == 22 else f"{exc.host}:{exc.port}", exc.key_type,
                                      exc.fingerprint_sha256, known_hosts=exc.known_hosts, parent=self.parent_widget)
        try:
            dialog.exec()
        finally:
            dialog.deleteLater()

    def busy(self) -> bool:
        return bool(self._workers)

    def disconnect_profile(self, name: str) -> None:
        self._close_backend(name)
        profile = self.profiles.get(name)
        if profile is not None and not profile.is_local:
            self._set_state(name, ConnectionStatus.DISCONNECTED, "")

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Let running operations end, then close every connection.

        Operations that talk to a server finish (a submit is not cut off between ``sbatch``
        and recording its job id); one that waits to reconnect gives up at once, and queued
        ones do not start, so closing the window while a cluster is unreachable is quick.
        """
        self.closed = True
        with self._lock:
            backends = list(self._backends.values())
        for backend in backends:
            backend.stop_waiting()
        workers.wait_for_workers(timeout_ms)
        for name in list(self._backends):
            self._close_backend(name)
