"""The Curate dock opens a project image: its saved labels (and its pixels, when no layer shows
them) are read, made ready to show and fingerprinted off the GUI thread; the GUI thread only
makes the layers.

Reading the labels of an 8000 x 8000 px image took about a second on the GUI thread, so the
viewer froze at each Open. Open (the button) reads them in a worker thread; Open next reads
them in its own worker. What the user annotates is never put at risk by the wait: the image
open before is saved and closed first, and when the image opened is the one open already, its
autosave goes on during the read and its layers stay as they are if edited meanwhile.

An image is opened from the project's newest save: when another window saved the project since
this dock read it, the dock catches up first (:meth:`.Project.refresh`), once no image of its is
open; else it would show an older version of an image that window saved, and its edits of that
version would be refused, or saved over that window's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from napari.layers import Image

from .._layers.label_dtype import labels_dtype, shown_labels
from ..core.curate.fingerprint import fingerprint
from ..core.curate.project import ImageLabels, Project, ProjectError, StaleProjectError
from ._worker import Tied

if TYPE_CHECKING:
    from .curate import CurateWidget


@dataclass
class Loaded:
    """A project image's saved labels, read and made ready to show."""

    project: Project
    image_id: str
    record: dict[str, Any]  #: the image's record when read: the labels are its
    labels: ImageLabels  #: instances as a Labels layer shows them (:func:`shown_labels`)
    pixels: np.ndarray | None = None  #: the image, when it was read too
    known: dict[str, Any] = field(default_factory=dict)  #: label roles' fingerprints

    def current(self, project: Project | None) -> bool:
        """Whether these are still the saved labels of ``project``'s image."""
        try:
            return project is self.project and project.image_record(self.image_id) == self.record
        except KeyError:
            return False


def read_saved(project: Project, image_id: str, pixels: bool = False) -> Loaded:
    """The saved labels of ``image_id`` ready to show (and its pixels with ``pixels``); runs in
    a worker thread (nothing here touches a layer)."""
    record = project.image_record(image_id)
    labels = project.load_labels(image_id)
    shape = tuple(record["shape"])
    inst = labels.instances
    # a montage's ids as uint16 while they fit (see :mod:`.._layers.label_dtype`)
    labels.instances = np.zeros(shape, labels_dtype(shape)) if inst is None else shown_labels(inst)
    roles = (("instances", labels.instances), ("phases", labels.phases))
    known = {role: fingerprint(arr) for role, arr in roles if arr is not None}
    image = project.read_image(image_id) if pixels else None
    return Loaded(project, image_id, record, labels, image, known)


def open_image(
    dock: CurateWidget,
    image_id: str | None,
    image_layer: Image | None = None,
    loaded: Loaded | None = None,
) -> None:
    """Open ``image_id`` now (``loaded``: its labels read in a worker already, used while
    still current); see :meth:`.CurateWidget.open_image`."""
    project = _prepared(dock, image_id)
    if project is None:
        return
    assert image_id is not None
    dock._stop_autosave()
    if not _caught_up(dock, project, image_id):
        return
    if loaded is None or not loaded.current(project):
        pixels = _needs_pixels(dock, image_id, image_layer)
        try:
            loaded = read_saved(project, image_id, pixels=pixels)
        except (ValueError, OSError) as exc:
            _unreadable(dock, image_id, exc)
            return
    _show(dock, loaded, image_layer)


def open_later(dock: CurateWidget, image_id: str | None, image_layer: Image | None = None) -> Any:
    """Open ``image_id`` with its labels read in a worker thread; returns the worker (None when
    refused, told, or opened at once: the image open already, saved by another window since)."""
    project = _prepared(dock, image_id)
    if project is None:
        return None
    assert image_id is not None
    if dock.current_image_id == image_id and project.behind:  # saved elsewhere since: its
        open_image(dock, image_id, image_layer)  # layers are replaced now, not after a read
        return None  # (edits made during the read would be lost)
    if dock.current_image_id != image_id:
        dock._stop_autosave()  # (else it goes on during the read: see _read)
        if not _caught_up(dock, project, image_id):
            return None
    token, pixels = object(), _needs_pixels(dock, image_id, image_layer)
    dock._opening = (token, image_id)

    # a failed read is told by _failed, not raised on the GUI thread; the worker lets go of
    # the labels once finished (napari keeps it while the window is open)
    tied = Tied(read_saved, project, image_id, pixels)
    shown = dock._alive(lambda done: _read(dock, token, done, image_layer))
    tied.connect(tied.worker.returned, shown)
    tied.connect(tied.worker.errored, dock._alive(lambda exc: _failed(dock, token, image_id, exc)))
    dock._saved.value = f"{image_id}: opening (reading its saved labels)…"
    return tied.start()


