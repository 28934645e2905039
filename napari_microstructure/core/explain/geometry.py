"""Where the network sees the image: resampling to the model's pixel size, tiles, and back.

Detection resamples an image to the pixel size the model was trained at and cuts images larger
than the model input into overlapping tiles. Saliency follows the same path so that every map,
whatever the path, comes back at the ORIGINAL image size, pixel for pixel aligned with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

STRIDE = 32  # largest stride of the YOLO heads: inputs are padded to a multiple of it
PAD_VALUE = 114  # ultralytics' letterbox grey


SCALE_TOLERANCE = 0.02  # as detection: resampling by less than 2 % is skipped


def scale_factor(pixel_size: float | None, model_pixel_size: float | None) -> float:
    """Resampling factor image -> model grid (``> 1`` enlarges); 1 when either size is unknown."""
    if not pixel_size or not model_pixel_size or pixel_size <= 0 or model_pixel_size <= 0:
        return 1.0
    factor = float(pixel_size) / float(model_pixel_size)
    return 1.0 if abs(factor - 1.0) < SCALE_TOLERANCE else factor


def resample(image: np.ndarray, factor: float) -> np.ndarray:
    """Resize an image (grey or RGB) by ``factor``; area averaging when shrinking."""
    if abs(factor - 1.0) < 1e-6:
        return image
    h, w = image.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(image), size, interpolation=interp)


def resize_map(saliency: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a float map to ``shape`` (rows, cols)."""
    if saliency.shape[:2] == tuple(shape):
        return saliency.astype(np.float32, copy=False)
    return cv2.resize(
        saliency.astype(np.float32), (int(shape[1]), int(shape[0])), interpolation=cv2.INTER_LINEAR
    )


def pad_to_stride(tile: np.ndarray, stride: int = STRIDE) -> np.ndarray:
    """Pad bottom/right with letterbox grey so both sides are multiples of ``stride``."""
    h, w = tile.shape[:2]
    ph, pw = (-h) % stride, (-w) % stride
    if not ph and not pw:
        return tile
    pad = ((0, ph), (0, pw)) + ((0, 0),) * (tile.ndim - 2)
    value = PAD_VALUE if tile.dtype == np.uint8 else PAD_VALUE / 255.0
    return np.pad(tile, pad, constant_values=value)


def _starts(n: int, tile: int, overlap: int) -> list[int]:
    if n <= tile:
        return [0]
    step = max(1, tile - overlap)
    starts = list(range(0, n - tile, step)) + [n - tile]
    return sorted(set(starts))


@dataclass(frozen=True)
class Window:
    """A tile ``[y0:y1, x0:x1]`` of the resampled image."""

    y0: int
    x0: int
    y1: int
    x1: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0


def tile_windows(shape: tuple[int, int], tile: int, overlap: int | None = None) -> list[Window]:
    """Overlapping tiles covering an image of ``shape``; one window when it fits ``tile``."""
    h, w = int(shape[0]), int(shape[1])
    overlap = tile // 5 if overlap is None else overlap
    return [
        Window(y, x, min(y + tile, h), min(x + tile, w))
        for y in _starts(h, tile, overlap)
        for x in _starts(w, tile, overlap)
    ]


def object_window(
    box_xyxy: tuple[float, float, float, float], shape: tuple[int, int], tile: int
) -> Window:
    """The ``tile``-sized window (clipped to the image) centred on a box, in resampled pixels."""
    h, w = int(shape[0]), int(shape[1])
    cx, cy = (box_xyxy[0] + box_xyxy[2]) / 2, (box_xyxy[1] + box_xyxy[3]) / 2
    th, tw = min(tile, h), min(tile, w)
    y0 = int(np.clip(round(cy - th / 2), 0, h - th))
    x0 = int(np.clip(round(cx - tw / 2), 0, w - tw))
    return Window(y0, x0, y0 + th, x0 + tw)


def taper(shape: tuple[int, int], ramp: int) -> np.ndarray:
    """Blending weight of a tile: 1 inside, falling linearly to a small value over ``ramp``."""
    h, w = shape
    ramp = max(1, ramp)
    wy = np.clip((np.minimum(np.arange(h), np.arange(h)[::-1]) + 1) / ramp, 0.05, 1.0)
    wx = np.clip((np.minimum(np.arange(w), np.arange(w)[::-1]) + 1) / ramp, 0.05, 1.0)
    return np.outer(wy, wx).astype(np.float32)


class Canvas:
    """Accumulates tile maps with tapered weights and returns their blended mosaic."""

    def __init__(self, shape: tuple[int, int], ramp: int) -> None:
        self.acc = np.zeros(shape, np.float32)
        self.weight = np.zeros(shape, np.float32)
        self.ramp = ramp

    def add(self, win: Window, tile_map: np.ndarray) -> None:
        wgt = taper(win.shape, self.ramp)
        self.acc[win.y0 : win.y1, win.x0 : win.x1] += (
            tile_map[: win.shape[0], : win.shape[1]] * wgt
        )
        self.weight[win.y0 : win.y1, win.x0 : win.x1] += wgt

    def result(self) -> np.ndarray:
        return np.divide(self.acc, self.weight, out=np.zeros_like(self.acc), where=self.weight > 0)


def normalize01(saliency: np.ndarray) -> np.ndarray:
    """Min/max scale to float32 [0, 1]; a flat map becomes all zeros."""
    m = np.nan_to_num(saliency.astype(np.float32))
    if m.size == 0:
        return m
    lo, hi = float(m.min()), float(m.max())
    if hi - lo <= 1e-12:
        return np.zeros_like(m)
    return (m - lo) / (hi - lo)
