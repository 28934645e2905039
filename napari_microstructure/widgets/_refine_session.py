"""The objects and prompts layers of each image the Refine dock works on.

Every image gets its own "<image> objects" Labels layer, "<image> prompts" Points layer and
undo history, so work on one image never touches another's layers. Both layers carry the
image's ``unique_id`` in their metadata: a dock opened later finds them again. A prompts layer
belongs to one dock (:data:`DOCK_KEY`): a second dock on the same image makes its own, so a
click on one dock's prompts is never taken by the other; a dock that closes lets go of its
prompts layers, and the next dock on that image takes them again. Both layers lie on the
image (its scale, translate, rotation); the objects layer of a stack has the stack's planes, so
the objects of each plane stay on it. When the image's pixels are replaced by another size, its
objects go to a new layer; the old one is kept as it is. When the image leaves the viewer, its
session goes (else the dock holds every image it ever worked on until it closes); its objects
and prompts layers stay as they are, and the image, added again, finds them as a dock opened
later does (with no undo history).
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from napari.layers import Labels, Points
from napari.utils.notifications import show_info

from .._layers import labels_edit as LE
from .._layers import points as P
from .._layers.output import claim, claimed
from .._layers.plane_source import PlaneSource
from ._refine_objects import ObjectEditor

IMAGE_KEY = "refine_image"  # metadata of the objects and prompts layers: the image's unique id
DOCK_KEY = "refine_dock"  # metadata of a prompts layer: the token of the open dock it belongs to


def image_fingerprint(image: np.ndarray | PlaneSource) -> tuple[Any, ...]:
    """What tells whether an image's pixels changed since it was prepared.

    Pixels in memory (an array, or a :class:`PlaneSource` of one): their shape, type and a CRC
    (2 ms for a 2048 x 2048 RGB image), which sees an edit in place. A lazy plane (dask, zarr,
    an OME-Zarr level): the data's identity and name and the plane, read from no store, so it
    costs nothing on the GUI thread (a lazy array is not edited in place by napari).
    """
    if isinstance(image, PlaneSource):
        if not image.in_memory:
            data = image.data
            name = str(getattr(data, "name", ""))  # dask: a token of its graph; zarr: its path
            dtype = np.dtype(data.dtype).str
            return "lazy", id(data), name, image.plane, tuple(data.shape), dtype
        image = image.read()  # in memory: the plane itself, no copy
    a = np.ascontiguousarray(image)
    return a.shape, a.dtype.str, zlib.crc32(memoryview(a).cast("B"))


@dataclass(eq=False)
class ImageSession:
    """One image and the layers and undo history of the objects made on it."""

    image: Any
    labels: Any
    points: Any
    objects: ObjectEditor
    # the image's pixels may have changed since it was prepared; True at first: the engine's
    # image, once closed and freed, may have left its ids (the engine's key) to this one
    changed: bool = True

    def on_image_refreshed(self, _event: Any = None) -> None:
        self.changed = True


class Sessions:
    """The sessions of a dock, found by image; ``hook(points, session)`` sets up new prompts
    layers (click handler, keys) and ``unhook(points)`` undoes it."""

    def __init__(
        self,
        viewer: Any,
        hook: Callable[[Any, ImageSession], None],
        unhook: Callable[[Any], None],
    ) -> None:
        self._viewer = viewer
        self._hook, self._unhook = hook, unhook
        self._all: list[ImageSession] = []
        self.token = uuid.uuid4().hex  # this dock's mark on the prompts layers it owns
        viewer.layers.events.removed.connect(self._on_removed)

    def of_image(self, image: Any) -> ImageSession | None:
        """The session of ``image``, whether or not its layers are still in the viewer."""
        return next((s for s in self._all if s.image is image), None)

    def get(self, image: Any) -> ImageSession | None:
        """The session of ``image`` (None before the dock made its objects layer, or once that
        is deleted); its prompts layer may have been deleted: see :meth:`prompts`."""
        s = self.of_image(image)
        return s if s is not None and s.labels in self._viewer.layers else None

    def prompts(self, s: ImageSession | None) -> Any:
        """The prompts layer of session ``s`` (None when it is not in the viewer)."""
        return s.points if s is not None and s.points in self._viewer.layers else None

    def of_points(self, points: Any) -> ImageSession | None:
        """The session whose prompts layer is ``points``."""
        return next((s for s in self._all if s.points is points), None)

    def ensure(self, image: Any) -> ImageSession:
        """The session of ``image``, making (or finding) its objects and prompts layers."""
        s = self.of_image(image)
        if s is None:
            s = ImageSession(image, None, None, ObjectEditor())
            image.events.set_data.connect(s.on_image_refreshed)
            self._all.append(s)
        layers = self._viewer.layers
        fresh = s.labels not in layers
        if not fresh and s.labels.data.shape != LE.objects_shape(image):
            fresh = True  # the image's pixels were replaced by another size: keep the old layer
            show_info(
                f"Refine: '{image.name}' changed size; its objects go to a new layer, "
                f"'{s.labels.name}' is kept as it is."
            )
        if fresh:
            s.labels = self._find(image, Labels) or self._add_labels(image)
            s.objects.labels = s.labels
            s.objects.reset()  # a new layer: the old history has nothing to undo in it
        if s.points not in layers:
            if s.points is not None:  # deleted: its clicks are gone, so is the open object
                self._unhook(s.points)
                if s.objects.entry is not None:
                    s.objects.drop(s.objects.entry)  # (given no mask yet: nothing left of it)
                s.objects.close()  # the next click starts a new object
            found = self._find(image, Points)
            if found is not None and len(found.data):
                P.clear_prompts(found)  # an earlier dock's clicks: of no object open here
            s.points = found or self._add_points(image)
            s.points.metadata = {**s.points.metadata, DOCK_KEY: self.token}
            self._hook(s.points, s)
        elif fresh and len(s.points.data):
            P.clear_prompts(s.points)  # they were the prompts of an object of the old layer
        return s

    def _find(self, image: Any, kind: type) -> Any:
        tag = str(image.unique_id)
        for layer in self._viewer.layers:
            if isinstance(layer, kind) and layer.metadata.get(IMAGE_KEY) == tag:
                if not claimed(layer, renamed=True):
                    continue  # a copy the user made (Duplicate Layer): theirs, never written
                if kind is Labels and layer.data.shape != LE.objects_shape(image):
                    continue  # the objects of the image's pixels before they were replaced
                if kind is Points and layer.metadata.get(DOCK_KEY, self.token) != self.token:
                    continue  # the prompts of another open dock on this image
                return layer
        return None

    def _add_labels(self, image: Any) -> Any:
        kw = LE.objects_labels_kwargs(image, f"{image.name} objects")
        kw["metadata"][IMAGE_KEY] = str(image.unique_id)
        return claim(self._viewer.add_labels(kw.pop("data"), **kw))

    def _add_points(self, image: Any) -> Any:
        kw = P.prompt_points_kwargs(image, f"{image.name} prompts")
        kw["metadata"][IMAGE_KEY] = str(image.unique_id)
        return claim(self._viewer.add_points(kw.pop("data"), **kw))

    def _on_removed(self, _event: Any = None) -> None:
        """A layer left the viewer: drop the sessions of images no longer in it."""
        layers = self._viewer.layers
        for s in [s for s in self._all if s.image not in layers]:
            self._drop(s)

    def _drop(self, s: ImageSession) -> None:
        """Stop listening to the image of ``s`` and its prompts layer, and let go of that layer
        (a dock on the image, this one too, takes it again); its objects layer is left as it
        is. Work under way that holds ``s`` keeps it until it ends."""
        self._all.remove(s)
        s.image.events.set_data.disconnect(s.on_image_refreshed)
        if s.points is not None:
            self._unhook(s.points)
            meta = s.points.metadata
            if meta.get(DOCK_KEY) == self.token:
                s.points.metadata = {k: v for k, v in meta.items() if k != DOCK_KEY}

    def close(self) -> None:
        """Stop listening to the viewer, the images and the prompts layers, and let go of those
        layers (a dock opened later takes them again)."""
        self._viewer.layers.events.removed.disconnect(self._on_removed)
        for s in list(self._all):
            self._drop(s)
