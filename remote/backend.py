"""One interface for "the machine jobs run on": this computer or an SSH login.

:class:`LocalBackend` and :class:`SshBackend` have the same methods, so job bundles, the
monitor and the CLI never care where the files and commands are. Commands are argument
lists, never shell strings built from user text: over SSH each argument is quoted with
``shlex.quote``; locally they go straight to ``subprocess`` without a shell.
"""

from __future__ import annotations

import errno
import logging
import os
import shlex
import stat
import subprocess
from dataclasses import dataclass
from typing import Callable

import paramiko

from remote.config import Profile
from remote.ssh import ConnectionLostError, ConnectionState, Prompt, SshConnection, SshError


class BackendError(Exception):
    """A file or command operation failed for a reason other than the connection."""


@dataclass(frozen=True)
class CommandResult:
    """What a command did: exit status and its decoded output."""

    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0

    @property
    def text(self) -> str:
        """stderr, else stdout, stripped: the message to show when the command failed."""
        return (self.stderr.strip() or self.stdout.strip())


class Backend:
    """The common interface (see :class:`LocalBackend` and :class:`SshBackend`)."""

    profile: Profile

    def run(self, argv: list[str], timeout_s: float | None = 60.0, cwd: str | None = None) -> CommandResult:
        raise NotImplementedError

    def read_bytes(self, path: str, offset: int = 0, max_bytes: int | None = None) -> bytes:
        raise NotImplementedError

    def write_bytes(self, path: str, data: bytes, mode: int = 0o600) -> None:
        raise NotImplementedError

    def makedirs(self, path: str, mode: int = 0o700) -> None:
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        raise NotImplementedError

    def size(self, path: str) -> int | None:
        raise NotImplementedError

    def expand_path(self, path: str) -> str:
        raise NotImplementedError

    @property
    def state(self) -> ConnectionState:
        return ConnectionState("connected")

    def connect(self) -> "Backend":
        """Make sure the machine is reachable now (SSH: log in); returns self."""
        return self

    def close(self) -> None:
        pass

    def stop_waiting(self) -> None:
        """Let an operation that waits to reconnect (in another thread) give up now."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LocalBackend(Backend):
    """This computer: ``subprocess`` without a shell, and plain files."""

    def __init__(self, profile: Profile):
        self.profile = profile

    def run(self, argv: list[str], timeout_s: float | None = 60.0, cwd: str | None = None) -> CommandResult:
        logger.debug("local: run %s", _for_log(" ".join(shlex.quote(a) for a in argv)))
        try:
            proc = subprocess.run(argv, capture_output=True, timeout=timeout_s, cwd=cwd, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            return CommandResult(127, "", f"{argv[0]}: command not found")
        except subprocess.TimeoutExpired:
            return CommandResult(124, "", f"{argv[0]}: no answer within {timeout_s:g} s")
        return CommandResult(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                             proc.stderr.decode("utf-8", "replace"))

    def read_bytes(self, path: str, offset: int = 0, max_bytes: int | None = None) -> bytes:
        with open(self.expand_path(path), "rb") as fh:
            fh.seek(offset)
            return fh.read() if max_bytes is None else fh.read(max_bytes)

    def write_bytes(self, path: str, data: bytes, mode: int = 0o600) -> None:
        path = self.expand_path(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(path, mode)

    def makedirs(self, path: str, mode: int = 0o700) -> None:
        path = self.expand_path(path)
        os.makedirs(path, mode=mode, exist_ok=True)
        os.chmod(path, mode)

    def exists(self, path: str) -> bool:
        return os.path.exists(self.expand_path(path))

    def size(self, path: str) -> int | None:
        try:
            return os.stat(self.expand_path(path)).st_size
        except FileNotFoundError:
            return None

    def expand_path(self, path: str) -> str:
        return os.path.abspath(os.path.expanduser(path))


logger = logging.getLogger(__name__)


def _for_log(command: str, limit: int = 200) -> str:
    """A command on one log line: long inline scripts are cut."""
    command = command.replace("\n", "; ")
    return command if len(command) <= limit else command[:limit] + f"... ({len(command)} characters)"


class SshBackend(Backend):
    """A login over SSH: commands on one connection, files over SFTP on the same one."""

    def __init__(self, profile: Profile, prompt: Prompt | None = None, connection: SshConnection | None = None):
        self.profile = profile
        self.connection = connection or SshConnection(profile, prompt)
        self._home: str | None = None

    @property
    def state(self) -> ConnectionState:
        return self.connection.state

    def connect(self) -> "SshBackend":
        p = self.profile
        logger.info("connecting to %s@%s:%s (profile %s)", p.user or "", p.host, p.port, p.name)
        self.connection.connect()
        logger.info("connected to %s (profile %s)", p.host, p.name)
        return self

    def run(self, argv: list[str], timeout_s: float | None = 60.0, cwd: str | None = None) -> CommandResult:
        command = " ".join(shlex.quote(a) for a in argv)
        if cwd is not None:
            command = f"cd {shlex.quote(self.expand_path(cwd))} && {command}"
        logger.debug("%s: run %s", self.profile.name, _for_log(command))
        rc, out, err = self.connection.exec(command, timeout_s)
        logger.debug("%s: exit status %s, %d bytes out, %d bytes err", self.profile.name, rc, len(out), len(err))
        return CommandResult(rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))

    def _sftp_call(self, what: str, path: str, fn: Callable):
        try:
            return fn(self.connection.sftp())
        except FileNotFoundError:
            raise
        except PermissionError as exc:
            raise BackendError(f"{what} {path}: permission denied") from exc
        except IOError as exc:
            if getattr(exc, "errno", None) == errno.ENOENT:
                raise FileNotFoundError(errno.ENOENT, "no such file", path) from None
            # paramiko reports a dead channel as OSError/EOFError: that is a lost connection.
            if not self.connection.state.status == "connected" or isinstance(exc, EOFError):
                raise ConnectionLostError(f"connection dropped during {what} {path}: {exc}") from None
            raise BackendError(f"{what} {path}: {exc}") from None
        except (EOFError, paramiko.SSHException) as exc:
            self.connection._drop()
            self.connection._set_state("reconnecting", str(exc))
            raise ConnectionLostError(f"connection dropped during {what} {path}: {exc or type(exc).__name__}") from None

    def read_bytes(self, path: str, offset: int = 0, max_bytes: int | None = None) -> bytes:
        full = self.expand_path(path)

        def read(sftp: paramiko.SFTPClient) -> bytes:
            with sftp.open(full, "rb") as fh:
                fh.seek(offset)
                if max_bytes is not None:
                    return fh.read(max_bytes)
                size = sftp.stat(full).st_size or 0
                # Read exactly what is there now; a growing file is read again next time.
                return fh.read(max(size - offset, 0)) if size > offset else b""

        return self._sftp_call("reading", full, read)

    def write_bytes(self, path: str, data: bytes, mode: int = 0o600) -> None:
        full = self.expand_path(path)

        def write(sftp: paramiko.SFTPClient) -> None:
            with sftp.open(full, "wb") as fh:
                fh.set_pipelined(True)
                fh.write(data)
            sftp.chmod(full, mode)

        self._sftp_call("writing", full, write)

    def makedirs(self, path: str, mode: int = 0o700) -> None:
        full = self.expand_path(path)

        def mk(sftp: paramiko.SFTPClient) -> None:
            parts = full.strip("/").split("/")
            current = ""
            for i, part in enumerate(parts):
                current += "/" + part
                try:
                    st = sftp.stat(current)
                    if not stat.S_ISDIR(st.st_mode or 0):
                        raise BackendError(f"{current} exists and is not a folder")
                except FileNotFoundError:
                    sftp.mkdir(current, mode)
                    sftp.chmod(current, mode)
            if parts:
                sftp.chmod(full, mode)

        self._sftp_call("creating folder", full, mk)

    def exists(self, path: str) -> bool:
        return self.size(path) is not None

    def size(self, path: str) -> int | None:
        full = self.expand_path(path)
        try:
            return self._sftp_call("checking", full, lambda sftp: sftp.stat(full).st_size)
        except FileNotFoundError:
            return None

    def home(self) -> str:
        """The login's home folder on the server."""
        if self._home is None:
            self._home = self._sftp_call("finding home", ".", lambda sftp: sftp.normalize("."))
        return self._home

    def expand_path(self, path: str) -> str:
        if path == "~":
            return self.home()
        if path.startswith("~/"):
            return self.home().rstrip("/") + "/" + path[2:]
        if not path.startswith("/"):
            return self.home().rstrip("/") + "/" + path
        return path

    def stop_waiting(self) -> None:
        self.connection.stop_waiting()

    def close(self) -> None:
        self.connection.close()


def open_backend(profile: Profile, prompt: Prompt | None = None) -> Backend:
    """The backend for ``profile``: :class:`LocalBackend` for ``local`` profiles, else SSH.

    The SSH connection is opened lazily on first use; call ``backend.connect()`` (SSH) to
    surface host-key and login problems at once.
    """
    if profile.is_local:
        return LocalBackend(profile)
    return SshBackend(profile, prompt)


__all__ = ["Backend", "BackendError", "CommandResult", "LocalBackend", "SshBackend", "open_backend", "SshError"]
