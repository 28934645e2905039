"""Shapes layers of detection boxes: DataFrame (pixel coords) <-> rectangles in world µm.

Following the project convention, shapes data are world coordinates (µm when the pixel size is
known): vertex (row, col) = pixel (y, x) * pixel size, with the layer's own scale left at 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .image import PIXEL_SIZE_KEY, UNIT

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
TEXT = {
    "string": "{class_name} {confidence:.2f}",
    "size": 7,
    "color": "white",
    "anchor": "upper_left",
}


def class_color(class_id: int) -> np.ndarray:
    """RGBA colour of a class id, the same in every run."""
    return CLASS_COLORS[int(class_id) % len(CLASS_COLORS)]


def boxes_to_rectangles(df: pd.DataFrame, pixel_size: float | None) -> list[np.ndarray]:
    """Rectangles ``(4, 2)`` of (row, col) world coordinates from x1, y1, x2, y2 pixel boxes."""
    s = float(pixel_size) if pixel_size else 1.0
    b = df[["x1", "y1", "x2", "y2"]].to_numpy(dtype=float) * s
    return [np.array([[y1, x1], [y1, x2], [y2, x2], [y2, x1]]) for x1, y1, x2, y2 in b]


def rectangles_to_boxes(data: list[np.ndarray], pixel_size: float | None) -> np.ndarray:
    """``(N, 4)`` x1, y1, x2, y2 pixel boxes enclosing world-coordinate shapes."""
    s = float(pixel_size) if pixel_size else 1.0
    out = np.zeros((len(data), 4))
    for i, verts in enumerate(data):
        v = np.asarray(verts, dtype=float)[:, -2:] / s
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
    df: pd.DataFrame, pixel_size: float | None, name: str
) -> dict[str, Any]:
    """Keyword arguments for ``viewer.add_shapes`` showing the detections ``df``."""
    return {
        "data": boxes_to_rectangles(df, pixel_size),
        "shape_type": "rectangle",
        "edge_color": _colors(df),
        "face_color": "transparent",
        "edge_width": EDGE_PX * (pixel_size or 1.0),
        "features": detection_features(df, pixel_size),
        "text": dict(TEXT),
        "name": name,
        "opacity": 1.0,
        "metadata": {PIXEL_SIZE_KEY: pixel_size},
        **({"units": (UNIT, UNIT)} if pixel_size else {}),
    }


def _colors(df: pd.DataFrame) -> np.ndarray:
    if len(df) == 0:
        return np.zeros((0, 4))
    return np.stack([class_color(c) for c in df["class_id"].to_numpy(dtype=int)])


def set_detections(layer: Any, df: pd.DataFrame, pixel_size: float | None) -> None:
    """Replace a Shapes layer's rectangles and features by the detections ``df``."""
    layer.selected_data = set()
    layer.data = []
    if len(df):
        layer.add(
            boxes_to_rectangles(df, pixel_size),
            shape_type="rectangle",
            edge_color=_colors(df),
            face_color="transparent",
            edge_width=EDGE_PX * (pixel_size or 1.0),
        )
    layer.features = detection_features(df, pixel_size)
    layer.metadata = {**layer.metadata, PIXEL_SIZE_KEY: pixel_size}
    layer.text = dict(TEXT)


def detections_from_layer(
    layer: Any, image_pixel_size: float | None = None, default_class: str = "object"
) -> pd.DataFrame:
    """Detections table (pixel coords) from a Shapes layer, e.g. after the user edited boxes.

    A layer without a pixel size of its own (boxes drawn by hand on a new Shapes layer) holds
    world coordinates, which are µm when the image has ``image_pixel_size``. Boxes without a
    class of their own (drawn by hand) get ``default_class``.
    """
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
