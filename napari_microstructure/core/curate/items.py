"""What exporters consume: one annotated image with its instances, boxes and phases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage as ndi

if TYPE_CHECKING:
    from .project import Project


@dataclass
class ExportItem:
    """One image and its labels, in pixel coordinates (x = column, boxes x2/y2 exclusive)."""

    name: str
    image: np.ndarray
    instances: np.ndarray | None = None
    classes: dict[int, int] = field(default_factory=dict)
    boxes: list[dict[str, Any]] = field(default_factory=list)
    phases: np.ndarray | None = None
    pixel_size: float | None = None

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


def instance_boxes(instances: np.ndarray, classes: dict[int, int]) -> list[dict[str, Any]]:
    """Bounding boxes (x1, y1, x2, y2 exclusive, class_id, label) of every instance label."""
    out = []
    slices = ndi.find_objects(np.asarray(instances))
    for idx, sl in enumerate(slices):
        if sl is None:
            continue
        lid = idx + 1
        out.append(
            {
                "x1": float(sl[1].start),
                "y1": float(sl[0].start),
                "x2": float(sl[1].stop),
                "y2": float(sl[0].stop),
                "class_id": int(classes.get(lid, 0)),
                "label": lid,
            }
        )
    return out


def detection_boxes(item: ExportItem) -> list[dict[str, Any]]:
    """The boxes to train a detector on: drawn boxes when there are any, else instance boxes."""
    if item.boxes:
        return list(item.boxes)
    if item.instances is not None:
        return instance_boxes(item.instances, item.classes)
    return []


def items_from_project(project: Project, only_done: bool = False) -> Iterator[ExportItem]:
    """Every image of a project that has labels (or only those marked done) as export items."""
    for image_id in project.image_ids:
        rec = project.image_record(image_id)
        if only_done and not rec.get("done"):
            continue
        if not rec.get("files"):
            continue
        labels = project.load_labels(image_id)
        yield ExportItem(
            name=image_id,
            image=project.read_image(image_id),
            instances=labels.instances,
            classes=labels.instance_classes(),
            boxes=labels.boxes,
            phases=labels.phases,
            pixel_size=rec.get("pixel_size"),
        )


def labelled_class_counts(project: Project, only_done: bool = True) -> dict[str, int]:
    """Objects per class name over the project's labelled images (by default only those marked
    done: unchecked proposals are the model's guesses, not labels)."""
    names = list(project.classes)
    counts = dict.fromkeys(names, 0)
    for item in items_from_project(project, only_done=only_done):
        for box in detection_boxes(item):
            cid = int(box.get("class_id", 0))
            if 0 <= cid < len(names):
                counts[names[cid]] += 1
    return counts
