"""The Refine dock's click predictions, and the clicks made while it prepares an image.

The first click on an image that is not prepared starts its preparation. Until it ends, more
clicks on the same image and plane add prompts as usual, and "n" keeps the open object aside
with its prompts, so no click is lost. When the preparation ends, the engine is checked to
still hold what is asked now (the image, the waiting objects' plane with its pixels, the engine
fields); if any changed meanwhile the plane is prepared again, the prompts kept. Then every
object that waited gets its mask from its own prompts. The engine holds one plane at a time:
a click on another plane of the stack is refused until the preparation is done.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from napari.utils.notifications import show_warning

from .._layers import points as P
from .._layers.plane import level0
from .._layers.plane_source import PlaneSource
from ..core.refine import PromptError
from ._refine_clicks import ClickRequest
from ._refine_session import ImageSession, image_fingerprint


def plane_source(image: Any, plane: tuple[int, ...] | None = None) -> PlaneSource:
    """One plane of an image layer (default: the one on screen; the whole image for a 2-D
    one), not read yet: a lazy (dask, zarr) image is read by the worker
    (:func:`.._layers.plane_source.read_pixels`)."""
    return PlaneSource.of(image) if plane is None else PlaneSource(level0(image), tuple(plane))


def plane_text(plane: tuple[int, ...]) -> str:
    """A plane index as the user reads it: ``2`` or ``(1, 2)``."""
    return str(plane[0]) if len(plane) == 1 else str(tuple(plane))


class PredictMixin:
    """Click predictions of :class:`~.refine.RefineWidget`, also for clicks made while the
    image is prepared (its ``_on_prediction`` and ``_on_prediction_error`` take the results)."""

    def _init_predict(self) -> None:
        self._click_waits: ImageSession | None = None  # the image whose clicks await preparing
        self._wait_plane: tuple[int, ...] = ()  # ... on this plane
        self._waiting: list[ClickRequest] = []  # objects closed ("n") while they waited
        # (undo entry, prompt row) of each click that waited: a failed preparation removes them
        self._wait_prompts: list[tuple[Any, np.ndarray]] = []

    def _refused_while_preparing(self, s: ImageSession, plane: tuple[int, ...]) -> bool:
        """True (with a message) for a click on another plane than the one being prepared."""
        if self._click_waits is not s or plane == self._wait_plane:
            return False
        show_warning(
            f"Refine: still preparing plane {plane_text(self._wait_plane)} of the image for "
            f"the clicks made on it; click on plane {plane_text(plane)} when it is done."
        )
        return True

    def _wait_for_engine(self, s: ImageSession, plane: tuple[int, ...]) -> None:
        """The click just added waits for ``plane`` of the image to be prepared (the first such
        click starts it); its object gets its mask when it is ready. Its prompt is noted first:
        a preparation that fails at once removes it too."""
        note = (s.objects.entry, np.array(s.points.data[-1], float))
        if self.busy:  # (preparing for this image's clicks: ``add_click`` refused the others)
            self._wait_prompts.append(note)
            return
        self._click_waits, self._wait_plane, self._waiting = s, tuple(plane), []
        self._wait_prompts = [note]
        self._prepare(s, partial(self._prepared, s), partial(self._forget_waiting, s), plane)

    def _keep_waiting(self, s: ImageSession) -> None:
        """The open object is closed ("n") before the engine is ready: keep its prompts."""
        if self._click_waits is s and s.objects.entry is not None:
            self._waiting.append(self._request(s))

    def _holds(self, s: ImageSession, plane: tuple[int, ...]) -> bool:
        """True if the engine was prepared on ``plane`` of the image as it is now, with the
        engine fields as they are now."""
        if self._engine is None or self._engine_for != self._key(s.image):
            return False
        # (a lazy image is not read here, on the GUI thread: see ``image_fingerprint``)
        return image_fingerprint(plane_source(s.image, plane)) == self._engine_print

    def _prepared(self, s: ImageSession) -> None:
        if not self._holds(s, self._wait_plane):  # changed while preparing: again, for now
            then, otherwise = partial(self._prepared, s), partial(self._forget_waiting, s)
            self._prepare(s, then, otherwise, self._wait_plane)
            return
        waiting, self._waiting, self._click_waits = self._waiting, [], None
        self._wait_prompts = []
        if s.objects.entry is not None:
            waiting.append(self._request(s))
        for req in waiting:
            if s.objects.is_alive(req.entry):  # not undone meanwhile
                self._run(req)

    def _forget_waiting(self, s: ImageSession) -> None:
        """The preparation failed or was cancelled: the clicks that waited leave nothing (an
        object with a mask from earlier clicks keeps it, and the prompts of those clicks)."""
        entries = [r.entry for r in self._waiting]
        current = s.objects.entry
        if current is not None:
            entries.append(current)
            if current[1]:  # (one without a mask loses all its prompts in ``_forget``)
                self._drop_prompts(s, [row for e, row in self._wait_prompts if e is current])
        self._waiting, self._wait_prompts = [], []
        for entry in entries:
            self._forget(s, entry)
        self._click_waits = None

    def _drop_prompts(self, s: ImageSession, rows: list[np.ndarray]) -> None:
        """Remove one prompt at each of ``rows`` (the prompts layer's coordinates)."""
        data = np.asarray(s.points.data, float).reshape(-1, 2)
        keep = np.ones(len(data), bool)
        for row in rows:
            hits = np.flatnonzero(keep & np.all(np.isclose(data, row), axis=1))
            if hits.size:
                keep[hits[-1]] = False
        if keep.all():
            return
        pts, labels = P.prompts_from_layer(s.points)

        def change() -> None:
            P.clear_prompts(s.points)
            for (row, col), positive in zip(pts[keep], labels[keep], strict=True):
                P.add_prompt(s.points, row, col, bool(positive))

        self._write(change)

    def _request(self, s: ImageSession) -> ClickRequest:
        """The open object's prompts now (its engine is set when it runs)."""
        entry = s.objects.entry
        pts, labels = P.prompts_from_layer(s.points)
        return ClickRequest(entry[0], entry, pts, labels, self.class_name, s)

    def _predict(self, s: ImageSession) -> None:
        if s.objects.entry is not None:
            self._run(self._request(s))

    def _run(self, req: ClickRequest) -> None:
        req.engine = self._engine
        if getattr(self._engine, "name", "") == "sam":
            self._clicks.submit(self._engine, req)  # decoded off the GUI thread
            return
        try:
            masks, scores = self._engine.predict(req.points, req.labels)
        except PromptError as exc:
            self._on_prediction_error(req, exc)
            return
        self._on_prediction(req, masks, scores)

    def _forget(self, s: ImageSession, entry: Any) -> None:
        """An object that got no mask: out of the undo history, its id and prompts freed."""
        if entry[1]:
            return  # it has a mask from an earlier click
        current = s.objects.entry is entry
        s.objects.drop(entry)
        if current:
            self._write(lambda: P.clear_prompts(s.points))
