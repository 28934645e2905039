"""Image layers: their pixels as a 2-D (or RGB) array, their pixel size in µm, and where new
layers laid over them go."""

from __future__ import annotations

from typing import Any

import numpy as np

from .plane import displayed_plane, plane_metadata

PIXEL_SIZE_KEY = "pixel_size_um"
UNIT = "µm"
# what a layer made by the plugin holds: "instances" (objects, grains), "phases", "scribbles",
# "boundaries" or "boxes"; docks use it to offer the right layer first
ROLE_KEY = "microstructure_role"
# which dock result a layer holds (e.g. "segment:steel phases"): a dock writes a new result only
# into a layer it made for that result, never into another tool's layer of the same name
OUTPUT_KEY = "microstructure_output"


def layer_role(layer: Any) -> str | None:
    """The role the plugin gave a layer (None for layers it did not make)."""
    return (getattr(layer, "metadata", None) or {}).get(ROLE_KEY)


def image_array(layer: Any) -> np.ndarray:
    """Return the displayed 2-D image (grey ``(H, W)`` or ``(H, W, 3|4)`` for RGB) of a layer.

    Multi-dimensional data (pages, channels as a stack) is reduced to the plane shown at the
    current slider position (:func:`.plane.plane_index`), so every core function sees a single
    micrograph.
    """
    return displayed_plane(layer)


def layer_pixel_size(layer: Any) -> float | None:
    """µm per pixel of any layer, or None when unknown: the one rule of every dock.

    A square ``scale`` on rows and columns is the pixel size: converted to µm when the layer's
    unit is a length, else taken as µm, except napari's default scale of 1 pixel, which says
    nothing. The plugin's ``metadata`` (its reader, the Pixel size dock) gives it when the scale
    says nothing, and always for points and shapes (their data are µm, their scale lays them on
    the image). An image or labels layer whose scale was changed since (the console, another
    plugin) is measured in the scale napari's scale bar shows: in pixels when it is not square.
    """
    value = (getattr(layer, "metadata", None) or {}).get(PIXEL_SIZE_KEY)
    try:
        ps = float(value) if value else None
    except (TypeError, ValueError):
        ps = None
    if ps is not None and not (np.isfinite(ps) and ps > 0):
        ps = None
    scale = np.asarray(layer.scale[-2:], dtype=float)
    factors = _um_per_unit(layer)
    if ps is not None and (_is_overlay(layer) or (factors is None and np.allclose(scale, 1.0))):
        return ps  # an overlay's scale, or napari's default: the metadata's size stands
    physical = scale_um(layer)
    if not (np.all(np.isfinite(physical)) and physical.min() > 0):
        return ps
    if not np.isclose(physical[0], physical[1], rtol=1e-6):
        return None  # not square: no single pixel size
    if ps is not None and np.isclose(physical[1], ps, rtol=1e-6, atol=0.0):
        return ps  # the two agree: the file's exact value
    if factors is None and np.isclose(scale[1], 1.0):
        return None  # napari's default: unknown, not 1 µm
    return float(physical[1])


def scale_um(layer: Any) -> np.ndarray:
    """A layer's row and column scale in µm when its unit is a length, else as it is."""
    scale = np.asarray(layer.scale[-2:], dtype=float)
    factors = _um_per_unit(layer)
    return scale if factors is None else scale * factors


def _is_overlay(layer: Any) -> bool:
    """Whether ``layer`` holds coordinates (points, shapes), not pixels: its ``scale`` places
    µm data on an image (:mod:`.overlay`), it is not a pixel size."""
    from napari.layers import Points, Shapes

    return isinstance(layer, (Points, Shapes))


def _um_per_unit(layer: Any) -> np.ndarray | None:
    """µm per unit of the rows and columns axes, None unless both are lengths."""
    units = getattr(layer, "units", None)
    if units is None or len(units) < 2:
        return None
    try:
        return np.array([float((1 * u).to("micrometer").magnitude) for u in units[-2:]])
    except (AttributeError, TypeError, ValueError):  # "pixel" or no unit: not a length
        return None


def set_pixel_size(layer: Any, pixel_size_um: float | None) -> None:
    """Set (or clear, with None) a layer's pixel size; its rows and columns ``scale`` follows in
    µm (the scale and units of the leading axes of a stack stay)."""
    # in this order, the layer's pixel size is the new one at every scale and metadata event
    # (a scale in nm read as µm for a moment would otherwise win, :func:`layer_pixel_size`)
    lead_units = _leading_units(layer)
    if pixel_size_um is None or pixel_size_um <= 0:
        layer.metadata = {**layer.metadata, PIXEL_SIZE_KEY: None}
        _set_units(layer, lead_units + ("pixel", "pixel"))
        layer.scale = tuple(layer.scale[:-2]) + (1.0, 1.0)
        return
    _set_units(layer, lead_units + (UNIT, UNIT))
    layer.scale = tuple(layer.scale[:-2]) + (float(pixel_size_um),) * 2
    layer.metadata = {**layer.metadata, PIXEL_SIZE_KEY: float(pixel_size_um)}


