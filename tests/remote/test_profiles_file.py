"""The profile file survives any profile name, and a file that cannot be read is never overwritten."""

from __future__ import annotations

import os

import pytest

from remote.config import (
    ConfigError, Profile, backup_unreadable_profiles, dump_profiles, load_profiles, save_profiles,
)

AWKWARD = ["hpc.uni", "my cluster", 'say "hi"', "it's", "a#b", "Zürich GPU ☃", "x=1", "[profiles.y]", "back\\slash"]


def test_awkward_names_round_trip(tmp_path):
    path = tmp_path / "profiles.toml"
    profiles = {name: Profile(name=name, host=f"h{i}.example.org", port=2200 + i, setup=(f"echo '{name}'",))
                for i, name in enumerate(AWKWARD)}
    save_profiles(profiles, path)
    again = load_profiles(path)
    assert {k: v for k, v in again.items() if k != "local"} == profiles
    # Saving what was read writes the same file again: nothing drifts.
    assert dump_profiles(again) == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["", " lead", "trail ", "two\nlines", "tab\there", "x" * 65])
def test_names_that_cannot_be_profile_names(tmp_path, name):
    with pytest.raises(ConfigError, match="profile name"):
        save_profiles({name: Profile(name=name, host="h")}, tmp_path / "profiles.toml")
    assert not (tmp_path / "profiles.toml").exists()


@pytest.mark.parametrize("broken", [
    b'[profiles.hpc]\nhost = "login"\nport = "22"\n',     # a bad value
    b'[profiles.hpc\nhost = "login"\n',                   # not TOML
    b'[profiles.hpc]\nhost = "caf\xe9"\n',                # not UTF-8
])
def test_a_file_that_cannot_be_read_is_kept_as_a_backup(tmp_path, broken):
    path = tmp_path / "profiles.toml"
    path.write_bytes(broken)
    with pytest.raises(ConfigError):
        load_profiles(path)
    new = {"teaching": Profile(name="teaching", host="t.example.org")}
    save_profiles(new, path)
    backups = [p for p in os.listdir(tmp_path) if p.startswith("profiles.toml.bak-")]
    assert len(backups) == 1
    assert (tmp_path / backups[0]).read_bytes() == broken
    assert load_profiles(path)["teaching"] == new["teaching"]
    # A readable file is simply replaced, with no more backups.
    save_profiles(new, path)
    assert backup_unreadable_profiles(path) == ""
    assert len([p for p in os.listdir(tmp_path) if p.startswith("profiles.toml.bak-")]) == 1
