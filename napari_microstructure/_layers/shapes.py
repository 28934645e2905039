"""Shapes layers of detection boxes: DataFrame (pixel coords) <-> rectangles over an image.

The dock's box layers hold µm from the image's corner (vertex (row, col) = pixel (y, x) * pixel
size; pixels when the size is unknown) and take the image's translate and rotation, so they lie
on it (their scale is 1 unless the image's scale is not its pixel size). A box drawn on any
Shapes layer is read back through that layer's transform to the world and the image's back to
its pixels (:func:`detections_from_layer` with ``image``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from .image import (
    OUTPUT_KEY,
    PIXEL_SIZE_KEY,
    UNIT,
)
from .output import DRAWN_KEY
from .overlay import image_pixels, lay_on, over, overlay_placement

# Colour-blind friendly (Okabe-Ito) then tab10, RGBA; class id i gets CLASS_COLORS[i % n].
CLASS_COLORS = np.array(
    [
        [0.902, 0.624, 0.0, 1.0],
        [0.337, 0.706, 0.914, 1.0],
        [0.835, 0.369, 0.0, 1.0],
        [0.0, 0.62, 0.451, 1.0],
        [0.8, 0.475, 0.655, 1.0],
        [0.941, 0.894, 0.259, 1.0],
        [0.0, 0.447, 0.698, 1.0],
        [0.737, 0.741, 0.133, 1.0],
        [0.09, 0.745, 0.812, 1.0],
        [0.839, 0.153, 0.157, 1.0],
    ]
)
EDGE_PX = 3.0  # box line width in image pixels
# box coordinates count pixel edges, napari data pixel centres: edge = centre - EDGE_SHIFT
EDGE_SHIFT = 0.5
TEXT = {
    "string": "{class_name} {confidence:.2f}",
    "size": 7,
    "color": "white",
    "anchor": "upper_left",
}
FEATURE_COLUMNS = [
    "class_name",
    "class_id",
    "confidence",
    "width_um",
    "height_um",
    "area_um2",
    "width_px",
    "height_px",
]
# a box drawn by hand has no class and no confidence of its own (napari would copy the last row)
HAND_DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(FEATURE_COLUMNS, np.nan),
    "class_name": "",
    "class_id": 0,
}


def class_color(class_id: int) -> np.ndarray:
    """RGBA colour of a class id, the same in every run."""
    return CLASS_COLORS[int(class_id) % len(CLASS_COLORS)]


def relay_overlay(layer: Any, image: Any, unit: float, pixel_size: float | None) -> None:
    """Redraw an overlay of ``unit`` data units per pixel (:func:`overlay_unit`) on ``image`` at
    its new ``pixel_size``: the same pixels in ``pixel * pixel_size`` data, at the new
    :func:`overlay_placement`, with the new ``pixel_size_um``."""
    from napari.layers import Shapes

    ratio = (float(pixel_size) if pixel_size else 1.0) / unit
    layer.selected_data = set()
    if isinstance(layer, Shapes):
        untouched = DRAWN_KEY in layer.metadata and not edited_since_drawn(layer)
        if len(layer.data):
            widths = [w * ratio for w in layer.edge_width]
            layer.data = [np.asarray(v, dtype=float) * ratio for v in layer.data]
            layer.edge_width = widths
        layer.current_edge_width = layer.current_edge_width * ratio
        _feature_sizes(layer, pixel_size)
    else:
        layer.data = np.asarray(layer.data, dtype=float) * ratio
        layer.size = np.asarray(layer.size, dtype=float) * ratio
        layer.current_size = layer.current_size * ratio
    lay_on(layer, image, pixel_size)
    if isinstance(layer, Shapes) and untouched:
        mark_drawn(layer)


def _feature_sizes(layer: Any, pixel_size: float | None) -> None:
    """The µm sizes of a detections layer's features at a new pixel size."""
    feats = layer.features
    if {"width_px", "height_px"} <= set(feats.columns):
        _set_sizes(layer, feats.copy(), pixel_size)


def _set_sizes(layer: Any, feats: pd.DataFrame, pixel_size: float | None) -> None:
    """Give ``layer`` the features ``feats`` with µm sizes from their px sizes."""
    s = float(pixel_size) if pixel_size else np.nan
    w, h = feats["width_px"].to_numpy(float), feats["height_px"].to_numpy(float)
    feats["width_um"], feats["height_um"], feats["area_um2"] = w * s, h * s, w * h * s * s
    # napari resets the new-box defaults with the table: keep them (e.g. Curate's confidence 1)
    defaults = layer.feature_defaults.iloc[0].to_dict() if len(layer.feature_defaults) else {}
    layer.features = feats
    layer.feature_defaults = {c: defaults.get(c, np.nan) for c in feats.columns}


def box_labels(feats: pd.DataFrame) -> list[str]:
    """The boxes' text as :data:`TEXT` writes it, without ``nan`` for a missing class or
    confidence (a box drawn by hand)."""
    names = feats["class_name"] if "class_name" in feats else [""] * len(feats)
    conf = feats["confidence"] if "confidence" in feats else [np.nan] * len(feats)
    return [
        (str(n) if pd.notna(n) else "") + (f" {c:.2f}" if np.isfinite(c) else "")
        for n, c in zip(names, np.asarray(conf, dtype=float), strict=True)
    ]


