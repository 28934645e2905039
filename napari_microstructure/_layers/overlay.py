"""Overlays (boxes, prompts) placed on an image: ``pixel * pixel_size`` data on its pixels.

An overlay takes the image's translate and rotation and a scale of the image's divided by the
pixel size, so its data are µm from the image's corner (pixels when the size is unknown); the
image it was drawn on is recorded in its metadata (:data:`OVER_KEY`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .image import PIXEL_SIZE_KEY, layer_pixel_size, placement_like, units_like, yx_block
from .output import place
from .plane import plane_index

# the image layer (its napari unique_id) an overlay of boxes or prompts was drawn on: only its
# own overlays follow when that image's pixel size changes
OVER_KEY = "microstructure_over"


def overlay_placement(image: Any, pixel_size: float | None) -> dict[str, Any]:
    """Placement and units of a 2-D layer of ``pixel * pixel_size`` coordinates on ``image``."""
    s = float(pixel_size) if pixel_size else 1.0
    kwargs = placement_like(image)
    kwargs["scale"] = tuple(v / s for v in kwargs["scale"])
    return {**kwargs, **units_like(image)}


def over(image: Any) -> dict[str, str]:
    """Metadata tying an overlay to the image it was drawn on (:data:`OVER_KEY`)."""
    return {} if image is None else {OVER_KEY: str(image.unique_id)}


def lay_on(layer: Any, image: Any, pixel_size: float | None) -> None:
    """Place an existing overlay of ``pixel * pixel_size`` data on ``image``
    (:func:`overlay_placement`) and record that pixel size and image in its metadata."""
    kwargs = overlay_placement(image, pixel_size)
    place(layer, kwargs)
    layer.units = kwargs.get("units", ("pixel", "pixel"))
    layer.metadata = {**layer.metadata, PIXEL_SIZE_KEY: pixel_size, **over(image)}


def overlay_unit(layer: Any, image: Any) -> float | None:
    """Data units per pixel of a 2-D Points or Shapes ``layer`` lying on ``image``, else None.

    It lies on the image when it is placed by :func:`overlay_placement` (at its pixel size, its
    own ``pixel_size_um`` or 1 for pixel data): its transform is the image's (rows and columns)
    divided by that number, with the same offset.
    """
    if layer.ndim != 2 or image.ndim < 2:
        return None
    a_img, b_img = affine_map(image.data_to_world, image.ndim)
    a_img, b_img = yx_block(a_img, image.ndim), b_img[-2:]
    if a_img is None:
        return None  # rows and columns mixed with a stack's leading axes
    a, b = affine_map(layer.data_to_world, 2)
    tol = 1e-6 * float(np.abs(a_img).max())
    if not np.allclose(b, b_img, rtol=0, atol=tol):
        return None
    for unit in (layer_pixel_size(layer), layer_pixel_size(image), 1.0):
        if unit and np.allclose(a * unit, a_img, rtol=1e-6, atol=tol):
            return float(unit)
    return None


def affine_map(fn: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``fn`` (an affine map of ``n`` coordinates, e.g. ``layer.data_to_world``) as (A, b)."""
    b = np.asarray(fn(np.zeros(n)), dtype=float)
    a = np.stack([np.asarray(fn(e), dtype=float) - b for e in np.eye(n)], axis=1)
    return a, b


def image_pixels(layer: Any, image: Any, coords: np.ndarray) -> np.ndarray:
    """(row, col) pixels of ``image`` (its plane on screen) at ``layer``'s data ``coords``."""
    coords = np.asarray(coords, dtype=float).reshape(-1, layer.ndim)
    a, b = affine_map(layer.data_to_world, layer.ndim)
    world = coords @ a.T + b
    n = image.ndim
    # a stack's leading world axes: the plane on screen (they do not move its rows and columns)
    lead = np.asarray(image.data_to_world([*plane_index(image), 0.0, 0.0]), dtype=float)[:-2]
    full = np.hstack([np.broadcast_to(lead, (len(world), n - 2)), world[:, -2:]])
    ai, bi = affine_map(image.world_to_data, n)
    return (full @ ai.T + bi)[:, -2:]
