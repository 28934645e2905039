"""Pixel-classifier half of the Segment dock: scribbles teach it, live re-prediction, and the
classifier applied to other images or planes of a series.

A mixin of :class:`widgets.segment.SegmentWidget`, which builds the controls it uses.

The classifier is kept with the image and plane its strokes were painted on
(:class:`Taught`): on another image or plane the same strokes would mark other pixels, so
the kept classifier is applied there instead of being taught on misplaced strokes. A new
scribbles layer teaches it anew.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from napari.layers import Image, Labels
from napari.utils.notifications import show_error, show_info

from .._layers import (
    displayed_plane,
    image_array,
    new_scribbles_kwargs,
    plane_index,
    scribbles_array,
)
from .._layers.output import edited_since_written
from .._layers.plane import plane_suffix
from ..core.segment import ScribbleClassifier, apply_classifier, classify_with_scribbles

SCRIBBLE_JOB = "pixel classifier"
TWO_CLASSES = "Paint strokes of at least two classes (labels 1 and 2)."


@dataclass(frozen=True)
class Taught:
    """Where the kept classifier's strokes were painted: the scribbles layer (and its plane)
    over the image layer at plane ``plane``."""

    scribbles: Any
    scribbles_plane: tuple[int, ...]
    image: Any
    plane: tuple[int, ...]

    def strokes_of(self, scribbles: Any) -> bool:
        return self.scribbles is scribbles and self.scribbles_plane == plane_index(scribbles)

    def on(self, image: Any) -> bool:
        return self.image is image and self.plane == plane_index(image)


def describe(image: Any, plane: tuple[int, ...]) -> str:
    """An image layer's name and, in a stack, the plane: ``series (plane 1)``."""
    return f"{image.name}{plane_suffix(image, plane)}"


