"""Grain-boundary evidence from a micrograph: a map high on boundaries and low inside grains.

Etched (grey) micrographs show boundaries as thin dark lines, so the map is a dark-ridge filter
(grey closing minus image) combined with the grey gradient for grain-to-grain contrast.
Tint (colour) etched micrographs separate grains by colour, so the map is the colour gradient
in CIE Lab, combined with the dark-ridge response of the lightness channel.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.color import rgb2lab

from ..image_utils import is_rgb, to_float01, to_gray

LIGHTNESS_WEIGHT = 0.3
COLOUR_SIGMA = 1.5
RIDGE_WEIGHT = 0.3


def _robust_scale(values: np.ndarray, q: float = 99.0) -> np.ndarray:
    """Divide by a high percentile so maps from different filters are comparable, clip at 1."""
    sample = values[:: max(1, values.shape[0] // 512), :: max(1, values.shape[1] // 512)]
    top = float(np.percentile(sample, q))
    if top <= 1e-12:
        return np.zeros_like(values, dtype=np.float32)
    return np.clip(values / top, 0.0, 1.0).astype(np.float32)


def dark_ridges(gray: np.ndarray, width: int = 7) -> np.ndarray:
    """Response to dark lines narrower than ``width`` px: grey closing minus the image."""
    smooth = ndi.gaussian_filter(gray, 0.7)
    return ndi.grey_closing(smooth, size=(width, width)) - smooth


def gradient_magnitude(channels: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Gaussian gradient magnitude summed over the channels of an ``(H, W, C)`` array."""
    total = np.zeros(channels.shape[:2], dtype=np.float32)
    for c in range(channels.shape[2]):
        total += ndi.gaussian_gradient_magnitude(channels[..., c].astype(np.float32), sigma) ** 2
    return np.sqrt(total)


def boundary_map(image: np.ndarray, line_width: int = 7) -> np.ndarray:
    """Float32 map in [0, 1], high on grain boundaries.

    Parameters
    ----------
    image
        Grey ``(H, W)`` or RGB ``(H, W, 3)`` micrograph, any dtype.
    line_width
        Widest dark boundary line (px) the ridge filter responds to.
    """
    img = np.asarray(image)
    if img.ndim not in (2, 3) or (img.ndim == 3 and not is_rgb(img)):
        raise ValueError(f"expected a grey (H, W) or RGB (H, W, 3) image, got shape {img.shape}")
    if min(img.shape[:2]) < 8:
        raise ValueError(f"image of {img.shape[0]}x{img.shape[1]} px is too small to segment")
    gray = to_gray(img)
    ridge = _robust_scale(dark_ridges(gray, line_width))
    if is_rgb(img):
        lab = rgb2lab(to_float01(img)[..., :3]).astype(np.float32)
        # etch films vary in thickness inside a grain (brightness texture) but grains differ
        # in hue, so lightness counts less than the colour axes
        lab[..., 0] *= LIGHTNESS_WEIGHT
        edge = _robust_scale(gradient_magnitude(lab, COLOUR_SIGMA))
        out = np.maximum(edge, RIDGE_WEIGHT * ridge)
    else:
        edge = _robust_scale(gradient_magnitude(gray[..., None], 1.5))
        out = np.maximum(ridge, 0.5 * edge)
    return ndi.gaussian_filter(out, 0.7).astype(np.float32)


def grain_evidence(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Boundary map and, for colour images, the smoothed Lab colour used to merge pieces."""
    img = np.asarray(image)
    bmap = boundary_map(img)
    if not is_rgb(img):
        return bmap, None
    lab = rgb2lab(to_float01(img)[..., :3]).astype(np.float32)
    lab[..., 0] *= LIGHTNESS_WEIGHT
    return bmap, ndi.gaussian_filter(lab, (1.5, 1.5, 0))
