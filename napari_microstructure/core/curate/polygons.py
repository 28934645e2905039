"""Outlines of masks as polygons along pixel edges, for YOLO-seg and COCO polygons.

Coordinates are those of COCO and YOLO: pixel (row r, column c) covers x in [c, c + 1] and
y in [r, r + 1]. An outline runs along the pixels' edges (cutting each convex corner by an
eighth of a pixel), so it rasterises back to the mask, a one-pixel crack included, and an
object on the image border reaches the border.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

EIGHT = np.ones((3, 3), dtype=bool)


def mask_polygons(mask: np.ndarray, row0: int = 0, col0: int = 0) -> list[np.ndarray]:
    """Outlines of the parts of ``mask`` (8-connected) as ``(N, 2)`` arrays of (x, y).

    The largest part comes first; holes are not traced (a polygon has none). ``row0`` and
    ``col0`` place a cropped mask in its image.
    """
    from skimage.measure import approximate_polygon, find_contours

    parts, n = ndi.label(np.asarray(mask, dtype=bool), structure=EIGHT)
    found = []
    for k, sl in enumerate(ndi.find_objects(parts), start=1):
        filled = ndi.binary_fill_holes(parts[sl] == k)
        # the 0.5 level between a pixel centre (1) and its outside neighbour (0) lies on their
        # shared edge; 'high' keeps pixels that touch only at a corner in one outline
        padded = np.pad(filled, 1).astype(np.float32)
        outline = max(find_contours(padded, 0.5, fully_connected="high"), key=len)
        outline = approximate_polygon(outline, tolerance=0.01)[:-1]  # closed: last == first
        xy = outline[:, ::-1] - 0.5  # padded pixel-centre (row, col) -> edge (x, y)
        xy += (sl[1].start + col0, sl[0].start + row0)
        found.append((int(filled.sum()), xy.astype(np.float64)))
    return [xy for _, xy in sorted(found, key=lambda f: -f[0])]


def filled_area(mask: np.ndarray) -> int:
    """Pixels inside the outlines :func:`mask_polygons` traces: each part with its holes."""
    parts, _ = ndi.label(np.asarray(mask, dtype=bool), structure=EIGHT)
    inside = np.zeros(parts.shape, dtype=bool)
    for k, sl in enumerate(ndi.find_objects(parts), start=1):
        inside[sl] |= ndi.binary_fill_holes(parts[sl] == k)
    return int(inside.sum())


def box_polygon(x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
    """The outline of a box (a drawn box without a mask) as a 4-point polygon."""
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float64)