def sync_box_features(layer: Any) -> None:
    """Bring a detections layer's sizes and labels up to date with its boxes, once the user
    has resized, drawn or re-classed some (only what changed is written)."""
    feats = layer.features
    ours = getattr(layer.text.string, "format", None) == TEXT["string"]
    ours = ours or getattr(layer.text.string, "encoding_type", "") == "ManualStringEncoding"
    sized = {"width_px", "height_px"} <= set(feats.columns) and len(feats) == layer.nshapes
    pixel_size = layer.metadata.get(PIXEL_SIZE_KEY)
    resized = np.zeros(len(feats), bool)
    if sized and len(feats):
        b = rectangles_to_boxes(list(layer.data), pixel_size)
        wh = np.c_[b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]]
        # napari keeps vertices in float32: a box it did not resize may differ by its rounding
        tol = 1e-3 + 8 * np.finfo(np.float32).eps * float(np.abs(b).max())
        diff = np.abs(feats[["width_px", "height_px"]].to_numpy(float) - wh)
        resized = ~(diff <= tol).all(axis=1)  # NaN (a box drawn by hand) counts as resized
    labels = box_labels(feats) if ours else []
    relabel = ours and list(layer.text.values) != labels
    if not (resized.any() or relabel):
        return
    with _text_paused(layer):
        if resized.any():
            feats = feats.copy()
            feats.loc[resized, ["width_px", "height_px"]] = wh[resized]
            _set_sizes(layer, feats, pixel_size)
        if relabel:  # napari's format strings print nan: the labels as they are, new ones ""
            layer.text = {**TEXT, "string": {"array": labels, "default": ""}, "visible": False}


@contextmanager
def _text_paused(layer: Any) -> Iterator[None]:
    """Hide a Shapes layer's labels while it changes: napari 0.9 places every label again after
    each change, in a time that grows with the square of the number of shapes (seconds for a
    few thousand), so they are placed once, at the end."""
    shown = layer.text.visible
    layer.text.visible = False
    try:
        yield
    finally:
        layer.text.visible = shown


def boxes_to_rectangles(df: pd.DataFrame, pixel_size: float | None) -> list[np.ndarray]:
    """Rectangles ``(4, 2)`` of (row, col) µm from x1, y1, x2, y2 pixel boxes.

    Boxes count pixel edges (x2 is exclusive, as YOLO's and the detector's), napari's data
    pixel centres: a box's edges lie half a pixel before its first pixel's centre.
    """
    s = float(pixel_size) if pixel_size else 1.0
    b = (df[["x1", "y1", "x2", "y2"]].to_numpy(dtype=float) - EDGE_SHIFT) * s
    return [np.array([[y1, x1], [y1, x2], [y2, x2], [y2, x1]]) for x1, y1, x2, y2 in b]


def rectangles_to_boxes(data: list[np.ndarray], pixel_size: float | None) -> np.ndarray:
    """``(N, 4)`` x1, y1, x2, y2 pixel boxes enclosing shapes in µm from the image's corner."""
    s = float(pixel_size) if pixel_size else 1.0
    return _enclosing([np.asarray(v, dtype=float)[:, -2:] / s for v in data]) + EDGE_SHIFT


def _enclosing(shapes: list[np.ndarray]) -> np.ndarray:
    out = np.zeros((len(shapes), 4))
    for i, v in enumerate(shapes):
        out[i] = [v[:, 1].min(), v[:, 0].min(), v[:, 1].max(), v[:, 0].max()]
    return out


def detection_features(df: pd.DataFrame, pixel_size: float | None) -> pd.DataFrame:
    """Per-box features: class, confidence, size in µm (NaN without pixel size) and in px."""
    w_px = (df["x2"] - df["x1"]).to_numpy(dtype=float)
    h_px = (df["y2"] - df["y1"]).to_numpy(dtype=float)
    s = float(pixel_size) if pixel_size else np.nan
    return pd.DataFrame(
        {
            "class_name": df["class_name"].astype(str).to_numpy(),
            "class_id": df["class_id"].to_numpy(dtype=int),
            "confidence": df["confidence"].to_numpy(dtype=float),
            "width_um": w_px * s,
            "height_um": h_px * s,
            "area_um2": w_px * h_px * s * s,
            "width_px": w_px,
            "height_px": h_px,
        }
    )


