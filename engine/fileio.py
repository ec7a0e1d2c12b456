"""Atomic file writes: a crash or a full disk never leaves half a file where a whole one stood.

The one implementation of "write to a temporary file beside the target, then rename it over
the target" in ScaleLab. The engine ships alone to the cluster, so this lives in the engine;
``remote`` and ``gui`` use it from here.
"""

from __future__ import annotations

import os
from collections.abc import Callable

__all__ = ["atomic_write", "atomic_write_with"]


def _temp_path(path: str) -> str:
    folder, name = os.path.split(os.path.abspath(path))
    # Beside the target (os.replace is atomic only within one file system); hidden and unique
    # per process so two writers never share a temporary file.
    return os.path.join(folder, f".{name}.tmp{os.getpid()}")


def atomic_write_with(path: str | os.PathLike, write: Callable[[str], None], *,
                      mode: int | None = None, fsync: bool = False, make_dirs: bool = False) -> None:
    """Call ``write(tmp_path)`` to produce the file, then move it over ``path`` in one step.

    Parameters
    ----------
    path
        The file to (re)place.
    write
        Writes the whole new content to the path it is given (``np.savez`` and the like).
    mode
        Permission bits for the new file (``0o600`` for files that name hosts or users); the
        file never exists with wider ones.
    fsync
        Flush the content to disk before the rename (for files a user would hate to lose).
    make_dirs
        Create the target's folder first.

    A failure leaves the previous file untouched and removes the temporary one.
    """
    path = os.fspath(path)
    if make_dirs:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = _temp_path(path)
    try:
        if mode is not None:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode))
            os.chmod(tmp, mode)
        write(tmp)
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write(path: str | os.PathLike, data: str | bytes, *, encoding: str = "utf-8",
                 mode: int | None = None, fsync: bool = False, make_dirs: bool = False) -> None:
    """Write ``data`` (text in ``encoding``, or bytes) to ``path`` atomically.

    Text is written as given (no newline translation), so a file reads back byte for byte.
    See :func:`atomic_write_with` for ``mode``, ``fsync`` and ``make_dirs``.
    """
    payload = data.encode(encoding) if isinstance(data, str) else bytes(data)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(payload)

    atomic_write_with(path, write, mode=mode, fsync=fsync, make_dirs=make_dirs)
