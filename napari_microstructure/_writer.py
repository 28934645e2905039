"""napari writers: labels and images saved as TIFF with their pixel size.

napari's own TIFF writers drop the layer's scale, so a result saved with *File > Save Selected
Layers* reopened in pixels, off its micrograph. These write the pixel size into the TIFF's
resolution tags (:func:`~.core.atomic.atomic_write_tiff`), which the plugin's reader reads
back; labels carry :data:`~.core.atomic.LABELS_MARK`, so they reopen as labels whatever their
integer type, and their per-object ``features`` (class names, scores, ...), which the reader
restores (:data:`~.core.atomic.FEATURES_TAG`).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from ._layers import layer_pixel_size
from .core.atomic import atomic_write_tiff


def write_labels(path: str, data: Any, meta: dict) -> list[str]:
    """Write a Labels layer's ids as a TIFF marked as labels, with its pixel size and its
    ``features`` table."""
    return [_write(path, data, meta, labels=True)]


def write_image(path: str, data: Any, meta: dict) -> list[str]:
    """Write an Image layer's pixels (grey, RGB or a stack of planes) as a TIFF, with its
    pixel size."""
    return [_write(path, data, meta, labels=False)]


def meta_pixel_size(meta: dict) -> float | None:
    """µm per pixel of the layer napari describes in ``meta`` (its ``scale``, ``units`` and
    ``metadata``), by the rule of :func:`~._layers.layer_pixel_size`; None when unknown."""
    view = SimpleNamespace(
        scale=tuple(meta.get("scale") or (1.0, 1.0)),
        units=_units(meta.get("units")),
        metadata=meta.get("metadata") or {},
    )
    return layer_pixel_size(view)


def _units(units: Any) -> tuple | None:
    """napari's units (pint units, or names such as ``"nm"`` from a caller's own ``meta``)."""
    if units is None:
        return None
    if isinstance(units, str):
        units = (units, units)
    import pint

    registry = pint.get_application_registry()
    parsed = []
    for unit in units:
        try:
            parsed.append(registry.parse_expression(unit).units if isinstance(unit, str) else unit)
        except (pint.errors.PintError, ValueError, TypeError, AttributeError):
            parsed.append(unit)  # not a length: the scale is read as µm, as for a layer
    return tuple(parsed)


def _write(path: str, data: Any, meta: dict, labels: bool) -> str:
    if meta.get("multiscale"):  # (napari's MultiScaleData is no list: read as its smallest)
        data = data[0]  # the full-resolution level, which the pixel size is of
    array = np.asarray(data)
    if array.dtype.kind == "b":
        array = array.astype(np.uint8)
    pixel_size = meta_pixel_size(meta)
    # a stack's planes are grey: left to guess, tifffile stores 3 or 4 planes as one RGB image
    grey = None if array.ndim <= 2 or meta.get("rgb") else "minisblack"
    features = meta.get("features") if labels else None
    return str(
        atomic_write_tiff(
            path, array, pixel_size, labels=labels, photometric=grey, features=features
        )
    )
