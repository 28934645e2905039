"""Per-class numbers from a detections table: count, number per mm² and box area fraction."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

SUMMARY_COLUMNS = ["class_name", "count", "per_mm2", "area_fraction", "mean_confidence"]


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
    fraction is the summed box area over the image area (boxes overlap rarely; it is an upper
    bound of the true object area fraction).
    """
    h, w = int(image_shape[0]), int(image_shape[1])
    area_px = float(h * w) if h and w else np.nan
    area_mm2 = area_px * (pixel_size * 1e-3) ** 2 if pixel_size else np.nan
    names = list(dict.fromkeys([*(class_names or []), *df["class_name"].astype(str)]))
    sizes = box_sizes(df)
    rows = []
    for name in names:
        m = (df["class_name"].astype(str) == name).to_numpy()
        n = int(m.sum())
        rows.append(
            {
                "class_name": name,
                "count": n,
                "per_mm2": n / area_mm2 if area_mm2 == area_mm2 else np.nan,
                "area_fraction": float(sizes["area"].to_numpy()[m].sum() / area_px) if n else 0.0,
                "mean_confidence": float(df["confidence"].to_numpy()[m].mean()) if n else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
