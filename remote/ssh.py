"""SSH connections with host-key checking, ProxyJump and reconnects (paramiko).

One :class:`SshConnection` per profile carries both remote commands and SFTP. Host keys are
checked against the profile's known_hosts file: an unknown key raises
:class:`HostKeyUnknownError` (carrying the key and its SHA256 fingerprint, so a user can be
asked and :func:`trust_host_key` can record it), a changed key raises
:class:`HostKeyChangedError` and is never accepted. Passwords, passphrases and one-time codes
are asked through a ``prompt(text, secret) -> str | None`` callback and never stored.

When the connection drops, the next use reconnects with backoff; :attr:`SshConnection.state`
tells callers where it stands (``connected``, ``reconnecting``, ``disconnected``) and the last
error, and failures surface as :class:`ConnectionLostError`, never as a paramiko traceback.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import shlex
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable

import paramiko

from remote import known_hosts as kh
from remote.config import ConfigError, Profile, parse_jump_host, parse_proxy_jump

# paramiko logs failed handshakes (a port that is not SSH) from its own thread; with no handler
# Python would print them on stderr next to our one-line error.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

Prompt = Callable[[str, bool], "str | None"]


class SshError(Exception):
    """Base of every SSH failure; ``str(exc)`` is one line a user can act on."""


class HostKeyUnknownError(SshError):
    """The server's host key is not in known_hosts.

    Attributes
    ----------
    host, port : the server asked for
    key_type : e.g. ``"ssh-ed25519"``
    fingerprint_sha256 : ``"SHA256:..."`` as OpenSSH prints it
    key : the ``paramiko.PKey`` itself, for :func:`trust_host_key`
    other_types : key types already on file for this host (the server did not offer them)
    """

    def __init__(self, host: str, port: int, key_type: str, fingerprint_sha256: str, key=None, profile: str = "",
                 other_types: tuple[str, ...] = ()):
        self.host = host
        self.port = port
        self.key_type = key_type
        self.fingerprint_sha256 = fingerprint_sha256
        self.key = key
        self.profile = profile
        self.other_types = tuple(other_types)
        how = f"python -m remote trust --profile {profile}" if profile else "python -m remote trust --profile P"
        # As OpenSSH says it: a host known by other key types is still a new key to confirm.
        also = (f"; keys of other types ({', '.join(self.other_types)}) are already known for this host"
                if self.other_types else "")
        super().__init__(
            f"the host key of {_host_label(host, port)} is unknown ({key_type} {fingerprint_sha256}){also}; "
            f"if that fingerprint is right, run `{how}` to trust it"
        )


class HostKeyChangedError(SshError):
    """The server's host key differs from the one in known_hosts: always refused."""

    def __init__(self, host: str, port: int, key_type: str, fingerprint_sha256: str, known_hosts: str):
        self.host = host
        self.port = port
        self.key_type = key_type
        self.fingerprint_sha256 = fingerprint_sha256
        self.known_hosts = known_hosts
        super().__init__(
            f"the host key for {_host_label(host, port)} has CHANGED (now {key_type} {fingerprint_sha256}); "
            f"refusing to connect. Someone may be intercepting the connection, or the server was "
            f"reinstalled: check with its administrators before removing the old key from {known_hosts}"
        )


class HostKeyRevokedError(SshError):
    """The server's host key is marked ``@revoked`` in known_hosts: always refused."""

    def __init__(self, host: str, port: int, key_type: str, fingerprint_sha256: str, known_hosts: str):
        self.host = host
        self.port = port
        self.key_type = key_type
        self.fingerprint_sha256 = fingerprint_sha256
        super().__init__(
            f"the host key of {_host_label(host, port)} ({key_type} {fingerprint_sha256}) is marked @revoked "
            f"in {known_hosts}; refusing to connect"
        )


class AuthenticationError(SshError):
    """The server refused every way of logging in we had."""


