"""Grain tessellations: Poisson-Voronoi and Laguerre (power) diagrams with wavy boundaries."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import cKDTree

from ..image_utils import boundaries_from_labels
from .noise import smooth_field


def seeds_for_intercept(mean_intercept_px: float) -> float:
    """Seed density (per px²) of a Poisson-Voronoi tessellation with this mean lineal intercept.

    For intensity λ the boundary length per area is 2√λ, so the mean intercept is π / (4√λ).
    """
    return (np.pi / (4.0 * float(mean_intercept_px))) ** 2


def poisson_seeds(
    rng: np.random.Generator, shape: tuple[int, int], density: float, pad: float
) -> np.ndarray:
    """Uniform random seed points (row, col) over the image grown by ``pad`` on each side."""
    h, w = shape
    area = (h + 2 * pad) * (w + 2 * pad)
    n = max(int(rng.poisson(density * area)), 2)
    pts = rng.random((n, 2)) * [h + 2 * pad, w + 2 * pad] - pad
    return pts.astype(np.float64)


def tessellate(
    rng: np.random.Generator,
    shape: tuple[int, int],
    mean_intercept_px: float,
    weights: np.ndarray | None = None,
    seeds: np.ndarray | None = None,
    waviness: float = 0.15,
    min_area: int | None = None,
) -> np.ndarray:
    """Grain label image (uint32, ids 1..N, every pixel labelled, each grain connected).

    Parameters
    ----------
    mean_intercept_px : approximate mean lineal intercept of the grains, in pixels.
    weights : per-seed power weights (px²) for a Laguerre diagram; None = Voronoi.
    seeds : seed points (row, col); None = Poisson seeds for ``mean_intercept_px``.
    waviness : amplitude of the smooth warp of the query grid, as a fraction of the intercept;
        real boundaries are rarely straight.
    min_area : fragments smaller than this (made by the warp) join their neighbours; None =
        a small fraction of a typical grain.
    """
    h, w = shape
    pad = 2.0 * mean_intercept_px + 8
    if seeds is None:
        seeds = poisson_seeds(rng, shape, seeds_for_intercept(mean_intercept_px), pad)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if waviness > 0:
        yy, xx = fold_free_warp(
            rng, yy, xx, waviness * mean_intercept_px, max(mean_intercept_px * 0.8, 4.0)
        )
    if weights is None:
        labels = _voronoi_warped(seeds, shape, int(np.ceil(pad)), yy, xx)
    else:
        labels = _power_warped(seeds, weights, shape, int(np.ceil(pad)), yy, xx)
    if min_area is None:
        min_area = max(12, int(0.08 * mean_intercept_px**2))
    return clean_labels(labels, min_area=min_area)


def fold_free_warp(
    rng: np.random.Generator,
    yy: np.ndarray,
    xx: np.ndarray,
    amplitude: float,
    scale: float,
    max_slope: float = 0.25,
    min_jacobian: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """Displace the sampling grid along smooth random flows without folding it.

    A single large random displacement folds the grid where its slope exceeds 1, which draws
    comb-like slivers no real boundary has. Here the grid follows a nearly incompressible flow
    (the curl of a smooth random stream function) in small midpoint steps, and stops early
    where the local area change would fall below ``min_jacobian`` (checked every few steps).
    A second, finer flow makes boundaries ragged at small scale.
    """
    shape = yy.shape
    for amp, sc in ((amplitude, scale), (0.3 * amplitude, max(scale / 3.0, 3.0))):
        psi = smooth_field(rng, shape, sc)
        gy, gx = np.gradient(psi)
        norm = float(np.sqrt((gx**2 + gy**2).mean())) or 1.0
        vy, vx = (gx / norm).astype(np.float32), (-gy / norm).astype(np.float32)
        slope = max(float(np.abs(np.diff(f, axis=ax)).max()) for f in (vy, vx) for ax in (0, 1))
        n = max(1, int(np.ceil(amp * slope / max_slope)))
        step = amp / n
        good = (yy, xx)
        for k in range(n):
            my = yy + 0.5 * step * _sample(vy, xx, yy)
            mx = xx + 0.5 * step * _sample(vx, xx, yy)
            yy = yy + step * _sample(vy, mx, my)
            xx = xx + step * _sample(vx, mx, my)
            if k % 3 == 2 or k == n - 1:
                if _min_jacobian(yy, xx) < min_jacobian:
                    yy, xx = good
                    break
                good = (yy, xx)
    return yy, xx


def _min_jacobian(yy: np.ndarray, xx: np.ndarray) -> float:
    """Smallest local area ratio of the map (forward differences)."""
    a = np.diff(yy, axis=0)[:, :-1]
    b = np.diff(yy, axis=1)[:-1, :]
    c = np.diff(xx, axis=0)[:, :-1]
    d = np.diff(xx, axis=1)[:-1, :]
    return float((a * d - b * c).min())


def _sample(field: np.ndarray, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    return cv2.remap(field, xx, yy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _nearest_seed(
    seeds: np.ndarray, canvas: tuple[int, int], pad: int
) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest seed and the distance to it for every pixel of a padded canvas."""
    ch, cw = canvas
    iy = np.clip(np.round(seeds[:, 0] + pad).astype(int), 0, ch - 1)
    ix = np.clip(np.round(seeds[:, 1] + pad).astype(int), 0, cw - 1)
    owner = np.full((ch, cw), -1, np.int64)
    owner[iy, ix] = np.arange(len(seeds))
    src = (owner < 0).astype(np.uint8)
    dist, lab = cv2.distanceTransformWithLabels(
        src, cv2.DIST_L2, cv2.DIST_MASK_5, labelType=cv2.DIST_LABEL_PIXEL
    )
    zero_owner = owner.ravel()[np.flatnonzero(src.ravel() == 0)]  # raster order of zero pixels
    return zero_owner[lab - 1], dist


