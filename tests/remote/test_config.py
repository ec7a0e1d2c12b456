"""Profiles: TOML loading, validation naming file and key, atomic save, ssh config aliases."""

from __future__ import annotations

import os
import stat

import pytest

from remote.config import (
    ConfigError, Profile, default_config_path, get_profile, load_profiles, local_profile, save_profiles,
)
from remote.ssh import resolve_target

GOOD = """
[profiles.hpc]
host = "login.example.org"
port = 2222
user = "train004"
key_file = "~/.ssh/id_ed25519"
workdir = "~/scalelab"
python = "python3"
setup = ["module load GCC ParaStationMPI SciPy-Stack mpi4py"]
partition = "batch"
account = "training"
reservation = ""
launcher = "srun"
"""


def test_load_profiles_reads_every_field_and_adds_local(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(GOOD)
    profiles = load_profiles(path)
    assert set(profiles) == {"hpc", "local"}
    hpc = profiles["hpc"]
    assert (hpc.host, hpc.port, hpc.user, hpc.partition, hpc.account) == ("login.example.org", 2222, "train004",
                                                                         "batch", "training")
    assert hpc.setup == ("module load GCC ParaStationMPI SciPy-Stack mpi4py",)
    assert profiles["local"].is_local and profiles["local"].launcher == "mpirun"


@pytest.mark.parametrize("text,key,words", [
    ('[profiles.a]\nhost = "h"\nport = "22"\n', "profiles.a.port", "port number"),
    ('[profiles.a]\nhost = "h"\nport = 70000\n', "profiles.a.port", "port number"),
    ('[profiles.a]\nport = 22\n', "profiles.a.host", "needs a host"),
    ('[profiles.a]\nhost = "h"\nlauncher = "qsub"\n', "profiles.a.launcher", "not one of"),
    ('[profiles.a]\nhost = "h"\ncolour = "red"\n', "profiles.a.colour", "unknown key"),
    ('[profiles.a]\nhost = "h"\npartition = "a;b"\n', "profiles.a.partition", "may only contain"),
    ('[profiles.a]\nhost = "h"\nsetup = [1, 2]\n', "profiles.a.setup", "list of shell lines"),
    ('[profiles.a]\nhost = "h"\nsetup = ["a\\nb"]\n', "profiles.a.setup[0]", "one line"),
    ('[profiles." bad name"]\nhost = "h"\n', "profiles. bad name", "profile name"),
    ('[other]\nx = 1\n', "other", "unknown top-level"),
])
def test_config_errors_name_file_and_key(tmp_path, text, key, words):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_profiles(path)
    assert info.value.key == key and info.value.path == str(path)
    assert words in str(info.value) and str(path) in str(info.value)


def test_not_toml_and_missing_file(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("[profiles.a\nhost=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_profiles(path)
    with pytest.raises(ConfigError, match="no such profile file"):
        load_profiles(tmp_path / "missing.toml")


def test_config_path_precedence(tmp_path, monkeypatch):
    env_file = tmp_path / "env.toml"
    env_file.write_text('[profiles.fromenv]\nhost = "e"\n')
    arg_file = tmp_path / "arg.toml"
    arg_file.write_text('[profiles.fromarg]\nhost = "a"\n')
    monkeypatch.setenv("SCALELAB_CONFIG", str(env_file))
    assert default_config_path() == str(env_file)
    assert "fromenv" in load_profiles()
    assert "fromarg" in load_profiles(arg_file) and "fromenv" not in load_profiles(arg_file)
    monkeypatch.delenv("SCALELAB_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_config_path().startswith(str(tmp_path / "xdg"))
    assert set(load_profiles()) == {"local"}  # a missing default file is no error
    with pytest.raises(ConfigError, match="known: local"):
        get_profile("nope")


def test_data_dir_holds_store_and_local_job_folders(tmp_path, monkeypatch):
    from remote.store import default_store_path

    monkeypatch.setenv("SCALELAB_DATA_DIR", str(tmp_path / "data"))
    # One scratch folder keeps everything of a session: the job store and the local jobs.
    assert default_store_path() == str(tmp_path / "data" / "jobs.sqlite")
    assert local_profile().workdir == str(tmp_path / "data" / "jobs")
    monkeypatch.delenv("SCALELAB_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert local_profile().workdir.startswith(str(tmp_path / "xdg"))


def test_save_profiles_round_trips_atomically(tmp_path):
    path = tmp_path / "sub" / "profiles.toml"
    hpc = Profile(name="hpc", host="login", port=2222, user="u", setup=('module load "x y"', "export A=1\\2"),
                  partition="batch", hash_known_hosts=True, connect_timeout_s=7.5)
    save_profiles({"hpc": hpc}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = load_profiles(path)
    assert again["hpc"] == hpc
    assert not [p for p in os.listdir(path.parent) if ".tmp" in p]
    with pytest.raises(ConfigError):
        save_profiles({"bad": Profile(name="bad", host="h", launcher="qsub")}, path)
    assert load_profiles(path)["hpc"] == hpc  # the old file is untouched


def test_ssh_config_alias_is_applied(tmp_path):
    cfg = tmp_path / "ssh_config"
    cfg.write_text("Host jr\n  HostName jureca.example.org\n  User train004\n  Port 2200\n"
                   "  IdentityFile ~/.ssh/jr_key\n  ProxyJump gate@bastion.example.org:2022\n")
    t = resolve_target(Profile(name="x", host="jr", ssh_config=str(cfg)))
    assert (t.host, t.port, t.user, t.proxy_jump) == ("jureca.example.org", 2200, "train004",
                                                       "gate@bastion.example.org:2022")
    assert t.key_files == (os.path.expanduser("~/.ssh/jr_key"),)
    # values in the profile win over the ssh config
    t2 = resolve_target(Profile(name="x", host="jr", user="me", port=22, ssh_config=str(cfg)))
    assert (t2.user, t2.port, t2.host) == ("me", 22, "jureca.example.org")


@pytest.mark.parametrize("value,host,port,user", [
    ("bastion", "bastion", None, ""), ("gate@bastion:2022", "bastion", 2022, "gate"),
    ("ssh://gate@bastion:2022", "bastion", 2022, "gate"), ("gate@[::1]:2200", "::1", 2200, "gate"),
    ("a@first:1,b@second:2", "second", 2, "b"),
])
def test_proxy_jump_values(value, host, port, user):
    from remote.ssh import _jump_profile

    jump = _jump_profile(Profile(name="x", host="h", known_hosts="/k"), value)
    assert (jump.host, jump.port, jump.user, jump.known_hosts) == (host, port, user, "/k")
    # The last hop is reached through the ones before it, as OpenSSH chains them.
    assert jump.proxy_jump == (value.rsplit(",", 1)[0] if "," in value else "none")