def _prepared(dock: CurateWidget, image_id: str | None) -> Project | None:
    """The dock's project, once the open image is saved and, when another is opened, its
    layers closed; None when refused (told)."""
    try:
        project = dock._require()
        if not image_id:
            raise ValueError("choose a project image")
        project.image_record(image_id)  # KeyError for an image not in the project
    except (ProjectError, ValueError, KeyError) as exc:
        show_error(str(exc))
        return None
    if not dock._flushed():
        return None  # the open image keeps its layers and its autosave
    dock._opening = None  # a read in flight is for nothing now
    previous = dock.current_image_id
    if previous is not None and previous != image_id:
        dock._stop_autosave()
        dock._close_layers(previous)
    return project


def _caught_up(dock: CurateWidget, project: Project, image_id: str) -> bool:
    """Catch up with what another window saved since the dock's project was read (no image
    is open in the dock now); False when the project cannot be read (told). The classes field
    shows the newest classes unless edited (else Open / create project would undo a rename
    made in that window)."""
    shown = project.classes
    try:
        project.refresh()
    except (ValueError, OSError) as exc:  # ProjectError is a ValueError
        _unreadable(dock, image_id, exc)
        return False
    typed = [c.strip() for c in str(dock._classes.value).split(",") if c.strip()]
    if project.classes != shown and typed == shown:
        dock._classes.value = ", ".join(project.classes)
    return True


def knowing(dock: CurateWidget, image_id: str, name: str, tell: Any) -> Project | None:
    """The dock's project, caught up with another window's saves when ``image_id`` (``name``,
    added by a run that ended now) is not in it yet; None, and told with ``tell``, when it
    cannot be: never reopened for it, which would save the open image over a newer version."""
    project = dock.project
    if project is not None and image_id not in project.image_ids:
        try:
            project.refresh()
        except (ValueError, OSError) as exc:  # the open image was saved by another window
            why = (
                f"{project.editing} was saved by another window since it was opened here: "
                "save or undo its edits here first (the autosave message says how)"
                if isinstance(exc, StaleProjectError) and project.editing
                else str(exc)
            )
            tell(f"{name} is in the project as {image_id}, not opened here: {why}")
            return None
    return project if project is not None and image_id in project.image_ids else None


def _needs_pixels(dock: CurateWidget, image_id: str, image_layer: Image | None) -> bool:
    """Whether the image's pixels must be read: no layer shows them."""
    if image_layer is not None or dock._project is None:
        return False
    shown = dock._layers.of(dock._project.root, image_id)
    return not any(isinstance(lay, Image) for lay in shown)


def _read(dock: CurateWidget, token: object, loaded: Loaded, image_layer: Image | None) -> None:
    """The worker read the labels: show them, unless another image or project was opened
    meanwhile, or the image open already was edited during the read (its layers stay)."""
    if dock._opening is None or dock._opening[0] is not token:
        return
    dock._opening = None
    autosave = dock._autosave
    if autosave is not None and autosave.image_id == loaded.image_id:
        if autosave.dirty or not loaded.current(dock.project):
            dock._show_saved(autosave.saved_rev)  # edited meanwhile: kept, autosaved
            return
        dock._stop_autosave()
    if image_layer is not None and not any(lay is image_layer for lay in dock.viewer.layers):
        image_layer = None  # closed meanwhile
    unread = loaded.pixels is None and _needs_pixels(dock, loaded.image_id, image_layer)
    if unread or not loaded.current(dock.project):  # (its image layer closed, saved again)
        open_image(dock, loaded.image_id, image_layer)
        return
    _show(dock, loaded, image_layer)


def _failed(dock: CurateWidget, token: object, image_id: str, exc: BaseException) -> None:
    if dock._opening is None or dock._opening[0] is not token:
        return
    dock._opening = None
    if dock.current_image_id == image_id:  # (its autosave went on)
        show_error(f"Cannot read the saved labels of {image_id}; its layers stay ({exc})")
        dock._show_saved(dock.saved_rev)
        return
    _unreadable(dock, image_id, exc)


def _unreadable(dock: CurateWidget, image_id: str, exc: BaseException) -> None:
    shown = ": its layers shown are NOT autosaved" if dock.layers_of(image_id) else ""
    show_error(f"Cannot read the saved labels of {image_id}{shown} ({exc})")
    dock._saved.value = f"{image_id}: not open (cannot read its saved labels)"


def show_error(message: str) -> None:
    """Tell through the dock's module: every message of the dock goes through it."""
    from . import curate

    curate.show_error(message)


def _show(dock: CurateWidget, loaded: Loaded, image_layer: Image | None) -> None:
    """Show the labels read (the GUI thread's part: the layers) and autosave them."""
    project, image_id = loaded.project, loaded.image_id
    image_layer, layers = dock._layers.show(
        project, image_id, loaded.labels, image_layer, pixels=loaded.pixels
    )
    viewer = dock.viewer
    if viewer.layers.selection.active not in [*layers.values(), image_layer]:
        viewer.layers.selection.active = layers["instances"]  # else kept (reopened)
    dock._watch(project, image_id, {**layers, "image": image_layer}, known=loaded.known)
