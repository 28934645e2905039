"""Explain dock: where the detector looked (saliency), how sure it was, and mask quality."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSlider,
    FloatSpinBox,
    PushButton,
)
from napari.layers import Image, Labels, Shapes
from napari.utils.notifications import show_error, show_info, show_warning

from .._layers import detections_from_layer, layer_pixel_size
from .._layers.explain import (
    BLENDINGS,
    SALIENCY_COLORMAPS,
    overlay_colormap,
    overlay_layer,
    show_image_overlay,
)
from .._layers.plane import made_on_other_plane, plane_text
from .._layers.plane_source import PlaneSource, read_pixels
from ..core.settings import get_section
from ._base import WorkerWidget, info_label, prefer_role
from ._explain_box import explain_box, found_on, unmade_prediction
from ._explain_views import THRESHOLD_KEY, ConfidenceViews
from ._histogram import HistogramBox
from ._values import PathValue, Value, within

if TYPE_CHECKING:
    import napari

WHOLE_METHODS = ("eigencam", "gradcam", "layercam")
OBJECT_METHODS = ("layercam", "hirescam", "gradcam", "gradcam++")


class ExplainWidget(ConfidenceViews, WorkerWidget):
    """Saliency of the detection model, confidence view of its boxes, quality of masks."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer)
        detect_cfg = get_section("pipeline.detect", {"model": None, "conf": 0.25})
        self._detector: Any = None
        self._detector_key: str | None = "unset"
        self._saliency: np.ndarray | None = None
        self._object_result: Any = None
        self._low_conf: np.ndarray | None = None
        self._watched: Shapes | None = None
        # a box selected while busy: its layer, index and the image it is to be explained on
        self._queued_box: tuple[Shapes, int, Image | None] | None = None
        self._by_confidence: Shapes | None = None  # the boxes layer coloured by confidence

        self._image = self._layer_combo(Image, "image")
        self._boxes = self._layer_combo(Shapes, "detections", nullable=True)
        self._masks = self._layer_combo(
            Labels, "refined masks", nullable=True, rank=prefer_role("instances")
        )
        self._model = FileEdit(
            label="model (.pt)", mode="r", filter="*.pt", value=detect_cfg["model"] or ""
        )
        self._model.tooltip = "Empty = the model last used by Detect (or the demo model)"
        self._method = ComboBox(label="whole image", choices=WHOLE_METHODS, value="eigencam")
        self._obj_method = ComboBox(label="per object", choices=OBJECT_METHODS, value="layercam")
        # shown beside their buttons without a label: the tooltip and a screen reader name them
        for combo, what in ((self._method, "the whole image"), (self._obj_method, "one box")):
            combo.tooltip = f"Saliency method for {what}"
            combo.native.setAccessibleName(f"saliency method for {what}")
        self._explain_btn = PushButton(text="Explain image")
        self._object_btn = PushButton(text="Explain selected box")
        self._on_click = CheckBox(text="explain a box when it is selected", value=True)
        self._colormap = ComboBox(label="colormap", choices=SALIENCY_COLORMAPS, value="inferno")
        self._opacity = FloatSlider(label="opacity", min=0.0, max=1.0, step=0.05, value=0.6)
        self._blending = ComboBox(label="blending", choices=BLENDINGS, value="additive")
        self._threshold = FloatSpinBox(
            label="conf. threshold",
            min=0.0,
            max=1.0,
            step=0.05,
            value=within(float(detect_cfg["conf"]), 0.0, 1.0),
        )
        self._style_btn = PushButton(text="Colour boxes by confidence")
        self._class_btn = PushButton(text="Class colours")
        self._lowconf_btn = PushButton(text="Low-confidence map")
        self._quality_btn = PushButton(text="Quality overlay")
        self._info = info_label()
        self._histogram = HistogramBox(xlabel="confidence", ylabel="boxes")

        self._explain_btn.changed.connect(self.explain_image)
        self._object_btn.changed.connect(lambda: self.explain_selected())
        self._style_btn.changed.connect(self.style_boxes)
        self._class_btn.changed.connect(self.class_colours)
        self._lowconf_btn.changed.connect(self.show_low_confidence)
        self._quality_btn.changed.connect(self.show_quality)
        for w in (self._colormap, self._opacity, self._blending):
            w.changed.connect(self._on_style)
        self._boxes.changed.connect(self._on_boxes_layer)
        self._threshold.changed.connect(self._on_threshold)
        self.extend(
            [
                self._image,
                self._boxes,
                self._masks,
                self._model,
                Container(
                    widgets=[self._method, self._explain_btn], layout="horizontal", labels=False
                ),
                Container(
                    widgets=[self._obj_method, self._object_btn], layout="horizontal", labels=False
                ),
                self._on_click,
                self._colormap,
                self._opacity,
                self._blending,
                self._progress_row,
                self._threshold,
                Container(
                    widgets=[self._style_btn, self._class_btn], layout="horizontal", labels=False
                ),
                self._lowconf_btn,
                self._histogram,
                self._quality_btn,
                self._info,
            ]
        )
        self._pick_defaults()
        viewer.layers.events.inserted.connect(self._pick_defaults)
        self._disconnects.append(
            lambda: viewer.layers.events.inserted.disconnect(self._pick_defaults)
        )
        self._on_boxes_layer()

    # -- public state -----------------------------------------------------------------------
    image_layer = Value("_image")
    detections_layer = Value("_boxes")
    labels_layer = Value("_masks")
    model_path = PathValue("_model")
    method = Value("_method", str)
    opacity = Value("_opacity", float)
    blending = Value("_blending", str)
    threshold = Value("_threshold", float)

    @property
    def saliency(self) -> np.ndarray | None:
        """Last whole-image map (float32, image size, 0..1)."""
        return self._saliency

    @property
    def object_result(self) -> Any:
        """Last per-object result (``core.explain.ObjectSaliency``)."""
        return self._object_result

    @property
    def low_confidence(self) -> np.ndarray | None:
        return self._low_conf

    @property
    def histogram(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(counts, bin edges) of the detections' confidences shown in the dock."""
        h = self._histogram
        return None if h.counts is None else (h.counts, h.edges)

    def layer(self, name_suffix: str) -> Image | None:
        """The overlay layer the dock made for the chosen image, ``"<image> <suffix>"``
        (saliency, object saliency, ...): found by the dock's mark and the image layer's
        identity, never by name (the user may have renamed the image since)."""
        img = self.image_layer
        return None if img is None else overlay_layer(self._viewer, img, name_suffix)

    # -- actions ----------------------------------------------------------------------------
    def explain_image(self) -> Any:
        """Whole-image saliency with the chosen method, shown over the image."""
        img = self._need_image()
        if img is None:
            return None
        # read by the worker: a lazily loaded plane may take seconds
        source, ps, method = PlaneSource.of(img), layer_pixel_size(img), self.method
        conf, plane = self.threshold, source.plane  # a stack: the plane explained

        def make_gen():
            from ..core.explain import saliency_map

            det = yield from self._load_detector()
            image = yield from read_pixels(source)
            return (yield from saliency_map(image, det, method, ps, conf=conf))

        def done(result: np.ndarray) -> None:
            self._saliency = result
            self._show(result, img, "saliency", plane=plane)
            if method != "eigencam" and not result.any():
                show_info(
                    f"Explain: no detection reaches the confidence threshold {conf:.2f}, so "
                    f"{method} has nothing to explain (the map is empty); lower the threshold "
                    "or use eigencam."
                )

        return self._start(make_gen, done, f"Explain ({method})")

    def explain_selected(self, index: int | None = None) -> Any:
        """Grad-CAM of one box of the detections layer (the selected one by default)."""
        img, boxes = self._need_image(), self.detections_layer
        if img is None:
            return None
        if boxes is None or len(boxes.data) == 0:
            show_error("Explain: run Detect first and pick its detections layer.")
            return None
        source = found_on(self._viewer, boxes)
        if source is not None and source is not img:
            show_error(
                f"Explain: these boxes were found on '{source.name}': choose that image to "
                "explain them."
            )
            return None
        made = made_on_other_plane(boxes, img)
        if made is not None:
            show_error(
                f"Explain: the boxes of '{boxes.name}' were found on plane {plane_text(made)} "
                "of the stack: show that plane to explain one."
            )
            return None
        if index is None:
            sel = sorted(boxes.selected_data)
            if not sel:
                show_error("Explain: select one box in the detections layer (select mode).")
                return None
            index = sel[0]
        # a box drawn by hand has no class (""): the class scoring highest in it is explained
        row = detections_from_layer(boxes, image=img, default_class="").iloc[int(index)]
        box = (row.x1, row.y1, row.x2, row.y2)
        cls, name = int(row.class_id), str(row.class_name)
        # a detected box's confidence picks the detection tile that made it (none: drawn)
        conf = float(row.get("confidence", np.nan)) if name else None
        source, ps = PlaneSource.of(img), layer_pixel_size(img)
        method, plane, thr = str(self._obj_method.value), source.plane, self.threshold

        def make_gen():
            det = yield from self._load_detector()
            image = yield from read_pixels(source)  # a lazy layer: read here, not in napari
            return (yield from explain_box(image, det, box, cls, name, ps, method, conf))

        def done(found: Any) -> None:
            result, explained, by_score = found
            self._object_result = result
            if self._show(result.saliency, img, "object saliency", plane=plane) is None:
                return  # its image was closed: the user was told, no line for a map not shown
            how = " (no class of its own: the class scoring highest in it)" if by_score else ""
            self._info.value = (
                f"box {index}: {explained}{how} score "
                f"{result.score:.2f} (prediction IoU {result.iou:.2f})"
            )
            # a detected box was predicted at its own confidence, even under this dock's
            # threshold (raised since, or Detect's lower)
            bar = thr if conf is None or not np.isfinite(conf) else min(thr, conf)
            unmade = unmade_prediction(result.score, result.iou, bar)
            if unmade is not None:  # the map is kept: the user sees what it explains
                show_warning(f"Explain box {index} ({explained}): {unmade}")

        worker = self._start(make_gen, done, f"Explain box ({method})")
        if worker is not None:
            self._info.value = ""  # not the last box's result beside this run's status
        return worker

    def show_low_confidence(self) -> Any:
        """Map of where the detector is unsure (near the threshold or between classes)."""
        img = self._need_image()
        if img is None:
            return None
        source, ps, thr = PlaneSource.of(img), layer_pixel_size(img), self.threshold
        plane = source.plane

        def make_gen():
            from ..core.explain import class_score_maps, low_confidence_map

            det = yield from self._load_detector()
            image = yield from read_pixels(source)  # a lazy layer: read here, not in napari
            maps = yield from class_score_maps(image, det, ps)
            return low_confidence_map(maps, thr)

        def done(result: np.ndarray) -> None:
            self._low_conf = result
            # the threshold goes with the map on the run's image, whatever is chosen now
            shown = self._show(result, img, "low confidence", colormap="magma", plane=plane)
            if shown is not None:
                shown.metadata = {**shown.metadata, THRESHOLD_KEY: thr}

        return self._start(make_gen, done, "Low-confidence map")

    # -- helpers ----------------------------------------------------------------------------
    def _load_detector(self):
        from ..core.detect import file_identity, load_detector
        from ..core.progress import Progress

        path = self.model_path
        if path is None:
            saved = get_section("pipeline.detect", {"model": None})["model"]
            path = Path(saved) if saved else None
        key = file_identity(path) or str(path)  # a model file written again is loaded again
        if self._detector is None or key != self._detector_key:
            yield Progress(0, 1, "loading the model…")
            self._detector, self._detector_key = load_detector(path), key
        return self._detector

    def _need_image(self) -> Image | None:
        if self.image_layer is None:
            show_error("Explain: open a micrograph first.")
        return self.image_layer if self._plane_on_screen(self.image_layer, "Explain") else None

    def _show(
        self,
        data: np.ndarray,
        img: Image,
        suffix: str,
        colormap: str | None = None,
        plane: tuple[int, ...] | None = None,
    ) -> Image | None:
        """Show a result of ``plane`` of ``img`` over it and return its layer (None if ``img``
        was closed)."""
        if self._input_closed(img, "Explain"):
            return None
        return show_image_overlay(
            self._viewer,
            data,
            img,
            suffix,
            plane,
            colormap=colormap or str(self._colormap.value),
            opacity=self.opacity,
            blending=self.blending,
        )

    def _on_style(self, _value: Any = None) -> None:
        for suffix in ("saliency", "object saliency"):
            lay = self.layer(suffix)
            if lay is not None:
                lay.colormap = overlay_colormap(str(self._colormap.value), self.blending)
                lay.opacity, lay.blending = self.opacity, self.blending

    def close(self) -> None:
        """Disconnect from the viewer and the watched layer."""
        self._unwatch()
        super().close()
