"""The finer pieces of a grain segmentation, kept inside the final grains.

The built-in engine offers the watershed pieces a grain was merged from as the next-best mask
of a click. The grains' borders are re-drawn after the merging (on the map's crests, by border
placement), so the pieces would otherwise overlap their neighbours by thin strips, and a grain
made of one piece would offer itself again, a pixel off here and there.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..image_utils import boundaries_from_labels

#: A part of a piece no thicker than this (px from its edge) is a strip left by a moved border.
STRIP_PX = 2.0


def pieces_within(pieces: np.ndarray, grains: np.ndarray) -> np.ndarray:
    """``pieces`` cut along the borders of ``grains``, without the thin strips that makes.

    Every returned piece lies inside one grain. A part of a piece thinner than
    :data:`STRIP_PX` joins a neighbouring piece of its grain (touching at a side or, failing
    that, a corner); a grain that has only such parts keeps them.
    """
    key = grains.astype(np.int64) * (int(pieces.max()) + 1) + pieces
    _, inv = np.unique(key, return_inverse=True)
    parts = inv.reshape(grains.shape).astype(np.int64) + 1
    edge = boundaries_from_labels(parts)
    edge[1:, :] |= edge[:-1, :].copy()
    edge[:, 1:] |= edge[:, :-1].copy()
    depth = ndi.distance_transform_edt(~edge)
    n = int(parts.max()) + 1
    thick = np.asarray(ndi.maximum(depth, parts, np.arange(n))) > STRIP_PX
    out = np.where(thick[parts], parts, 0)
    h, w = out.shape
    for _ in range(8):  # a strip is at most a few px across: a few passes fill it
        todo = out == 0
        if not todo.any():
            break
        # the 4 neighbours first, then the diagonal ones (a pixel of a grain may touch the
        # rest of it only at a corner)
        for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1)):
            dst = (slice(max(-dy, 0), h - max(dy, 0)), slice(max(-dx, 0), w - max(dx, 0)))
            src = (slice(max(dy, 0), h - max(-dy, 0)), slice(max(dx, 0), w - max(-dx, 0)))
            take = (out[dst] == 0) & (out[src] != 0) & (grains[src] == grains[dst])
            out[dst][take] = out[src][take]
    left = out == 0
    out[left] = parts[left]  # grains with no thick part keep their parts
    _, inv = np.unique(out, return_inverse=True)
    return (inv.reshape(out.shape) + 1).astype(np.uint32)
