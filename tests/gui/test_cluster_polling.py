"""A poll still running when the window closes ends quietly, not in an error box."""

from __future__ import annotations

import pytest

from gui.cluster.polling import ProfilePoller
from remote.backend import open_backend
from remote.config import get_profile
from remote.store import JobStore


def test_a_poll_that_outlives_its_stopped_poller_returns_nothing(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    backend = open_backend(get_profile("local"))
    poller = ProfilePoller(backend, store)
    poller.start()
    events, queue, _at, error, lost = poller.poll_once(True)  # a working poll
    assert queue == [] and error == "" and lost == ""
    # The window closes: the poller is stopped, then the store closed under a poll still running.
    poller.stop()
    store.close()
    assert poller.poll_once(True)[:2] == ([], None)
    assert poller.poll_once(True)[3:] == ("", "")


def test_a_closed_store_under_a_running_poller_is_still_a_bug(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    poller = ProfilePoller(open_backend(get_profile("local")), store)
    poller.start()
    store.close()
    with pytest.raises(Exception, match="closed database"):
        poller.poll_once(True)
    poller.stop()
