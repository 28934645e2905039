"""Grain-boundary evidence from a micrograph: a map high on boundaries and low inside grains.

Etched (grey) micrographs show boundaries as thin dark lines, so the map is a dark-ridge filter
(grey closing minus image) combined with the grey gradient for grain-to-grain contrast.
Tint (colour) etched micrographs separate grains by colour, while the etch film's uneven
thickness (mottling, streaks) and the illumination scale the brightness inside a grain. The map
is therefore the gradient of the chromaticity (each channel over their sum, blind to a change
of brightness) with a small share of the log-brightness gradient, smoothed more on noisy images.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..image_noise import noise_level
from ..image_utils import check_segment_size, is_rgb, to_float01, to_gray

LIGHTNESS_WEIGHT = 0.2  # share of log-brightness in the tint map (chromaticity scaled to ~1)
COLOUR_SIGMA = 1.5  # gradient scale of the tint map on a clean image (px) ...
NOISE_SIGMA_GAIN = 50.0  # ... plus this times the noise level (0-1 units), at most 3.5 px


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


def tint_channels(image: np.ndarray) -> np.ndarray:
    """Chromaticity (x3) and weighted log-brightness of an RGB image, ``(H, W, 4)`` float32."""
    f = to_float01(np.asarray(image))[..., :3].astype(np.float32)
    chroma = 3.0 * f / (f.sum(-1, keepdims=True) + 0.05)
    lum = np.log(np.clip(f.mean(-1), 0.02, 1.0))
    return np.concatenate([chroma, LIGHTNESS_WEIGHT * lum[..., None]], axis=-1)


def gradient_magnitude(channels: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Gaussian gradient magnitude summed over the channels of an ``(H, W, C)`` array."""
    total = np.zeros(channels.shape[:2], dtype=np.float32)
    for c in range(channels.shape[2]):
        total += ndi.gaussian_gradient_magnitude(channels[..., c].astype(np.float32), sigma) ** 2
    return np.sqrt(total)


def check_micrograph(image: np.ndarray) -> np.ndarray:
    """The image as an array when it is grey ``(H, W)`` or RGB ``(H, W, 3)`` of at least 8 px
    and not too large to segment whole (:func:`~..image_utils.check_segment_size`)."""
    img = np.asarray(image)
    if img.ndim not in (2, 3) or (img.ndim == 3 and not is_rgb(img)):
        raise ValueError(f"expected a grey (H, W) or RGB (H, W, 3) image, got shape {img.shape}")
    if min(img.shape[:2]) < 8:
        raise ValueError(f"image of {img.shape[0]}x{img.shape[1]} px is too small to segment")
    check_segment_size(img.shape)
    return img


def boundary_map(image: np.ndarray, line_width: int = 7) -> np.ndarray:
    """Float32 map in [0, 1], high on grain boundaries.

    Parameters
    ----------
    image
        Grey ``(H, W)`` or RGB ``(H, W, 3)`` micrograph, any dtype.
    line_width
        Widest dark boundary line (px) the ridge filter responds to.
    """
    img = check_micrograph(image)
    if is_rgb(img):
        sigma = float(np.clip(COLOUR_SIGMA + NOISE_SIGMA_GAIN * noise_level(img), 1.5, 3.5))
        out = _robust_scale(gradient_magnitude(tint_channels(img), sigma))
    else:
        gray = to_gray(img)
        ridge = _robust_scale(dark_ridges(gray, line_width))
        edge = _robust_scale(gradient_magnitude(gray[..., None], 1.5))
        out = np.maximum(ridge, 0.5 * edge)
    return ndi.gaussian_filter(out, 0.7).astype(np.float32)


def grain_evidence(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Boundary map and, for colour images, the smoothed tint channels used to merge pieces."""
    img = np.asarray(image)
    bmap = boundary_map(img)
    if not is_rgb(img):
        return bmap, None
    return bmap, ndi.gaussian_filter(tint_channels(img), (1.5, 1.5, 0))
