"""Result layers of the docks: found by the mark the dock left on them, never by name alone.

A layer's name is not the dock's: the Curate dock calls its curated phases "<image> phases",
as the Segment dock calls a phases prediction. A dock marks each layer it makes for a result
with ``metadata[OUTPUT_KEY]`` and later writes that result only into a layer with its mark;
without one it adds a new layer (napari makes its name unique).

The mark holds while the layer keeps the name the dock gave it (:func:`claim`): a result the
user renamed to keep it, or a copy made by napari's Duplicate Layer (which copies the
metadata), is the user's and never written again. A Labels result also holds a fingerprint of
the data as the dock wrote them (:func:`mark_written`): a dock that finds it
:func:`edited_since_written` (the user's brush, fill or eraser) can :func:`disown` it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np

from .image import OUTPUT_KEY
from .plane import level0
from .plane_view import show_on_its_plane

PLACEMENT = ("scale", "translate", "rotate", "shear", "affine")
NAME_KEY = "microstructure_name"  # the name a dock gave the layer it made
LAYER_KEY = "microstructure_layer"  # the layer's own unique_id: a copy of it has another
# a fingerprint of a result as the dock wrote it: of a Labels layer's data, of a boxes layer's
# boxes and classes (:func:`.shapes.mark_drawn`)
DRAWN_KEY = "microstructure_drawn"


def claim(layer: Any) -> Any:
    """Record that a dock made ``layer`` and the name it got (after napari made it unique)."""
    layer.metadata = {**layer.metadata, NAME_KEY: layer.name, LAYER_KEY: str(layer.unique_id)}
    return layer


def claimed(layer: Any, renamed: bool = False) -> bool:
    """False for a copy of a dock's layer (napari's Duplicate Layer copies the metadata) and,
    unless ``renamed`` is allowed, once the user renamed it; True for unclaimed layers."""
    meta = layer.metadata or {}
    if meta.get(LAYER_KEY, str(layer.unique_id)) != str(layer.unique_id):
        return False
    return renamed or meta.get(NAME_KEY, layer.name) == layer.name


def made_here(layer: Any) -> bool:
    """A layer a dock made (:func:`claim`), renamed or not, but not a copy of one."""
    return LAYER_KEY in (layer.metadata or {}) and claimed(layer, renamed=True)


def disown(layer: Any) -> None:
    """Take a dock's mark off a layer: it is the user's now, never written by the dock."""
    layer.metadata = {k: v for k, v in layer.metadata.items() if k not in (OUTPUT_KEY, DRAWN_KEY)}


def data_fingerprint(layer: Any) -> int:
    """A checksum of a layer's data (its full-resolution level): shape, type and values."""
    return array_fingerprint(level0(layer))


def array_fingerprint(array: Any) -> int:
    """A checksum of an array's shape, type and values."""
    data = np.ascontiguousarray(array)
    return zlib.crc32(data.data, zlib.crc32(f"{data.shape} {data.dtype.str}".encode()))


def mark_written(layer: Any) -> Any:
    """Record the fingerprint of the data a dock just wrote into ``layer`` (:data:`DRAWN_KEY`)."""
    layer.metadata = {**layer.metadata, DRAWN_KEY: data_fingerprint(layer)}
    return layer


def edited_since_written(layer: Any) -> bool:
    """True if a layer's data changed since :func:`mark_written` (False for a layer without
    that record)."""
    drawn = (layer.metadata or {}).get(DRAWN_KEY)
    return drawn is not None and int(drawn) != data_fingerprint(layer)


def release_edited(viewer: Any, output: str, kind: type | tuple[type, ...]) -> Any | None:
    """A dock's layer for result ``output`` if the user changed its data since the dock wrote
    it (:func:`mark_written`; brush, fill, eraser), now theirs (:func:`disown`): the dock's next
    result goes to a new layer. None if there is no such layer."""
    layer = own_layer(viewer, output, kind)
    if layer is None or not edited_since_written(layer):
        return None
    disown(layer)
    return layer


def follow_name(layer: Any, name: str) -> Any:
    """Give a dock's result layer the ``name`` it has now (its image was renamed), still as the
    dock's (:func:`claim`); napari may make the name unique."""
    if layer.name != name:
        layer.name = name
        claim(layer)
    return layer


def own_layer(viewer: Any, output: str, kind: type | tuple[type, ...]) -> Any | None:
    """The layer of type ``kind`` a dock made for result ``output`` (None if there is none)."""
    for layer in viewer.layers:
        meta = layer.metadata or {}
        if isinstance(layer, kind) and meta.get(OUTPUT_KEY) == output and claimed(layer):
            return layer
    return None


def place(layer: Any, kwargs: dict[str, Any]) -> None:
    """Give a 2-D layer the placement in ``kwargs`` (identity for what they leave out)."""
    n = layer.ndim
    identity = {
        "scale": (1.0,) * n,
        "translate": (0.0,) * n,
        "rotate": np.eye(n),
        "shear": np.eye(n),
        "affine": np.eye(n + 1),
    }
    for key in PLACEMENT:
        setattr(layer, key, kwargs.get(key, identity[key]))


def show_output(
    viewer: Any, kind: type, data: np.ndarray, kwargs: dict[str, Any], update: Iterable[str] = ()
) -> Any:
    """Put ``data`` into the layer marked ``kwargs['metadata'][OUTPUT_KEY]`` (or add one).

    The marked layer gets the placement, units, metadata and the ``update`` attributes of
    ``kwargs``, and is made visible unless ``kwargs`` adds it hidden; one of another size is
    replaced.
    """
    from napari.layers import Labels

    from .label_dtype import replace_ids, shown_labels

    if issubclass(kind, Labels):
        data = shown_labels(data)  # a montage's ids as uint16 where they fit: napari is fast
    layer = own_layer(viewer, kwargs["metadata"][OUTPUT_KEY], kind)
    if layer is not None and layer.data.shape == data.shape and layer.ndim == len(kwargs["scale"]):
        if isinstance(layer, Labels):
            replace_ids(layer, data)
        else:
            layer.data = data
        place(layer, kwargs)
        layer.metadata = {**layer.metadata, **kwargs["metadata"]}
        for key in ("units", *update):
            if key in kwargs:
                setattr(layer, key, kwargs[key])
        # a new result is shown, even where the user hid the last one; a layer the dock makes
        # hidden (``visible=False``, e.g. a confidence map) stays as the user left it
        if kwargs.get("visible", True):
            layer.visible = True
        show_on_its_plane(viewer, layer)
        return layer
    if layer is not None:
        viewer.layers.remove(layer)
    add = viewer.add_labels if issubclass(kind, Labels) else viewer.add_image
    layer = claim(add(data, **kwargs))
    show_on_its_plane(viewer, layer)
    return layer
