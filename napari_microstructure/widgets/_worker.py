"""The generator a dock's worker thread runs, with errors the worker reports and the warnings
it logs; workers that let go of their data once finished."""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any


class RunError(Exception):
    """A ``RuntimeError`` raised by a run (torch's out-of-memory, a failed ``torch.save``).

    superqt's worker takes a ``RuntimeError`` for its own deletion and emits neither
    ``errored`` nor ``returned``: re-raised as this, it reaches the dock's error path.
    """


def reported(make_gen: Callable[[], Generator[Any, Any, Any]]) -> Generator[Any, Any, Any]:
    """Run ``make_gen()``, re-raising a ``RuntimeError`` as :class:`RunError`, same message."""
    try:
        return (yield from make_gen())
    except RuntimeError as exc:
        raise RunError(str(exc) or type(exc).__name__) from exc


@contextmanager
def logged_warnings(logger: str = "napari_microstructure") -> Iterator[list[str]]:
    """Collect the warnings this thread logs under ``logger`` in the block (core functions log
    what a user should know, e.g. images left out), for the dock to show them."""
    notes: list[str] = []
    thread = threading.get_ident()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == thread:
                notes.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logging.getLogger(logger).addHandler(handler)
    try:
        yield notes
    finally:
        logging.getLogger(logger).removeHandler(handler)


def close_all(gens: list[Generator[Any, Any, Any]]) -> None:
    """Close the generators of a cancelled run (their ``finally`` clauses run here)."""
    for gen in gens:
        try:
            gen.close()
        except Exception:  # noqa: BLE001 - a clean-up that fails must not hide the cancel
            logging.getLogger(__name__).debug("closing a cancelled run failed", exc_info=True)


#: threads the pool of napari's workers gets at least: a dock's run, or Curate's autosave,
#: must not wait in a queue behind other docks' long runs (Qt sizes the pool to the CPU count,
#: 2 here: two trainings held a Detect run for minutes, and an autosave until after closing)
MIN_THREADS = 8


def start_worker(worker: Any) -> None:
    """Start ``worker`` on the pool napari's workers share, made at least :data:`MIN_THREADS`
    wide."""
    from qtpy.QtCore import QThreadPool

    pool = QThreadPool.globalInstance()
    if pool.maxThreadCount() < MIN_THREADS:
        pool.setMaxThreadCount(MIN_THREADS)
    worker.start()


def take_back(worker: Any) -> bool:
    """Take ``worker`` out of the pool if it still waits for a thread (it then never runs);
    True if it did. superqt keeps every started worker until its run ends: this one is let go
    here, with what it holds (an image copy, the dock). A worker whose run has ended may already
    be deleted by Qt while its signals still wait in the queue: it was not taken back."""
    from qtpy.QtCore import QThreadPool

    try:
        taken = QThreadPool.globalInstance().tryTake(worker)
    except RuntimeError:  # the C++ runnable is gone: it ran, and Qt deleted it
        return False
    if not taken:
        return False
    discard = getattr(worker, "_set_discard", None)  # superqt's own clean-up of a finished run
    if discard is not None:
        discard(worker)
    return True


class Tied:
    """A worker for ``func(*args, **kwargs)`` that lets go of what it uses once it has finished.

    napari lists every worker that ``create_worker`` (or ``thread_worker``) makes in its window's
    task list, with the function it runs (for the "tasks still running" prompt on closing), and
    never takes it out; a worker keeps its function, arguments and connected handlers. What
    those refer to (a layer, a result, the labels an autosave wrote, a Segment Anything engine)
    would stay in memory while the window is open, also once the dock and image are closed.
    The worker made here runs a module function on this holder instead; :meth:`release` empties
    the holder and disconnects the handlers connected by :meth:`connect`. :meth:`start` has it
    run on ``finished`` after those handlers (superqt emits ``returned`` or ``errored`` before
    ``finished``, from the same thread: they are handled by then).

    A generator ``func`` gives a :class:`GeneratorWorker`: on Cancel it stops sending to the
    generator and leaves it open; it is closed at once, in the worker's thread, so that its
    clean-up runs (a helper thread stops, a partial file goes) before the dock is used again.
    """

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        from napari.qt.threading import create_worker

        self._call: tuple[Callable[..., Any], tuple, dict] | None = (func, args, kwargs)
        self._gens: list[Generator[Any, Any, Any]] = []  # the generator, once it runs
        self._links: list[tuple[Any, Callable[..., Any]]] = []
        run = _generate if inspect.isgeneratorfunction(func) else _call
        self.worker: Any = create_worker(run, self, _start_thread=False, _ignore_errors=True)
        if run is _generate:
            self.connect(self.worker.aborted, lambda: close_all(self._gens), direct=True)

    def _take(self) -> Any:
        """Call the function, letting it go here (what the run needs, it holds itself while it
        runs); None where it was released before it ran."""
        call, self._call = self._call, None
        if call is None:
            return None
        func, args, kwargs = call
        return func(*args, **kwargs)

    def connect(self, signal: Any, handler: Callable[..., Any], direct: bool = False) -> None:
        """Connect ``handler`` to the worker's ``signal`` until :meth:`release` (``direct``: it
        runs in the worker's thread)."""
        if direct:
            from qtpy.QtCore import Qt

            signal.connect(handler, type=Qt.ConnectionType.DirectConnection)
        else:
            signal.connect(handler)
        self._links.append((signal, handler))

    def start(self) -> Any:
        """Start the worker (:func:`start_worker`), let go of everything once it has finished;
        returns the worker."""
        self.worker.finished.connect(self.release)
        start_worker(self.worker)
        return self.worker

    def release(self) -> None:
        """Disconnect the handlers and let go of the function, its arguments and its generator
        (the worker has finished, or was taken back before it ran)."""
        links, self._links = self._links, []
        for signal, handler in links:
            try:
                signal.disconnect(handler)
            except (TypeError, RuntimeError):  # not connected, or its Qt object is gone
                pass
        try:
            self.worker.finished.disconnect(self.release)
        except (TypeError, RuntimeError):
            pass
        self._call = None
        gens, self._gens = self._gens, []
        close_all(gens)  # a generator left open (the run was cancelled) holds its frame


def _call(tied: Tied) -> Any:
    return tied._take()


def _generate(tied: Tied) -> Generator[Any, Any, Any]:
    gen = tied._take()
    if gen is None:
        return None
    tied._gens.append(gen)
    return (yield from gen)
