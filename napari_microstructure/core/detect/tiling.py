"""Tile grids over large images and merging of boxes found in overlapping tiles.

Each object must come back once and whole. A box that touches an *inner* tile edge (one that
is not the image border) may be a cut object; the neighbouring tile, overlapping by more than
the object's size, holds it whole. So boxes touching inner edges are dropped when a box from
another tile covers them, and fragments of objects larger than the overlap (long cracks,
scratches) are joined into one box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHUNK = 512  # rows of a pairwise box matrix computed at once (memory stays ~ CHUNK x N)


@dataclass(frozen=True)
class Tile:
    """A source window ``[y0:y1, x0:x1]`` and which of its edges lie inside the image."""

    y0: int
    x0: int
    y1: int
    x1: int
    inner: tuple[bool, bool, bool, bool]  # left, top, right, bottom


def _starts(length: int, size: int, step: int) -> list[int]:
    if length <= size:
        return [0]
    starts = list(range(0, length - size, max(step, 1)))
    starts.append(length - size)
    return starts


def tile_grid(shape: tuple[int, int], size: int, overlap: int) -> list[Tile]:
    """Tiles of ``size`` px covering ``shape`` with at least ``overlap`` px shared, row by row."""
    h, w = int(shape[0]), int(shape[1])
    size = max(int(size), 1)
    step = max(size - int(overlap), 1)
    tiles = []
    for y0 in _starts(h, size, step):
        for x0 in _starts(w, size, step):
            y1, x1 = min(y0 + size, h), min(x0 + size, w)
            tiles.append(Tile(y0, x0, y1, x1, (x0 > 0, y0 > 0, x1 < w, y1 < h)))
    return tiles


def touches_inner_edge(boxes: np.ndarray, tile: Tile, margin: float) -> np.ndarray:
    """Bool mask of boxes (xyxy, image coords) within ``margin`` of an inner edge of ``tile``."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=bool)
    left, top, right, bottom = tile.inner
    out = np.zeros(len(boxes), dtype=bool)
    if left:
        out |= boxes[:, 0] <= tile.x0 + margin
    if top:
        out |= boxes[:, 1] <= tile.y0 + margin
    if right:
        out |= boxes[:, 2] >= tile.x1 - margin
    if bottom:
        out |= boxes[:, 3] >= tile.y1 - margin
    return out


def seen_whole_elsewhere(
    boxes: np.ndarray, owner: np.ndarray, tiles: list[Tile], margin: float
) -> np.ndarray:
    """Bool mask of boxes lying inside another tile than their ``owner`` (tile index), clear of
    its inner edges: that tile saw the whole area with its context, so its boxes stand there."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out = np.zeros(len(boxes), dtype=bool)
    if len(boxes) == 0:
        return out
    owner = np.asarray(owner)
    for k, t in enumerate(tiles):
        inside = (
            (boxes[:, 0] >= t.x0)
            & (boxes[:, 1] >= t.y0)
            & (boxes[:, 2] <= t.x1)
            & (boxes[:, 3] <= t.y1)
            & (owner != k)
        )
        out |= inside & ~touches_inner_edge(boxes, t, margin)
    return out


def _area(b: np.ndarray) -> np.ndarray:
    return np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)


def _inter(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection areas, (len(a), len(b))."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    return np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)


def nms(
    boxes: np.ndarray, scores: np.ndarray, cls: np.ndarray, iou: float, agnostic: bool = False
) -> np.ndarray:
    """Indices kept by (class-wise unless ``agnostic``) non-maximum suppression, best first."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    import torch
    from torchvision.ops import batched_nms

    groups = np.zeros(len(boxes), dtype=np.int64) if agnostic else cls.astype(np.int64)
    keep = batched_nms(
        torch.from_numpy(boxes.astype(np.float32)),
        torch.from_numpy(scores.astype(np.float32)),
        torch.from_numpy(groups),
        float(iou),
    )
    return keep.numpy()


