"""Labels layers of refined objects: paint a mask as one object, with undo, and its features.

Every object is one label id; ``layer.features`` holds one row per id (``index``, ``class_name``,
``score``, ``engine``). Painting only overwrites background and the object's own old pixels, so
other objects are never lost, and each paint returns a record that :func:`undo_paint` reverts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .image import image_layer_kwargs

COLUMNS = ["index", "class_name", "score", "engine"]


@dataclass
class PaintRecord:
    """What one paint changed: the label id, a window and its old pixels, the old feature table."""

    label: int
    window: tuple[slice, slice]
    before: np.ndarray
    features: pd.DataFrame


def objects_labels_kwargs(
    shape: tuple[int, int], pixel_size: float | None, name: str
) -> dict[str, Any]:
    """Keyword arguments for an empty uint32 Labels layer of objects in physical scale."""
    return {
        "data": np.zeros(shape, np.uint32),
        "features": pd.DataFrame(
            {
                c: pd.Series(dtype=t)
                for c, t in zip(COLUMNS, ["int64", "object", "float64", "object"], strict=True)
            }
        ),
        **image_layer_kwargs(pixel_size, name, "instances"),
    }


def next_label(layer: Any) -> int:
    """A label id not used yet."""
    data = np.asarray(layer.data)
    return int(data.max()) + 1 if data.size else 1


def label_at(layer: Any, row: float, col: float) -> int:
    """The label id under a pixel (0 = background or outside)."""
    data = np.asarray(layer.data)
    r, c = int(round(row)), int(round(col))
    if 0 <= r < data.shape[-2] and 0 <= c < data.shape[-1]:
        return int(data[..., r, c].ravel()[0])
    return 0


def _window(*masks: np.ndarray) -> tuple[slice, slice] | None:
    rows = np.zeros(masks[0].shape[0], bool)
    cols = np.zeros(masks[0].shape[1], bool)
    for m in masks:
        rows |= m.any(1)
        cols |= m.any(0)
    if not rows.any():
        return None
    r, c = np.flatnonzero(rows), np.flatnonzero(cols)
    return slice(r[0], r[-1] + 1), slice(c[0], c[-1] + 1)


def _features_with(table: pd.DataFrame, label: int, values: dict[str, Any] | None) -> pd.DataFrame:
    base = table[COLUMNS] if set(COLUMNS) <= set(table.columns) else pd.DataFrame(columns=COLUMNS)
    base = base[base["index"] != label]
    if values is not None:
        row = pd.DataFrame([{"index": label, **values}])
        base = row if base.empty else pd.concat([base, row], ignore_index=True)
    return base.sort_values("index").reset_index(drop=True)


def paint_object(
    layer: Any, mask: np.ndarray, label: int, class_name: str, score: float, engine: str
) -> PaintRecord | None:
    """Make ``mask`` the pixels of object ``label`` (replacing its old ones); None if no change."""
    data = layer.data
    old = data == label
    win = _window(mask, old)
    if win is None:
        return None
    before = np.array(data[win], copy=True)
    crop = before.copy()
    crop[crop == label] = 0
    crop[mask[win] & (crop == 0)] = label
    record = PaintRecord(label, win, before, layer.features.copy())
    data[win] = crop
    painted = bool((crop == label).any())
    values = {"class_name": class_name, "score": float(score), "engine": engine}
    layer.features = _features_with(layer.features, label, values if painted else None)
    layer.refresh()
    return record


def undo_paint(layer: Any, record: PaintRecord) -> None:
    """Put back what :func:`paint_object` changed."""
    layer.data[record.window] = record.before
    layer.features = record.features
    layer.refresh()


def set_all_labels(layer: Any, labels: np.ndarray, class_name: str, engine: str) -> PaintRecord:
    """Replace the whole layer by a label image (e.g. segment-all), one feature row per id;
    returns the record that :func:`undo_paint` puts the old layer back with."""
    data = np.asarray(layer.data)
    record = PaintRecord(0, (slice(None), slice(None)), data.copy(), layer.features.copy())
    layer.data = labels.astype(np.uint32)
    ids = np.unique(labels)
    ids = ids[ids > 0]
    layer.features = pd.DataFrame(
        {
            "index": ids.astype(np.int64),
            "class_name": class_name,
            "score": np.nan,
            "engine": engine,
        }
    )
    return record
