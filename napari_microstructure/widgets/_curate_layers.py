"""The layers the Curate dock shows for a project image: its image, labels, phases and boxes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from napari.layers import Image

from .._layers import image_layer_kwargs, layer_role
from .._layers.curate import (
    boxes_layer_kwargs,
    labels_layer_kwargs,
    project_layers,
    tag_for_project,
)
from .._layers.label_dtype import labels_dtype, replace_ids, shown_labels
from .._layers.output import claim, made_here
from .._layers.shapes import replace_rectangles


class ImageLayers:
    """Find, show (from the saved labels) and close the layers of project images."""

    def __init__(self, viewer: Any) -> None:
        self._viewer = viewer

    def of(self, root: Path, image_id: str) -> list[Any]:
        """Every layer showing the image (also the user's own image layer added with it)."""
        return project_layers(self._viewer.layers, root, image_id)

    def made(self, root: Path, image_id: str) -> list[Any]:
        """Layers the dock made for the image, renamed or not (not copies of them)."""
        return [lay for lay in self.of(root, image_id) if made_here(lay)]

    def by_role(self, root: Path, image_id: str) -> dict[str, Any]:
        """The dock's layers of the image by role (instances, phases, boxes, image)."""
        return {layer_role(lay): lay for lay in self.made(root, image_id) if layer_role(lay)}

    def close(self, root: Path, image_id: str) -> None:
        """Take the dock's layers of an image out of the viewer."""
        for layer in self.made(root, image_id):
            self._viewer.layers.remove(layer)

    def _add(self, kind: str, root: Path, image_id: str, **kwargs: Any) -> Any:
        layer = getattr(self._viewer, f"add_{kind}")(**kwargs)
        return claim(tag_for_project(layer, root, image_id))

    def show(
        self,
        project: Any,
        image_id: str,
        labels: Any,
        image_layer: Image | None = None,
        pixels: np.ndarray | None = None,
    ) -> tuple[Image, dict[str, Any]]:
        """The image layer and the label layers by role, showing the labels as saved (kept
        layers are refreshed: another window may have saved, classes may be renamed);
        ``pixels``: the image's, read already, for a layer made for it."""
        root, rec = project.root, project.image_record(image_id)
        ps = rec.get("pixel_size")
        layers = self.by_role(root, image_id)
        if image_layer is None:  # the user's own image layer added to the project, or ours
            image_layer = next((x for x in self.of(root, image_id) if isinstance(x, Image)), None)
        else:
            tag_for_project(image_layer, root, image_id)
        if image_layer is None:
            kw = image_layer_kwargs(ps, rec["name"])
            data = project.read_image(image_id) if pixels is None else pixels
            image_layer = self._add("image", root, image_id, data=data, **kw)
        shape = tuple(rec["shape"])
        # a montage's ids as uint16 while they fit: napari shows uint32 ids of a large plane
        # slowly, on the GUI thread (:mod:`.._layers.label_dtype`)
        if labels.instances is None:
            inst = np.zeros(shape, labels_dtype(shape))
        else:
            inst = shown_labels(labels.instances)
        named = {"instances": f"{image_id} labels", "phases": f"{image_id} phases"}
        for role, data in (("instances", inst), ("phases", labels.phases)):
            if data is None:
                continue
            if role in layers:
                replace_ids(layers[role], data)
            else:
                kw = labels_layer_kwargs(data, ps, named[role], image_id, role, like=image_layer)
                layers[role] = self._add("labels", root, image_id, **kw)
        if "phases" in layers:
            name_phases(layers["phases"], project.phase_names)
        kw = boxes_layer_kwargs(
            labels.boxes, ps, project.classes, f"{image_id} boxes", image_id, like=image_layer
        )
        if "boxes" in layers:  # drawn again as saved, keeping the user's name and visibility
            replace_rectangles(layers["boxes"], kw)
        else:
            layers["boxes"] = self._add("shapes", root, image_id, **kw)
        return image_layer, layers


def name_phases(layer: Any, names: list[str]) -> None:
    """Name a phases layer's ids by the project's phase names (a ``class`` per ``index`` in its
    features, as Measure reads them) when the names cover every id it holds."""
    present = np.unique(np.asarray(layer.data))
    if present.size and int(present.max()) >= len(names):
        return  # more phases than names: Measure numbers them
    layer.features = pd.DataFrame({"index": np.arange(len(names)), "class": list(names)})
