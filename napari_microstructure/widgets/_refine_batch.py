"""The Refine dock's work on a whole image: every box to a mask, and segment-all-grains."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
from napari.utils.notifications import show_error, show_info, show_warning

from .. import _layers as L
from .._layers.plane_source import read_pixels
from ..core.grains import no_grains_warning, segment_all_grains
from ..core.progress import Progress
from ..core.refine.batch import BoxMasks, masks_from_boxes
from ._refine_checks import box_planes, boxes_cut
from ._refine_predict import plane_source


class BatchMixin:
    """``refine_boxes`` and ``segment_all`` of :class:`~.refine.RefineWidget`."""

    def refine_boxes(self) -> Any:
        """Turn every box of the chosen Shapes layer (e.g. detections) into an object mask."""
        shapes = self._boxes.value
        if shapes is None or not len(shapes.data):
            show_error("Refine: choose a Shapes layer with boxes (e.g. the detections).")
            return None
        if not self._plane_on_screen(self.image_layer, "Refine"):
            return None
        s = self._ensure_layers()
        return None if s is None else self._refine_boxes(s, shapes)

    def _refine_boxes(self, s: Any, shapes: Any) -> Any:
        # a Shapes layer of a stack has the planes too: only its boxes on the plane on screen
        plane = L.plane_index(s.image)
        planes = box_planes(shapes, s.image)
        here = np.array([p is None or p == plane for p in planes], bool)
        off = int((~here).sum())
        if not here.any():
            show_warning(
                f"Refine: all {off} boxes of '{shapes.name}' lie on other planes of the stack "
                "than the one on screen: show a box's plane to refine it."
            )
            return None
        if not self._ready_for(s.image):
            return self._prepare(s, lambda: self._refine_boxes(s, shapes))
        # boxes drawn by hand have no class: they take the dock's, detections keep theirs
        table = L.detections_from_layer(shapes, default_class=self.class_name, image=s.image)
        table = table[here[: len(table)]].reset_index(drop=True)
        boxes = table[["x1", "y1", "x2", "y2"]].to_numpy()
        engine, engine_name, field = self._engine, self.engine_name, self.class_name

        def done(found: BoxMasks) -> None:
            if self._layers_gone(s, "refine all detections"):
                return
            self._new_object(s)
            classes = list(table["class_name"])
            made = s.objects.add_box_masks(found.masks, classes, engine_name, plane, field, boxes)
            cut = boxes_cut(engine, found.masks, boxes)
            self._tile_cut = cut > 0
            notes = _box_notes(found, made, off, cut)
            text = f"Refine: {made} of {found.total + off} boxes turned into masks"
            if notes:
                show_warning(f"{text}; {' '.join(notes)}")
            else:
                show_info(f"{text}.")

        return self._start(lambda: masks_from_boxes(engine, boxes), done, "refining boxes")

    def segment_all(self) -> Any:
        """Segment every grain of the plane on screen into its objects layer, replacing the
        objects there (one undo step: **u** brings them back)."""
        if not self._plane_on_screen(self.image_layer, "Refine"):  # (before layers are made)
            return None
        try:  # (before the layers are made: a refused run leaves no empty objects layer)
            kw = self._engines.segment_all_kw()
        except ValueError as exc:
            show_error(f"Refine: {exc}")
            return None
        s = self._ensure_layers()
        if s is None:
            return None
        # the plane on screen, read by the worker: a lazy (dask, zarr) image may take seconds
        source, ps = plane_source(s.image), L.layer_pixel_size(s.image)
        plane = source.plane
        engine_name, class_name = self.engine_name, self.class_name
        self._save_settings()  # the pipeline's grain step is what ran last (docs/batch.md)

        def done(labels: np.ndarray) -> None:
            if self._layers_gone(s, "segment all grains"):
                return
            self._new_object(s)
            held = s.objects.replace_all(labels, class_name, engine_name, plane)
            if warning := no_grains_warning(labels):
                note = f" It replaced {_replaced(held, plane)}." if held else ""
                show_warning(f"Refine: {warning}{note}")
            else:
                note = f", replacing {_replaced(held, plane)}" if held else ""
                show_info(f"Refine: {int(labels.max())} grains segmented{note}.")

        def work() -> Generator[Progress, None, np.ndarray]:
            image = yield from read_pixels(source)
            return (yield from segment_all_grains(image, ps, engine_name, **kw))

        return self._start(work, done, "segmenting all grains")

    def _layers_gone(self, s: Any, what: str) -> bool:
        """True (the user told) if the image was closed during the run; its objects layer, if
        deleted meanwhile, is made again (or found) for the result to go to."""
        if self._input_closed(s.image, f"Refine: {what}"):
            return True
        if s.labels not in self._viewer.layers:
            self._sessions.ensure(s.image)  # (``s`` is the image's session: it gets the layer)
        return False


def _replaced(held: int, plane: tuple[int, ...]) -> str:
    """What a segment-all replaced: ``held`` objects of the plane (all of a 2-D image)."""
    what = "one object" if held == 1 else f"{held} objects"
    them = "it" if held == 1 else "them"
    return f"the {what} of this {'plane' if plane else 'image'} (u brings {them} back)"


def _box_notes(found: BoxMasks, made: int, off: int, cut: int) -> list[str]:
    """Why some boxes made no object, and which masks are likely cut at a tile edge."""
    notes = []
    covered = len(found.masks) - made
    if covered:
        notes.append(
            f"{covered} made nothing: they lie on existing objects, which a new mask never "
            "overwrites."
        )
    empty = found.total - len(found.masks) - len(found.skipped)
    if empty:
        notes.append(f"{empty} gave an empty mask.")
    if found.skipped:
        notes.append(found.skipped_message() or "")
    if off:
        notes.append(f"{off} on other planes of the stack skipped (show their plane to refine).")
    if cut:
        notes.append(
            f"{cut} of the masks reach the edge of the Segment Anything tiles they were "
            "decoded in and are likely cut there."
        )
    return notes
