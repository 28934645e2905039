"""Accuracy of an engine against known grains: one click per grain, and segment-all.

Used by the refine benchmark and tests on synthetic micrographs, and usable on any image whose
true grain labels are known (a hand-corrected annotation, say).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage as ndi

from ..measure.summary import summarize


def grain_centres(truth: np.ndarray) -> list[tuple[int, int, int]]:
    """``(id, row, col)`` of the innermost pixel (farthest from the outline) of every grain."""
    out = []
    for i, sl in enumerate(ndi.find_objects(truth), start=1):
        if sl is None:
            continue
        r, c = _innermost(truth[sl] == i)
        out.append((i, r + sl[0].start, c + sl[1].start))
    return out


def _innermost(mask: np.ndarray) -> tuple[int, int]:
    """The pixel of ``mask`` farthest from its outline (the array's edge counts as outline)."""
    depth = ndi.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    r, c = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return int(r), int(c)


def _first_mask(engine: Any, r: int, c: int) -> np.ndarray:
    """The engine's first mask for one positive click at ``(r, c)``."""
    return engine.predict(np.array([[r, c]]), np.array([1]))[0][0]


def click_ious(
    engine: Any, truth: np.ndarray, centres: list[tuple[int, int, int]] | None = None
) -> np.ndarray:
    """IoU of the engine's first mask for one positive click at each grain's centre.

    ``engine`` has its image set; ``centres`` defaults to :func:`grain_centres` of ``truth``.
    """
    ious = []
    for i, r, c in grain_centres(truth) if centres is None else centres:
        ious.append(_iou(truth == i, _first_mask(engine, r, c)))
    return np.asarray(ious, float)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def corrected_click_ious(
    engine: Any, truth: np.ndarray, below: float = 0.8
) -> tuple[np.ndarray, np.ndarray]:
    """Click IoUs before and after one corrective click, as an annotator would give it.

    Where the first mask of a click at a grain's centre has an IoU below ``below``: if it takes
    in more of its neighbours than it misses of its grain, a negative click goes to the centre
    of the true grain it takes the most pixels from (when the mask covers that centre); else a
    positive click goes to the innermost pixel of the largest missing part. Returns the IoUs of
    every grain before and after (unchanged where no click was added).
    """
    centres = grain_centres(truth)
    where = {i: (r, c) for i, r, c in centres}
    before, after = [], []
    for i, r, c in centres:
        t = truth == i
        mask = _first_mask(engine, r, c)
        iou = _iou(t, mask)
        before.append(iou)
        click = _corrective_click(truth, t, mask, where) if iou < below else None
        if click is not None:
            kind = 0 if mask[click] else 1
            mask = engine.predict(np.array([[r, c], click]), np.array([1, kind]))[0][0]
            iou = _iou(t, mask)
        after.append(iou)
    return np.asarray(before, float), np.asarray(after, float)


def _corrective_click(
    truth: np.ndarray, grain: np.ndarray, mask: np.ndarray, where: dict
) -> tuple[int, int] | None:
    """Where an annotator clicks next: the worst spill's grain centre, or the missing part."""
    spill, miss = mask & ~grain, grain & ~mask
    if spill.sum() >= miss.sum():
        ids, counts = np.unique(truth[spill], return_counts=True)
        counts[ids == 0] = 0  # not a grain (a boundary pixel of a hand-made truth)
        other = where.get(int(ids[counts.argmax()])) if counts.any() else None
        return other if other is not None and mask[other] else None
    parts, n = ndi.label(miss)
    if n == 0:
        return None
    return _innermost(parts == 1 + int(np.argmax(np.bincount(parts.ravel())[1:])))


def grain_errors(labels: np.ndarray, truth: np.ndarray, pixel_size: float | None) -> dict:
    """Count and ASTM G errors of ``labels`` against ``truth``, both measured by one code.

    Returns ``count_err`` (relative), ``g_int_err`` and ``g_pla_err`` (G of the labels minus G
    of the truth, by lineal intercept and planimetric), and the two summaries.
    """
    pred, true = summarize(labels, pixel_size), summarize(truth, pixel_size)
    return {
        "count_err": pred["grain_count"] / true["grain_count"] - 1.0,
        "g_int_err": pred["astm_g_intercept"] - true["astm_g_intercept"],
        "g_pla_err": pred["astm_g_planimetric"] - true["astm_g_planimetric"],
        "pred": pred,
        "true": true,
    }
