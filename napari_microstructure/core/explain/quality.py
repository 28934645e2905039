"""Per-object quality of refined masks as colours: one RGBA per label from a score column."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib import colormaps

QUALITY_COLUMNS = ("quality", "score", "predicted_iou", "stability_score")


def quality_column(features: Any) -> str | None:
    """Name of the first quality-like column in a features table (pandas or dict), or None."""
    if features is None:
        return None
    cols = getattr(features, "columns", None)
    columns = list(cols) if cols is not None else list(features.keys())
    for name in QUALITY_COLUMNS:
        if name in columns:
            return name
    return None


def quality_colors(
    label_ids: np.ndarray,
    quality: np.ndarray,
    cmap: str = "viridis",
    vmin: float = 0.0,
    vmax: float = 1.0,
    alpha: float = 0.7,
) -> dict[int, np.ndarray]:
    """RGBA colour per label: low quality at the start of ``cmap``, high at its end.

    Labels with a missing (NaN) quality get a neutral grey so they are not mistaken for good.
    """
    ids = np.asarray(label_ids).astype(np.int64).reshape(-1)
    q = np.asarray(quality, dtype=np.float64).reshape(-1)
    if ids.shape != q.shape:
        raise ValueError(f"{ids.size} labels but {q.size} quality values")
    t = np.clip((q - vmin) / max(vmax - vmin, 1e-9), 0.0, 1.0)
    rgba = colormaps[cmap](np.nan_to_num(t)).astype(np.float32)
    rgba[~np.isfinite(q)] = (0.6, 0.6, 0.6, 1.0)
    rgba[:, 3] = alpha
    return {int(i): c for i, c in zip(ids, rgba, strict=True) if i != 0}


def quality_map(labels: np.ndarray, label_ids: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Float32 image of each object's quality (NaN outside objects and for unknown labels)."""
    lab = np.asarray(labels)
    ids = np.asarray(label_ids).astype(np.int64).reshape(-1)
    q = np.asarray(quality, dtype=np.float32).reshape(-1)
    top = int(max(lab.max(initial=0), ids.max(initial=0)))
    lut = np.full(top + 1, np.nan, np.float32)
    ok = (ids > 0) & (ids <= top)
    lut[ids[ok]] = q[ok]
    return lut[lab]
