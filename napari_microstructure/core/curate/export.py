"""Exporters of annotations, pure functions ``(path, data, meta) -> list[str]`` of files written.

``data`` is a sequence of :class:`~.items.ExportItem` (see :func:`~.items.items_from_project`).
Formats: YOLO detection, YOLO segmentation, COCO JSON, label-image TIFFs.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..atomic import atomic_write_json, atomic_write_tiff, read_tiff
from ..notes import join_notes
from ..progress import Progress
from .coco import coco_dict, export_coco, rle_decode, rle_encode
from .digest import copies_by_digest, pixel_digest
from .export_record import record_export, replace_previous_export
from .items import ExportItem, item_objects, items_from_project
from .yolo import (
    export_yolo_detect,
    export_yolo_segment,
    exported_as_image,
    split_names,
    write_data_yaml,
)

if TYPE_CHECKING:
    from .project import Project

__all__ = [
    "EXPORTERS",
    "ExportItem",
    "ExportResult",
    "coco_dict",
    "export_coco",
    "export_label_tiffs",
    "export_project",
    "export_yolo_detect",
    "export_yolo_segment",
    "exported_as_image",
    "read_label_tiff",
    "rle_decode",
    "rle_encode",
    "split_names",
    "write_data_yaml",
]


def export_label_tiffs(
    path: str | Path, data: Sequence[ExportItem], meta: dict | None = None
) -> list[str]:
    """Write ``<name>_instances.tif`` (uint32) and ``<name>_phases.tif`` (uint8) per item, and
    ``labels.json``: the class and phase names, each instance id's class id and the drawn
    boxes that are not the box of a mask (pixels, x2/y2 exclusive).

    Values are stored losslessly, so :func:`read_label_tiff` returns the exact arrays; an
    image marked done with no object gets an all-zero instances TIFF, one with no object that
    is not marked done none (:func:`exported_as_image`).
    ``meta``: ``names`` and ``phase_names`` (class and phase names), ``images`` (True to also
    write ``<name>_image.tif``).
    """
    meta = dict(meta or {})
    out = Path(path)
    names = list(meta.get("names") or [])
    table: dict[str, Any] = {}
    for item in data:  # refuses objects of unnamed classes before anything is written
        inst = item.instances
        ids = [] if inst is None else [int(i) for i in np.unique(inst) if i != 0]
        boxes = [o for o in item_objects(item, len(names) or None) if o.mask is None]
        table[item.name] = {
            "instances": {str(i): int(item.classes.get(i, 0)) for i in ids},
            "boxes": [
                dict(zip(("x1", "y1", "x2", "y2"), o.box, strict=True), class_id=o.class_id)
                for o in boxes
            ],
            "pixel_size": item.pixel_size,
            "done": bool(item.done),  # an image with no object is a checked negative only if done
        }
    replace_previous_export(out)
    written = []
    for item in data:
        ps = item.pixel_size  # in the files' resolution tags too: they open in µm
        inst = item.instances
        if inst is None and item.done:  # checked: no object
            inst = np.zeros((item.height, item.width), dtype=np.uint32)
        if inst is not None and exported_as_image(item):
            arr = np.asarray(inst, dtype=np.uint32)
            path = atomic_write_tiff(out / f"{item.name}_instances.tif", arr, ps, labels=True)
            written.append(str(path))
        if item.phases is not None:
            arr = np.asarray(item.phases, dtype=np.uint8)
            path = atomic_write_tiff(out / f"{item.name}_phases.tif", arr, ps, labels=True)
            written.append(str(path))
        if meta.get("images"):
            written.append(str(atomic_write_tiff(out / f"{item.name}_image.tif", item.image, ps)))
    doc = {"classes": names, "phase_names": list(meta.get("phase_names") or []), "images": table}
    written.append(str(atomic_write_json(out / "labels.json", doc)))
    return record_export(out, written)


def read_label_tiff(path: str | Path) -> np.ndarray:
    """Read a label TIFF written by :func:`export_label_tiffs`."""
    return read_tiff(path)


EXPORTERS: dict[str, Callable[[str | Path, Sequence[ExportItem], dict | None], list[str]]] = {
    "yolo": export_yolo_detect,
    "yolo-seg": export_yolo_segment,
    "coco": export_coco,
    "tiff": export_label_tiffs,
}


class ExportResult(dict):
    """``{format: files written}`` of :func:`export_project`, and in ``left_out`` the images
    left out (no object, not marked done: :func:`exported_as_image`)."""

    left_out: list[str]

    def left_out_text(self) -> str:
        """What the user is told about the images left out ("" when none)."""
        n = len(self.left_out)
        if not n:
            return ""
        return (
            f"left out {n} image{'' if n == 1 else 's'} with no object not marked done "
            "(mark an image done once checked to export it as an image with no object)"
        )


def _copies(project: Project, items: Sequence[ExportItem]) -> dict[str, str]:
    """``{image id: id of the first image added with the same pixels}`` of the exported images
    that are copies (the same micrograph added twice): the split keeps them together."""
    exported = {it.name: it for it in items}

    def digest(image_id: str) -> str | None:
        known = project.known_digest(image_id)
        if known is None and image_id in exported:  # an older record: from the pixels read
            return pixel_digest(exported[image_id].image)
        return known

    # in the order they were added: a copy's first may be an image not exported
    every = copies_by_digest((i, digest(i)) for i in project.image_ids)
    return {name: first for name, first in every.items() if name in exported}


def export_project(
    project: Project,
    out: str | Path,
    formats: Sequence[str] = ("yolo",),
    val_fraction: float = 0.2,
    seed: int = 0,
    only_done: bool = False,
    segmentation: str = "rle",
) -> Generator[Progress, None, ExportResult]:
    """Export a project in each format to ``out/<format>``; returns ``{format: files}``.

    Images with no object that are not marked done are left out (:func:`exported_as_image`;
    TIFF still writes their phases): the result's ``left_out`` names them.
    """
    bad = [f for f in formats if f not in EXPORTERS]
    if bad:
        raise ValueError(f"unknown export format(s) {bad}; choose from {sorted(EXPORTERS)}")
    yield Progress(0, len(formats) + 1, "reading labels")
    items = list(items_from_project(project, only_done=only_done))
    if not items:
        done = [i for i in project.image_ids if project.image_record(i).get("done")]
        if only_done and project.image_ids and not done:
            raise ValueError(
                "no image is marked done: only images marked done are exported (mark an "
                "image done once its labels are checked)"
            )
        raise ValueError("the project has no labelled images to export")
    image_formats = [f for f in formats if f != "tiff"]  # TIFF also exports bare phases
    left_out = [it.name for it in items if image_formats and not exported_as_image(it)]
    if len(left_out) == len(items):
        raise ValueError(
            f"no image to export as {', '.join(image_formats)}: none has an object or is "
            "marked done (mark an image done once checked, even when it holds no object)"
        )
    meta: dict[str, Any] = {
        "same_as": _copies(project, items),
        # what `train --project` checks: no image exported that is not marked done (also a
        # project exported whole whose images are all done)
        "only_done": bool(only_done) or all(it.done for it in items if exported_as_image(it)),
        "names": project.classes,
        "phase_names": project.phase_names,
        "val_fraction": val_fraction,
        "seed": seed,
        "segmentation": segmentation,
    }
    result = ExportResult()
    result.left_out = left_out
    for i, fmt in enumerate(formats):
        yield Progress(i + 1, len(formats) + 1, f"exporting {fmt}")
        result[fmt] = EXPORTERS[fmt](Path(out) / fmt, items, meta)
    done = join_notes("exported", result.left_out_text())
    yield Progress(len(formats) + 1, len(formats) + 1, done)
    return result
