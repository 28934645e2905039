"""Pixel size dock: see, set or calibrate the µm per pixel of an image layer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import CheckBox, Container, FloatSpinBox, LineEdit, PushButton
from napari.layers import Image, Labels, Points, Shapes
from napari.utils.notifications import show_error, show_info

from .._layers import layer_pixel_size, own_layer, set_pixel_size, units_like, yx_shape
from .._layers.image import OUTPUT_KEY, PIXEL_SIZE_KEY, scale_um
from .._layers.overlay import OVER_KEY, image_pixels, overlay_unit
from .._layers.shapes import relay_overlay
from ..core.imageio import parse_length
from ._base import WorkerWidget, info_label
from ._events import EventHooks
from ._refine_session import IMAGE_KEY as REFINE_IMAGE_KEY

if TYPE_CHECKING:
    import napari

SCALE_LINE_LAYER = "scale-bar line"
LINE_OUTPUT = "scale:line"


def scale_bar(viewer: napari.viewer.Viewer) -> Any:
    """The viewer's scale-bar overlay (``viewer.scale_bar`` before napari 0.9 moved it)."""
    overlays = getattr(getattr(viewer, "canvas", None), "overlays", None)
    return getattr(overlays, "scale_bar", None) or viewer.scale_bar


def show_scale_bar(viewer: napari.viewer.Viewer, visible: bool = True) -> None:
    """Show (or hide) the scale bar, bottom left: napari's messages pop up bottom right."""
    bar = scale_bar(viewer)
    bar.visible = bool(visible)
    if visible and str(getattr(bar.position, "value", bar.position)) == "bottom_right":
        bar.position = "bottom_left"


def _unknown_why(layer: Any) -> str:
    """Why a layer has no pixel size: "not square (0.6 µm wide, 0.3 µm high)" when its rows
    and columns scale differ (the pixel size rule, :func:`layer_pixel_size`), else "unknown"."""
    size = scale_um(layer)
    if not (np.all(np.isfinite(size)) and size.min() > 0) or np.isclose(*size, rtol=1e-6):
        return "unknown"
    return f"not square ({size[1]:.6g} µm wide, {size[0]:.6g} µm high)"