class ScribblePanel:
    """Scribble state and actions (expects the controls and state made by the dock)."""

    def add_scribbles_layer(self) -> Labels | None:
        """Add an empty scribbles layer over the chosen image, ready to paint class 1."""
        image = self.image_layer
        if image is None:
            show_error("Open an image first.")
            return None
        kwargs = new_scribbles_kwargs(image, name=f"{image.name} scribbles")
        layer = self._viewer.add_labels(kwargs.pop("data"), **kwargs)
        layer.mode = "paint"
        layer.brush_size = 6
        layer.selected_label = 1
        self._scribbles.reset_choices()
        self.scribbles_layer = layer
        return layer

    # -- live re-prediction -------------------------------------------------------------------
    def _watch_scribbles(self, _value: Any = None) -> None:
        self._unwatch_scribbles()
        layer = self.scribbles_layer
        if layer is not None:
            # napari's undo and redo (and a refresh) emit set_data, not paint
            self._painted.connect(layer.events, ("paint", "set_data"), self._on_paint)

    def _unwatch_scribbles(self) -> None:
        self._painted.clear()

    def _on_paint(self, _event: Any = None) -> None:
        if self.live:
            self._timer.start()

    def _on_debounced(self) -> None:
        if self.busy:  # re-run when the dock is idle again (:meth:`_on_idle`)
            self._pending = True
            return
        self.predict_scribbles(quiet=True)

    def _on_idle(self) -> None:
        """Strokes painted while the dock was busy (a classification, a U-Net training or
        prediction) are re-predicted once it is idle, however the run ended."""
        if self._pending:
            self._pending = False
            if self.live:
                self.predict_scribbles(quiet=True)

    # -- prediction ---------------------------------------------------------------------------
    def predict_scribbles(self, quiet: bool = False) -> Any:
        """Teach the pixel classifier with the scribbles and classify the whole image; on
        another image or plane than the strokes were painted on, apply the kept classifier.

        ``quiet`` (live re-prediction): no error pop-ups, nothing done when neither the
        strokes nor the image changed since the last run.
        """
        image, scribbles = self.image_layer, self.scribbles_layer
        if image is None or scribbles is None:
            if not quiet:
                show_error("Choose an image and a scribbles layer (New scribbles layer).")
            return None
        try:
            arr = image_array(image)
            plane = plane_index(image)
            strokes = np.ascontiguousarray(displayed_plane(scribbles))
        except ValueError as exc:
            show_error(str(exc))
            return None
        run = (image, plane, scribbles, plane_index(scribbles), zlib.crc32(strokes.data))
        if quiet and self._last_run == run:
            return None  # e.g. the scribbles were shown again: nothing to re-predict
        taught = self._taught
        self._pending = False
        if taught is not None and taught.strokes_of(scribbles) and not taught.on(image):
            return self._apply(image, arr, taught, run, quiet)
        try:
            marks = scribbles_array(scribbles, arr.shape[:2])
        except ValueError as exc:
            show_error(str(exc))
            return None
        if len(set(marks[marks > 0].ravel().tolist())) < 2:
            self._out_of_date(quiet)
            return None
        if self._clf_layer is not image:
            self._clf, self._clf_layer, self._taught = ScribbleClassifier(), image, None
        clf = self._clf
        done = Taught(scribbles, plane_index(scribbles), image, plane)
        return self._start(
            lambda: classify_with_scribbles(arr, marks, clf),
            lambda res: self._show_scribble_result(image, res, not quiet, run, done),
            SCRIBBLE_JOB,
        )

    def _apply(self, image: Image, arr: Any, taught: Taught, run: tuple, quiet: bool) -> Any:
        """Classify ``image`` (its plane on screen) with the classifier kept in ``taught``."""
        source, target = describe(taught.image, taught.plane), describe(image, run[1])
        note = f"taught on {source}, applied to {target}"
        try:
            self._clf.check_applicable(arr)
        except ValueError as exc:
            refused = f"not applied to {target} (taught on {source}): {exc}"
            self._status.value = f"{SCRIBBLE_JOB}: {refused}"
            if not quiet or self._told != refused:  # once while painting
                show_error(f"Segment: the pixel classifier was {refused}.")
            self._told = refused
            return None
        if self._told != note:
            show_info(
                f"Segment: the pixel classifier {note}. To teach it on {target} instead, paint "
                "in a new scribbles layer."
            )
            self._told = note
        fitted, cache = self._clf, self._other_clf
        return self._start(
            lambda: apply_classifier(arr, fitted, cache),
            lambda res: self._show_scribble_result(image, res, not quiet, run, note=note),
            SCRIBBLE_JOB,
        )

    def _out_of_date(self, quiet: bool) -> None:
        """Fewer than two classes painted (e.g. the strokes of one were erased): the prediction
        shown no longer follows the strokes. It is hidden, not deleted."""
        if not quiet:
            show_error(TWO_CLASSES)
        shown = self._prediction
        hide = (
            shown is not None
            and shown.visible
            and shown in self._viewer.layers
            and not edited_since_written(shown)  # the user's fixes stay in view
        )
        if hide:
            shown.visible = False
            self._hid_out_of_date = True
        self._last_run = None
        self._status.value = f"{SCRIBBLE_JOB}: {TWO_CLASSES[:-1].lower()} to predict" + (
            f"; '{shown.name}' is out of date and hidden" if hide else ""
        )

    def _show_scribble_result(
        self,
        image: Image,
        result: Any,
        reveal: bool = True,
        run: tuple | None = None,
        taught: Taught | None = None,
        note: str = "",
    ) -> None:
        if self._input_closed(image, "Segment"):
            return
        # a live re-prediction (as the user paints) leaves a prediction the user hid hidden
        shown = self._prediction
        hidden = shown is not None and not shown.visible and not self._hid_out_of_date
        self._hid_out_of_date = False
        plane = run[1] if run is not None else None  # the plane it classified
        self._show(image, result.labels, result.confidence, "pixel classes", plane)
        if hidden and not reveal and self._prediction is shown:
            self._prediction.visible = False
        self._last_run = run
        if taught is not None:
            self._taught, self._told = taught, None
        if note:
            self._status.value = f"{SCRIBBLE_JOB}: {note}"
