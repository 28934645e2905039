"""Pixel-classifier half of the Segment dock: scribbles teach it, live re-prediction, and the
classifier applied to other images or planes of a series.

A mixin of :class:`widgets.segment.SegmentWidget`, which builds the controls it uses.

The classifier is kept with the image and plane its strokes were painted on
(:class:`Taught`): on another image or plane the same strokes would mark other pixels, so
the kept classifier is applied there instead of being taught on misplaced strokes. A new
scribbles layer teaches it anew; so do strokes of two classes on another plane of a
scribbles layer with the stack's planes (the dock's own over a stack), which holds the strokes
of each plane apart. New strokes on the scribbles it was taught with, while another image or
plane is chosen, teach it again where they were painted (whose pixel classes follow them) before
it is applied to the one chosen.
"""

from __future__ import annotations

import zlib
from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from napari.layers import Image, Labels
from napari.utils.notifications import show_error, show_info, show_warning

from .._layers import (
    displayed_plane,
    new_scribbles_kwargs,
    plane_index,
    scribbles_array,
    yx_shape,
)
from .._layers.output import edited_since_written, own_layer
from .._layers.plane import plane_suffix
from .._layers.plane_source import PlaneSource, read_pixels
from .._layers.segment import kept_plane, result_output
from ..core.progress import rescaled
from ..core.segment import ScribbleClassifier, apply_classifier, classify_with_scribbles
from ..core.segment.scribble import check_feature_size

SCRIBBLE_JOB = "pixel classifier"
TWO_CLASSES = "Paint strokes of at least two classes (labels 1 and 2)."


