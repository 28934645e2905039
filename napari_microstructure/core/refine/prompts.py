"""Checking click and box prompts before an engine sees them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class PromptError(ValueError):
    """A prompt the engine cannot use (outside the image, no positive click, no image set)."""


@dataclass(frozen=True)
class Prompts:
    """Validated prompts in pixel coordinates: points (N, 2) rows/cols, labels (N,) 1/0."""

    points: np.ndarray
    labels: np.ndarray
    box: np.ndarray | None  # (4,) x1, y1, x2, y2 (x = col), clipped to the image

    @property
    def positive(self) -> np.ndarray:
        return self.points[self.labels == 1]

    @property
    def negative(self) -> np.ndarray:
        return self.points[self.labels == 0]


def check_prompts(
    points_rc: np.ndarray | None,
    labels: np.ndarray | None,
    box_xyxy: np.ndarray | None,
    shape: tuple[int, int] | None,
) -> Prompts:
    """Validate prompts against an image of ``shape`` (rows, cols).

    Raises
    ------
    PromptError
        No image set, a click outside the image, a box entirely outside it, mismatched labels,
        a positive and a negative click on one pixel, or neither a positive click nor a box.
    """
    if shape is None:
        raise PromptError("no image set: call set_image first")
    h, w = shape
    pts = np.zeros((0, 2)) if points_rc is None else np.asarray(points_rc, dtype=np.float64)
    pts = pts.reshape(-1, 2)
    lab = np.ones(len(pts), int) if labels is None else np.asarray(labels).astype(int).ravel()
    if len(lab) != len(pts):
        raise PromptError(f"{len(pts)} points but {len(lab)} labels")
    if not np.isin(lab, (0, 1)).all():
        raise PromptError("point labels must be 1 (positive) or 0 (negative)")
    if not np.isfinite(pts).all():
        raise PromptError("a click has no finite coordinates")
    outside = (
        (pts[:, 0] < -0.5) | (pts[:, 1] < -0.5) | (pts[:, 0] > h - 0.5) | (pts[:, 1] > w - 0.5)
    )
    if outside.any():
        r, c = pts[np.argmax(outside)]
        raise PromptError(f"click at row {r:.0f}, col {c:.0f} is outside the image ({h} x {w} px)")
    pts = np.clip(pts, 0, [h - 1, w - 1])
    cells = np.round(pts).astype(int)
    positive = {tuple(p) for p in cells[lab == 1].tolist()}
    clash = [p for p in cells[lab == 0].tolist() if tuple(p) in positive]
    if clash:
        r, c = clash[0]
        raise PromptError(
            f"a positive and a negative click on the same pixel (row {r}, col {c}): "
            "remove one of them"
        )
    bx = None
    if box_xyxy is not None:
        b = np.asarray(box_xyxy, dtype=np.float64).ravel()
        if b.size != 4 or not np.isfinite(b).all():
            raise PromptError("a box needs four finite numbers x1, y1, x2, y2")
        x1, x2 = sorted((b[0], b[2]))
        y1, y2 = sorted((b[1], b[3]))
        if x2 <= 0 or y2 <= 0 or x1 >= w or y1 >= h:
            raise PromptError(f"box {b.round(1).tolist()} lies outside the image ({h} x {w} px)")
        bx = np.array([max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)])
        if bx[2] - bx[0] < 1 or bx[3] - bx[1] < 1:
            raise PromptError("box is smaller than one pixel")
    if bx is None and not (lab == 1).any():
        raise PromptError("give at least one positive click or a box")
    return Prompts(points=pts, labels=lab, box=bx)
