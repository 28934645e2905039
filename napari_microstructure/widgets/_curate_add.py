"""The Curate dock's Add image: an image layer, with the label layers chosen to go with it,
added to the open project."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._layers import image_array, layer_pixel_size
from .._layers.curate import labels_to_import, layer_source
from .._layers.label_dtype import LARGE_PLANE
from .._layers.plane import plane_hidden, plane_index, plane_text
from ..core.curate.digest import pixel_digest
from ._curate_open import knowing, open_image, read_saved
from ._worker import Tied

if TYPE_CHECKING:
    from .curate import CurateWidget

#: pixels of an image from which Add image writes it in a worker thread: a 20000 x 20000 px
#: montage with its labels took seconds to write and read back, on the GUI thread before
IN_WORKER = LARGE_PLANE


def add_layer(
    dock: CurateWidget,
    layer: Any,
    show_error: Callable[[str], Any],
    show_info: Callable[[str], Any],
    wait: bool = True,
) -> str | None:
    """Add the image ``layer`` (and the dock's chosen instances / phases / boxes layers) to the
    dock's project and open it; its id, or None when refused (told with ``show_error``, the
    dock's: every message of the dock goes through its module).

    An image whose pixels are already in the project is not added again (a copy could land
    in the val split while the other is trained on): the project's image is opened instead,
    and the user told with ``show_info``; ``layer`` and the chosen layers are left as they are.

    Without ``wait`` (the Add button) an image of :data:`IN_WORKER` pixels or more is
    written (and read back to show) in a worker thread, its layers read here; None is returned
    then. (A smaller one is added at once: its wait is not felt.)
    """
    sources = (dock._instances_from.value, dock._phases_from.value, dock._boxes_from.value)
    try:
        project = dock._require()
        if layer is None:
            raise ValueError("choose an image layer")
        if dock._adding:  # its pixels are not in the project yet: they would be added twice
            raise ValueError(f"still adding {dock._adding}; add another when it is open")
        if hidden := plane_hidden(layer):  # its plane on screen is stored: one must be shown
            raise ValueError(hidden)
        image = image_array(layer)
        digest = pixel_digest(image)  # once, for the project's record too
        same = _same_pixels(project, digest)
        if same is not None:
            _open_instead(dock, layer, same, any(lay is not None for lay in sources), show_info)
            return None
        # checked before anything is added; labels_data copies: later edits are not taken
        labels, taken = labels_to_import(*sources, project.classes, layer, image.shape)
        ps = layer_pixel_size(layer)
        # the project stores the file's absolute path: napari keeps a relative one as given
        source = layer.source.path if layer.source and layer.source.path else None
        # a stack: the plane on screen is stored, named by its plane, and shown in a layer of
        # its own (over the stack its labels would follow the slider onto other planes)
        plane = plane_index(layer)
        name = f"{layer.name} (plane {plane_text(plane)})" if plane else layer.name
    except (ValueError, OSError) as exc:  # ProjectError is a ValueError
        show_error(f"Cannot add the image: {exc}")
        return None
    made = next((lay for lay in sources if lay is not None), None)  # (instances first)
    job = Adding(project, image, name, ps, source, digest, labels, bool(plane))
    # the objects' source: the instances layer's (each box carries its own layer's)
    job.made = layer_source(made) if made is not None else ""
    shown = None if plane else layer
    if wait or image.shape[0] * image.shape[1] < IN_WORKER:
        return _added(dock, job.run(), shown, taken, sources, show_error, show_info)
    dock._adding = name

    def done(ran: Adding | None) -> None:
        dock._adding = None
        if ran is not None:
            _added(dock, ran, shown, taken, sources, show_error, show_info)

    # a failure is in the result (told by _added), not raised on the GUI thread; the worker
    # lets go of the image and labels once finished (napari keeps it while the window is open)
    tied = Tied(job.run)
    tied.connect(tied.worker.returned, dock._alive(done))
    failed = dock._alive(lambda exc: (done(None), show_error(f"Cannot add the image: {exc}")))
    tied.connect(tied.worker.errored, failed)
    dock._saved.value = f"adding {name} to the project…"
    tied.start()
    return None


@dataclass
class Adding:
    """Add image's writes (and the read-back of what was written), done in :meth:`run`."""

    project: Any
    image: np.ndarray
    name: str
    pixel_size: float | None
    source: str | None
    digest: str
    labels: dict[str, Any]
    pixels: bool  #: read the stored image back (a plane of a stack: shown in a layer of its own)
    made: str = ""  #: the labels' source
    image_id: str | None = None
    loaded: Any = None  #: see :func:`._curate_open.read_saved`
    errors: list[str] = field(default_factory=list)

    def run(self) -> Adding:
        """Add the image and its labels to the project (on any thread), and read them back;
        over another window's saves of other images (``follow``), not refused."""
        try:
            self.image_id = self.project.add_image(
                self.image,
                self.name,
                pixel_size=self.pixel_size,
                source=self.source,
                digest=self.digest,
                follow=True,
            )
        except (ValueError, OSError) as exc:  # ProjectError is a ValueError
            self.errors.append(f"Cannot add the image: {exc}")
            return self
        if self.labels:
            try:
                self.project.save_labels(
                    self.image_id, source=self.made, follow=True, **self.labels
                )
            except (ValueError, OSError) as exc:
                self.errors.append(f"{self.image_id} was added, but not its labels: {exc}")
                self.labels = {}
        try:  # what was stored, read back here: on the GUI thread a montage's took seconds
            self.loaded = read_saved(self.project, self.image_id, pixels=self.pixels)
        except (ValueError, OSError):  # read again when opened, and told
            self.loaded = None
        return self


def _added(
    dock: CurateWidget,
    job: Adding,
    layer: Any,
    taken: int,
    sources: tuple,
    show_error: Callable[[str], Any],
    show_info: Callable[[str], Any],
) -> str | None:
    """Tell what ``job`` did and open the image it added; its id."""
    for message in job.errors:
        show_error(message)
    image_id = job.image_id
    if image_id is None:
        return None
    if job.labels and taken:
        show_info(_taken_text(taken, sources[2].name, sources[0].name))
    project = dock.project
    if project is None or project.root.resolve() != job.project.root.resolve():
        where = job.project.root.name
        show_info(
            f"{job.name} was added to {where} as {image_id}, not opened: another "
            "project was opened meanwhile."
        )
        return image_id
    if knowing(dock, image_id, job.name, show_info) is None:  # (reopened during the write)
        return image_id
    if layer is not None and not any(lay is layer for lay in dock.viewer.layers):
        layer = None  # closed meanwhile: the project's copy is shown
    dock._refresh_images(image_id)
    open_image(dock, image_id, image_layer=layer, loaded=job.loaded)
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
