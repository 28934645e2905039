"""The Curate dock's Add image: an image layer, with the label layers chosen to go with it,
added to the open project."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._layers import image_array, layer_pixel_size
from .._layers.curate import labels_to_import
from .._layers.plane import plane_index, plane_text

if TYPE_CHECKING:
    from .curate import CurateWidget


def add_layer(dock: CurateWidget, layer: Any, show_error: Callable[[str], Any]) -> str | None:
    """Add the image ``layer`` (and the dock's chosen instances / phases / boxes layers) to the
    dock's project and open it; its id, or None when refused (told with ``show_error``, the
    dock's: every message of the dock goes through its module)."""
    sources = (dock._instances_from.value, dock._phases_from.value, dock._boxes_from.value)
    try:
        project = dock._require()
        if layer is None:
            raise ValueError("choose an image layer")
        image = image_array(layer)
        # checked before anything is added
        labels = labels_to_import(*sources, project.classes, layer, image.shape)
        ps = layer_pixel_size(layer)
        # the project stores the file's absolute path: napari keeps a relative one as given
        source = layer.source.path if layer.source and layer.source.path else None
        # a stack: the plane on screen is stored, named by its plane, and shown in a layer of
        # its own (over the stack its labels would follow the slider onto other planes)
        plane = plane_index(layer)
        name = f"{layer.name} (plane {plane_text(plane)})" if plane else layer.name
        image_id = project.add_image(image, name, pixel_size=ps, source=source)
    except (ValueError, OSError) as exc:  # ProjectError is a ValueError
        show_error(f"Cannot add the image: {exc}")
        return None
    if labels:
        made = next(lay for lay in sources if lay is not None)
        try:
            source = made.metadata.get("engine") or f"layer:{made.name}"
            project.save_labels(image_id, source=source, **labels)
        except (ValueError, OSError) as exc:
            show_error(f"{image_id} was added, but not its labels: {exc}")
    dock._refresh_images(image_id)
    dock.open_image(image_id, image_layer=None if plane else layer)
    return image_id
