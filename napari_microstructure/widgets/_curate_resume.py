"""The Curate dock takes up again the layers of a project image left in the viewer (by a
closed Curate dock): autosaved again as they are now, edits made meanwhile saved."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from napari.layers import Image
from napari.utils.notifications import show_error, show_info

from ..core.curate.project import Project

if TYPE_CHECKING:
    from .curate import CurateWidget

LABEL_ROLES = ("instances", "phases", "boxes")


def saved_snapshot(project: Project, image_id: str, roles: Any) -> dict[str, Any]:
    """What the autosave of ``roles`` would read from layers showing the image as saved."""
    labels, rec = project.load_labels(image_id), project.image_record(image_id)
    inst = labels.instances
    snap: dict[str, Any] = {
        "instances": np.zeros(tuple(rec["shape"]), np.uint32) if inst is None else inst,
        "phases": labels.phases,
        "boxes": [
            {
                **{k: float(b[k]) for k in ("x1", "y1", "x2", "y2")},
                "class_id": int(b.get("class_id", 0)),
                "confidence": float(b.get("confidence", 1.0)),
            }
            for b in labels.boxes
        ],
        "image": rec.get("pixel_size"),
    }
    return {role: snap[role] for role in roles if snap.get(role) is not None}


def resume(dock: CurateWidget, project: Project, image_id: str) -> bool:
    """Autosave the dock's layers of ``image_id`` in the viewer as they are (not refreshed),
    writing what differs from the saved version now; False when there are none or it failed
    (told)."""
    roles = dock._layers.by_role(project.root, image_id)
    layers = {r: lay for r, lay in roles.items() if r in LABEL_ROLES}
    if not layers:
        return False
    image = next(
        (x for x in dock._layers.of(project.root, image_id) if isinstance(x, Image)), None
    )
    if image is not None:
        layers["image"] = image
    try:
        saved = saved_snapshot(project, image_id, layers)
    except (ValueError, OSError, KeyError) as exc:
        show_error(
            f"Cannot read the saved labels of {image_id}: its layers are NOT autosaved ({exc})"
        )
        return False
    dock._watch(project, image_id, layers, saved)
    return dock._flushed()  # the edits made while no dock autosaved them


def _left_images(dock: CurateWidget, project: Project) -> list[str]:
    """Images of ``project`` with the dock's label layers in the viewer, the one of the
    selected layer (else the topmost) last."""
    order = {id(lay): i for i, lay in enumerate(dock._viewer.layers)}
    active = dock._viewer.layers.selection.active
    ranked = []
    for image_id in project.image_ids:
        mine = [
            lay
            for r, lay in dock._layers.by_role(project.root, image_id).items()
            if r in LABEL_ROLES
        ]
        if mine:
            top = max(order.get(id(lay), -1) for lay in mine)
            ranked.append((active in dock._layers.of(project.root, image_id), top, image_id))
    return [image_id for *_, image_id in sorted(ranked)]


def resume_left(dock: CurateWidget, project: Project) -> None:
    """Take up the layers of ``project``'s images left in the viewer: the selected (or
    topmost) image is autosaved again; any other is saved and its layers closed (only one
    image is open at a time), the user told."""
    found = _left_images(dock, project)
    if not found:
        return
    *others, image_id = found
    closed = []
    for other in others:
        saved = resume(dock, project, other)
        if dock._stop_autosave() and saved:  # else its layers stay, the failure told
            dock._close_layers(other)
            closed.append(other)
    if not resume(dock, project, image_id):
        return
    what = f"{image_id}: its layers in the viewer are autosaved again (edits since saved)"
    if closed:
        what += f"; {', '.join(closed)} saved and closed (open it from project images)"
    show_info(what)
