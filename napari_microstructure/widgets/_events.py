"""Connections of a dock's helper to napari event emitters, all dropped at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class EventHooks:
    """Callbacks connected to named events of event groups; :meth:`clear` disconnects them all,
    quietly where an emitter is already gone."""

    def __init__(self) -> None:
        self._pairs: list[tuple[Any, Callable]] = []

    def connect(self, events: Any, names: Iterable[str], callback: Callable) -> None:
        """Connect ``callback`` to each event of ``events`` in ``names`` that exists."""
        for name in names:
            emitter = getattr(events, name, None)
            if emitter is not None:
                emitter.connect(callback)
                self._pairs.append((emitter, callback))

    def clear(self) -> None:
        """Disconnect every callback connected so far."""
        for emitter, callback in self._pairs:
            try:
                emitter.disconnect(callback)
            except (TypeError, ValueError, RuntimeError):
                pass
        self._pairs.clear()
