"""The plane of a layer that napari shows: rows and columns at the sliders' position.

A stack (pages, a z-series, a time series) has leading axes before its rows and columns (and,
for RGB, the colour axis); the docks work on one plane of it, the one on screen.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


def level0(layer: Any) -> Any:
    """A layer's full-resolution data (the first level of a multiscale layer)."""
    data = layer.data
    return data[0] if getattr(layer, "multiscale", False) else data


def yx_shape(layer: Any) -> tuple[int, int]:
    """Rows and columns of a layer's planes (before the colour axis of an RGB image)."""
    shape = tuple(int(n) for n in level0(layer).shape)
    return shape[-3:-1] if getattr(layer, "rgb", False) else shape[-2:]


def _data_point(layer: Any) -> np.ndarray:
    """The sliders' position in the layer's data coordinates (NaN where unknown)."""
    try:
        with warnings.catch_warnings():
            # napari warns of an oblique slice through rotated data; it still shows this plane
            warnings.simplefilter("ignore", UserWarning)
            point = np.array(layer._data_slice.point, dtype=float)
        missing = ~np.isfinite(point)
        if missing.any():  # axes on screen (3-D view, transposed axes): the slider's position
            world = np.asarray(layer._slice_input.world_slice.point, dtype=float)
            point[missing] = np.asarray(layer.world_to_data(world), dtype=float)[missing]
    except (AttributeError, IndexError, TypeError, ValueError):  # not a napari layer
        return np.zeros(layer.ndim)
    return point


def plane_index(layer: Any) -> tuple[int, ...]:
    """Index of the plane on screen along each leading axis (empty for a 2-D layer).

    napari's own rounding of the slider position; a position beyond the stack (another layer
    has more planes) takes the nearest plane. When the view shows other axes (3-D view,
    transposed axes) it is the rows x columns plane at the sliders' position, which is not on
    screen: the docks refuse such a view (:func:`plane_hidden`).
    """
    n = layer.ndim - 2
    if n <= 0:
        return ()
    shape = level0(layer).shape[:n]
    point = _data_point(layer)[:n]
    point = np.where(np.isfinite(point), point, 0.0)
    return tuple(
        int(np.clip(np.round(p), 0, size - 1)) for p, size in zip(point, shape, strict=True)
    )


def plane_hidden(layer: Any) -> str:
    """Why the rows x columns plane of a stack is not what napari shows (the 3-D view, or
    transposed axes with a leading axis on screen); "" when it is, and for a 2-D layer.

    Rows and columns swapped on screen are still that plane.
    """
    n = int(getattr(layer, "ndim", 2))  # (an RGB image's colour axis is no layer axis)
    try:
        view = layer._slice_input
        ndisplay, displayed = int(view.ndisplay), {int(axis) for axis in view.displayed}
    except AttributeError:  # not a napari layer
        return ""
    if n <= 2 or (ndisplay == 2 and displayed == {n - 2, n - 1}):
        return ""
    return (
        f"{layer.name} shows other axes than its rows and columns (3-D view or transposed "
        "axes): show a rows x columns plane (napari's 2-D view, axes in order) to work on it"
    )


def displayed_plane(layer: Any) -> np.ndarray:
    """The 2-D plane on screen (``(H, W)``, or ``(H, W, 3|4)`` for RGB) of a layer's data."""
    return np.asarray(level0(layer)[plane_index(layer)])


def plane_text(plane: tuple[int, ...]) -> str:
    """A plane index as the docks write it: ``3`` for one leading axis, ``(1, 3)`` for more."""
    return str(plane[0]) if len(plane) == 1 else str(plane)


#: metadata of a 2-D result made from one plane of a stack (Detect's boxes): that plane
PLANE_KEY = "microstructure_plane"
#: ... and the unique id of the stack's layer (the result is shown on that plane only)
PLANE_OF_KEY = "microstructure_plane_of"


def plane_metadata(image: Any, plane: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Metadata of a 2-D result made from ``plane`` (default: the one on screen) of stack
    ``image``: the plane and the image's identity; empty for a 2-D image."""
    plane = plane_index(image) if plane is None else tuple(plane)
    return {PLANE_KEY: list(plane), PLANE_OF_KEY: str(image.unique_id)} if plane else {}


def made_plane(layer: Any) -> tuple[int, ...] | None:
    """The plane of a stack a 2-D result ``layer`` was made from (:data:`PLANE_KEY`); None
    when it records none."""
    made = (getattr(layer, "metadata", None) or {}).get(PLANE_KEY)
    return tuple(int(v) for v in made) if made else None


def made_on_other_plane(layer: Any, image: Any) -> tuple[int, ...] | None:
    """The plane of ``image`` a 2-D result ``layer`` was made from (:data:`PLANE_KEY`) when the
    slider shows another one; None when it shows that plane or the layer records none."""
    made = made_plane(layer)
    return None if made is None or plane_index(image) == made else made


def plane_suffix(layer: Any, plane: tuple[int, ...] | None = None) -> str:
    """``" (plane N)"`` for a 2-D result made from ``plane`` of a stack (default: the plane on
    screen; in its name and its key, so each plane's result is a layer of its own), ``""`` for
    a 2-D layer."""
    plane = plane_index(layer) if plane is None else tuple(plane)
    return f" (plane {plane_text(plane)})" if plane else ""
