"""Shared test settings.

Under ``CI=true`` nothing may be skipped silently: a test that needs a service or tool
calls :func:`require`, which skips on a developer's machine but fails in CI.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The app's profile file, job store, fetched results and local job folders go to a scratch
# folder: a test never reads or changes the user's own (nor connects to their clusters).
# Test modules import this file again as ``tests.conftest``; the marker keeps one folder.
_OWN_SCRATCH = None
if "SCALELAB_TEST_SCRATCH" not in os.environ:
    _OWN_SCRATCH = os.environ["SCALELAB_TEST_SCRATCH"] = tempfile.mkdtemp(prefix="scalelab-tests-")
    os.environ["SCALELAB_DATA_DIR"] = os.path.join(os.environ["SCALELAB_TEST_SCRATCH"], "data")
    os.environ["SCALELAB_CONFIG"] = os.path.join(os.environ["SCALELAB_TEST_SCRATCH"], "profiles.toml")
    with open(os.environ["SCALELAB_CONFIG"], "w", encoding="utf-8") as _fh:
        _fh.write("# no profiles: tests add their own\n")


def pytest_unconfigure(config):
    if _OWN_SCRATCH:
        shutil.rmtree(_OWN_SCRATCH, ignore_errors=True)


def require(condition: bool, why: str) -> None:
    """Skip (locally) or fail (under CI=true) when ``condition`` is false."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI=true: {why}", pytrace=False)
    pytest.skip(why)
from tests.cluster.fixtures import *  # noqa: E402,F401,F403  (the test_cluster fixture)
