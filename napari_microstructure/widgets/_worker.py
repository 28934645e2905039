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
