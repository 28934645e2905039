"""The Refine dock's prompts layers: clicks, the n / m / u keys, and napari's own add mode.

A click (press and release without dragging) on an image's prompts layer adds a prompt to
that image's current object; a drag pans as usual. In the layer's "add" mode napari adds a
point of its own at each click: it is removed, so that every click is one prompt. A click on
the image chosen in the dock (the active layer, in pan/zoom mode) while it has no prompts layer
makes its layers and is the first prompt.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from napari.layers import Points

from .._layers import points as P
from .._layers import yx_shape
from ._refine_session import ImageSession

CLICK_MODES = ("pan_zoom", "add")  # the prompts layer's modes in which a click is a prompt

KEYS = ("n", "m", "u")


class PromptsMixin:
    """Mouse and key handling on the prompts layers of :class:`~.refine.RefineWidget`."""

    def _hook_points(self, points: Points, _session: ImageSession) -> None:
        points.mouse_drag_callbacks.append(self._on_click)
        points.events.data.connect(self._on_points_data)
        for key, fn in zip(KEYS, (self._new_object, self._next_mask, self._undo), strict=True):
            # the keys act on the image of the prompts layer they were pressed on
            on_key = lambda layer, f=fn: f(self._sessions.of_points(layer))  # noqa: E731
            points.bind_key(key, on_key, overwrite=True)

    def _unhook_points(self, points: Points) -> None:
        if self._on_click in points.mouse_drag_callbacks:
            points.mouse_drag_callbacks.remove(self._on_click)
        points.events.data.disconnect(self._on_points_data)
        for key in KEYS:
            points.bind_key(key, None)

    def _follow_image(self, image: Any = None) -> None:
        """Take clicks on ``image`` (the one chosen in the dock; None once it closes) only."""
        if self._gone or self._closed:
            image = None
        old = getattr(self, "_clicked_image", None)
        if old is image:
            return
        if old is not None and self._on_image_click in old.mouse_drag_callbacks:
            old.mouse_drag_callbacks.remove(self._on_image_click)
        if image is not None:
            image.mouse_drag_callbacks.append(self._on_image_click)
        self._clicked_image = image

    def _on_image_click(self, layer: Any, event: Any) -> Any:
        """A click on the chosen image before it has a prompts layer: the first prompt."""
        if event.type != "mouse_press" or str(layer.mode) != "pan_zoom":
            return
        s = self._sessions.of_image(layer)
        if layer is not self.image_layer or self._sessions.prompts(s) is not None:
            return  # its prompts layer takes the clicks (when it is the active layer)
        position, modifiers, button = event.position, tuple(event.modifiers), event.button
        moved = yield from _to_release(event)
        if moved or not self._plane_on_screen(layer, "Refine"):
            return  # a pan, or a click in a view of other axes than the plane worked on
        row, col = P.world_to_pixel(position, layer)
        h, w = yx_shape(layer)
        if not (-0.5 <= row <= h - 0.5 and -0.5 <= col <= w - 0.5):
            return  # a click beside the image
        negative = self._negative.value != ("Shift" in modifiers or button == 2)
        self.add_click(row, col, positive=not negative)

    def _on_points_data(self, event: Any) -> None:
        """Points the layer adds by itself (its "add" mode) are dropped: the click handler adds
        the prompt of the same click, which would otherwise count twice."""
        layer = event.source
        if self._writing or layer.mode != "add" or event.action != "added":
            return
        n = len(event.data_indices)
        self._write(lambda: setattr(layer, "data", layer.data[:-n] if n else layer.data))

    def _write(self, change: Any) -> None:
        self._writing = True
        try:
            change()
        finally:
            self._writing = False

    def _on_click(self, layer: Points, event: Any) -> Any:
        """A click (press and release without dragging) adds a prompt; a drag pans as usual.
        In the layer's select mode a click selects a prompt (napari's own), it adds none."""
        if event.type != "mouse_press" or str(layer.mode) not in CLICK_MODES:
            return
        position, modifiers, button = event.position, tuple(event.modifiers), event.button
        moved = yield from _to_release(event)
        s = self._sessions.of_points(layer)
        if moved or s is None or s.image not in self.viewer.layers:
            return
        if not self._plane_on_screen(s.image, "Refine"):
            return
        if s.image is not self.image_layer:
            self.image_layer = s.image  # a click on an image's prompts works on that image
        row, col = P.world_to_pixel(position, s.image)
        negative = self._negative.value != ("Shift" in modifiers or button == 2)
        self.add_click(row, col, positive=not negative)


def _to_release(event: Any) -> Generator[None, None, bool]:
    """Follow a pressed button to its release (napari's drag callbacks); True if the mouse
    moved meanwhile (a pan, not a click)."""
    yield
    moved = False
    while event.type == "mouse_move":
        moved = True
        yield
    return moved
