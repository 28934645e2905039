"""Layers of the Explain dock: saliency images over the micrograph, styled boxes, quality colours.

Saliency maps are arrays at the micrograph's own pixel grid, so their layers take the image
layer's scale and translate: they sit on the micrograph in µm whatever the zoom. The Explain
dock finds an image's overlays by the image layer's identity, not its name: a renamed
micrograph keeps its overlays (renamed after it when next updated).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .image import OUTPUT_KEY, layer_kwargs_like
from .labels import MAX_DIRECT_ID, has_numba
from .output import follow_name, mark_written, own_layer, release_edited, show_output
from .plane import displayed_plane, plane_suffix
from .shapes import class_color

SALIENCY_COLORMAPS = ("inferno", "magma", "viridis", "plasma", "cividis")
BLENDINGS = ("additive", "translucent")
EXPLAINS_KEY = "explains"  # metadata of an overlay: the name of the image it lies on


def overlay_colormap(name: str, blending: str) -> Any:
    """The colormap to lay a [0, 1] map on an image with ``blending``.

    Additive blending adds nothing where the map is 0, so the plain colormap works. Translucent
    blending would cover the micrograph with the colormap's dark end, so there the colormap fades
    in: transparent at 0, opaque from 0.5 up.
    """
    if blending != "translucent":
        return name
    from napari.utils.colormaps import Colormap, ensure_colormap

    ramp = np.linspace(0.0, 1.0, 256)
    colors = np.asarray(ensure_colormap(name).map(ramp), dtype=float)
    colors[:, 3] = np.clip(2.0 * ramp, 0.0, 1.0)
    return Colormap(colors, name=f"{name} fading", display_name=f"{name} (fading)")


def overlay_kwargs(
    image_layer: Any,
    name: str,
    colormap: str = "inferno",
    opacity: float = 0.6,
    blending: str = "additive",
    output: str | None = None,
    plane: Any = None,
) -> dict[str, Any]:
    """``add_image`` keyword arguments for a [0, 1] map laid over ``image_layer`` (dock result
    ``output``; by default the one of that ``name``), made from ``plane`` of a stack (default:
    the one on screen)."""
    kwargs = layer_kwargs_like(
        image_layer,
        name,
        output=output or _overlay_output(name),
        plane=plane,
        colormap=overlay_colormap(colormap, blending),
        opacity=float(opacity),
        blending=blending,
        contrast_limits=(0.0, 1.0),
    )
    kwargs["metadata"][EXPLAINS_KEY] = image_layer.name
    return kwargs


def _overlay_output(name: str) -> str:
    return f"overlay:{name}"


def is_overlay(layer: Any) -> bool:
    """True for a map a dock laid over an image (saliency, Grad-CAM): not a micrograph."""
    return EXPLAINS_KEY in (getattr(layer, "metadata", None) or {})


def is_result_map(layer: Any) -> bool:
    """True for any image a dock laid over a micrograph (a confidence map too): not a
    micrograph to work on."""
    return OUTPUT_KEY in (getattr(layer, "metadata", None) or {}) or is_overlay(layer)


def image_overlay_output(image_layer: Any, what: str) -> str:
    """The dock result of overlay ``what`` of ``image_layer``, by the layer's identity."""
    return f"overlay:{image_layer.unique_id}:{what}"


def overlay_layer(viewer: Any, image_layer: Any, what: str, plane: Any = None) -> Any:
    """The overlay ``what`` (saliency, ...) a dock made for ``image_layer`` (for a stack, of the
    plane on screen; None if there is none; never another layer), whatever the image is called
    now."""
    from napari.layers import Image

    output = image_overlay_output(image_layer, what + plane_suffix(image_layer, plane))
    return own_layer(viewer, output, Image)


def show_overlay(
    viewer: Any,
    data: np.ndarray,
    image_layer: Any,
    name: str,
    output: str | None = None,
    plane: Any = None,
    **style: Any,
) -> Any:
    """Update the overlay layer ``name`` a dock made (or add it) with ``data``; returns it.

    Another Image layer called ``name`` is never written. ``output`` is the dock result the
    layer is found by (by default its name); ``plane`` the plane of a stack it was made from.
    """
    from napari.layers import Image

    kwargs = overlay_kwargs(image_layer, name, output=output, plane=plane, **style)
    style_keys = ("colormap", "opacity", "blending", "contrast_limits")
    return show_output(viewer, Image, data, kwargs, update=style_keys)


def show_image_overlay(
    viewer: Any, data: np.ndarray, image_layer: Any, what: str, plane: Any = None, **style: Any
) -> Any:
    """Update the overlay ``what`` of ``image_layer`` (or add it as ``"<image> <what>"``) with
    ``data``; returns it. Found by the image layer's identity: after the user renamed the
    image, its overlay is updated (and renamed after it), not joined by a second one. Of a
    stack, ``plane`` is the plane ``data`` was made from (default: the one on screen); each
    plane's overlay is a layer of its own, named by its plane."""
    before = overlay_layer(viewer, image_layer, what, plane)
    what += plane_suffix(image_layer, plane)
    was_on = (before.metadata or {}).get(EXPLAINS_KEY) if before is not None else None
    name = f"{image_layer.name} {what}"
    output = image_overlay_output(image_layer, what)
    layer = show_overlay(viewer, data, image_layer, name, output=output, plane=plane, **style)
    if layer is before and was_on != image_layer.name:
        follow_name(layer, name)
    return layer


