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
    done: bool = False  # checked by the annotator: no instances means no object

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass
class ExportObject:
    """One object of an image as every format exports it.

    ``box`` is (x1, y1, x2, y2), x2/y2 exclusive, inside the image; ``mask`` the object's
    pixels inside the box (None for a drawn box that has no mask).
    """

    class_id: int
    box: tuple[float, float, float, float]
    mask: np.ndarray | None = None

    @property
    def area(self) -> float:
        """Pixel count of the mask, or the box's area."""
        if self.mask is not None:
            return float(np.count_nonzero(self.mask))
        x1, y1, x2, y2 = self.box
        return (x2 - x1) * (y2 - y1)


def _box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def item_objects(
    item: ExportItem, n_classes: int | None = None, same_box_iou: float = 0.5
) -> list[ExportObject]:
    """The objects of ``item``: every instance (a mask), then every drawn box that is not the
    box of an instance of its class (box IoU below ``same_box_iou`` with all of them: a
    detection refined into a mask is one object), clipped to the image; boxes outside it are
    left out.

    Instance ids may be any integers (they are renumbered first). With ``n_classes``, a class
    id outside ``0 .. n_classes - 1`` raises ValueError.
    """
    objects: list[ExportObject] = []
    if item.instances is not None:
        inst = np.asarray(item.instances)
        ids, compact = np.unique(inst, return_inverse=True)
        compact = compact.reshape(inst.shape)
        if ids[0] != 0:  # no background pixel: keep 0 free for it
            ids, compact = np.concatenate([np.zeros(1, ids.dtype), ids]), compact + 1
        for k, sl in enumerate(ndi.find_objects(compact), start=1):  # k stands for ids[k]
            box = (sl[1].start, sl[0].start, sl[1].stop, sl[0].stop)
            cid = int(item.classes.get(int(ids[k]), 0))
            objects.append(ExportObject(cid, tuple(map(float, box)), compact[sl] == k))
    masks = [(o.class_id, o.box) for o in objects]
    for b in item.boxes:
        x1, x2 = np.clip([float(b["x1"]), float(b["x2"])], 0, item.width)
        y1, y2 = np.clip([float(b["y1"]), float(b["y2"])], 0, item.height)
        box, cid = (float(x1), float(y1), float(x2), float(y2)), int(b.get("class_id", 0))
        same = (_box_iou(box, m) >= same_box_iou for c, m in masks if c == cid)
        if x2 > x1 and y2 > y1 and not any(same):
            objects.append(ExportObject(cid, box))
    if n_classes is not None:
        bad = sorted({o.class_id for o in objects} - set(range(n_classes)))
        if bad:
            raise ValueError(
                f"{item.name}: objects of class id {bad} but only {n_classes} class names; "
                "name every class before exporting"
            )
    return objects


def _read_labels(project: Project, image_id: str) -> tuple[dict[str, Any], Any] | None:
    """An image's record and labels as last saved, or None if the image left the project.

    Reading takes no lock (a long export would block the dock's autosave): when a save by
    another window or program has replaced the files this manifest names, the manifest is
    read again from disk and the image read from the files it names now.
    """
    view = project
    for _ in range(20):
        try:
            return view.image_record(image_id), view.load_labels(image_id)
        except KeyError:
            return None
        except FileNotFoundError:
            newer = project.reread()
            if image_id not in newer.image_ids:
                return None
            now, before = (v.image_record(image_id).get("files") for v in (newer, view))
            if now == before:
                raise  # not replaced by a save: the file is missing (a partial copy?)
            view = newer
    raise RuntimeError(f"{image_id}: its labels kept changing while they were read; try again")


def items_from_project(project: Project, only_done: bool = False) -> Iterator[ExportItem]:
    """Every image of a project that has labels or is marked done (an image checked and found
    to hold no object is a training example too), or only those marked done."""
    for image_id in project.image_ids:
        rec = project.image_record(image_id)
        if only_done and not rec.get("done"):
            continue
        if not rec.get("files") and not rec.get("done"):
            continue
        found = _read_labels(project, image_id)
        if found is None:
            continue
        rec, labels = found
        yield ExportItem(
            name=image_id,
            image=project.read_image(image_id),
            instances=labels.instances,
            classes=labels.instance_classes(),
            boxes=labels.boxes,
            phases=labels.phases,
            pixel_size=rec.get("pixel_size"),
            done=bool(rec.get("done")),
        )


def labelled_class_counts(project: Project, only_done: bool = True) -> dict[str, int]:
    """Objects per class name over the project's labelled images (by default only those marked
    done: unchecked proposals are the model's guesses, not labels)."""
    names = list(project.classes)
    counts = dict.fromkeys(names, 0)
    for item in items_from_project(project, only_done=only_done):
        for obj in item_objects(item):
            if 0 <= obj.class_id < len(names):
                counts[names[obj.class_id]] += 1
    return counts
