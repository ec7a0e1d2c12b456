"""Hand messages from another thread to the GUI thread, once per pass of the event loop."""

from __future__ import annotations

import collections
import socket
import threading
from typing import Callable

from PySide6 import QtCore


class MessagePump(QtCore.QObject):
    """Messages posted from any thread, handled together on the GUI thread.

    A queued signal per message posts an event, and Qt goes on dispatching events posted
    while it dispatches: frames that arrive while the last one is being painted are then
    handled back to back, and timers and input wait meanwhile (the window stalls). Here
    :meth:`post` queues the message and wakes a socket notifier; the notifier fires at
    most once per pass of the event loop, next to timers and input, and hands everything
    queued so far to ``handle`` as one list, in order.

    Parameters
    ----------
    handle : callable
        ``handle(messages)`` on the GUI thread.
    """

    def __init__(self, handle: Callable[[list], None], parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self._handle = handle
        self._queue: collections.deque = collections.deque()
        self._lock = threading.Lock()
        self._armed = False
        self._closed = False
        self._recv, self._send = socket.socketpair()
        for s in (self._recv, self._send):
            s.setblocking(False)
        self._notifier = QtCore.QSocketNotifier(self._recv.fileno(), QtCore.QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)

    def post(self, message) -> None:
        """Queue ``message`` (any thread)."""
        self._queue.append(message)
        with self._lock:
            if self._armed or self._closed:
                return
            self._armed = True
            try:
                self._send.send(b"\0")
            except OSError:
                pass  # closed meanwhile, or a wake-up already waiting

    def _drain(self, *_) -> None:
        with self._lock:
            self._armed = False
            try:
                while self._recv.recv(4096):
                    pass
            except OSError:
                pass  # nothing more to read
        messages = []
        while self._queue:
            messages.append(self._queue.popleft())
        if messages:
            self._handle(messages)

    def close(self) -> None:
        """Stop waking; messages posted later are dropped."""
        with self._lock:
            self._closed = True
        self._notifier.setEnabled(False)
        self._recv.close()
        self._send.close()