def _leading_units(layer: Any) -> tuple[str, ...]:
    units = getattr(layer, "units", None)
    n = layer.ndim - 2
    if units is None or len(units) != layer.ndim:
        return ("pixel",) * n
    return tuple(str(u) for u in units[:n])


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


def placement_like(layer: Any) -> dict[str, Any]:
    """``scale`` and ``translate`` (and ``rotate``, ``shear``, ``affine`` when the layer has
    them) that lay a new 2-D layer on ``layer``'s rows and columns, pixel on pixel.

    A transform that mixes the rows and columns with a stack's leading axes has no 2-D part
    and is left out (the user is told once per layer).
    """
    from napari.utils.transforms.transform_utils import shear_to_matrix

    n = layer.ndim
    kwargs: dict[str, Any] = {
        "scale": tuple(float(s) for s in layer.scale[-2:]),
        "translate": tuple(float(t) for t in layer.translate[-2:]),
    }
    rotate = yx_block(np.asarray(layer.rotate, dtype=float), n)
    if rotate is not None and not np.allclose(rotate, np.eye(2)):
        kwargs["rotate"] = rotate
    shear = yx_block(shear_to_matrix(np.asarray(layer.shear, dtype=float), ndim=n), n)
    if shear is not None and not np.allclose(shear, np.eye(2)):
        kwargs["shear"] = shear
    affine = yx_block(np.asarray(layer.affine.affine_matrix, dtype=float), n, homogeneous=True)
    if affine is not None and not np.allclose(affine, np.eye(3)):
        kwargs["affine"] = affine
    if rotate is None or shear is None or affine is None:
        _tell_mixed(layer)
    return kwargs


_TOLD_MIXED: set[str] = set()


def _tell_mixed(layer: Any) -> None:
    """Warn once per layer that 2-D results cannot follow its 3-D rotation, shear or affine."""
    from napari.utils.notifications import show_warning

    key = str(getattr(layer, "unique_id", id(layer)))
    if key in _TOLD_MIXED:
        return
    _TOLD_MIXED.add(key)
    show_warning(
        f"'{layer.name}': its rotation, shear or affine turns the planes into the rows and "
        "columns, which a plane's results cannot follow: they are drawn on its unturned rows "
        "and columns and will not lie on it on screen. Reset that transform to see them on "
        "the image."
    )


def yx_block(matrix: np.ndarray, n: int, homogeneous: bool = False) -> np.ndarray | None:
    """The rows-and-columns part of an ``n``-D linear (or homogeneous) matrix, None when it
    mixes them with the leading axes."""
    yx = [n - 2, n - 1]
    lead = list(range(n - 2))
    if lead and not (
        np.allclose(matrix[np.ix_(lead, yx)], 0) and np.allclose(matrix[np.ix_(yx, lead)], 0)
    ):
        return None
    keep = yx + [n] if homogeneous else yx
    return matrix[np.ix_(keep, keep)]


def layer_kwargs_like(
    layer: Any,
    name: str,
    role: str | None = None,
    output: str | None = None,
    plane: tuple[int, ...] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Keyword arguments for a new 2-D layer laid over ``layer`` (its rows and columns), with
    its pixel size, units, ``role`` (:data:`ROLE_KEY`) and dock ``output`` (:data:`OUTPUT_KEY`).

    A dock's result over a stack was made from one plane, ``plane`` (default: the one on
    screen): it records it (:func:`.plane.plane_metadata`), to be shown on it only.
    """
    metadata: dict[str, Any] = {PIXEL_SIZE_KEY: layer_pixel_size(layer)}
    if role:
        metadata[ROLE_KEY] = role
    if output:
        metadata[OUTPUT_KEY] = output
        metadata.update(plane_metadata(layer, plane))
    kwargs = {"name": name, "metadata": metadata, **placement_like(layer), **units_like(layer)}
    kwargs.update(extra)
    return kwargs


def stack_placement_like(layer: Any) -> dict[str, Any]:
    """Placement keyword arguments on every axis of ``layer`` (scale, translate, rotate, shear,
    affine, units), for a new layer with a stack's planes; empty for a 2-D ``layer``."""
    if layer.ndim <= 2:
        return {}
    return {
        "scale": tuple(layer.scale),
        "translate": tuple(layer.translate),
        "rotate": np.asarray(layer.rotate),
        "shear": np.asarray(layer.shear),
        "affine": np.asarray(layer.affine.affine_matrix),
        **units_like(layer, layer.ndim),
    }
