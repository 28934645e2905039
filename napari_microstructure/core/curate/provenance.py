"""Who made each object and what happened to it since: engine/model or "manual", when, status.

Objects are instance labels (keyed by their label id) and boxes. When the user edits labels, the
objects whose pixels changed become ``corrected``; new ids are ``manual``; ids that disappeared
are dropped. Objects proposed by a model keep that model as their ``source``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

MANUAL = "manual"
ACCEPTED = "accepted"
CORRECTED = "corrected"
#: records of erased objects kept per image, for an undo that brings them back
KEEP_DROPPED = 1000


def now() -> str:
    """UTC timestamp in ISO 8601 (seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def changed_ids(old: np.ndarray | None, new: np.ndarray) -> set[int]:
    """Label ids (old or new, never 0) that own at least one pixel that changed."""
    if old is None or old.shape != new.shape:
        ids = set(np.unique(new).tolist())
        ids.discard(0)
        return ids
    diff = old != new
    if not diff.any():
        return set()
    ids = set(np.unique(old[diff]).tolist()) | set(np.unique(new[diff]).tolist())
    ids.discard(0)
    return ids


def footprints(labels: np.ndarray | None, ids: set[int]) -> dict[int, list[int]]:
    """Pixel count, bounding box (row0, col0, row1, col1) and sum of flat pixel indices of each
    label id of ``ids`` in ``labels``: the same object gives the same list."""
    if labels is None or not ids:
        return {}
    flat = np.asarray(labels).ravel()
    idx = np.flatnonzero(np.isin(flat, np.fromiter(ids, dtype=np.int64)))
    if not idx.size:
        return {}
    vals = flat[idx]
    order = np.argsort(vals, kind="stable")
    idx, vals = idx[order], vals[order]
    uniq, start, count = np.unique(vals, return_index=True, return_counts=True)
    width = labels.shape[-1] if labels.ndim else 1
    rows, cols = idx // width, idx % width
    parts = [
        count,
        np.minimum.reduceat(rows, start),
        np.minimum.reduceat(cols, start),
        np.maximum.reduceat(rows, start),
        np.maximum.reduceat(cols, start),
        np.add.reduceat(idx, start),
    ]
    return {int(u): [int(p[i]) for p in parts] for i, u in enumerate(uniq)}


def update_objects(
    objects: dict[str, dict[str, Any]],
    old: np.ndarray | None,
    new: np.ndarray,
    source: str = MANUAL,
    classes: dict[int, int] | None = None,
    default_class: int = 0,
    dropped: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Return the provenance table of ``new`` given the table of ``old``.

    Parameters
    ----------
    objects : previous table, ``{str(label_id): {class_id, source, created, modified, status}}``.
    old, new : instance label images before and after the edit.
    source : who made the edit: ``"manual"`` or an engine/model version.
    classes : class id of some labels (overrides the stored class).
    default_class : class of new labels with no class given.
    dropped : records of objects erased earlier, updated in place: the objects erased now are
        added (the latest :data:`KEEP_DROPPED`) with their :func:`footprints` in ``old``, and
        an id that comes back with the same pixels (an undo) takes its record back instead of
        starting as a new object. Another object under a reused id (napari's new label is the
        highest id + 1) starts as new.
    """
    classes = classes or {}
    dropped = {} if dropped is None else dropped
    present = set(np.unique(new).tolist())
    present.discard(0)
    touched = changed_ids(old, new)
    stamp = now()
    back = {lid for lid in present if str(int(lid)) not in objects and str(int(lid)) in dropped}
    back_prints = footprints(new, back)
    out: dict[str, dict[str, Any]] = {}
    for lid in sorted(present):
        key = str(int(lid))
        prev = objects.get(key)
        restored = False
        if lid in back and lid not in classes:
            rec = dropped[key]
            if rec.get("footprint") == back_prints.get(int(lid)):
                prev = dict(dropped.pop(key))  # back (undo): its class and who made it
                prev.pop("footprint", None)
                restored = source == MANUAL  # an undo by hand is no correction
        if prev is None:
            rec = {
                "class_id": int(classes.get(lid, default_class)),
                "source": source,
                "created": stamp,
                "modified": stamp,
                "status": ACCEPTED,
            }
        else:
            rec = dict(prev)
            if lid in touched and not restored:
                rec["modified"] = stamp
                if source == MANUAL and prev.get("source") != MANUAL:
                    rec["status"] = CORRECTED
                elif source != MANUAL:
                    rec["source"] = source
            if lid in classes and int(classes[lid]) != int(rec.get("class_id", default_class)):
                rec["class_id"] = int(classes[lid])
                rec["modified"] = stamp
                if rec.get("source") != MANUAL:
                    rec["status"] = CORRECTED
        out[key] = rec
    gone = sorted(set(objects) - set(out), key=int)
    gone_prints = footprints(old, {int(k) for k in gone})
    for key in gone:
        dropped.pop(key, None)
        dropped[key] = {**objects[key], "footprint": gone_prints.get(int(key))}  # latest last
    for key in list(dropped)[: max(0, len(dropped) - KEEP_DROPPED)]:
        del dropped[key]
    return out


def _iou(a: dict[str, Any], b: dict[str, Any]) -> float:
    ix = max(0.0, min(a["x2"], b["x2"]) - max(a["x1"], b["x1"]))
    iy = max(0.0, min(a["y2"], b["y2"]) - max(a["y1"], b["y1"]))
    inter = ix * iy
    area_a = (a["x2"] - a["x1"]) * (a["y2"] - a["y1"])
    area_b = (b["x2"] - b["x1"]) * (b["y2"] - b["y1"])
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def update_boxes(
    old: list[dict[str, Any]], new: list[dict[str, Any]], source: str = MANUAL
) -> list[dict[str, Any]]:
    """Carry provenance from ``old`` boxes to ``new`` boxes.

    A box identical to an old one (coordinates within 0.01 px, same class) keeps its record; one
    that overlaps an old box (IoU >= 0.5) is that box ``corrected``; any other is new, made by
    ``source``. Each box is a dict with x1, y1, x2, y2 (pixels, x = column) and class_id.
    """
    stamp = now()
    used: set[int] = set()
    out = []
    for box in new:
        rec = {k: float(box[k]) for k in ("x1", "y1", "x2", "y2")}
        rec["class_id"] = int(box.get("class_id", 0))
        confidence = box.get("confidence")
        if confidence is not None and math.isfinite(float(confidence)):  # NaN: drawn by hand
            rec["confidence"] = float(confidence)
        best, best_iou = -1, 0.0
        for i, prev in enumerate(old):
            if i in used:
                continue
            iou = _iou(rec, prev)
            if iou > best_iou:
                best, best_iou = i, iou
        if best >= 0 and best_iou >= 0.5:
            prev = old[best]
            used.add(best)
            same = all(abs(rec[k] - float(prev[k])) < 0.01 for k in ("x1", "y1", "x2", "y2"))
            same = same and rec["class_id"] == int(prev.get("class_id", 0))
            for key in ("source", "created", "status", "modified", "confidence"):
                if key in prev and key not in rec:
                    rec[key] = prev[key]
            if not same:
                rec["modified"] = stamp
                if source == MANUAL and prev.get("source") != MANUAL:
                    rec["status"] = CORRECTED
        else:
            rec.update(
                {
                    "source": box.get("source", source),
                    "created": stamp,
                    "modified": stamp,
                    "status": ACCEPTED,
                }
            )
        out.append(rec)
    return out
