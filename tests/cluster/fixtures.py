"""pytest fixtures for the real test cluster (made visible everywhere by tests/conftest.py)."""

from __future__ import annotations

import contextlib
import fcntl

import pytest

from tests.cluster.cluster import ClusterError, TestCluster


@pytest.fixture(scope="session")
def test_cluster():
    """The running test cluster (sshd + munge + slurmctld + slurmd), started once per session.

    Reuses one that is already up (e.g. from ``python -m tests.cluster start``). Torn down at
    the end by whichever test session is the last one using it, unless it was started by hand.
    Under CI=true a failure to start fails the test; locally it skips.
    """
    from tests.conftest import require

    cluster = TestCluster()
    users = None
    try:
        cluster.root.mkdir(parents=True, exist_ok=True)
        users = open(cluster.root / "users.lock", "w")
        # Every session using the cluster holds a shared lock; the last one out stops it.
        fcntl.flock(users, fcntl.LOCK_SH)
        cluster.start(log=lambda message: None)
    except (ClusterError, OSError) as exc:
        if users is not None:
            users.close()
        require(False, f"the test cluster cannot start: {exc}")
    try:
        yield cluster
    finally:
        fcntl.flock(users, fcntl.LOCK_UN)
        with contextlib.suppress(OSError):
            fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if not cluster.persistent_marker.exists():
                cluster.stop()
        users.close()
