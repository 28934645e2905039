"""What the Detect dock's table counts, kept current: the boxes of its detections layer once the
user has edited them (deleted false positives, drawn missed objects, re-classed boxes), the
layer's pixel size, and whether the plane of a stack on screen is the one they were found on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .._layers.plane import plane_index, plane_text
from .._layers.shapes import detections_from_layer, edited_since_drawn, sync_box_features
from ._events import EventHooks

#: class of a box drawn by hand without one, in the table
NO_CLASS = "(no class)"


def table_rows(summary: pd.DataFrame) -> list[list[Any]]:
    """The dock's table rows of a per-class summary: class, count, per mm², area %."""
    return [
        [
            r.class_name,
            int(r.count),
            "" if not np.isfinite(r.per_mm2) else f"{r.per_mm2:.1f}",
            f"{100 * r.area_fraction:.2f}",
        ]
        for r in summary.itertuples()
    ]


class DetectionsWatch:
    """Calls ``redraw`` (once, after the event that caused it) when the dock's detections layer
    changes or, for a stack, when the slider moves; says what the table should count."""

    def __init__(self, viewer: Any, owner: Any, redraw: Callable[[], None]) -> None:
        from qtpy.QtCore import QTimer

        self._viewer = viewer
        self._hooks = EventHooks()
        # the timer belongs to the dock's widget, so it never fires into a closed dock; it also
        # waits for a change to complete (the Pixel size dock writes the drawn mark after the
        # size)
        self._timer = QTimer(owner)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timeout)
        self._redraw = redraw
        # the boxes or their features changed: their sizes and labels are brought up to date
        self._boxes_changed = False
        self.layer: Any = None
        self.image: Any = None
        self.plane: tuple[int, ...] = ()

    def follow(self, layer: Any, image: Any, plane: tuple[int, ...]) -> None:
        """Watch ``layer``, drawn from ``image`` on ``plane`` (``()`` for a 2-D image)."""
        self._hooks.clear()
        self.layer, self.image, self.plane = layer, image, tuple(plane)
        self._boxes_changed = False
        self._hooks.connect(layer.events, ("data", "features"), self._on_boxes)
        self._hooks.connect(layer.events, ("metadata",), self.schedule)
        if self.plane:
            self._hooks.connect(self._viewer.dims.events, ("current_step",), self.schedule)

    def schedule(self, _event: Any = None) -> None:
        """Redraw once the current change is complete."""
        self._timer.start(0)

    def _on_boxes(self, event: Any = None) -> None:
        # not while napari is still adding, moving or removing (e.g. the user drags a handle)
        action = str(getattr(getattr(event, "action", None), "value", ""))
        if not action.endswith("ing"):
            self._boxes_changed = True
        self.schedule()

    def _on_timeout(self) -> None:
        layer = self.layer
        if self._boxes_changed and layer is not None and layer in self._viewer.layers:
            self._boxes_changed = False
            # what the docs tell users to read in the Features table: width_um, area_um2, ...
            sync_box_features(layer)
        self._redraw()

    def clear(self) -> None:
        """Stop watching (the dock closes)."""
        self._timer.stop()
        self._hooks.clear()

    @property
    def edited(self) -> bool:
        """The layer is in the viewer and its boxes are not those the dock drew."""
        layer = self.layer
        return layer is not None and layer in self._viewer.layers and edited_since_drawn(layer)

    def layer_boxes(self, pixel_size: float | None) -> pd.DataFrame:
        """The boxes the layer holds now, in the image's pixels (hand-drawn: ``NO_CLASS``)."""
        image = self.image if self.image in self._viewer.layers else None
        return detections_from_layer(self.layer, pixel_size, NO_CLASS, image=image)

    @property
    def plane_note(self) -> str:
        """ "" unless a stack's slider shows another plane than the one searched."""
        if not self.plane or self.image not in self._viewer.layers:
            return ""
        if plane_index(self.image) == self.plane:
            return ""
        return f"found on plane {plane_text(self.plane)}, not the plane on screen"

    def describe(
        self, found: tuple[int, int, float], counted: int, pixel_size: Any, note: str = ""
    ) -> str:
        """The dock's line under the slider: ``found`` is (shown, all, display threshold);
        ``note`` (on the model: :func:`~..core.detect.model.model_note`) goes on a line of its
        own below."""
        n, total, conf = found
        if self.edited:
            text = (
                f"{counted} boxes in '{self.layer.name}' with your edits counted (the model "
                f"found {n} of {total} ≥ {conf:.2f})"
            )
        else:
            text = f"{n} of {total} detections shown"
        if not pixel_size:
            text += " (no pixel size: per mm² unknown)"
        plane = self.plane_note
        return text + (f"; {plane}" if plane else "") + (f"\n{note}" if note else "")
