"""known_hosts read as OpenSSH reads it.

A line is ``[@marker] patterns keytype base64 [comment]``. Comments, blank lines,
``@cert-authority`` lines (certificates are not used here) and lines that cannot be parsed
are skipped, never fatal: a bad line is reported once per file and line. Every line that
names the host counts, not only the first one, so a stale key above the right one does not
hide it. Host patterns are matched like OpenSSH's ``match_hostname``: comma-separated, ``*``
and ``?`` wildcards, ``!`` negation (a negated match rules the line out), ``[host]:port`` for
ports other than 22, and hashed names (``|1|salt|hash``, HMAC-SHA1). A key on a ``@revoked``
line that names the host is refused even when another line lists it as good.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import hmac
import logging
import threading
from dataclasses import dataclass

log = logging.getLogger("remote.known_hosts")

#: (path, line number) pairs already reported as unreadable, so each is said once.
_reported: set[tuple[str, int]] = set()
_reported_lock = threading.Lock()

# Verdicts of :func:`check_key`.
KNOWN = "known"
CHANGED = "changed"
UNKNOWN = "unknown"
REVOKED = "revoked"


@dataclass(frozen=True)
class HostKeyLine:
    """One usable known_hosts line.

    ``marker`` is ``""`` or ``"revoked"``; ``key_type`` e.g. ``"ssh-ed25519"``; ``key_blob``
    the decoded public key; ``line_no`` counts from 1.
    """

    marker: str
    patterns: str
    key_type: str
    key_blob: bytes
    line_no: int


def _report(path: str, line_no: int, why: str, warnings: list[str] | None) -> None:
    message = f"{path}, line {line_no}: {why}; line skipped"
    if warnings is not None:
        warnings.append(message)
    with _reported_lock:
        if (path, line_no) in _reported:
            return
        _reported.add((path, line_no))
    log.warning("warning: %s", message)


def parse_known_hosts(text: str, path: str = "known_hosts", warnings: list[str] | None = None) -> list[HostKeyLine]:
    """The usable lines of a known_hosts file.

    Returns plain and ``@revoked`` lines; comments, ``@cert-authority`` lines and broken lines
    are skipped (broken ones reported once through the ``remote.known_hosts`` logger and
    appended to ``warnings``).
    """
    out: list[HostKeyLine] = []
    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        marker = ""
        if parts[0].startswith("@"):
            marker = parts[0][1:]
            parts = parts[1:]
            if marker == "cert-authority":
                continue  # a CA for host certificates: not a host key
            if marker != "revoked":
                _report(path, line_no, f"unknown marker @{marker}", warnings)
                continue
        if len(parts) < 3:
            _report(path, line_no, "expected host patterns, a key type and a key", warnings)
            continue
        patterns, key_type, b64 = parts[0], parts[1], parts[2]
        try:
            blob = base64.b64decode(b64.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            _report(path, line_no, "the key is not valid base64", warnings)
            continue
        if not _blob_names_type(blob, key_type):
            _report(path, line_no, f"the key does not match its type {key_type}", warnings)
            continue
        out.append(HostKeyLine(marker, patterns, key_type, blob, line_no))
    return out


def _blob_names_type(blob: bytes, key_type: str) -> bool:
    """An SSH public key blob starts with its own type name (as a length-prefixed string)."""
    if len(blob) < 4:
        return False
    n = int.from_bytes(blob[:4], "big")
    return blob[4:4 + n] == key_type.encode("ascii", "replace")


def read_known_hosts(path: str, warnings: list[str] | None = None) -> list[HostKeyLine]:
    """:func:`parse_known_hosts` of the file at ``path`` (a missing file has no lines).

    Raises
    ------
    OSError
        The file exists but cannot be read.
    """
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    return parse_known_hosts(text, path, warnings)


def _hashed_matches(pattern: str, name: str) -> bool:
    # |1|base64(salt)|base64(HMAC-SHA1(salt, name))
    parts = pattern.split("|")
    if len(parts) != 4 or parts[1] != "1":
        return False
    try:
        salt = base64.b64decode(parts[2], validate=True)
        digest = base64.b64decode(parts[3], validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(hmac.new(salt, name.encode("utf-8"), hashlib.sha1).digest(), digest)


def host_matches(patterns: str, name: str) -> bool:
    """Whether the host field ``patterns`` of a known_hosts line names ``name``.

    ``name`` is ``host`` or ``[host]:port``. Matching is case-insensitive for plain names;
    a negated pattern that matches rules the whole line out.
    """
    if patterns.startswith("|"):
        return _hashed_matches(patterns, name)
    lowered = name.lower()
    found = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        if negated:
            pattern = pattern[1:]
        if not pattern:
            continue
        # fnmatch would also treat "[...]" as a character class; known_hosts uses only * and ?.
        escaped = "".join("[[]" if ch == "[" else ("[]]" if ch == "]" else ch) for ch in pattern.lower())
        if fnmatch.fnmatchcase(lowered, escaped):
            if negated:
                return False
            found = True
    return found


def lines_for_host(lines: list[HostKeyLine], name: str) -> list[HostKeyLine]:
    """The lines (plain and revoked) whose host patterns name ``name``."""
    return [ln for ln in lines if host_matches(ln.patterns, name)]


def known_key_types(lines: list[HostKeyLine], name: str) -> list[str]:
    """Key types on file for ``name`` (not revoked), in file order without repeats."""
    return list(dict.fromkeys(ln.key_type for ln in lines_for_host(lines, name) if not ln.marker))


def check_key(lines: list[HostKeyLine], name: str, key_type: str, key_blob: bytes) -> str:
    """OpenSSH's verdict on a server key: :data:`KNOWN`, :data:`CHANGED`, :data:`UNKNOWN` or :data:`REVOKED`.

    Revoked wins; then any line with exactly this key; then a line with another key of the
    same type means the key changed; else the key (type) is unknown for this host.
    """
    matching = lines_for_host(lines, name)
    if any(ln.marker == "revoked" and ln.key_blob == key_blob for ln in matching):
        return REVOKED
    plain = [ln for ln in matching if not ln.marker]
    if any(ln.key_blob == key_blob for ln in plain):
        return KNOWN
    if any(ln.key_type == key_type for ln in plain):
        return CHANGED
    return UNKNOWN


__all__ = ["CHANGED", "HostKeyLine", "KNOWN", "REVOKED", "UNKNOWN", "check_key", "host_matches", "known_key_types",
           "lines_for_host", "parse_known_hosts", "read_known_hosts"]