def _power_warped(
    seeds: np.ndarray,
    weights: np.ndarray,
    shape: tuple[int, int],
    pad: int,
    yy: np.ndarray,
    xx: np.ndarray,
) -> np.ndarray:
    """Laguerre cells of seeds in two groups (weight 0 and weight > 0), sampled at (yy, xx).

    Each weighted seed competes through the nearest weighted seed only (power distance
    d² - w against the nearest unweighted seed's d²): exact when the weighted seeds are far
    apart compared with their radii, as in a duplex structure, and far faster than a k-d tree.
    """
    h, w = shape
    canvas = (h + 2 * pad, w + 2 * pad)
    heavy = weights > 0
    idx_light, d_light = _nearest_seed(seeds[~heavy], canvas, pad)
    lab = np.flatnonzero(~heavy)[idx_light]
    if heavy.any():
        idx_heavy, d_heavy = _nearest_seed(seeds[heavy], canvas, pad)
        power = d_heavy.astype(np.float64) ** 2 - weights[heavy][idx_heavy]
        take = power < d_light.astype(np.float64) ** 2
        lab = np.where(take, np.flatnonzero(heavy)[idx_heavy], lab)
    mx = np.clip(xx + pad, 0, canvas[1] - 1)
    my = np.clip(yy + pad, 0, canvas[0] - 1)
    return cv2.remap((lab + 1).astype(np.float32), mx, my, cv2.INTER_NEAREST).astype(np.int32)


def _voronoi_warped(
    seeds: np.ndarray, shape: tuple[int, int], pad: int, yy: np.ndarray, xx: np.ndarray
) -> np.ndarray:
    """Nearest-seed labels sampled at the warped positions (yy, xx).

    A labelled distance transform on a padded canvas (seeds rounded to pixels) is an order of
    magnitude faster than a k-d tree query per pixel; the warp then resamples it.
    """
    h, w = shape
    ch, cw = h + 2 * pad, w + 2 * pad
    iy = np.clip(np.round(seeds[:, 0] + pad).astype(int), 0, ch - 1)
    ix = np.clip(np.round(seeds[:, 1] + pad).astype(int), 0, cw - 1)
    src = np.ones((ch, cw), np.uint8)
    src[iy, ix] = 0
    _, lab = cv2.distanceTransformWithLabels(
        src, cv2.DIST_L2, cv2.DIST_MASK_5, labelType=cv2.DIST_LABEL_PIXEL
    )
    mx = np.clip(xx + pad, 0, cw - 1)
    my = np.clip(yy + pad, 0, ch - 1)
    out = cv2.remap(lab.astype(np.float32), mx, my, cv2.INTER_NEAREST)
    return out.astype(np.int32)


def clean_labels(labels: np.ndarray, min_area: int = 12) -> np.ndarray:
    """Split disconnected grains, give fragments below ``min_area`` to their nearest neighbour,
    and number the grains 1..N (uint32)."""
    from skimage.measure import label as cc_label

    comp = cc_label(labels, background=0, connectivity=1)
    sizes = np.bincount(comp.ravel())
    if min_area > 0:
        small = sizes < min_area
        small[0] = False
        if small.any():
            holes = small[comp]
            if (~holes).any():
                comp = comp.ravel()[nearest_outside(holes)].reshape(comp.shape)
            sizes = np.bincount(comp.ravel())
    lut = np.cumsum(sizes > 0).astype(np.uint32)
    # a fragment shared out by nearest pixel can cut a thin grain in two (small grains)
    return connect_pieces(lut[comp], min_area)


