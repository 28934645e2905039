"""Quality gate: flag images too blurred, too dark or bright, flat, or without structure."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage as ndi

from ..image_noise import structure_contrast
from ..image_utils import to_gray
from ..pipeline import QUALITY_DEFAULTS


def image_quality(image: np.ndarray, thresholds: dict[str, float] | None = None) -> dict[str, Any]:
    """Sharpness, brightness and contrast of a micrograph, and the flags they raise.

    Sharpness is the 99.5th percentile of the absolute Laplacian of Gaussian (sigma 1 px)
    divided by the grey range (99.5th - 0.5th percentile): how steep the steepest edges are for
    the image's contrast, so neither brightness nor the amount of boundary changes it. Sharp
    synthetic structures of every kind score 0.05-0.31 (tint-etched ones 0.05-0.26); a
    Gaussian blur of 3 px brings them to 0.014-0.058 (measured over 20 seeds of each kind at
    256 and 512 px): the default threshold 0.05 flags most of those, but 3 of 20 blurred
    etched images pass, and no threshold both flags every one and passes every sharp tint
    image. Structure is
    :func:`..image_noise.structure_contrast`: a flat or shaded field with camera noise scores
    about 1 and passes the contrast and sharpness tests (its noise is both), micrographs 2.7 or
    more. Large images are subsampled.
    Flags: ``blurred``, ``too_dark``, ``too_bright``, ``no_contrast``, ``no_structure``.
    """
    t = {**QUALITY_DEFAULTS, **(thresholds or {})}
    grey = to_gray(image)
    step = max(1, int(np.ceil(max(grey.shape) / 1024)))
    grey = grey[::step, ::step]
    lo, hi = np.percentile(grey, [0.5, 99.5])
    edge = float(np.percentile(np.abs(ndi.gaussian_laplace(grey.astype(np.float32), 1.0)), 99.5))
    sharpness = edge / float(hi - lo) if hi > lo else 0.0
    mean, contrast = float(grey.mean()), float(grey.std())
    structure = structure_contrast(grey)
    flags = []
    if contrast < t["min_contrast"]:
        flags.append("no_contrast")
    elif structure < t["min_structure"]:
        flags.append("no_structure")
    elif sharpness < t["min_sharpness"]:
        flags.append("blurred")
    if mean < t["min_mean"]:
        flags.append("too_dark")
    if mean > t["max_mean"]:
        flags.append("too_bright")
    return {
        "sharpness": sharpness,
        "mean_grey": mean,
        "contrast": contrast,
        "structure": structure,
        "flags": flags,
    }


def structure_flags(
    grain_count: int | None, thresholds: dict[str, float] | None = None
) -> list[str]:
    """``no_structure`` when grain segmentation ran and found (almost) no grains."""
    t = {**QUALITY_DEFAULTS, **(thresholds or {})}
    if grain_count is not None and grain_count < t["min_grains"]:
        return ["no_structure"]
    return []