def _join_fragments(
    boxes: np.ndarray, scores: np.ndarray, cls: np.ndarray, agnostic: bool, gap: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union boxes that overlap (or touch within ``gap``): pieces of one object cut by tiles."""
    n = len(boxes)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    grown = boxes + np.array([-gap, -gap, gap, gap], dtype=boxes.dtype)
    area = np.maximum(_area(boxes), 1.0)
    for start in range(0, n, CHUNK):  # chunks keep the pairwise matrix small
        sl = slice(start, min(start + CHUNK, n))
        linked = _inter(grown[sl], grown) > 0.2 * np.minimum(area[sl, None], area[None, :])
        if not agnostic:
            linked &= cls[sl, None] == cls[None, :]
        for i, j in zip(*np.nonzero(linked), strict=True):
            ri, rj = find(int(i) + start), find(int(j))
            if ri != rj:
                parent[rj] = ri
    roots = np.array([find(i) for i in range(n)])
    out_b, out_s, out_c = [], [], []
    for r in np.unique(roots):
        m = roots == r
        best = int(np.argmax(np.where(m, scores, -1)))
        b = boxes[m]
        out_b.append([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])
        out_s.append(scores[best])
        out_c.append(cls[best])
    return (
        np.asarray(out_b, dtype=np.float32).reshape(-1, 4),
        np.asarray(out_s, np.float32),
        np.asarray(out_c, dtype=cls.dtype),
    )


def _max_cover(
    a: np.ndarray, ca: np.ndarray, b: np.ndarray, cb: np.ndarray, agnostic: bool
) -> np.ndarray:
    """For each box of ``a``, the largest fraction of it covered by one box of ``b``."""
    out = np.zeros(len(a))
    if len(a) == 0 or len(b) == 0:
        return out
    area = np.maximum(_area(a), 1e-6)
    for start in range(0, len(a), CHUNK):
        sl = slice(start, min(start + CHUNK, len(a)))
        inter = _inter(a[sl], b)
        if not agnostic:
            inter = np.where(ca[sl, None] == cb[None, :], inter, 0.0)
        out[sl] = inter.max(axis=1) / area[sl]
    return out


def merge_tile_boxes(
    boxes: np.ndarray,
    scores: np.ndarray,
    cls: np.ndarray,
    cut: np.ndarray,
    iou: float,
    agnostic: bool = False,
    gap: float = 2.0,
    cover: float = 0.6,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge boxes from all tiles (image coords) into one set, each object once.

    ``cut`` flags boxes touching an inner edge of their tile. Whole boxes go through NMS. A cut
    box is dropped when a whole box of any class covers at least ``cover`` of it (the piece of
    an object at a seam is not another object when its tile calls it something else); the rest
    are fragments of objects larger than the overlap and are joined (union) with their
    neighbours.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float32)
    cls = np.asarray(cls)
    cut = np.asarray(cut, dtype=bool)
    whole = np.nonzero(~cut)[0]
    whole = whole[nms(boxes[whole], scores[whole], cls[whole], iou, agnostic)]
    frag = np.nonzero(cut)[0]
    frag = frag[_max_cover(boxes[frag], cls[frag], boxes[whole], cls[whole], True) < cover]
    kb, ks, kc = boxes[whole], scores[whole], cls[whole]
    if len(frag):
        fb, fs, fc = _join_fragments(boxes[frag], scores[frag], cls[frag], agnostic, gap)
        # a joined object may still overlap a whole box of the same object found elsewhere
        dup = _max_cover(fb, fc, kb, kc, True) >= cover
        fb, fs, fc = fb[~dup], fs[~dup], fc[~dup]
        kb, ks, kc = np.concatenate([kb, fb]), np.concatenate([ks, fs]), np.concatenate([kc, fc])
    order = np.argsort(-ks, kind="stable")
    return kb[order], ks[order], kc[order]
