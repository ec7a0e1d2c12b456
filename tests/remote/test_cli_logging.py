"""``python -m remote --verbose``: connection and command events on stderr; quiet without it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run_remote(tmp_path, *args):
    env = {**os.environ, "SCALELAB_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "remote", *args], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120)


@pytest.mark.parametrize("before", [True, False])
def test_verbose_logs_the_commands_run(tmp_path, before):
    args = ["doctor", "--profile", "local"]
    proc = run_remote(tmp_path, *(["--verbose", *args] if before else [*args, "--verbose"]))
    debug = [line for line in proc.stderr.splitlines() if " DEBUG remote.backend: local: run " in line]
    assert debug, proc.stderr
    assert all(len(line.split(": run ", 1)[1]) <= 240 for line in debug)  # long inline scripts are cut


def test_without_verbose_nothing_is_logged(tmp_path):
    proc = run_remote(tmp_path, "doctor", "--profile", "local")
    assert "DEBUG" not in proc.stderr and "INFO" not in proc.stderr


def test_paramiko_info_records_only_with_verbose():
    # A quiet CLI lets none of paramiko's records through: neither "Connected ..." nor its
    # banner-error tracebacks (they would land beside the one-line error output); --verbose
    # shows them, but not its packet-level debug records.
    import logging

    from engine.logsetup import setup_cli_logging

    root = logging.getLogger()
    saved = root.level, list(root.handlers), logging.getLogger("paramiko").level
    try:
        paramiko_log = logging.getLogger("paramiko.transport")
        setup_cli_logging(False)
        assert not paramiko_log.isEnabledFor(logging.INFO)
        assert not paramiko_log.isEnabledFor(logging.CRITICAL)
        setup_cli_logging(True)
        assert paramiko_log.isEnabledFor(logging.INFO)
        assert not paramiko_log.isEnabledFor(logging.DEBUG)
        assert logging.getLogger("remote.backend").isEnabledFor(logging.DEBUG)
    finally:
        for handler in list(root.handlers):
            if handler not in saved[1]:
                root.removeHandler(handler)
        root.setLevel(saved[0])
        logging.getLogger("paramiko").setLevel(saved[2])
