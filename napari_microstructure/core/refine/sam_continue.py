"""Clicks whose SAM mask reaches the edge of their tile, continued in the neighbouring tiles.

A click is decoded in the one tile where it sits most centrally. Where a mask reaches that
tile's edge and the image goes on, the object likely goes on too: the neighbouring tile is
decoded with a positive click on the mask's deepest pixel in the two tiles' overlap (plus the
user's clicks inside that tile); of its three masks, the one that agrees best with the first in
the overlap is kept (if they agree at all), and so on outwards, within the 3 x 3 block of
tiles around the click's own.
The tiles are those the best mask reaches; the other two are continued in the same tiles.
Each decoded tile fills its own share of the image (overlaps split in their middle, as for a
box across tiles); where a neighbour was not decoded it fills its whole extent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage as ndi

from .prompts import Prompts
from .sam_masks import logits_to_masks

if TYPE_CHECKING:  # pragma: no cover
    from .sam_engine import SamEngine

MAX_TILES = 9  # a click's object may span the 3 x 3 block of tiles around its own
MIN_AGREEMENT = 0.5  # IoU in the overlap below which the neighbour saw another object
SIDES = {"top": (-1, 0), "bottom": (1, 0), "left": (0, -1), "right": (0, 1)}


def share_bounds(starts: list[int], size: int, n: int) -> list[int]:
    """Along one axis, where each tile's share of ``[0, n)`` begins and ends: the middle of
    the overlap between two neighbouring tiles of ``size`` starting at ``starts``."""
    pairs = zip(starts[:-1], starts[1:], strict=True)
    return [0, *((a + b + size) // 2 for a, b in pairs), n]


@dataclass(frozen=True)
class Window:
    """Where a decoded tile's mask is painted (rows, cols), and its sides whose neighbour
    tile was not decoded although the image goes on (a mask reaching them is likely cut)."""

    rows: tuple[int, int]
    cols: tuple[int, int]
    open_sides: tuple[str, ...]


class TileGrid:
    """The engine's tiles as a grid: neighbours, overlaps and each tile's share."""

    def __init__(self, engine: SamEngine) -> None:
        self.tiles = engine.tiles
        self.ys = sorted({t.y0 for t in self.tiles})
        self.xs = sorted({t.x0 for t in self.tiles})
        h, w = engine.image_shape
        th, tw = self.tiles[0].h, self.tiles[0].w
        self.by, self.bx = share_bounds(self.ys, th, h), share_bounds(self.xs, tw, w)

    def cell(self, i: int) -> tuple[int, int]:
        return divmod(i, len(self.xs))

    def neighbour(self, i: int, side: str) -> int | None:
        (iy, ix), (dy, dx) = self.cell(i), SIDES[side]
        jy, jx = iy + dy, ix + dx
        if 0 <= jy < len(self.ys) and 0 <= jx < len(self.xs):
            return jy * len(self.xs) + jx
        return None

    def near(self, i: int, j: int) -> bool:
        """Whether tile ``i`` lies in the 3 x 3 block of tiles around tile ``j``."""
        (iy, ix), (jy, jx) = self.cell(i), self.cell(j)
        return abs(iy - jy) <= 1 and abs(ix - jx) <= 1

    def window(self, i: int, decoded: set[int]) -> Window:
        t, (iy, ix) = self.tiles[i], self.cell(i)
        near = {s: self.neighbour(i, s) for s in SIDES}
        has = {s: near[s] is not None and near[s] in decoded for s in SIDES}
        top = self.by[iy] if has["top"] else t.y0
        bottom = self.by[iy + 1] if has["bottom"] else t.y0 + t.h
        left = self.bx[ix] if has["left"] else t.x0
        right = self.bx[ix + 1] if has["right"] else t.x0 + t.w
        open_sides = tuple(s for s in SIDES if near[s] is not None and not has[s])
        return Window((top, bottom), (left, right), open_sides)


def _edge(mask: np.ndarray, side: str) -> np.ndarray:
    return {"top": mask[0], "bottom": mask[-1], "left": mask[:, 0], "right": mask[:, -1]}[side]


def _overlap(engine: SamEngine, a: int, b: int) -> tuple[slice, slice, slice, slice]:
    """The overlap of tiles ``a`` and ``b`` as (rows, cols) slices local to each of them."""
    ta, tb = engine.tiles[a], engine.tiles[b]
    y0, y1 = max(ta.y0, tb.y0), min(ta.y0 + ta.h, tb.y0 + tb.h)
    x0, x1 = max(ta.x0, tb.x0), min(ta.x0 + ta.w, tb.x0 + tb.w)
    return (
        slice(y0 - ta.y0, y1 - ta.y0),
        slice(x0 - ta.x0, x1 - ta.x0),
        slice(y0 - tb.y0, y1 - tb.y0),
        slice(x0 - tb.x0, x1 - tb.x0),
    )


def _follow(engine: SamEngine, a: int, b: int, mask_a: np.ndarray, pr: Prompts):
    """Tile ``b``'s mask (local to it) of the object ``mask_a`` (local to tile ``a``) shows in
    their overlap, or None when tile ``b`` sees no such object."""
    ra, ca, rb, cb = _overlap(engine, a, b)
    shared = mask_a[ra, ca]
    if not shared.any():
        return None
    depth = ndi.distance_transform_edt(np.pad(shared, 1))[1:-1, 1:-1]
    r, c = np.unravel_index(np.argmax(depth), depth.shape)
    tb = engine.tiles[b]
    seed = np.array([[rb.start + r + tb.y0, cb.start + c + tb.x0]], float)
    pts, lab = pr.points, pr.labels
    inside = (pts[:, 0] >= tb.y0) & (pts[:, 0] <= tb.y0 + tb.h - 1)
    inside &= (pts[:, 1] >= tb.x0) & (pts[:, 1] <= tb.x0 + tb.w - 1)
    follow = Prompts(np.vstack([seed, pts[inside]]), np.r_[1, lab[inside]], None)
    logits, _, origin, s = engine._decode(b, follow)
    masks = logits_to_masks(logits, origin, engine.img_size, s, (tb.h, tb.w))
    theirs = masks[:, rb, cb]
    inter = (theirs & shared).sum(axis=(1, 2))
    union = (theirs | shared).sum(axis=(1, 2))
    iou = inter / np.maximum(union, 1)
    best = int(np.argmax(iou))
    return masks[best] if iou[best] >= MIN_AGREEMENT else None


def _as_seen_from(engine: SamEngine, a: int, b: int, mask_a: np.ndarray) -> np.ndarray:
    """``mask_a`` (local to tile ``a``) local to tile ``b``: its overlap part, nothing beyond."""
    ra, ca, rb, cb = _overlap(engine, a, b)
    out = np.zeros((engine.tiles[b].h, engine.tiles[b].w), bool)
    out[rb, cb] = mask_a[ra, ca]
    return out


def continue_click(
    engine: SamEngine, start: int, pr: Prompts, masks: np.ndarray, best: int
) -> tuple[np.ndarray, list[Window]]:
    """Continue ``masks`` (k, H, W), decoded for clicks in tile ``start``, into the neighbouring
    tiles that mask ``best`` reaches and that agree with it; the other masks are continued in
    the same tiles where those agree with them too, else kept as they were. Returns the masks
    and the windows of the decoded tiles."""
    grid = TileGrid(engine)
    t = engine.tiles[start]
    region = (slice(t.y0, t.y0 + t.h), slice(t.x0, t.x0 + t.w))
    local = [{start: m[region].copy()} for m in masks]
    queue = [start]
    while queue and len(local[best]) < MAX_TILES:
        a = queue.pop(0)
        for side in SIDES:
            b = grid.neighbour(a, side)
            seen = local[best]
            if b is None or b in seen or len(seen) >= MAX_TILES or not grid.near(b, start):
                continue
            if not _edge(seen[a], side).any():
                continue
            got = _follow(engine, a, b, seen[a], pr)
            if got is None:
                continue
            seen[b] = got
            queue.append(b)
            for k, other in enumerate(local):
                if k != best:
                    follow = _follow(engine, a, b, other[a], pr)
                    other[b] = _as_seen_from(engine, a, b, other[a]) if follow is None else follow
    decoded = set(local[best])
    if len(decoded) > 1:
        for k, tiles in enumerate(local):
            for j, m in tiles.items():
                win, tj = grid.window(j, decoded), engine.tiles[j]
                (r0, r1), (c0, c1) = win.rows, win.cols
                masks[k, r0:r1, c0:c1] = m[r0 - tj.y0 : r1 - tj.y0, c0 - tj.x0 : c1 - tj.x0]
    return masks, [grid.window(j, decoded) for j in sorted(decoded)]


def reaches_open_side(mask: np.ndarray, windows: list[Window], origin: tuple[int, int]) -> bool:
    """True if ``mask`` (a crop whose first pixel is at ``origin``) has a pixel on a side of a
    window whose neighbour tile was not decoded."""
    m = np.asarray(mask, bool)
    r0, c0 = origin
    mh, mw = m.shape
    for win in windows:
        (y0, y1), (x0, x1) = win.rows, win.cols
        for side in win.open_sides:
            if side in ("top", "bottom"):
                r = (y0 if side == "top" else y1 - 1) - r0
                line = m[r, max(x0 - c0, 0) : max(x1 - c0, 0)] if 0 <= r < mh else m[:0, 0]
            else:
                c = (x0 if side == "left" else x1 - 1) - c0
                line = m[max(y0 - r0, 0) : max(y1 - r0, 0), c] if 0 <= c < mw else m[:0, 0]
            if line.any():
                return True
    return False
