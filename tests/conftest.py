"""Shared test settings.

Under ``CI=true`` nothing may be skipped silently: a test that needs a service or tool
calls :func:`require`, which skips on a developer's machine but fails in CI.
"""

from __future__ import annotations

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, why: str) -> None:
    """Skip (locally) or fail (under CI=true) when ``condition`` is false."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI=true: {why}", pytrace=False)
    pytest.skip(why)
from tests.cluster.fixtures import *  # noqa: E402,F401,F403  (the test_cluster fixture)
