"""Password and keyboard-interactive (one-time code) logins go through the prompt callback.

A small paramiko SSH server runs in a thread on a loopback port; OpenSSH's sshd in the test
cluster cannot offer keyboard-interactive without PAM.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading

import paramiko
import pytest

from remote.config import Profile
from remote.ssh import AuthenticationError, SshConnection, trust_host_key
from tests.conftest import require


class _Server(paramiko.ServerInterface):
    def __init__(self, mode: str):
        self.mode = mode

    def get_allowed_auths(self, username):
        return "keyboard-interactive" if self.mode == "kbd" else "password"

    def check_auth_password(self, username, password):
        ok = self.mode == "password" and username == "ada" and password == "s3cret"
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_auth_interactive(self, username, submethods):
        query = paramiko.InteractiveQuery("Login", "two factors")
        query.add_prompt("Password: ", False)
        query.add_prompt("One-time code: ", True)
        return query

    def check_auth_interactive_response(self, responses):
        ok = list(responses) == ["s3cret", "123456"]
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED


@pytest.fixture
def server(tmp_path):
    require(shutil.which("ssh-keygen") is not None, "ssh-keygen (openssh-client) is needed")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "hk")], check=True)
    host_key = paramiko.PKey.from_path(str(tmp_path / "hk"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    transports = []

    def serve(mode_box):
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            t = paramiko.Transport(conn)
            t.add_server_key(host_key)
            t.start_server(server=_Server(mode_box[0]))
            transports.append(t)

    mode_box = ["kbd"]
    thread = threading.Thread(target=serve, args=(mode_box,), daemon=True)
    thread.start()
    profile = Profile(name="p", host="127.0.0.1", port=port, user="ada", key_file=str(tmp_path / "nokey"),
                      known_hosts=str(tmp_path / "known_hosts"), ssh_config="/dev/null", connect_timeout_s=5)
    trust_host_key(profile, host_key)
    yield profile, mode_box
    try:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (closing alone does not on Linux)
    except OSError:
        pass
    listener.close()
    thread.join(5)
    assert not thread.is_alive()
    for t in transports:
        t.close()


def test_keyboard_interactive_asks_through_the_prompt(server, monkeypatch):
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    profile, _ = server
    asked = []

    def prompt(text, secret):
        asked.append((text, secret))
        return "s3cret" if "Password" in text else "123456"

    conn = SshConnection(profile, prompt)
    conn.connect()
    try:
        assert conn.state.status == "connected"
        # the server asks the password without echo (secret) and the code with echo
        assert [s for _, s in asked] == [True, False]
        assert asked[0][0] == "Login two factors\nPassword:" and asked[1][0].endswith("One-time code:")
    finally:
        conn.close()


def test_password_login_and_refusal(server, monkeypatch):
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    profile, mode = server
    mode[0] = "password"
    conn = SshConnection(profile, lambda text, secret: "s3cret")
    conn.connect()
    assert conn.state.status == "connected"
    conn.close()
    bad = SshConnection(profile, lambda text, secret: "wrong")
    with pytest.raises(AuthenticationError, match="refused every login method"):
        bad.connect()
    assert bad.state.status == "disconnected" and "refused" in bad.state.last_error
    nobody = SshConnection(profile, None)  # no way to ask: refused, never hangs
    with pytest.raises(AuthenticationError):
        nobody.connect()