def style_boxes(layer: Any, edge_color: np.ndarray) -> None:
    """Set per-box edge colours (RGBA, alpha = opacity) on a detections Shapes layer."""
    if len(layer.data) != len(edge_color):
        raise ValueError(f"{len(layer.data)} boxes but {len(edge_color)} colours")
    if len(edge_color):
        layer.edge_color = np.asarray(edge_color, dtype=float)


def class_box_colors(layer: Any) -> np.ndarray:
    """Per-class edge colours of a detections layer (as the Detect dock draws them)."""
    feats = layer.features
    if "class_id" not in feats or len(feats) != len(layer.data):
        return np.tile([1.0, 1.0, 0.0, 1.0], (len(layer.data), 1))
    return (
        np.stack([class_color(int(c)) for c in feats["class_id"]])
        if len(feats)
        else np.zeros((0, 4))
    )


def labels_quality(layer: Any) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(label ids, quality values, column name) from a Labels layer's features, or None."""
    from ..core.explain import quality_column

    feats = layer.features
    column = quality_column(feats)
    if column is None or len(feats) == 0:
        return None
    # napari (and the Refine dock) key label features by an "index" column
    key = next((c for c in ("index", "label") if c in feats), None)
    values = pd.to_numeric(feats[column], errors="coerce").to_numpy(dtype=float)
    if key is None:
        ids = np.arange(1, len(feats) + 1, dtype=np.float64)
    else:
        ids = pd.to_numeric(feats[key], errors="coerce").to_numpy(dtype=float)
    whole = np.isfinite(ids) & (ids == np.round(ids))
    if not np.isfinite(values).any() or not whole.all():
        return None  # words in the quality column, or ids that are not label numbers
    return ids.astype(np.int64), values, column


def quality_labels_kwargs(labels_layer: Any, colors: dict[int, np.ndarray], name: str) -> dict:
    """``add_labels`` keyword arguments: the same labels coloured by quality."""
    from napari.utils.colormaps import DirectLabelColormap

    color_dict: dict[int | None, Any] = {None: np.zeros(4), 0: np.zeros(4)}
    color_dict.update(colors)
    return layer_kwargs_like(
        labels_layer,
        name,
        # the layer's (and a stack's plane's), whatever it is called
        output=f"quality:{labels_layer.unique_id}{plane_suffix(labels_layer)}",
        colormap=DirectLabelColormap(color_dict=color_dict),
        opacity=0.8,
    )


def renumbered_ids(colors: dict[int, Any]) -> bool:
    """True when a quality overlay of these ids numbers its objects 1, 2, ...: napari colours
    ids above :data:`MAX_DIRECT_ID` by a table only with numba (else it raises)."""
    keys = [abs(int(k)) * (2 if int(k) < 0 else 1) for k in colors]
    return bool(keys) and max(keys) > MAX_DIRECT_ID and not has_numba()


def consecutive_ids(data: np.ndarray, colors: dict[int, Any]) -> tuple[np.ndarray, dict[int, Any]]:
    """``data`` with its objects numbered 1, 2, ... in the order of their ids (0 stays 0), and
    ``colors`` keyed by those numbers (each object keeps its colour); ValueError when there
    are more objects than napari can colour so."""
    objects = np.unique(data)
    objects = objects[objects != 0]
    if objects.size > MAX_DIRECT_ID:
        raise ValueError(
            f"{objects.size} objects on the plane: the quality overlay colours up to "
            f"{MAX_DIRECT_ID} without the numba package (pip install numba)"
        )
    numbers = np.searchsorted(objects, data) + 1
    renumbered = np.where(data == 0, 0, numbers).astype(np.uint32)
    kept = {k + 1: colors[int(i)] for k, i in enumerate(objects.tolist()) if int(i) in colors}
    return renumbered, kept


def show_quality_labels(
    viewer: Any, labels_layer: Any, colors: dict[int, np.ndarray], name: str
) -> Any:
    """Show (or update) the dock's quality layer ``name``: a copy of the plane on screen of
    ``labels_layer`` coloured by quality; returns it.

    A quality layer the user edited since the dock wrote it (brush, fill, eraser) is theirs: it
    is kept as it is, the user is told, and the overlay goes to a new layer. Where napari could
    not colour the ids (:func:`renumbered_ids`), the copy numbers its objects 1, 2, ...;
    ValueError (nothing shown) when it has too many for that.
    """
    from napari.layers import Labels
    from napari.utils.notifications import show_info

    data = np.array(displayed_plane(labels_layer), copy=True)  # never the objects' own array
    if renumbered_ids(colors):
        data, colors = consecutive_ids(data, colors)
    kwargs = quality_labels_kwargs(labels_layer, colors, name)
    kept = release_edited(viewer, kwargs["metadata"][OUTPUT_KEY], Labels)
    if kept is not None:
        show_info(
            f"Explain: '{kept.name}' holds your edits and is kept as it is; the new quality "
            "overlay goes to a new layer."
        )
    layer = show_output(viewer, Labels, data, kwargs, update=("colormap",))
    return mark_written(follow_name(layer, name))
