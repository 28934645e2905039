"""Labels layers of refined objects: paint a mask as one object, with undo, and its features.

Every object is one label id; ``layer.features`` holds one row per id (``index``, ``class_name``,
``score``, ``engine``; an object refined from a box also records that box, :data:`BOX_COLUMNS`).
Painting only overwrites background and the object's own old pixels, so other objects are never
lost, and each paint returns a record that :func:`undo_paint` reverts.
The layer of a stack has the stack's planes; an object lies on one plane (``plane``: the index
along the leading axes, ``()`` for a 2-D layer) and ids are unique across planes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .image import layer_kwargs_like, stack_placement_like
from .label_dtype import NARROW, fit_label, labels_dtype, replace_ids, wide_enough
from .plane import level0, yx_shape

COLUMNS = ["index", "class_name", "score", "engine"]
#: the prompt box (image pixels) an object was refined from: Curate takes that box as the object
BOX_COLUMNS = ["box_x1", "box_y1", "box_x2", "box_y2"]


@dataclass
class PaintRecord:
    """What one paint changed: the label id, a window of a plane with its pixels before and after
    the paint, and the old feature table."""

    label: int
    window: tuple[slice, slice]
    before: np.ndarray
    features: pd.DataFrame
    after: np.ndarray | None = None
    plane: tuple[int, ...] = ()


def objects_shape(image: Any) -> tuple[int, ...]:
    """Shape of the objects layer of an image layer: its leading axes, rows and columns."""
    lead = tuple(int(n) for n in level0(image).shape[: image.ndim - 2])
    return lead + yx_shape(image)


def objects_labels_kwargs(image: Any, name: str) -> dict[str, Any]:
    """Keyword arguments for an empty Labels layer of objects laid on ``image`` (with the
    planes of a stack): uint32, or uint16 for a large plane (:func:`.label_dtype.labels_dtype`;
    painting an id above 65535 widens it)."""
    kwargs = layer_kwargs_like(image, name, "instances")
    kwargs.update(stack_placement_like(image))  # a stack: its own placement, every axis
    shape = objects_shape(image)
    return {
        "data": np.zeros(shape, labels_dtype(shape)),
        "features": pd.DataFrame(
            {
                c: pd.Series(dtype=t)
                for c, t in zip(COLUMNS, ["int64", "object", "float64", "object"], strict=True)
            }
        ),
        **kwargs,
    }


def next_label(layer: Any) -> int:
    """A label id not used yet (on any plane)."""
    data = np.asarray(layer.data)
    return int(data.max()) + 1 if data.size else 1


def label_at(layer: Any, row: float, col: float, plane: tuple[int, ...] = ()) -> int:
    """The label id under a pixel of a plane (0 = background or outside)."""
    data = np.asarray(layer.data)[plane]
    r, c = int(round(row)), int(round(col))
    if 0 <= r < data.shape[-2] and 0 <= c < data.shape[-1]:
        return int(data[..., r, c].ravel()[0])
    return 0


def class_of(layer: Any, label: int) -> str | None:
    """The ``class_name`` of object ``label`` in the layer's features (None if it has none)."""
    table = layer.features
    if "index" not in table or "class_name" not in table:
        return None
    rows = table.loc[table["index"] == label, "class_name"]
    return None if rows.empty or pd.isna(rows.iloc[0]) else str(rows.iloc[0])


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


def _features_with(table: pd.DataFrame, labels: list[int], rows: Any) -> pd.DataFrame:
    """The feature ``table`` with the rows of ``labels`` replaced by ``rows`` (records or a
    table, each with its ``index``; a label without a row loses its row). Columns other than
    :data:`COLUMNS` (e.g. Measure's) stay; new rows leave them empty (NaN). Columns the new rows
    bring (an object's box, :data:`BOX_COLUMNS`) are added, empty for the other rows."""
    if "index" not in table.columns:  # rows that name no object: nothing to keep
        table = pd.DataFrame(columns=COLUMNS)
    new = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    columns = list(table.columns) + [c for c in COLUMNS if c not in table.columns]
    columns += [c for c in new.columns if c not in columns]
    base = table[~table["index"].isin(labels)]
    if len(new):
        base = new if base.empty else pd.concat([base, new], ignore_index=True)
    return base.reindex(columns=columns).sort_values("index").reset_index(drop=True)


