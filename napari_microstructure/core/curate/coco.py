"""COCO instance JSON: run-length encoded masks (or polygons), categories, image sizes.

Areas are pixel counts and boxes the tight ``[x, y, w, h]`` of each mask, which is what
``pycocotools`` computes from the same masks, so the numbers round-trip exactly with RLE.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_json
from .export_record import record_export, replace_previous_export
from .items import ExportItem, item_objects
from .polygons import box_polygon, filled_area, mask_polygons
from .yolo import exported_as_image, save_image


def rle_encode(mask: np.ndarray) -> dict[str, Any]:
    """Uncompressed COCO RLE of a boolean mask (column-major runs, starting with zeros)."""
    mask = np.asarray(mask, dtype=bool)
    return rle_encode_at(mask, 0, 0, mask.shape)


def rle_encode_at(mask: np.ndarray, top: int, left: int, shape: tuple[int, int]) -> dict[str, Any]:
    """The RLE of an image of ``shape`` that is ``mask`` at row ``top``, column ``left`` and
    empty elsewhere, from the mask's pixels alone (no image-sized array: an object of a
    montage costs its own size)."""
    h, w = int(shape[0]), int(shape[1])
    cols, rows = np.nonzero(np.asarray(mask, dtype=bool).T)  # column-major order
    idx = (left + cols).astype(np.int64) * h + top + rows
    if idx.size == 0:
        return {"size": [h, w], "counts": [h * w] if h * w else []}
    brk = np.flatnonzero(np.diff(idx) != 1) + 1
    starts = idx[np.concatenate([[0], brk])]
    ends = idx[np.concatenate([brk - 1, [idx.size - 1]])] + 1
    counts = np.empty(2 * starts.size + 1, np.int64)
    counts[0] = starts[0]
    counts[1::2] = ends - starts
    counts[2:-1:2] = starts[1:] - ends[:-1]
    counts[-1] = h * w - ends[-1]
    return {"size": [h, w], "counts": [int(c) for c in counts[: -1 if counts[-1] == 0 else None]]}


def rle_decode(rle: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`rle_encode` (uncompressed counts)."""
    h, w = rle["size"]
    flat = np.zeros(h * w, dtype=bool)
    pos, val = 0, False
    for c in rle["counts"]:
        if val:
            flat[pos : pos + c] = True
        pos += c
        val = not val
    return flat.reshape((w, h)).T


def _annotations(
    item: ExportItem, image_id: int, first_id: int, segmentation: str, n_classes: int
) -> list[dict[str, Any]]:
    anns: list[dict[str, Any]] = []
    for o in item_objects(item, n_classes):
        x1, y1, x2, y2 = o.box
        area = o.area
        if o.mask is None:  # a drawn box without a mask: its rectangle
            seg: Any = [box_polygon(*o.box).ravel().tolist()]
        elif segmentation == "rle":
            seg = rle_encode_at(o.mask, int(y1), int(x1), (item.height, item.width))
        else:  # a polygon has no holes: the area is what it covers
            seg = [p.ravel().tolist() for p in mask_polygons(o.mask, int(y1), int(x1))]
            area = filled_area(o.mask)
        anns.append(
            {
                "id": first_id + len(anns),
                "image_id": image_id,
                "category_id": o.class_id + 1,
                "segmentation": seg,
                "area": int(area) if o.mask is not None else area,
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "iscrowd": 0,
            }
        )
    return anns


def coco_dict(
    items: Sequence[ExportItem],
    names: Sequence[str],
    file_names: Sequence[str] | None = None,
    segmentation: str = "rle",
) -> dict[str, Any]:
    """COCO instances dictionary of ``items`` (category ids are class ids + 1)."""
    if segmentation not in ("rle", "polygon"):
        raise ValueError(f"segmentation must be 'rle' or 'polygon', not {segmentation!r}")
    images, anns = [], []
    for i, item in enumerate(items):
        fname = file_names[i] if file_names else f"{item.name}.png"
        images.append(
            {"id": i + 1, "file_name": fname, "width": item.width, "height": item.height}
        )
        anns.extend(_annotations(item, i + 1, len(anns) + 1, segmentation, len(names)))
    cats = [{"id": i + 1, "name": str(n), "supercategory": "object"} for i, n in enumerate(names)]
    return {
        "info": {"description": "napari-microstructure annotation export"},
        "images": images,
        "annotations": anns,
        "categories": cats,
    }


def export_coco(
    path: str | Path, data: Sequence[ExportItem], meta: dict[str, Any] | None = None
) -> list[str]:
    """Write ``annotations.json`` and the images (PNG) of ``data`` under the folder ``path``.

    ``meta``: ``names`` (class names, required unless every class id is 0), ``segmentation``
    (``"rle"`` default, or ``"polygon"``), ``images`` (False to skip writing images).
    Items with no object that are not marked done are left out (:func:`.exported_as_image`).
    """
    meta = dict(meta or {})
    out = Path(path)
    data = [it for it in data if exported_as_image(it)]
    out.mkdir(parents=True, exist_ok=True)
    names = list(meta.get("names") or ["object"])
    file_names = [f"images/{it.name}.png" for it in data]
    doc = coco_dict(data, names, file_names, meta.get("segmentation", "rle"))  # may refuse
    replace_previous_export(out)
    written: list[str] = []
    if meta.get("images", True):
        for it, fname in zip(data, file_names, strict=True):
            written.append(save_image(out / fname, it.image))
    written.append(str(atomic_write_json(out / "annotations.json", doc)))
    return record_export(out, written)
