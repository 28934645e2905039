"""Confidence and quality views of the Explain dock (boxes, histogram, mask quality).

A mixin of :class:`~napari_microstructure.widgets.explain.ExplainWidget`: it holds the actions
that restyle existing layers and follow the detections layer, so the dock module keeps to the
saliency work.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from napari.utils.notifications import show_error

from .._layers import (
    class_box_colors,
    detections_from_layer,
    labels_quality,
    plane_index,
    style_boxes,
)
from .._layers.explain import MAX_DIRECT_ID, renumbered_ids, show_quality_labels
from .._layers.plane import plane_suffix, plane_text

#: metadata of a low-confidence map: the confidence threshold it was drawn at
THRESHOLD_KEY = "microstructure_threshold"


STALE_MAP = "The low-confidence map shows threshold"


def no_quality_reason(labels: Any) -> str:
    """Why the masks layer ``labels`` (or None) cannot be coloured by quality, in plain words."""
    from ..core.explain import quality_column

    refine = "click a grain or refine boxes in Refine to get scored masks"
    if labels is None:
        return f"no masks to colour by quality: {refine}, then choose them under 'refined masks'."
    feats = labels.features
    column = quality_column(feats)
    if column is None:
        return (
            f"'{labels.name}' has no quality scores: choose the objects layer Refine made "
            "from clicks or boxes."
        )
    if len(feats) == 0:
        return f"'{labels.name}' has no objects yet: {refine}."
    if feats[column].isna().all():
        return (
            f"the objects of '{labels.name}' have no quality score (grains from 'segment all "
            f"grains' are not scored); {refine}."
        )
    return (
        f"'{labels.name}' has no numeric 'quality' or 'score' values with whole-number label "
        "ids; choose the objects layer Refine made from clicks or boxes."
    )


class ConfidenceViews:
    """Box styling by confidence, confidence histogram, quality overlay, selection tracking."""

    def style_boxes(self) -> None:
        """Colour the detections by confidence (ramp and opacity) and refresh the histogram."""
        from ..core.explain import box_styles, near_threshold

        boxes = self.detections_layer
        if boxes is None or len(boxes.data) == 0:
            show_error("Explain: no detections to style; run Detect first.")
            return
        conf = detections_from_layer(boxes)["confidence"].to_numpy(dtype=float)
        # a box drawn by hand has no confidence: it is the expert's, shown as certain
        conf = np.where(np.isfinite(conf), conf, 1.0)
        style_boxes(boxes, box_styles(conf, self.threshold).edge_color)
        self._by_confidence = boxes
        n_near = int(near_threshold(conf, self.threshold).sum())
        self._info.value = f"{len(conf)} boxes; {n_near} within 0.15 of the threshold"
        self.update_histogram()

    def class_colours(self) -> None:
        """Give the detections back their per-class colours."""
        boxes = self.detections_layer
        self._by_confidence = None
        if boxes is not None and len(boxes.data):
            style_boxes(boxes, class_box_colors(boxes))

    def _on_threshold(self, _value: Any = None) -> None:
        """A new threshold: boxes coloured by confidence are coloured again, the histogram
        redrawn, and a low-confidence map drawn at another threshold is said to be out of date
        (it takes the detector again)."""
        boxes = self.detections_layer
        restyled = boxes is not None and boxes is self._by_confidence and len(boxes.data) > 0
        if restyled:
            self.style_boxes()
        else:
            self.update_histogram()
        low = self.layer("low confidence")
        drawn = low.metadata.get(THRESHOLD_KEY) if low is not None else None
        if drawn is not None and abs(float(drawn) - self.threshold) > 1e-9:
            self._info.value = (f"{self._info.value}. " if restyled else "") + (
                f"{STALE_MAP} {float(drawn):.2f}: press "
                f"Low-confidence map to draw it at {self.threshold:.2f}."
            )
        elif not restyled and str(self._info.value).startswith(STALE_MAP):
            self._info.value = ""  # back at the map's threshold: the map is current again

    def show_quality(self) -> None:
        """Labels coloured by each object's quality score (viridis: dark = poor, yellow = good)."""
        from ..core.explain import quality_colors

        labels = self.labels_layer
        found = labels_quality(labels) if labels is not None else None
        if found is None:
            why = no_quality_reason(labels)
            self._info.value = f"No quality overlay: {why}"
            show_error(f"Explain: {why}")
            return
        ids, values, column = found
        colors = quality_colors(ids, values)
        name = f"{labels.name} {column}{plane_suffix(labels)}"
        try:
            show_quality_labels(self._viewer, labels, colors, name)
        except ValueError as err:  # too many objects to colour without numba
            self._info.value = f"No quality overlay: {err}."
            show_error(f"Explain: no quality overlay: {err}.")
            return
        finite = values[np.isfinite(values)]
        plane = plane_index(labels)
        where = f" (plane {plane_text(plane)} on screen)" if plane else ""
        if finite.size:
            self._info.value = (
                f"{column}: {finite.size} objects, min {finite.min():.2f}, "
                f"median {np.median(finite):.2f}{where}"
            )
        if renumbered_ids(colors):
            self._info.value = (
                f"{self._info.value}; overlay ids numbered 1, 2, ... (napari colours ids above "
                f"{MAX_DIRECT_ID} only with the numba package)"
            ).lstrip("; ")

    def update_histogram(self) -> None:
        """Redraw the histogram of the detections' confidences."""
        from ..core.explain import confidence_histogram

        boxes = self.detections_layer
        if boxes is not None and "confidence" in boxes.features and len(boxes.features):
            counts, edges = confidence_histogram(boxes.features["confidence"].to_numpy(float))
            self._histogram.plot(counts, edges, self.threshold)
        else:
            self._histogram.plot(None, None, self.threshold)

    def _pick_defaults(self, _event: Any = None) -> None:
        """Pre-select the detections (boxes with confidences) and the masks with a quality:
        masks with at least one score before masks whose quality column is empty (the grains
        of 'segment all grains' are not scored), which are still shown if none has scores.

        Only a box's own choice is replaced: a layer the user picked (boxes drawn by hand,
        unscored masks) stays chosen until the user picks another, and the dock's pick is the
        box's own (:class:`.LayerBox`), so a better layer added later still replaces it."""
        from ..core.explain import quality_column

        for combo, tiers in (
            (self._boxes, (lambda lay: "confidence" in lay.features,)),
            (
                self._masks,
                (
                    lambda lay: labels_quality(lay) is not None,
                    lambda lay: quality_column(lay.features) is not None,
                ),
            ),
        ):
            if not combo.own_choice:
                continue
            current = combo.value
            for wanted in tiers:
                if current is not None and wanted(current):
                    break
                found = [c for c in combo.choices if c is not None and wanted(c)]
                if found:
                    combo.pick(found[-1])  # the dock's pick, not the user's
                    break

    def _on_boxes_layer(self, _value: Any = None) -> None:
        self._unwatch()
        self._by_confidence = None
        self._watched = self.detections_layer
        if self._watched is not None:
            self._watched.events.features.connect(self._on_features)
            self._watched.events.data.connect(self._drop_queued)
            self._watched.selected_data.events.items_changed.connect(self._on_selection)
        self.update_histogram()

    def _unwatch(self) -> None:
        if self._watched is not None:
            self._watched.events.features.disconnect(self._on_features)
            self._watched.events.data.disconnect(self._drop_queued)
            self._watched.selected_data.events.items_changed.disconnect(self._on_selection)
        self._watched = None

    def _on_selection(self, _event: Any = None) -> None:
        boxes = self.detections_layer
        if not (self._on_click.value and boxes is not None and len(boxes.selected_data) == 1):
            return
        index = next(iter(boxes.selected_data))
        if self.busy:  # the latest box selected meanwhile is explained when the run ends
            self._queued_box = (boxes, index, self.image_layer)
            self._info.value = f"box {index} is explained when the current run ends"
            return
        self.explain_selected(index)

    def _drop_queued(self, _event: Any = None) -> None:
        """Forget the box queued for explaining (Cancel, or the boxes changed: its index may
        now be another box's)."""
        if self._queued_box is not None:
            self._queued_box = None
            self._info.value = ""

    def _on_cancel(self) -> None:
        self._drop_queued()
        super()._on_cancel()

    def _on_idle(self) -> None:
        queued, self._queued_box = self._queued_box, None
        if queued is None or not self._on_click.value or queued[0] is not self.detections_layer:
            return
        boxes, index, image = queued
        if image is not None and image is not self.image_layer:
            # the image it was selected on was closed or another one chosen: never explain it
            # on another image (the combo's fallback)
            gone = all(lay is not image for lay in self._viewer.layers)
            why = f"{image.name} was closed" if gone else "another image is chosen now"
            self._info.value = f"box {index} was not explained: {why}; select it again."
            return
        if index < len(boxes.data):  # the box may have been deleted meanwhile
            self.explain_selected(index)

    def _on_features(self, _event: Any = None) -> None:
        self.update_histogram()