@dataclass(frozen=True)
class Taught:
    """Where the kept classifier's strokes were painted: the scribbles layer (and its plane)
    over the image layer at plane ``plane``, and the checksum of those strokes."""

    scribbles: Any
    scribbles_plane: tuple[int, ...]
    image: Any
    plane: tuple[int, ...]
    strokes: int

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
        self._untaught_planes.clear()
        if layer is not None:
            self._strokes_plane = plane_index(layer)
            # napari's undo and redo (and a refresh) emit set_data, not paint
            self._painted.connect(layer.events, ("paint", "set_data"), self._on_paint)

    def _unwatch_scribbles(self) -> None:
        self._painted.clear()

    def _on_paint(self, event: Any = None) -> None:
        layer = self.scribbles_layer
        plane = plane_index(layer) if layer is not None else ()
        # napari re-slices a scribbles stack when the slider moves (set_data): no stroke
        moved = getattr(event, "type", "") == "set_data" and plane != self._strokes_plane
        left, self._strokes_plane = self._strokes_plane, plane
        if not moved:
            if self.live:
                self._timer.start()
            return
        if self._timer.isActive():
            # strokes of the plane just left, not yet taught: taught when it is shown again
            self._timer.stop()
            self._untaught_planes.add(left)
        if plane in self._untaught_planes:
            self._untaught_planes.discard(plane)
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
        if self.busy:  # before anything changes: the run going on keeps its classifier
            if quiet:
                self._pending = True  # re-predicted once the dock is idle (:meth:`_on_idle`)
            else:
                show_warning(f"{SCRIBBLE_JOB}: still busy with the previous run; cancel it first.")
            return None
        image, scribbles = self.image_layer, self.scribbles_layer
        if image is None or scribbles is None:
            if not quiet:
                show_error("Choose an image and a scribbles layer (New scribbles layer).")
            return None
        if self._refused_size(image, quiet) or not self._plane_on_screen(image, "Segment", quiet):
            return None
        try:
            # the image's plane is read by the worker (a lazy one may take seconds): the run
            # is told by the image layer and plane and the strokes' checksum, not its pixels
            source = PlaneSource.of(image)
            plane = source.plane
            strokes = np.ascontiguousarray(displayed_plane(scribbles))
        except ValueError as exc:
            show_error(str(exc))
            return None
        run = (image, plane, scribbles, plane_index(scribbles), zlib.crc32(strokes.data))
        if quiet and self._last_run == run:
            return None  # e.g. the scribbles were shown again: nothing to re-predict
        taught = self._taught
        self._pending = False
        classes = np.unique(strokes[strokes > 0]).size
        # the strokes it was taught with, or (scribbles with a stack's planes) none of two
        # classes yet on this plane: the kept classifier is applied; those strokes changed (or
        # its pixel classes hidden as out of date): taught again where they were painted first
        if taught is not None and taught.scribbles is scribbles and not taught.on(image):
            stale = self._pixel_classes(taught.image, taught.plane) in self._hid_out_of_date
            if taught.strokes_of(scribbles) and (taught.strokes != run[4] or stale):
                return self._reteach(image, source, taught, run, classes, quiet)
            if taught.strokes_of(scribbles) or classes < 2:
                return self._apply(image, source, taught, run, quiet)
        try:
            marks = scribbles_array(scribbles, source.shape[:2])
        except ValueError as exc:
            show_error(str(exc))
            return None
        if classes < 2:
            self._out_of_date(image, plane, quiet)
            return None
        if self._clf_layer is not image:
            self._clf, self._clf_layer, self._taught = ScribbleClassifier(), image, None
        clf = self._clf
        done = Taught(scribbles, plane_index(scribbles), image, plane, run[4])

        def teach() -> Generator[Any, None, Any]:
            pixels = yield from read_pixels(source)
            return (yield from classify_with_scribbles(pixels, marks, clf))

        return self._start(
            teach,
            lambda res: self._show_scribble_result(image, res, not quiet, run, done),
            SCRIBBLE_JOB,
        )

    def _refused_size(self, image: Image, quiet: bool) -> bool:
        """True (the user told: once while painting) if ``image``'s plane is too large for the
        pixel classifier's features; from its shape, before the strokes are read or copied."""
        rgb = bool(getattr(image, "rgb", False))
        try:
            check_feature_size(yx_shape(image), rgb)  # before the strokes are read
            return False
        except ValueError as exc:
            refused = str(exc)
        self._status.value = f"{SCRIBBLE_JOB}: not run, the image is too large"
        if not quiet or self._told != refused:
            show_error(f"Segment: the {SCRIBBLE_JOB} cannot run on {image.name}: {refused}.")
        self._told = refused
        return True

    def _reteach(
        self,
        image: Image,
        source: PlaneSource,
        taught: Taught,
        run: tuple,
        classes: int,
        quiet: bool,
    ) -> Any:
        """The strokes ``taught`` was made with changed while ``image`` (another image, or
        plane) is chosen: they teach the classifier again on ``taught``'s image and plane,
        whose pixel classes follow (out of date and hidden with fewer than two classes), and
        it is then applied to ``image``."""
        if classes < 2:
            self._out_of_date(taught.image, taught.plane, quiet)
            return None
        try:  # read by the worker, as the image it is applied to
            there = kept_plane(taught.image, taught.plane)
            marks = scribbles_array(taught.scribbles, there.shape[:2])
        except (IndexError, ValueError) as exc:  # its image no longer has that plane
            show_error(str(exc))
            return None
        done = replace(taught, strokes=run[4])
        return self._apply(image, source, taught, run, quiet, (there, marks, done))

    def _apply(
        self,
        image: Image,
        source: PlaneSource,
        taught: Taught,
        run: tuple,
        quiet: bool,
        teach: tuple[PlaneSource, Any, Taught] | None = None,
    ) -> Any:
        """Classify ``image`` (its plane on screen, ``source``, read by the worker) with the
        classifier kept in ``taught``; ``teach`` (its image's plane, the strokes, where they
        are): taught again first."""
        origin, target = describe(taught.image, taught.plane), describe(image, run[1])
        note = f"taught on {origin}, applied to {target}"
        try:  # grey or colour: told by the plane's shape, before its pixels are read
            self._clf.check_applicable(np.broadcast_to(np.uint8(0), source.shape))
        except ValueError as exc:
            refused = f"not applied to {target} (taught on {origin}): {exc}"
            self._status.value = f"{SCRIBBLE_JOB}: {refused}"
            if not quiet or self._told != refused:  # once while painting
                show_error(f"Segment: the pixel classifier was {refused}.")
            self._told = refused
            return None
        if self._told != note:
            there = (
                "paint strokes of two classes on that plane"
                if image is taught.image and taught.scribbles.ndim > 2
                else "paint in a new scribbles layer"
            )
            show_info(
                f"Segment: the pixel classifier {note}. To teach it on {target} instead, {there}."
            )
            self._told = note
        fitted, cache = self._clf, self._other_clf
        if teach is None:

            def apply() -> Generator[Any, None, Any]:
                pixels = yield from read_pixels(source)
                return (yield from apply_classifier(pixels, fitted, cache))

            return self._start(
                apply,
                lambda res: self._show_scribble_result(image, res, not quiet, run, note=note),
                SCRIBBLE_JOB,
            )
        taught_source, marks, done = teach

        def steps() -> Generator[Any, None, tuple[Any, Any]]:
            pixels = yield from read_pixels(taught_source)
            first = yield from rescaled(classify_with_scribbles(pixels, marks, fitted), 0, 50, 100)
            arr = yield from read_pixels(source)
            return first, (yield from rescaled(apply_classifier(arr, fitted, cache), 50, 100, 100))

        # off its plane the slider hides (and shows) its pixel classes, not the user
        reveal = not quiet or plane_index(done.image) != done.plane
        first_run = (done.image, done.plane, done.scribbles, done.scribbles_plane, done.strokes)

        def show(results: tuple[Any, Any]) -> None:
            if any(lay is done.image for lay in self._viewer.layers):
                self._show_scribble_result(done.image, results[0], reveal, first_run)
            self._taught = done  # (the note on applying it stays told)
            self._show_scribble_result(image, results[1], not quiet, run, note=note)

        return self._start(steps, show, SCRIBBLE_JOB)

    def _out_of_date(self, image: Image, plane: tuple[int, ...], quiet: bool) -> None:
        """Fewer than two classes painted (e.g. the strokes of one were erased): the pixel
        classes of ``image`` (of a stack, of ``plane``) no longer follow the strokes. They are
        hidden, not deleted; a result of another kind (a U-Net's) or plane is left as it is."""
        if not quiet:
            show_error(TWO_CLASSES)
        shown = self._pixel_classes(image, plane)
        # off its plane the slider hid it and would show it again there: hidden for good
        off = plane_index(image) != plane
        hide = (
            shown is not None
            and (shown.visible or off)
            and shown in self._viewer.layers
            and not edited_since_written(shown)  # the user's fixes stay in view
        )
        if hide:
            shown.visible = False  # (the slider's plane view leaves a layer so hidden hidden)
            self._hid_out_of_date.add(shown)
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
        plane = run[1] if run is not None else None  # the plane it classified
        # a live re-prediction (as the user paints) leaves pixel classes the user hid hidden
        shown = self._pixel_classes(image, plane)
        hidden = shown is not None and not shown.visible and shown not in self._hid_out_of_date
        if shown is not None:
            self._hid_out_of_date.discard(shown)
        self._show(image, result.labels, result.confidence, "pixel classes", plane)
        if hidden and not reveal and self._prediction is shown:
            self._prediction.visible = False
        self._last_run = run
        if taught is not None:
            self._taught, self._told = taught, None
        if note:
            self._status.value = f"{SCRIBBLE_JOB}: {note}"

    def _pixel_classes(self, image: Image, plane: tuple[int, ...] | None) -> Labels | None:
        """The dock's pixel classes layer of ``image`` (of a stack, of ``plane``)."""
        return own_layer(self._viewer, result_output(image, "pixel classes", plane), Labels)
