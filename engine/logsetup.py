"""Logging for the command-line tools (``python -m engine``, ``python -m remote``).

Modules log through ``logging.getLogger(__name__)``; the tools decide where records go.
By default only warnings and errors reach stderr, one line each, so a normal run prints
what it printed before. ``--verbose`` turns on debug records (data loading, ranks,
connections, submits, polls) with a time stamp and the module's name.
"""

from __future__ import annotations

import logging
import sys

VERBOSE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_FORMAT = "%(levelname)s: %(message)s"


def setup_cli_logging(verbose: bool = False, stream=None) -> None:
    """Send log records to ``stream`` (default stderr): all of them with ``verbose``, else warnings and up.

    Parameters
    ----------
    verbose : bool
        Debug level and the detailed format.
    stream : file object, optional
        Where records go; default ``sys.stderr`` (looked up at each record, so a test's
        captured stderr gets them).

    Replaces a handler installed by an earlier call (the tools' ``main`` may run more than
    once in one process, as in tests).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StderrHandler):
            root.removeHandler(handler)
    handler = _StderrHandler(stream)
    handler.setFormatter(logging.Formatter(VERBOSE_FORMAT if verbose else QUIET_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    # paramiko's debug records are its packet-level chatter; its info records (connected,
    # authenticated) are the ones worth reading, and only with --verbose. Without it none of
    # its records are shown: its errors (a port that does not speak SSH, from its own
    # thread, with a traceback) reach the user as remote's own one-line message.
    logging.getLogger("paramiko").setLevel(logging.INFO if verbose else logging.CRITICAL + 1)


class _StderrHandler(logging.StreamHandler):
    """A stream handler that writes to the current ``sys.stderr`` unless given a stream."""

    def __init__(self, stream=None):
        super().__init__(stream)
        self._fixed = stream is not None

    def emit(self, record):
        if not self._fixed:
            self.stream = sys.stderr
        super().emit(record)
