"""The generator a dock's worker thread runs, with errors the worker reports."""

from __future__ import annotations

from collections.abc import Callable, Generator
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
