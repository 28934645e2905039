"""The dtype of the label ids the plugin's Labels layers hold: narrow where napari is slow.

napari (0.9, without numba) shows a Labels layer of uint32 ids by mapping every pixel of the
plane on screen into a uint16 texture with numpy, on the GUI thread; uint8 and uint16 ids go
to the texture as they are. ``viewer.add_labels`` of an empty plane, measured (uint32 vs
uint16): 2048 x 2048 px 0.26 vs 0.14 s, 4096 x 4096 px 0.50 vs 0.14 s, 6000 x 6000 px 0.91 vs
0.09 s, 8000 x 8000 px 1.10 vs 0.10 s, 20000 x 20000 px 13.5 vs 0.8 s. So planes of
:data:`LARGE_PLANE` pixels or more hold uint16 ids while their ids fit, and :func:`fit_label`
widens a layer to uint32 before an id above 65535 is written into it (12.5 s for a
20000 x 20000 px layer: paid only when so many ids are really needed). napari's own brush
cannot overflow a uint16 layer: it refuses a label above 65535.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: pixels of a plane from which napari's display of uint32 ids takes about 0.5 s or more
LARGE_PLANE = 4096 * 4096
NARROW = np.dtype(np.uint16)
WIDE = np.dtype(np.uint32)


def _plane_size(shape: tuple[int, ...]) -> int:
    return int(np.prod([int(n) for n in shape[-2:]], dtype=np.int64))


def labels_dtype(shape: tuple[int, ...], max_id: int = 0) -> np.dtype:
    """The dtype of a Labels layer of ``shape`` (its planes are the last two axes) holding ids
    up to ``max_id``: uint16 for a large plane (:data:`LARGE_PLANE`) when they fit, else
    uint32."""
    if _plane_size(shape) >= LARGE_PLANE and 0 <= int(max_id) <= np.iinfo(NARROW).max:
        return NARROW
    return WIDE


def shown_labels(data: Any) -> np.ndarray:
    """A label image as a Labels layer shows it quickly: as uint16 when its plane is large and
    its ids fit (e.g. the saved uint32 labels of a montage), else as it is (no copy)."""
    arr = np.asarray(data)
    if arr.ndim < 2 or arr.dtype.kind not in "ui" or arr.dtype.itemsize <= NARROW.itemsize:
        return arr  # uint8 and uint16 ids are shown as they are
    if _plane_size(arr.shape) < LARGE_PLANE or not arr.size:
        return arr
    if (arr.dtype.kind == "i" and arr.min() < 0) or arr.max() > np.iinfo(NARROW).max:
        return arr
    return arr.astype(NARROW)


def fits(dtype: Any, label: int) -> bool:
    """True when ``dtype`` holds the label id ``label``."""
    dt = np.dtype(dtype)
    if dt.kind not in "ui":
        return True
    info = np.iinfo(dt)
    return int(info.min) <= int(label) <= int(info.max)


def wide_enough(dtype: Any, label: int) -> np.dtype:
    """``dtype`` if it holds ``label``, else the wider dtype a layer is widened to (uint32 for
    unsigned ids).

    Raises
    ------
    ValueError : ``label`` does not fit in the wider dtype either.
    """
    dt = np.dtype(dtype)
    if fits(dt, label):
        return dt
    wide = np.promote_types(dt, WIDE)
    if not fits(wide, label):
        raise ValueError(f"label id {label} does not fit in a {wide} Labels layer")
    return wide


def fit_label(layer: Any, label: int) -> bool:
    """Widen a Labels ``layer``'s data (in place of it) to a dtype that holds ``label`` before
    that id is written; True when it was widened.

    The layer stays the same object: its features, selected label, scale, name and the rest
    are kept (napari keeps them when ``data`` is replaced by the same shape).
    """
    data = layer.data
    wide = wide_enough(data.dtype, label)
    if wide == np.dtype(data.dtype):
        return False
    layer.data = data.astype(wide)
    return True


def replace_ids(layer: Any, data: Any) -> None:
    """Give the Labels ``layer`` new ``data``, keeping napari's brush on an id the new dtype
    holds (a layer narrowed to uint16 with the brush on 70001 would refuse every stroke, and
    napari's display fails on it): the brush moves first, to the next free id of ``data``."""
    arr = np.asarray(data)
    selected = getattr(layer, "selected_label", None)
    if selected is not None and not fits(arr.dtype, selected):
        top = int(np.iinfo(arr.dtype).max)
        layer.selected_label = min(int(arr.max()) + 1, top) if arr.size else 1
    layer.data = data