class ScaleWidget(WorkerWidget):
    """Show where a layer's pixel size came from; set it by value or from a drawn scale bar."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer)
        self._exact: float | None = None  # the pixel size shown, before the box rounds it
        self._hooks = EventHooks()  # the chosen image's scale and units, followed
        self._disconnects.append(self._hooks.clear)
        self._image = self._layer_combo(Image, "image")
        self._found = info_label()
        self._value = FloatSpinBox(label="µm / pixel", min=0.0, max=1e6, step=0.01, value=0.0)
        self._value.native.setDecimals(6)
        self._same_size = CheckBox(text="also the layers laid over it", value=True)
        self._apply = PushButton(text="Apply pixel size")
        self._bar_length = LineEdit(label="bar length", value="50 µm")
        self._draw = PushButton(text="Draw a line along the scale bar")
        self._from_line = PushButton(text="Calibrate from the line")
        self._scale_bar = CheckBox(text="show scale bar", value=True)

        self._image.changed.connect(self._on_image)
        self._apply.changed.connect(self._on_apply)
        self._draw.changed.connect(self._on_draw)
        self._from_line.changed.connect(self._on_from_line)
        self._scale_bar.changed.connect(self._on_scale_bar)
        self.extend(
            [
                self._image,
                self._found,
                self._value,
                self._same_size,
                self._apply,
                Container(widgets=[self._bar_length, self._draw, self._from_line]),
                self._scale_bar,
            ]
        )
        self._on_image()
        self._on_scale_bar()

    # -- public API -------------------------------------------------------------------------
    @property
    def pixel_size(self) -> float | None:
        """Pixel size (µm) of the chosen image layer, None when unknown."""
        layer = self._image.value
        return layer_pixel_size(layer) if layer is not None else None

    def apply(self, pixel_size_um: float) -> None:
        """Set the chosen layer's pixel size (and that of same-sized layers when ticked)."""
        layer = self._image.value
        if layer is None:
            show_error("Pixel size: open an image first.")
            return
        if not pixel_size_um > 0:
            show_error("Pixel size: enter a positive number of µm per pixel.")
            return
        targets = self._targets(layer)
        line = self._line_layer()  # the dock's own line stays on the bar, ticked or not
        if line is not None and line not in targets and _lies_on(line, layer):
            targets.append(line)
        overlays = self._overlays(targets)  # found in the old placement, before the change
        for other in targets:
            drawn = isinstance(other, (Points, Shapes)) and PIXEL_SIZE_KEY not in other.metadata
            set_pixel_size(other, pixel_size_um)
            other.metadata = {**other.metadata, "pixel_size_source": "user"}
            if drawn:  # the user's points or shapes: data stay pixels, only the scale changes
                other.metadata = {k: v for k, v in other.metadata.items() if k != PIXEL_SIZE_KEY}
        for overlay, image, unit in overlays:
            relay_overlay(overlay, image, unit, pixel_size_um)
        self._value.value = pixel_size_um
        self._on_image()
        self._viewer.reset_view()

    def calibrate(self, line_px: float, length_um: float) -> float:
        """Pixel size from a scale bar ``line_px`` pixels long that stands for ``length_um``."""
        if line_px <= 0:
            raise ValueError("the drawn line has no length")
        if not length_um > 0:
            raise ValueError("the scale bar's length must be a positive number of µm")
        pixel_size = length_um / line_px
        self.apply(pixel_size)
        return pixel_size

    # -- handlers ---------------------------------------------------------------------------
    def _targets(self, layer: Any) -> list[Any]:
        """The layer and, when ticked, those laid over it: images and labels of its size placed
        on its rows and columns (or made by a dock from it), an uncalibrated labels layer of its
        size, and the user's points or shapes drawn in its pixel frame (same scale and offset;
        the docks' own are :meth:`_overlays`). A layer with a pixel size of its own that differs
        from the image's is left as it is."""
        if not self._same_size.value:
            return [layer]
        shape, old = yx_shape(layer), layer_pixel_size(layer)
        # other images in the same pixel frame: drawings there may be theirs
        others = [
            o
            for o in self._viewer.layers
            if isinstance(o, Image) and yx_shape(o) != shape and _same_frame(o, layer)
        ]
        # images of its size placed elsewhere: an uncalibrated labels layer may be theirs
        rivals = [
            o
            for o in self._viewer.layers
            if isinstance(o, Image) and yx_shape(o) == shape and not _lies_on(o, layer)
        ]

        def laid_over(other: Any) -> bool:
            if isinstance(other, (Points, Shapes)):
                drawn = (
                    other.ndim == layer.ndim
                    and (other.ndim > 2 or PIXEL_SIZE_KEY not in other.metadata)
                    and _same_frame(other, layer)
                )
                if not drawn or not others or not len(other.data):
                    return drawn  # one image in this frame: what is drawn there is its own
                on_this = _inside(other, shape)
                on_other = any(_inside(other, yx_shape(o)) for o in others)
                if on_this != on_other:
                    return on_this  # drawn within this image only, or within another only
                skipped.append(other.name)
                return False
            # images and labels of its rows x columns, a stack's or a plane's (e.g. a
            # prediction from one plane of the stack)
            if not isinstance(other, (Image, Labels)) or yx_shape(other) != shape:
                return False
            own = layer_pixel_size(other)
            if own is not None and (old is None or not np.isclose(own, old, rtol=1e-6)):
                kept.append(f"'{other.name}' ({own:.6g} µm/px)")  # e.g. another file's
                return False
            if _lies_on(other, layer) or _made_from(other, layer):
                return True
            if isinstance(other, Labels) and own is None:  # e.g. a label image read in pixels
                if not rivals:
                    return True
                skipped.append(other.name)
            return False

        skipped: list[str] = []
        kept: list[str] = []
        out = [other for other in self._viewer.layers if other is layer or laid_over(other)]
        if skipped:
            names = ", ".join(f"'{n}'" for n in skipped)
            show_info(
                f"Pixel size: {names} left as it is: another image of the same size or "
                f"placement lies there too, so it may belong to it rather than to '{layer.name}'."
            )
        if kept:
            show_info(
                f"Pixel size: {', '.join(kept)} left as it is: a pixel size of its own, not "
                f"that of '{layer.name}'. Choose it above to change it."
            )
        images = [o.name for o in out if o is not layer and _users_image(o)]
        if images:
            show_info(
                f"Pixel size: also set on {', '.join(repr(n) for n in images)}, laid over "
                f"'{layer.name}' (untick 'also the layers laid over it' to set it alone)."
            )
        return out

    def _overlays(self, targets: list[Any]) -> list[tuple[Any, Any, float]]:
        """When ticked, the docks' 2-D points and shapes (data in µm, a pixel size in their
        metadata) drawn on one of the images about to change, each with that image and its data
        units per pixel (:func:`overlay_unit`): they keep to the same pixels at the new size.
        The user's own keep their data; :meth:`_targets` rescales them like the image."""
        if not self._same_size.value:
            return []
        images = {str(t.unique_id): t for t in targets if isinstance(t, Image)}
        found = []
        for other in self._viewer.layers:
            image = images.get(other.metadata.get(OVER_KEY))
            ours = isinstance(other, (Points, Shapes)) and PIXEL_SIZE_KEY in other.metadata
            unit = overlay_unit(other, image) if ours and image is not None else None
            if unit is not None:
                found.append((other, image, unit))
        return found

    def _on_image(self, _value: Any = None) -> None:
        self._hooks.clear()
        layer = self._image.value
        if layer is not None:  # a scale set later (napari's console, a plugin) is shown too
            self._hooks.connect(layer.events, ("scale", "units"), self._show_pixel_size)
        self._show_pixel_size()

    def _show_pixel_size(self, _event: Any = None) -> None:
        layer = self._image.value
        if layer is None:
            self._found.value = "no image layer"
            self._exact, self._value.value = None, 0.0
            return
        ps = layer_pixel_size(layer)
        source = layer.metadata.get("pixel_size_source", "")
        stored = layer.metadata.get(PIXEL_SIZE_KEY)
        if ps and not (stored and np.isclose(float(stored), ps, rtol=1e-6, atol=0)):
            source = "the layer's scale"  # none stored, or the scale changed since
        self._exact = ps
        if ps:
            self._found.value = f"{ps:.6g} µm/px" + (f" (from {source})" if source else "")
            self._value.value = ps
        else:
            self._found.value = f"{_unknown_why(layer)}: measurements are in pixels"
            self._value.value = 0.0  # not the pixel size of the image chosen before

    def _on_apply(self) -> None:
        value = float(self._value.value)
        exact = self._exact
        # the box shows 6 decimals: the file's own value (an SEM's 3.90625e-4 µm, say) is
        # applied as it is unless the user changed it
        self.apply(exact if exact and abs(value - exact) <= 0.5e-6 else value)

    def _on_draw(self) -> None:
        layer = self._image.value
        if layer is None:
            show_error("Pixel size: open an image first.")
            return
        lines = self._line_layer()
        if lines is None:
            lines = self._viewer.add_shapes(
                ndim=layer.ndim,  # a stack's line lies on its planes
                name=SCALE_LINE_LAYER,
                edge_color="yellow",
                edge_width=2,
                scale=layer.scale,
                translate=layer.translate,
                metadata={OUTPUT_KEY: LINE_OUTPUT},
                **units_like(layer, layer.ndim),
            )
        lines.mode = "add_line"
        self._viewer.layers.selection.active = lines
        show_info("Draw a line from one end of the scale bar to the other, then 'Calibrate'.")

    def _on_from_line(self) -> None:
        layer = self._image.value
        lines = self._line_layer()
        if layer is None or lines is None:
            show_error("Pixel size: draw a line along the scale bar first.")
            return
        if not len(lines.data):
            show_error("Pixel size: the scale-bar layer has no line yet.")
            return
        try:
            length_um = parse_length(str(self._bar_length.value))
        except ValueError as exc:
            show_error(f"Pixel size: {exc}")
            return
        # the line's ends in the image's pixels (through both layers' placement, affine too)
        ends = image_pixels(lines, layer, np.asarray(lines.data[-1], dtype=float))
        line_px = float(np.linalg.norm(ends[-1] - ends[0]))
        try:
            ps = self.calibrate(line_px, length_um)
        except ValueError as exc:
            show_error(f"Pixel size: {exc}")
            return
        show_info(f"Pixel size set to {ps:.6g} µm/px from a {line_px:.1f} px scale bar.")

    def _line_layer(self) -> Shapes | None:
        """The dock's scale-bar line layer (not another layer of that name)."""
        return own_layer(self._viewer, LINE_OUTPUT, Shapes)

    def _on_scale_bar(self, _value: Any = None) -> None:
        # the bar's unit follows the layers' units (µm once a pixel size is set)
        show_scale_bar(self._viewer, bool(self._scale_bar.value))


