"""SSH as HPC centres run it: ports that are not SSH, bad configuration, passphrase keys and
ssh-agent, ProxyJump chains, and known_hosts verdicts compared with the real ``ssh`` client.

The last groups log in to the real OpenSSH server of the test cluster (marker ``cluster``);
the ProxyJump test starts two more sshd's for the chain.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from remote.cli import main as cli_main
from remote.config import ConfigError, Profile, load_profiles, save_profiles
from remote.ssh import (
    AuthenticationError, ConnectionLostError, HostKeyChangedError, HostKeyRevokedError, HostKeyUnknownError, KeyPassphraseError,
    SshConnection, resolve_target,
)
from tests.cluster.cluster import USER
from tests.conftest import ROOT, require


# ----------------------------------------------------------------------------- not SSH at all


class _Listener:
    """A loopback TCP server: ``silent`` accepts and never speaks, ``http`` answers like a web server."""

    def __init__(self, mode: str):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.mode == "http":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                conn.close()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept (closing alone does not on Linux)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)
        assert not self.thread.is_alive()
        for c in self.conns:
            c.close()


@pytest.fixture(params=["silent", "http"])
def not_ssh(request, tmp_path):
    server = _Listener(request.param)
    profile = Profile(name="nossh", host="127.0.0.1", port=server.port, user="ada", known_hosts=str(tmp_path / "kh"),
                      ssh_config="/dev/null", connect_timeout_s=1.0)
    yield request.param, profile
    server.close()


def test_a_port_that_is_not_ssh_is_one_clear_error(not_ssh):
    mode, profile = not_ssh
    with pytest.raises(ConnectionLostError) as info:
        SshConnection(profile).connect()
    message = str(info.value)
    assert message.startswith(f"the server at 127.0.0.1:{profile.port} does not speak SSH (")
    if mode == "silent":
        assert message.endswith("(timed out)")


def test_doctor_on_a_port_that_is_not_ssh_says_one_line_and_no_paramiko_noise(not_ssh, tmp_path):
    mode, profile = not_ssh
    config = tmp_path / "profiles.toml"
    save_profiles({"nossh": profile}, config)
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("SSH_AUTH_SOCK", None)
    proc = subprocess.run([sys.executable, "-m", "remote", "--config", str(config), "doctor", "--profile", "nossh"],
                          capture_output=True, text=True, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("[FAIL] log in: the server at 127.0.0.1:") and "does not speak SSH" in lines[0]
    assert lines[1:] == ["1 check(s) failed"]
    # Commands that need the login say it as one error line, exit 2.
    proc = subprocess.run([sys.executable, "-m", "remote", "--config", str(config), "queue", "--profile", "nossh"],
                          capture_output=True, text=True, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: the server at 127.0.0.1:")


# ----------------------------------------------------------------------------- bad configuration


@pytest.mark.parametrize("text,words", [
    (b'[profiles.x]\nhost = "caf\xe9"\n', "not UTF-8"),
    (b'[profiles.x]\nhost = "h"\nconnect_timeout_s = nan\n', "connect_timeout_s"),
    (b'[profiles.x]\nhost = "h"\nconnect_timeout_s = inf\n', "connect_timeout_s"),
    (b'[profiles.x]\nhost = "h"\nproxy_jump = "h:notaport"\n', "proxy_jump"),
    (b'[profiles.x]\nhost = "h"\nproxy_jump = "a,,b"\n', "proxy_jump"),
])
def test_bad_profile_values_are_one_line_exit_2(tmp_path, capsys, text, words):
    config = tmp_path / "profiles.toml"
    config.write_bytes(text)
    with pytest.raises(ConfigError):
        load_profiles(config)
    assert cli_main(["--config", str(config), "queue", "--profile", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {config}") and words in err


def test_a_port_that_is_not_a_number_in_the_ssh_config_is_one_line_exit_2(tmp_path, capsys):
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text("Host hpc\n    HostName login.example.org\n    Port abc\n")
    with pytest.raises(ConfigError, match="Port"):
        resolve_target(Profile(name="x", host="hpc", ssh_config=str(ssh_config)))
    config = tmp_path / "profiles.toml"
    config.write_text(f'[profiles.x]\nhost = "hpc"\nssh_config = "{ssh_config}"\n')
    assert cli_main(["--config", str(config), "queue", "--profile", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(ssh_config) in err and "'abc'" in err


# ----------------------------------------------------------------------------- the real sshd


def _keygen(path: Path, passphrase: str = "", kind: str = "ed25519", fmt: tuple[str, ...] = ()) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, *fmt, "-N", passphrase, "-C", path.name, "-f", str(path)],
                   check=True)
    return path


@pytest.fixture
def cluster_ssh(test_cluster, tmp_path, monkeypatch):
    """The test sshd, with no ssh-agent and an empty HOME (no default keys) for this test."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    return test_cluster


def _never_asked(text, secret):
    raise AssertionError(f"nothing should be asked, but got {text!r}")


