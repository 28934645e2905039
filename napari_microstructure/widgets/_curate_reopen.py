"""The Curate dock's open image when its project folder was moved or renamed: carried over to
the folder's new place when that is opened, else left in the viewer, unsaved, told."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from napari.utils.notifications import show_error, show_info, show_warning

from .._layers.curate import IMAGE_KEY, PROJECT_KEY, tag_for_project
from ..core.curate.project import MANIFEST, Project, StaleProjectError

if TYPE_CHECKING:
    from .curate import CurateWidget

NOT_SAVED = "Cannot save the open image (the last saved version is intact)"


def moved_away(dock: CurateWidget) -> bool:
    """Whether the open image's project folder is gone (moved, renamed or deleted)."""
    return dock._autosave is not None and dock._autosave.project.missing


def followed_move(dock: CurateWidget, folder: Path) -> Project | None | bool:
    """The open image's project folder is gone: when ``folder`` is a project holding that
    image (moved or renamed there), its object, with the unsaved edits saved through it and
    the image's layers handed over to it; None when another project may be opened (the
    image's layers are then left in the viewer, see :func:`leave_unsaved`); False when
    refused (the user is told)."""
    autosave = dock._autosave
    assert autosave is not None
    old, image_id = autosave.project, autosave.image_id
    if not (folder / MANIFEST).is_file():
        if autosave.dirty and _same_folder(folder, old.root):
            show_error(
                f"The project folder {old.root} no longer exists (moved or renamed?): choose "
                f"the folder where it is now to save the edits of {image_id} there (they stay "
                "in the viewer), or open another project to leave them unsaved."
            )
            return False
        return None
    try:
        project = Project.open(folder)
        if not _same_image(project, old, image_id):
            return None
        autosave.rebase(project)
    except (ValueError, OSError) as exc:  # ProjectError is a ValueError
        show_error(f"{NOT_SAVED}: {exc}")
        return False
    for layer in dock._layers.of(old.root, image_id):
        tag_for_project(layer, project.root, image_id)
    show_info(f"The project moved to {project.root}: reopened there, with your edits saved")
    return project


def leave_unsaved(dock: CurateWidget) -> None:
    """Stop autosaving an image whose project folder is gone, leaving its layers in the
    viewer as they are (no longer the dock's: a project made in the old folder later must
    not take them over), and tell the user what was not saved."""
    autosave, dock._autosave = dock._autosave, None
    if autosave is None:
        return
    dirty = autosave.dirty
    try:
        autosave.stop()
    except (ValueError, OSError):  # the folder is gone: told below
        pass
    root, image_id = autosave.project.root, autosave.image_id
    for layer in dock._layers.of(root, image_id):
        meta = layer.metadata
        layer.metadata = {k: v for k, v in meta.items() if k not in (IMAGE_KEY, PROJECT_KEY)}
    what = (
        "its last edits were NOT saved: they are only in the viewer's layers, which stay"
        if dirty
        else "its layers stay in the viewer"
    )
    show_warning(
        f"The project folder {root} no longer exists (moved or renamed?), so {image_id} is "
        f"no longer autosaved: {what}."
    )


def _same_folder(a: Path, b: Path) -> bool:
    return a.expanduser().resolve() == b.resolve()


def _same_image(project: Project, old: Project, image_id: str) -> bool:
    """``project`` holds the image ``image_id`` of ``old`` (the same record: added at the
    same moment with the same shape), not just an image of that name."""
    try:
        new_rec, old_rec = project.image_record(image_id), old.image_record(image_id)
    except KeyError:
        return False
    return all(new_rec.get(k) == old_rec.get(k) for k in ("added", "shape"))


def saved_on_close(dock: CurateWidget) -> bool:
    """The window is closing: save the open image's last edits; when another window saved the
    project since, through its newer object, as reopening the project does (the window and
    its layers are going: a refusal would lose the edits). False when they cannot be saved
    (the user is told)."""
    autosave = dock._autosave
    if autosave is None:
        return True
    try:
        try:
            autosave.flush()
        except StaleProjectError:
            autosave.rebase(Project.open(autosave.project.root))
    except (ValueError, OSError) as exc:  # ProjectError is a ValueError
        show_error(f"{NOT_SAVED}: {exc}")
        return False
    return True
