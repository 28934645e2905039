"""The Refine dock's work on a whole image: every box to a mask, and segment-all-grains."""

from __future__ import annotations

from typing import Any

import numpy as np
from napari.utils.notifications import show_error, show_info, show_warning

from .. import _layers as L
from ..core.grains import no_grains_warning, segment_all_grains
from ..core.refine.batch import BoxMasks, masks_from_boxes
from ._refine_checks import boxes_cut


class BatchMixin:
    """``refine_boxes`` and ``segment_all`` of :class:`~.refine.RefineWidget`."""

    def refine_boxes(self) -> Any:
        """Turn every box of the chosen Shapes layer (e.g. detections) into an object mask."""
        shapes = self._boxes.value
        if shapes is None or not len(shapes.data):
            show_error("Refine: choose a Shapes layer with boxes (e.g. the detections).")
            return None
        s = self._ensure_layers()
        return None if s is None else self._refine_boxes(s, shapes)

    def _refine_boxes(self, s: Any, shapes: Any) -> Any:
        if not self._ready_for(s.image):
            return self._prepare(s, lambda: self._refine_boxes(s, shapes))
        # boxes drawn by hand have no class: they take the dock's, detections keep theirs
        table = L.detections_from_layer(shapes, default_class=self.class_name, image=s.image)
        boxes = table[["x1", "y1", "x2", "y2"]].to_numpy()
        plane = L.plane_index(s.image)
        engine, engine_name, field = self._engine, self.engine_name, self.class_name

        def done(found: BoxMasks) -> None:
            self._new_object(s)
            classes = list(table["class_name"])
            s.objects.add_box_masks(found.masks, classes, engine_name, plane, field)
            made = f"Refine: {len(found.masks)} of {found.total} boxes turned into masks"
            skipped = found.skipped_message()
            cut = boxes_cut(engine, found.masks, boxes)
            self._tile_cut = cut > 0
            if cut:
                skipped = (skipped or "") + (
                    f" {cut} of the masks reach the edge of the Segment Anything tiles they "
                    "were decoded in and are likely cut there."
                )
            if skipped:
                show_warning(f"{made}; {skipped.strip()}")
            else:
                show_info(f"{made}.")

        return self._start(lambda: masks_from_boxes(engine, boxes), done, "refining boxes")

    def segment_all(self) -> Any:
        """Segment every grain of the image into its objects layer (replacing it)."""
        s = self._ensure_layers()
        if s is None:
            return None
        image, ps = L.image_array(s.image), L.layer_pixel_size(s.image)
        plane = L.plane_index(s.image)
        try:
            kw = self._engines.segment_all_kw()
        except ValueError as exc:
            show_error(f"Refine: {exc}")
            return None
        engine_name, class_name = self.engine_name, self.class_name

        def done(labels: np.ndarray) -> None:
            self._new_object(s)
            s.objects.replace_all(labels, class_name, engine_name, plane)
            if warning := no_grains_warning(labels):
                show_warning(f"Refine: {warning}")
            else:
                show_info(f"Refine: {int(labels.max())} grains segmented.")

        return self._start(
            lambda: segment_all_grains(image, ps, engine_name, **kw),
            done,
            "segmenting all grains",
        )