def detections_layer_kwargs(
    df: pd.DataFrame,
    pixel_size: float | None,
    name: str,
    image: Any = None,
    output: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``viewer.add_shapes`` showing the detections ``df``.

    With the ``image`` layer the boxes lie on it (its translate, rotation and units); ``output``
    is the dock's mark (:func:`.output.own_layer`).
    """
    metadata: dict[str, Any] = {PIXEL_SIZE_KEY: pixel_size, **over(image)}
    if output:
        metadata[OUTPUT_KEY] = output
    colours = {"edge_color": _colors(df)} if len(df) else {}  # napari warns on an empty array
    return {
        "data": boxes_to_rectangles(df, pixel_size),
        "shape_type": "rectangle",
        **colours,
        "face_color": "transparent",
        "edge_width": EDGE_PX * (pixel_size or 1.0),
        "features": detection_features(df, pixel_size),
        "feature_defaults": dict(HAND_DEFAULTS),
        "text": dict(TEXT),
        "name": name,
        "opacity": 1.0,
        "metadata": metadata,
        **(overlay_placement(image, pixel_size) if image is not None else _units(pixel_size)),
    }


def _units(pixel_size: float | None) -> dict[str, Any]:
    return {"units": (UNIT, UNIT)} if pixel_size else {}


def _colors(df: pd.DataFrame) -> np.ndarray:
    return np.stack([class_color(c) for c in df["class_id"].to_numpy(dtype=int)])


def set_detections(
    layer: Any, df: pd.DataFrame, pixel_size: float | None, image: Any = None
) -> None:
    """Replace a Shapes layer's rectangles and features by the detections ``df`` (and lay it on
    the ``image`` layer when given)."""
    kw = detections_layer_kwargs(df, pixel_size, layer.name)
    with _text_paused(layer):
        if image is not None:
            lay_on(layer, image, pixel_size)
        replace_rectangles(layer, {**kw, "metadata": {PIXEL_SIZE_KEY: pixel_size}})
        layer.text = {**TEXT, "visible": False}  # the user's choice comes back with the labels
    mark_drawn(layer)


def replace_rectangles(layer: Any, kw: dict[str, Any]) -> None:
    """Replace a Shapes layer's rectangles, features and feature defaults by those of the
    layer keyword arguments ``kw`` (:func:`detections_layer_kwargs` or built on it); its
    metadata are updated with ``kw``'s, its placement and name are kept."""
    with _text_paused(layer):
        layer.selected_data = set()
        layer.data = []
        if len(kw["data"]):
            layer.add(
                kw["data"],
                shape_type="rectangle",
                edge_color=kw["edge_color"],
                face_color=kw["face_color"],
                edge_width=kw["edge_width"],
            )
        layer.features = kw["features"]
        layer.feature_defaults = kw["feature_defaults"]
        layer.metadata = {**layer.metadata, **kw["metadata"]}


def boxes_fingerprint(layer: Any) -> int:
    """A CRC of a Shapes layer's vertices, shape types and classes."""
    crc = zlib.crc32(repr(list(layer.shape_type)).encode())
    for verts in layer.data:
        crc = zlib.crc32(np.ascontiguousarray(verts, dtype=float).tobytes(), crc)
    feats = layer.features
    for column in ("class_name", "class_id"):
        if column in feats:
            crc = zlib.crc32(repr(feats[column].tolist()).encode(), crc)
    return crc


def mark_drawn(layer: Any) -> None:
    """Remember the boxes as a dock drew them (:func:`edited_since_drawn` compares)."""
    layer.metadata = {**layer.metadata, DRAWN_KEY: boxes_fingerprint(layer)}


def edited_since_drawn(layer: Any) -> bool:
    """True if boxes were added, removed, moved or re-classed since the dock drew them (or the
    layer has no record of what the dock drew)."""
    drawn = (layer.metadata or {}).get(DRAWN_KEY)
    return drawn is None or int(drawn) != boxes_fingerprint(layer)


def detections_from_layer(
    layer: Any,
    image_pixel_size: float | None = None,
    default_class: str = "object",
    image: Any = None,
) -> pd.DataFrame:
    """Detections table (pixel coords) from a Shapes layer, e.g. after the user edited boxes.

    With the ``image`` layer, each box is taken through the Shapes layer's transform to the
    world and the image's back to its pixels (any Shapes layer, any placement). Without it, the
    layer holds µm from the image's corner (its own pixel size, else ``image_pixel_size``).
    Boxes without a class of their own (drawn by hand) get ``default_class``.
    """
    if image is not None:
        verts = [np.asarray(v, dtype=float) for v in layer.data]
        b = _enclosing([image_pixels(layer, image, v) for v in verts]) + EDGE_SHIFT
    else:
        ps = layer.metadata.get(PIXEL_SIZE_KEY) or image_pixel_size
        b = rectangles_to_boxes(list(layer.data), ps)
    feats = layer.features
    n = len(b)
    conf = feats["confidence"].to_numpy(dtype=float) if "confidence" in feats else np.ones(n)
    name = np.array([default_class] * n, dtype=object)
    if "class_name" in feats:
        given = feats["class_name"].to_numpy()[:n]
        known = pd.notna(given) & (given.astype(str) != "")
        name[: len(given)][known] = given[known].astype(str)
    cid = feats["class_id"].to_numpy(dtype=int) if "class_id" in feats else np.zeros(n, int)
    return pd.DataFrame(
        {
            "x1": b[:, 0],
            "y1": b[:, 1],
            "x2": b[:, 2],
            "y2": b[:, 3],
            "confidence": conf[:n],
            "class_id": cid[:n],
            "class_name": name[:n],
        }
    )
