"""Click predictions of the Refine dock off the GUI thread, in the order they were asked for.

A Segment Anything click takes a decoder pass (a tenth of a second or more on a CPU), which
would freeze the viewer if it ran on the GUI thread. Each request carries a snapshot of the
object's prompts; requests run one at a time in a worker thread, and when several requests for
the same object wait, only the latest runs (its prompts include the earlier clicks). Results
are handed back on the GUI thread in request order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from napari.qt.threading import FunctionWorker

from ._worker import Tied


@dataclass
class ClickRequest:
    """Prompts of one object at the moment of a click, and where the result goes."""

    label: int  # object id in the Labels layer
    entry: Any  # the object's undo-history entry (identity tells if it was undone since)
    points: np.ndarray
    labels: np.ndarray
    class_name: str
    session: Any = None  # the image's session (``_refine_session.ImageSession``)
    engine: Any = None  # the engine asked (it tells whether a mask was cut at a tile edge)


class ClickQueue:
    """Runs ``engine.predict`` for queued requests in a worker thread, one at a time.

    ``on_result(request, masks, scores)`` and ``on_error(request, exc)`` run on the GUI thread.
    """

    def __init__(
        self,
        on_result: Callable[[ClickRequest, np.ndarray, np.ndarray], None],
        on_error: Callable[[ClickRequest, BaseException], None],
    ) -> None:
        self._on_result = on_result
        self._on_error = on_error
        self._waiting: list[tuple[Any, ClickRequest]] = []
        self.worker: FunctionWorker | None = None

    @property
    def busy(self) -> bool:
        """True while a prediction runs or waits."""
        return self.worker is not None or bool(self._waiting)

    def waiting_for(self, entry: Any) -> bool:
        """True if a request for the object of this undo entry waits to run."""
        return any(r.entry is entry for _, r in self._waiting)

    def submit(self, engine: Any, request: ClickRequest) -> None:
        """Queue a prediction; it starts now if none is running."""
        self._waiting.append((engine, request))
        if self.worker is None:
            self._next()

    def _next(self) -> None:
        self.worker = None
        if not self._waiting:
            return
        engine, req = self._waiting.pop(0)
        # later clicks on the same object carry all earlier prompts: run only the latest
        while self._waiting and _same_object(self._waiting[0][1], req):
            engine, req = self._waiting.pop(0)
        # the worker lets go of the engine and the request once finished (napari keeps it)
        tied = Tied(engine.predict, req.points, req.labels)
        worker = tied.worker
        tied.connect(worker.returned, lambda result, r=req: self._on_result(r, *result))
        tied.connect(worker.errored, lambda exc, r=req: self._on_error(r, exc))
        tied.connect(worker.finished, self._next)
        self.worker = worker
        tied.start()


def _same_object(a: ClickRequest, b: ClickRequest) -> bool:
    return a.label == b.label and a.entry is b.entry