PASSPHRASE = "correct horse battery"


@pytest.mark.cluster
@pytest.mark.parametrize("kind,fmt", [("ed25519", ()), ("rsa", ("-b", "2048", "-m", "PEM"))],
                         ids=["openssh-ed25519", "pem-rsa"])
def test_passphrase_key_is_asked_for_through_the_prompt(cluster_ssh, tmp_path, kind, fmt):
    key = _keygen(tmp_path / "locked", PASSPHRASE, kind, fmt)
    cluster_ssh.authorize_key(key.with_suffix(".pub").read_text())
    profile = replace(cluster_ssh.profile, key_file=str(key))
    asked = []

    def prompt(text, secret):
        asked.append((text, secret))
        return "wrong" if len(asked) == 1 else PASSPHRASE

    conn = SshConnection(profile, prompt)
    try:
        conn.connect()
        assert conn.run(["whoami"])[1].strip() == USER.encode()
    finally:
        conn.close()
    # Asked again after a wrong answer, as ssh does; a secret prompt naming the key.
    assert [secret for _, secret in asked] == [True, True]
    assert str(key) in asked[0][0] and asked[1][0].startswith("Wrong passphrase")


@pytest.mark.cluster
def test_passphrase_key_without_a_terminal_is_one_line_exit_2(cluster_ssh, tmp_path, capsys):
    key = _keygen(tmp_path / "locked", PASSPHRASE)
    cluster_ssh.authorize_key(key.with_suffix(".pub").read_text())
    profile = replace(cluster_ssh.profile, key_file=str(key))
    with pytest.raises(KeyPassphraseError, match="needs its passphrase"):
        SshConnection(profile, None).connect()
    config = tmp_path / "profiles.toml"
    save_profiles({"locked": replace(profile, name="locked")}, config)
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-m", "remote", "--config", str(config), "queue", "--profile", "locked"],
                          capture_output=True, text=True, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "needs its passphrase" in proc.stderr and "ssh-add" in proc.stderr and str(key) in proc.stderr


@pytest.mark.cluster
def test_passphrase_protected_default_key_is_asked_for(cluster_ssh, tmp_path):
    key = _keygen(Path(os.environ["HOME"]) / ".ssh" / "id_ed25519", PASSPHRASE)
    cluster_ssh.authorize_key(key.with_suffix(".pub").read_text())
    profile = replace(cluster_ssh.profile, key_file="")
    with pytest.raises(KeyPassphraseError, match="id_ed25519"):
        SshConnection(profile, None).connect()
    conn = SshConnection(profile, lambda text, secret: PASSPHRASE)
    try:
        conn.connect()
    finally:
        conn.close()


@pytest.mark.cluster
def test_ssh_agent_holding_the_key_is_used_first(cluster_ssh, tmp_path, monkeypatch):
    require(shutil.which("ssh-agent") and shutil.which("ssh-add"), "ssh-agent and ssh-add (openssh-client)")
    key = _keygen(tmp_path / "locked", PASSPHRASE)
    cluster_ssh.authorize_key(key.with_suffix(".pub").read_text())
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            threading.Event().wait(0.05)
        askpass = tmp_path / "askpass.sh"
        askpass.write_text(f"#!/bin/sh\necho '{PASSPHRASE}'\n")
        askpass.chmod(0o700)
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock), "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force",
               "DISPLAY": ":0"}
        subprocess.run(["ssh-add", str(key)], env=env, check=True, capture_output=True, stdin=subprocess.DEVNULL)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        profile = replace(cluster_ssh.profile, key_file=str(key))
        conn = SshConnection(profile, _never_asked)
        try:
            conn.connect()
            assert conn.run(["true"])[0] == 0
        finally:
            conn.close()
    finally:
        agent.terminate()
        agent.wait(10)


