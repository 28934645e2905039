"""Confidence views: box styling, histogram, and maps of where the detector is unsure.

The score maps come from the raw head output (before thresholding and NMS): every anchor of
every stride gives per-class scores; painted onto its cell and blended over tiles, they show
the best class score everywhere in the image and how close the runner-up class is.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib import colormaps

from ..progress import Progress
from .geometry import Canvas, pad_to_stride, resample, resize_map, scale_factor
from .model import ExplainModel, to_fast_input
from .tiles import image_tiles


@dataclass
class BoxStyle:
    """Per-box display values: edge colours (N, 4) RGBA, opacity (N,), near-threshold flags."""

    edge_color: np.ndarray
    opacity: np.ndarray
    near_threshold: np.ndarray


def box_styles(
    confidence: np.ndarray, threshold: float = 0.25, margin: float = 0.15, cmap: str = "plasma"
) -> BoxStyle:
    """Colour ramp and opacity per box: low confidence dark and faint, high bright and solid.

    Confidences are mapped from ``threshold`` (ramp start) to 1; boxes within ``margin`` above
    the threshold are flagged as near it.
    """
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    span = max(1e-6, 1.0 - threshold)
    t = np.clip((conf - threshold) / span, 0.0, 1.0)
    colors = colormaps[cmap](0.15 + 0.85 * t).astype(np.float32)
    opacity = (0.35 + 0.65 * t).astype(np.float32)
    colors[:, 3] = opacity
    return BoxStyle(colors, opacity, conf < threshold + margin)


def confidence_histogram(confidence: np.ndarray, bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin edges of confidences over [0, 1]."""
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    return np.histogram(conf[np.isfinite(conf)], bins=bins, range=(0.0, 1.0))


@dataclass
class ScoreMaps:
    """Best and second-best class score at every pixel (float32, image size)."""

    best: np.ndarray
    second: np.ndarray


def _level_grids(
    scores: torch.Tensor, shape: tuple[int, int], strides: list[int]
) -> list[np.ndarray]:
    """Split ``(nc, N)`` head scores into per-stride ``(nc, h, w)`` grids."""
    h, w = shape
    grids, start = [], 0
    for s in strides:
        gh, gw = h // s, w // s
        grids.append(scores[:, start : start + gh * gw].reshape(-1, gh, gw).numpy())
        start += gh * gw
    return grids


def score_maps(
    image: np.ndarray, model: ExplainModel, pixel_size: float | None = None, overlap: float = 0.2
) -> Generator[Progress, None, ScoreMaps]:
    """Best/second class score maps of the whole image from the raw detection head output."""
    factor = scale_factor(pixel_size, model.pixel_size)
    tiles = image_tiles(image.shape[:2], model.imgsz, factor, overlap)
    best_c = Canvas(image.shape[:2], tiles[0].ramp)
    second_c = Canvas(image.shape[:2], tiles[0].ramp)
    for i, tile in enumerate(tiles):
        x = pad_to_stride(resample(image[tile.y0 : tile.y1, tile.x0 : tile.x1], tile.factor))
        with torch.no_grad():
            out = model.forward_only()[0](to_fast_input(x))[0]
        mh, mw = tile.model_shape
        top1, top2 = [], []
        for grid, s in zip(
            _level_grids(out[4:], x.shape[:2], model.strides), model.strides, strict=True
        ):
            srt = np.sort(grid, axis=0)
            for dst, g in (
                (top1, srt[-1]),
                (top2, srt[-2] if len(srt) > 1 else np.zeros_like(srt[-1])),
            ):
                up = resize_map(g, (g.shape[0] * s, g.shape[1] * s))[:mh, :mw]
                dst.append(up)
        best = np.max(top1, axis=0)
        # the runner-up that matters is the one at the level that holds the best score
        level = np.argmax(top1, axis=0)
        second = np.take_along_axis(np.asarray(top2), level[None], axis=0)[0]
        best_c.add(tile.window, resize_map(best, tile.window.shape))
        second_c.add(tile.window, resize_map(second, tile.window.shape))
        yield Progress(i + 1, len(tiles), f"score map: tile {i + 1}/{len(tiles)}")
    return ScoreMaps(best_c.result(), second_c.result())


def low_confidence_map(
    scores: ScoreMaps, threshold: float = 0.25, margin: float | None = None
) -> np.ndarray:
    """Where the detector is unsure, float32 in [0, 1], one value per candidate object.

    Candidates are the connected regions where the best class score reaches half the
    ``threshold``; each region is painted with the larger of (a) the closeness of its peak
    score to the threshold -- objects the model half sees -- and (b) class confusion at the
    peak: runner-up / best score -- something is there but no class is clearly it. Closeness is
    1 at the threshold and falls to 0 ``margin`` away; by default the margin is the threshold
    below it and, above it, the threshold or half the way to 1, whichever is smaller, so a
    confident object (score near 1) stays dark whatever the threshold. Working per region
    keeps the fringe of a confident object (where scores fall through the threshold) dark.
    """
    from scipy import ndimage

    below = threshold if margin is None else margin
    above = min(threshold, (1.0 - threshold) / 2) if margin is None else margin
    best, second = scores.best, scores.second
    regions, n = ndimage.label(best >= threshold / 2)
    out = np.zeros(best.shape, np.float32)
    if n == 0:
        return out
    ids = np.arange(1, n + 1)
    peaks = np.asarray(ndimage.maximum(best, regions, ids), dtype=np.float64)
    where = ndimage.maximum_position(best, regions, ids)
    runner_up = np.array([second[pos] for pos in where], dtype=np.float64)
    side = np.where(peaks < threshold, below, above)
    band = np.clip(1.0 - np.abs(peaks - threshold) / np.maximum(side, 1e-6), 0.0, 1.0)
    confusion = runner_up / np.maximum(peaks, 1e-6)
    value = np.concatenate([[0.0], np.clip(np.maximum(band, confusion), 0.0, 1.0)])
    return value[regions].astype(np.float32)


def near_threshold(confidence: np.ndarray, threshold: float, margin: float = 0.15) -> np.ndarray:
    """Boolean flags of detections whose confidence is within ``margin`` above ``threshold``."""
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    return (conf >= threshold) & (conf < threshold + margin)
