"""Per-grain measurements (size and shape) and the grain size distribution.

Everything per grain comes from scikit-image's ``regionprops`` except the Feret diameters, both
computed here from one convex hull of the pixels' corners (scikit-image has no minimum, and its
maximum follows a contour through pixel-edge midpoints that cuts the corners: 6.4 px for a
5 x 5 px square), and the perimeter, by the Crofton formula over eight directions instead of
scikit-image's four.
"""

from __future__ import annotations

import math
from collections.abc import Generator

import numpy as np
import pandas as pd
from scipy.spatial import ConvexHull, QhullError
from skimage.measure import regionprops
from skimage.segmentation import relabel_sequential

from ..progress import Progress, run_to_end
from ._checks import check_pixel_size
from .lines import prepare_labels

#: grains measured between two progress steps (a step a cancel can stop at)
CHUNK = 500
_SCALARS = (
    "area",
    "axis_major_length",
    "axis_minor_length",
    "orientation",
)

#: Columns of :func:`grain_table`, with what they hold (lengths in ``unit``, areas in ``unit``²).
COLUMNS: dict[str, str] = {
    "label": "grain id in the label image",
    "area": "grain area",
    "ecd": "equivalent circle diameter, sqrt(4 area / pi)",
    "perimeter": "boundary length (Crofton estimate over 8 directions)",
    "circularity": "4 pi area / perimeter², 1 for a disc, pi/4 for a square (clipped to 1)",
    "major_axis": "major axis of the ellipse with the same second moments",
    "minor_axis": "minor axis of that ellipse",
    "aspect_ratio": "major_axis / minor_axis (NaN for a grain one pixel wide)",
    "orientation": "angle of the major axis to the horizontal, degrees, counter-clockwise",
    "feret_max": "maximum Feret (caliper) diameter, of the pixels' corners",
    "feret_min": "minimum Feret (caliper) diameter, of the pixels' corners",
    "centroid_row": "centroid row (pixels)",
    "centroid_col": "centroid column (pixels)",
    "touches_edge": "the grain is cut by the image frame (its size is underestimated)",
}


# Crofton directions (row, col steps): the 4 of the 3x3 neighbourhood and 4 knight's moves,
# each weighted by the range of angles it stands for (half the gaps to its neighbours)
_STEPS = ((0, 1), (1, 2), (1, 1), (2, 1), (1, 0), (2, -1), (1, -1), (1, -2))
_ANGLES = np.array([np.arctan2(r, c) for r, c in _STEPS])
_WEIGHTS = (np.roll(_ANGLES, -1) - np.roll(_ANGLES, 1)) % np.pi / 2


def _perimeters(seq: np.ndarray, n: int) -> np.ndarray:
    """Boundary length (pixel units) of labels 1..n by the Cauchy-Crofton formula.

    The test lines run through pixel centres in 8 directions, so the estimate is consistent
    with the pixel count as area and depends little on orientation: a square gives a circularity of
    about pi / 4 at any angle (scikit-image's ``perimeter`` follows pixel centres and makes an
    8 px square a disc; its 4-direction ``perimeter_crofton`` varies by +-10 % with the angle).
    """
    m = np.pad(seq, 2)  # the frame is a boundary
    h, w = m.shape
    total = np.zeros(n + 1)
    for (dr, dc), weight in zip(_STEPS, _WEIGHTS, strict=True):
        c0, c1 = max(0, -dc), w - max(0, dc)
        a, b = m[: h - dr, c0:c1], m[dr:, c0 + dc : c1 + dc]
        cut = a != b  # a crossing of the line between two pixel centres, for both labels
        ids = np.concatenate([a[cut], b[cut]]).astype(np.intp)
        total += weight / np.hypot(dr, dc) * np.bincount(ids, minlength=n + 1)
    return 0.5 * total[1:]