def _ssh_client_verdict(cluster, known_hosts: Path) -> bool:
    """Whether OpenSSH's own client accepts the test sshd with ``known_hosts`` (never asking)."""
    proc = subprocess.run(
        ["ssh", "-F", "/dev/null", "-p", str(cluster.ssh_port), "-i", str(cluster.client_key),
         "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}",
         "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10",
         f"{cluster.user}@127.0.0.1", "true"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    return proc.returncode == 0


@pytest.mark.cluster
def test_known_hosts_verdicts_agree_with_the_ssh_client(cluster_ssh, tmp_path):
    require(shutil.which("ssh") is not None, "the OpenSSH client (ssh)")
    cluster = cluster_ssh
    host_pub = cluster.host_key.with_suffix(".pub").read_text().split()
    right = f"{host_pub[0]} {host_pub[1]}"
    stale = " ".join(_keygen(tmp_path / "stale").with_suffix(".pub").read_text().split()[:2])
    other_type = " ".join(_keygen(tmp_path / "ec", kind="ecdsa").with_suffix(".pub").read_text().split()[:2])
    name = f"[127.0.0.1]:{cluster.ssh_port}"
    files = {
        "stale line above the right one": (f"{name} {stale}\n{name} {right}\n", None),
        "markers and broken lines around it": (
            f"@cert-authority * {stale}\n{name} ssh-ed25519 AAAA%%%%\n# note\n{name} {right}\n", None),
        "wildcard port": (f"[127.0.0.1]:* {right}\n", None),
        "negated": (f"!{name},[127.0.0.1]:* {right}\n", HostKeyUnknownError),
        "revoked": (f"{name} {right}\n@revoked * {right}\n", HostKeyRevokedError),
        "only a stale key": (f"{name} {stale}\n", HostKeyChangedError),
        "only a key of another type": (f"{name} {other_type}\n", HostKeyUnknownError),
    }
    for what, (text, expected) in files.items():
        path = tmp_path / "known_hosts"
        path.write_text(text)
        conn = SshConnection(replace(cluster.profile, known_hosts=str(path)), None)
        try:
            if expected is None:
                conn.connect()
            else:
                with pytest.raises(expected):
                    conn.connect()
        finally:
            conn.close()
        assert _ssh_client_verdict(cluster, path) == (expected is None), what


@pytest.mark.cluster
def test_proxy_jump_goes_through_every_hop(cluster_ssh, tmp_path):
    cluster = cluster_ssh
    host_pub = cluster.host_key.with_suffix(".pub").read_text().split()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:* {host_pub[0]} {host_pub[1]}\n")
    main = cluster.ssh_port
    # Each hop may only forward to the next one, so skipping a hop cannot work.
    with cluster.extra_sshd(tmp_path / "hop2", ("LogLevel VERBOSE", f"PermitOpen 127.0.0.1:{main}")) as hop2:
        with cluster.extra_sshd(tmp_path / "hop1", ("LogLevel VERBOSE", f"PermitOpen 127.0.0.1:{hop2}")) as hop1:
            profile = Profile(**{**cluster.profile.__dict__, "known_hosts": str(known_hosts),
                                 "proxy_jump": f"{cluster.user}@127.0.0.1:{hop1},{cluster.user}@127.0.0.1:{hop2}"})
            conn = SshConnection(profile, None)
            try:
                conn.connect()
                code, out, _ = conn.run(["sh", "-c", "echo $SSH_CONNECTION"])
            finally:
                conn.close()
            assert code == 0
            # The last hop opened the connection to the login node: its port is the server port seen.
            assert out.split()[2:] == [b"127.0.0.1", str(main).encode()]
            for folder in ("hop1", "hop2"):
                log = (tmp_path / folder / "sshd.log").read_text()
                assert f"Accepted publickey for {USER}" in log, folder


def test_jump_profiles_chain_in_order():
    from remote.ssh import _jump_profile

    first = _jump_profile(Profile(name="x", host="h"), "a@one:2201,b@two:2202,three")
    assert (first.user, first.host, first.port, first.proxy_jump) == ("", "three", None, "a@one:2201,b@two:2202")
    second = _jump_profile(first, first.proxy_jump)
    assert (second.user, second.host, second.port, second.proxy_jump) == ("b", "two", 2202, "a@one:2201")
    third = _jump_profile(second, second.proxy_jump)
    assert (third.user, third.host, third.port, third.proxy_jump) == ("a", "one", 2201, "none")



@pytest.mark.cluster
def test_keyboard_interactive_against_openssh_asks_through_the_prompt(cluster_ssh, tmp_path):
    """Key, then a one-time code asked by PAM: ``AuthenticationMethods publickey,keyboard-interactive``."""
    require(os.path.isdir("/etc/pam.d") and os.path.exists("/usr/lib/x86_64-linux-gnu/security/pam_exec.so")
            or os.path.exists("/lib/x86_64-linux-gnu/security/pam_exec.so"), "PAM with pam_exec (libpam-modules)")
    cluster = cluster_ssh
    service = cluster.install_code_check("492817")
    config = ("UsePAM yes", "KbdInteractiveAuthentication yes", "AuthenticationMethods publickey,keyboard-interactive")
    host_pub = cluster.host_key.with_suffix(".pub").read_text().split()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:* {host_pub[0]} {host_pub[1]}\n")
    with cluster.extra_sshd(tmp_path / "kbd", config, program=service) as port:
        profile = replace(cluster.profile, port=port, known_hosts=str(known_hosts))
        asked = []

        def prompt(text, secret):
            asked.append((text, secret))
            return "492817"

        conn = SshConnection(profile, prompt)
        try:
            conn.connect()
            assert conn.run(["whoami"])[1].strip() == USER.encode()
        finally:
            conn.close()
        assert [secret for _, secret in asked] == [True] and "Password" in asked[0][0]
        with pytest.raises(AuthenticationError, match="refused every login method"):
            SshConnection(profile, lambda text, secret: "000000").connect()
        with pytest.raises(AuthenticationError):
            SshConnection(profile, None).connect()  # the key alone is not enough here
