"""A job's output file read piece by piece: what ``python -m remote log`` prints and the job view shows.

:func:`read_new_output` reads what the file gained since the last call, from a byte offset
the caller keeps. While the job runs only whole lines are returned (the partial last line
comes next time, complete); once it has ended, everything. A file that shrank (a requeued
job started it again) is read again from its start, or from its last ``tail_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass

from remote.backend import Backend

#: How much of an output file a first look shows when only its end is wanted.
OUTPUT_TAIL_BYTES = 64 * 1024
#: Largest piece read in one call (the rest comes with the next).
OUTPUT_READ_BYTES = 1024 * 1024


@dataclass(frozen=True)
class OutputPiece:
    """Bytes read from an output file and the offset to read on from next time."""

    data: bytes
    offset: int


def read_new_output(backend: Backend, path: str, offset: int | None, *, whole_lines: bool,
                    tail_bytes: int | None = None, max_bytes: int | None = OUTPUT_READ_BYTES) -> OutputPiece | None:
    """What ``path`` gained since ``offset``; ``None`` when the file does not exist (yet).

    Parameters
    ----------
    backend : Backend
        Where the file is (this computer or the cluster).
    path : str
        The job's output file.
    offset : int or None
        Bytes already read; ``None`` for a first look.
    whole_lines : bool
        Return complete lines only (the job is still writing).
    tail_bytes : int, optional
        On a first look (or after the file shrank), start this many bytes before its end
        instead of at its start.
    max_bytes : int, optional
        Read at most this much.
    """
    size = backend.size(path)
    if size is None:
        return None
    if offset is None or size < offset:
        offset = 0 if tail_bytes is None else max(0, size - tail_bytes)
    try:
        data = backend.read_bytes(path, offset, max_bytes)
    except FileNotFoundError:
        return None
    if whole_lines:
        data = data[: data.rfind(b"\n") + 1]
    return OutputPiece(data=data, offset=offset + len(data))


__all__ = ["OUTPUT_READ_BYTES", "OUTPUT_TAIL_BYTES", "OutputPiece", "read_new_output"]