def paint_object(
    layer: Any,
    mask: np.ndarray,
    label: int,
    class_name: str,
    score: float,
    engine: str,
    plane: tuple[int, ...] = (),
    own: np.ndarray | None = None,
) -> PaintRecord | None:
    """Make ``mask`` the pixels of object ``label`` on ``plane`` (replacing its old ones there);
    None if nothing changes. ``own``: the pixels of the plane the object's old ones may be
    (default all holding ``label``); others holding ``label`` (painted by hand) stay. A layer
    whose dtype cannot hold ``label`` is widened first."""
    fit_label(layer, label)  # a uint16 layer would wrap the id around (70000 -> 4464)
    data = layer.data[plane]  # a view: painted in place
    old = data == label
    if own is not None:
        old &= own
    win = _window(mask, old)
    if win is None:
        return None
    before = np.array(data[win], copy=True)
    crop = before.copy()
    crop[old[win]] = 0
    crop[mask[win] & (crop == 0)] = label
    record = PaintRecord(label, win, before, layer.features.copy(), crop.copy(), plane)
    _write(layer, data, win, before, crop, plane)
    painted = bool((crop == label).any()) or (own is not None and bool((data == label).any()))
    row = {"index": label, "class_name": class_name, "score": float(score), "engine": engine}
    if own is None:  # an object refined from a box, edited, stays its box's (not a new id's)
        row.update(_box_of(record.features, label))
    layer.features = _features_with(layer.features, [label], [row] if painted else [])
    return record


def _box_of(table: pd.DataFrame, label: int) -> dict[str, float]:
    """The box (:data:`BOX_COLUMNS`) object ``label`` was refined from, as ``table`` records it;
    empty when it records none."""
    if "index" not in table.columns or not set(BOX_COLUMNS) <= set(table.columns):
        return {}
    rows = table.loc[table["index"] == label, BOX_COLUMNS]
    if rows.empty or rows.iloc[0].isna().any():
        return {}
    return {c: float(v) for c, v in rows.iloc[0].items()}


def written_by(records: list[PaintRecord], label: int, shape: tuple[int, ...]) -> np.ndarray:
    """The pixels of a plane of ``shape`` that ``records`` painted ``label`` on."""
    out = np.zeros(shape, bool)
    for rec in records:
        if rec.after is not None and rec.label == label:
            out[rec.window] |= rec.after == label
    return out


def paint_new_objects(
    layer: Any,
    pieces: list[tuple[tuple[slice, slice], np.ndarray]],
    first: int,
    values: list[dict[str, Any]],
    plane: tuple[int, ...] = (),
) -> list[PaintRecord | None]:
    """Paint new objects at once, as :func:`paint_object` would one after the other, each only
    over the background left by those before it, but with one write and one feature update.

    ``pieces`` are (window, mask of that window); the objects that paint anything get the ids
    ``first``, ``first + 1``, ... (not in the layer). Returns one record per piece for
    :func:`undo_paint` (its ``label`` is the id), None where a mask painted nothing. A layer
    whose dtype cannot hold the last id the pieces may get is widened first."""
    if not pieces:
        return []
    fit_label(layer, first + len(pieces) - 1)  # a uint16 layer would wrap the ids around
    data = layer.data[plane]  # a view: painted in place
    r0 = min(w[0].start for w, _ in pieces)
    r1 = max(w[0].stop for w, _ in pieces)
    c0 = min(w[1].start for w, _ in pieces)
    c1 = max(w[1].stop for w, _ in pieces)
    before_all = np.array(data[r0:r1, c0:c1], copy=True)
    work = before_all.copy()
    old_features = layer.features.copy()
    records: list[PaintRecord | None] = []
    rows = []
    label = first
    for ((rows_, cols_), mask), vals in zip(pieces, values, strict=True):
        local = (
            slice(rows_.start - r0, rows_.stop - r0),
            slice(cols_.start - c0, cols_.stop - c0),
        )
        before = work[local].copy()
        crop = before.copy()
        crop[np.asarray(mask, bool) & (crop == 0)] = label
        if not (crop == label).any():
            records.append(None)
            continue
        work[local] = crop
        records.append(PaintRecord(label, (rows_, cols_), before, old_features, crop, plane))
        rows.append({"index": int(label), **vals})
        label += 1
    _write(layer, data, (slice(r0, r1), slice(c0, c1)), before_all, work, plane)
    if rows:  # (replacing rows left by objects erased by hand under these ids)
        layer.features = _features_with(old_features, [row["index"] for row in rows], rows)
    return records