class KeyPassphraseError(AuthenticationError):
    """A key file needs its passphrase and there is no way to ask for it (nor an agent holding the key)."""


class ConnectionLostError(SshError):
    """The server cannot be reached (or the connection dropped and reconnecting failed)."""


def _host_label(host: str, port: int) -> str:
    return host if port == 22 else f"{host}:{port}"


def known_hosts_name(host: str, port: int) -> str:
    """The name a host is filed under in known_hosts: ``host`` or ``[host]:port``."""
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint_sha256(key: paramiko.PKey) -> str:
    """OpenSSH's ``SHA256:...`` fingerprint of a public key."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


# ----------------------------------------------------------------------------- target resolution


@dataclass(frozen=True)
class Target:
    """Where to connect after applying ``~/.ssh/config``."""

    host: str
    port: int
    user: str
    key_files: tuple[str, ...]
    proxy_jump: str
    alias: str


def resolve_target(profile: Profile) -> Target:
    """Apply the ssh config (HostName, User, Port, IdentityFile, ProxyJump) to ``profile``.

    Values in the profile win over the ssh config; the ssh config wins over defaults.
    """
    cfg: dict = {}
    path = os.path.expanduser(profile.ssh_config) if profile.ssh_config else ""
    if path and os.path.isfile(path):
        try:
            cfg = paramiko.SSHConfig.from_path(path).lookup(profile.host)
        except Exception as exc:  # a broken ssh config should say so, not crash
            raise SshError(f"cannot read {path}: {exc}") from None
    host = cfg.get("hostname", profile.host) or profile.host
    port = profile.port
    if not port:
        raw = str(cfg.get("port", 22)).strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 65535:
            raise ConfigError(path, f"Host {profile.host}: Port", f"expected a port number 1..65535, got {raw!r}")
        port = int(raw)
    user = profile.user or cfg.get("user") or os.environ.get("USER") or ""
    keys: list[str] = []
    if profile.key_file:
        keys.append(os.path.expanduser(profile.key_file))
    keys += [os.path.expanduser(k) for k in cfg.get("identityfile", [])]
    jump = profile.proxy_jump or cfg.get("proxyjump", "")
    if jump.lower() == "none":
        jump = ""
    if jump:
        try:
            parse_proxy_jump(jump)
        except ValueError as exc:
            where = "proxy_jump" if profile.proxy_jump else f"Host {profile.host}: ProxyJump"
            raise ConfigError("" if profile.proxy_jump else path, where, str(exc)) from None
    return Target(host=host, port=int(port), user=user, key_files=tuple(dict.fromkeys(keys)),
                  proxy_jump=jump, alias=profile.host)


def _jump_profile(profile: Profile, hops: str) -> Profile:
    """A profile for the last hop of ``hops``, reached through the hops before it.

    The last hop's ProxyJump is the rest of the list, so ``a,b`` connects to ``a`` and from
    there to ``b``, as OpenSSH does. Its name is looked up in the ssh config like any host.
    """
    parts = hops.split(",")
    user, host, port = parse_jump_host(parts[-1])
    before = ",".join(parts[:-1])
    return Profile(name=profile.name, host=host, port=port, user=user, known_hosts=profile.known_hosts,
                   ssh_config=profile.ssh_config, keepalive_s=profile.keepalive_s,
                   connect_timeout_s=profile.connect_timeout_s, key_file=profile.key_file,
                   proxy_jump=before or "none")


# ----------------------------------------------------------------------------- host keys


def _read_lines(path: str) -> list[kh.HostKeyLine]:
    try:
        return kh.read_known_hosts(path)
    except OSError as exc:
        raise SshError(f"cannot read known_hosts file {path}: {exc.strerror or exc}") from None


class RefuseUnknownHostKey(paramiko.MissingHostKeyPolicy):
    """A MissingHostKeyPolicy that refuses with :class:`HostKeyUnknownError` (never auto-adds)."""

    def __init__(self, port: int = 22, profile: str = ""):
        self.port = port
        self.profile = profile

    def missing_host_key(self, client, hostname, key):
        host = hostname
        if hostname.startswith("[") and "]:" in hostname:
            host = hostname[1:hostname.index("]")]
        raise HostKeyUnknownError(host, self.port, key.get_name(), fingerprint_sha256(key), key, self.profile)


def check_host_key(host: str, port: int, key: paramiko.PKey, known_hosts: str, profile: str = "") -> None:
    """Accept ``key`` only when known_hosts lists exactly it for ``host``, as OpenSSH decides.

    Every line naming the host counts (wildcards, negations and hashed names included).

    Raises
    ------
    HostKeyRevokedError
        The key is on an ``@revoked`` line for this host.
    HostKeyUnknownError
        No key of this type is recorded for the host (keys of other types may be).
    HostKeyChangedError
        Only different keys of this type are recorded: never accepted.
    """
    name = known_hosts_name(host, port)
    lines = _read_lines(known_hosts)
    verdict = kh.check_key(lines, name, key.get_name(), key.asbytes())
    if verdict == kh.KNOWN:
        return
    if verdict == kh.REVOKED:
        raise HostKeyRevokedError(host, port, key.get_name(), fingerprint_sha256(key), known_hosts)
    if verdict == kh.CHANGED:
        raise HostKeyChangedError(host, port, key.get_name(), fingerprint_sha256(key), known_hosts)
    raise HostKeyUnknownError(host, port, key.get_name(), fingerprint_sha256(key), key, profile,
                              other_types=tuple(kh.known_key_types(lines, name)))


def trust_host_key(profile: Profile, key: paramiko.PKey, hashed: bool | None = None) -> str:
    """Record ``key`` as the host key of ``profile``'s server in its known_hosts file.

    Appends one line (``[host]:port`` form for ports other than 22; hashed when ``hashed``
    or the profile's ``hash_known_hosts``), creating the file (mode 0600) and its folder
    (0700) when needed. Returns the line written. Refuses (:class:`HostKeyChangedError`) if
    a different key of the same type is already recorded.
    """
    target = resolve_target(profile)
    path = os.path.expanduser(profile.known_hosts)
    name = known_hosts_name(target.host, target.port)
    verdict = kh.check_key(_read_lines(path), name, key.get_name(), key.asbytes())
    if verdict == kh.KNOWN:
        return ""
    if verdict == kh.REVOKED:
        raise HostKeyRevokedError(target.host, target.port, key.get_name(), fingerprint_sha256(key), path)
    if verdict == kh.CHANGED:
        raise HostKeyChangedError(target.host, target.port, key.get_name(), fingerprint_sha256(key), path)
    use_hash = profile.hash_known_hosts if hashed is None else hashed
    shown = paramiko.HostKeys.hash_host(name) if use_hash else name
    line = f"{shown} {key.get_name()} {key.get_base64()}\n"
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    needs_newline = False
    if os.path.exists(path) and os.path.getsize(path) > 0:
        with open(path, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            needs_newline = fh.read(1) != b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="ascii") as fh:
        fh.write(("\n" if needs_newline else "") + line)
    return line


# ----------------------------------------------------------------------------- the connection


@dataclass(frozen=True)
class ConnectionState:
    """Where a connection stands: ``status`` is connected, reconnecting or disconnected."""

    status: str
    last_error: str = ""
    since: float = 0.0


def _public_blob(private_key_path: str) -> bytes | None:
    """The public key blob from ``PATH.pub`` next to a private key, if there is one."""
    try:
        with open(private_key_path + ".pub", encoding="ascii", errors="replace") as fh:
            parts = fh.read().split()
        return base64.b64decode(parts[1]) if len(parts) >= 2 else None
    except (OSError, ValueError):
        return None


def _banner_failure(exc: BaseException) -> str:
    """Why a server's SSH greeting did not come, from paramiko's banner error and its cause."""
    if "protocol version" in str(exc):
        return "it answered something else"
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(cause, EOFError):
        return "it closed the connection without an SSH greeting"
    return "no SSH greeting"


def _open_socket(host: str, port: int, timeout_s: float) -> socket.socket:
    try:
        return socket.create_connection((host, port), timeout=timeout_s)
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ConnectionLostError(f"cannot reach {_host_label(host, port)}: {reason}") from None


class SshConnection:
    """One SSH connection for a profile, shared by commands and SFTP, reconnecting on demand.

    Parameters
    ----------
    profile : Profile
    prompt : callable, optional
        ``prompt(text, secret) -> str | None`` answers password, passphrase and
        keyboard-interactive questions (``None`` means "no answer": that method is skipped).
    reconnect_delays_s : sequence of float
        Waits between reconnect attempts after a drop (the backoff).
    """

    def __init__(self, profile: Profile, prompt: Prompt | None = None,
                 reconnect_delays_s: tuple[float, ...] = (0.5, 1.0, 2.0)):
        self.profile = profile
        self.prompt = prompt
        self.reconnect_delays_s = tuple(reconnect_delays_s)
        self._lock = threading.RLock()
        # Set by stop_waiting(): a reconnect gives up instead of sleeping through its backoff.
        self._stop_waiting = threading.Event()
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._jump: SshConnection | None = None
        self._ever_connected = False
        #: How many times a login succeeded (more than once means it reconnected).
        self.connects = 0
        self._state = ConnectionState("disconnected", "", time.time())
        self.target = resolve_target(profile)

    # -- state
    @property
    def state(self) -> ConnectionState:
        with self._lock:
            if self._state.status == "connected" and not self._alive():
                self._set_state("reconnecting" if self._ever_connected else "disconnected", "connection dropped")
            return self._state

    def _set_state(self, status: str, error: str = "") -> None:
        self._state = ConnectionState(status, error, time.time())

    def _alive(self) -> bool:
        return self._transport is not None and self._transport.is_active()

    # -- connecting
    def fetch_host_key(self) -> paramiko.PKey:
        """The server's host key, fetched without logging in (for the trust dialog)."""
        transport = self._handshake(check=False)
        try:
            return transport.get_remote_server_key()
        finally:
            transport.close()

    def _handshake(self, check: bool = True) -> paramiko.Transport:
        t = self.target
        if t.proxy_jump:
            if self._jump is None:
                self._jump = SshConnection(_jump_profile(self.profile, t.proxy_jump), self.prompt,
                                           self.reconnect_delays_s)
            jump_transport = self._jump.transport()
            try:
                sock = jump_transport.open_channel("direct-tcpip", (t.host, t.port), ("127.0.0.1", 0),
                                                   timeout=self.profile.connect_timeout_s)
            except (paramiko.SSHException, OSError) as exc:
                raise ConnectionLostError(
                    f"the jump host {self._jump.target.host} cannot reach {_host_label(t.host, t.port)}: {exc}"
                ) from None
        else:
            sock = _open_socket(t.host, t.port, self.profile.connect_timeout_s)
        transport = paramiko.Transport(sock)
        known_hosts = os.path.expanduser(self.profile.known_hosts)
        # Prefer the key types already on file for this host, so a server with several host
        # keys shows the one we can check (as OpenSSH does).
        try:
            on_file = kh.known_key_types(_read_lines(known_hosts), known_hosts_name(t.host, t.port))
        except SshError:
            transport.close()
            raise
        if on_file:
            opts = transport.get_security_options()
            preferred = [k for k in on_file if k in opts.key_types]
            if preferred:
                opts.key_types = tuple(preferred) + tuple(k for k in opts.key_types if k not in preferred)
        timeout_s = self.profile.connect_timeout_s
        # A port that accepts TCP but never greets: give up on the banner within the connect timeout.
        transport.banner_timeout = timeout_s
        try:
            transport.start_client(timeout=timeout_s)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            transport.close()
            text = str(exc)
            if "protocol banner" in text or "protocol version" in text or "Invalid SSH banner" in text:
                why = _banner_failure(exc)
                raise ConnectionLostError(f"the server at {t.host}:{t.port} does not speak SSH ({why})") from None
            raise ConnectionLostError(f"SSH handshake with {_host_label(t.host, t.port)} failed: {exc or type(exc).__name__}") from None
        if not transport.remote_version or not transport.is_active() or transport.host_key is None:
            # start_client returns quietly when its timeout ends before the key exchange.
            greeted = bool(transport.remote_version)
            transport.close()
            if greeted:
                raise ConnectionLostError(f"SSH handshake with {_host_label(t.host, t.port)} timed out "
                                          f"after {timeout_s:g} s")
            raise ConnectionLostError(f"the server at {t.host}:{t.port} does not speak SSH (timed out)")
        if check:
            try:
                check_host_key(t.host, t.port, transport.get_remote_server_key(), known_hosts, self.profile.name)
            except SshError:
                transport.close()
                raise
        return transport

    def _authenticate(self, transport: paramiko.Transport) -> None:
        t = self.target
        errors: list[str] = []
        passphrase_needed: list[str] = []
        tried = 0

        def try_key(key: paramiko.PKey) -> bool:
            nonlocal tried
            tried += 1
            try:
                transport.auth_publickey(t.user, key)
                return transport.is_authenticated()
            except paramiko.AuthenticationException:
                return False
            except paramiko.SSHException as exc:
                errors.append(str(exc))
                return False

        # ssh-agent first: a key it holds needs no passphrase, so nothing is asked.
        try:
            agent_keys = list(paramiko.Agent().get_keys())
        except Exception:  # no agent running, or one that does not answer: fine
            agent_keys = []
        for key in agent_keys:
            if try_key(key):
                return
        agent_blobs = {k.asbytes() for k in agent_keys}
        paths = list(t.key_files)
        if not paths:
            paths = [p for p in (os.path.expanduser(f"~/.ssh/{n}") for n in ("id_ed25519", "id_ecdsa", "id_rsa"))
                     if os.path.exists(p)]
        for path in paths:
            if not os.path.exists(path):
                errors.append(f"key file {path} does not exist")
                continue
            if _public_blob(path) in agent_blobs:
                continue  # the agent offered this key already
            try:
                key = self._load_key(path)
            except KeyPassphraseError as exc:
                passphrase_needed.append(path)
                errors.append(str(exc))
                continue
            except AuthenticationError as exc:
                errors.append(str(exc))
                continue
            if try_key(key):
                return
        if self.prompt is not None:
            def handler(title, instructions, prompt_list):
                answers = []
                for text, echo in prompt_list:
                    header = " ".join(s for s in (title, instructions) if s).strip()
                    answer = self.prompt(f"{header}\n{text}".strip() if header else text, not echo)
                    if answer is None:
                        raise paramiko.AuthenticationException("no answer given")
                    answers.append(answer)
                return answers
            try:
                transport.auth_interactive(t.user, handler)
                if transport.is_authenticated():
                    return
            except paramiko.BadAuthenticationType as exc:
                if "password" in (exc.allowed_types or []):
                    password = self.prompt(f"Password for {t.user}@{t.host}: ", True)
                    if password is not None:
                        try:
                            transport.auth_password(t.user, password)
                            if transport.is_authenticated():
                                return
                        except paramiko.AuthenticationException:
                            errors.append("password refused")
            except paramiko.AuthenticationException as exc:
                errors.append(f"keyboard-interactive: {exc}")
            except paramiko.SSHException as exc:
                errors.append(str(exc))
        if passphrase_needed:
            raise KeyPassphraseError(
                f"the key {passphrase_needed[0]} needs its passphrase: run from a terminal to be asked for it, "
                f"or add the key to ssh-agent (ssh-add {passphrase_needed[0]})")
        detail = "; ".join(errors)
        raise AuthenticationError(
            f"{t.user}@{_host_label(t.host, t.port)} refused every login method "
            f"(tried {tried} key(s){' and prompts' if self.prompt else ''})" + (f": {detail}" if detail else "")
        )

    def _load_key(self, path: str) -> paramiko.PKey:
        """The private key in ``path``, asking for its passphrase through the prompt when it has one.

        Raises
        ------
        KeyPassphraseError
            The key is encrypted and no passphrase could be asked for (no prompt, or no answer).
        AuthenticationError
            The file cannot be read, or the passphrase given does not unlock it.
        """
        try:
            return paramiko.PKey.from_path(path)
        except (paramiko.PasswordRequiredException, TypeError):
            # paramiko raises TypeError("Key is password-protected") for encrypted PEM keys.
            pass
        except (paramiko.SSHException, OSError, ValueError) as exc:
            raise AuthenticationError(f"cannot read key file {path}: {exc}") from None
        for attempt in range(3):  # as ssh does: three tries
            text = f"Passphrase for {path}: " if attempt == 0 else f"Wrong passphrase; passphrase for {path}: "
            answer = self.prompt(text, True) if self.prompt is not None else None
            if answer is None:
                raise KeyPassphraseError(f"the key {path} needs its passphrase and none was given")
            try:
                # Positional: paramiko 5 renamed the argument; cryptography wants bytes.
                return paramiko.PKey.from_path(path, answer.encode("utf-8"))
            except (paramiko.SSHException, TypeError, ValueError):
                continue
        raise AuthenticationError(f"the passphrase given does not unlock the key {path}")

    def _connect_once(self) -> None:
        transport = self._handshake(check=True)
        try:
            self._authenticate(transport)
        except BaseException:
            transport.close()
            raise
        if self.profile.keepalive_s:
            transport.set_keepalive(self.profile.keepalive_s)
        self._transport = transport
        self._sftp = None
        self._ever_connected = True
        self.connects += 1
        self._set_state("connected")

    def connect(self) -> "SshConnection":
        """Connect now (first time: no retries, so host key and login problems show at once)."""
        with self._lock:
            if self._alive():
                return self
            self._drop()
            if not self._ever_connected:
                try:
                    self._connect_once()
                except SshError as exc:
                    self._set_state("disconnected", str(exc))
                    raise
                return self
            return self._reconnect()

    def _reconnect(self) -> "SshConnection":
        last: SshError | None = None
        for attempt, delay_s in enumerate((0.0,) + self.reconnect_delays_s):
            if self._stop_waiting.wait(delay_s):
                self._set_state("reconnecting", "stopped: the connection is being closed")
                raise ConnectionLostError(f"connection to {_host_label(self.target.host, self.target.port)} lost "
                                          f"and not retried: it is being closed ({last or 'dropped'})")
            self._set_state("reconnecting", str(last) if last else "connection dropped")
            try:
                self._connect_once()
                return self
            except (HostKeyUnknownError, HostKeyChangedError, HostKeyRevokedError, AuthenticationError) as exc:
                # Never retried: a changed key or refused login will not fix itself.
                self._set_state("disconnected", str(exc))
                raise
            except SshError as exc:
                last = exc
        self._set_state("reconnecting", str(last))
        raise ConnectionLostError(f"connection to {_host_label(self.target.host, self.target.port)} lost: {last}")

    def transport(self) -> paramiko.Transport:
        """The live transport, (re)connecting first if needed."""
        with self._lock:
            if not self._alive():
                self.connect()
            assert self._transport is not None
            return self._transport

    def sftp(self) -> paramiko.SFTPClient:
        """The SFTP client on this connection (opened once, reopened after a reconnect)."""
        with self._lock:
            transport = self.transport()
            if self._sftp is None or self._sftp.get_channel() is None or self._sftp.get_channel().closed:
                try:
                    self._sftp = paramiko.SFTPClient.from_transport(transport)
                except (paramiko.SSHException, EOFError, OSError) as exc:
                    self._lost(exc)
            assert self._sftp is not None
            return self._sftp

    def _lost(self, exc: BaseException):
        self._drop()
        self._set_state("reconnecting", f"connection dropped: {exc or type(exc).__name__}")
        raise ConnectionLostError(
            f"connection to {_host_label(self.target.host, self.target.port)} dropped: {exc or type(exc).__name__}"
        ) from None

    def exec(self, command: str, timeout_s: float | None = 60.0, stdin: bytes | None = None) -> tuple[int, bytes, bytes]:
        """Run one shell command line (already quoted by the caller) and wait for it.

        Returns ``(exit status, stdout bytes, stderr bytes)``.

        Raises
        ------
        ConnectionLostError
            The connection dropped (the command may or may not have run) or timed out.
        """
        transport = self.transport()
        try:
            chan = transport.open_session(timeout=self.profile.connect_timeout_s)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            with self._lock:
                self._lost(exc)
        try:
            if timeout_s is not None:
                chan.settimeout(timeout_s)
            chan.exec_command(command)
            if stdin:
                chan.sendall(stdin)
            chan.shutdown_write()
            out, err = bytearray(), bytearray()
            deadline = None if timeout_s is None else time.monotonic() + timeout_s
            while True:
                if chan.recv_ready():
                    out += chan.recv(65536)
                elif chan.recv_stderr_ready():
                    err += chan.recv_stderr(65536)
                elif chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
                    break
                else:
                    if not transport.is_active():
                        raise EOFError("transport closed")
                    if deadline is not None and time.monotonic() > deadline:
                        raise socket.timeout(f"no answer within {timeout_s:g} s")
                    time.sleep(0.005)
            # drain what arrived with the exit status
            while chan.recv_ready():
                out += chan.recv(65536)
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(65536)
            return chan.recv_exit_status(), bytes(out), bytes(err)
        except (paramiko.SSHException, EOFError, OSError, socket.timeout) as exc:
            with self._lock:
                self._lost(exc)
        finally:
            chan.close()
        raise AssertionError("unreachable")

    def run(self, argv: list[str], timeout_s: float | None = 60.0) -> tuple[int, bytes, bytes]:
        """:meth:`exec` of ``argv``, each argument quoted with ``shlex.quote``."""
        return self.exec(" ".join(shlex.quote(a) for a in argv), timeout_s)

    def _drop(self) -> None:
        if self._sftp is not None:
            try:
                self._sftp.close()
            except Exception:
                pass
        self._sftp = None
        if self._transport is not None:
            self._transport.close()
        self._transport = None

    def stop_waiting(self) -> None:
        """Make a reconnect in progress (in another thread) give up now instead of after its backoff.

        Safe from any thread, and does not wait for the connection's lock, which that reconnect
        holds. Commands already talking to the server are left to finish. :meth:`close` undoes it.
        """
        self._stop_waiting.set()
        if self._jump is not None:
            self._jump.stop_waiting()

    def close(self) -> None:
        """Close the connection (and the jump host's); a later use connects again."""
        self.stop_waiting()  # a reconnect holding the lock gives up, so closing does not wait for it
        with self._lock:
            self._drop()
            if self._jump is not None:
                self._jump.close()
            self._set_state("disconnected", "")
            self._ever_connected = False
            self._stop_waiting.clear()


def fetch_host_key(profile: Profile) -> paramiko.PKey:
    """The host key ``profile``'s server shows (no login, no checking): for a trust dialog."""
    return SshConnection(profile).fetch_host_key()


__all__ = [
    "AuthenticationError", "ConnectionLostError", "ConnectionState", "HostKeyChangedError", "HostKeyRevokedError",
    "HostKeyUnknownError", "KeyPassphraseError", "RefuseUnknownHostKey", "parse_jump_host", "parse_proxy_jump", "SshConnection", "SshError", "check_host_key", "fetch_host_key", "fingerprint_sha256",
    "known_hosts_name", "resolve_target", "trust_host_key",
]
