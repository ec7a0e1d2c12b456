"""Run generators off the GUI thread, the same way in every view.

A worker is a plain generator function that yields; superqt's ``GeneratorWorker`` runs
it on a ``QThreadPool`` thread and emits ``yielded`` for every value. The generator is
responsible for yielding at a rate the GUI can digest (tens per second, not one per
training step), because every yield becomes one queued signal. ``quit()`` aborts at the
next yield.

Errors: one that carries a message for the user (:func:`gui.errors.is_expected_error`: a
bad file, a dropped connection, a refused job) goes to the caller's ``on_errored``, which
shows it where it belongs. Any other is a bug: it is logged with its traceback and shown
in a message box with the traceback under "Show Details..."
(:func:`gui.errors.report_unexpected_error`), and ``on_errored`` receives an
:class:`gui.errors.UnexpectedError` in its place so that the view can get back to a
usable state.

Workers started here are tracked here (:func:`running_workers`), so nothing relies on
superqt's private bookkeeping.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Generator

from PySide6 import QtCore
from superqt.utils import FunctionWorker, GeneratorWorker, WorkerBase, create_worker

from gui.errors import UnexpectedError, is_expected_error, report_unexpected_error

_running: set[WorkerBase] = set()


def start_generator(
    func: Callable[..., Generator[Any, Any, Any]],
    *args: Any,
    on_yielded: Callable[[Any], None] | None = None,
    on_returned: Callable[[Any], None] | None = None,
    on_errored: Callable[[BaseException], None] | None = None,
    on_finished: Callable[[], None] | None = None,
    **kwargs: Any,
) -> GeneratorWorker:
    """Start ``func(*args, **kwargs)`` (a generator function) in the thread pool.

    The callbacks run on the GUI thread (queued signals). ``on_finished`` runs last,
    after a return, an error or an abort.
    """
    _share_the_gil()
    worker = _create(func, args, kwargs)
    if not isinstance(worker, GeneratorWorker):
        raise TypeError(f"{func!r} is not a generator function")
    _connect(worker, func, on_yielded, on_returned, on_errored, on_finished)
    _start(worker)
    return worker


def start_function(
    func: Callable[..., Any],
    *args: Any,
    on_returned: Callable[[Any], None] | None = None,
    on_errored: Callable[[BaseException], None] | None = None,
    on_finished: Callable[[], None] | None = None,
    **kwargs: Any,
) -> FunctionWorker:
    """Run a plain function in the thread pool; callbacks run on the GUI thread."""
    worker = _create(func, args, kwargs)
    _connect(worker, func, None, on_returned, on_errored, on_finished)
    _start(worker)
    return worker


def _create(func, args, kwargs) -> WorkerBase:
    # Errors are always routed by _connect; superqt must not re-raise them as well.
    kwargs.pop("_ignore_errors", None)
    return create_worker(func, *args, _start_thread=False, _ignore_errors=True, **kwargs)


def _start(worker: WorkerBase) -> None:
    _running.add(worker)
    worker.finished.connect(lambda: _running.discard(worker))
    worker.start()


GUI_SWITCH_INTERVAL_S = 0.001


def _share_the_gil() -> None:
    """Let the GUI thread get the GIL back within 1 ms instead of Python's default 5 ms.

    A busy Python worker keeps the GIL until another thread has waited a whole switch
    interval for it; the GUI thread re-enters Python for every slot and every pyqtgraph
    paint, so with 5 ms per re-entry a frame could stall the event loop for 100 ms.
    """
    if sys.getswitchinterval() > GUI_SWITCH_INTERVAL_S:
        sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)


def _connect(worker, func, on_yielded, on_returned, on_errored, on_finished) -> None:
    if on_yielded is not None:
        worker.yielded.connect(on_yielded)
    if on_returned is not None:
        worker.returned.connect(on_returned)
    task = getattr(func, "__qualname__", None) or repr(func)

    def errored(exc: BaseException) -> None:
        if not is_expected_error(exc):
            report_unexpected_error(exc, f"in a background task ({task})")
            exc = UnexpectedError(exc)
        if on_errored is not None:
            on_errored(exc)

    worker.errored.connect(errored)
    if on_finished is not None:
        worker.finished.connect(on_finished)


def wait_for_workers(timeout_ms: int = 5000) -> bool:
    """Block until every pool thread is idle; ``True`` when they all finished in time."""
    return QtCore.QThreadPool.globalInstance().waitForDone(timeout_ms)


def active_worker_count() -> int:
    """How many thread-pool workers are running right now."""
    return QtCore.QThreadPool.globalInstance().activeThreadCount()


def running_workers() -> list[WorkerBase]:
    """Workers started by :func:`start_generator` / :func:`start_function` that have not finished."""
    return list(_running)


def quit_workers() -> None:
    """Ask every running worker to stop (generators stop at their next yield)."""
    for worker in running_workers():
        worker.quit()
