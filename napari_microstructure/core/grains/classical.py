"""Every grain of a micrograph from its boundary map, without any learned model.

1. Boundary pixels are the map above an Otsu threshold (small specks dropped).
2. Markers are the h-maxima of the distance to the nearest boundary pixel: a short gap in an
   etched line is a narrow neck in that distance, so the two grains keep one marker each and
   the gap is closed by the watershed.
3. A watershed of the boundary map grows the markers into a full tessellation (over-segmented
   where a grain is elongated or crossed by a line).
4. Neighbours whose shared border is weak compared with the image's typical boundary (an
   over-segmentation seam, a faint twin line or a scratch that does not follow boundary
   contrast) are merged; fragments below the smallest grain size join their weakest neighbour.
5. On grey (etched) maps, pieces split by a faint straight line (an annealing twin) are merged
   (:mod:`.twins`), and every border is re-drawn on the crest of the boundary map, and the
   crest pixel joins the grain on its left (else above) - the convention of
   ``boundaries_from_labels``: a drawn line's centre pixels are the upper/left grain's edge.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from skimage.filters import apply_hysteresis_threshold, threshold_otsu
from skimage.morphology import h_maxima, h_minima, remove_small_objects
from skimage.segmentation import watershed

from ..image_utils import border_band, boundaries_from_labels, fill_from_neighbours
from ..progress import Progress
from .pieces import pieces_within

Box = tuple[slice, slice]
ESTIMATE_WINDOW = 768  # px: side of the window the grain size is estimated on


@dataclass
class GrainSegmentation:
    """Result of :func:`segment_from_boundaries`: grains and the finer pieces they came from."""

    labels: np.ndarray  # uint32, grains 1..N, full tessellation
    fine: np.ndarray  # uint32, the watershed pieces before merging, inside the grains
    boundary: np.ndarray  # float32 boundary map used
    boundary_level: float  # typical boundary strength (median on boundary pixels)


# 4-neighbour pixel pairs p|q: slices of p and q, and where the point between them lies
_NEIGHBOURS = (
    ((slice(None), slice(None, -1)), (slice(None), slice(1, None)), 0.0, 0.5),
    ((slice(None, -1), slice(None)), (slice(1, None), slice(None)), 0.5, 0.0),
)


def border_pixel_pairs(labels: np.ndarray) -> Iterator[tuple]:
    """For right, then lower neighbours: slices of p and q, the mask of pairs p|q with
    different labels, each such pair's key ``min * n + max`` (``n = labels.max() + 1``), and
    the offset ``(dy, dx)`` from p to the point between p and q."""
    n = int(labels.max()) + 1
    for sl_a, sl_b, dy, dx in _NEIGHBOURS:
        a, b = labels[sl_a], labels[sl_b]
        diff = a != b
        la, lb = a[diff].astype(np.int64), b[diff].astype(np.int64)
        yield sl_a, sl_b, diff, np.minimum(la, lb) * n + np.maximum(la, lb), (dy, dx)


def border_strengths(labels: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` along the shared border of each pair of touching labels.

    Returns
    -------
    pairs
        ``(E, 2)`` int64 label pairs ``(a, b)`` with ``a < b``.
    means
        ``(E,)`` mean of ``max(values[p], values[q])`` over 4-neighbour pixel pairs p|q on the
        border.
    """
    keys_list, vals_list = [], []
    n = int(labels.max()) + 1
    for sl_a, sl_b, diff, keys, _ in border_pixel_pairs(labels):
        keys_list.append(keys)
        vals_list.append(np.maximum(values[sl_a][diff], values[sl_b][diff]))
    keys = np.concatenate(keys_list)
    vals = np.concatenate(vals_list).astype(np.float64)
    if keys.size == 0:
        return np.zeros((0, 2), np.int64), np.zeros(0)
    uniq, inv = np.unique(keys, return_inverse=True)
    means = np.bincount(inv, vals) / np.bincount(inv)
    return np.stack([uniq // n, uniq % n], axis=1), means


def _colour_distance(labels: np.ndarray, colour: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Euclidean distance between the mean colours of each pair of regions."""
    n = int(labels.max()) + 1
    flat = labels.ravel()
    count = np.maximum(np.bincount(flat, minlength=n), 1)
    means = np.stack(
        [
            np.bincount(flat, colour[..., c].ravel(), minlength=n) / count
            for c in range(colour.shape[-1])
        ],
        axis=1,
    )
    return np.linalg.norm(means[pairs[:, 0]] - means[pairs[:, 1]], axis=1)


def _merge(labels: np.ndarray, pairs: np.ndarray, weak: np.ndarray) -> np.ndarray:
    n = int(labels.max()) + 1
    p = pairs[weak]
    graph = coo_matrix((np.ones(len(p)), (p[:, 0], p[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    # comp[0] is the background component; shift so grains are 1..N in first-seen order
    _, relabel = np.unique(comp, return_inverse=True)
    out = relabel.astype(np.uint32)[labels]
    out[labels == 0] = 0
    return out


def _absorb_small(labels: np.ndarray, values: np.ndarray, min_area: int) -> np.ndarray:
    """Merge regions under ``min_area`` px into the neighbour with the weakest shared border."""
    for _ in range(3):
        areas = np.bincount(labels.ravel())
        small = np.flatnonzero((areas < min_area) & (areas > 0))
        small = small[small > 0]
        if small.size == 0:
            break
        pairs, means = border_strengths(labels, values)
        order = np.argsort(means)
        target = np.arange(len(areas))
        is_small = np.zeros(len(areas), bool)
        is_small[small] = True
        for a, b in pairs[order]:
            if is_small[a] and target[a] == a and not (is_small[b] and target[b] == b):
                target[a] = target[b]
            elif is_small[b] and target[b] == b and not (is_small[a] and target[a] == a):
                target[b] = target[a]
        labels = target[labels].astype(np.uint32)
    _, inv = np.unique(labels, return_inverse=True)
    return inv.reshape(labels.shape).astype(np.uint32) + (0 if labels.min() == 0 else 1)


def split_along(
    labels: np.ndarray, finer: np.ndarray, values: np.ndarray, ratio: float
) -> np.ndarray:
    """Split grains of ``labels`` along the borders of another segmentation ``finer``.

    The grains are cut into the pieces of ``labels`` x ``finer``; two pieces of one grain stay
    apart only where their shared border's mean ``values`` is at least ``ratio`` times the
    average of the two pieces' median ``values`` (a line that stands out from the texture
    around it); all other pieces of a grain join again. Borders of ``labels`` are kept.
    """
    key = labels.astype(np.int64) * (int(finer.max()) + 1) + finer
    _, inv = np.unique(key, return_inverse=True)
    pieces = (inv.reshape(labels.shape) + 1).astype(np.uint32)
    n = int(pieces.max()) + 1
    pairs, means = border_strengths(pieces, values)
    if len(pairs) == 0:
        return labels
    parent = np.zeros(n, np.int64)
    parent[pieces.ravel()] = labels.ravel()
    med = np.nan_to_num(np.asarray(ndi.median(values, pieces, np.arange(n)), float), nan=1.0)
    background = 0.5 * (med[pairs[:, 0]] + med[pairs[:, 1]])
    same = parent[pairs[:, 0]] == parent[pairs[:, 1]]
    return _merge(pieces, pairs, same & (means < ratio * background))


def mean_intercept_px(labels: np.ndarray) -> float:
    """Rough mean lineal intercept (px) of a tessellation: pi * area / (2 * border length),
    the border length counted as pixels whose right or lower neighbour is another grain."""
    border = boundaries_from_labels(labels)
    return float(np.pi * labels.size / (2.0 * max(int(border.sum()), 1)))


def place_on_crests(labels: np.ndarray, relief: np.ndarray) -> np.ndarray:
    """Re-draw the borders of ``labels`` along the crests of ``relief`` (a boundary map).

    The pixels on both sides of every border are flooded again from the grains' interiors (a
    watershed with a one-pixel crest line); crest pixels then join the grain on their left,
    else above. Grains too thin to keep an interior keep their pixels as seeds.
    """
    b = border_band(labels)
    # flood only the band, from the ring of grain pixels around it (few seeds: fast)
    ring = ndi.binary_dilation(b, structure=np.ones((3, 3), bool)) & ~b
    markers = np.where(ring, labels, 0).astype(np.int32)
    n = int(labels.max()) + 1
    kept = np.zeros(n, bool)
    kept[markers.ravel()] = True
    lost = b & ~kept[labels]
    markers[lost] = labels[lost]
    flooded = watershed(relief, markers, mask=b | ring, watershed_line=True)
    flooded = np.where(b | ring, flooded, labels)
    # crest pixels: the left neighbour's grain, else the upper one's, ...
    return fill_from_neighbours(flooded, 4).astype(np.uint32)


def segment_from_boundaries(
    bmap: np.ndarray,
    *,
    colour: np.ndarray | None = None,
    h: float | None = None,
    merge_ratio: float | None = None,
    colour_merge: float = 0.0,
    min_area: int = 30,
    speck_area: int = 12,
    edge_weight: float = 5.0,
    threshold_scale: float = 0.6,
    seeds: str = "distance",
    smooth: float = 1.0,
    minima_depth: float = 0.05,
    crests: bool | None = None,
    twins: bool | None = None,
    faint: float | None = None,
    split_ratio: float = 2.0,
    cut_pieces: bool = True,
) -> Generator[Progress, None, GrainSegmentation]:
    """Segment all grains from a boundary map (see module docstring).

    Parameters
    ----------
    bmap
        Boundary map in [0, 1] (:func:`napari_microstructure.core.refine.boundary.boundary_map`).
    colour
        Optional ``(H, W, C)`` smoothed colour (tint channels) of a tint-etched image: neighbours
        whose mean colours differ by less than ``colour_merge`` are merged as well (off by
        default: on the synthetic tint images it merged true grains as often as it helped).
    h
        Marker dynamic in px: two maxima of the boundary distance separated by a neck shallower
        than ``h`` count as one grain. Closes boundary gaps up to about ``2 * (R - h)`` wide.
        Default with ``colour``: 1.5; for grey maps it follows the grain size, estimated from a
        first pass with ``h=2`` (0.75 for grains of 15 px mean intercept, 3 above 30 px).
    merge_ratio
        Neighbours merge when their border's mean strength is below this fraction of the
        typical boundary strength (default 0.45, or 0.25 with ``colour``).
    min_area
        Regions smaller than this (px) join a neighbour.
    colour_merge
        Colour distance (in ``colour`` units) below which neighbours merge.
    speck_area
        Boundary-pixel blobs smaller than this (px) are treated as noise.
    edge_weight
        Weight of the boundary map against the boundary distance in the flooded relief.
    threshold_scale
        Boundary pixels are the map above this fraction of its Otsu threshold.
    seeds, smooth, minima_depth
        ``"distance"``: h-maxima of the boundary distance smoothed by ``smooth`` px;
        ``"minima"``: h-minima of depth ``minima_depth`` of the smoothed map.
    crests
        Re-draw the borders on the map's crests (:func:`place_on_crests`); default on for grey
        maps (dark etched lines), off with ``colour`` (a colour step has no crest pixel).
    twins
        Merge pieces split by faint straight lines (annealing twins, :mod:`.twins`); default on
        for grey maps.
    faint, split_ratio
        Second pass on fainter lines (map above ``faint`` times the line threshold, connected
        to a line above it): a grain is split along a border of that pass whose mean strength is
        at least ``split_ratio`` times the median map inside the pieces on its sides (see
        :func:`split_along`). Default ``faint`` 0.5 with ``colour`` (tint neighbours of nearly the
        same hue differ by a brightness step that the chromaticity map shows only dimly), off
        for grey maps. Tuned on synthetic tint micrographs, seeds 10-39.
    cut_pieces
        Cut the finer pieces along the final grains (:func:`.pieces.pieces_within`); off for a
        caller that moves the borders afterwards and cuts them then.
    """
    adapt = h is None and colour is None and seeds == "distance"
    if h is None:
        h = 1.5 if colour is not None else 2.0
    if merge_ratio is None:
        merge_ratio = 0.25 if colour is not None else 0.45
    total = 6 if adapt else 5
    yield Progress(0, total, "finding boundary lines")
    sample = bmap[:: max(1, bmap.shape[0] // 1024), :: max(1, bmap.shape[1] // 1024)]
    thr = threshold_scale * float(threshold_otsu(sample)) if np.ptp(sample) > 1e-6 else 1.0
    lines = remove_small_objects(bmap > thr, max_size=speck_area)
    level = float(np.median(bmap[lines])) if lines.any() else 1.0
    dist = ndi.distance_transform_edt(~lines).astype(np.float32)

    def grow(
        h: float, smooth: float, win: Box = (slice(None), slice(None)), dist=dist, level=level
    ) -> Generator[Progress, None, tuple]:
        # yields between the long library calls, so a cancel waits for one of them only
        bm, ds = bmap[win], dist[win]
        if seeds == "minima":
            markers, _ = ndi.label(h_minima(ndi.gaussian_filter(bm, smooth), minima_depth))
        else:
            markers, _ = ndi.label(h_maxima(ndi.gaussian_filter(ds, smooth), h))
        if markers.max() == 0:
            markers[bm.shape[0] // 2, bm.shape[1] // 2] = 1
        yield Progress(total - 2, total, "growing grains from their seeds")
        # flooding the distance (not the boundary map alone) makes a gap in a line a ridge
        fine = watershed(edge_weight * bm - ds, markers).astype(np.uint32)
        yield Progress(total - 2, total, "merging across weak borders")
        pairs, means = border_strengths(fine, bm)
        weak = means < merge_ratio * level
        if colour is not None and colour_merge > 0 and len(pairs):
            weak |= _colour_distance(fine, colour[win], pairs) < colour_merge
        labels = _merge(fine, pairs, weak) if len(pairs) else fine.copy()
        return fine, _absorb_small(labels, bm, min_area)

    if adapt:
        # a seed's dynamic must suit the grain size: small grains need a shallow one. The size
        # comes from a first pass (with h=2) on a central window of at most ESTIMATE_WINDOW px;
        # the rule was tuned on synthetic etched micrographs of 15-36 px mean intercept (seeds
        # 10-39, not the benchmark's)
        yield Progress(1, total, "estimating the grain size")
        win = tuple(
            slice(
                max((n - ESTIMATE_WINDOW) // 2, 0),
                max((n - ESTIMATE_WINDOW) // 2, 0) + ESTIMATE_WINDOW,
            )
            for n in bmap.shape
        )
        _, first = yield from grow(2.0, smooth, win)
        h, smooth = float(np.clip((mean_intercept_px(first) - 12.0) / 6.0, 0.75, 3.0)), 0.5
    yield Progress(total - 2, total, "placing one seed per grain and growing grains")
    fine, labels = yield from grow(h, smooth)
    if faint is None:
        faint = 0.5 if colour is not None else 0.0
    if faint > 0:
        # a faint border (a small colour or brightness step) shows as a dim but continuous line:
        # keep line pixels down to faint * thr when they connect to a strong line, segment again,
        # and split a grain along a new border only where it stands out from both sides
        weak_lines = remove_small_objects(
            apply_hysteresis_threshold(bmap, faint * thr, thr), max_size=speck_area
        )
        weak_level = float(np.median(bmap[weak_lines])) if weak_lines.any() else 1.0
        weak_dist = ndi.distance_transform_edt(~weak_lines).astype(np.float32)
        _, finer = yield from grow(h, smooth, dist=weak_dist, level=weak_level)
        labels = _absorb_small(split_along(labels, finer, bmap, split_ratio), bmap, min_area)
    yield Progress(total - 1, total, "merging across twin lines, placing borders")
    if twins if twins is not None else colour is None:
        from .twins import merge_twins

        labels = merge_twins(labels, bmap)
        yield Progress(total - 1, total, "placing borders on the lines' crests")
    if crests if crests is not None else colour is None:
        labels = place_on_crests(labels, bmap)
    yield Progress(total, total, f"{int(labels.max())} grains")
    if cut_pieces:
        fine = pieces_within(fine, labels)
        yield Progress(total, total, f"{int(labels.max())} grains")
    return GrainSegmentation(labels=labels, fine=fine, boundary=bmap, boundary_level=level)
