"""Progress messages yielded by long-running core generators.

Core functions that take time are generators: they ``yield Progress(...)`` as they go and
``return`` their result. :func:`run_to_end` drives one headless (CLI, batch, tests); the widgets
drive them in a napari worker and show the messages.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """``step`` of ``total`` done, with a short message for the user."""

    step: int
    total: int
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.step / self.total if self.total else 0.0


def run_to_end(
    gen: Generator[Any, Any, T], callback: Callable[[Progress], None] | None = None
) -> T:
    """Exhaust a progress generator and return its result."""
    while True:
        try:
            item = next(gen)
        except StopIteration as stop:
            return stop.value
        if callback is not None and isinstance(item, Progress):
            callback(item)


def rescaled(
    gen: Generator[Any, Any, T], lo: int, hi: int, total: int, message: str | None = None
) -> Generator[Any, Any, T]:
    """Drive ``gen`` as one stage of a longer run: its Progress mapped to steps ``lo``..``hi`` of
    ``total`` (with its own messages, or ``message``); returns its result."""
    while True:
        try:
            item = next(gen)
        except StopIteration as stop:
            return stop.value
        if isinstance(item, Progress):
            step = lo + int(round((hi - lo) * item.fraction))
            item = Progress(step, total, item.message if message is None else message)
        yield item
