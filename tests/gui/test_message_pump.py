"""Messages from another thread reach the GUI thread in order, in batches, between timers."""

from __future__ import annotations

import threading
import time

from PySide6 import QtCore

from gui.playground.message_pump import MessagePump


def test_messages_from_a_thread_arrive_in_order_on_the_gui_thread(qtbot):
    got, threads = [], []

    def handle(messages):
        threads.append(threading.current_thread())
        got.append(list(messages))

    pump = MessagePump(handle)
    sender = threading.Thread(target=lambda: [pump.post(i) for i in range(500)])
    sender.start()
    sender.join()
    qtbot.waitUntil(lambda: sum(len(b) for b in got) == 500, timeout=5000)
    assert [m for batch in got for m in batch] == list(range(500))
    assert set(threads) == {threading.main_thread()}
    # posted faster than the GUI looks: far fewer batches than messages
    assert len(got) < 50
    pump.close()
    pump.post("late")  # dropped, no error
    QtCore.QCoreApplication.processEvents()
    assert [m for batch in got for m in batch][-1] == 499


def test_a_timer_runs_between_two_batches(qtbot):
    """A stream of messages whose handling is slow still lets a timer run every batch or two
    (a queued signal per message would handle them back to back for as long as they come)."""
    order = []

    def handle(messages):
        order.append(("batch", len(messages)))
        time.sleep(0.01)

    pump = MessagePump(handle)
    timer = QtCore.QTimer()
    timer.setInterval(1)
    timer.timeout.connect(lambda: order.append(("tick", 0)))
    timer.start()
    stop = threading.Event()

    def stream():
        while not stop.is_set():
            pump.post(1)
            time.sleep(0.002)

    sender = threading.Thread(target=stream)
    sender.start()
    try:
        qtbot.waitUntil(lambda: sum(1 for k, _ in order if k == "batch") >= 10, timeout=5000)
    finally:
        stop.set()
        sender.join()
        timer.stop()
    kinds = [k for k, _ in order]
    first = kinds.index("batch")
    kinds = kinds[first:]
    # the timer is never starved: no three batches in a row without a tick between them
    run = longest = 0
    for k in kinds:
        run = run + 1 if k == "batch" else 0
        longest = max(longest, run)
    assert longest <= 2, kinds
    pump.close()
