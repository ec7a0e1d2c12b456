"""Connection profiles: where jobs go and how to log in there.

Profiles live in one TOML file, found in this order: the ``--config FILE`` argument, the
``SCALELAB_CONFIG`` environment variable, then ``profiles.toml`` in the platform's config folder
(``platformdirs.user_config_dir("scalelab")``). Each ``[profiles.NAME]`` table is one
:class:`Profile`::

    [profiles.mycluster]
    host = "login.example.org"     # or a Host alias from ~/.ssh/config
    port = 22
    user = "train004"
    key_file = "~/.ssh/id_ed25519" # else ssh-agent and the default keys
    known_hosts = "~/.ssh/known_hosts"
    workdir = "~/scalelab"         # where job folders go on the cluster
    python = "python3"             # the cluster's interpreter
    setup = ["module load GCC ParaStationMPI SciPy-Stack mpi4py"]
    partition = "batch"
    account = ""
    reservation = ""
    launcher = "srun"              # or "mpirun"

A built-in profile named ``local`` always exists: it runs the same job bundle as a local
process, so the whole path works without a cluster.
"""

from __future__ import annotations

import math
import os
import re
import sys
import time
import tomllib
from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

import platformdirs

from engine.fileio import atomic_write

APP_NAME = "scalelab"
LOCAL_PROFILE = "local"
LAUNCHERS = ("srun", "mpirun")
KINDS = ("ssh", "local")
#: Longest profile name (any text without control characters; it is quoted in the file).
MAX_NAME_LEN = 64


class ConfigError(ValueError):
    """The profile file (or a value in it) is unusable.

    Parameters
    ----------
    path : str
        The file the problem is in ("" when it is not about a file).
    key : str
        Dotted key of the bad value, e.g. ``"profiles.hpc.port"`` ("" for the whole file).
    message : str
        What is wrong, in plain words.
    """

    def __init__(self, path: str, key: str, message: str):
        self.path = path
        self.key = key
        self.message = message
        where = ", ".join(p for p in (path, key) if p)
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class Profile:
    """One place jobs can run: an SSH login to a SLURM cluster, or this computer.

    ``kind`` is ``"ssh"`` or ``"local"``. ``host`` may be an alias from ``~/.ssh/config``;
    its HostName, User, Port, IdentityFile and ProxyJump are applied when connecting
    (values set here win over the ssh config). Paths that start with ``~`` are expanded on
    the side they belong to: ``key_file`` and ``known_hosts`` here, ``workdir`` on the cluster.
    """

    name: str
    kind: str = "ssh"
    host: str = ""
    port: int | None = None
    user: str = ""
    key_file: str = ""
    known_hosts: str = "~/.ssh/known_hosts"
    workdir: str = "~/scalelab"
    python: str = "python3"
    setup: tuple[str, ...] = ()
    partition: str = ""
    account: str = ""
    reservation: str = ""
    qos: str = ""
    launcher: str = "srun"
    mpi_plugin: str = "pmix"
    proxy_jump: str = ""
    ssh_config: str = "~/.ssh/config"
    hash_known_hosts: bool = False
    keepalive_s: int = 15
    connect_timeout_s: float = 15.0

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    def to_dict(self) -> dict[str, Any]:
        """The TOML table for this profile: only the values that differ from the defaults."""
        defaults = Profile(name=self.name)
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "name":
                continue
            value = getattr(self, f.name)
            if value != getattr(defaults, f.name) or f.name in ("host",):
                out[f.name] = list(value) if isinstance(value, tuple) else value
        if self.kind == "local":
            out.pop("host", None)
        return out


def parse_jump_host(spec: str) -> tuple[str, str, int | None]:
    """One ProxyJump hop ``[ssh://][user@]host[:port]`` (``[v6addr]:port`` too) as ``(user, host, port)``.

    Raises
    ------
    ValueError
        The hop has no host or a port that is not a number 1..65535.
    """
    hop = spec.strip()
    if hop.startswith("ssh://"):
        hop = hop[6:].rstrip("/")
    user = ""
    if "@" in hop:
        user, hop = hop.rsplit("@", 1)
    port_text = None
    if hop.startswith("["):
        host, _, rest = hop[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"cannot read the jump host {spec!r}")
            port_text = rest[1:]
    elif hop.count(":") == 1:
        host, port_text = hop.split(":")
    else:
        host = hop
    if not host:
        raise ValueError(f"the jump host {spec!r} names no host")
    port = None
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"the jump host {spec!r} has port {port_text!r}, expected a number 1..65535")
        port = int(port_text)
    return user, host, port


def parse_proxy_jump(value: str) -> list[tuple[str, str, int | None]]:
    """Every hop of a ProxyJump value ``hop1,hop2,...`` in the order they are used."""
    hops = [h for h in value.split(",")]
    if any(not h.strip() for h in hops):
        raise ValueError(f"the ProxyJump value {value!r} has an empty hop")
    return [parse_jump_host(h) for h in hops]


