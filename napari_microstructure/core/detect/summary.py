"""Per-class numbers from a detections table: count, number per mm² and box area fraction."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

SUMMARY_COLUMNS = ["class_name", "count", "per_mm2", "area_fraction", "mean_confidence"]
#: the largest compressed grid :func:`union_area` counts exactly (cells): some 1,000 boxes of a
#: class in general position, ~25 ms (the dock recounts at every move of its confidence slider)
MAX_GRID_CELLS = 4_000_000
_BAND_CELLS = 2_000_000  # cells counted at once (8 MB of int32)


def box_sizes(df: pd.DataFrame, pixel_size: float | None = None) -> pd.DataFrame:
    """Width, height and area of each box, in µm (µm²) when ``pixel_size`` is known, else px."""
    s = float(pixel_size) if pixel_size else 1.0
    w = (df["x2"] - df["x1"]).to_numpy(dtype=float) * s
    h = (df["y2"] - df["y1"]).to_numpy(dtype=float) * s
    return pd.DataFrame({"width": w, "height": h, "area": w * h}, index=df.index)


def class_summary(
    df: pd.DataFrame,
    image_shape: tuple[int, ...],
    pixel_size: float | None = None,
    class_names: Iterable[str] | None = None,
) -> pd.DataFrame:
    """One row per class: count, number per mm² (NaN without a pixel size), box area fraction.

    ``class_names`` lists classes to report even when nothing was found (count 0). The area
    fraction is the area the class's boxes cover (their union, within the image) over the image
    area, so never above 1; see :func:`union_area` for its one approximation.
    """
    h, w = int(image_shape[0]), int(image_shape[1])
    area_px = float(h * w) if h and w else np.nan
    area_mm2 = area_px * (pixel_size * 1e-3) ** 2 if pixel_size else np.nan
    names = list(dict.fromkeys([*(class_names or []), *df["class_name"].astype(str)]))
    boxes = df[["x1", "y1", "x2", "y2"]].to_numpy(dtype=float) if len(df) else np.zeros((0, 4))
    rows = []
    for name in names:
        m = (df["class_name"].astype(str) == name).to_numpy()
        n = int(m.sum())
        rows.append(
            {
                "class_name": name,
                "count": n,
                "per_mm2": n / area_mm2 if area_mm2 == area_mm2 else np.nan,
                "area_fraction": union_area(boxes[m], (h, w)) / area_px if n else 0.0,
                "mean_confidence": float(df["confidence"].to_numpy()[m].mean()) if n else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def union_area(boxes: np.ndarray, shape: tuple[int, int] | None = None) -> float:
    """Area (px²) covered by the union of ``(N, 4)`` boxes ``x1, y1, x2, y2``.

    Boxes are clipped to ``shape`` (rows, columns) when it is given. Exact: the box edges cut the
    plane into a compressed grid of cells, each wholly covered or not (a 2-D difference array
    counts the boxes over each cell), processed in bands of rows to bound the memory. Where that
    grid would exceed ``MAX_GRID_CELLS`` (some 1,000 boxes in general position) the summed box
    area, capped at the image area, stands in: never above the image but an upper bound of the
    covered area where boxes overlap.
    """
    b = np.asarray(boxes, dtype=float).reshape(-1, 4)
    x1, x2 = np.minimum(b[:, 0], b[:, 2]), np.maximum(b[:, 0], b[:, 2])
    y1, y2 = np.minimum(b[:, 1], b[:, 3]), np.maximum(b[:, 1], b[:, 3])
    if shape is not None and shape[0] and shape[1]:
        x1, x2 = np.clip(x1, 0, shape[1]), np.clip(x2, 0, shape[1])
        y1, y2 = np.clip(y1, 0, shape[0]), np.clip(y2, 0, shape[0])
    keep = (x2 > x1) & (y2 > y1)
    x1, x2, y1, y2 = x1[keep], x2[keep], y1[keep], y2[keep]
    if not len(x1):
        return 0.0
    xs, ys = np.unique(np.r_[x1, x2]), np.unique(np.r_[y1, y2])
    if len(xs) * len(ys) > MAX_GRID_CELLS:
        total = float(((x2 - x1) * (y2 - y1)).sum())
        return min(total, float(shape[0]) * shape[1]) if shape and shape[0] else total
    ix1, ix2 = np.searchsorted(xs, x1), np.searchsorted(xs, x2)
    iy1, iy2 = np.searchsorted(ys, y1), np.searchsorted(ys, y2)
    dx, dy = np.diff(xs), np.diff(ys)
    # the corners of the difference array, by row: +1 at (y1, x1) and (y2, x2), -1 at the others
    rows = np.r_[iy1, iy1, iy2, iy2]
    cols = np.r_[ix1, ix2, ix1, ix2]
    signs = np.repeat(np.array([1, -1, -1, 1], dtype=np.int32), len(ix1))
    order = np.argsort(rows, kind="stable")
    rows, cols, signs = rows[order], cols[order], signs[order]
    band = max(1, _BAND_CELLS // len(xs))
    carry = np.zeros(len(xs), dtype=np.int32)  # the box count over each column above the band
    area = 0.0
    for r0 in range(0, len(dy), band):
        r1 = min(r0 + band, len(dy))
        lo, hi = np.searchsorted(rows, [r0, r1])
        diff = np.zeros((r1 - r0, len(xs)), dtype=np.int32)
        np.add.at(diff, (rows[lo:hi] - r0, cols[lo:hi]), signs[lo:hi])
        diff[0] += carry
        for i in range(1, len(diff)):  # row by row: numpy's cumsum down axis 0 is 10x slower
            np.add(diff[i], diff[i - 1], out=diff[i])
        carry = diff[-1].copy()
        np.cumsum(diff, axis=1, out=diff)
        covered = (diff[:, :-1] > 0).view(np.uint8)
        area += float(dy[r0:r1] @ (covered @ dx))
    return area
