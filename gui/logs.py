"""The app's log file: a rotating ``scalelab.log`` in the platform's log folder.

The folder is ``$SCALELAB_LOG_DIR`` when set (tests, portable installs), else
``platformdirs.user_log_dir("scalelab")`` (``~/.local/state/scalelab/log`` on Linux). The
file rotates at about 1 MB and keeps three old copies, so it never grows without bound.
Every module logs through ``logging.getLogger(__name__)``; this module only decides where
the records go.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys

import platformdirs

LOG_DIR_ENV = "SCALELAB_LOG_DIR"
LOG_FILE_NAME = "scalelab.log"
MAX_LOG_BYTES = 1_000_000
LOG_BACKUPS = 3
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"

_file_handler: logging.handlers.RotatingFileHandler | None = None
#: the handlers this module added to the root logger (replaced on the next setup)
_own_handlers: list[logging.Handler] = []


def log_folder() -> str:
    """The folder the log file is written to (it may not exist yet)."""
    env = os.environ.get(LOG_DIR_ENV)
    return os.path.abspath(os.path.expanduser(env)) if env else platformdirs.user_log_dir("scalelab")


def log_file() -> str | None:
    """The log file being written, or None when :func:`setup_logging` found no usable folder."""
    return _file_handler.baseFilename if _file_handler is not None else None


def setup_logging(verbose: bool = False) -> str | None:
    """Send log records to the rotating log file (and, with ``verbose``, debug records to stderr).

    Parameters
    ----------
    verbose : bool
        Log debug records (SSH, submit and poll events in detail) and echo them on stderr.

    Returns
    -------
    str or None
        The log file's path; None when the folder cannot be created or written (the app
        then runs without a log file and says so once on stderr).

    Calling it again replaces the handlers it installed before (tests change the folder).
    """
    global _file_handler
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler in _own_handlers:
            root.removeHandler(handler)
            handler.close()
    _own_handlers.clear()
    _file_handler = None
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # paramiko's debug records are its packet-level chatter; its info records (connected,
    # authenticated) belong in the log.
    logging.getLogger("paramiko").setLevel(logging.INFO)
    formatter = logging.Formatter(LOG_FORMAT)
    folder = log_folder()
    try:
        os.makedirs(folder, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(os.path.join(folder, LOG_FILE_NAME), maxBytes=MAX_LOG_BYTES,
                                                       backupCount=LOG_BACKUPS, encoding="utf-8")
    except OSError as exc:
        print(f"scalelab: no log file: cannot write to {folder}: {exc.strerror or exc}", file=sys.stderr)
    else:
        handler.setFormatter(formatter)
        _own_handlers.append(handler)
        root.addHandler(handler)
        _file_handler = handler
    if verbose:
        echo = logging.StreamHandler()
        echo.setFormatter(formatter)
        _own_handlers.append(echo)
        root.addHandler(echo)
    return log_file()
