"""Layers of the segmentation dock: scribbles in, class labels and confidence out."""

from __future__ import annotations

from typing import Any

import numpy as np

from .image import PIXEL_SIZE_KEY, ROLE_KEY, image_array, image_layer_kwargs, image_pixel_size


def image_shape2d(layer: Any) -> tuple[int, int]:
    """Rows and columns of the plane an image layer shows."""
    arr = image_array(layer)
    return int(arr.shape[0]), int(arr.shape[1])


def new_scribbles_kwargs(image_layer: Any, name: str = "scribbles") -> dict[str, Any]:
    """Empty Labels data (uint8) and keyword arguments to paint over ``image_layer``."""
    kwargs = image_layer_kwargs(image_pixel_size(image_layer), name, "scribbles")
    kwargs["data"] = np.zeros(image_shape2d(image_layer), dtype=np.uint8)
    kwargs["translate"] = tuple(image_layer.translate[-2:])
    return kwargs


def scribbles_array(layer: Any, shape: tuple[int, int]) -> np.ndarray:
    """A copy of a scribbles Labels layer (0 = not painted), checked against the image size."""
    data = np.asarray(layer.data)
    while data.ndim > 2:
        data = data[0]
    if tuple(data.shape) != tuple(shape):
        raise ValueError(
            f"the scribbles layer {layer.name!r} is {data.shape[0]}x{data.shape[1]} pixels but "
            f"the image is {shape[0]}x{shape[1]}"
        )
    return np.array(data, copy=True)


def show_labels(
    viewer: Any, name: str, data: np.ndarray, like: Any, role: str, **kwargs: Any
) -> Any:
    """Update the Labels layer ``name`` (or add it) with ``data``, placed like layer ``like``;
    ``role`` says what it holds (:data:`~.image.ROLE_KEY`)."""
    if name in viewer.layers:
        layer = viewer.layers[name]
        if layer.data.shape == data.shape and hasattr(layer, "selected_label"):
            layer.data = data
            layer.metadata = {**layer.metadata, ROLE_KEY: role}
            return layer
        viewer.layers.remove(name)
    kw = image_layer_kwargs(image_pixel_size(like), name, role, **kwargs)
    kw["translate"] = tuple(like.translate[-2:])
    return viewer.add_labels(data, **kw)


def show_confidence(viewer: Any, name: str, data: np.ndarray, like: Any) -> Any:
    """Update (or add) a 0..1 confidence image layer over ``like``."""
    if name in viewer.layers:
        layer = viewer.layers[name]
        if layer.data.shape == data.shape and not hasattr(layer, "selected_label"):
            layer.data = data
            return layer
        viewer.layers.remove(name)
    kw = image_layer_kwargs(
        image_pixel_size(like),
        name,
        colormap="magma",
        contrast_limits=(0.0, 1.0),
        opacity=0.6,
        visible=False,
    )
    kw["translate"] = tuple(like.translate[-2:])
    return viewer.add_image(data, **kw)


def layer_pixel_size(layer: Any) -> float | None:
    """µm per pixel stored on any layer (None when unknown)."""
    value = layer.metadata.get(PIXEL_SIZE_KEY)
    return float(value) if value else None