def _ferets(region_mask: np.ndarray) -> np.ndarray:
    """Largest and smallest caliper diameter of a region (pixel units), ``[max, min]``, from
    the convex hull of its pixels' corners (a 5 x 5 px square: 5 sqrt 2 and 5)."""
    pts = np.argwhere(region_mask).astype(float)
    try:
        # hull of the pixel centres first (cheap), then of the corners of its vertices only
        pts = pts[ConvexHull(pts).vertices]
    except (QhullError, ValueError):
        pass  # fewer than 3 non-collinear pixels: every pixel is a hull candidate
    pts = np.concatenate([pts + d for d in ((0, 0), (0, 1), (1, 0), (1, 1))])
    try:
        hull = pts[ConvexHull(pts).vertices]
    except (QhullError, ValueError):  # not expected: the corners span at least a pixel
        span = np.ptp(pts, axis=0)
        return np.array([np.hypot(*span), span.min()])
    # the largest caliper is the longest vertex-to-vertex chord; the smallest rests on an edge
    d = hull[:, None, :] - hull[None, :, :]
    longest = np.sqrt((d * d).sum(axis=-1).max())
    edges = np.roll(hull, -1, axis=0) - hull
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    normals = np.c_[-edges[:, 1], edges[:, 0]] / lengths[:, None]
    widths = np.ptp(hull @ normals.T, axis=0)
    return np.array([longest, widths.min()])


def grain_table(
    labels: np.ndarray, pixel_size: float | None = None, fill_gaps: int = 2
) -> pd.DataFrame:
    """One row per grain label with size and shape measurements (see ``COLUMNS``).

    Parameters
    ----------
    labels : (H, W) integer grain ids, 0 = background. Zero lines up to 4 px wide are closed
        first, as for the grain size (:func:`.lines.prepare_labels`): a grain's area includes
        its share of the boundary line.
    pixel_size : µm per pixel; None gives pixels. ``table.attrs["unit"]`` says which.
    fill_gaps : as for the grain size (0 for labels already closed).
    """
    return run_to_end(grain_table_steps(labels, pixel_size, fill_gaps))


def _region_props(seq: np.ndarray) -> Generator[Progress, None, dict[str, np.ndarray]]:
    """The regionprops of labels 1..n, :data:`CHUNK` grains per progress step."""
    regions = regionprops(seq, extra_properties=(_ferets,))
    n = len(regions)
    props = {name: np.empty(n) for name in (*_SCALARS, "feret_max", "feret_min")}
    props["label"] = np.empty(n, np.intp)
    centroid, bbox = np.empty((n, 2)), np.empty((n, 4), np.intp)
    for start in range(0, n, CHUNK):
        yield Progress(start, n, f"measuring grains {start + 1}-{min(start + CHUNK, n)} of {n}")
        for i in range(start, min(start + CHUNK, n)):
            r = regions[i]
            props["label"][i] = r.label
            for name in _SCALARS:
                props[name][i] = r[name]
            props["feret_max"][i], props["feret_min"][i] = r["_ferets"]
            centroid[i], bbox[i] = r.centroid, r.bbox
    for k in range(2):
        props[f"centroid-{k}"] = centroid[:, k]
    for k in range(4):
        props[f"bbox-{k}"] = bbox[:, k]
    return props


def grain_table_steps(
    labels: np.ndarray, pixel_size: float | None = None, fill_gaps: int = 2
) -> Generator[Progress, None, pd.DataFrame]:
    """:func:`grain_table` as a generator yielding Progress every :data:`CHUNK` grains."""
    ps = check_pixel_size(pixel_size)
    lab = prepare_labels(labels, fill_gaps)
    unit = "µm" if ps else "px"
    s = ps or 1.0
    if not lab.any():
        table = pd.DataFrame({c: pd.Series(dtype=float) for c in COLUMNS})
        table["label"] = table["label"].astype(np.int64)
        table["touches_edge"] = table["touches_edge"].astype(bool)
        table.attrs["unit"] = unit
        return table
    # ids 1..n: scikit-image allocates per id up to the largest (2**40 from a stitched or hashed
    # labelling would not fit in memory); the table reports the original ids
    seq, _, to_original = relabel_sequential(lab)
    props = yield from _region_props(seq)
    ids = to_original[props["label"]]
    area = props["area"] * s * s
    perimeter = _perimeters(seq, int(seq.max()))[props["label"] - 1] * s
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
            # uint64 ids above the int64 range stay uint64
            "label": ids.astype(np.int64) if ids.max() <= np.iinfo(np.int64).max else ids,
            "area": area,
            "ecd": np.sqrt(4 * area / math.pi),
            "perimeter": perimeter,
            # the lattice lines see a slightly short boundary on small digitised discs (r = 5 px
            # gives 1.03); 1 is the bound by definition
            "circularity": np.clip(circ, 0.0, 1.0),
            "major_axis": major,
            "minor_axis": minor,
            "aspect_ratio": aspect,
            "orientation": angle,
            "feret_max": props["feret_max"] * s,
            "feret_min": props["feret_min"] * s,
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
