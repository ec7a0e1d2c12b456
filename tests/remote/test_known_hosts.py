"""known_hosts is read as OpenSSH reads it: markers, bad lines, wildcards, hashes, every line.

Which lines name a host is compared with OpenSSH's own ``ssh-keygen -F``; the verdicts
(known, changed, unknown, revoked) with the real ``ssh`` client in test_ssh_robust.py.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess

import paramiko
import pytest

from remote import known_hosts as kh
from remote.ssh import (
    HostKeyChangedError, HostKeyRevokedError, HostKeyUnknownError, check_host_key, known_hosts_name,
)
from tests.conftest import require


def _key(tmp_path, name, kind="ed25519"):
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(tmp_path / name)], check=True)
    return paramiko.PKey.from_path(str(tmp_path / name))


@pytest.fixture
def keys(tmp_path):
    require(shutil.which("ssh-keygen") is not None, "ssh-keygen (openssh-client) is needed")
    return {"good": _key(tmp_path, "good"), "stale": _key(tmp_path, "stale"), "ecdsa": _key(tmp_path, "ec", "ecdsa")}


def _line(host, key, marker=""):
    return f"{marker + ' ' if marker else ''}{host} {key.get_name()} {key.get_base64()}"


def test_markers_comments_and_broken_lines_are_skipped(tmp_path, keys, caplog):
    good = keys["good"]
    path = tmp_path / "known_hosts"
    path.write_text("\n".join([
        "# a comment",
        _line("*.example.org", keys["stale"], "@cert-authority"),
        "login.example.org ssh-ed25519 AAAA!!!not-base64",
        "login.example.org ssh-ed25519",
        "login.example.org ssh-rsa " + good.get_base64(),  # the blob says ed25519, not rsa
        _line("login.example.org", good),
        "",
    ]))
    with caplog.at_level(logging.WARNING, logger="remote.known_hosts"):
        check_host_key("login.example.org", 22, good, str(path))
        check_host_key("login.example.org", 22, good, str(path))
    reported = [r.getMessage() for r in caplog.records]
    # Each bad line is reported once, naming the file and the line, however often it is read.
    assert len(reported) == 3
    assert all(str(path) in m for m in reported)
    assert {int(re.search(r"line (\d+)", m).group(1)) for m in reported} == {3, 4, 5}


def test_every_line_counts_and_a_stale_key_above_does_not_hide_the_right_one(tmp_path, keys):
    path = tmp_path / "known_hosts"
    path.write_text(_line("login.example.org", keys["stale"]) + "\n" + _line("login.example.org", keys["good"]) + "\n")
    check_host_key("login.example.org", 22, keys["good"], str(path))
    with pytest.raises(HostKeyChangedError):
        check_host_key("login.example.org", 22, _key(tmp_path, "other"), str(path))


def test_revoked_key_is_refused_even_when_listed_as_good(tmp_path, keys):
    path = tmp_path / "known_hosts"
    path.write_text(_line("login.example.org", keys["good"]) + "\n" + _line("*", keys["good"], "@revoked") + "\n")
    with pytest.raises(HostKeyRevokedError, match="@revoked"):
        check_host_key("login.example.org", 22, keys["good"], str(path))


def test_host_known_only_by_another_key_type_is_unknown_not_changed(tmp_path, keys):
    # OpenSSH: "keys of a different type are already known for this host" and asks.
    path = tmp_path / "known_hosts"
    path.write_text(_line("login.example.org", keys["ecdsa"]) + "\n")
    with pytest.raises(HostKeyUnknownError, match=r"keys of other types \(ecdsa-sha2-nistp256\) are already known"):
        check_host_key("login.example.org", 22, keys["good"], str(path))
    assert kh.known_key_types(kh.read_known_hosts(str(path)), "login.example.org") == ["ecdsa-sha2-nistp256"]


HOSTS = ["login.example.org", "bad.example.org", "host", "hoost", "h.st", "[127.0.0.1]:2222", "127.0.0.1",
         "[10.0.0.5]:22", "node7.cluster", "NODE7.cluster"]


def test_which_lines_name_a_host_agrees_with_ssh_keygen(tmp_path, keys):
    good = keys["good"]
    plain = [
        _line("*.example.org", good),
        _line("!bad.example.org,*.example.org", good),
        _line("h?st", good),
        _line("[127.0.0.1]:*", good),
        _line("127.0.0.1,node?.cluster", good),
        _line("!*.cluster,*", keys["stale"]),
        _line("*", good, "@revoked"),
        _line("node7.cluster", keys["stale"]),
    ]
    path = tmp_path / "known_hosts"
    path.write_text("\n".join(plain) + "\n")
    hashed = tmp_path / "hashed"
    hashed.write_text(path.read_text())
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(hashed)], check=True, capture_output=True)
    assert "|1|" in hashed.read_text()  # exact names are hashed, wildcard lines stay as they are
    for file in (path, hashed):
        lines = kh.read_known_hosts(str(file))
        for host in HOSTS:
            out = subprocess.run(["ssh-keygen", "-F", host, "-f", str(file)], capture_output=True, text=True).stdout
            theirs = sorted(int(n) for n in re.findall(r"found: line (\d+)", out))
            ours = sorted(ln.line_no for ln in kh.lines_for_host(lines, host))
            assert ours == theirs, (file.name, host, out)


def test_hashed_exact_names_match(tmp_path, keys):
    path = tmp_path / "known_hosts"
    name = known_hosts_name("127.0.0.1", 22822)
    path.write_text(f"{paramiko.HostKeys.hash_host(name)} {keys['good'].get_name()} {keys['good'].get_base64()}\n")
    check_host_key("127.0.0.1", 22822, keys["good"], str(path))
    with pytest.raises(HostKeyUnknownError):
        check_host_key("127.0.0.1", 22, keys["good"], str(path))
