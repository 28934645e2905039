"""Layers of the segmentation dock: scribbles in, class labels and confidence out.

Results are 2-D layers laid over the image's rows and columns (for a stack, they come from the
plane on screen and show over every plane). A result the user edited is theirs: the next one
goes to a new layer (:func:`release_edited`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import output
from .image import image_array, layer_kwargs_like
from .output import mark_written, show_output
from .plane import displayed_plane


def image_shape2d(layer: Any) -> tuple[int, int]:
    """Rows and columns of the plane an image layer shows."""
    arr = image_array(layer)
    return int(arr.shape[0]), int(arr.shape[1])


def new_scribbles_kwargs(image_layer: Any, name: str = "scribbles") -> dict[str, Any]:
    """Empty Labels data (uint8) and keyword arguments to paint over ``image_layer``."""
    kwargs = layer_kwargs_like(image_layer, name, "scribbles")
    kwargs["data"] = np.zeros(image_shape2d(image_layer), dtype=np.uint8)
    return kwargs


def scribbles_array(layer: Any, shape: tuple[int, int], what: str = "scribbles") -> np.ndarray:
    """A copy of the plane on screen of a scribbles (or annotation: ``what``) Labels layer
    (0 = not painted), checked against the image size."""
    data = displayed_plane(layer)
    if tuple(data.shape) != tuple(shape):
        raise ValueError(
            f"the {what} layer {layer.name!r} is {data.shape[0]}x{data.shape[1]} pixels but "
            f"the image is {shape[0]}x{shape[1]}"
        )
    return np.array(data, copy=True)


def show_labels(
    viewer: Any, name: str, data: np.ndarray, like: Any, role: str, **kwargs: Any
) -> Any:
    """Update the Segment dock's Labels layer for result ``name`` (or add it) with ``data``,
    laid over layer ``like``; ``role`` says what it holds (:data:`~.image.ROLE_KEY`).

    Another layer called ``name`` (e.g. the Curate dock's curated phases) is never written.
    """
    from napari.layers import Labels

    kw = layer_kwargs_like(like, name, role, output=f"segment:{name}", **kwargs)
    return mark_written(show_output(viewer, Labels, data, kw))  # see :func:`release_edited`


def release_edited(viewer: Any, name: str) -> Any | None:
    """The Segment dock's Labels layer for result ``name`` if the user changed it since the dock
    wrote it (brush, fill, eraser), now theirs (:func:`.output.disown`): :func:`show_labels`
    puts the next result in a new layer. None if there is no such layer."""
    from napari.layers import Labels

    return output.release_edited(viewer, f"segment:{name}", Labels)


def show_confidence(viewer: Any, name: str, data: np.ndarray, like: Any) -> Any:
    """Update (or add) the Segment dock's 0..1 confidence image layer ``name`` over ``like``."""
    from napari.layers import Image

    kw = layer_kwargs_like(
        like,
        name,
        output=f"segment:{name}",
        colormap="magma",
        contrast_limits=(0.0, 1.0),
        opacity=0.6,
        visible=False,
    )
    return show_output(viewer, Image, data, kw)
