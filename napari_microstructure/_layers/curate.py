"""Annotation layers of a curation project: instance/phase Labels and box Shapes <-> arrays.

Labels layers carry the image's pixel size in ``scale``; box Shapes use the detection layer
convention of :mod:`.shapes` (world µm coordinates). ``metadata['curate_image']`` names the
project image a layer belongs to and ``metadata['curate_project']`` the project's folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .image import ROLE_KEY, image_layer_kwargs, placement_like, units_like
from .plane import displayed_plane, made_on_other_plane, plane_text
from .shapes import class_color, detections_from_layer, detections_layer_kwargs

IMAGE_KEY = "curate_image"
PROJECT_KEY = "curate_project"


def tag_for_project(layer: Any, root: Any, image_id: str) -> Any:
    """Mark ``layer`` as showing image ``image_id`` of the project in folder ``root``."""
    layer.metadata = {**layer.metadata, IMAGE_KEY: image_id, PROJECT_KEY: _folder_key(root)}
    return layer


def project_layers(layers: Any, root: Any, image_id: str) -> list[Any]:
    """The layers showing image ``image_id`` of the project in ``root`` (two projects may have
    images of the same name)."""
    key = _folder_key(root)
    return [
        lay
        for lay in layers
        if lay.metadata.get(IMAGE_KEY) == image_id and lay.metadata.get(PROJECT_KEY) == key
    ]


def _folder_key(root: Any) -> str:
    return str(Path(root).resolve())


def labels_layer_kwargs(
    data: np.ndarray,
    pixel_size: float | None,
    name: str,
    image_id: str,
    role: str,
    like: Any = None,
) -> dict[str, Any]:
    """Keyword arguments for ``viewer.add_labels`` of an instance (or phase) label image.

    With the image layer ``like`` it lies on that layer's rows and columns (its scale,
    translate, rotation, units); without, at ``pixel_size`` from the origin.
    """
    kwargs = image_layer_kwargs(pixel_size, name, role)
    if like is not None:
        kwargs.update(placement_like(like))
        kwargs.update(units_like(like))
    kwargs["metadata"] = {**kwargs["metadata"], IMAGE_KEY: image_id}
    kwargs["data"] = np.asarray(data)
    return kwargs


def labels_data(layer: Any) -> np.ndarray:
    """A copy of a Labels layer's 2-D data (the plane on screen of a stack) as uint32 (safe to
    hand to another thread)."""
    return np.array(displayed_plane(layer), dtype=np.uint32, copy=True)


def boxes_frame(boxes: list[dict[str, Any]], class_names: list[str]) -> pd.DataFrame:
    """Detection-style table (x1, y1, x2, y2, confidence, class_id, class_name) of stored boxes."""
    rows = []
    for b in boxes:
        cid = int(b.get("class_id", 0))
        rows.append(
            {
                "x1": float(b["x1"]),
                "y1": float(b["y1"]),
                "x2": float(b["x2"]),
                "y2": float(b["y2"]),
                "confidence": float(b.get("confidence", 1.0)),
                "class_id": cid,
                "class_name": class_names[cid] if cid < len(class_names) else str(cid),
            }
        )
    cols = ["x1", "y1", "x2", "y2", "confidence", "class_id", "class_name"]
    return pd.DataFrame(rows, columns=cols)


def boxes_layer_kwargs(
    boxes: list[dict[str, Any]],
    pixel_size: float | None,
    class_names: list[str],
    name: str,
    image_id: str,
    like: Any = None,
) -> dict[str, Any]:
    """Keyword arguments for ``viewer.add_shapes`` showing a project image's boxes.

    The box vertices are µm from the image's corner (:mod:`.shapes`); with the image layer
    ``like`` the layer lies on it (:func:`.overlay.overlay_placement`: its translate, rotation,
    units, and its scale over ``pixel_size``). :func:`boxes_from_layer` reads them back in
    pixels either way.
    """
    frame = boxes_frame(boxes, class_names)
    kwargs = detections_layer_kwargs(frame, pixel_size, name, image=like)
    kwargs["metadata"] = {**kwargs["metadata"], IMAGE_KEY: image_id, ROLE_KEY: "boxes"}
    defaults: dict[str, Any] = dict.fromkeys(kwargs["features"].columns, 0.0)
    defaults.update(
        {
            "class_name": class_names[0] if class_names else "object",
            "class_id": 0,
            "confidence": 1.0,
        }
    )
    kwargs["feature_defaults"] = defaults
    if not boxes:  # no per-box colours yet: new boxes get the first class colour
        kwargs["edge_color"] = class_color(0)
    return kwargs


def boxes_from_layer(
    layer: Any, class_names: list[str], drawn: list[str] | None = None, image: Any = None
) -> list[dict[str, Any]]:
    """Boxes (pixel x1, y1, x2, y2, class_id, confidence) drawn or edited in a Shapes layer.

    A class typed by name in the features table wins over a stale class id; a box without a
    class name (a plain Shapes layer, a box drawn by hand) keeps its class id. A name that is
    not in ``class_names`` is looked up in ``drawn``, the classes the layer was drawn with
    (another window may have renamed a class since). With the ``image`` layer the boxes are
    read through the Shapes layer's placement to that image's pixels (any Shapes layer).

    Raises
    ------
    ValueError : a box's class name is not one of ``class_names`` (it would be saved as
        another class).
    """
    df = detections_from_layer(layer, default_class="", image=image)
    ids = {n: i for i, n in enumerate(drawn or [])}
    ids.update({n: i for i, n in enumerate(class_names)})
    out = []
    for row in df.itertuples():
        cid = int(row.class_id)
        name = str(row.class_name)
        if name in ids:
            cid = ids[name]
        elif name.strip() and name != "nan":
            raise ValueError(
                f"a box has the class {name!r}, which is not one of the project's classes "
                f"({', '.join(class_names)}): add it to the classes or correct the box"
            )
        out.append(
            {
                "x1": float(row.x1),
                "y1": float(row.y1),
                "x2": float(row.x2),
                "y2": float(row.y2),
                "class_id": cid,
                "confidence": float(row.confidence),
            }
        )
    return out


def layer_image_id(layer: Any) -> str | None:
    """The project image a curation layer belongs to (None for other layers)."""
    return getattr(layer, "metadata", {}).get(IMAGE_KEY)


def object_classes(layer: Any, data: np.ndarray, class_names: list[str]) -> dict[int, int]:
    """Class id of each object of ``data`` whose class the Labels ``layer`` names in its
    features (``class_name``: Refine's masks take their detection's class); objects without one
    are left out (they get the project's default class).

    Raises
    ------
    ValueError : a class name that is not one of ``class_names`` (it would be saved as another
        class).
    """
    from .labels import instance_classes

    named = instance_classes(layer) or {}
    if not named:  # (np.unique of a 12000² montage takes 5 s: only for a layer naming classes)
        return {}
    ids = {n: i for i, n in enumerate(class_names)}
    present = set(np.unique(data).tolist()) - {0}
    out: dict[int, int] = {}
    for label, name in named.items():
        text = "" if name is None or pd.isna(name) else str(name).strip()
        if int(label) not in present or not text:
            continue
        if text not in ids:
            raise ValueError(
                f"object {label} of {layer.name} has the class {text!r}, which is not one of "
                f"the project's classes ({', '.join(class_names)}): add it to the classes"
            )
        out[int(label)] = ids[text]
    return out


def layer_source(layer: Any) -> str:
    """Who made a layer's labels, as a project records it: its engine, else ``layer:<name>``."""
    return layer.metadata.get("engine") or f"layer:{layer.name}"


def labels_to_import(
    instances: Any, phases: Any, boxes: Any, classes: list[str], image: Any, shape: tuple
) -> tuple[dict[str, Any], int]:
    """The chosen ``instances``, ``phases`` (Labels) and ``boxes`` (Shapes) layers, any of them
    None, as project labels for the ``image`` layer of ``shape`` (boxes read through their
    placement to its pixels, each with the ``source`` of its layer; each object's class from the
    instances layer's features, as Refine writes them), and how many boxes were taken as the
    objects Refine made from them (:func:`refined_boxes`: not stored as boxes too); raises
    ValueError for a layer of another size, bad ids, a class that is not one of ``classes``,
    or a result of another plane of the stack than the one on screen (:data:`.plane.PLANE_KEY`:
    a 2-D layer lies over every plane)."""
    from ..core.curate.manifest import refuse_bad_ids

    chosen = (("objects", "made", instances), ("phases", "made", phases))
    for what, verb, layer in (*chosen, ("boxes", "found", boxes)):
        made = None if layer is None else made_on_other_plane(layer, image)
        if made is not None:
            raise ValueError(
                f"the {what} of {layer.name} were {verb} on plane {plane_text(made)} of the "
                "stack, not the plane on screen: show that plane"
            )
    kwargs: dict[str, Any] = {}
    for role, layer in (("instances", instances), ("phases", phases)):
        if layer is None:
            continue
        if tuple(layer.data.shape[-2:]) != tuple(shape[:2]):
            raise ValueError(f"{layer.name} is not the size of the image")
        refuse_bad_ids(layer.data, role)  # labels_data would wrap ids beyond the dtype
        kwargs[role] = labels_data(layer)
        if role == "instances":
            named = object_classes(layer, kwargs[role], classes)
            if named:
                kwargs["classes"] = named
    taken = 0
    if boxes is not None:
        found = boxes_from_layer(boxes, classes, image=image)
        if instances is not None:
            linked = refined_boxes(instances, kwargs["instances"], found)
            found = [b for i, b in enumerate(found) if i not in linked]
            taken = len(linked)
        kwargs["boxes"] = [{**b, "source": layer_source(boxes)} for b in found]
    return kwargs, taken


def refined_boxes(layer: Any, data: np.ndarray, boxes: list[dict[str, Any]]) -> set[int]:
    """Indices of the ``boxes`` (pixels) that objects of ``data`` were refined from: each
    object of the Labels ``layer`` records its prompt box in its features (Refine's
    ``BOX_COLUMNS``); a box with the coordinates (within 0.5 px) of an object present in
    ``data`` is that object's (at most one box an object)."""
    from .labels_edit import BOX_COLUMNS

    table = layer.features
    if not boxes or "index" not in table.columns or not set(BOX_COLUMNS) <= set(table.columns):
        return set()
    rows = table.dropna(subset=BOX_COLUMNS)
    if len(rows):  # (erased since: its box is a box again)
        rows = rows[rows["index"].isin(np.unique(data))]
    recorded = rows[BOX_COLUMNS].to_numpy(float)
    if not len(recorded):
        return set()
    free = np.ones(len(recorded), bool)
    out = set()
    for i, b in enumerate(boxes):
        xyxy = np.array([b["x1"], b["y1"], b["x2"], b["y2"]], float)
        hit = np.flatnonzero(free & (np.abs(recorded - xyxy) <= 0.5).all(axis=1))
        if hit.size:
            free[hit[0]] = False
            out.add(i)
    return out
