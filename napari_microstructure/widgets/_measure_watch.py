"""The Measure dock's watch on what it measured: the labels edited since, their pixel size, the
plane on screen.

The table, the plot, the layer's features and the exports hold the labels as they were when
measured, in the pixel size they had. Once the user paints, fills or erases in that layer, gives
it another pixel size (the Pixel size dock), or moves a stack's slider off the measured plane,
the dock says so (and the exports warn) until it measures again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._layers.image import layer_pixel_size
from .._layers.output import array_fingerprint
from .._layers.plane import level0, plane_index, plane_text
from ._events import EventHooks

EDIT_EVENTS = ("paint", "data", "labels_update")  # brush, fill, eraser; new data
CHECK_EVENTS = ("set_data",)  # undo and redo, but also every new slice: the data compared
SIZE_EVENTS = ("scale", "metadata", "units")  # what :func:`layer_pixel_size` reads


class MeasuredWatch:
    """Follow the last measured Labels layer; ``on_change(text)`` gets a note (or "")."""

    def __init__(self, viewer: Any, on_change: Callable[[str], None]) -> None:
        self._viewer = viewer
        self._on_change = on_change
        self._layer: Any = None
        self.plane: tuple[int, ...] = ()
        self.edited = False
        self.pixel_size: float | None = None  # µm per pixel measured in
        self._fixed = True  # measured in a pixel size typed in the dock, not the layer's
        self._hooks = EventHooks()  # the measured layer's
        self._sliders = EventHooks()
        self._sliders.connect(viewer.dims.events, ("current_step",), self._on_dims)

    def follow(
        self,
        layer: Any,
        plane: tuple[int, ...],
        pixel_size: float | None = None,
        fixed: bool = True,
        measured: int | None = None,
    ) -> None:
        """Measured ``layer`` on ``plane`` (its plane on screen when it was measured) in
        ``pixel_size``: the layer's own unless ``fixed`` (a value typed in the dock).
        ``measured`` is :func:`plane_print` of the labels when the run started: labels edited
        while it ran are edited since measured."""
        self._hooks.clear()
        self._layer, self.plane = layer, tuple(plane)
        self.pixel_size, self._fixed = pixel_size, bool(fixed)
        self._print = self._plane_print() if measured is None else measured
        self.edited = self._print != self._plane_print()
        self._hooks.connect(layer.events, EDIT_EVENTS, self._on_edit)
        self._hooks.connect(layer.events, CHECK_EVENTS, self._on_check)
        self._hooks.connect(layer.events, SIZE_EVENTS, self._on_size)
        self._on_change(self.note)

    @property
    def note(self) -> str:
        """Why the results no longer show what is on screen ("" when they do)."""
        if self._layer is None:
            return ""
        if self.edited:
            return "labels changed since measured: press Measure for their numbers"
        size = self._size_change()
        if size:
            return (
                f"pixel size changed since measured ({size}): press Measure for numbers in "
                "the new size"
            )
        if self._layer in self._viewer.layers and plane_index(self._layer) != self.plane:
            return f"measured on plane {plane_text(self.plane)}, not the plane on screen"
        return ""

    def _on_edit(self, _event: Any = None) -> None:
        if not self.edited:
            self.edited = True
            self._on_change(self.note)

    def _size_change(self) -> str:
        """``"old → new µm/px"`` when the layer's pixel size is no longer the one measured in."""
        if self._fixed:
            return ""
        old, new = self.pixel_size, layer_pixel_size(self._layer)
        if old == new or (old and new and np.isclose(old, new, rtol=1e-6)):
            return ""
        return f"{_size_text(old)} → {_size_text(new)} µm/px"

    def _on_size(self, _event: Any = None) -> None:
        self._on_change(self.note)

    def _on_check(self, _event: Any = None) -> None:
        if not self.edited and self._plane_print() != self._print:
            self._on_edit()

    def _plane_print(self) -> int:
        return plane_print(self._layer, self.plane)

    def _on_dims(self, _event: Any = None) -> None:
        if self._layer is not None and self.plane:
            self._on_change(self.note)

    def close(self) -> None:
        """Stop listening to the layer and the viewer's sliders."""
        self._hooks.clear()
        self._sliders.clear()


def _size_text(pixel_size: float | None) -> str:
    return f"{pixel_size:.6g}" if pixel_size else "none"


def plane_print(layer: Any, plane: tuple[int, ...]) -> int:
    """A checksum of a layer's labels on ``plane`` (one plane: a lazy stack reads no more)."""
    return array_fingerprint(level0(layer)[tuple(plane)])
