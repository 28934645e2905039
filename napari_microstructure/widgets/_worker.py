"""The generator a dock's worker thread runs, with errors the worker reports and the warnings
it logs."""

from __future__ import annotations

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
