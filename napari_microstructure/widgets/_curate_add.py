"""The Curate dock's Add image: an image layer, with the label layers chosen to go with it,
added to the open project."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._layers import image_array, layer_pixel_size
from .._layers.curate import labels_to_import, layer_source
from .._layers.plane import plane_hidden, plane_index, plane_text
from ..core.curate.digest import pixel_digest

if TYPE_CHECKING:
    from .curate import CurateWidget


def add_layer(
    dock: CurateWidget,
    layer: Any,
    show_error: Callable[[str], Any],
    show_info: Callable[[str], Any],
) -> str | None:
    """Add the image ``layer`` (and the dock's chosen instances / phases / boxes layers) to the
    dock's project and open it; its id, or None when refused (told with ``show_error``, the
    dock's: every message of the dock goes through its module).

    An image whose pixels are already in the project is not added again (a copy could land
    in the val split while the other is trained on): the project's image is opened instead,
    and the user told with ``show_info``; ``layer`` and the chosen layers are left as they are.
    """
    sources = (dock._instances_from.value, dock._phases_from.value, dock._boxes_from.value)
    try:
        project = dock._require()
        if layer is None:
            raise ValueError("choose an image layer")
        if hidden := plane_hidden(layer):  # its plane on screen is stored: one must be shown
            raise ValueError(hidden)
        image = image_array(layer)
        digest = pixel_digest(image)  # once, for the project's record too
        same = _same_pixels(project, digest)
        if same is not None:
            _open_instead(dock, layer, same, any(lay is not None for lay in sources), show_info)
            return None
        # checked before anything is added
        labels, taken = labels_to_import(*sources, project.classes, layer, image.shape)
        ps = layer_pixel_size(layer)
        # the project stores the file's absolute path: napari keeps a relative one as given
        source = layer.source.path if layer.source and layer.source.path else None
        # a stack: the plane on screen is stored, named by its plane, and shown in a layer of
        # its own (over the stack its labels would follow the slider onto other planes)
        plane = plane_index(layer)
        name = f"{layer.name} (plane {plane_text(plane)})" if plane else layer.name
        image_id = project.add_image(image, name, pixel_size=ps, source=source, digest=digest)
    except (ValueError, OSError) as exc:  # ProjectError is a ValueError
        show_error(f"Cannot add the image: {exc}")
        return None
    if labels:
        # the objects' source: the instances layer's (each box carries its own layer's)
        made = next(lay for lay in sources if lay is not None)  # (instances first)
        try:
            project.save_labels(image_id, source=layer_source(made), **labels)
        except (ValueError, OSError) as exc:
            show_error(f"{image_id} was added, but not its labels: {exc}")
        else:
            if taken:
                show_info(_taken_text(taken, sources[2].name, sources[0].name))
    dock._refresh_images(image_id)
    dock.open_image(image_id, image_layer=None if plane else layer)
    return image_id


def _taken_text(taken: int, boxes: str, instances: str) -> str:
    """What Add image did with the boxes that Refine turned into masks."""
    if taken == 1:
        return (
            f"1 box of {boxes} is the mask Refine made from it in {instances}: stored as that "
            "object, not as a box too"
        )
    return (
        f"{taken} boxes of {boxes} are the masks Refine made from them in {instances}: stored "
        "as those objects, not as boxes too"
    )


def _same_pixels(project: Any, digest: str) -> str | None:
    """The id of the project's image with the pixels of ``digest`` (the first added), if any."""
    project.learn_digests([digest])  # an older project records no digest: its images read
    found = project.match_images([None], [digest])[0]
    return found[0] if found else None


def _open_instead(
    dock: CurateWidget, layer: Any, image_id: str, labels: bool, show_info: Callable[[str], Any]
) -> None:
    """Tell the user ``layer`` is the project's ``image_id`` already, and open that."""
    chosen = " (the chosen label layers were not imported: they stay in the viewer)"
    show_info(
        f"{layer.name} is already in the project as {image_id} (the same pixels): not added "
        f"again; {image_id} is opened{chosen if labels else ''}"
    )
    dock._refresh_images(image_id)
    dock.open_image(image_id)
