"""Boundary lines drawn or etched between grains, closed before grains are measured.

A label image often has its grain boundaries as thin zero lines; measured as they are, every
grain would lose its share of the line. Wider zero regions are another phase and keep their
extent (ASTM E112 section 17, two-phase structures).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

from ._checks import as_label_image


def prepare_labels(labels: np.ndarray, fill_gaps: int = 2) -> np.ndarray:
    """Checked labels with zero lines up to ``2 * fill_gaps`` px wide closed by their neighbours.

    A zero pixel is part of a line when the zero region around it cannot hold a disc
    ``2 * fill_gaps + 1`` px across; it takes the label of the nearest grain. Wider zero regions
    (a second phase, the matrix around particles) keep their extent: growing every grain into
    them would add a rim to each grain's area and intercepts.
    """
    lab = as_label_image(labels)
    if fill_gaps <= 0 or lab.all():
        return lab
    r = int(fill_gaps)
    y, x = np.ogrid[-r : r + 1, -r : r + 1]
    disc = x * x + y * y < (r + 0.5) ** 2
    zero = lab == 0

    def opened(mode: str) -> np.ndarray:
        padded = np.pad(zero, 2 * r, mode=mode)  # type: ignore[call-overload]
        return ndi.binary_opening(padded, disc)[2 * r : -2 * r, 2 * r : -2 * r]

    # mirrored past the frame, a wide region that meets the frame keeps its extent, but a
    # zero band along the frame doubles: a band (wide only in the mirror, and not part of a
    # region wide without it) is a line like any other. Where two bands meet at a corner of
    # the image the disc fits without the mirror too: that does not make them wide.
    wide = opened("reflect")
    inside = opened("constant")
    rows = np.minimum(np.arange(zero.shape[0]), np.arange(zero.shape[0])[::-1]) <= 2 * r
    cols = np.minimum(np.arange(zero.shape[1]), np.arange(zero.shape[1])[::-1]) <= 2 * r
    really = inside & ~(rows[:, None] & cols[None, :])
    # pieces of the wide mask, not whole zero regions: a line network holds a pore somewhere
    parts, _ = ndi.label(wide, structure=np.ones((3, 3), bool))
    band = wide & ~inside & ~np.isin(parts, np.unique(parts[really]))
    thin = zero & ~(wide & ~band)
    if not thin.any():
        return lab
    # each thin pixel takes its nearest grain (a band along the frame is closed from one side,
    # up to its corner); not a lone pixel at the corner of a wide region, far from any grain
    dist, nearest = ndi.distance_transform_edt(zero, return_indices=True)
    close = thin & (dist <= 2 * r * math.sqrt(2.0) + 0.5)
    return np.where(close, lab[tuple(nearest)], lab)


#: objects touching one another along less than this share of their outlines are particles:
#: grains that fill the field touch along nearly all of it (a second phase left 0 takes some)
PARTICLES_BELOW = 0.1


def touching_share(closed: np.ndarray) -> float | None:
    """Share of the objects' outlines in label image ``closed`` (boundary lines closed, as
    :func:`prepare_labels` does) that borders another object rather than the background 0
    (the frame aside); None when no object has an outline inside."""
    touching = apart = 0
    for a, b in ((closed[:, :-1], closed[:, 1:]), (closed[:-1], closed[1:])):
        edge = a != b
        both = (a > 0) & (b > 0)
        touching += int(np.count_nonzero(edge & both))
        apart += int(np.count_nonzero(edge & ~both))
    return touching / (touching + apart) if touching + apart else None


def objects_touching(labels: np.ndarray | None) -> float | None:
    """:func:`touching_share` of grain ``labels`` as measured (None for no labels)."""
    return None if labels is None else touching_share(prepare_labels(labels))
