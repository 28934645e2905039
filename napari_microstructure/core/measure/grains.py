"""Per-grain measurements (size and shape) and the grain size distribution.

Everything per grain comes from scikit-image's ``regionprops_table``; only the minimum Feret
diameter, which scikit-image does not provide, is computed here from the convex hull.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.spatial import ConvexHull, QhullError
from skimage.measure import regionprops_table

from ._checks import as_label_image, check_pixel_size

#: Columns of :func:`grain_table`, with what they hold (lengths in ``unit``, areas in ``unit``²).
COLUMNS: dict[str, str] = {
    "label": "grain id in the label image",
    "area": "grain area",
    "ecd": "equivalent circle diameter, sqrt(4 area / pi)",
    "perimeter": "boundary length (scikit-image's 4-connected estimate)",
    "circularity": "4 pi area / perimeter², 1 for a disc (clipped to 1)",
    "major_axis": "major axis of the ellipse with the same second moments",
    "minor_axis": "minor axis of that ellipse",
    "aspect_ratio": "major_axis / minor_axis (NaN for a grain one pixel wide)",
    "orientation": "angle of the major axis to the horizontal, degrees, counter-clockwise",
    "feret_max": "maximum Feret (caliper) diameter",
    "feret_min": "minimum Feret (caliper) diameter",
    "centroid_row": "centroid row (pixels)",
    "centroid_col": "centroid column (pixels)",
    "touches_edge": "the grain is cut by the image frame (its size is underestimated)",
}


def _feret_min(region_mask: np.ndarray) -> float:
    """Smallest caliper width of a region (pixel units), from the hull of its pixel corners."""
    pts = np.argwhere(region_mask).astype(float)
    try:
        # hull of the pixel centres first (cheap), then of the corners of its vertices only
        pts = pts[ConvexHull(pts).vertices]
    except (QhullError, ValueError):
        pass  # fewer than 3 non-collinear pixels: every pixel is a hull candidate
    pts = np.concatenate([pts + d for d in ((0, 0), (0, 1), (1, 0), (1, 1))])
    try:
        hull = pts[ConvexHull(pts).vertices]
    except (QhullError, ValueError):
        return float(min(np.ptp(pts[:, 0]), np.ptp(pts[:, 1])))
    edges = np.roll(hull, -1, axis=0) - hull
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    normals = np.c_[-edges[:, 1], edges[:, 0]] / lengths[:, None]
    widths = np.ptp(hull @ normals.T, axis=0)
    return float(widths.min())


def grain_table(labels: np.ndarray, pixel_size: float | None = None) -> pd.DataFrame:
    """One row per grain label with size and shape measurements (see ``COLUMNS``).

    Parameters
    ----------
    labels : (H, W) integer grain ids, 0 = background.
    pixel_size : µm per pixel; None gives pixels. ``table.attrs["unit"]`` says which.
    """
    ps = check_pixel_size(pixel_size)
    lab = as_label_image(labels)
    unit = "µm" if ps else "px"
    s = ps or 1.0
    if not lab.any():
        table = pd.DataFrame({c: pd.Series(dtype=float) for c in COLUMNS})
        table["label"] = table["label"].astype(np.int64)
        table["touches_edge"] = table["touches_edge"].astype(bool)
        table.attrs["unit"] = unit
        return table
    props = regionprops_table(
        lab,
        properties=(
            "label",
            "area",
            "perimeter",
            "axis_major_length",
            "axis_minor_length",
            "orientation",
            "feret_diameter_max",
            "centroid",
            "bbox",
        ),
        extra_properties=(_feret_min,),
    )
    area = props["area"] * s * s
    perimeter = props["perimeter"] * s
    major = props["axis_major_length"] * s
    minor = props["axis_minor_length"] * s
    with np.errstate(divide="ignore", invalid="ignore"):
        circ = np.where(perimeter > 0, 4 * math.pi * area / perimeter**2, 1.0)
        aspect = np.where(minor > 0, major / minor, np.nan)
    angle = np.degrees(props["orientation"]) + 90.0
    angle = np.where(angle > 90.0, angle - 180.0, angle)
    h, w = lab.shape
    edge = (
        (props["bbox-0"] == 0)
        | (props["bbox-1"] == 0)
        | (props["bbox-2"] == h)
        | (props["bbox-3"] == w)
    )
    table = pd.DataFrame(
        {
            "label": props["label"].astype(np.int64),
            "area": area,
            "ecd": np.sqrt(4 * area / math.pi),
            "perimeter": perimeter,
            "circularity": np.clip(circ, 0.0, 1.0),
            "major_axis": major,
            "minor_axis": minor,
            "aspect_ratio": aspect,
            "orientation": angle,
            "feret_max": props["feret_diameter_max"] * s,
            "feret_min": props["_feret_min"] * s,
            "centroid_row": props["centroid-0"],
            "centroid_col": props["centroid-1"],
            "touches_edge": edge.astype(bool),
        }
    )
    table.attrs["unit"] = unit
    return table


def size_distribution(
    table: pd.DataFrame,
    quantity: str = "ecd",
    bins: int = 20,
    log: bool = False,
    exclude_edge: bool = False,
) -> dict[str, object]:
    """Histogram of grain sizes from a :func:`grain_table`.

    Parameters
    ----------
    quantity : "ecd" (equivalent circle diameter) or "area".
    bins : number of bins.
    log : logarithmically spaced bins (the usual view of a log-normal grain size distribution).
    exclude_edge : leave out grains cut by the image frame.

    Returns
    -------
    dict with ``edges`` (bins + 1), ``counts``, ``quantity``, ``unit``, ``log``, ``n``, and
    the ``mean``, ``median`` and ``std`` of the values.
    """
    if quantity not in ("ecd", "area"):
        raise ValueError(f"quantity must be 'ecd' or 'area', got {quantity!r}")
    if bins < 1:
        raise ValueError("bins must be at least 1")
    unit = table.attrs.get("unit", "px")
    values = table.loc[~table["touches_edge"], quantity] if exclude_edge else table[quantity]
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    unit = f"{unit}²" if quantity == "area" else unit
    if values.size == 0:
        return {
            "edges": [],
            "counts": [],
            "quantity": quantity,
            "unit": unit,
            "log": log,
            "n": 0,
            "mean": math.nan,
            "median": math.nan,
            "std": math.nan,
        }
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        hi = lo * 1.01 + 1e-9
    edges = np.geomspace(lo, hi, bins + 1) if log else np.linspace(lo, hi, bins + 1)
    counts, edges = np.histogram(values, bins=edges)
    return {
        "edges": edges.tolist(),
        "counts": counts.tolist(),
        "quantity": quantity,
        "unit": unit,
        "log": log,
        "n": int(values.size),
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
    }