def _write(
    layer: Any,
    data: np.ndarray,
    win: tuple[slice, slice],
    before: np.ndarray,
    crop: np.ndarray,
    plane: tuple[int, ...],
) -> None:
    """Write the changed pixels of a window: through napari's ``data_setitem`` (which redraws
    only that part of a large layer, and keeps napari's own undo) where the layer has it."""
    changed = crop != before
    if not changed.any():
        return
    if not hasattr(layer, "data_setitem"):
        data[win] = crop
        layer.refresh()
        return
    rows, cols = np.nonzero(changed)
    lead = tuple(np.full(rows.size, p, dtype=np.intp) for p in plane)
    layer.data_setitem((*lead, rows + win[0].start, cols + win[1].start), crop[changed])


def undo_paint(layer: Any, record: PaintRecord) -> None:
    """Put back what :func:`paint_object` changed, where the pixels still hold what the paint
    left: pixels painted since (by hand, by another object) keep their value. Only the object's
    own feature row is put back (the rows of objects painted since stay)."""
    try:
        current = layer.data[record.plane][record.window]  # a view: restored in place
    except IndexError:
        return  # the layer's data were replaced by fewer planes: nothing of the paint is left
    if record.after is None or current.shape != record.after.shape:
        return  # ... or by planes of another size
    untouched = current == record.after
    if record.before.size and fit_label(layer, int(record.before.max())):
        current = layer.data[record.plane][record.window]  # ids put back are not wrapped
    current[untouched] = record.before[untouched]
    if record.label:  # only this object's row: others may have been painted since
        old = record.features
        rows = old[old["index"] == record.label][:1] if "index" in old.columns else []
        layer.features = _features_with(layer.features, [record.label], rows)
    else:
        layer.features = record.features
    forget_napari_undo(layer)
    layer.refresh()


def forget_napari_undo(layer: Any) -> None:
    """Empty napari's own undo history (Ctrl+Z) of a Labels layer.

    Its steps hold the pixels before each edit: after an object was undone outside it, undoing
    a brush stroke made over the object would paint the object back (with no feature row). The
    pixels painted by hand stay as they are; only Ctrl+Z of the edits made so far is lost.
    napari forgets a layer's history when the layer stops being editable; its mode comes back.
    """
    if not getattr(layer, "editable", False) or not hasattr(layer, "undo"):
        return
    mode = layer.mode
    layer.editable = False
    layer.editable = True
    layer.mode = mode


def set_all_labels(
    layer: Any, labels: np.ndarray, class_name: str, engine: str, plane: tuple[int, ...] = ()
) -> PaintRecord:
    """Replace a plane of the layer by a label image (e.g. segment-all), one feature row per id;
    returns the record that :func:`undo_paint` puts the old plane back with.

    On a stack the new ids follow those of the other planes, whose objects and features stay.
    The layer keeps its dtype where it holds the new ids, else it is widened (uint32); a large
    plane's layer becomes uint16 where they all fit (:mod:`.label_dtype`: shown quickly).
    """
    data = np.asarray(layer.data)
    new = np.asarray(labels).astype(np.uint32)
    rest = np.ones(data.shape[: len(plane)], bool)
    rest[plane] = False
    others = np.unique(data[rest])
    others = others[others > 0]
    if others.size:
        new = np.where(new > 0, new + np.uint32(others.max()), 0).astype(np.uint32)
    # every id the layer holds after (and, for the undo, before): narrowed only if all fit
    top = max(int(new.max()) if new.size else 0, int(data.max()) if data.size else 0)
    dtype = wide_enough(data.dtype, top)
    if data.dtype.kind == "u" and labels_dtype(data.shape, top) == NARROW:
        dtype = NARROW
    data = np.array(data, dtype=dtype, copy=True)
    before = data[plane].copy()
    record = PaintRecord(
        0, (slice(None), slice(None)), before, layer.features.copy(), new.copy(), plane
    )
    data[plane] = new
    replace_ids(layer, data)
    ids = np.unique(new)
    ids = ids[ids > 0]
    table = pd.DataFrame(
        {
            "index": ids.astype(np.int64),
            "class_name": class_name,
            "score": np.nan,
            "engine": engine,
        }
    )
    old = layer.features
    if others.size and "index" in old.columns:  # the rows of the other planes' objects stay
        table = _features_with(old[old["index"].isin(others)], [], table)
    layer.features = table
    return record
