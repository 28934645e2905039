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


#: one id dividing the image into more regions than this is a boundary network, not a grain
MAX_HOLES = 4
#: ids making more pieces than this many per id are grey levels or classes, not grains
MAX_PIECES_PER_ID = 3
THIN_CORE = 0.2  # a boundary network keeps less than this share of its pixels 2 px in
CHECK_SIDE = 2048  # the check looks at the central window of this size


def not_grain_ids(labels: np.ndarray) -> str | None:
    """Why ``labels`` looks like something other than one id per grain (a boundary mask, a grey
    image or a class map), judged on its central :data:`CHECK_SIDE` px, or None. The numbers
    are still measured; this is said with them."""
    from skimage.measure import label

    h, w = labels.shape
    y0, x0 = max(0, (h - CHECK_SIDE) // 2), max(0, (w - CHECK_SIDE) // 2)
    labels = labels[y0 : y0 + CHECK_SIDE, x0 : x0 + CHECK_SIDE]  # a montage: its centre
    ids = np.unique(labels)
    ids = ids[ids != 0]
    if ids.size == 0:
        return None
    if ids.size <= 2:
        for i in ids:
            regions = _network_regions(labels == i)
            if regions:
                return (
                    f"id {int(i)} divides the image into {regions} regions: this looks like a "
                    "boundary mask, not one id per grain (0 on the boundaries); label the "
                    "grains first (the `grains` command, or the interiors of the mask)"
                )
    elif (regions := _network_regions(bright := labels > ids[-1] // 2, min_area=16)) and (
        int(label(bright, connectivity=2).max()) * 4 <= regions  # lines: a few pieces, not noise
    ):  # lines drawn with grey (anti-aliased) edges, halfway up their grey levels
        return (
            f"its {ids.size} ids draw thin lines dividing the image into {regions} regions: "
            "this looks like a boundary mask with grey (anti-aliased) edges, not one id per "
            "grain; threshold it and label the grains first (the interiors of the mask)"
        )
    # with any number of ids: a phase map of ferrite and pearlite, or a 0/1 mask, has one or
    # two ids of many pieces each
    pieces = int(label(labels, background=0, connectivity=2).max())
    if pieces > MAX_PIECES_PER_ID * ids.size:
        what = f"its {ids.size} ids make" if ids.size > 1 else "its one id makes"
        return (
            f"{what} {pieces} separate pieces: this looks like a grey image or a class map "
            "(a phase map, a mask), not one id per grain"
        )
    return None


def _network_regions(lines: np.ndarray, min_area: int = 1) -> int:
    """How many regions (of ``min_area`` px or more) the pixels ``lines`` divide the image into
    when they are a thin network (more than :data:`MAX_HOLES` regions, hardly any of it left
    2 px in: a grain with pores divides the image too, but is thick), else 0."""
    from scipy.ndimage import binary_erosion
    from skimage.measure import label

    sizes = np.bincount(label(~lines, background=0, connectivity=1).ravel())[1:]
    regions = int(np.count_nonzero(sizes >= min_area))
    if regions <= MAX_HOLES:
        return 0
    core = np.count_nonzero(binary_erosion(lines, iterations=2))
    return regions if core < THIN_CORE * np.count_nonzero(lines) else 0
