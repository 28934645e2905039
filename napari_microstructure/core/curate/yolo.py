"""YOLO datasets: detection txt, segmentation polygons, a seeded split and ``data.yaml``.

Layout (what ultralytics reads directly)::

    images/train/<name>.png   labels/train/<name>.txt
    images/val/<name>.png     labels/val/<name>.txt
    data.yaml                 path, train, val, names (and the images' median µm/px)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_bytes
from ..image_utils import to_uint8
from .digest import copies_by_digest, pixel_digest
from .export_record import record_export, replace_previous_export
from .items import ExportItem, item_objects
from .polygons import box_polygon, mask_polygons


def exported_as_image(item: ExportItem) -> bool:
    """Whether an item goes into a training export as an image: it has an object (an instance
    id or a box inside the image), or it is marked done (checked: it holds no object).

    An image with neither was never checked (the detector's empty proposals, phases only):
    exported with no labels it would teach a model to find nothing there. Every exporter uses
    this rule (the label TIFFs for their instances file).
    """
    if item.done or (item.instances is not None and np.any(item.instances)):
        return True
    return bool(item.boxes) and bool(item_objects(item))


def _split_draw(name: str, seed: int) -> float:
    """A number in [0, 1) fixed by the name and the seed (the same on every machine)."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_names(
    names: Sequence[str],
    val_fraction: float = 0.2,
    seed: int = 0,
    same_as: Mapping[str, str] | None = None,
) -> tuple[list[str], list[str]]:
    """Reproducible train/val split that keeps each image on its side as images are added.

    Each name goes to val when a number drawn from the name and the seed is below
    ``val_fraction`` (so about that fraction does), and adding or removing other images never
    moves it: an image a model was trained on does not become one of its held-out images at
    the next export. With two or more images both parts are non-empty (the image with the
    lowest draw goes to val, or the highest to train); a single image is used for both (so
    that ultralytics can still validate).

    ``same_as`` maps a name to the name of the image it is a copy of (the same pixels added
    twice): the copies go where that image goes (drawn from its name), so a model is never
    validated on an image it trained on. Names it does not map are drawn as before.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    ordered = sorted(set(names))
    if not ordered:
        return [], []
    key = {n: str((same_as or {}).get(n, n)) for n in ordered}
    groups = sorted(set(key.values()))
    if len(groups) == 1:
        return ordered, list(ordered)
    draw = {g: _split_draw(g, seed) for g in groups}
    val = {g for g in groups if draw[g] < val_fraction}
    if not val:
        val = {min(groups, key=draw.__getitem__)}
    elif len(val) == len(groups):
        val.remove(max(groups, key=draw.__getitem__))
    return [n for n in ordered if key[n] not in val], [n for n in ordered if key[n] in val]


def copies_of(data: Sequence[ExportItem]) -> dict[str, str]:
    """``{name: first name}`` of the items whose pixels equal an earlier item's (in order)."""
    return copies_by_digest((item.name, pixel_digest(item.image)) for item in data)


def dataset_folder(data: str | Path) -> Path:
    """The folder of the YOLO dataset ``data`` (its ``data.yaml`` or its folder)."""
    root = Path(data)
    return root.parent if root.suffix in (".yaml", ".yml") else root


def held_out(data: str | Path) -> tuple[int, int]:
    """``(images, objects)`` held out for validation in the YOLO dataset ``data`` (its
    ``data.yaml`` or its folder): the val images that are not also training images (a single
    image is both), and their objects."""
    root = dataset_folder(data)
    train = {p.stem for p in (root / "images" / "train").glob("*.png")}
    val = sorted(p.stem for p in (root / "images" / "val").glob("*.png") if p.stem not in train)
    objects = 0
    for name in val:
        label = root / "labels" / "val" / f"{name}.txt"
        if label.is_file():
            objects += sum(1 for line in label.read_text().splitlines() if line.strip())
    return len(val), objects


def held_out_note(images: int, objects: int) -> str:
    """What the validation metrics are measured on when it is not held-out objects ("" when
    it is)."""
    if not images:
        return "no held-out image: metrics on the training image"
    if not objects:
        return "held-out images have no objects"
    return ""


