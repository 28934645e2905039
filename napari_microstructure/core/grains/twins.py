"""Annealing twins: straight, faint lines inside a grain that are not grain boundaries.

A twin band is drawn by two straight, parallel lines that the boundary map sees, so the first
segmentation splits its grain into pieces. A border is taken for a twin line, and its two pieces
merged, when it is both

* **faint for its neighbourhood**: its mean boundary strength is below ``rel`` times the median
  strength of the borders of the more strongly outlined of its two pieces (a grain's own
  boundaries are etched alike, a twin line much more lightly), and
* **straight**: its pixels deviate from their best-fitting line by less than ``perp`` px (std),
  over at least ``min_length`` px; real boundaries wander.

Tuned on synthetic etched micrographs (seeds 10-39, not the benchmark's seeds 0-4).
"""

from __future__ import annotations

import numpy as np

from .classical import _merge, border_pixel_pairs, border_strengths


def border_shapes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shape of the shared border of every pair of touching labels.

    Returns
    -------
    pairs
        ``(E, 2)`` label pairs ``(a, b)``, ``a < b`` (same order as :func:`border_strengths`).
    straightness
        ``(E,)`` std (px) of the border's points across their principal direction.
    length
        ``(E,)`` extent (px) of the border along its principal direction.
    """
    n = int(labels.max()) + 1
    keys, ys, xs = [], [], []
    h, w = labels.shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    for sa, _, diff, k, (dy, dx) in border_pixel_pairs(labels):
        keys.append(k)
        ys.append(rows[sa][diff] + dy)  # the point between the two pixels
        xs.append(cols[sa][diff] + dx)
    k = np.concatenate(keys)
    if k.size == 0:
        return np.zeros((0, 2), np.int64), np.zeros(0), np.zeros(0)
    y, x = np.concatenate(ys), np.concatenate(xs)
    uniq, inv = np.unique(k, return_inverse=True)
    cnt = np.bincount(inv).astype(np.float64)
    my, mx = np.bincount(inv, y) / cnt, np.bincount(inv, x) / cnt
    syy = np.bincount(inv, y * y) / cnt - my**2
    sxx = np.bincount(inv, x * x) / cnt - mx**2
    sxy = np.bincount(inv, x * y) / cnt - mx * my
    half_trace, det = (syy + sxx) / 2, syy * sxx - sxy**2
    disc = np.sqrt(np.maximum(half_trace**2 - det, 0.0))
    lo, hi = np.maximum(half_trace - disc, 0.0), half_trace + disc
    # a uniform segment of length L has variance L^2 / 12 along itself
    return np.stack([uniq // n, uniq % n], axis=1), np.sqrt(lo), np.sqrt(12.0 * hi)


def _median_per_label(pairs: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    lab = np.concatenate([pairs[:, 0], pairs[:, 1]])
    val = np.concatenate([values, values])
    order = np.lexsort((val, lab))
    lab, val = lab[order], val[order]
    starts = np.searchsorted(lab, np.arange(n))
    ends = np.searchsorted(lab, np.arange(n), side="right")
    out = np.zeros(n)
    for i in np.flatnonzero(ends > starts):
        out[i] = np.median(val[starts[i] : ends[i]])
    return out


def merge_twins(
    labels: np.ndarray,
    bmap: np.ndarray,
    rel: float = 0.5,
    perp: float = 0.45,
    min_length: float = 10.0,
) -> np.ndarray:
    """Merge the pieces of ``labels`` separated by twin-like borders (see module docstring)."""
    pairs, means = border_strengths(labels, bmap)
    if not len(pairs):
        return labels
    _, straightness, length = border_shapes(labels)
    med = _median_per_label(pairs, means, int(labels.max()) + 1)
    ref = np.maximum(med[pairs[:, 0]], med[pairs[:, 1]])
    twin = (means < rel * ref) & (straightness < perp) & (length >= min_length)
    return _merge(labels, pairs, twin) if twin.any() else labels
