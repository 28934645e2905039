"""Grain-size error measures of the segmentation benchmark on the tint-etched crops.

The Heyn mean lineal intercept of a boundary-line map, and the relative error of predicted
grains against hand-drawn boundaries; both sides always go through the same function.
"""

from __future__ import annotations

import numpy as np


def _line_count(boundary: np.ndarray):
    from scipy import ndimage

    from napari_microstructure.core.measure.astm import lineal_intercept

    regions, _ = ndimage.label(~np.asarray(boundary, bool))  # 0 on the lines
    return lineal_intercept(regions, None, n_lines=16, directions=("horizontal",), fill_gaps=0)


def heyn(boundary: np.ndarray) -> float:
    """Heyn mean lineal intercept (px) of a boundary-line map on 16 horizontal test lines.

    Every crossing of a test line with a drawn line counts, also with a line that ends inside
    the crop (hand-drawn truth has such open ends; a tessellation into grains would drop them).
    Truth masks and the boundaries of predicted grains go through this same function. The test
    length is the lines' length inside grains (the drawn lines' own pixels left out).
    """
    return float(_line_count(boundary).mean_intercept)


def heyn_full_length(boundary: np.ndarray) -> float:
    """As :func:`heyn`, with the whole length of the test lines (E112: boundaries have no width).

    :func:`heyn` leaves the line pixels out of the length, so its value depends on how wide the
    lines are drawn: the hand-drawn truth lines are about 3.4 px wide, the predicted grains'
    boundaries (``find_boundaries``) 2 px, and the truth's value is 15-19 % below this one.
    """
    r = _line_count(boundary)
    width = np.asarray(boundary).shape[1]
    return r.n_lines * width / r.n_intercepts if r.n_intercepts > 0 else float("nan")


def _intercept(labels: np.ndarray) -> float:
    """Mean lineal intercept of a grain tessellation (the measure of earlier runs)."""
    from napari_microstructure.core.measure.astm import lineal_intercept

    return float(
        lineal_intercept(labels, None, n_lines=16, directions=("horizontal",)).mean_intercept
    )


def _truth_grains(boundary: np.ndarray) -> np.ndarray:
    from scipy import ndimage
    from skimage.segmentation import watershed

    markers, _ = ndimage.label(~boundary.astype(bool))
    return watershed(boundary.astype(np.uint8), markers).astype(np.uint32)


def rel_error(pred: float, truth: float) -> float:
    # no intercept at all (one grain found) counts as a 100 % error, never as NaN
    return min(1.0, abs(pred - truth) / truth) if np.isfinite(pred) else 1.0


def intercept_errors(
    probs, pairs, threshold, min_px, split=0.0, old=False, measure=heyn
) -> list[float]:
    """Relative error of the predicted grains' mean intercept against the hand-drawn truth.

    ``old`` = the earlier measure: both sides as grain tessellations (open truth lines lost);
    ``measure``: :func:`heyn` or :func:`heyn_full_length`.
    """
    from skimage.segmentation import find_boundaries

    from napari_microstructure.core.segment import grains_from_boundary_probability

    errs = []
    for prob, pair in zip(probs, pairs, strict=True):
        grains = grains_from_boundary_probability(prob, threshold, min_px, split=split)
        if old:
            errs.append(rel_error(_intercept(grains), _intercept(_truth_grains(pair.mask))))
        else:
            errs.append(rel_error(measure(find_boundaries(grains)), measure(pair.mask == 1)))
    return errs