def _same_frame(a: Any, b: Any) -> bool:
    """Whether two layers have the same scale and offset (all axes)."""
    return (
        a.ndim == b.ndim
        and np.allclose(a.scale, b.scale)
        and np.allclose(a.translate, b.translate)
    )


def _inside(drawn: Any, shape: tuple[int, int]) -> bool:
    """Whether a Points or Shapes layer's data lie on an image of ``shape`` (same frame)."""
    box = np.asarray(drawn.extent.data, dtype=float)[:, -2:]
    return bool(np.all(box[0] >= -0.5 - 1e-6) and np.all(box[1] <= np.asarray(shape) - 0.5 + 1e-6))


def _lies_on(overlay: Any, image: Any) -> bool:
    """Whether a layer is placed on ``image``'s rows and columns (same scale and offset)."""
    return np.allclose(overlay.scale[-2:], image.scale[-2:]) and np.allclose(
        overlay.translate[-2:], image.translate[-2:]
    )


def _made_from(other: Any, image: Any) -> bool:
    """Whether a dock made ``other`` from ``image`` (its result mark or Refine's tag)."""
    uid, meta = str(image.unique_id), other.metadata or {}
    return uid in str(meta.get(OUTPUT_KEY) or "") or meta.get(REFINE_IMAGE_KEY) == uid


def _users_image(layer: Any) -> bool:
    """Whether ``layer`` is an image of the user's (not a dock's result)."""
    return isinstance(layer, Image) and not (layer.metadata or {}).get(OUTPUT_KEY)
