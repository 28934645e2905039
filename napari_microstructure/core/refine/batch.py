"""Many prompts at once: every box of a detection table to a mask."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..progress import Progress
from .prompts import PromptError


@dataclass
class BoxMask:
    """The best mask of one box, cropped to its bounding box (rows, cols slices)."""

    index: int
    window: tuple[slice, slice]
    mask: np.ndarray
    score: float


@dataclass
class BoxMasks:
    """The masks found for a list of boxes, and the boxes the engine could not use."""

    masks: list[BoxMask] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (box index, reason)
    total: int = 0

    def skipped_message(self, most: int = 3) -> str | None:
        """One sentence on the skipped boxes (how many and why), or None if none was."""
        if not self.skipped:
            return None
        reasons = "; ".join(f"box {i + 1}: {why}" for i, why in self.skipped[:most])
        more = f"; and {len(self.skipped) - most} more" if len(self.skipped) > most else ""
        return f"{len(self.skipped)} of {self.total} boxes skipped ({reasons}{more})."


def masks_from_boxes(
    engine: Any, boxes_xyxy: Sequence[Sequence[float]] | np.ndarray
) -> Generator[Progress, None, BoxMasks]:
    """Run ``engine.predict`` on each box (pixel x1, y1, x2, y2) and keep the best mask.

    A box the engine refuses (outside the image, smaller than a pixel) is skipped with its
    reason; the other boxes still give their masks.
    """
    boxes = np.asarray(boxes_xyxy, dtype=float).reshape(-1, 4)
    out = BoxMasks(total=len(boxes))
    for i, box in enumerate(boxes):
        yield Progress(i, len(boxes), f"box {i + 1} of {len(boxes)}")
        try:
            masks, scores = engine.predict(None, None, box)
        except PromptError as exc:
            out.skipped.append((i, str(exc)))
            continue
        m = masks[0]
        rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
        if rows.size == 0:
            continue
        win = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        out.masks.append(BoxMask(i, win, m[win].copy(), float(scores[0])))
    yield Progress(len(boxes), len(boxes), f"{len(out.masks)} masks")
    return out