def connect_pieces(labels: np.ndarray, min_area: int = 0) -> np.ndarray:
    """Make every id of a label image (ids 1..N) one 4-connected region.

    A grain's largest piece keeps its id, so grains that are already connected keep theirs;
    another piece joins the neighbouring grain it shares the longest border with when under
    ``min_area`` px, or becomes a new grain (ids N+1, N+2, ...).
    """
    from skimage.measure import label as cc_label

    n = int(labels.max())
    parts = cc_label(labels, background=0, connectivity=1)
    n_parts = int(parts.max())
    if n_parts <= n:
        return labels
    sizes = np.bincount(parts.ravel(), minlength=n_parts + 1)
    owner = np.zeros(n_parts + 1, np.int64)
    owner[parts.ravel()] = labels.ravel()
    ids = np.arange(1, n_parts + 1)
    order = np.lexsort((-sizes[1:], owner[1:]))  # by grain, largest piece first
    first = np.ones(n_parts, bool)
    first[1:] = owner[1:][order][1:] != owner[1:][order][:-1]
    main = np.zeros(n_parts + 1, bool)
    main[ids[order][first]] = True
    top = n_parts + 1
    codes = [
        a[a != b].astype(np.int64) * top + b[a != b]
        for x, y in ((parts[:, :-1], parts[:, 1:]), (parts[:-1, :], parts[1:, :]))
        for a, b in ((x, y), (y, x))
    ]
    pairs, counts = np.unique(np.concatenate(codes), return_counts=True)
    new_id, next_id = owner.copy(), n + 1
    for piece in ids[~main[1:]]:
        if sizes[piece] < min_area:
            sel = (pairs // top == piece) & main[pairs % top]
            if sel.any():
                new_id[piece] = owner[pairs[sel][np.argmax(counts[sel])] % top]
                continue
        new_id[piece] = next_id
        next_id += 1
    return new_id.astype(np.uint32)[parts]


def nearest_outside(mask: np.ndarray) -> np.ndarray:
    """Flat index of the nearest pixel outside ``mask`` for every pixel (itself when outside)."""
    src = (~mask).astype(np.uint8)  # zero pixels = the ones to copy from
    src = 1 - src
    _, lab = cv2.distanceTransformWithLabels(
        src, cv2.DIST_L2, cv2.DIST_MASK_5, labelType=cv2.DIST_LABEL_PIXEL
    )
    flat_zero = np.flatnonzero(src.ravel() == 0)  # labels number zero pixels in raster order
    return flat_zero[lab.ravel() - 1]


def distance_to_boundary(labels: np.ndarray) -> np.ndarray:
    """Euclidean distance (px, float32) from every pixel to the thin boundary line."""
    thin = boundaries_from_labels(labels)
    if not thin.any():
        return np.full(labels.shape, np.float32(1e6))
    return cv2.distanceTransform((~thin).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def adjacency(labels: np.ndarray) -> np.ndarray:
    """Unique pairs (a < b) of grain ids that touch (4-connectivity), as an ``(M, 2)`` array."""
    top = int(labels.max()) + 1
    codes = []
    for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1, :], labels[1:, :])):
        m = a != b
        lo = np.minimum(a[m], b[m]).astype(np.int64)
        hi = np.maximum(a[m], b[m]).astype(np.int64)
        codes.append(lo * top + hi)
    allc = np.unique(np.concatenate(codes)) if codes else np.zeros(0, np.int64)
    return np.column_stack([allc // top, allc % top])


def bimodal_seeds(
    rng: np.random.Generator,
    shape: tuple[int, int],
    mean_intercept_px: float,
    large_fraction: float,
    ratio: float,
    pad: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeds and power weights for a duplex structure: large grains of radius ``ratio`` times
    the fine grains', covering about ``large_fraction`` of the area, in a fine-grained matrix.

    Fine seeds inside a large grain's disc are removed so the large grain is not riddled with
    slivers; the large seeds carry weight r² so their cells grow to the disc.
    """
    h, w = shape
    fine = poisson_seeds(rng, shape, seeds_for_intercept(mean_intercept_px), pad)
    r_fine = 2.0 * mean_intercept_px / np.pi * 1.1  # radius of a typical fine cell
    r_big = ratio * r_fine
    area = (h + 2 * pad) * (w + 2 * pad)
    n_big = max(int(rng.poisson(large_fraction * area / (np.pi * r_big**2))), 1)
    big = rng.random((n_big, 2)) * [h + 2 * pad, w + 2 * pad] - pad
    radii = r_big * rng.uniform(0.8, 1.15, n_big)
    if len(fine):
        d, j = cKDTree(big).query(fine)
        fine = fine[d > radii[j] + 0.3 * r_fine]
    seeds = np.vstack([big, fine])
    weights = np.concatenate([radii**2, np.zeros(len(fine))])
    return seeds, weights