def data_dir() -> str:
    """ScaleLab's data folder: ``$SCALELAB_DATA_DIR`` when set, else the platform's data folder.

    The job store, fetched results and the ``local`` profile's job folders all live here.
    """
    return os.path.expanduser(os.environ.get("SCALELAB_DATA_DIR") or platformdirs.user_data_dir(APP_NAME))


def local_profile() -> Profile:
    """The built-in profile that runs job bundles on this computer (job folders in ``data_dir()/jobs``)."""
    workdir = os.path.join(data_dir(), "jobs")
    return Profile(
        name=LOCAL_PROFILE, kind="local", host="localhost", workdir=workdir,
        python=sys.executable or "python3", launcher="mpirun",
    )


def default_config_path() -> str:
    """``SCALELAB_CONFIG`` if set, else ``profiles.toml`` in the platform's config folder."""
    env = os.environ.get("SCALELAB_CONFIG")
    if env:
        return os.path.expanduser(env)
    return os.path.join(platformdirs.user_config_dir(APP_NAME), "profiles.toml")


_STR_KEYS = ("kind", "host", "user", "key_file", "known_hosts", "workdir", "python", "partition", "account",
             "reservation", "qos", "launcher", "mpi_plugin", "proxy_jump", "ssh_config")


def profile_from_dict(name: str, table: Mapping[str, Any], path: str = "") -> Profile:
    """Build and validate one profile from its TOML table.

    Raises
    ------
    ConfigError
        Naming the file and the key (``profiles.NAME.KEY``) of the bad value.
    """
    prefix = f"profiles.{name}"
    if not isinstance(name, str) or not name.strip() or name != name.strip() or len(name) > MAX_NAME_LEN or any(
            ord(c) < 0x20 or ord(c) == 0x7f for c in name):
        raise ConfigError(path, prefix, f"a profile name is 1..{MAX_NAME_LEN} characters, no line breaks or "
                                        "control characters, no spaces at either end")
    if not isinstance(table, Mapping):
        raise ConfigError(path, prefix, f"expected a table, got {table!r}")
    allowed = {f.name for f in fields(Profile)} - {"name"}
    for key in table:
        if key not in allowed:
            raise ConfigError(path, f"{prefix}.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
    values: dict[str, Any] = {}
    for key in _STR_KEYS:
        if key in table:
            v = table[key]
            if not isinstance(v, str):
                raise ConfigError(path, f"{prefix}.{key}", f"expected a string, got {v!r}")
            if "\n" in v or "\r" in v or "\0" in v:
                raise ConfigError(path, f"{prefix}.{key}", "must be one line")
            values[key] = v.strip()
    if name == LOCAL_PROFILE:
        values["kind"] = "local"  # the built-in profile is always local
    kind = values.get("kind", "ssh")
    if kind not in KINDS:
        raise ConfigError(path, f"{prefix}.kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    if kind == "ssh" and not values.get("host"):
        raise ConfigError(path, f"{prefix}.host", "an ssh profile needs a host (a name, an address or a ~/.ssh/config alias)")
    if values.get("launcher", "srun") not in LAUNCHERS:
        raise ConfigError(path, f"{prefix}.launcher", f"{values['launcher']!r} is not one of {', '.join(LAUNCHERS)}")
    for key in ("partition", "account", "reservation", "qos", "user"):
        v = values.get(key, "")
        if v and not re.match(r"^[A-Za-z0-9_.@+-]+$", v):
            raise ConfigError(path, f"{prefix}.{key}", f"{v!r} may only contain letters, digits and . _ @ + -")
    if values.get("proxy_jump") and values["proxy_jump"].lower() != "none":
        try:
            parse_proxy_jump(values["proxy_jump"])
        except ValueError as exc:
            raise ConfigError(path, f"{prefix}.proxy_jump", str(exc)) from None
    if "port" in table:
        port = table["port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ConfigError(path, f"{prefix}.port", f"expected a port number 1..65535, got {port!r}")
        values["port"] = port
    for key in ("keepalive_s",):
        if key in table:
            v = table[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ConfigError(path, f"{prefix}.{key}", f"expected a whole number >= 0, got {v!r}")
            values[key] = v
    if "connect_timeout_s" in table:
        v = table["connect_timeout_s"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ConfigError(path, f"{prefix}.connect_timeout_s", f"expected a positive number of seconds, got {v!r}")
        values["connect_timeout_s"] = float(v)
    if "hash_known_hosts" in table:
        v = table["hash_known_hosts"]
        if not isinstance(v, bool):
            raise ConfigError(path, f"{prefix}.hash_known_hosts", f"expected true or false, got {v!r}")
        values["hash_known_hosts"] = v
    if "setup" in table:
        setup = table["setup"]
        if isinstance(setup, str):
            setup = [setup]
        if not isinstance(setup, list) or not all(isinstance(s, str) for s in setup):
            raise ConfigError(path, f"{prefix}.setup", "expected a list of shell lines")
        for i, line in enumerate(setup):
            if "\n" in line or "\r" in line or "\0" in line:
                raise ConfigError(path, f"{prefix}.setup[{i}]", "each setup entry must be one line")
        values["setup"] = tuple(setup)
    return Profile(name=name, **values)


def load_profiles(config_path: str | os.PathLike | None = None) -> dict[str, Profile]:
    """Read the profile file; the result always has the built-in ``local`` profile.

    Parameters
    ----------
    config_path : path, optional
        The TOML file; ``None`` means :func:`default_config_path`. A missing default file
        is no error (only ``local`` is returned); a missing explicit file is.

    Raises
    ------
    ConfigError
        The file cannot be read, is not TOML, or holds a bad value (the message names the
        file and the key).
    """
    explicit = config_path is not None or bool(os.environ.get("SCALELAB_CONFIG"))
    path = os.path.expanduser(os.fspath(config_path)) if config_path is not None else default_config_path()
    profiles: dict[str, Profile] = {LOCAL_PROFILE: local_profile()}
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(path, "", "no such profile file") from None
        return profiles
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "", f"not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    for key in data:
        if key != "profiles":
            raise ConfigError(path, key, "unknown top-level key (expected only [profiles.NAME] tables)")
    tables = data.get("profiles", {})
    if not isinstance(tables, Mapping):
        raise ConfigError(path, "profiles", "expected [profiles.NAME] tables")
    for name, table in tables.items():
        profile = profile_from_dict(name, table, path)
        if name == LOCAL_PROFILE:
            # Settings for the built-in profile (python, setup, workdir) refine it.
            profile = replace(local_profile(), **{
                k: getattr(profile, k) for k in table if k not in ("kind", "host")
            })
        profiles[name] = profile
    return profiles


def dump_profiles(profiles: Mapping[str, Profile]) -> str:
    """The TOML text for ``profiles`` (the built-in ``local`` is written only if changed).

    Written with ``tomli_w``, so any profile name (dots, spaces, quotes, ``#``, non-ASCII)
    becomes a correctly quoted key that reads back as the same name.
    """
    import tomli_w

    builtin = local_profile()
    tables = {name: profile.to_dict() for name, profile in profiles.items()
              if not (name == LOCAL_PROFILE and profile == builtin)}
    return "# ScaleLab connection profiles (see docs/remote.md)\n\n" + tomli_w.dumps({"profiles": tables})


def backup_unreadable_profiles(config_path: str | os.PathLike | None = None) -> str:
    """Move a profile file that cannot be read aside, so saving never overwrites it.

    Returns the backup's path (``profiles.toml.bak-YYYYmmdd-HHMMSS``, made unique) or ``""``
    when the file is missing or reads fine.
    """
    path = os.path.expanduser(os.fspath(config_path)) if config_path is not None else default_config_path()
    if not os.path.exists(path):
        return ""
    try:
        load_profiles(path)
        return ""
    except ConfigError:
        pass
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = f"{path}.bak-{stamp}"
    n = 1
    while os.path.exists(backup):
        n += 1
        backup = f"{path}.bak-{stamp}-{n}"
    os.replace(path, backup)
    return backup


def save_profiles(profiles: Mapping[str, Profile], config_path: str | os.PathLike | None = None) -> str:
    """Write ``profiles`` to the profile file atomically and return its path.

    The file is written next to its final place and renamed over it, so a crash never
    leaves half a file; its mode is 0600 (it names hosts and users). A file there that
    cannot be read is first moved aside by :func:`backup_unreadable_profiles` (call it
    yourself first to learn the backup's name and tell the user).
    """
    path = os.path.expanduser(os.fspath(config_path)) if config_path is not None else default_config_path()
    for name, profile in profiles.items():
        # Round-trip each profile through the validator so nothing unreadable is written.
        profile_from_dict(name, profile.to_dict() | ({"kind": "local"} if profile.is_local else {}), path)
    text = dump_profiles(profiles)
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    backup_unreadable_profiles(path)
    atomic_write(path, text, mode=0o600, fsync=True)
    return path


def get_profile(name: str, config_path: str | os.PathLike | None = None) -> Profile:
    """One profile by name; :class:`ConfigError` listing the known names when missing."""
    profiles = load_profiles(config_path)
    if name not in profiles:
        raise ConfigError(
            "" if config_path is None and not os.environ.get("SCALELAB_CONFIG") else os.fspath(
                config_path or default_config_path()),
            f"profiles.{name}",
            f"no such profile (known: {', '.join(sorted(profiles))})",
        )
    return profiles[name]


__all__ = [
    "ConfigError", "Profile", "LOCAL_PROFILE", "LAUNCHERS", "backup_unreadable_profiles", "default_config_path",
    "dump_profiles",
    "parse_jump_host", "parse_proxy_jump",
    "get_profile", "load_profiles", "local_profile", "profile_from_dict", "save_profiles",
]
