"""Smooth random fields: the raw material of textures, wavy boundaries and uneven light."""

from __future__ import annotations

import cv2
import numpy as np


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], scale_px: float) -> np.ndarray:
    """Zero-mean, unit-std float32 field whose features are about ``scale_px`` pixels wide.

    White noise on a coarse grid is upsampled with bicubic interpolation, which is far faster
    than filtering a full-size field and looks the same.
    """
    h, w = shape
    step = max(float(scale_px), 1.0)
    gh, gw = int(np.ceil(h / step)) + 3, int(np.ceil(w / step)) + 3
    coarse = rng.standard_normal((gh, gw)).astype(np.float32)
    big = cv2.resize(coarse, (int(gw * step), int(gh * step)), interpolation=cv2.INTER_CUBIC)
    off = int(step)
    field = big[off : off + h, off : off + w]
    if field.shape != (h, w):  # tiny scales: fall back to padding
        field = np.pad(field, ((0, h - field.shape[0]), (0, w - field.shape[1])), mode="edge")
    std = float(field.std())
    return ((field - field.mean()) / (std if std > 0 else 1.0)).astype(np.float32)


def fractal_field(
    rng: np.random.Generator, shape: tuple[int, int], scale_px: float, octaves: int = 3
) -> np.ndarray:
    """Sum of :func:`smooth_field` octaves (each half the scale, half the amplitude), unit std."""
    total = np.zeros(shape, np.float32)
    amp, scale = 1.0, float(scale_px)
    for _ in range(octaves):
        total += amp * smooth_field(rng, shape, scale)
        amp *= 0.5
        scale = max(scale / 2.0, 1.0)
    std = float(total.std())
    return total / (std if std > 0 else 1.0)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a float image (per channel for RGB); no-op for ``sigma <= 0``."""
    if sigma <= 0:
        return image
    return cv2.GaussianBlur(image, (0, 0), sigmaX=float(sigma), borderType=cv2.BORDER_REFLECT)
