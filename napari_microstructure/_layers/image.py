"""Image layers: their pixels as a 2-D (or RGB) array, and their pixel size in µm."""

from __future__ import annotations

from typing import Any

import numpy as np

PIXEL_SIZE_KEY = "pixel_size_um"
UNIT = "µm"
# what a layer made by the plugin holds: "instances" (objects, grains), "phases", "scribbles",
# "boundaries" or "boxes"; docks use it to offer the right layer first
ROLE_KEY = "microstructure_role"


def layer_role(layer: Any) -> str | None:
    """The role the plugin gave a layer (None for layers it did not make)."""
    return (getattr(layer, "metadata", None) or {}).get(ROLE_KEY)


def image_array(layer: Any) -> np.ndarray:
    """Return the displayed 2-D image (grey ``(H, W)`` or ``(H, W, 3|4)`` for RGB) of a layer.

    Multi-dimensional data (pages, channels as a stack) is reduced to the plane shown at the
    current slider position, so every core function sees a single micrograph.
    """
    data = layer.data
    if getattr(layer, "multiscale", False):
        data = data[0]
    ndim_spatial = 3 if layer.rgb else 2
    arr = data
    while arr.ndim > ndim_spatial:
        arr = arr[0]
    return np.asarray(arr)


def image_pixel_size(layer: Any) -> float | None:
    """Pixel size of a layer in µm, or None when the user has not set or the file did not tell."""
    value = layer.metadata.get(PIXEL_SIZE_KEY)
    return float(value) if value else None


def set_pixel_size(layer: Any, pixel_size_um: float | None) -> None:
    """Set (or clear, with None) a layer's pixel size; its ``scale`` follows in µm."""
    n = layer.ndim
    if pixel_size_um is None or pixel_size_um <= 0:
        layer.metadata = {**layer.metadata, PIXEL_SIZE_KEY: None}
        layer.scale = (1.0,) * n
        _set_units(layer, ("pixel",) * n)
        return
    layer.metadata = {**layer.metadata, PIXEL_SIZE_KEY: float(pixel_size_um)}
    layer.scale = tuple(layer.scale[:-2]) + (float(pixel_size_um),) * 2
    _set_units(layer, ("pixel",) * (n - 2) + (UNIT, UNIT))


def _set_units(layer: Any, units: tuple[str, ...]) -> None:
    try:
        layer.units = units
    except (AttributeError, ValueError, TypeError):
        pass  # older napari without per-layer units


def units_like(layer: Any, ndim: int = 2) -> dict[str, Any]:
    """``units`` keyword argument (of the last ``ndim`` axes) for a new layer laid over
    ``layer``: napari warns about layers of different units and then draws the scale bar
    without a unit. Empty if ``layer`` has no units."""
    units = getattr(layer, "units", None)
    return {"units": tuple(str(u) for u in units[-ndim:])} if units is not None else {}


def image_layer_kwargs(
    pixel_size_um: float | None, name: str, role: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Keyword arguments for a new image (or labels) layer in physical units (and its role)."""
    kwargs: dict[str, Any] = {"name": name, "metadata": {PIXEL_SIZE_KEY: pixel_size_um}}
    if role:
        kwargs["metadata"][ROLE_KEY] = role
    if pixel_size_um:
        kwargs["scale"] = (pixel_size_um, pixel_size_um)
        kwargs["units"] = (UNIT, UNIT)
    kwargs.update(extra)
    return kwargs
