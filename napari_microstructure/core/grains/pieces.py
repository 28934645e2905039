"""The finer pieces of a grain segmentation, kept inside the final grains.

The built-in engine offers the watershed pieces a grain was merged from as the next-best mask
of a click. The grains' borders are re-drawn after the merging (on the map's crests, by border
placement), so the pieces would otherwise overlap their neighbours by thin strips, and a grain
made of one piece would offer itself again, a pixel off here and there.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..image_utils import border_band, fill_from_neighbours

#: A part of a piece no thicker than this (px from its edge) is a strip left by a moved border.
STRIP_PX = 2.0
_SIDES_THEN_CORNERS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1))


def pieces_within(pieces: np.ndarray, grains: np.ndarray) -> np.ndarray:
    """``pieces`` cut along the borders of ``grains``, without the thin strips that makes.

    Every returned piece lies inside one grain. A part of a piece thinner than
    :data:`STRIP_PX` joins a neighbouring piece of its grain (touching at a side or, failing
    that, a corner); a grain that has only such parts keeps them.
    """
    key = grains.astype(np.int64) * (int(pieces.max()) + 1) + pieces
    _, inv = np.unique(key, return_inverse=True)
    parts = inv.reshape(grains.shape).astype(np.int64) + 1
    depth = ndi.distance_transform_edt(~border_band(parts))
    n = int(parts.max()) + 1
    thick = np.asarray(ndi.maximum(depth, parts, np.arange(n))) > STRIP_PX
    # a strip is at most a few px across: a few passes fill it; the 4 neighbours first, then
    # the diagonal ones (a pixel of a grain may touch the rest of it only at a corner)
    out = fill_from_neighbours(
        np.where(thick[parts], parts, 0), 8, _SIDES_THEN_CORNERS, within=grains
    )
    left = out == 0
    out[left] = parts[left]  # grains with no thick part keep their parts
    _, inv = np.unique(out, return_inverse=True)
    return (inv.reshape(out.shape) + 1).astype(np.uint32)
