"""Layers of the Explain dock: saliency images over the micrograph, styled boxes, quality colours.

Saliency maps are arrays at the micrograph's own pixel grid, so their layers take the image
layer's scale and translate: they sit on the micrograph in µm whatever the zoom.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .image import layer_kwargs_like
from .output import own_layer, show_output
from .plane import displayed_plane
from .shapes import class_color

SALIENCY_COLORMAPS = ("inferno", "magma", "viridis", "plasma", "cividis")
BLENDINGS = ("additive", "translucent")


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
) -> dict[str, Any]:
    """``add_image`` keyword arguments for a [0, 1] map laid over ``image_layer``."""
    kwargs = layer_kwargs_like(
        image_layer,
        name,
        output=_overlay_output(name),
        colormap=overlay_colormap(colormap, blending),
        opacity=float(opacity),
        blending=blending,
        contrast_limits=(0.0, 1.0),
    )
    kwargs["metadata"]["explains"] = image_layer.name
    return kwargs


def _overlay_output(name: str) -> str:
    return f"overlay:{name}"


def overlay_layer(viewer: Any, name: str) -> Any:
    """The overlay layer ``name`` a dock made (None if there is none; never another layer)."""
    from napari.layers import Image

    return own_layer(viewer, _overlay_output(name), Image)


def show_overlay(viewer: Any, data: np.ndarray, image_layer: Any, name: str, **style: Any) -> Any:
    """Update the overlay layer ``name`` a dock made (or add it) with ``data``; returns it.

    Another Image layer called ``name`` is never written.
    """
    from napari.layers import Image

    kwargs = overlay_kwargs(image_layer, name, **style)
    style_keys = ("colormap", "opacity", "blending", "contrast_limits")
    return show_output(viewer, Image, data, kwargs, update=style_keys)


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
        output=f"quality:{name}",
        colormap=DirectLabelColormap(color_dict=color_dict),
        opacity=0.8,
    )


def show_quality_labels(
    viewer: Any, labels_layer: Any, colors: dict[int, np.ndarray], name: str
) -> Any:
    """Show (or update) the dock's quality layer ``name``: a copy of the plane on screen of
    ``labels_layer`` coloured by quality; returns it."""
    from napari.layers import Labels

    data = np.array(displayed_plane(labels_layer), copy=True)  # never the objects' own array
    kwargs = quality_labels_kwargs(labels_layer, colors, name)
    return show_output(viewer, Labels, data, kwargs, update=("colormap",))
