"""Many signals must not crash the process (PySide6 6.12.0 on Python 3.11 aborted after a few hundred)."""

from __future__ import annotations

from PySide6 import QtCore

from gui import workers


class _Emitter(QtCore.QObject):
    value_emitted = QtCore.Signal(object)
    flag_emitted = QtCore.Signal(bool)
    nothing_emitted = QtCore.Signal()


def test_thousands_of_direct_emits(qtbot):
    e = _Emitter()
    got = {"value": 0, "flag": 0, "nothing": 0}
    e.value_emitted.connect(lambda v: got.__setitem__("value", got["value"] + 1))
    e.flag_emitted.connect(lambda f: got.__setitem__("flag", got["flag"] + 1))
    e.nothing_emitted.connect(lambda: got.__setitem__("nothing", got["nothing"] + 1))
    n = 20_000
    for i in range(n):
        e.value_emitted.emit(None if i % 2 else {"i": i})
        e.flag_emitted.emit(i % 3 == 0)
        e.nothing_emitted.emit()
    assert got == {"value": n, "flag": n, "nothing": n}


def test_thousands_of_queued_yields_from_a_worker(qtbot):
    n = 10_000
    received = []

    def produce():
        for i in range(n):
            yield None if i % 2 else i

    done = []
    worker = workers.start_generator(produce, on_yielded=received.append, on_finished=lambda: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=30_000)
    qtbot.waitUntil(lambda: len(received) == n, timeout=10_000)
    assert received[0] == 0 and received[2] == 2 and received[1] is None
    assert worker.abort_requested is False
    assert workers.wait_for_workers(5000)


def test_a_leaked_worker_is_detected_and_stopped(qapp):
    import time

    from tests.gui.conftest import stop_leaked_workers

    def forever():
        while True:
            time.sleep(0.005)
            yield None

    workers.start_generator(forever)
    assert workers.active_worker_count() == 1
    assert stop_leaked_workers(qapp, grace_ms=100) == 1
    assert workers.active_worker_count() == 0
