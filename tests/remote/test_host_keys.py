"""Host keys: fingerprints as OpenSSH prints them, trust writes known_hosts, unknown/changed refused."""

from __future__ import annotations

import shutil
import subprocess

import paramiko
import pytest

from remote.config import Profile
from remote.ssh import (
    HostKeyChangedError, HostKeyUnknownError, RefuseUnknownHostKey, check_host_key, fingerprint_sha256,
    trust_host_key,
)
from tests.conftest import require


def _keypair(tmp_path, name="k"):
    require(shutil.which("ssh-keygen") is not None, "ssh-keygen (openssh-client) is needed")
    path = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path, paramiko.PKey.from_path(str(path))


def test_fingerprint_matches_ssh_keygen(tmp_path):
    path, key = _keypair(tmp_path)
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", f"{path}.pub"], capture_output=True, text=True,
                         check=True).stdout
    assert out.split()[1] == fingerprint_sha256(key)


@pytest.mark.parametrize("port,hashed", [(22, False), (2222, False), (2222, True)])
def test_trust_then_check(tmp_path, port, hashed):
    _, key = _keypair(tmp_path)
    kh = tmp_path / "ssh" / "known_hosts"
    profile = Profile(name="p", host="10.1.2.3", port=port, known_hosts=str(kh), ssh_config="/dev/null")
    with pytest.raises(HostKeyUnknownError) as info:
        check_host_key("10.1.2.3", port, key, str(kh), "p")
    exc = info.value
    assert exc.fingerprint_sha256 == fingerprint_sha256(key) and exc.key_type == "ssh-ed25519"
    assert "unknown" in str(exc) and fingerprint_sha256(key) in str(exc)
    assert "python -m remote trust --profile p" in str(exc)
    line = trust_host_key(profile, key, hashed=hashed)
    text = kh.read_text()
    assert text == line
    if hashed:
        assert text.startswith("|1|") and "10.1.2.3" not in text
    else:
        assert text.startswith("10.1.2.3 " if port == 22 else f"[10.1.2.3]:{port} ")
    check_host_key("10.1.2.3", port, key, str(kh))  # now accepted
    assert trust_host_key(profile, key) == ""  # already there: nothing appended
    # OpenSSH itself finds the entry
    found = subprocess.run(["ssh-keygen", "-F", "10.1.2.3" if port == 22 else f"[10.1.2.3]:{port}", "-f", str(kh)],
                           capture_output=True, text=True)
    assert found.returncode == 0


def test_changed_key_is_refused_and_never_overwritten(tmp_path):
    _, old = _keypair(tmp_path, "old")
    _, new = _keypair(tmp_path, "new")
    kh = tmp_path / "known_hosts"
    profile = Profile(name="p", host="h.example", port=2200, known_hosts=str(kh), ssh_config="/dev/null")
    trust_host_key(profile, old)
    before = kh.read_text()
    with pytest.raises(HostKeyChangedError) as info:
        check_host_key("h.example", 2200, new, str(kh))
    assert "has CHANGED" in str(info.value) and "refusing" in str(info.value)
    with pytest.raises(HostKeyChangedError):
        trust_host_key(profile, new)
    assert kh.read_text() == before


def test_policy_never_adds(tmp_path):
    _, key = _keypair(tmp_path)
    with pytest.raises(HostKeyUnknownError):
        RefuseUnknownHostKey(port=2222).missing_host_key(None, "[h]:2222", key)