def save_image(path: str | Path, image: np.ndarray) -> str:
    """Save an image as 8-bit PNG (grey or RGB), the form YOLO trainers read."""
    import cv2

    img = to_uint8(np.asarray(image))
    if img.ndim == 3:
        img = cv2.cvtColor(img[..., :3], cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise OSError(f"could not encode {path} as PNG")
    return str(atomic_write_bytes(path, buf.tobytes()))


def yolo_box_lines(item: ExportItem, n_classes: int | None = None) -> list[str]:
    """``class cx cy w h`` lines (normalised) of the objects of :func:`.items.item_objects`."""
    h, w = item.height, item.width
    lines = []
    for o in item_objects(item, n_classes):
        x1, y1, x2, y2 = o.box
        cx, cy = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h
        bw, bh = (x2 - x1) / w, (y2 - y1) / h
        lines.append(f"{o.class_id} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
    return lines


def yolo_segment_lines(item: ExportItem, n_classes: int | None = None) -> list[str]:
    """``class x1 y1 x2 y2 ...`` lines (normalised polygons along pixel edges) of an item's
    objects: one line per part of a mask (a crack in pieces is several), a drawn box without a
    mask as its rectangle."""
    scale = np.array([item.width, item.height], dtype=np.float64)
    lines = []
    for o in item_objects(item, n_classes):
        x1, y1 = o.box[:2]
        if o.mask is None:
            polys = [box_polygon(*o.box)]
        else:
            polys = mask_polygons(o.mask, int(y1), int(x1))
        for poly in polys:
            coords = " ".join(f"{v:.6f}" for v in np.clip(poly / scale, 0, 1).ravel())
            lines.append(f"{o.class_id} {coords}")
    return lines


def write_data_yaml(path: str | Path, names: Sequence[str], extra: dict | None = None) -> str:
    """``data.yaml`` for the dataset folder ``path`` (absolute, so it trains from anywhere)."""
    import yaml

    root = Path(path).resolve()
    doc: dict[str, Any] = {
        "path": str(root),
        "train": "images/train",
        "val": "images/val",
        "nc": len(names),
        "names": {i: str(n) for i, n in enumerate(names)},
    }
    doc.update(extra or {})
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    return str(atomic_write_bytes(root / "data.yaml", text.encode("utf-8")))


def _export_yolo(path: str | Path, data: Sequence[ExportItem], meta: dict | None, task: str):
    meta = dict(meta or {})
    names = list(meta.get("names") or ["object"])
    root = Path(path)
    data = [it for it in data if exported_as_image(it)]
    same_as = meta.get("same_as")  # export_project's, from the project's image digests
    train, val = split_names(
        [it.name for it in data],
        float(meta.get("val_fraction", 0.2)),
        int(meta.get("seed", 0)),
        copies_of(data) if same_as is None else same_as,
    )
    by_name = {it.name: it for it in data}
    if len(by_name) != len(data):
        raise ValueError("export items must have unique names")
    line_maker = yolo_box_lines if task == "detect" else yolo_segment_lines
    lines_of = {it.name: line_maker(it, len(names)) for it in data}  # refused before writing
    replace_previous_export(root)
    written: list[str] = []
    for split, members in (("train", train), ("val", val)):
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        for name in members:
            item, lines = by_name[name], lines_of[name]
            written.append(save_image(root / "images" / split / f"{name}.png", item.image))
            txt = ("\n".join(lines) + "\n") if lines else ""
            label = atomic_write_bytes(root / "labels" / split / f"{name}.txt", txt.encode())
            written.append(str(label))
    extra = {"split_seed": int(meta.get("seed", 0)), "task": task}
    sizes = [it.pixel_size for it in data if it.pixel_size]
    if sizes:  # what `train` records next to the weights, for scale-aware detection
        extra["pixel_size_um"] = float(np.median(sizes))
    written.append(write_data_yaml(root, names, extra))
    info = {"only_done": bool(meta["only_done"])} if "only_done" in meta else None
    return record_export(root, written, info)


def export_yolo_detect(
    path: str | Path, data: Sequence[ExportItem], meta: dict | None = None
) -> list[str]:
    """YOLO detection dataset of ``data`` in folder ``path``; returns the files written.

    Items with no object that are not marked done are left out (:func:`exported_as_image`).
    ``meta``: ``names`` (class names), ``val_fraction`` (0.2), ``seed`` (0).
    """
    return _export_yolo(path, data, meta, "detect")


def export_yolo_segment(
    path: str | Path, data: Sequence[ExportItem], meta: dict | None = None
) -> list[str]:
    """YOLO segmentation dataset (one polygon per instance); ``meta`` as for detection."""
    return _export_yolo(path, data, meta, "segment")


def yolo_class_counts(folder: str, names: dict[int, str]) -> dict[str, int]:
    """Objects per class name in the YOLO label files (``*.txt``) directly in ``folder``."""
    root = Path(folder)
    files = sorted(root.glob("*.txt")) if root.is_dir() else []
    if not files:
        raise ValueError(f"no YOLO label files (*.txt) in {folder}")
    counts = {str(n): 0 for n in names.values()}
    for f in files:
        for line in f.read_text().splitlines():
            if not line.strip():
                continue
            try:
                cid = int(float(line.split()[0]))
            except ValueError:
                raise ValueError(f"{f}: not a YOLO label line: {line!r}") from None
            if cid not in names:
                raise ValueError(f"{f}: class id {cid} is not one of the model's {sorted(names)}")
            counts[str(names[cid])] += 1
    return counts
