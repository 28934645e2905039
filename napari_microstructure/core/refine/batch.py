"""Many prompts at once: every box of a detection table to a mask."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..progress import Progress


@dataclass
class BoxMask:
    """The best mask of one box, cropped to its bounding box (rows, cols slices)."""

    index: int
    window: tuple[slice, slice]
    mask: np.ndarray
    score: float


def masks_from_boxes(
    engine: Any, boxes_xyxy: Sequence[Sequence[float]] | np.ndarray
) -> Generator[Progress, None, list[BoxMask]]:
    """Run ``engine.predict`` on each box (pixel x1, y1, x2, y2) and keep the best mask."""
    boxes = np.asarray(boxes_xyxy, dtype=float).reshape(-1, 4)
    out: list[BoxMask] = []
    for i, box in enumerate(boxes):
        yield Progress(i, len(boxes), f"box {i + 1} of {len(boxes)}")
        masks, scores = engine.predict(None, None, box)
        m = masks[0]
        rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
        if rows.size == 0:
            continue
        win = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        out.append(BoxMask(i, win, m[win].copy(), float(scores[0])))
    yield Progress(len(boxes), len(boxes), f"{len(out)} masks")
    return out
