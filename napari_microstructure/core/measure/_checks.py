"""Input checks shared by the measurement functions: clear messages instead of odd results."""

from __future__ import annotations

import math

import numpy as np


def as_label_image(labels: np.ndarray, name: str = "labels") -> np.ndarray:
    """Return ``labels`` as a 2-D non-negative integer array, or raise ``ValueError``.

    Float arrays holding whole numbers (a TIFF saved as float, say) are accepted; anything else
    that is not an instance label image is refused with a message saying what was wrong.
    """
    arr = np.asarray(labels)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D label image, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if arr.dtype == bool:
        return arr.astype(np.uint32)
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must hold integer label ids, got dtype {arr.dtype}")
        if np.any(arr != np.round(arr)):
            raise ValueError(f"{name} holds fractional values: it is not a label image")
        arr = arr.astype(np.int64)
    if arr.min() < 0:
        raise ValueError(f"{name} holds negative ids; label ids must be >= 0 (0 = background)")
    return arr


def check_pixel_size(pixel_size: float | None) -> float | None:
    """Return a valid pixel size in µm/px (or None), raising ``ValueError`` for 0, <0, NaN."""
    if pixel_size is None:
        return None
    value = float(pixel_size)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"pixel size must be a positive number of µm per pixel, got {pixel_size}")
    return value
