"""Segmentation quality measures: per-class IoU and boundary F1 with a distance tolerance."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize

from .augment import IGNORE


def iou_per_class(pred: np.ndarray, truth: np.ndarray, n_classes: int) -> list[float]:
    """Intersection over union of each class (NaN for a class absent from both)."""
    valid = truth != IGNORE
    p, t = pred[valid].astype(np.int64), truth[valid].astype(np.int64)
    conf = np.bincount(t * n_classes + p, minlength=n_classes**2).reshape(n_classes, n_classes)
    inter = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return [float(v) for v in np.where(union > 0, inter / union, np.nan)]


def boundary_f1(pred: np.ndarray, truth: np.ndarray, tolerance: float = 3.0) -> dict[str, float]:
    """Precision, recall and F1 of boundary lines, matched within ``tolerance`` pixels.

    Both boolean maps are thinned to one-pixel lines first, so line width does not count.
    """
    p = skeletonize(np.asarray(pred, bool))
    t = skeletonize(np.asarray(truth, bool))
    if not p.any() and not t.any():
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    dist_to_t = ndimage.distance_transform_edt(~t) if t.any() else np.full(t.shape, np.inf)
    dist_to_p = ndimage.distance_transform_edt(~p) if p.any() else np.full(p.shape, np.inf)
    precision = float((dist_to_t[p] <= tolerance).mean()) if p.any() else 0.0
    recall = float((dist_to_p[t] <= tolerance).mean()) if t.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def pixel_f1(pred: np.ndarray, truth: np.ndarray) -> float:
    """Plain pixel F1 (Dice) of a boolean map."""
    p, t = np.asarray(pred, bool), np.asarray(truth, bool)
    denom = p.sum() + t.sum()
    return float(2 * (p & t).sum() / denom) if denom else 1.0
