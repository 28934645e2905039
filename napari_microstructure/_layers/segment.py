"""Layers of the segmentation dock: scribbles in, class labels and confidence out.

Results are 2-D layers laid over the image's rows and columns (for a stack, they come from one
plane and are shown on it only, :mod:`.plane_view`). A result the user edited is theirs: the
next one goes to a new layer (:func:`release_result`).

The dock finds an image's results by the image layer's identity and the result's kind
(:func:`result_output`), not by name: after the user renamed the image, its next result
replaces the earlier one (renamed after the image), and is not laid beside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import output
from .image import layer_kwargs_like, layer_role, stack_placement_like
from .output import follow_name, mark_written, own_layer, show_output
from .plane import displayed_plane, level0, plane_suffix, yx_shape
from .plane_source import PlaneSource


def image_shape2d(layer: Any) -> tuple[int, int]:
    """Rows and columns of the plane an image layer shows, from its shape: no pixel is read
    (a lazily loaded plane may take seconds to read)."""
    return yx_shape(layer)


def kept_plane(layer: Any, plane: tuple[int, ...]) -> PlaneSource:
    """Plane ``plane`` of image ``layer``'s data as they are now, unread (a worker reads it).

    Raises
    ------
    IndexError : the layer no longer has that plane (its data were replaced since).
    """
    data = level0(layer)
    lead = tuple(int(n) for n in data.shape[: len(plane)])
    if len(plane) != max(layer.ndim - 2, 0) or not all(
        0 <= p < n for p, n in zip(plane, lead, strict=True)
    ):
        raise IndexError(
            f"'{layer.name}' no longer has the plane the pixel classifier was taught on "
            f"(its shape is now {tuple(data.shape)}): paint in a new scribbles layer"
        )
    return PlaneSource(data, plane)


#: a scribbles layer's metadata: the unique id of the image layer it was made over
SCRIBBLES_OF_KEY = "microstructure_scribbles_of"


def new_scribbles_kwargs(image_layer: Any, name: str = "scribbles") -> dict[str, Any]:
    """Empty Labels data (uint8) and keyword arguments to paint over ``image_layer``.

    Over a stack the layer has the stack's planes (and its placement on every axis): the
    strokes painted on a plane stay on that plane, and teach the classifier there only.
    """
    kwargs = layer_kwargs_like(image_layer, name, "scribbles")
    kwargs["metadata"][SCRIBBLES_OF_KEY] = str(image_layer.unique_id)
    lead = tuple(int(n) for n in level0(image_layer).shape[: image_layer.ndim - 2])
    kwargs.update(stack_placement_like(image_layer))  # a stack's planes: its own placement
    kwargs["data"] = np.zeros(lead + image_shape2d(image_layer), dtype=np.uint8)
    return kwargs


def scribbles_of(layers: Any, image: Any) -> Any | None:
    """The scribbles layer made over ``image`` (:func:`new_scribbles_kwargs`; the top one of
    several) among ``layers``; None if there is none."""
    if image is None:
        return None
    uid = str(image.unique_id)
    return next(
        (
            layer
            for layer in reversed(list(layers))
            if layer_role(layer) == "scribbles"
            and (layer.metadata or {}).get(SCRIBBLES_OF_KEY) == uid
        ),
        None,
    )


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


RESULT_OF_KEY = "microstructure_result_of"  # a Segment result's metadata: its image's name


def result_output(image: Any, what: str, plane: Any = None) -> str:
    """The dock result ``what`` (``"pixel classes"``, ``"confidence"``, ...) of ``image`` (of a
    stack, of ``plane``, default the one on screen), by the image layer's identity."""
    return f"segment:{image.unique_id}:{what}{plane_suffix(image, plane)}"


def show_labels(
    viewer: Any,
    name: str,
    data: np.ndarray,
    like: Any,
    role: str,
    result: str | None = None,
    plane: Any = None,
    **kwargs: Any,
) -> Any:
    """Update the Segment dock's Labels layer for result ``result`` (by default the one called
    ``name``; or add it as ``name``) with ``data``, laid over layer ``like``; ``role`` says
    what it holds (:data:`~.image.ROLE_KEY`).

    Another layer called ``name`` (e.g. the Curate dock's curated phases) is never written.
    """
    from napari.layers import Labels

    output = result or f"segment:{name}"
    kw = layer_kwargs_like(like, name, role, output=output, plane=plane, **kwargs)
    return mark_written(show_output(viewer, Labels, data, kw))  # see :func:`release_result`


def release_result(viewer: Any, image: Any, what: str, plane: Any = None) -> Any | None:
    """The Segment dock's Labels layer for result ``what`` of ``image`` if the user changed it
    since the dock wrote it (brush, fill, eraser), now theirs (:func:`.output.disown`):
    :func:`show_result` puts the next result in a new layer. None if there is no such layer."""
    from napari.layers import Labels

    return output.release_edited(viewer, result_output(image, what, plane), Labels)


def show_confidence(
    viewer: Any,
    name: str,
    data: np.ndarray,
    like: Any,
    result: str | None = None,
    plane: Any = None,
) -> Any:
    """Update (or add) the Segment dock's 0..1 confidence image layer for result ``result``
    (by default the one called ``name``) over ``like``."""
    from napari.layers import Image

    kw = layer_kwargs_like(
        like,
        name,
        output=result or f"segment:{name}",
        plane=plane,
        colormap="magma",
        contrast_limits=(0.0, 1.0),
        opacity=0.6,
        visible=False,
    )
    return show_output(viewer, Image, data, kw)


def show_result(
    viewer: Any,
    image: Any,
    what: str,
    data: np.ndarray,
    role: str | None = None,
    plane: Any = None,
    **kw: Any,
) -> Any:
    """Update result ``what`` of ``image`` (or add it as ``"<image> <what>"``) with ``data``:
    a Labels layer of ``role``, or without one the confidence image. Found by the image
    layer's identity: after the user renamed the image, the result is updated and renamed
    after it. Of a stack, ``plane`` is the plane ``data`` was made from (default: the one on
    screen); each plane's result is a layer of its own, named by its plane."""
    from napari.layers import Image, Labels

    key = result_output(image, what, plane)
    before = own_layer(viewer, key, Labels if role else Image)
    was_on = (before.metadata or {}).get(RESULT_OF_KEY) if before is not None else None
    name = f"{image.name} {what}{plane_suffix(image, plane)}"
    if role:
        layer = show_labels(viewer, name, data, image, role, result=key, plane=plane, **kw)
    else:
        layer = show_confidence(viewer, name, data, image, result=key, plane=plane)
    if layer is before and was_on != image.name:
        follow_name(layer, name)
    layer.metadata = {**layer.metadata, RESULT_OF_KEY: image.name}
    return layer
